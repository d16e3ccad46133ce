"""Copies of stores whose uint64 region ids lie above 2^32 (issue 24): ``connectome
combine`` to a .cmap keeps the compact values the store is read as and the id map in the
.cmap (``/idmap``), and an export to precomputed or OME-Zarr writes the original uint64
ids back.  The stores are written by the field's writers (CloudVolume with its gzip chunk
files, tensorstore, zarr-python's OME-Zarr, zarr 2's N5Store); every level of each copy,
mapped back, is the copy of the same store with small ids, ids changed."""

import json

import h5py
import hdf5plugin  # noqa: F401  reads the .cmap's Blosc chunks back
import numpy as np
import pytest
import zarr
from cloudvolume import CloudVolume

import stores
import tilesets
from chimerax.connectome.errors import InputError
from chimerax.connectome.formats import sidecar
from chimerax.connectome.formats.stores import open_store
from chimerax.connectome.pipeline import combine, export

SHAPE = (18, 34, 42)                        # z,y,x: not multiples of chunks or factors
FACTORS = [(2, 2, 1), (4, 4, 2)]            # x,y,z, the stores' own scales
FACTORS_ZYX = [tuple(reversed(f)) for f in FACTORS]
STEPS = [(2, 2, 1), (4, 4, 2)]              # the copies' levels


def above_2_32(a):
    """Region ids moved above 2^32, their order reversed (a mode's tie must not depend
    on which value is larger): 0 stays 0."""
    a = np.asarray(a).astype(np.uint64)
    return np.where(a > 0, np.uint64(2 ** 50) + (np.uint64(5000) - a) * np.uint64(7919),
                    np.uint64(0)).astype(np.uint64)


WRITERS = {
    'cloudvolume-gzip': lambda path, levels: stores.precomputed_cloudvolume(
        path, levels, FACTORS, compress=None),
    'tensorstore-precomputed': lambda path, levels: stores.precomputed_tensorstore(
        path, levels, FACTORS),
    'ome-zarr': lambda path, levels: stores.ome_zarr(path, levels, FACTORS, label=True),
    'n5-zarr2': lambda path, levels: stores.n5(path, levels, FACTORS),
}


@pytest.fixture(scope='module')
def labels():
    return tilesets.labels(SHAPE, seed=11, max_id=3000)


def cmap_levels(path):
    """{step x,y,z: z,y,x array} of a .cmap, its origin and its /idmap (or None)."""
    with h5py.File(path, 'r') as f:
        g = f['/Chimera/image1']
        out = {tuple(int(s) for s in d.attrs.get('subsample_spacing', (1, 1, 1))): d[...]
               for d in g.values()}
        ids = f['idmap']['id'] if 'idmap' in f else None
        return out, tuple(float(v) for v in g.attrs['origin']), ids


def copy(store_path, output, fmt='cmap'):
    with open_store(store_path) as s:
        kw = dict(voxel_size=s.voxel_size, origin=s.origin, subsamples=STEPS, chunk_side=16,
                  threads=3)
        if fmt == 'cmap':
            return combine.combine(s, str(output), **kw), s.id_map
        return export.export(s, str(output), fmt, **kw), s.id_map


@pytest.mark.parametrize('writer', sorted(WRITERS))
def test_combine_and_export_keep_ids_above_2_32(labels, tmp_path, writer):
    write = WRITERS[writer]
    small_levels = stores.pyramid(labels, FACTORS_ZYX)
    small = write(tmp_path / ('small' + ('.zarr' if 'zarr' in writer else '')), small_levels)
    big = write(tmp_path / ('big' + ('.zarr' if 'zarr' in writer else '')),
                [above_2_32(a) for a in small_levels])
    with open_store(big) as s:
        assert s.id_map is not None and s.stored_dtype == np.uint64

    # .cmap: compact values, the map inside; mapped back, the small copy's ids moved.
    copy(small, tmp_path / 'small.cmap')
    result, id_map = copy(big, tmp_path / 'big.cmap')
    want, origin, none = cmap_levels(tmp_path / 'small.cmap')
    got, big_origin, ids = cmap_levels(tmp_path / 'big.cmap')
    assert none is None and ids is not None and ids[0] == 0 and origin == big_origin
    assert np.array_equal(ids, id_map.ids) and len(np.unique(ids)) == len(ids)
    assert sorted(got) == sorted(want) == [(1, 1, 1)] + STEPS
    for step, a in want.items():
        assert got[step].dtype == np.uint32 and got[step].max() < len(ids)
        assert np.array_equal(ids[got[step]], above_2_32(a)), (writer, step)
    assert result.maximum == int(got[(1, 1, 1)].max())
    # The map is the one the file keeps for the attributes (connectome ids, the readout).
    assert np.array_equal(sidecar.saved_ids(str(tmp_path / 'big.cmap')), ids)

    # Precomputed and OME-Zarr: the original uint64 ids, every level, read back by
    # CloudVolume and zarr-python.
    result, _ = copy(big, tmp_path / 'big-pc', 'precomputed')
    assert result.dtype == 'uint64'
    info = json.loads((tmp_path / 'big-pc' / 'info').read_text())
    assert info['data_type'] == 'uint64' and info['type'] == 'segmentation'
    for mip, step in enumerate([(1, 1, 1)] + STEPS):
        cv = CloudVolume('file://%s' % (tmp_path / 'big-pc'), mip=mip, fill_missing=True)
        a = np.asarray(cv[:, :, :])[..., 0].T
        assert a.dtype == np.uint64 and np.array_equal(a, above_2_32(want[step])), step
    result, _ = copy(big, tmp_path / 'big-z', 'zarr')
    group = zarr.open_group(str(tmp_path / 'big-z'), mode='r')
    for k, step in enumerate([(1, 1, 1)] + STEPS):
        a = group[group.attrs['multiscales'][0]['datasets'][k]['path']][...]
        assert a.dtype == np.uint64 and np.array_equal(a, above_2_32(want[step])), step
    # And the exported stores open here as the big store does: through an id map.
    for out in ('big-pc', 'big-z'):
        with open_store(str(tmp_path / out)) as s:
            assert s.id_map is not None
            assert np.array_equal(s.original_ids(s.levels[0].read()), above_2_32(labels))


def test_the_copy_is_refused_where_it_cannot_keep_the_map(labels, tmp_path):
    """Reading compact values is refused to a copy that does not keep the map (any
    reader of the store as a volume but combine and export), and on a Dask cluster, whose
    workers would each number the ids their own way."""
    big = stores.ome_zarr(tmp_path / 'big.zarr', [above_2_32(labels)], [], label=True)
    with open_store(big) as s:
        with pytest.raises(InputError, match='holds region ids above 2\\^32 .* not made'):
            s.read((0, 0, 0), (2, 2, 2))
        with pytest.raises(InputError, match='Dask cluster.s workers would each number'):
            s.worker_spec()
        assert s.copy_values() is s.id_map
        assert np.array_equal(s.original_ids(s.read((0, 0, 0), (2, 4, 4))),
                              above_2_32(labels[:2, :4, :4]))
    with open_store(stores.ome_zarr(tmp_path / 'small.zarr', [labels], [], label=True)) as s:
        assert s.copy_values() is None and s.worker_spec() is not None


@pytest.mark.parametrize('ids', ['small', 'above 2^32'])
@pytest.mark.parametrize('sharded', ['false', 'true'])
def test_precomputed_gzip_chunk_files(labels, tmp_path, ids, sharded):
    """compress_method gzip: each unsharded scale's chunks are gzipped chunk files
    (KEY/x0-x1_y0-y1_z0-z1.gz at the store's voxel coordinates, as CloudVolume writes
    them), read back by CloudVolume and by this bundle voxel for voxel; sharded scales
    stay as they are; about a quarter of the plain store's size."""
    levels = stores.pyramid(labels if ids == 'small' else above_2_32(labels), FACTORS_ZYX)
    store = stores.precomputed_tensorstore(tmp_path / 'in', levels, FACTORS,
                                           offset=(3, 5, 2))
    with open_store(store) as s:
        kw = dict(voxel_size=s.voxel_size, origin=s.origin, subsamples=STEPS, chunk_side=16,
                  threads=2, sharded=sharded)
        export.export(s, str(tmp_path / 'plain'), 'precomputed', **kw)
        result = export.export(s, str(tmp_path / 'gz'), 'precomputed',
                               compress_method='gzip', **kw)
    files = sorted(str(p.relative_to(tmp_path / 'gz')) for p in (tmp_path / 'gz').rglob('*')
                   if p.is_file() and p.name not in ('info',))
    if sharded == 'false':
        assert files and all(f.endswith('.gz') for f in files), files
        info = json.loads((tmp_path / 'gz' / 'info').read_text())
        key = info['scales'][0]['key']
        # The first chunk at the store's voxel_offset (3, 5, 2), chunks of 16.
        assert '%s/3-19_5-21_2-18.gz' % key in files
        assert 'gzip chunk files' in result.encoding
        assert result.store_bytes < export.folder_bytes(str(tmp_path / 'plain')) / 2
    else:
        assert not any(f.endswith('.gz') for f in files)
    for mip in range(3):
        a = np.asarray(CloudVolume('file://%s' % (tmp_path / 'gz'), mip=mip,
                                   fill_missing=True)[:, :, :])
        b = np.asarray(CloudVolume('file://%s' % (tmp_path / 'plain'), mip=mip,
                                   fill_missing=True)[:, :, :])
        assert a.dtype == b.dtype and a.any() and np.array_equal(a, b), mip
    with open_store(str(tmp_path / 'gz')) as g, open_store(str(tmp_path / 'plain')) as p:
        for lg, lp in zip(g.levels, p.levels):
            assert np.array_equal(g.original_ids(lg.read()), p.original_ids(lp.read()))
    with pytest.raises(InputError, match='compressMethod gzip is for format precomputed'):
        with open_store(store) as s:
            export.export(s, str(tmp_path / 'z'), 'zarr', compress_method='gzip')
