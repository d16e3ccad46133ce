"""Levels of detail of connectome meshes meet without cracks (issue 22,
seung-lab/igneous#200): neuroglancer's multi-resolution layer shows each octree node at
its own level, so a node at L beside one at L + 1 must have the same border on the face
they share, and any choice of levels as neuroglancer makes it must be a closed surface."""

import itertools

import numpy as np
import pytest

from chimerax.connectome.pipeline import meshing, meshing_lods
from chimerax.connectome.pipeline.meshing_chunks import chunk_grid, mesh_chunk

from test_meshing import STEP, volume  # noqa: F401  (the module's fixture)

SIDE = 8                                # the neuron spans many nodes at every level
LODS = 4


@pytest.fixture(scope='module')
def levels(volume):                     # noqa: F811
    seg, labels, values = volume
    lookup = meshing.lookup_of(values, None)
    pieces = {}
    for position in itertools.product(*(range(n) for n in chunk_grid(seg.shape, SIDE))):
        for object_id, mesh in mesh_chunk(seg, lookup, SIDE, position).objects().items():
            if object_id == 7:
                pieces[tuple(position)] = mesh
    return meshing_lods.object_lods(pieces, LODS, SIDE, STEP,
                                    top=tuple(reversed(seg.shape)))


def edge_keys(vertices, faces):
    """Per edge use: the sorted pair of its vertices' positions (bytes), and counts."""
    v = np.ascontiguousarray(np.asarray(vertices, np.float32))
    rows = v.view(np.dtype((np.void, 12))).reshape(-1)
    f = np.asarray(faces, np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    return np.sort(np.stack([rows[e[:, 0]], rows[e[:, 1]]], 1), 1)


def open_edges(meshes):
    """Edges (by position) used an odd number of times in the union of ``meshes``."""
    pairs = np.concatenate([edge_keys(v, f) for v, f in meshes if len(f)])
    joined = np.ascontiguousarray(pairs).view(np.dtype((np.void, 24))).reshape(-1)
    u, counts = np.unique(joined, return_counts=True)
    return set(u[counts % 2 == 1].tolist())


def test_the_object_spans_many_nodes_and_levels_reduce(levels):
    assert len(levels) == LODS
    assert len(levels[0]) >= 30 and len(levels[1]) >= 6 and len(levels[2]) >= 2
    counts = [sum(len(f) for v, f in level.values()) for level in levels]
    assert counts[-1] * 4 <= counts[0], counts
    for level in levels:
        assert not open_edges(level.values())


def faces_on(vertices, faces, axis, plane):
    """The border edges of a fragment lying in the plane ``axis = plane``."""
    v = np.asarray(vertices, np.float32)
    pairs = open_edges([(v, faces)])
    on = []
    for pair in pairs:
        a = np.frombuffer(pair[:12], np.float32)
        b = np.frombuffer(pair[12:], np.float32)
        if a[axis] == plane and b[axis] == plane:
            on.append(pair)
    return on


@pytest.mark.parametrize('lod', range(LODS - 1))
def test_neighbours_at_levels_l_and_l_plus_1_share_their_border(levels, lod):
    """For every node n of L and every node m of L + 1 that is its face neighbour (m is
    beside n's parent, which covers n's 2 x 2 x 2 block), the border edges of n's
    fragment on the shared face are exactly m's border edges on that face within n's
    face."""
    fine, coarse = levels[lod], levels[lod + 1]
    size = SIDE * 2 ** lod
    compared = 0
    for position, (v, f) in fine.items():
        for axis, direction in itertools.product(range(3), (-1, 1)):
            face = -1.0 + (position[axis] + (direction > 0)) * size
            outside = list(position)
            outside[axis] += direction
            parent = tuple(c // 2 for c in outside)
            if parent == tuple(c // 2 for c in position):
                continue                # n's sibling: not a face m can share
            if face % (2 * size) != (-1.0 % (2 * size)):
                continue
            neighbour = coarse.get(parent)
            mine = set(faces_on(v, f, axis, face))
            theirs = set()
            if neighbour is not None:
                low = -1.0 + np.asarray(position) * size
                for pair in faces_on(*neighbour, axis, face):
                    a = np.frombuffer(pair[:12], np.float32)
                    b = np.frombuffer(pair[12:], np.float32)
                    mid = (a + b) / 2
                    inside = [(low[i] <= mid[i] <= low[i] + size) for i in range(3)
                              if i != axis]
                    if all(inside):
                        theirs.add(pair)
            assert mine == theirs, (lod, position, axis, direction)
            compared += len(mine)
    assert compared > 0


def neuroglancer_choice(levels, rng):
    """Fragments chosen as neuroglancer's layer may: each node of the coarsest level is
    either shown, or replaced by its children, recursively, at random."""
    chosen = []

    def visit(lod, position):
        if lod == 0 or rng.random() < 0.4:
            if position in levels[lod]:
                chosen.append(levels[lod][position])
            return
        for d in itertools.product((0, 1), repeat=3):
            child = tuple(2 * p + o for p, o in zip(position, d))
            if child in levels[lod - 1]:
                visit(lod - 1, child)
    for position in levels[-1]:
        visit(len(levels) - 1, position)
    return chosen


def test_any_mix_of_levels_is_closed(levels):
    rng = np.random.default_rng(0)
    mixed = 0
    for _ in range(20):
        chosen = neuroglancer_choice(levels, rng)
        assert not open_edges(chosen)
        mixed += 1
    assert mixed == 20


def test_a_reduction_that_moves_the_border_is_refused_for_the_childrens_pieces(
        volume, levels, monkeypatch):     # noqa: F811
    """A node whose reduction moved a vertex of its border (as zmesh's flags did before
    the fins) keeps its children's pieces merged: the same triangles, still no crack."""
    def moving(vertices, faces, target):
        v = np.array(vertices, np.float32)
        v[faces[0, 0]] += 0.25
        return v, faces
    pieces = levels[0]
    monkeypatch.setattr(meshing_lods, 'locked_reduction', moving)
    kept = meshing_lods.object_lods(pieces, 3, SIDE, STEP)
    for lod in (1, 2):
        for position, (v, f) in kept[lod].items():
            children = [kept[lod - 1][c] for c in kept[lod - 1]
                        if tuple(x // 2 for x in c) == position]
            assert len(f) == sum(len(cf) for cv, cf in children)
            assert open_edges([(v, f)]) == open_edges(children)
        assert not open_edges(kept[lod].values())


def test_the_fins_keep_every_border_vertex_of_zmeshs_reduction():
    """zmesh 1.15's preserve_border alone moves border vertices of a half sphere (its
    flags are overwritten); with the fins the border is the input's to the bit."""
    import zmesh
    z, y, x = np.indices((40, 40, 40))
    m = zmesh.Mesher((1, 1, 1))
    m.mesh(((x - 20) ** 2 + (y - 20) ** 2 + (z - 20) ** 2 < 15 ** 2).astype(np.uint8),
           close=True)
    sphere = m.get(1, normals=False)
    half = sphere.faces[(sphere.vertices[sphere.faces][:, :, 0] <= 20).all(axis=1)]
    used, local = np.unique(half, return_inverse=True)
    v, f = sphere.vertices[used], local.reshape(-1, 3).astype(np.int64)
    plain = zmesh.simplify_fqmr(zmesh.Mesh(v.copy(), f.astype(np.uint32), None),
                                len(f) // 4, preserve_border=True)
    assert not np.array_equal(meshing_lods.border_edges(plain.vertices, plain.faces),
                              meshing_lods.border_edges(v, f))
    rv, rf = meshing_lods.locked_reduction(v, f, len(f) // 4)
    rv, rf = meshing_lods.cleaned(rv, rf)
    assert len(rf) <= len(f) // 3
    assert np.array_equal(meshing_lods.border_edges(rv, rf), meshing_lods.border_edges(v, f))


@pytest.fixture(scope='module')
def written(volume, tmp_path_factory):      # noqa: F811
    """The neuron's fragments as written (Draco, quantized across each node) and read
    back one by one: per LOD {position: (vertices in LOD 0 voxels, faces)}, and the
    largest quantization step (the coarsest node's side / (2**bits - 1))."""
    import DracoPy
    from chimerax.connectome.formats.meshes import MeshFolder
    seg, labels, values = volume
    out = str(tmp_path_factory.mktemp('seams') / 'meshes')
    meshing.make_meshes(meshing.MeshJob(seg, 'neuron', [7], out, lods=LODS, side=SIDE),
                        values)
    folder = MeshFolder(out)
    m, (path, start) = folder._manifest(7)
    with open(path, 'rb') as f:
        f.seek(start)
        data = f.read()
    top = (1 << folder.info.vertex_quantization_bits) - 1
    levels, offset = [], 0
    for lod in range(m.num_lods):
        size = SIDE * 2 ** lod
        level = {}
        for position, nbytes in zip(m.positions[lod], m.sizes[lod]):
            blob = data[offset:offset + int(nbytes)]
            offset += int(nbytes)
            if blob:
                mesh = DracoPy.decode(blob)
                q = np.asarray(mesh.points, np.float64).reshape(-1, 3)
                low = np.asarray(m.grid_origin) + size * np.asarray(position, np.float64)
                level[tuple(int(p) for p in position)] = (
                    low + q * (size / top), np.asarray(mesh.faces).reshape(-1, 3))
        levels.append(level)
    return levels, SIDE * 2 ** (LODS - 1) / top


def test_written_levels_mixed_as_neuroglancer_may_are_closed_within_quantization(written):
    """Read back from the files: every mix of levels is closed once vertices closer than
    the coarsest node's quantization step are one (and not with half of it: the files
    do have gaps that small).  The format quantizes each node on its own grid of
    2**bits - 1 steps, which does not hold its children's planes (an odd count), so a
    vertex of a node face's border is rounded differently at two levels: apart by at most
    half a step of each, 3/4 of the coarser node's step (side / 65535; here 0.001
    voxel), far below a pixel at any zoom that shows that level.  Without the kept
    borders (the levels cut from a simplification of the whole object) this fails."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree
    levels, step = written
    rng = np.random.default_rng(1)
    for _ in range(10):
        chosen = neuroglancer_choice(levels, rng)
        v = np.concatenate([c[0] for c in chosen])
        offsets = np.cumsum([0] + [len(c[0]) for c in chosen[:-1]])
        f = np.concatenate([c[1].astype(np.int64) + o for c, o in zip(chosen, offsets)])
        pairs = cKDTree(v).query_pairs(step, output_type='ndarray')
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                           shape=(len(v), len(v)))
        _, label = connected_components(graph, directed=False)
        f = label[f]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
        e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        _, counts = np.unique(e, axis=0, return_counts=True)
        assert (counts % 2 == 0).all()
