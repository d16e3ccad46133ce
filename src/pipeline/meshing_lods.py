"""The second half of ``connectome meshes`` for one object: its chunks' pieces as the
fragments of LOD 0, then coarser levels of detail.

LOD 0 is the pieces as the chunks made them (each already inside its octree node).  For
LOD k >= 1 the pieces are merged into one closed surface (vertices the chunks share are
one), simplified by zmesh's quadric edge collapse in nanometres (anisotropic voxels) with
at most ``max_error(k)`` nm of displacement per vertex (up to four times that where the
target is not reached: see ``level``), towards a quarter of the triangles at the
coarsest level, and cut along the octree of nodes 2**k chunks wide (zmesh.chunk_mesh), so each
fragment lies inside its node.  Pure: numpy, zmesh.
"""

import numpy as np
import zmesh


def merged(pieces):
    """(vertices, faces) of the pieces [(vertices, faces)] as one surface: equal
    vertices (the planes two chunks share) made one."""
    vertices = np.concatenate([v for v, f in pieces]).astype(np.float32)
    offsets = np.cumsum([0] + [len(v) for v, f in pieces[:-1]])
    faces = np.concatenate([f.astype(np.int64) + o for (v, f), o in zip(pieces, offsets)])
    unique, inverse = np.unique(vertices, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)[faces]


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
    return out.vertices / step, out.faces


def level(vertices, faces, step, lod, lods):
    """The surface at ``lod``: at most 4**(-lod / (lods - 1)) of the triangles (the
    coarsest a quarter), its error ``max_error(lod)`` doubled up to twice while the
    triangles are more (a thin axon's surface halves by less than a thick one's)."""
    target = int(len(faces) * 4 ** (-lod / (lods - 1)) * 0.9)
    error = max_error(step, lod)
    for attempt in range(3):
        v, f = simplified(vertices, faces, step, error * 2 ** attempt, 4 ** lod)
        if len(f) <= target:
            break
    return v, f


def object_lods(pieces, lods, side, step, grid_origin=-1.0):
    """Per LOD, {grid position: (vertices, faces)} of one object, from its chunks'
    pieces {position: (vertices, faces)}."""
    result = [dict(pieces)]
    if lods == 1:
        return result
    vertices, faces = merged(list(pieces.values()))
    for lod in range(1, lods):
        v, f = level(vertices, faces, step, lod, lods)
        if not len(f):
            result.append({})
            continue
        size = float(side * 2 ** lod)
        cut = zmesh.chunk_mesh(zmesh.Mesh(v.astype(np.float32), f.astype(np.uint32), None),
                               (size, size, size), (grid_origin,) * 3)
        result.append({tuple(int(p) for p in position): (m.vertices, m.faces)
                       for position, m in cut.items() if len(m.faces)})
    return result
