"""Reading a multi-resolution mesh back: the fragments of one level merge into one closed
surface (vertices on the faces between octree nodes are the same integers in both
fragments), vertices Draco split where the surface is not a manifold merge again, and
distinct vertices on opposite faces of one node stay apart."""

import itertools

import numpy as np

from chimerax.connectome.formats.meshes import MeshFolder, MeshInfo, encode_object, write_info


def box(lo, hi, cuts=()):
    """A closed box from ``lo`` to ``hi`` (x,y,z), with extra vertices on the planes
    x = c of ``cuts``: (vertices, triangles)."""
    xs = sorted({lo[0], hi[0], *cuts})
    ys, zs = (lo[1], hi[1]), (lo[2], hi[2])
    points = {p: i for i, p in enumerate(itertools.product(xs, ys, zs))}
    quads = []
    for a, b in zip(xs, xs[1:]):
        for y in ys:
            quads.append([(a, y, zs[0]), (b, y, zs[0]), (b, y, zs[1]), (a, y, zs[1])])
        for z in zs:
            quads.append([(a, ys[0], z), (b, ys[0], z), (b, ys[1], z), (a, ys[1], z)])
    for x in (xs[0], xs[-1]):
        quads.append([(x, ys[0], zs[0]), (x, ys[1], zs[0]), (x, ys[1], zs[1]),
                      (x, ys[0], zs[1])])
    triangles = [[points[q[0]], points[q[k]], points[q[k + 1]]] for q in quads
                 for k in (1, 2)]
    return np.array(list(points), np.float64), np.array(triangles, np.int64)


def odd_edges(triangles):
    e = np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]],
                                triangles[:, [2, 0]]]), 1)
    return int((np.unique(e, axis=0, return_counts=True)[1] % 2 == 1).sum())


def write_folder(path, lods):
    # A second level (the whole surface in the node of side 2 at 0): the manifest reader
    # reads no one-level manifest (layout.py), which is not what is tested here.
    lods = lods + [{(0, 0, 0): next(iter(lods[0].values()))}]
    path.mkdir()
    write_info(str(path / 'info'), MeshInfo((1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0)))
    manifest, data = encode_object(lods, (1, 1, 1), (0, 0, 0), 16)
    (path / '7.index').write_bytes(manifest)
    (path / '7').write_bytes(data)
    return MeshFolder(str(path))


def by_node(vertices, triangles):
    """{node: (vertices, triangles)} of unit nodes along x, each triangle in a node that
    holds it (by its centroid's x)."""
    node = np.clip(np.ceil(vertices[triangles][:, :, 0].mean(1)) - 1, 0, None).astype(int)
    return {(int(x), 0, 0): (vertices, triangles[node == x]) for x in np.unique(node)}


def test_fragments_meet_in_one_closed_surface(tmp_path):
    # A box two nodes long, cut at x = 1: every vertex lies on a node face, the ones at
    # x = 0 and x = 1 of node 0 (0 and the top of the quantization) must stay apart.
    v, t = box((0, 0, 0), (2, 1, 1), cuts=(1,))
    pieces = by_node(v, t)
    assert len(pieces) == 2
    folder = write_folder(tmp_path / 'm', [pieces])
    rv, rt = folder.triangles(7, 0)
    assert len(rv) == len(v) and len(rt) == len(t)
    assert odd_edges(rt) == 0
    assert np.array_equal(np.unique(rv, axis=0), np.unique(v, axis=0))
    # The same triangles, vertex for vertex.
    key = {tuple(p): i for i, p in enumerate(v)}
    back = np.array([[key[tuple(p)] for p in rv[tri]] for tri in rt])
    assert sorted(map(sorted, back.tolist())) == sorted(map(sorted, t.tolist()))


def test_vertices_draco_splits_merge_again(tmp_path):
    # Two boxes inside one node touching along an edge: the surface is not a manifold
    # there, and Draco gives the edge's vertices twice.
    a = box((0.1, 0.1, 0.1), (0.5, 0.5, 0.5))
    b = box((0.5, 0.5, 0.1), (0.9, 0.9, 0.5))
    v = np.concatenate([a[0], b[0]])
    t = np.concatenate([a[1], b[1] + len(a[0])])
    folder = write_folder(tmp_path / 'm', [{(0, 0, 0): (v, t)}])
    rv, rt = folder.triangles(7, 0)
    assert len(rv) == len(np.unique(v, axis=0)) == 14
    assert odd_edges(rt) == 0


def test_levels_read_by_threads_are_each_objects_triangles(tmp_path):
    # levels(): the objects' files read by threads, each at the level asked or its
    # coarsest when it has fewer, the same as triangles() one by one.
    v, t = box((0, 0, 0), (2, 1, 1), cuts=(1,))
    folder = write_folder(tmp_path / 'm', [by_node(v, t)])
    fine, coarse = folder.triangles(7, 0), folder.triangles(7, 1)
    assert len(fine[1]) != len(coarse[1]) or not np.array_equal(fine[0], coarse[0])
    for lod, expected in ((0, fine), (1, coarse), (5, coarse)):
        got = folder.levels([7, 7, 7], lod, threads=3)
        assert len(got) == 3
        for rv, rt in got:
            assert np.array_equal(rv, expected[0]) and np.array_equal(rt, expected[1])
    assert [len(m.sizes) for m in folder.manifests([7, 7])] == [2, 2]
