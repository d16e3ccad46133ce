"""The .cmap writer and ChimeraX's reader library: PyTables reads every compression
method back, and the layout and filter pipeline are those PyTables itself writes (as
ChimeraX's own `save x.cmap` does)."""

import h5py
import numpy as np
import pytest
import tables

from chimerax.connectome.formats import cmap as cmapfile

from cmaps import write_all


@pytest.mark.parametrize('method', cmapfile.COMPRESS_METHODS)
@pytest.mark.parametrize('dtype', [np.uint8, np.uint32, np.float32])
def test_pytables_reads_every_method(tmp_path, method, dtype):
    a = (np.random.default_rng(0).integers(0, 200, (21, 30, 45)) // 7).astype(dtype)
    path = tmp_path / 'a.cmap'
    levels = write_all(path, a, [(2, 2, 1)], chunk_side=16, compress_method=method,
                       compress_level=3, compress_shuffle=method != 'blosc:zstd')
    with tables.open_file(str(path)) as f:
        g = f.get_node('/Chimera/image1')
        assert np.array_equal(g.data_zyx.read(), levels[0])
        assert np.array_equal(g.data_zyx_2_2_1.read(), levels[1])
        assert tuple(g.data_zyx_2_2_1._v_attrs.subsample_spacing) == (2, 2, 1)


def test_layout_matches_pytables_own_writer(tmp_path):
    a = np.arange(30 * 40 * 50, dtype=np.uint32).reshape(30, 40, 50) % 1000
    ours = tmp_path / 'ours.cmap'
    write_all(ours, a, [(2, 2, 1)], name='seg', origin=(1, 2, 3), voxel_size=(11.24, 11.24, 28),
              chunk_side=16)
    # What PyTables writes for the same array, chunks and filters (as ChimeraX's save does).
    theirs = tmp_path / 'theirs.cmap'
    with tables.open_file(str(theirs), 'w') as f:
        g = f.create_group(f.create_group(f.root, 'Chimera'), 'image1')
        f.create_carray(g, 'data_zyx', tables.Atom.from_dtype(a.dtype), a.shape,
                        chunkshape=(cmapfile.PLANE_DEPTH, 32, 32),   # full resolution: thin
                        filters=tables.Filters(complevel=5, complib='blosc:lz4hc', shuffle=True))
    with h5py.File(ours, 'r') as f, h5py.File(theirs, 'r') as t:
        for name in ('/', '/Chimera', '/Chimera/image1', '/Chimera/image1/data_zyx'):
            assert {k: t[name].attrs[k] for k in ('CLASS', 'VERSION')} == \
                {k: f[name].attrs[k] for k in ('CLASS', 'VERSION')}
        mine, pyt = (x['/Chimera/image1/data_zyx'].id.get_create_plist() for x in (f, t))
        assert [mine.get_filter(i) for i in range(mine.get_nfilters())] == \
            [pyt.get_filter(i) for i in range(pyt.get_nfilters())]
        g = f['/Chimera/image1']
        assert g.attrs['name'] == b'seg'
        assert g.attrs['step'].dtype == np.float32 and g.attrs['origin'].dtype == np.float32
        assert np.allclose(g.attrs['step'], (11.24, 11.24, 28))
        assert tuple(g.attrs['origin']) == (1, 2, 3)
        assert g['data_zyx_2_2_1'].attrs['subsample_spacing'].dtype == np.int32
        assert g['data_zyx_2_2_1'].shape == (30, 20, 25)


def test_unwritten_chunks_read_as_zero_and_maximum_segment_id(tmp_path):
    path = tmp_path / 'a.cmap'
    w = cmapfile.ChimeraMapWriter(str(path), (20, 20, 20), np.uint32, chunk_side=8,
                                  plane_blocks=1)
    lv = w.levels[0]
    assert lv.chunk_shape == (8, 8, 8)
    block = np.full((8, 8, 8), 5, np.uint32)
    w.write_chunk(0, (1, 1, 1), lv.codec.encode(block))
    w.set_maximum_segment_id(5)
    w.close()
    with tables.open_file(str(path)) as f:
        a = f.get_node('/Chimera/image1/data_zyx').read()
        assert f.get_node('/Chimera/image1')._v_attrs.maximum_segment_id == 5
    assert (a[8:16, 8:16, 8:16] == 5).all()
    a[8:16, 8:16, 8:16] = 0
    assert not a.any()
    with h5py.File(path, 'r') as f:
        assert f['/Chimera/image1/data_zyx'].id.get_num_chunks() == 1


def test_pytables_reads_combines_label_layout(tmp_path):
    # combine's label layout (blosc:lz4hc unshuffled, the full resolution in thin chunks,
    # cubes above), as ChimeraX's reader (PyTables and its Blosc filter) reads it.
    a = (np.arange(37 * 50 * 70).reshape(37, 50, 70) // 7 % 300).astype(np.uint32)
    path = tmp_path / 'labels.cmap'
    levels = write_all(path, a, [(2, 2, 1)], chunk_side=16,
                       compress_method='blosc:lz4hc', compress_shuffle=False)
    with tables.open_file(str(path)) as f:
        g = f.get_node('/Chimera/image1')
        assert g.data_zyx.chunkshape == (cmapfile.PLANE_DEPTH, 32, 32)
        assert np.array_equal(g.data_zyx.read(), levels[0])
        assert np.array_equal(g.data_zyx[20:21, :, :], levels[0][20:21])
        assert np.array_equal(g.data_zyx_2_2_1.read(), levels[1])


def test_chimerax_passes_the_chunk_index_by(tmp_path, session):
    # The writer's chunk index (formats/cmap.py CHUNK_INDEX) beside the Chimera group:
    # ChimeraX's reader, which takes every 3-d array in the file for a map, opens the
    # same one map with its two levels, PyTables warns of nothing, and an attribute is
    # still found by name.
    import warnings
    from chimerax.map_data.cmap import open as open_cmap
    from chimerax.map_data.cmap.cmap_format import Chimera_HDF_Data
    a = (np.random.default_rng(0).integers(0, 200, (21, 30, 45))).astype(np.uint32)
    path = tmp_path / 'a.cmap'
    levels = write_all(path, a, [(2, 2, 1)], chunk_side=16)
    with h5py.File(path, 'r') as f:
        index = f[cmapfile.CHUNK_INDEX + '/Chimera/image1/data_zyx']
        assert index.ndim == 2 and index.shape[0] == -(-21 // cmapfile.PLANE_DEPTH)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        grids = open_cmap(str(path))
    assert len(grids) == 1
    assert sorted(grids[0].available_subsamplings) == [(1, 1, 1), (2, 2, 1)]
    for step, lv in zip(((1, 1, 1), (2, 2, 1)), levels):
        g = grids[0].available_subsamplings[step]
        assert np.array_equal(g.matrix((0, 0, 0), g.size), lv)
    data = Chimera_HDF_Data(str(path))
    with h5py.File(path, 'r+') as f:
        f['attributes/axon'] = np.arange(5, dtype=np.int32)
    assert list(data.find_attribute('axon')) == list(range(5))
