"""The .cmap writer: chunks written directly and read back by h5py (with hdf5plugin's
Blosc filter), edge chunks padded, chunk sizes; ChimeraX's reader library (PyTables) is
checked in tests/chimerax/test_cmap_pytables.py."""

import h5py
import hdf5plugin  # noqa: F401  reads the Blosc chunks back
import numpy as np
import pytest

from chimerax.connectome.formats import cmap as cmapfile
from chimerax.connectome.errors import InputError

from cmaps import write_all


@pytest.mark.parametrize('method', cmapfile.COMPRESS_METHODS)
@pytest.mark.parametrize('dtype', [np.uint8, np.uint32, np.float32])
def test_h5py_reads_every_method(tmp_path, method, dtype):
    a = (np.random.default_rng(0).integers(0, 200, (21, 30, 45)) // 7).astype(dtype)
    path = tmp_path / 'a.cmap'
    levels = write_all(path, a, [(2, 2, 1)], chunk_side=16, compress_method=method,
                       compress_level=3, compress_shuffle=method != 'blosc:zstd')
    with h5py.File(path, 'r') as f:
        g = f['/Chimera/image1']
        assert np.array_equal(g['data_zyx'][()], levels[0])
        assert np.array_equal(g['data_zyx_2_2_1'][()], levels[1])
        assert tuple(g['data_zyx_2_2_1'].attrs['subsample_spacing']) == (2, 2, 1)


def test_edge_chunks_are_padded_to_full_chunks(tmp_path):
    codec = cmapfile.ChunkCodec((8, 8, 8), np.uint16, method='blosc:lz4')
    import blosc
    raw = blosc.decompress(codec.encode(np.ones((3, 8, 5), np.uint16)))
    full = np.frombuffer(raw, np.uint16).reshape(8, 8, 8)
    assert full[:3, :, :5].all() and full.sum() == 3 * 8 * 5


def test_unknown_compress_method():
    with pytest.raises(InputError, match='compressMethod lzo'):
        cmapfile.ChunkCodec((8, 8, 8), np.uint8, method='lzo')


def test_default_chunks_are_about_a_megabyte():
    assert cmapfile.default_chunk_side(1) == 128
    assert cmapfile.default_chunk_side(4) == 64
    assert 2**19 <= cmapfile.default_chunk_side(8) ** 3 * 8 <= cmapfile.CHUNK_BYTES
