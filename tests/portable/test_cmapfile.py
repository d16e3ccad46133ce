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


def test_full_resolution_in_thin_chunks_blocks_written_whole(tmp_path):
    # Blocks of 16^3 as combine makes them with plane_blocks 1 (the layout before, and
    # the fallback where the first step is 1 across y or x); the full resolution stored
    # 8 planes thin, a block's last piece past the level's edge (z 21) not stored.
    a = (np.random.default_rng(1).integers(0, 50, (21, 30, 45))).astype(np.uint32)
    path = tmp_path / 'a.cmap'
    w = cmapfile.ChimeraMapWriter(str(path), a.shape, a.dtype, [(2, 2, 1)], chunk_side=16,
                                  plane_blocks=1)
    full, half = w.levels
    assert (full.chunk_shape, full.stored_shape) == ((16, 16, 16), (8, 16, 16))
    assert half.chunk_shape == half.stored_shape == (16, 15, 16)
    block = np.zeros((16, 16, 16), np.uint32)
    block[:5] = a[16:21, :16, :16]
    pieces = full.codec.encode(block)
    assert isinstance(pieces, tuple) and len(pieces) == 2
    assert w.write_chunk(0, (1, 0, 0), pieces) == 1      # z 24.. lies past the edge
    assert w.write_chunk(0, (0, 0, 0), full.codec.encode(a[:16, :16, :16])) == 2
    w.close()
    with h5py.File(path, 'r') as f:
        d = f['/Chimera/image1/data_zyx']
        assert d.chunks == (8, 16, 16) and d.id.get_num_chunks() == 3
        assert np.array_equal(d[:, :16, :16], a[:, :16, :16])
    assert cmapfile.chunk_shapes(str(path)) == {(21, 30, 45): (8, 16, 16),
                                                (21, 15, 23): (16, 15, 16)}
    assert cmapfile.chunk_shapes(str(tmp_path / 'missing.cmap')) == {}


@pytest.mark.parametrize('side, depth, stored', [(64, 8, (8, 64, 64)), (16, 8, (8, 16, 16)),
                                                 (8, 8, (8, 8, 8)), (12, 8, (12, 12, 12)),
                                                 (64, None, (64, 64, 64))])
def test_stored_chunk_shape(side, depth, stored):
    assert cmapfile.stored_chunk_shape((side,) * 3, (1000,) * 3, depth) == stored
    assert cmapfile.stored_chunk_shape((side,) * 3, (5, 1000, 1000), depth)[0] == 5


BY = cmapfile.BY_CONTENT


@pytest.mark.parametrize('side, shape, step, content, depth, blocks, layout', [
    # labels by default: blocks two cubes wide across y and x, chunks 4 planes thin
    (64, (1000,) * 3, (2, 2, 1), None, BY, BY, ((64, 128, 128), (4, 128, 128))),
    (64, (1000,) * 3, (4, 4, 2), cmapfile.SEGMENTATION, BY, BY,
     ((64, 128, 128), (4, 128, 128))),
    (64, (1000,) * 3, None, None, BY, BY, ((64, 128, 128), (4, 128, 128))),
    (16, (21, 30, 45), (2, 2, 1), None, BY, BY, ((16, 30, 32), (4, 30, 32))),
    # a step of 1 or 3 across y or x would cut a wide block's piece over two chunks of
    # the level above: cubes, and the narrow chunks' depth
    (64, (1000,) * 3, (1, 1, 2), None, BY, BY, ((64, 64, 64), (8, 64, 64))),
    (64, (1000,) * 3, (2, 1, 1), None, BY, BY, ((64, 64, 64), (8, 64, 64))),
    (48, (1000,) * 3, (3, 3, 1), None, BY, BY, ((48, 48, 48), (8, 48, 48))),
    # an image: one plane thin, two blocks wide, or one where the step is 1
    (128, (1000,) * 3, (2, 2, 1), cmapfile.IMAGE, BY, BY, ((128, 256, 256), (1, 256, 256))),
    (128, (1000,) * 3, (1, 1, 2), cmapfile.IMAGE, BY, BY, ((128, 128, 128), (1, 128, 128))),
    # asked for: the layout before, cubes, other depths
    (64, (1000,) * 3, (2, 2, 1), None, BY, 1, ((64, 64, 64), (8, 64, 64))),
    (64, (1000,) * 3, (2, 2, 1), None, 8, 1, ((64, 64, 64), (8, 64, 64))),
    (64, (1000,) * 3, (2, 2, 1), None, None, BY, ((64, 64, 64), (64, 64, 64))),
    (64, (1000,) * 3, (2, 2, 1), None, 16, 2, ((64, 128, 128), (16, 128, 128))),
])
def test_full_resolution_layout(side, shape, step, content, depth, blocks, layout):
    assert cmapfile.full_resolution_layout(side, shape, step, content, depth,
                                           blocks) == layout


def test_wide_blocks_written_as_thin_chunks_read_back_equal(tmp_path):
    # The default label layout: 16 x 32 x 32 blocks (chunk_side 16), stored 4 x 32 x 32,
    # each chunk one Blosc block of 4 streams (typesize 4), one a plane; every level
    # reads back equal through h5py.
    a = (np.arange(21 * 70 * 90) // 7 % 300).astype(np.uint32).reshape(21, 70, 90)
    path = tmp_path / 'w.cmap'
    levels = write_all(path, a, [(2, 2, 1), (4, 4, 2)], chunk_side=16,
                       compress_method='blosc:lz4hc', compress_shuffle=False)
    assert cmapfile.chunk_shapes(str(path)) == {(21, 70, 90): (4, 32, 32),
                                                (21, 35, 45): (16, 16, 16),
                                                (11, 18, 23): (11, 16, 16)}
    import struct
    with h5py.File(path, 'r') as f:
        d = f['Chimera/image1/data_zyx']
        for i in range(d.id.get_num_chunks()):
            data = d.id.read_direct_chunk(d.id.get_chunk_info(i).chunk_offset)[1]
            _, _, flags, typesize, nbytes, blocksize = struct.unpack_from('<BBBBii', data)
            assert (typesize, nbytes, blocksize) == (4, 4 * 32 * 32 * 4, 4 * 32 * 32 * 4)
        for lv, name in zip(levels, ('data_zyx', 'data_zyx_2_2_1', 'data_zyx_4_4_2')):
            assert np.array_equal(f['Chimera/image1'][name][()], lv)


def test_default_label_chunk_is_one_blosc_block_of_one_stream_a_plane():
    # The full-resolution chunk combine writes for uint32 labels (4 x 128 x 128,
    # blosc:lz4hc level 5, unshuffled) is one Blosc block that Blosc splits into
    # typesize (4) LZ4 streams: one a plane, which is what lets a lone plane be read
    # by decompressing only its own stream (formats/cmapread.py).  A Blosc release
    # choosing smaller blocks would make plane reads slower, not wrong: this says so.
    import struct
    block, stored = cmapfile.full_resolution_layout(64, (1024, 1024, 2048), (2, 2, 1))
    assert stored == (4, 128, 128)
    a = (np.arange(np.prod(stored)) // 37 % 5000).astype(np.uint32).reshape(stored)
    codec = cmapfile.ChunkCodec(stored, np.uint32, method='blosc:lz4hc', shuffle=False)
    with cmapfile.blosc_threads():
        data = codec.encode(a)
    _, _, flags, typesize, nbytes, blocksize, cbytes = struct.unpack_from('<BBBBiii', data)
    assert (typesize, nbytes, blocksize, cbytes) == (4, a.nbytes, a.nbytes, len(data))
    assert not flags & 0x17                  # not shuffled, split into streams, not stored
    pos, sizes = struct.unpack_from('<i', data, 16)[0], []
    while pos < len(data):
        sizes.append(struct.unpack_from('<i', data, pos)[0])
        pos += 4 + sizes[-1]
    assert len(sizes) == 4 and pos == len(data)
