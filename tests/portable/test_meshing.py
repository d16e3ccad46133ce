"""connectome meshes' pure pipeline (pipeline/meshing*.py) and the multi-resolution mesh
format (formats/meshes/): geometry against zmesh over the whole object, the layout read
back by CloudVolume, a cancelled run leaving no output and a re-run continuing."""

import json
import os

import h5py
import numpy as np
import pytest
import zmesh
from scipy import spatial

from chimerax.connectome import progress
from chimerax.connectome.errors import Cancelled, InputError
from chimerax.connectome.formats.meshes import MeshFolder
from chimerax.connectome.formats.meshes.layout import Manifest, morton_order
from chimerax.connectome.pipeline import meshing, meshing_lods
from chimerax.connectome.pipeline.meshing_chunks import Segmentation, chunk_grid

SHAPE = (36, 90, 80)                    # z,y,x
STEP = (11.24, 11.24, 28.0)             # x,y,z nm
ORIGIN = (100.0, -50.0, 7.0)
SIDE = 16                               # a neuron spans 6 x 5 x 3 chunks


def neuropil():
    """Region ids of a small volume and the neuron array mapping them to objects: a
    'neuron' (soma, a dendrite across the volume touching its boundary, a branch, spine
    heads) made of many regions, an axon, and background regions of no object."""
    z, y, x = np.indices(SHAPE)
    neuron = ((x - 40) ** 2 + (y - 45) ** 2 + ((z - 18) * 2.5) ** 2 < 14 ** 2)
    neuron |= ((y - 45) ** 2 + ((z - 18) * 2.5) ** 2 < 5 ** 2)          # to both x ends
    neuron |= ((x - 25) ** 2 + ((z - 10) * 2.5) ** 2 < 4 ** 2) & (y < 45)  # a branch
    for cx in (10, 60, 70):                                              # spine heads
        neuron |= ((x - cx) ** 2 + (y - 53) ** 2 + ((z - 18) * 2.5) ** 2 < 3.5 ** 2)
    axon = ((x - 12) ** 2 + ((z - 26) * 2.5) ** 2 < 3 ** 2) & ~neuron
    # Regions: cells of a coarse grid, ids distinct per object.
    cell = (z // 7) * 10000 + (y // 11) * 100 + x // 9 + 1
    _, cell = np.unique(cell, return_inverse=True)
    cell = cell.reshape(SHAPE) + 1
    n = int(cell.max())
    labels = np.where(neuron, cell, np.where(axon, cell + n, cell + 2 * n)).astype(np.uint32)
    values = np.zeros(3 * n + 1, np.uint32)
    values[1:n + 1] = 7                 # the neuron's regions
    values[n + 1:2 * n + 1] = 9         # the axon's
    return labels, values


@pytest.fixture(scope='module')
def volume(tmp_path_factory):
    labels, values = neuropil()
    path = str(tmp_path_factory.mktemp('seg') / 'seg.h5')
    with h5py.File(path, 'w') as f:
        f.create_dataset('data', data=labels, chunks=(16, 16, 16))
    return Segmentation(path, SHAPE, ORIGIN, STEP, dataset='data'), labels, values


@pytest.fixture(scope='module')
def made(volume, tmp_path_factory):
    seg, labels, values = volume
    out = str(tmp_path_factory.mktemp('out') / 'meshes')
    result = meshing.make_meshes(meshing.MeshJob(seg, 'neuron', None, out, lods=3,
                                                 side=SIDE), values)
    return out, result


def edges_unshared(faces):
    """Edges not in exactly two triangles (a closed surface has none)."""
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), 1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return int((counts != 2).sum())


def volume_area(v, f):
    a, b, c = v[f[:, 0]].astype(np.float64), v[f[:, 1]], v[f[:, 2]]
    cross = np.cross(b - a, c - a)
    return abs(np.einsum('ij,ij->i', a, np.cross(b, c)).sum()) / 6, \
        np.linalg.norm(cross, axis=1).sum() / 2


def reference(labels, values, object_id):
    """zmesh over the whole object in one piece, closed, in ChimeraX's nm."""
    mask = (values[labels] == object_id).astype(np.uint8)
    m = zmesh.Mesher(STEP)
    m.mesh(mask.T, close=True)
    r = m.get(1, normals=False)
    # close=True pads one voxel before the first: voxel i is at (i + 1) * step.
    return r.vertices - np.array(STEP) + np.array(ORIGIN), r.faces


def test_neuron_spans_many_chunks_and_is_watertight(made):
    out, result = made
    assert np.prod(chunk_grid(SHAPE, SIDE)) == 6 * 6 * 3
    folder = MeshFolder(out)
    assert folder.ids() == [7, 9]
    m = folder.manifest(7)
    assert len(m.positions[0]) >= 16          # pieces from many chunks
    v, f = folder.triangles(7, 0)
    assert len(f) > 1000 and edges_unshared(f) == 0


@pytest.mark.parametrize('object_id', [7, 9])
def test_volume_and_area_within_two_percent_of_zmesh_in_one_piece(volume, made, object_id):
    seg, labels, values = volume
    v, f = MeshFolder(made[0]).triangles(object_id, 0)
    rv, rf = reference(labels, values, object_id)
    (vol, area), (rvol, rarea) = volume_area(v, f), volume_area(rv, rf)
    assert abs(vol - rvol) <= 0.02 * rvol
    assert abs(area - rarea) <= 0.02 * rarea
    # Placed as ChimeraX places the map: the same bounds as the reference.
    assert np.allclose(v.min(0), rv.min(0), atol=0.01) and np.allclose(v.max(0), rv.max(0),
                                                                        atol=0.01)


def test_every_vertex_within_one_voxel_diagonal_of_the_object(volume, made):
    seg, labels, values = volume
    for object_id in (7, 9):
        voxels = np.argwhere(values[labels] == object_id)[:, ::-1] * STEP + ORIGIN
        tree = spatial.cKDTree(voxels)
        for lod in range(3):
            v, f = MeshFolder(made[0]).triangles(object_id, lod)
            distance, _ = tree.query(v)
            # Full resolution: one voxel diagonal; simplified: that plus its error bound.
            bound = np.linalg.norm(STEP) + (lod and 4 * meshing_lods.max_error(STEP, lod))
            assert distance.max() <= bound, (object_id, lod)


def test_coarsest_lod_has_at_most_a_quarter_of_the_triangles(made):
    out, result = made
    assert result.triangles[-1] * 4 <= result.triangles[0]
    folder = MeshFolder(out)
    for object_id in folder.ids():
        fine = len(folder.triangles(object_id, 0)[1])
        coarse = len(folder.triangles(object_id, 2)[1])
        assert 0 < coarse * 4 <= fine


def test_manifest_is_an_octree_in_z_order(made):
    folder = MeshFolder(made[0])
    for object_id in folder.ids():
        m = folder.manifest(object_id)
        for k in range(m.num_lods):
            p = m.positions[k]
            assert (morton_order(p) == np.arange(len(p))).all()
            if k:
                parents = {tuple(q) for q in p}
                assert {tuple(q >> 1) for q in m.positions[k - 1]} <= parents
        again = Manifest.from_bytes(m.to_bytes(), 'x')
        assert all((a == b).all() for a, b in zip(again.positions, m.positions))
    info = json.load(open(os.path.join(made[0], 'info')))
    assert info['@type'] == 'neuroglancer_multilod_draco'
    assert info['vertex_quantization_bits'] == 16


def test_cloudvolume_reads_the_same_triangles(made, tmp_path):
    cloudvolume = pytest.importorskip('cloudvolume')
    out = made[0]
    # CloudVolume opens a precomputed volume whose info names the mesh folder.
    root = os.path.dirname(out)
    info = {'type': 'segmentation', 'data_type': 'uint32', 'num_channels': 1,
            'mesh': os.path.basename(out),
            'scales': [{'key': '1', 'resolution': list(STEP), 'size': list(SHAPE[::-1]),
                        'voxel_offset': [0, 0, 0], 'chunk_sizes': [[64, 64, 64]],
                        'encoding': 'raw'}]}
    with open(os.path.join(root, 'info'), 'w') as f:
        json.dump(info, f)
    cv = cloudvolume.CloudVolume('file://' + root, progress=False)
    folder = MeshFolder(out)
    for object_id in folder.ids():
        for lod in range(3):
            theirs = cv.mesh.get(object_id, lod=lod)[object_id]
            v, f = folder.triangles(object_id, lod)
            assert len(theirs.faces) == len(f)
            mine = np.sort(np.sort(v[f].reshape(-1, 9).round(2), 1), 0)
            tv = theirs.vertices[theirs.faces].reshape(-1, 9).astype(np.float32)
            assert np.allclose(np.sort(np.sort(tv.round(2), 1), 0), mine, atol=0.02)


def test_cancel_leaves_no_output_and_a_rerun_continues(volume, tmp_path):
    seg, labels, values = volume
    out = str(tmp_path / 'meshes')
    job = meshing.MeshJob(seg, 'neuron', [7], out, lods=2, side=SIDE)

    def ctrl_c(message, final):
        if 'chunks' in message and not final:
            progress.request_cancel()      # as the Ctrl-C handler does
    with pytest.raises(Cancelled):
        meshing.make_meshes(job, values, report=ctrl_c)
    assert not os.path.exists(out)
    work = os.path.join(str(tmp_path), '.meshes.chunks')
    kept = len([n for n in os.listdir(work) if n.startswith('chunk-')])
    assert 0 < kept < 108
    lines = []
    again = meshing.make_meshes(job, values, report=lambda m, f: lines.append(m))
    assert again.chunks_kept == kept and again.chunks_meshed == 108 - kept
    assert any('kept' in line for line in lines)
    assert not os.path.exists(work)
    fresh = str(tmp_path / 'fresh')
    meshing.make_meshes(meshing.MeshJob(seg, 'neuron', [7], fresh, lods=2, side=SIDE), values)
    for name in ('7', '7.index', 'info'):
        assert open(os.path.join(out, name), 'rb').read() == \
            open(os.path.join(fresh, name), 'rb').read()
    assert sorted(os.listdir(out)) == ['7', '7.index', 'info']


def test_refusals(volume, tmp_path):
    seg, labels, values = volume
    out = str(tmp_path / 'm')
    with pytest.raises(InputError, match='beyond the attribute array'):
        meshing.make_meshes(meshing.MeshJob(seg, 'neuron', None, out, side=SIDE),
                            values[:50])
    with pytest.raises(InputError, match='no region belongs'):
        meshing.make_meshes(meshing.MeshJob(seg, 'neuron', [12345], out, side=SIDE), values)
    os.makedirs(out)
    open(os.path.join(out, 'x'), 'w').close()
    with pytest.raises(InputError, match='not empty'):
        meshing.make_meshes(meshing.MeshJob(seg, 'neuron', [9], out, side=SIDE), values)
    assert os.listdir(out) == ['x']


def test_worker_processes_make_the_same_meshes(volume, made, tmp_path):
    seg, labels, values = volume
    out = str(tmp_path / 'meshes')
    meshing.make_meshes(meshing.MeshJob(seg, 'neuron', None, out, lods=3, side=SIDE), values,
                        workers=2)
    assert sorted(os.listdir(out)) == sorted(os.listdir(made[0]))
    for name in os.listdir(out):
        assert open(os.path.join(out, name), 'rb').read() == \
            open(os.path.join(made[0], name), 'rb').read()


def test_a_non_finite_vertex_of_the_simplifier_is_moved_between_its_neighbours():
    # zmesh's quadric simplifier can give a vertex NaN (seen on dense neuropil).
    vertices = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [np.nan, 1, 1]], np.float32)
    faces = np.array([[0, 1, 2], [0, 1, 3], [1, 2, 3], [2, 0, 3]], np.uint32)
    fixed = meshing_lods.repaired(vertices, faces)
    assert np.allclose(fixed[3], [2 / 3, 2 / 3, 0]) and np.array_equal(fixed[:3], vertices[:3])
    with pytest.raises(ValueError, match='not a finite position'):
        from chimerax.connectome.formats.meshes.write import encode_fragment
        encode_fragment(vertices, faces, np.zeros(3), np.ones(3) * 4, 16)


def test_a_store_gives_the_same_meshes_as_a_map(volume, made, tmp_path):
    cloudvolume = pytest.importorskip('cloudvolume')
    seg, labels, values = volume
    path = str(tmp_path / 'store')
    info = cloudvolume.CloudVolume.create_new_info(
        1, 'segmentation', 'uint32', 'raw', list(STEP), [0, 0, 0], list(SHAPE[::-1]),
        chunk_size=[32, 32, 16])
    cv = cloudvolume.CloudVolume('file://' + path, info=info, progress=False,
                                 compress=False)
    cv.commit_info()
    cv[:, :, :] = labels.T[..., None]
    store = Segmentation(path, SHAPE, ORIGIN, STEP, store_format='precomputed')
    out = str(tmp_path / 'meshes')
    meshing.make_meshes(meshing.MeshJob(store, 'neuron', None, out, lods=3, side=SIDE), values)
    for name in os.listdir(made[0]):
        assert open(os.path.join(out, name), 'rb').read() == \
            open(os.path.join(made[0], name), 'rb').read()


def test_a_worker_that_dies_is_an_error_naming_the_object_and_keeps_the_chunks(
        volume, made, tmp_path, monkeypatch):
    """A native crash (the worker process meshing object 9 aborts itself, as zmesh's
    std::bad_array_new_length did) ends only that worker: an InputError naming the
    object and the library, no output, the finished chunks kept; a re-run continues
    from them and makes the same files as an undisturbed run."""
    seg, labels, values = volume
    out = str(tmp_path / 'meshes')
    job = meshing.MeshJob(seg, 'neuron', None, out, lods=3, side=SIDE)
    monkeypatch.setenv(meshing.CRASH_VARIABLE, 'object 9')
    with pytest.raises(InputError, match=r'worker process died .*zmesh simplifier or'
                       r' DracoPy\) while meshing (one of )?object (7, )?9;.* 108 chunks'):
        meshing.make_meshes(job, values)
    assert not os.path.exists(out)
    assert os.listdir(str(tmp_path)) == ['.meshes.chunks']
    monkeypatch.setenv(meshing.CRASH_VARIABLE, 'chunk 2,1,0')
    with pytest.raises(InputError, match=r'marching cubes\) while meshing (one of )?chunk'
                       r' .*2,1,0'):
        meshing.make_meshes(meshing.MeshJob(seg, 'neuron', None, str(tmp_path / 'b'),
                                            side=SIDE), values)
    assert not os.path.exists(str(tmp_path / 'b'))
    monkeypatch.delenv(meshing.CRASH_VARIABLE)
    again = meshing.make_meshes(job, values)
    assert again.chunks_kept == 108 and again.chunks_meshed == 0
    assert sorted(os.listdir(out)) == sorted(os.listdir(made[0]))
    for name in os.listdir(out):
        assert open(os.path.join(out, name), 'rb').read() == \
            open(os.path.join(made[0], name), 'rb').read()


def test_workers_end_when_their_parent_is_killed(tmp_path):
    """A killed ChimeraX (SIGKILL: no clean-up runs) leaves no meshing worker waiting,
    nor one busy in C code that holds the GIL (as zmesh's simplifier does when it never
    returns)."""
    import subprocess
    import sys
    import time
    code = ('import os, signal, sys\n'
            'sys.path.insert(0, %r); import package; package.import_from_source()\n'
            'from chimerax.connectome.pipeline import meshing\n'
            'pool = meshing._pool(1)\n'
            'pool.submit(abs, 1).result()\n'
            'pool.submit(sum, range(10 ** 15))\n'   # C holding the GIL: no thread runs
            'print(*os.listdir(pool.ids), flush=True)\n'
            'os.kill(os.getpid(), signal.SIGKILL)\n'
            % os.path.join(os.path.dirname(os.path.dirname(__file__)), 'common'))
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                       timeout=300)
    (worker,) = map(int, p.stdout.split())
    for _ in range(600):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker, 9)
    raise AssertionError('the worker outlived its parent by a minute')


def test_a_simplification_that_never_returns_is_replaced_after_its_time_limit(
        volume, made, tmp_path, monkeypatch):
    """The worker simplifying object 9 never returns (as zmesh 1.15's simplifier did on
    the full-size bench): after the time limit it is killed and replaced, the object's
    levels are made by the fallback (logged), and every level still meets the geometry
    goals.  (On a slow machine another object may run past the short limit too: then it
    takes the fallback as well, which this test allows.)"""
    seg, labels, values = volume
    out = str(tmp_path / 'meshes')
    monkeypatch.setenv(meshing.HANG_VARIABLE, 'object 9')
    lines = []
    result = meshing.make_meshes(meshing.MeshJob(seg, 'neuron', None, out, lods=3, side=SIDE),
                                 values, workers=2, report=lambda m, f: lines.append(m),
                                 time_limit=meshing.TimeLimit(3, 0))
    assert any(line.startswith('object 9: zmesh simplifier or DracoPy did not finish in 3 s;'
                               ' its worker was replaced') for line in lines), lines
    assert result.objects == 2
    folder = MeshFolder(out)
    assert folder.ids() == [7, 9]
    for object_id in (7, 9):
        voxels = np.argwhere(values[labels] == object_id)[:, ::-1] * STEP + ORIGIN
        tree = spatial.cKDTree(voxels)
        counts = []
        for lod in range(3):
            v, f = folder.triangles(object_id, lod)
            assert edges_unshared(f) == 0, (object_id, lod)
            bound = np.linalg.norm(STEP) + (lod and 4 * meshing_lods.max_error(STEP, lod))
            assert tree.query(v)[0].max() <= bound, (object_id, lod)
            counts.append(len(f))
        assert 0 < counts[2] <= counts[0] / 4, (object_id, counts)
    if not any(line.startswith('object 7:') for line in lines):
        for name in ('7', '7.index'):
            assert open(os.path.join(out, name), 'rb').read() == \
                open(os.path.join(made[0], name), 'rb').read()


def test_cancel_while_a_worker_hangs_kills_it_and_writes_nothing(volume, tmp_path,
                                                                 monkeypatch):
    """Ctrl-C while the worker simplifying object 9 never returns: the wait notices the
    cancel (it polls), the hung worker is killed, nothing is written and the chunks are
    kept.  The cancel is asked for once the worker has hung (it makes a file then), and
    no time limit can end the hang first."""
    import threading
    seg, labels, values = volume
    out = str(tmp_path / 'meshes')
    mark = str(tmp_path / 'hung')
    monkeypatch.setenv(meshing.HANG_VARIABLE, 'object 9 > %s' % mark)
    monkeypatch.setenv(meshing.LIMIT_VARIABLE, '100000')

    def ctrl_c_when_hung():
        while not os.path.exists(mark) or not open(mark).read():
            threading.Event().wait(0.05)
        progress.request_cancel()           # as the Ctrl-C handler does
    asker = threading.Thread(target=ctrl_c_when_hung, daemon=True)
    asker.start()
    with pytest.raises(Cancelled):
        meshing.make_meshes(meshing.MeshJob(seg, 'neuron', [9], out, lods=3, side=SIDE), values)
    asker.join()
    hung = int(open(mark).read())
    with pytest.raises(ProcessLookupError):
        os.kill(hung, 0)
    assert not os.path.exists(out)
    assert sorted(os.listdir(str(tmp_path))) == ['.meshes.chunks', 'hung']


def test_a_fold_of_twin_triangles_is_dropped_from_a_fast_reduction():
    """The fast quadric reduction can leave two triangles on the same three vertices (a
    flat fold; their edges are then in four triangles): both are dropped, and the surface
    is closed again; a triangle on its own, or three on one triple, are kept."""
    m = zmesh.Mesher((1, 1, 1))
    mask = np.zeros((5, 5, 5), np.uint8)
    mask[2, 2, 2] = 1
    m.mesh(mask, close=False)
    octahedron = m.get(1, normals=False).faces.astype(np.int64)
    assert meshing_lods.closed(octahedron)
    edges = {tuple(sorted(e)) for t in octahedron for e in ((t[0], t[1]), (t[1], t[2]))}
    a, b = next(iter(edges))
    c = next(v for v in range(6) if v not in (a, b) and
             not any(set(t) == {a, b, v} for t in octahedron.tolist()))
    folded = np.concatenate([octahedron, [[a, b, c], [b, a, c]]])
    assert not meshing_lods.closed(folded)
    kept = meshing_lods.without_twins(folded)
    assert meshing_lods.closed(kept)
    assert sorted(map(tuple, kept.tolist())) == sorted(map(tuple, octahedron.tolist()))
    tripled = np.concatenate([folded, [[a, c, b]]])
    assert len(meshing_lods.without_twins(tripled)) == len(tripled)
