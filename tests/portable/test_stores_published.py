"""Stores as the field's own tools publish them (issue 24), read by formats/stores/:
precomputed chunk files compressed on local disk (CloudVolume's and Igneous's default
gzip, and brotli), the seung-lab encodings compresso and crackle, every level voxel for
voxel with its geometry, and combined; damaged or linked chunk files refused by name."""

import json
import os

import h5py
import numpy as np
import pytest

import stores
import tilesets
from chimerax.connectome.errors import InputError
from chimerax.connectome.formats.stores import open_store
from chimerax.connectome.formats.stores.chunkfiles import ChunkFileView
from chimerax.connectome.pipeline import combine

SHAPE = (18, 34, 42)                        # z,y,x: not multiples of chunks or factors
FACTORS = [(2, 2, 1), (4, 4, 2)]            # x,y,z
FACTORS_ZYX = [tuple(reversed(f)) for f in FACTORS]
OFFSET = (5, 6, 3)                          # x,y,z voxels


@pytest.fixture(scope='module')
def labels():
    return tilesets.labels(SHAPE, seed=11, max_id=3000)


padded = stores.padded


# (encoding, CloudVolume's compress, chunk file suffix)
CLOUDVOLUME = [('raw', None, '.gz'), ('raw', 'gzip', '.gz'), ('raw', 'br', '.br'),
               ('raw', 'zstd', '.zstd'), ('raw', 'bz2', '.bz2'), ('raw', 'xz', '.xz'),
               ('compressed_segmentation', None, '.gz'),
               ('compressed_segmentation', 'br', '.br'),
               ('compresso', None, '.gz'), ('compresso', False, ''),
               ('crackle', None, '.gz'), ('crackle', False, '')]


@pytest.mark.parametrize('encoding,compress,suffix', CLOUDVOLUME)
def test_cloudvolume_defaults_read_voxel_for_voxel(labels, tmp_path, encoding, compress,
                                                   suffix):
    """CloudVolume's default (compress=None) gzips every chunk file on local disk; each
    level is read exactly where CloudVolume put it, the store left as it was."""
    levels = stores.pyramid(labels, FACTORS_ZYX)
    path = stores.precomputed_cloudvolume(tmp_path / 'seg', levels, FACTORS, offset=OFFSET,
                                          encoding=encoding, compress=compress)
    names = os.listdir(os.path.join(path, '8_8_40'))
    assert names and all(n.endswith(suffix) and (suffix or '.' not in n) for n in names)
    before = {n: os.path.getmtime(os.path.join(path, '8_8_40', n)) for n in names}
    s = open_store(path)
    assert all(isinstance(lv.view, ChunkFileView) for lv in s.levels)
    assert [lv.factors for lv in s.levels] == [(1, 1, 1)] + FACTORS_ZYX
    assert s.voxel_size == (8, 8, 40) and s.origin == (44, 52, 140)
    assert s.offset == tuple(reversed(OFFSET)) and s.dtype == np.uint32
    for lv, a in zip(s.levels, levels):
        full = padded(a, lv.shape)
        assert np.array_equal(lv.read(), full), lv.key
        assert np.array_equal(lv.read((1, 3, 2), (lv.shape[0], lv.shape[1] - 1, lv.shape[2]),
                                      (2, 3, 1)), full[1:, 3:-1:3, 2:][::2]), lv.key
    # CloudVolume, the writer, reads the same voxels.
    from cloudvolume import CloudVolume
    cv = CloudVolume('file://' + path, mip=1, progress=False)
    assert np.array_equal(np.asarray(cv[:, :, :])[..., 0].T, levels[1])
    assert sorted(os.listdir(os.path.join(path, '8_8_40'))) == sorted(names)
    assert all(os.path.getmtime(os.path.join(path, '8_8_40', n)) == t
               for n, t in before.items())


def test_uint64_crackle_and_multichannel_raw_gzip(labels, tmp_path):
    big = labels.astype(np.uint64)
    path = stores.precomputed_cloudvolume(tmp_path / 'c', [big], [], encoding='crackle')
    s = open_store(path)
    assert s.stored_dtype == np.uint64 and np.array_equal(s.read(), labels)
    from cloudvolume import CloudVolume
    info = CloudVolume.create_new_info(num_channels=2, layer_type='image', data_type='uint16',
                                       encoding='raw', resolution=[4, 4, 30],
                                       voxel_offset=[1, 2, 3],
                                       volume_size=list(reversed(SHAPE)),
                                       chunk_size=[16, 16, 8])
    cv = CloudVolume('file://%s' % (tmp_path / 'two'), info=info, progress=False)
    cv.commit_info()
    two = np.stack([labels, labels[::-1]], axis=-1).astype(np.uint16)     # z,y,x,c
    cv[1:43, 2:36, 3:21] = np.ascontiguousarray(two.transpose(2, 1, 0, 3))
    path = str(tmp_path / 'two')
    assert np.array_equal(open_store(path).read(), labels.astype(np.uint16))
    assert np.array_equal(open_store(path, channel=1).read(), labels[::-1].astype(np.uint16))


def test_combine_a_gzip_store(labels, tmp_path):
    levels = stores.pyramid(labels, FACTORS_ZYX)
    path = stores.precomputed_cloudvolume(tmp_path / 'seg', levels, FACTORS, offset=OFFSET,
                                          compress=None)
    s = open_store(path)
    out = str(tmp_path / 'part.cmap')
    # The origin as connectome combine gives it: the store's, moved to the region.
    origin = tuple(o + r * v for o, r, v in zip(s.origin, (3, 5, 1), s.voxel_size))
    result = combine.combine(s, out, region=(3, 5, 1, 40, 30, 16), voxel_size=s.voxel_size,
                             origin=origin, threads=2, chunk_side=16)
    assert result.size == (38, 26, 16)
    with h5py.File(out, 'r') as f:
        assert np.array_equal(f['Chimera/image1/data_zyx'][()], labels[1:17, 5:31, 3:41])
        assert tuple(f['Chimera/image1'].attrs['origin']) == ((5 + 3.5) * 8, (6 + 5.5) * 8,
                                                              (3 + 1.5) * 40)


def test_damaged_missing_and_linked_chunk_files(labels, tmp_path):
    path = stores.precomputed_cloudvolume(tmp_path / 'seg', [labels], [], compress=None)
    folder = os.path.join(path, '8_8_40')
    damaged = os.path.join(folder, '16-32_0-16_8-16.gz')          # z 8-15, y 0-15, x 16-31
    with open(damaged, 'r+b') as f:
        f.truncate(30)
    os.remove(os.path.join(folder, '0-16_0-16_0-8.gz'))
    s = open_store(path)
    with pytest.raises(InputError, match=r'seg: reading 8_8_40 voxels z,y,x 8-15, 0-15, 16-31'
                                         r' failed: chunk file .*16-32_0-16_8-16.gz cannot be'
                                         r' decompressed \(.gz\): .*truncated'):
        s.levels[0].read((8, 0, 16), (16, 16, 32))
    expect = labels.copy()
    expect[0:8, 0:16, 0:16] = 0
    assert np.array_equal(s.levels[0].read((0, 0, 0), (8, 34, 42)), expect[:8])
    reports = []
    got = s.levels[0].read_or_zeros((0, 0, 0), SHAPE, (1, 1, 1), reports.append)
    expect[8:16, 0:16, 16:32] = 0
    assert np.array_equal(got, expect) and len(reports) == 1
    # A chunk file that is a symbolic link is not followed.
    target = tmp_path / 'elsewhere.gz'
    os.rename(os.path.join(folder, '0-16_16-32_0-8.gz'), target)
    os.symlink(target, os.path.join(folder, '0-16_16-32_0-8.gz'))
    with pytest.raises(InputError, match='0-16_16-32_0-8.gz is a symbolic link, which is not'
                                         ' followed'):
        open_store(path).levels[0].read((0, 16, 0), (8, 32, 16))


@pytest.mark.parametrize('encoding', ['compresso', 'crackle'])
def test_remote_compresso_and_crackle_over_http(labels, tmp_path, encoding):
    """A remote store's compresso or crackle chunks are fetched through tensorstore's
    key-value stores (HTTP on the loopback address stands in for a bucket)."""
    levels = stores.pyramid(labels, FACTORS_ZYX)
    stores.precomputed_cloudvolume(tmp_path / 'seg', levels, FACTORS, offset=OFFSET,
                                   encoding=encoding, compress=False)
    with stores.LoopbackServer(tmp_path) as server:
        s = open_store('precomputed://%sseg' % server.url)
        assert s.location.local is None and s.origin == (44, 52, 140)
        for lv, a in zip(s.levels, levels):
            assert np.array_equal(lv.read(), padded(a, lv.shape)), lv.key
        os.remove(os.path.join(tmp_path, 'seg', '8_8_40', '5-21_6-22_3-11'))
        expect = labels.copy()
        expect[0:8, 0:16, 0:16] = 0
        fresh = open_store('precomputed://%sseg' % server.url)
        assert np.array_equal(fresh.levels[0].read(), expect)         # absent: zeros


def test_a_silent_server_of_crackle_chunks_fails_in_its_timeout(labels, tmp_path):
    stores.precomputed_cloudvolume(tmp_path / 'seg', [labels], [], encoding='crackle',
                                   compress=False)
    with stores.HangingServer(tmp_path, hang=lambda path: 'info' not in path) as server:
        s = open_store('precomputed://%sseg' % server.url, timeout=1)
        with pytest.raises(InputError, match=r'seg: reading 8_8_40 voxels z,y,x 0-7, 0-15,'
                                             r' 0-15 failed: .*no answer within 1 s'):
            s.levels[0].read((0, 0, 0), (8, 16, 16))


def test_sharded_compresso_and_compressed_jpeg_are_refused_by_name(labels, tmp_path):
    import json
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [], sharded=True)
    info = json.load(open(os.path.join(path, 'info')))
    info['scales'][0]['encoding'] = 'compresso'
    json.dump(info, open(os.path.join(path, 'info'), 'w'))
    with pytest.raises(InputError, match='seg: scale 8_8_40 is encoded compresso, which is'
                                         r' read from unsharded stores only \(it is sharded\)'):
        open_store(path)
    jpeg = stores.precomputed_cloudvolume(tmp_path / 'jpeg', [labels.astype(np.uint8)], [],
                                          encoding='jpeg', compress='gzip')
    with pytest.raises(InputError, match=r'jpeg: the chunk files of scale 8_8_40 are'
                                         r' compressed \(.gz\) and encoded jpeg'):
        open_store(jpeg)


# ---------------------------------------------------------------------------------------
# N5 and Zarr as z5py, Paintera, BigDataViewer, funlib and COSEM write them

def z5_group(path, levels, factors, compression='blosc', chunk=(8, 16, 16)):
    """An N5 multiscale group written by z5py: datasets s0, s1, ... with per-dataset
    downsamplingFactors (x,y,z), blosc by default (z5py adds nthreads); ``path`` a
    folder or a z5py group."""
    import z5py
    f = z5py.File(str(path), 'w') if isinstance(path, (str, os.PathLike)) else path
    for k, a in enumerate(levels):
        d = f.create_dataset('s%d' % k, data=a, chunks=chunk, compression=compression)
        if k:
            d.attrs['downsamplingFactors'] = list(factors[k - 1])
    return f


def test_z5py_blosc_with_nthreads_and_paintera_offset(labels, tmp_path):
    """z5py's blosc (with the nthreads member tensorstore refuses) is read as written;
    Paintera's group resolution and offset (x,y,z, physical) place it; the store's files
    are left as they were."""
    import z5py
    levels = stores.pyramid(labels, FACTORS_ZYX)
    group = z5py.File(str(tmp_path / 'p.n5'), 'w').create_group('volumes/labels')
    group.attrs['painteraData'] = {'type': 'label'}
    g = z5_group(group.create_group('data'), levels, FACTORS)
    data = tmp_path / 'p.n5' / 'volumes' / 'labels'
    g.attrs['resolution'] = [4.0, 4.0, 40.0]
    g.attrs['offset'] = [400.0, 800.0, 1200.0]
    g.attrs['multiScale'] = True
    meta = (data / 'data' / 's0' / 'attributes.json').read_text()
    assert '"nthreads"' in meta
    for path in (data / 'data', data):          # the data group, or Paintera's group
        s = open_store(str(path))
        assert s.format == 'n5' and [lv.factors for lv in s.levels] == [(1, 1, 1)] + \
            FACTORS_ZYX
        assert s.voxel_size == (4, 4, 40) and s.origin == (400, 800, 1200)
        assert not s.units_known and 'offset' in s.spec.geometry
        for lv, a in zip(s.levels, levels):
            assert np.array_equal(lv.read(), padded(a, lv.shape)), lv.key
    assert (data / 'data' / 's0' / 'attributes.json').read_text() == meta


def test_z5py_blosc_over_http(labels, tmp_path):
    """The in-memory metadata over the stored one works for a remote store too."""
    z5_group(tmp_path / 'r.n5', [labels], [])
    with stores.LoopbackServer(tmp_path) as server:
        s = open_store('n5://%sr.n5' % server.url)
        assert s.location.local is None and np.array_equal(s.read(), labels)


def test_bigdataviewer_n5_with_only_the_required_attributes(labels, tmp_path):
    """BigDataViewer's N5 export: setup0 (downsamplingFactors, dataType), timepoint0
    without attributes, its datasets s0, s1 with the required keys only."""
    import z5py
    levels = stores.pyramid(labels.astype(np.uint16), FACTORS_ZYX[:1])
    root = z5py.File(str(tmp_path / 'bdv.n5'), 'w')
    setup = root.create_group('setup0')
    setup.attrs['downsamplingFactors'] = [[1, 1, 1], list(FACTORS[0])]
    setup.attrs['dataType'] = 'uint16'
    tp = setup.create_group('timepoint0')
    for k, a in enumerate(levels):
        tp.create_dataset('s%d' % k, data=a, chunks=(8, 16, 16), compression='gzip')
    tp_attrs = tmp_path / 'bdv.n5' / 'setup0' / 'timepoint0' / 'attributes.json'
    if tp_attrs.exists():
        tp_attrs.unlink()
    for s0 in (tmp_path / 'bdv.n5' / 'setup0' / 'timepoint0' / 's0' / 'attributes.json',
               tmp_path / 'bdv.n5' / 'setup0' / 'timepoint0' / 's1' / 'attributes.json'):
        meta = json.loads(s0.read_text())
        assert set(meta) == {'dimensions', 'blockSize', 'dataType', 'compression'}, meta
    for path in (tmp_path / 'bdv.n5', tmp_path / 'bdv.n5' / 'setup0' / 'timepoint0'):
        s = open_store(str(path))
        assert [lv.factors for lv in s.levels] == [(1, 1, 1), FACTORS_ZYX[0]]
        assert s.spec.geometry == '' and s.voxel_size == (1, 1, 1) and not s.units_known
        for lv, a in zip(s.levels, levels):
            assert np.array_equal(lv.read(), padded(a, lv.shape)), (path, lv.key)


def test_cosem_n5_transform(labels, tmp_path):
    f = z5_group(tmp_path / 'c.n5', [labels], [], compression='gzip')
    f['s0'].attrs['transform'] = {'axes': ['z', 'y', 'x'], 'scale': [3.24, 4.0, 4.0],
                                  'translate': [32.4, 8.0, 12.0], 'units': ['nm'] * 3,
                                  'ordering': 'C'}
    s = open_store(str(tmp_path / 'c.n5'))
    assert s.voxel_size == (4, 4, 3.24) and s.origin == (12, 8, 32.4) and s.units_known
    assert np.array_equal(s.read(), labels)


def funlib_zarr(path, a, attrs, chunk=(8, 16, 16)):
    """A Zarr array as funlib.persistence / daisy writes it: zarr-python, attributes on
    the array."""
    import zarr
    z = zarr.open_array(str(path), mode='w', shape=a.shape, chunks=chunk[-a.ndim:] if
                        a.ndim == 3 else (1,) + chunk, dtype=a.dtype)
    z[...] = a
    z.attrs.update(attrs)
    return str(path)


FUNLIB = [
    ({'voxel_size': [40, 8, 8], 'offset': [80, 16, 32], 'axis_names': ['z', 'y', 'x'],
      'units': ['nm', 'nm', 'nm']}, (8, 8, 40), (32, 16, 80), True),
    ({'resolution': [40, 8, 8], 'offset': [80, 16, 32]}, (8, 8, 40), (32, 16, 80), False),
    ({'voxel_size': [0.04, 0.008, 0.008], 'offset': [0, 0, 0.016],
      'units': ['um', 'um', 'um']}, (8, 8, 40), (16, 0, 0), True),
    ({'pixelResolution': {'dimensions': [4, 4, 30], 'unit': 'nm'}}, (4, 4, 30), (0, 0, 0),
     True),
    ({}, (1, 1, 1), (0, 0, 0), False),
]


@pytest.mark.parametrize('attrs,voxel_size,origin,units', FUNLIB)
def test_funlib_and_cosem_zarr_array_geometry(labels, tmp_path, attrs, voxel_size, origin,
                                             units):
    s = open_store(funlib_zarr(tmp_path / 'a.zarr', labels, attrs))
    assert np.allclose(s.voxel_size, voxel_size) and np.allclose(s.origin, origin)
    assert s.units_known == units and bool(s.spec.geometry) == bool(attrs)
    assert np.array_equal(s.read(), labels)


def test_funlib_channel_axis(labels, tmp_path):
    two = np.stack([labels, labels[::-1]])
    path = funlib_zarr(tmp_path / 'c.zarr', two, {
        'voxel_size': [40, 8, 8], 'offset': [0, 0, 0], 'axis_names': ['c^', 'z', 'y', 'x'],
        'units': ['nm', 'nm', 'nm']})
    assert np.array_equal(open_store(path, channel=1).read(), labels[::-1])
    assert open_store(path).voxel_size == (8, 8, 40)


# ---------------------------------------------------------------------------------------
# The combined .cmap read outside ChimeraX (issue 24 item 7)

def test_a_combined_cmap_reads_with_plain_h5py_and_hdf5plugin(labels, tmp_path):
    """A .cmap combined from a store is Blosc-compressed: plain h5py cannot decode it
    (h5dump prints an empty data block), h5py with hdf5plugin imported, or any HDF5 tool
    with HDF5_PLUGIN_PATH set to hdf5plugin's filters, reads it exactly, as the help page
    says."""
    import subprocess
    import sys
    path = stores.precomputed_cloudvolume(tmp_path / 'seg', [labels], [], compress=None)
    s = open_store(path)
    out = str(tmp_path / 'seg.cmap')
    combine.combine(s, out, voxel_size=s.voxel_size, threads=2, chunk_side=16)
    np.save(tmp_path / 'truth.npy', labels)
    read = ("import sys, numpy, h5py%s\n"
            "with h5py.File(sys.argv[1], 'r') as f:\n"
            "    a = f['Chimera/image1/data_zyx'][()]\n"
            "assert numpy.array_equal(a, numpy.load(sys.argv[2]))\n")
    env = dict(os.environ)
    env.pop('HDF5_PLUGIN_PATH', None)

    def child(code, env):
        return subprocess.run([sys.executable, '-c', code, out, str(tmp_path / 'truth.npy')],
                              capture_output=True, text=True, env=env)
    plain = child(read % '', env)
    assert plain.returncode != 0 and 'read data' in plain.stderr, plain.stderr
    assert child(read % ', hdf5plugin', env).returncode == 0
    import hdf5plugin
    assert child(read % '', dict(env, HDF5_PLUGIN_PATH=hdf5plugin.PLUGIN_PATH)).returncode == 0


# ---------------------------------------------------------------------------------------
# Region ids above 2^32 (formats/stores/idmap.py)

def test_ids_above_2_32_in_every_format_through_the_id_map(labels, tmp_path):
    """uint64 ids above 2^32 in precomputed (gzip chunk files), OME-Zarr and N5 (z5py):
    each opens with an id map (its coarsest scale shows such ids), every level reads as
    compact values whose originals are the stored ids; worker threads share the map."""
    from concurrent.futures import ThreadPoolExecutor
    big = labels.astype(np.uint64)
    big[big > 0] = big[big > 0] * np.uint64(7919) + np.uint64(2 ** 50)
    levels = stores.pyramid(big, FACTORS_ZYX)
    paths = [stores.precomputed_cloudvolume(tmp_path / 'pc', levels, FACTORS, compress=None),
             stores.ome_zarr(tmp_path / 'z.zarr', levels, FACTORS, label=True),
             str(tmp_path / 'n.n5')]
    z5_group(tmp_path / 'n.n5', levels, FACTORS)
    for path in paths:
        s = open_store(path)
        assert s.id_map is not None and s.dtype == np.uint32 and s.stored_dtype == np.uint64
        with ThreadPoolExecutor(4) as pool:
            blocks = list(pool.map(lambda z: s.levels[0].read((z, 0, 0), (z + 2,) +
                                                              SHAPE[1:]),
                                   range(0, SHAPE[0], 2)))
        values = np.concatenate(blocks)
        assert values.max() < 3000 and np.array_equal(s.original_ids(values), big), path
        for lv, a in zip(s.levels[1:], levels[1:]):
            assert np.array_equal(s.original_ids(lv.read()), padded(a, lv.shape)), path
        # Values are never renumbered: each id keeps the value it was first given.
        assert np.array_equal(s.levels[0].read(), values)


def test_id_map_values_and_saved_maps():
    from chimerax.connectome.formats.stores import IdMap
    m = IdMap(where='seg')
    a = np.array([[0, 2 ** 40, 5], [5, 0, 2 ** 63 + 1]], np.uint64)
    v = m.compact(a.copy())
    # Values 1, 2, 3 (a block's new ids in no particular order), 0 kept.
    assert v.dtype == np.uint32 and sorted(set(v.ravel().tolist())) == [0, 1, 2, 3]
    assert v[0, 2] == v[1, 0] and m.original(v).tolist() == a.tolist()
    assert m.original(int(v[1, 2])) == 2 ** 63 + 1
    assert m.compact_ids([5, 17]).tolist() == [v[0, 2], 4] and len(m) == 5
    assert m.known_values([2 ** 40, 99]).tolist() == [v[0, 1], -1]
    with pytest.raises(InputError, match='seg: value 5 is no region of the id map'):
        m.original(5)
    again = IdMap(m.ids)
    assert again.compact(a.copy()).tolist() == v.tolist()
    # A large block is compacted in slabs in threads: one id, one value in every slab.
    rng = np.random.default_rng(3)
    large = (rng.integers(1, 5000, (48, 160, 160)).astype(np.uint64) << np.uint64(40))
    values = m.compact(large.copy())
    assert np.array_equal(m.original(values), large)
    assert len(m) == 5 + len(np.setdiff1d(np.unique(large), [2 ** 40]))  # 2^40 known
    with pytest.raises(InputError, match='must start with id 0'):
        IdMap([3, 0])
    with pytest.raises(InputError, match='lists an id twice'):
        IdMap([0, 3, 3])
