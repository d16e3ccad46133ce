"""formats/stores/ and formats/sidecar.py on stores written here by tensorstore,
CloudVolume and zarr-python: every level voxel for voxel, metadata (voxel size, offset,
units, channels), the specs the metadata alone makes, bad stores, remote reading over
HTTP, `connectome combine`'s engine reading a store, and the attribute file of a
read-only store."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import leftovers
import package
import stores
import tilesets
from chimerax.connectome.errors import InputError
from chimerax.connectome.formats import sidecar
from chimerax.connectome.formats.source import VolumeSource
from chimerax.connectome.formats.stores import (LevelSpec, Location, Store, StoreSpec,
                                                looks_like_store, open_store)
from chimerax.connectome.formats.stores import opening
from chimerax.connectome.formats.stores.n5 import n5_spec
from chimerax.connectome.formats.stores.precomputed import precomputed_spec
from chimerax.connectome.formats.stores.zarr import zarr_spec
from chimerax.connectome.pipeline import combine
from chimerax.connectome.pipeline.attributefile import AttributeFile

SHAPE = (18, 34, 42)                        # z,y,x: not multiples of chunks or factors
FACTORS = [(2, 2, 1), (4, 4, 2)]            # x,y,z
FACTORS_ZYX = [tuple(reversed(f)) for f in FACTORS]


@pytest.fixture(scope='module')
def labels():
    return tilesets.labels(SHAPE, seed=7, max_id=4000)


padded = stores.padded


WRITERS = {
    'tensorstore raw': lambda p, lv: stores.precomputed_tensorstore(p, lv, FACTORS),
    'tensorstore raw sharded': lambda p, lv: stores.precomputed_tensorstore(
        p, lv, FACTORS, sharded=True),
    'tensorstore compressed_segmentation': lambda p, lv: stores.precomputed_tensorstore(
        p, lv, FACTORS, encoding='compressed_segmentation'),
    'tensorstore compressed_segmentation sharded': lambda p, lv: stores.precomputed_tensorstore(
        p, lv, FACTORS, encoding='compressed_segmentation', sharded=True),
    'cloudvolume raw': lambda p, lv: stores.precomputed_cloudvolume(p, lv, FACTORS),
    'cloudvolume compressed_segmentation': lambda p, lv: stores.precomputed_cloudvolume(
        p, lv, FACTORS, encoding='compressed_segmentation'),
    'ome-zarr (zarr-python)': lambda p, lv: stores.ome_zarr(str(p) + '.zarr', lv, FACTORS),
    'ome-zarr v0.5 (tensorstore zarr3)': lambda p, lv: stores.ome_zarr_v3(str(p) + '.zarr',
                                                                          lv, FACTORS),
    'n5 (zarr-python)': lambda p, lv: stores.n5(str(p) + '.n5', lv, FACTORS),
}


@pytest.mark.parametrize('writer', sorted(WRITERS))
def test_every_level_voxel_for_voxel(labels, tmp_path, writer):
    levels = stores.pyramid(labels, FACTORS_ZYX)
    path = WRITERS[writer](tmp_path / 'seg', levels)
    s = open_store(path)
    assert s.format == ('n5' if 'n5' in writer else 'zarr' if 'zarr' in writer
                        else 'precomputed')
    assert [lv.factors for lv in s.levels] == [(1, 1, 1)] + FACTORS_ZYX
    assert s.voxel_size == (8, 8, 40) and s.dtype == np.uint32 and not s.skipped
    for lv, a in zip(s.levels, levels):
        full = padded(a, lv.shape)
        assert np.array_equal(lv.read(), full), lv.key
        # A strided, unaligned block, as ChimeraX asks for a region at a step.
        assert np.array_equal(lv.read((1, 3, 2), (lv.shape[0], lv.shape[1] - 1, lv.shape[2]),
                                      (2, 3, 1)), full[1:, 3:-1:3, 2:][::2])


def test_level_voxel_j_covers_full_resolution_voxels_j_times_f(tmp_path, labels):
    """With a voxel offset that the factors do not divide, level k still starts at full
    resolution voxel 0 (floor of the offset, CloudVolume's rule for downsampled scales)."""
    levels = stores.pyramid(labels, FACTORS_ZYX)
    path = stores.precomputed_cloudvolume(tmp_path / 'seg', levels, FACTORS, offset=(5, 6, 3))
    s = open_store(path)
    # The first voxel's centre: (voxel offset + 0.5) x resolution (precomputed.origin_of).
    assert s.offset == (3, 6, 5) and s.origin == (44, 52, 140)
    info = json.load(open(os.path.join(path, 'info')))
    assert [sc['voxel_offset'] for sc in info['scales']] == [[5, 6, 3], [2, 3, 3], [1, 1, 1]]
    for lv, a in zip(s.levels, levels):
        assert np.array_equal(lv.read(), padded(a, lv.shape))


def test_ome_zarr_units_translation_channels(tmp_path, labels):
    two = np.stack([labels, labels[::-1].copy()])              # c,z,y,x
    path = stores.ome_zarr(tmp_path / 'img.zarr', [two, two[:, :, ::2, ::2]], FACTORS[:1],
                           voxel_size=(0.01, 0.01, 0.03), unit='micrometer',
                           translation=(1.5, 2.5, 3.5), channels=2)
    s = open_store(path, channel=1)
    assert np.allclose(s.voxel_size, (10, 10, 30)) and np.allclose(s.origin, (1500, 2500, 3500))
    assert s.units_known
    assert np.array_equal(s.read(), labels[::-1])
    assert np.array_equal(open_store(path).read(), labels)
    with pytest.raises(InputError, match='has 2 channels; channel 2 does not exist'):
        open_store(path, channel=2)


def test_scale_that_is_no_whole_multiple_is_left_out(tmp_path, labels):
    path = stores.precomputed_tensorstore(tmp_path / 'seg', stores.pyramid(labels, [(1, 2, 2)]),
                                          [(2, 2, 1)])
    info = json.load(open(os.path.join(path, 'info')))
    info['scales'][1]['resolution'] = [12, 12, 40]
    json.dump(info, open(os.path.join(path, 'info'), 'w'))
    s = open_store(path)
    assert len(s.levels) == 1
    assert s.skipped == [('16_16_40', "voxel size 12,12,40 is not a whole multiple of the full"
                                      " resolution's 8,8,40")]


def test_uint64_ids_read_as_uint32_or_refused(tmp_path, labels):
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [labels.astype(np.uint64)], [])
    s = open_store(path)
    assert s.stored_dtype == np.uint64 and s.dtype == np.uint32
    assert np.array_equal(s.read(), labels)
    big = labels.astype(np.uint64)
    big[10, 20, 30] = 2 ** 40
    path = stores.precomputed_tensorstore(tmp_path / 'big', [big], [])
    s = open_store(path, compact_ids=False)         # without an id map (idmap.py)
    assert np.array_equal(s.read((0, 0, 0), (5, 34, 42)), labels[:5])      # not in this block
    with pytest.raises(InputError, match=r'big: region id 1099511627776 \(8_8_40 voxels z,y,x'
                                         r' .*\) does not fit in uint32 .*compactIds true'):
        s.read()
    s = open_store(path)                            # the look at its coarsest scale sees it
    assert s.id_map is not None
    assert np.array_equal(s.original_ids(s.levels[0].read()), big)
    with pytest.raises(InputError, match='big holds region ids above 2\\^32 .* a copy would'
                                         ' hold those values, not the ids'):
        s.read()


def test_missing_chunks_are_zeros(tmp_path, labels):
    for name, write in (('pc', lambda p: stores.precomputed_tensorstore(p, [labels], [])),
                        ('z', lambda p: stores.ome_zarr(str(p) + '.zarr', [labels], [])),
                        ('n', lambda p: stores.n5(str(p) + '.n5', [labels], []))):
        path = write(tmp_path / name)
        chunk = {'pc': '8_8_40/16-32_0-16_8-16', 'z': '0/1/0/1', 'n': 's0/1/0/1'}[name]
        os.remove(os.path.join(path, chunk))
        expect = labels.copy()
        block = {'pc': np.s_[8:16, 0:16, 16:32], 'z': np.s_[8:16, 0:16, 16:32],
                 'n': np.s_[8:16, 0:16, 16:32]}[name]
        expect[block] = 0
        assert np.array_equal(open_store(path).read(), expect), name


def test_bad_stores_name_the_path(tmp_path, labels):
    with pytest.raises(InputError, match='nowhere does not exist'):
        open_store(tmp_path / 'nowhere')
    f = tmp_path / 'file.txt'
    f.write_text('x')
    with pytest.raises(InputError, match='file.txt is a file, not a store'):
        open_store(f)
    (tmp_path / 'empty').mkdir()
    with pytest.raises(InputError, match='empty is not a neuroglancer precomputed, Zarr or N5'):
        open_store(tmp_path / 'empty')
    path = stores.precomputed_tensorstore(tmp_path / 'enc', [labels], [])
    info = json.load(open(os.path.join(path, 'info')))
    info['scales'][0]['encoding'] = 'zfpc'
    json.dump(info, open(os.path.join(path, 'info'), 'w'))
    with pytest.raises(InputError, match=r'enc: scale 8_8_40 has encoding zfpc, which is not'
                                         r' read \(the encodings read are raw, compr'):
        open_store(path)
    with open(os.path.join(path, 'info'), 'w') as out:
        out.write('{"scales": [')
    with pytest.raises(InputError, match='enc: info is not valid JSON'):
        open_store(path)
    plain = stores.ome_zarr(tmp_path / 'g.zarr', [labels], [])
    os.remove(os.path.join(plain, '.zattrs'))
    with pytest.raises(InputError, match=r'g.zarr is a Zarr group without OME-Zarr multiscales'
                                         r' metadata; open one of its arrays: 0'):
        open_store(plain)
    assert np.array_equal(open_store(os.path.join(plain, '0')).read(), labels)
    with pytest.raises(InputError, match=r'zarr://.* is a zarr path, not n5'):
        Location('zarr://' + plain, 'n5')
    with pytest.raises(InputError, match='unknown location scheme ftp://'):
        Location('ftp://host/x')


def test_paths_recognised(tmp_path, labels):
    pc = stores.precomputed_tensorstore(tmp_path / 'pc', [labels], [])
    z = stores.ome_zarr(tmp_path / 'a.zarr', [labels], [])
    for text in (pc, 'precomputed://' + pc, 'precomputed://file://' + pc, 'file://' + pc,
                 z, 'zarr://' + z, 'zarr2://file://' + z):
        assert looks_like_store(text)
        assert np.array_equal(open_store(text).read(), labels), text
    assert looks_like_store('gs://bucket/x') and looks_like_store(tmp_path / 'b.n5')
    assert not looks_like_store(tmp_path) and not looks_like_store(tmp_path / 'x.hdf5')


def test_remote_store_over_http(tmp_path, labels):
    """gs://, s3:// and https:// go through tensorstore's remote key-value stores; HTTP
    on the loopback address stands in for them (byte ranges for sharded stores)."""
    levels = stores.pyramid(labels, FACTORS_ZYX)
    stores.precomputed_tensorstore(tmp_path / 'seg', levels, FACTORS, sharded=True,
                                   encoding='compressed_segmentation')
    stores.ome_zarr(tmp_path / 'img.zarr', levels, FACTORS)
    with stores.LoopbackServer(tmp_path) as server:
        s = open_store('precomputed://%sseg' % server.url)
        assert s.location.local is None and s.paths == []
        for lv, a in zip(s.levels, levels):
            assert np.array_equal(lv.read(), padded(a, lv.shape))
        z = open_store(server.url + 'img.zarr')          # format from the metadata
        assert z.format == 'zarr' and np.array_equal(z.levels[2].read(),
                                                     padded(levels[2], z.levels[2].shape))
        with pytest.raises(InputError, match='is not a neuroglancer precomputed, Zarr or N5'):
            open_store(server.url + 'nothing')


# ---------------------------------------------------------------------------------------
# connectome combine's engine reading a store

def test_combine_a_region_of_a_store(tmp_path, labels):
    levels = stores.pyramid(labels, FACTORS_ZYX)
    path = stores.precomputed_tensorstore(tmp_path / 'seg', levels, FACTORS, sharded=True,
                                          encoding='compressed_segmentation', offset=(2, 0, 0))
    s = open_store(path)
    out = str(tmp_path / 'part.cmap')
    result = combine.combine(s, out, region=(3, 5, 1, 40, 30, 16), voxel_size=s.voxel_size,
                             threads=2, chunk_side=16)
    assert result.size == (38, 26, 16) and result.maximum == int(labels[1:17, 5:31, 3:41].max())
    with h5py.File(out, 'r') as f:
        assert np.array_equal(f['Chimera/image1/data_zyx'][()], labels[1:17, 5:31, 3:41])
        # The engine's default origin, (offset + region start) x voxel size; the command
        # gives the store's own (tests/chimerax/test_stores.py).
        assert tuple(f['Chimera/image1'].attrs['origin']) == ((2 + 3) * 8, 5 * 8, 1 * 40)
    assert s.chunks_read > 0 and s.bytes_read >= labels[1:17, 5:31, 3:41].nbytes


def test_a_store_is_a_volume_source_its_workers_can_reopen(tmp_path, labels):
    """A store's worker_spec (a cluster's workers open the store with it) is a small
    picklable, hashable record that opens the same store."""
    import pickle
    s = open_store(stores.precomputed_tensorstore(tmp_path / 'seg', [labels], []))
    assert isinstance(s, VolumeSource)
    nx, ny, nz = (-(-n // c) for n, c in zip(reversed(s.shape), reversed(s.chunk_shape)))
    assert len(s.tiles) == nx * ny * nz > 1
    assert (nx - 1, ny - 1, nz - 1) in s.tiles and (nx, 0, 0) not in s.tiles
    assert sorted(s.tiles) == sorted(s.positions_in((0, 0, 0), s.shape))
    spec = pickle.loads(pickle.dumps(s.worker_spec()))
    assert spec == s.worker_spec() and hash(spec) == hash(s.worker_spec())
    with spec.open() as again:
        assert again.shape == s.shape and again.voxel_size == s.voxel_size
        assert np.array_equal(again.read(), labels)


# ---------------------------------------------------------------------------------------
# Specs from the metadata alone (no tensorstore)

def test_precomputed_spec_from_the_info_file(tmp_path):
    scale = dict(encoding='raw', chunk_sizes=[[16, 16, 8]], size=[42, 34, 18])
    info = {'type': 'segmentation', 'data_type': 'uint64', 'num_channels': 1, 'scales': [
        dict(scale, key='a', resolution=[8, 8, 40], voxel_offset=[5, 6, 3]),
        dict(scale, key='b', resolution=[12, 12, 40]),
        dict(scale, key='c', resolution=[8, 8, 40]),
        dict(scale, key='d', resolution=[16, 16, 80])]}
    loc = Location('gs://bucket/seg')
    spec = precomputed_spec(loc, {'info': info}.get)
    assert spec.levels == (LevelSpec('a', '', (1, 1, 1), 0), LevelSpec('d', '', (2, 2, 2), 3))
    assert spec.skipped == (('b', "voxel size 12,12,40 is not a whole multiple of the full"
                                  " resolution's 8,8,40"), ('c', 'a second full-resolution scale'))
    assert (spec.voxel_size, spec.origin, spec.offset) == ((8, 8, 40), (44, 52, 140), (3, 6, 5))
    assert spec.segmentation and spec.units_known and spec.stored_dtype == np.uint64
    with pytest.raises(InputError, match='gs://bucket/seg has 1 channel; channel 1 does not'):
        precomputed_spec(loc, {'info': info}.get, 1)
    with pytest.raises(InputError, match='gs://bucket/seg: its info file lists no scales'):
        precomputed_spec(loc, {'info': {'scales': []}}.get)


def test_ome_zarr_and_n5_specs_from_their_attributes():
    loc = Location('s3://bucket/img.zarr')
    axes = [{'name': 'c', 'type': 'channel'}] + [{'name': a, 'type': 'space',
                                                  'unit': 'micrometer'} for a in 'zyx']
    datasets = [{'path': str(k), 'coordinateTransformations': [
        {'type': 'scale', 'scale': [1, 0.04 * f, 0.008 * f, 0.008 * f]}]} for k, f in
        enumerate((1, 2))]
    attrs = {'multiscales': [{'axes': axes, 'datasets': datasets,
                              'coordinateTransformations': [
                                  {'type': 'translation', 'translation': [0, 1, 2, 3]}]}],
             'image-label': {}}
    spec = zarr_spec(loc, {'.zattrs': attrs}.get, 1)
    assert spec.driver == 'zarr' and spec.axes == ('c', 'z', 'y', 'x') and spec.channel == 1
    assert [(lv.key, lv.path, lv.factors) for lv in spec.levels] == [('0', '0', (1, 1, 1)),
                                                                     ('1', '1', (2, 2, 2))]
    assert np.allclose(spec.voxel_size, (8, 8, 40)) and np.allclose(spec.origin,
                                                                    (3000, 2000, 1000))
    assert spec.units_known and spec.segmentation and spec.stored_dtype is None
    with pytest.raises(InputError, match='is a Zarr group without OME-Zarr multiscales'):
        zarr_spec(loc, {'.zattrs': {}}.get)

    loc = Location('gs://bucket/img.n5')
    files = {'attributes.json': {'axes': ['x', 'y', 'z'], 'resolution': [4, 4, 30],
                                 'units': ['nm', 'nm', 'nm']},
             's0/attributes.json': {'dimensions': [64, 48, 20]},
             's1/attributes.json': {'dimensions': [32, 24, 20],
                                    'downsamplingFactors': [2, 2, 1]}}
    spec = n5_spec(loc, files.get)
    assert spec.reverse and spec.axes == ('x', 'y', 'z') and spec.units_known
    assert spec.levels == (LevelSpec('s0', 's0', (1, 1, 1)), LevelSpec('s1', 's1', (1, 2, 2)))
    assert spec.voxel_size == (4, 4, 30) and spec.origin == (0, 0, 0)
    with pytest.raises(InputError, match='is an N5 group with no datasets s0, s1'):
        n5_spec(loc, {'attributes.json': {}}.get)


# ---------------------------------------------------------------------------------------
# The attribute file of a store

def test_attribute_file_clears_what_a_killed_run_left(tmp_path, labels):
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [])
    s = open_store(path)
    side = sidecar.default_path(s)
    leftovers.killed_run(side)
    assert len(os.listdir(tmp_path)) == 3                       # seg, the part, the lock
    sidecar.create(side, s)
    assert sorted(os.listdir(tmp_path)) == ['seg', 'seg.attributes.h5']


def test_attribute_file_made_checked_and_written(tmp_path, labels):
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [])
    s = open_store(path)
    side = sidecar.default_path(s)
    assert side == path + '.attributes.h5'
    before = sorted(os.listdir(path))
    f = AttributeFile(side, s)
    assert not f.exists and f.find_attribute('axon') is None
    f.create()
    assert f.exists
    assert f.find_attribute('axon') is None
    assert f.find_attribute('maximum_segment_id') is None
    seg = f.survey()
    assert seg.shape == SHAPE and seg.value_type == np.uint32 and seg.stored_maximum is None
    assert seg.source == (s.url, s.format) and seg.source.format == 'precomputed'
    assert seg.maximum_id() == int(labels.max())                # from the store
    axon = np.zeros(int(labels.max()) + 1, np.int32)
    axon[labels[0, 0, 0]] = 7
    f.write({'axon': axon}, int(labels.max()))
    f.write({'neuron': axon * 2})
    f.write({'axon': axon * 3})      # replaced, atomically
    assert np.array_equal(f.find_attribute('axon'), axon * 3)
    assert f.find_attribute('maximum_segment_id') == int(labels.max())
    assert f.survey().attributes == {'axon': axon.size, 'neuron': axon.size}
    assert [n for n, _, _ in f.listing()] == ['axon', 'neuron']
    assert sorted(os.listdir(path)) == before                   # the store is untouched
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.part')]
    # A file made for another store is refused.
    other = open_store(stores.precomputed_tensorstore(tmp_path / 'other', [labels[:5]], []))
    with pytest.raises(InputError, match='holds attributes of a store of 42 x 34 x 18 voxels'):
        AttributeFile(side, other).create()
    with pytest.raises(InputError, match='holds attributes of a store of 42 x 34 x 18 voxels'):
        AttributeFile(side, other).check()
    with pytest.raises(InputError, match='is remote; name a local file for its attributes'):
        sidecar.default_path(Store(StoreSpec(Location('gs://b/x'), 'zarr')))
    remote = sidecar.default_path(Store(StoreSpec(Location('gs://b/x'), 'zarr')),
                                  str(tmp_path / 'cache'))
    assert remote.startswith(str(tmp_path / 'cache')) and remote.endswith('.attributes.h5')
    shutil.rmtree(path)


def test_a_tiles_folder_with_a_readme_named_info_is_no_store(tmp_path, labels):
    """Detection reads what an info file declares, not only its name (issue 26, 20)."""
    tilesets.write_tiles(tmp_path / 'tiles', labels, (9, 17, 21))
    (tmp_path / 'tiles' / 'info').write_text('Tiles of the Motta et al. dataset.\n')
    assert not looks_like_store(tmp_path / 'tiles')
    (tmp_path / 'tiles' / 'info').write_text('["a list"]')
    assert not looks_like_store(tmp_path / 'tiles')
    (tmp_path / 'tiles' / 'info').write_text('{"scales": [')         # damaged: said so
    assert looks_like_store(tmp_path / 'tiles')
    pc = stores.precomputed_tensorstore(tmp_path / 'pc', [labels], [])
    assert looks_like_store(pc)


# ---------------------------------------------------------------------------------------
# Unreachable and silent addresses (issue 26, 11): only loopback addresses are used

def test_a_refused_address_fails_in_seconds_not_minutes(tmp_path):
    """tensorstore retries a refused connection 32 times over about 15 minutes unless
    told otherwise; the store is refused by its address after a few tries, well within
    the timeout."""
    port = stores.refused_port()
    for text in ('zarr://http://127.0.0.1:%d/a.zarr', 'n5://http://127.0.0.1:%d/a.n5',
                 'precomputed://http://127.0.0.1:%d/seg', 'http://127.0.0.1:%d/b.zarr'):
        t0 = time.monotonic()
        with pytest.raises(InputError, match=re.escape(text % port)):
            open_store(text % port, timeout=300)
        assert time.monotonic() - t0 < 300
    for name in ('http_request_retries', 'gcs_request_retries', 's3_request_retries'):
        retry = opening._context(1)[name]
        assert retry['max_retries'] <= 5 and retry['max_delay'] == '2s'
        assert opening.RETRIES[name] == retry


def test_no_network_open_or_read_outlasts_its_timeout(tmp_path, labels, monkeypatch):
    stores.ome_zarr(tmp_path / 'img.zarr', [labels], [])
    with stores.HangingServer(tmp_path) as server:
        t0 = time.monotonic()
        with pytest.raises(InputError, match=re.escape(
                'zarr://%simg.zarr: no answer within 1 s while reading' % server.url)):
            open_store('zarr://%simg.zarr' % server.url, timeout=1)
        # The timeout bounds the whole open (several files), not each request.
        assert time.monotonic() - t0 < 1 + 30
        monkeypatch.setenv(opening.TIMEOUT_VARIABLE, '0.5')
        with pytest.raises(InputError, match='no answer within 0.5 s'):
            open_store('n5://%simg.n5' % server.url)
        monkeypatch.setenv(opening.TIMEOUT_VARIABLE, 'soon')
        with pytest.raises(InputError, match='CONNECTOME_STORE_TIMEOUT must be a positive'
                                             ' number of seconds, not soon'):
            open_store('n5://%simg.n5' % server.url)
    monkeypatch.delenv(opening.TIMEOUT_VARIABLE)
    # Metadata answered, chunks never: each read is bounded too.
    with stores.HangingServer(tmp_path, lambda p: not p.rsplit('/', 1)[-1].startswith(
            ('.', 'zarr.json'))) as server:
        s = open_store('zarr://%simg.zarr' % server.url, timeout=1)
        with pytest.raises(InputError, match=r'no answer within 1 s while reading 0 voxels'):
            s.read()


def test_ctrl_c_stops_a_wait_for_a_silent_address(tmp_path):
    # Ctrl-C as in a terminal: a test run started as a background job passes its
    # children an ignored SIGINT, which would never interrupt the wait.
    code = '\n'.join([
        'import signal', 'signal.signal(signal.SIGINT, signal.default_int_handler)',
        'import sys', 'sys.path.insert(0, %r)' % os.path.join(package.REPO, 'tests', 'common'),
        'import package', 'package.import_from_source()',
        'from chimerax.connectome.formats.stores import open_store',
        'import tensorstore', 'print("waiting", flush=True)',
        'try:', '    open_store(%r, timeout=600)', 'except KeyboardInterrupt:',
        '    print("interrupted", flush=True)'])
    with stores.HangingServer(tmp_path) as server:
        child = subprocess.Popen([sys.executable, '-c', code % ('zarr://%sa.zarr' % server.url)],
                                 stdout=subprocess.PIPE)
        try:
            assert child.stdout.readline() == b'waiting\n'
            time.sleep(1)
            child.send_signal(signal.SIGINT)
            assert child.communicate(timeout=60)[0] == b'interrupted\n'
        finally:
            if child.poll() is None:
                child.kill()


def test_read_or_zeros_leaves_out_only_the_damaged_chunk(tmp_path, labels):
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [], chunk=(16, 16, 8))
    with open(os.path.join(path, '8_8_40', '16-32_0-16_8-16'), 'r+b') as f:
        f.truncate(100)
    level = open_store(path).levels[0]
    expect = labels.copy()
    expect[8:16, 0:16, 16:32] = 0
    for start, step in (((0, 0, 0), (1, 1, 1)), ((1, 2, 3), (2, 3, 5)), ((9, 1, 17), (1, 1, 1))):
        reports = []
        got = level.read_or_zeros(start, SHAPE, step, reports.append)
        assert np.array_equal(got, expect[tuple(slice(s, None, t) for s, t in zip(start, step))])
        assert len(reports) == 1 and 'seg: reading 8_8_40 voxels z,y,x' in reports[0] \
            and 'Expected chunk length' in reports[0], reports
    with pytest.raises(InputError, match='Expected chunk length'):
        level.read()


def test_combine_refuses_a_store_too_large_to_write_before_any_work(tmp_path):
    """Issue 26, 10: a precomputed info of 2^40 voxels a side (no chunks written) was
    combined by listing every chunk position first, until the kernel killed it; the
    size is refused by what a map can hold, before any output or memory is taken."""
    path = tmp_path / 'huge'
    path.mkdir()
    info = {'@type': 'neuroglancer_multiscale_volume', 'type': 'segmentation',
            'data_type': 'uint32', 'num_channels': 1, 'scales': [
                {'key': 's0', 'encoding': 'raw', 'resolution': [8, 8, 8],
                 'size': [2 ** 40] * 3, 'chunk_sizes': [[64, 64, 64]]}]}
    (path / 'info').write_text(json.dumps(info))
    s = open_store(str(path))
    assert s.shape == (2 ** 40,) * 3 and s.count_in((0, 0, 0), s.shape) == 2 ** 102
    out = tmp_path / 'o.cmap'
    with pytest.raises(InputError, match=r'1099511627776 x 1099511627776 x 1099511627776'
                                         r' voxels is too large for a Chimera map: a side'
                                         r' holds at most 2147483647 voxels'):
        combine.combine(s, str(out), voxel_size=s.voxel_size)
    with pytest.raises(InputError, match=r'at most 2\^63 bytes'):
        combine.check_size((2 ** 30, 2 ** 30, 2 ** 30), np.dtype(np.uint64))
    assert sorted(os.listdir(tmp_path)) == ['huge']


def test_combine_counts_and_visits_chunks_lazily():
    """The chunks under a region are counted, not listed, and the traversal visits
    the top level's chunks in Morton order without listing them."""
    from chimerax.connectome.pipeline import traversal
    s = Store.__new__(Store)
    s.levels = [type('L', (), {'shape': (2 ** 20,) * 3, 'chunk_shape': (64, 64, 64)})()]
    assert s.count_in((0, 0, 0), (2 ** 20,) * 3) == 2 ** 42
    assert s.count_in((1, 63, 64), (65, 64, 129)) == 2 * 1 * 2
    order = traversal.morton_order((3, 5, 2))
    assert next(order) == (0, 0, 0)
    listed = [(z, y, x) for z in range(3) for y in range(5) for x in range(2)]

    def morton_key(index):          # the interleaved bits, z most significant
        return sum(((i >> bit) & 1) << (3 * bit + 2 - a)
                   for bit in range(32) for a, i in enumerate(index))
    assert [(0, 0, 0)] + list(order) == sorted(listed, key=morton_key)
    big = traversal.morton_order((2 ** 30,) * 3)
    assert [next(big) for _ in range(3)] == [(0, 0, 0), (0, 0, 1), (0, 1, 0)]
