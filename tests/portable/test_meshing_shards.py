"""connectome meshes' sharded output (formats/meshes/sharding.py, pipeline/meshing_output.py)
and its work on a Dask cluster (pipeline/meshing_cluster.py): CloudVolume reads every
object and level of detail of a sharded folder back to the triangles of the unsharded one,
our reader reads both, the hash is CloudVolume's, a cancelled sharded run leaves nothing,
and ``scheduler local 2`` writes the same bytes as a local run."""

import json
import os
import shutil

import numpy as np
import pytest

from chimerax.connectome import progress
from chimerax.connectome.errors import Cancelled, InputError
from chimerax.connectome.formats.meshes import MeshFolder, shard_objects
from chimerax.connectome.formats.meshes.sharding import (
    ShardingSpec, murmurhash3_x86_128_low64, sharding_for)
from chimerax.connectome.pipeline import cluster, meshing, meshing_output
from test_meshing import SHAPE, SIDE, STEP, volume  # noqa: F401  (the fixture)

cloudvolume = pytest.importorskip('cloudvolume')


def run(seg, values, out, **kw):
    job = meshing.MeshJob(seg, 'neuron', None, out, lods=3, side=SIDE,
                          sharded=kw.pop('sharded', None))
    return meshing.make_meshes(job, values, **kw)


@pytest.fixture(scope='module')
def both(volume, tmp_path_factory):         # noqa: F811
    seg, labels, values = volume
    root = tmp_path_factory.mktemp('both')
    plain, sharded = str(root / 'plain'), str(root / 'sharded')
    run(seg, values, plain, sharded=False)
    run(seg, values, sharded, sharded=True)
    return plain, sharded


def files(folder):
    return {n: open(os.path.join(folder, n), 'rb').read() for n in sorted(os.listdir(folder))}


def cloudvolume_of(folder):
    """CloudVolume opening a precomputed volume whose info names ``folder`` as its mesh."""
    root = os.path.dirname(folder)
    info = {'type': 'segmentation', 'data_type': 'uint32', 'num_channels': 1,
            'mesh': os.path.basename(folder),
            'scales': [{'key': '1', 'resolution': list(STEP), 'size': list(SHAPE[::-1]),
                        'voxel_offset': [0, 0, 0], 'chunk_sizes': [[64, 64, 64]],
                        'encoding': 'raw'}]}
    with open(os.path.join(root, 'info'), 'w') as f:
        json.dump(info, f)
    return cloudvolume.CloudVolume('file://' + root, progress=False)


def same_triangles(theirs, v, f):
    """CloudVolume's mesh and ours (vertices, faces) hold the same triangles."""
    assert len(theirs.faces) == len(f)
    mine = np.sort(np.sort(v[f].reshape(-1, 9).round(2), 1), 0)
    tv = theirs.vertices[theirs.faces].reshape(-1, 9).astype(np.float32)
    return np.allclose(np.sort(np.sort(tv.round(2), 1), 0), mine, atol=0.02)


def test_hash_is_cloudvolumes():
    from cloudvolume.datasource.precomputed import mmh3
    rng = np.random.default_rng(5)
    ids = np.concatenate([np.arange(300, dtype=np.uint64),
                          rng.integers(0, 2 ** 63, 300, dtype=np.uint64),
                          np.array([2 ** 64 - 1], np.uint64)])
    theirs = [mmh3.hash64(np.uint64(i).tobytes(), x64arch=False)[0] for i in ids]
    assert (murmurhash3_x86_128_low64(ids) == np.array(theirs, np.int64).view(np.uint64)).all()


@pytest.mark.parametrize('objects, bits', [
    # (shard_bits, minishard_bits) as Igneous's compute_shard_params_for_hashed gives them
    (1, (0, 0)), (1365, (0, 0)), (1400, (0, 1)), (5000, (0, 2)), (700000, (0, 9)),
    (1400000, (1, 9)), (10 ** 7, (4, 9))])
def test_sharding_parameters_as_igneous_chooses_them(objects, bits):
    spec = sharding_for(objects)
    assert (spec.shard_bits, spec.minishard_bits, spec.preshift_bits) == bits + (0,)
    assert spec.hash == 'murmurhash3_x86_128' and spec.data_encoding == 'raw'


def test_sharded_output_reads_back_the_same(both):
    plain, sharded = both
    assert sorted(os.listdir(sharded)) == ['0.shard', 'info']
    info = json.load(open(os.path.join(sharded, 'info')))
    assert info['@type'] == 'neuroglancer_multilod_draco'
    assert info['sharding']['@type'] == 'neuroglancer_uint64_sharded_v1'
    assert info['sharding']['hash'] == 'murmurhash3_x86_128'
    ours, theirs = MeshFolder(plain), MeshFolder(sharded)
    assert theirs.sharded and not ours.sharded
    assert ours.ids() == theirs.ids() == [7, 9]
    assert theirs.has(7) and not theirs.has(8)
    cv = cloudvolume_of(sharded)
    for object_id in ours.ids():
        assert ours.manifest(object_id).to_bytes() == theirs.manifest(object_id).to_bytes()
        for lod in range(ours.lod_count(object_id)):
            v, f = ours.triangles(object_id, lod)
            v2, f2 = theirs.triangles(object_id, lod)
            assert np.array_equal(v, v2) and np.array_equal(f, f2) and len(f)
            assert same_triangles(cv.mesh.get(object_id, lod=lod)[object_id], v, f)
    with pytest.raises(InputError, match='no mesh of object 8'):
        theirs.triangles(8)


@pytest.mark.parametrize('spec', [
    ShardingSpec(0, 2, 2),
    ShardingSpec(0, 3, 1, hash='identity', minishard_index_encoding='raw'),
    ShardingSpec(1, 1, 3)])
def test_many_objects_in_many_shards(both, tmp_path, spec):
    """Objects copied under 150 ids (some sharing a minishard, some shards empty of a
    minishard) are read back by CloudVolume and by us, each as its source."""
    plain = both[0]
    folder = str(tmp_path / 'many')
    os.makedirs(folder)
    source = {}
    for k, object_id in enumerate(list(range(1, 120)) + [2 ** 40 + 3 * k for k in range(31)]):
        original = (7, 9)[k % 2]
        source[object_id] = original
        for suffix in ('', '.index'):
            shutil.copy(os.path.join(plain, '%d%s' % (original, suffix)),
                        os.path.join(folder, '%d%s' % (object_id, suffix)))
    shard_objects(folder, sorted(source), spec)
    info = json.load(open(os.path.join(plain, 'info')))
    info['sharding'] = spec.to_dict()
    with open(os.path.join(folder, 'info'), 'w') as f:
        json.dump(info, f)
    names = os.listdir(folder)
    assert all(n.endswith('.shard') for n in names if n != 'info') and len(names) > 2
    ours, folder_read = MeshFolder(plain), MeshFolder(folder)
    assert folder_read.ids() == sorted(source)
    cv = cloudvolume_of(folder)
    for object_id in sorted(source)[::7]:
        v, f = ours.triangles(source[object_id], 1)
        v2, f2 = folder_read.triangles(object_id, 1)
        assert np.array_equal(v, v2) and np.array_equal(f, f2)
        assert same_triangles(cv.mesh.get(object_id, lod=1)[object_id], v, f)


def test_default_shards_above_the_threshold(volume, tmp_path, monkeypatch):  # noqa: F811
    seg, labels, values = volume
    few = str(tmp_path / 'few')
    run(seg, values, few)
    assert sorted(os.listdir(few)) == ['7', '7.index', '9', '9.index', 'info']
    monkeypatch.setattr(meshing_output, 'SHARD_ABOVE', 1)
    many = str(tmp_path / 'many')
    run(seg, values, many)
    assert sorted(os.listdir(many)) == ['0.shard', 'info']


def test_cancel_while_sharding_leaves_no_output(volume, both, tmp_path):  # noqa: F811
    seg, labels, values = volume
    out = str(tmp_path / 'meshes')

    def ctrl_c(message, final):
        if 'shards' in message:
            progress.request_cancel()      # as the Ctrl-C handler does
    with pytest.raises(Cancelled):
        run(seg, values, out, sharded=True, report=ctrl_c)
    assert not os.path.exists(out)
    assert [n for n in os.listdir(str(tmp_path)) if 'meshes' in n] == ['.meshes.chunks']
    run(seg, values, out, sharded=True)           # continues from the chunks kept
    assert files(out) == files(both[1])


def test_a_dask_cluster_writes_the_same_bytes(volume, both, tmp_path):  # noqa: F811
    seg, labels, values = volume
    out = str(tmp_path / 'cluster')
    lines = []
    run(seg, values, out, sharded=True, scheduler=cluster.Scheduler('local 2'),
        report=lambda m, f: lines.append(m))
    assert files(out) == files(both[1])
    assert any(m.startswith('Meshing on 2 Dask worker threads') for m in lines)
    assert any('objects' in m for m in lines) and any('chunks' in m for m in lines)


def test_a_cancelled_cluster_run_leaves_no_output(volume, tmp_path):  # noqa: F811
    seg, labels, values = volume
    out = str(tmp_path / 'cluster')

    def ctrl_c(message, final):
        if 'chunks' in message and not final:
            progress.request_cancel()
    with pytest.raises(Cancelled):
        run(seg, values, out, scheduler=cluster.Scheduler('local 1'), report=ctrl_c)
    assert not os.path.exists(out)
    assert os.path.isdir(str(tmp_path / '.cluster.chunks'))


@pytest.mark.parametrize('encoding', ['raw', 'gzip'])
def test_shards_as_cloudvolume_writes_them(both, tmp_path, encoding):
    """CloudVolume's own shard writer (synthesize_shard_files, as Igneous uses it for
    meshes) given the same objects: shards of the same size (raw minishard indices: it
    orders minishards otherwise and marks an empty one 0,0, both as the spec allows), and
    a folder of its shards read by us as the objects they hold."""
    from cloudvolume.datasource.precomputed.sharding import (ShardingSpecification,
                                                              synthesize_shard_files)
    plain = both[0]
    spec = ShardingSpec(0, 2, 1, minishard_index_encoding=encoding)
    ours, theirs = tmp_path / 'ours', tmp_path / 'theirs'
    os.makedirs(ours)
    os.makedirs(theirs)
    source, data, offsets = {}, {}, {}
    for object_id in range(1, 40):
        source[object_id] = original = (7, 9)[object_id % 2]
        fragments, manifest = (open(os.path.join(plain, '%d%s' % (original, suffix)),
                                    'rb').read() for suffix in ('', '.index'))
        data[object_id], offsets[object_id] = fragments + manifest, len(manifest)
        for suffix in ('', '.index'):
            shutil.copy(os.path.join(plain, '%d%s' % (original, suffix)),
                        ours / ('%d%s' % (object_id, suffix)))
    shard_objects(str(ours), sorted(source), spec)
    written = synthesize_shard_files(ShardingSpecification.from_dict(spec.to_dict()), data,
                                     offsets)
    assert sorted(written) == sorted(os.listdir(ours)) == ['0.shard', '1.shard']
    info = json.load(open(os.path.join(plain, 'info')))
    info['sharding'] = spec.to_dict()
    for name, blob in written.items():
        if encoding == 'raw':
            assert len((ours / name).read_bytes()) == len(blob)
        (theirs / name).write_bytes(blob)
    (theirs / 'info').write_text(json.dumps(info))
    folder, original = MeshFolder(str(theirs)), MeshFolder(plain)
    assert folder.ids() == sorted(source)
    for object_id in (1, 2, 17, 39):
        v, f = original.triangles(source[object_id], 2)
        v2, f2 = folder.triangles(object_id, 2)
        assert np.array_equal(v, v2) and np.array_equal(f, f2)


def test_a_crash_on_the_cluster_is_an_error_and_keeps_the_chunks(volume, tmp_path,  # noqa: F811
                                                                  monkeypatch):
    """A chunk whose meshing aborts its Dask worker every time: Dask gives up on it
    (KilledWorker), the run stops with an error naming the cluster, writes nothing, and
    keeps the chunks finished for a re-run."""
    seg, labels, values = volume
    out = str(tmp_path / 'cluster')
    monkeypatch.setenv(meshing.CRASH_VARIABLE, 'chunk 4,4,1')
    with pytest.raises(InputError, match='the Dask cluster .* failed .*KilledWorker'):
        run(seg, values, out, scheduler=cluster.Scheduler('local 1'))
    assert not os.path.exists(out)
    assert os.path.isdir(str(tmp_path / '.cluster.chunks'))


def test_bad_sharded_folders_are_errors_naming_the_file(both, tmp_path):
    sharded = both[1]
    bad = tmp_path / 'bad'
    shutil.copytree(sharded, bad)
    info = json.load(open(bad / 'info'))
    info['sharding']['hash'] = 'md5'
    (bad / 'info').write_text(json.dumps(info))
    with pytest.raises(InputError, match='info: sharding hash .md5. .* unknown'):
        MeshFolder(str(bad))
    info['sharding']['hash'] = 'murmurhash3_x86_128'
    info['sharding']['data_encoding'] = 'gzip'
    (bad / 'info').write_text(json.dumps(info))
    with pytest.raises(InputError, match='need data_encoding raw'):
        MeshFolder(str(bad))
    shutil.copy(os.path.join(sharded, 'info'), bad / 'info')
    data = (bad / '0.shard').read_bytes()
    (bad / '0.shard').write_bytes(data[:len(data) // 2])
    with pytest.raises(InputError, match='0.shard: truncated'):
        MeshFolder(str(bad)).triangles(7)


def test_the_dask_pool_restarts_and_sends_its_arguments_again():
    from chimerax.connectome.pipeline.meshing_cluster import DaskPool
    big = np.arange(100000, dtype=np.int64)
    with DaskPool(cluster.Scheduler('local 1')) as pool:
        assert pool.workers == 1
        assert pool.submit(np.sum, big).result(timeout=60) == big.sum()
        pool.restart()
        assert pool.submit(np.sum, big).result(timeout=60) == big.sum()
        slow = pool.submit(__import__('time').sleep, 30)
        pool.kill()
        assert slow.cancelled()


def test_one_level_of_detail_reads_back(volume, both, tmp_path):  # noqa: F811
    """lods 1 (a manifest of one LOD, as Igneous writes for small objects: numpy made
    its one-element fields scalars, and reading failed), sharded, read by us and by
    CloudVolume as the unsharded folder's finest level."""
    seg, labels, values = volume
    out = str(tmp_path / 'one')
    meshing.make_meshes(meshing.MeshJob(seg, 'neuron', None, out, lods=1, side=SIDE,
                                        sharded=True), values)
    folder, plain = MeshFolder(out), MeshFolder(both[0])
    cv = cloudvolume_of(out)
    for object_id in plain.ids():
        assert folder.lod_count(object_id) == 1
        v, f = folder.triangles(object_id, 0)
        v0, f0 = plain.triangles(object_id, 0)
        assert np.array_equal(v, v0) and np.array_equal(f, f0)
        assert same_triangles(cv.mesh.get(object_id, lod=0)[object_id], v, f)


IGNEOUS_SHARDED = '''
import json, sys
import numpy as np
from cloudvolume import CloudVolume
from taskqueue import LocalTaskQueue
import igneous.task_creation as tc
path = 'file://' + sys.argv[1]
z, y, x = np.indices((64, 64, 64))
labels = np.zeros((64, 64, 64), np.uint32)
rng = np.random.default_rng(0)
for k in range(1, 40):
    c, r = rng.integers(8, 56, 3), rng.integers(3, 8)
    labels[((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2) < r * r] = k * 1000 + 7
info = CloudVolume.create_new_info(1, 'segmentation', 'uint32', 'raw', [8, 8, 40], [0, 0, 0],
                                   [64, 64, 64], chunk_size=[64, 64, 64])
cv = CloudVolume(path, info=info, progress=False, compress=False)
cv.commit_info()
cv[:, :, :] = labels.T[..., None]
tq = LocalTaskQueue(parallel=1, progress=False)
tq.insert(tc.create_meshing_tasks(path, mip=0, mesh_dir='mesh', sharded=True,
                                  spatial_index=True))
tq.execute(progress=False)
tq.insert(tc.create_sharded_multires_mesh_tasks(path, num_lod=2, mesh_dir='mesh',
                                                progress=False))
tq.execute(progress=False)
cv = CloudVolume(path, progress=False)
ids = sorted(int(v) for v in np.unique(labels) if v)
print(json.dumps({i: len(cv.mesh.get(i, lod=0)[i].faces) for i in ids}))
'''


def test_igneous_sharded_meshes_are_read(tmp_path):
    """A sharded multi-resolution mesh folder made by Igneous (mesh forge sharded, then
    its sharded multires merge), read by our reader to the triangles CloudVolume reads.
    Needs Igneous's environment (CONNECTOME_IGNEOUS_PYTHON, as bench meshes)."""
    import subprocess
    python = os.environ.get('CONNECTOME_IGNEOUS_PYTHON')
    if not python or not os.path.exists(python):
        pytest.skip('no Igneous environment (set CONNECTOME_IGNEOUS_PYTHON)')
    done = subprocess.run([python, '-c', IGNEOUS_SHARDED, str(tmp_path)], capture_output=True,
                          text=True, timeout=600, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = {int(k): v for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
    folder = MeshFolder(str(tmp_path / 'mesh'))
    assert folder.sharded and folder.ids() == sorted(theirs) and len(theirs) > 30
    for object_id, faces in theirs.items():
        v, f = folder.triangles(object_id, 0)
        assert len(f) == faces and faces > 0
