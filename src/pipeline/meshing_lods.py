"""The second half of ``connectome meshes`` for one object: its chunks' pieces as the
fragments of LOD 0, then coarser levels of detail with no crack where levels meet.

neuroglancer's multi-resolution layer shows each octree node at its own level, so a
fragment at LOD k may sit beside one at k - 1 or k + 1 (seung-lab/igneous#200: cracks
there when each level is simplified from the whole object and cut apart).  Here a node
of LOD k (2**k chunks wide) is its 2 x 2 x 2 children's fragments of LOD k - 1 merged
and reduced by zmesh's Fast Quadric Mesh Reduction with the vertices on its open border,
the node's faces, kept (``locked_reduction``).  As every plane of a coarser level is a
plane of the finer ones, where the surface crosses a node face it is LOD 0's cut at
every level, to the bit.  Each node's result is checked (``node_level``: the same border,
no edge in more than two triangles, every vertex within the level's error bound of the
full resolution) and the children's fragments are kept as they are where it is not.
Pure: numpy, scipy, zmesh.
"""

import numpy as np
import zmesh



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


def _edges(faces):
    """(the distinct edges of ``faces`` as sorted vertex pairs, how many triangles use
    each)."""
    f = np.asarray(faces, np.int64)
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    keys, counts = np.unique(e[:, 0] << 32 | e[:, 1], return_counts=True)
    return np.stack([keys >> 32, keys & 0xffffffff], 1), counts


def border_edges(vertices, faces):
    """The edges of ``faces`` in one triangle only, as a sorted array of their two
    vertices' positions (24 bytes an edge), to compare two meshes' borders by position."""
    edges, counts = _edges(faces)
    edges = edges[counts == 1]
    v = np.ascontiguousarray(np.asarray(vertices, np.float32))
    rows = v.view(np.dtype((np.void, 12))).reshape(-1)
    pairs = np.sort(np.stack([rows[edges[:, 0]], rows[edges[:, 1]]], 1), 1)
    return np.sort(np.ascontiguousarray(pairs).view(np.dtype((np.void, 24))).reshape(-1))


def locked_reduction(vertices, faces, target):
    """(vertices, faces) reduced towards ``target`` triangles by zmesh's Fast Quadric
    Mesh Reduction with the vertices of the open border kept (``preserve_border``).

    zmesh 1.15 flags a vertex as on the border from the fan of each neighbour in turn,
    overwriting the flag each time (``border = (count == 1)``; the original fqmr only
    sets it), so a border vertex keeps the verdict of its highest-numbered neighbour
    and most lose it: the reduction then moves them.  So each border vertex is given a
    fin, a triangle on two new vertices numbered after all others and placed far outside
    the volume (x = -1e6), whose edges are border edges: the fin's vertices are the border
    vertex's last neighbours and flag it.  A fin's vertices are all flagged, so no
    collapse touches it; the fins are dropped from the result (it is checked by the
    caller all the same)."""
    v = np.asarray(vertices, np.float32)
    f = np.asarray(faces, np.int64)
    edges, counts = _edges(f)
    border = np.unique(edges[counts == 1])
    n, m = len(v), len(border)
    fins = np.zeros((2 * m, 3), np.float32)
    fins[:, 0] = -1e6
    fins[:, 1] = np.repeat(np.arange(m), 2)
    fins[1::2, 2] = 1
    first = n + 2 * np.arange(m)
    out = zmesh.simplify_fqmr(
        zmesh.Mesh(np.concatenate([v, fins]),
                   np.concatenate([f, np.stack([border, first, first + 1], 1)])
                   .astype(np.uint32), None),
        max(4, target) + m, preserve_border=True)
    ov = np.asarray(out.vertices, np.float32)
    of = np.asarray(out.faces, np.int64)
    return ov, of[~(ov[of, 0] < -1e5).any(axis=1)]


def node_level(vertices, faces, tree, step, lod, target, low, high):
    """One node's piece at ``lod`` from its children's pieces merged (``vertices``,
    ``faces``): reduced with the vertices on the node's faces kept (``locked_reduction``),
    taken where its open border is the input's to the bit, it has no edge in more than
    two triangles, and every vertex is within 4 x max_error(lod) of the full resolution
    (``tree``); else the children's pieces as they are.  Vertices inside are kept in the
    node's box [low, high]."""
    if len(faces) <= 8 or target >= len(faces):
        return vertices, faces
    v, f = locked_reduction(vertices, faces, target)
    v, f = cleaned(repaired(np.asarray(v, np.float32), np.asarray(f, np.int64)), f)
    if not len(f):
        return vertices, faces
    border = border_edges(vertices, faces)
    if not np.array_equal(border_edges(v, f), border) or not _manifold(f):
        v, f = cleaned(v, without_twins(f))
        if not len(f) or not np.array_equal(border_edges(v, f), border) or \
                not _manifold(f):
            return vertices, faces
    v = np.clip(v, low, high).astype(np.float32)
    distance = tree.query(v * np.asarray(step, np.float64))[0].max()
    if distance > 4 * max_error(step, lod):
        return vertices, faces
    return v, np.asarray(f, np.uint32)


def _manifold(faces):
    return bool((_edges(faces)[1] <= 2).all())


def object_lods(pieces, lods, side, step, grid_origin=-1.0, top=None, method='zmesh'):
    """Per LOD, {grid position: (vertices, faces)} of one object, from its chunks'
    pieces {position: (vertices, faces)} (LOD 0).  A node of LOD k (2**k chunks wide)
    is its 2 x 2 x 2 children's pieces of LOD k-1 merged and reduced with the vertices on
    the node's faces kept (``node_level``), so where the surface crosses a node's face it
    is LOD 0's cut at every level, and neighbouring fragments shown at different levels
    (neuroglancer's multi-resolution layer) meet without a crack.  Each level aims at
    ``4 ** (-1 / (lods - 1))`` of the level before.  ``top`` (x,y,z): the far padding
    plane, the volume's size; vertices are kept between it and ``grid_origin``.
    ``method`` is accepted for the driver's retry and changes nothing (the reduction's
    iterations are bounded)."""
    result = [dict(pieces)]
    if lods == 1:
        return result
    full_vertices, _ = merged(list(pieces.values()))
    tree = nm_tree(full_vertices, step)
    origin = np.full(3, grid_origin, np.float64)
    ceiling = None if top is None else np.asarray(top, np.float64)
    ratio = 4 ** (-1 / (lods - 1)) * 0.9
    for lod in range(1, lods):
        size = float(side * 2 ** lod)
        children = {}
        for position, mesh in result[-1].items():
            children.setdefault(tuple(c // 2 for c in position), []).append(mesh)
        level_pieces = {}
        for position in sorted(children):
            meshes = [m for m in children[position] if len(m[1])]
            if not meshes:
                continue
            v, f = merged(meshes) if len(meshes) > 1 else \
                (np.asarray(meshes[0][0], np.float32), np.asarray(meshes[0][1], np.int64))
            low = origin + np.asarray(position) * size
            high = low + size
            if ceiling is not None:
                high = np.minimum(high, ceiling)
            v, f = node_level(v, f, tree, step, lod, int(len(f) * ratio), low, high)
            level_pieces[position] = (np.asarray(v, np.float32), np.asarray(f, np.uint32))
        result.append(level_pieces)
    return result
