"""An exact cut of a closed triangle mesh along the axis-aligned planes of an octree
grid, in numpy: the fragments of one level of detail, each inside its node.

It replaces zmesh.chunk_mesh (zmesh 1.15), which aborts the process
(``std::bad_array_new_length``, ``std::bad_alloc`` or a segfault) when a vertex, even
one no triangle uses, lies a hair above a node plane (255.00002 with nodes of 256 from
-1; the quadric simplifier leaves such vertices): a native crash would take ChimeraX down
with it.

The cut goes one plane at a time: every triangle that has a corner strictly on each
side of the plane is split there (3 triangles, or 2 when its third corner lies on the
plane), the new vertex of an edge made once for the edge, so the two triangles beside
the edge share it and the surface stays closed.  A vertex within 1e-5 of a node's side of
a plane is first moved onto it.  Then each triangle belongs to the node
of its centroid, and all its corners lie in that node's closed box; a vertex on a plane
is in both pieces with the same coordinates, so the pieces meet.  Orientation is kept.
Pure: numpy.
"""

import numpy as np

SNAP = 1e-5         # of a node's side


def cut(vertices, faces, size, origin):
    """{grid position (x, y, z): (vertices float32, faces uint32)} of the surface
    (``vertices`` N x 3, ``faces`` M x 3) cut along planes ``origin + k * size``
    (per axis); position k is the node [origin + k size, origin + (k+1) size]."""
    v = np.array(vertices, np.float64).reshape(-1, 3)
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    size = np.broadcast_to(np.asarray(size, np.float64), (3,))
    origin = np.broadcast_to(np.asarray(origin, np.float64), (3,))
    if not np.isfinite(v).all():
        raise ValueError('a vertex is not finite')
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise ValueError('a face indexes no vertex')
    for axis in range(3):
        v, f = _cut_axis(v, f, axis, size[axis], origin[axis])
    if not len(f):
        return {}
    centroid = v[f].mean(axis=1)
    cell = np.floor((centroid - origin) / size).astype(np.int64)
    # Where a centroid sits on a plane (a triangle flat in it), floor picks the upper
    # node; the corners' common cell decides it instead when that is the lower.
    low = np.floor((v[f] - origin) / size).astype(np.int64).max(axis=1)
    cell = np.minimum(cell, low)
    order = np.lexsort((cell[:, 0], cell[:, 1], cell[:, 2]))
    f, cell = f[order], cell[order]
    starts = np.flatnonzero(np.r_[True, (np.diff(cell, axis=0) != 0).any(axis=1)])
    ends = np.r_[starts[1:], len(f)]
    pieces = {}
    for s, e in zip(starts, ends):
        used, local = np.unique(f[s:e], return_inverse=True)
        pieces[tuple(int(c) for c in cell[s])] = (
            v[used].astype(np.float32), local.reshape(-1, 3).astype(np.uint32))
    return pieces


def _cut_axis(v, f, axis, size, origin):
    if not len(f):
        return v, f
    # A vertex within SNAP of a plane goes onto it: no sliver thinner than float32
    # can tell (its new vertex would round onto an old one).
    coords = v[:, axis]
    k = np.rint((coords - origin) / size)
    near = np.abs(coords - (origin + k * size)) < SNAP * size
    coords[near] = origin + k[near] * size
    first = np.floor((coords.min() - origin) / size) + 1
    last = np.ceil((coords.max() - origin) / size) - 1
    for k in np.arange(first, last + 1):
        p = origin + k * size
        c = v[f, axis]
        spans = (c.min(axis=1) < p) & (c.max(axis=1) > p)
        if spans.any():
            v, f = _split(v, f, spans, axis, p)
    return v, f


def _split(v, f, spans, axis, p):
    """Split the triangles ``f[spans]`` (a corner strictly each side of ``p``)."""
    t = f[spans]
    side = np.sign(v[t, axis] - p).astype(np.int64)           # -1, 0, +1 per corner
    # The lone corner: the one on the plane, else the one alone on its side.
    on = side == 0
    alone = side != np.roll(side, 1, axis=1)
    alone &= side != np.roll(side, -1, axis=1)
    lone = np.where(on.any(axis=1), on.argmax(axis=1), alone.argmax(axis=1))
    rows = np.arange(len(t))[:, None]
    t = t[rows, (lone[:, None] + np.arange(3)) % 3]               # rotate: a, b, c
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    flat = on.any(axis=1)
    # The edges the plane crosses: b-c for a corner on it, else a-b and a-c.
    edges = np.concatenate([np.stack([b[flat], c[flat]], 1),
                            np.stack([a[~flat], b[~flat]], 1),
                            np.stack([a[~flat], c[~flat]], 1)])
    edges.sort(axis=1)
    unique, inverse = np.unique(edges, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    i, j = unique[:, 0], unique[:, 1]
    w = (p - v[i, axis]) / (v[j, axis] - v[i, axis])
    new = v[i] + w[:, None] * (v[j] - v[i])
    new[:, axis] = p
    index = len(v) + inverse
    n_flat = int(flat.sum())
    m = index[:n_flat]
    m1 = index[n_flat:n_flat + (len(t) - n_flat)]
    m2 = index[n_flat + (len(t) - n_flat):]
    af, bf, cf = a[flat], b[flat], c[flat]
    an, bn, cn = a[~flat], b[~flat], c[~flat]
    out = np.concatenate([
        f[~spans],
        np.stack([af, bf, m], 1), np.stack([af, m, cf], 1),
        np.stack([an, m1, m2], 1), np.stack([m1, bn, cn], 1), np.stack([m1, cn, m2], 1)])
    return np.concatenate([v, new]), out
