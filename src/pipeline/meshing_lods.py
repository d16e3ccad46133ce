"""The second half of ``connectome meshes`` for one object: its chunks' pieces as the
fragments of LOD 0, then coarser levels of detail.

LOD 0 is the pieces as the chunks made them (each already inside its octree node).  For
LOD k >= 1 the pieces are merged into one closed surface (vertices the chunks share are
one), and each level is simplified from it by zmesh's quadric edge collapse in
nanometres (anisotropic voxels) with at most ``max_error(k)`` nm of displacement per
vertex (up to four times that where the target is not reached: see ``level``), towards
a quarter of the triangles at the coarsest level, and cut along the octree of nodes 2**k
chunks wide (meshing_cut.py, an exact cut in numpy: zmesh.chunk_mesh aborts the process
on some simplified surfaces), so each fragment lies inside its node.  Pure: numpy, zmesh.
"""

import numpy as np
import zmesh

from .meshing_cut import cut


def merged(pieces):
    """(vertices, faces) of the pieces [(vertices, faces)] as one surface: equal
    vertices (the planes two chunks share) made one.  Marching cubes puts vertices on
    half voxels, so a vertex is keyed by its doubled coordinates, 21 bits each."""
    vertices = np.concatenate([v for v, f in pieces]).astype(np.float32)
    offsets = np.cumsum([0] + [len(v) for v, f in pieces[:-1]])
    faces = np.concatenate([f.astype(np.int64) + o for (v, f), o in zip(pieces, offsets)])
    halves = np.rint(vertices.astype(np.float64) * 2).astype(np.int64) + 2
    if (halves < 0).any() or (halves >= 1 << 21).any() or \
            not np.array_equal(halves - 2, vertices.astype(np.float64) * 2):
        unique, inverse = np.unique(vertices, axis=0, return_inverse=True)
        return unique, inverse.reshape(-1)[faces]
    keys = halves[:, 0] | (halves[:, 1] << 21) | (halves[:, 2] << 42)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return vertices[first], inverse.reshape(-1)[faces]


def max_error(step, lod):
    """The largest displacement (nm) simplification may give a vertex at ``lod``: four
    of the finest voxel sides at LOD 1 (45 nm for the Motta data; a thin axon's mesh
    halves by much less), doubling with each level."""
    return float(min(step)) * 2 ** (lod + 1)


def simplified(vertices, faces, step, error, reduction):
    """The surface simplified towards ``reduction`` times fewer triangles with at most
    ``error`` nm of displacement (vertices in voxel coordinates, faces)."""
    step = np.asarray(step, np.float32)
    mesh = zmesh.Mesh(vertices * step, faces.astype(np.uint32), None)
    out = zmesh.Mesher(tuple(float(s) for s in step)).simplify(
        mesh, reduction_factor=reduction, max_error=error,
        compute_normals=False)
    return cleaned(repaired(out.vertices / step, out.faces), out.faces)


def cleaned(vertices, faces):
    """Without the triangles the simplifier leaves with two corners one vertex (given
    such triangles, the simplifier itself never returns), nor the vertices unused."""
    f = np.asarray(faces, np.int64)
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    used = np.unique(f)
    index = np.zeros(len(vertices), np.int64)
    index[used] = np.arange(len(used))
    return vertices[used], index[f]


def repaired(vertices, faces):
    """Vertices with the rare non-finite position the quadric simplifier gives (a
    singular quadric) moved to the mean of their finite neighbours."""
    bad = ~np.isfinite(vertices).all(axis=1)
    if not bad.any():
        return vertices
    vertices = vertices.copy()
    for i in np.flatnonzero(bad):
        around = np.unique(faces[(faces == i).any(axis=1)])
        around = around[~bad[around]]
        vertices[i] = vertices[around].mean(axis=0) if around.size else 0
    return vertices


def level(vertices, faces, step, lod, target):
    """The surface at ``lod`` from the full resolution: towards ``target`` triangles
    with at most ``max_error(lod)`` nm of displacement, the error doubled up to twice
    while the triangles are more (a thin axon's surface halves by less than a thick
    one's)."""
    reduction = max(2, -(-len(faces) // max(1, target)))
    error = max_error(step, lod)
    for attempt in range(3):
        v, f = simplified(vertices, faces, step, error * 2 ** attempt, reduction)
        if len(f) <= target:
            break
    return v, f


def object_lods(pieces, lods, side, step, grid_origin=-1.0, top=None):
    """Per LOD, {grid position: (vertices, faces)} of one object, from its chunks'
    pieces {position: (vertices, faces)}.  ``top`` (x,y,z): the far padding plane, the
    volume's size; simplified vertices are kept between it and ``grid_origin`` (the
    simplifier can move one a little past them; no fragment is wanted in the padding)."""
    result = [dict(pieces)]
    if lods == 1:
        return result
    full_vertices, full_faces = merged(list(pieces.values()))
    for lod in range(1, lods):
        # From the full resolution each time: simplifying a simplified surface again can
        # keep zmesh's simplifier from ever returning.
        target = int(len(full_faces) * 4 ** (-lod / (lods - 1)) * 0.9)
        vertices, faces = level(full_vertices, full_faces, step, lod, target)
        if not len(faces):
            result.append({})
            continue
        vertices = np.maximum(vertices, grid_origin)
        if top is not None:
            vertices = np.minimum(vertices, np.asarray(top, vertices.dtype))
        size = float(side * 2 ** lod)
        result.append(cut(vertices, faces, size, grid_origin))
    return result
