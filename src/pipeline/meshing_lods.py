"""The second half of ``connectome meshes`` for one object: its chunks' pieces as the
fragments of LOD 0, then coarser levels of detail.

LOD 0 is the pieces as the chunks made them (each already inside its octree node).  For
LOD k >= 1 the pieces are merged into one closed surface (vertices the chunks share are
one); LOD 1 is reduced from it, and each coarser level from the level before, by zmesh's
Fast Quadric Mesh Reduction (``reduced``: as Igneous makes its levels, towards a quarter
of the triangles at the coarsest level), whose result is taken only when it is closed
and every vertex within the level's error bound of the full resolution's vertices; else
the level is simplified from the full resolution by zmesh's quadric edge collapse with
its own error bound (``level``, five times slower, and seen never to return: the driver
then kills its worker, and ``method='fqmr'`` makes the levels without it,
``fallback_level``).  Each level is cut along the octree of nodes 2**k chunks wide
(meshing_cut.py, an exact cut in numpy: zmesh.chunk_mesh aborts the process on some
simplified surfaces), so each fragment lies inside its node.  Pure: numpy, scipy, zmesh.
"""

import numpy as np
import zmesh

from ..errors import InputError
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
    """The surface (vertices in voxel coordinates on marching cubes' half-voxel grid,
    faces) simplified towards ``reduction`` times fewer triangles, with zmesh's
    ``max_error`` of ``error`` nm.

    zmesh 1.15's ``Mesher.simplify`` packs every corner into integers of half voxels by
    *truncating* ``vertex / voxel_res * 2``, and simplifies on that grid (isotropic: its
    quadrics are in half voxels whatever the resolution; ``max_error`` becomes
    ``floor(max_error / |voxel_res|)``).  Given vertices in nm, the division is inexact in
    float32 and about one corner in twenty truncates to the half voxel below, which merges
    distinct vertices into a non-manifold surface, on which the simplifier's walk around
    a vertex never ends (the full-size bench's object 32: 63,710 vertices packed into
    63,639).  So the surface is given in voxels with a resolution of 1, where the packing
    is exact, and the error as the same grid units zmesh would have made of ``error``."""
    step = np.asarray(step, np.float64)
    units = int(np.float32(error) // np.float32(np.sqrt((step ** 2).sum())))
    mesh = zmesh.Mesh(np.asarray(vertices, np.float32), faces.astype(np.uint32), None)
    out = zmesh.Mesher((1, 1, 1)).simplify(
        mesh, reduction_factor=reduction, max_error=(units + 0.5) * np.sqrt(3),
        compute_normals=False)
    return cleaned(repaired(out.vertices, out.faces), out.faces)


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


def reduced(vertices, faces, reference, step, lod, target):
    """(vertices, faces) of the surface reduced towards ``target`` triangles by zmesh's
    Fast Quadric Mesh Reduction (``simplify_fqmr``: its iterations are bounded, so it
    always returns, and it works on the vertices as they are, not on a grid), or a text
    saying why the result is refused.  It has no error bound of its own, so the result
    is checked: closed (every edge in two triangles) and every vertex within the largest
    error ``level`` allows (4 x max_error) of a vertex of ``reference``, the
    full-resolution surface's vertices (or a scipy cKDTree of them in nm)."""
    out = zmesh.simplify_fqmr(zmesh.Mesh(np.asarray(vertices, np.float32).copy(),
                                         faces.astype(np.uint32), None), max(4, target))
    v, f = cleaned(repaired(out.vertices, out.faces), out.faces)
    if len(f) and not closed(f):
        v, f = cleaned(v, without_twins(f))
    if not len(f):
        return 'nothing'
    if not closed(f):
        return 'an open surface'
    step = np.asarray(step, np.float64)
    tree = reference if hasattr(reference, 'query') else nm_tree(reference, step)
    distance = tree.query(v * step)[0].max()
    bound = 4 * max_error(step, lod)
    if distance > bound:
        return 'a vertex %.0f nm away (more than %.0f)' % (distance, bound)
    return v, f


def closed(faces):
    """Whether every edge of ``faces`` is in exactly two triangles."""
    f = np.asarray(faces, np.int64)
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    edges.sort(axis=1)
    _, counts = np.unique(edges[:, 0] << 32 | edges[:, 1], return_counts=True)
    return bool((counts == 2).all())


def without_twins(faces):
    """``faces`` without the pairs of triangles on the same three vertices: the fast
    reduction leaves a few such folds (on the full-size bench, one to three in half the
    objects), two coincident triangles that enclose nothing and make each of their edges
    shared by four triangles."""
    f = np.asarray(faces, np.int64)
    _, inverse, counts = np.unique(np.sort(f, axis=1), axis=0, return_inverse=True,
                                   return_counts=True)
    return f[counts[inverse.reshape(-1)] != 2]


def nm_tree(vertices, step):
    """A KD-tree of ``vertices`` (voxel coordinates) in nm."""
    from scipy.spatial import cKDTree
    return cKDTree(np.asarray(vertices, np.float64) * np.asarray(step, np.float64))


def fallback_level(vertices, faces, step, lod, target, tree=None):
    """The surface at ``lod`` made by zmesh's fast quadric reduction from the full
    resolution (``reduced``), for an object whose quadric edge collapse did not finish
    in time; an InputError where its result is refused."""
    result = reduced(vertices, faces, vertices if tree is None else tree, step, lod, target)
    if isinstance(result, str):
        raise InputError('neither of zmesh\'s simplifiers made level of detail %d (%d'
                         ' triangles): the quadric edge collapse did not finish in time,'
                         ' and the fast quadric reduction left %s' % (lod, len(faces),
                                                                      result))
    return result


def object_lods(pieces, lods, side, step, grid_origin=-1.0, top=None, method='zmesh'):
    """Per LOD, {grid position: (vertices, faces)} of one object, from its chunks'
    pieces {position: (vertices, faces)}.  ``top`` (x,y,z): the far padding plane, the
    volume's size; simplified vertices are kept between it and ``grid_origin`` (the
    simplifier can move one a little past them; no fragment is wanted in the padding).
    ``method``: where the fast reduction's level is refused, 'zmesh' simplifies it by the
    quadric edge collapse (``level``), 'fqmr' by the fast reduction from the full
    resolution (``fallback_level``)."""
    result = [dict(pieces)]
    if lods == 1:
        return result
    full_vertices, full_faces = merged(list(pieces.values()))
    tree = nm_tree(full_vertices, step)
    previous = (full_vertices, full_faces)
    for lod in range(1, lods):
        target = int(len(full_faces) * 4 ** (-lod / (lods - 1)) * 0.9)
        made = 'nothing'
        if len(previous[1]):
            made = reduced(*previous, tree, step, lod, target)
        if isinstance(made, str):
            made = (level(full_vertices, full_faces, step, lod, target) if method == 'zmesh'
                    else fallback_level(full_vertices, full_faces, step, lod, target, tree))
        vertices, faces = previous = made
        if not len(faces):
            result.append({})
            continue
        vertices = np.maximum(vertices, grid_origin)
        if top is not None:
            vertices = np.minimum(vertices, np.asarray(top, vertices.dtype))
        size = float(side * 2 ** lod)
        result.append(cut(vertices, faces, size, grid_origin))
    return result
