"""formats/cmapread.py: regions of a Chimera map read chunk by chunk with one open file
equal what h5py reads, at every level, edges and unwritten chunks included; each chunk a
region touches is decompressed once; anything but Blosc chunks is left to the caller."""

import collections
import os

import h5py
import hdf5plugin  # noqa: F401  reads the Blosc chunks back
import numpy as np
import pytest

from chimerax.connectome.formats import cmap as cmapfile
from chimerax.connectome.formats import cmapread

from cmaps import write_all

SHAPE = (37, 50, 70)        # z,y,x: not multiples of the chunks


def labels():
    return np.random.default_rng(5).integers(0, 1000, SHAPE).astype(np.uint32)


REGIONS = [((0, 0, 0), SHAPE), ((20, 0, 0), (1, 50, 70)), ((36, 49, 69), (1, 1, 1)),
           ((3, 7, 5), (30, 1, 60)), ((1, 2, 3), (35, 47, 1)), ((7, 15, 15), (2, 2, 2))]


@pytest.mark.parametrize('method', ['blosc:lz4hc', 'blosc:zstd', 'blosc'])
def test_regions_equal_h5py_at_every_level(tmp_path, method):
    path = tmp_path / 'm.cmap'
    levels = write_all(path, labels(), [(2, 2, 1), (4, 4, 2)], chunk_side=16,
                       compress_method=method)
    found = cmapread.map_levels(str(path))
    assert len(found) == 3
    for a in levels:
        level = found[a.shape]
        for origin, size in REGIONS:
            size = tuple(min(n, s - o) for n, s, o in zip(size, a.shape, origin))
            if min(size) <= 0:
                continue
            where = tuple(slice(o, o + n) for o, n in zip(origin, size))
            got = level.read(origin, size)
            assert got.dtype == a.dtype and np.array_equal(got, a[where])


def test_each_chunk_once_and_unwritten_chunks_read_as_fill(tmp_path, monkeypatch):
    path = tmp_path / 'm.h5'
    a = labels()
    with h5py.File(path, 'w') as f:
        d = f.create_group('Chimera').create_group('image1').create_dataset('d', shape=SHAPE, dtype=np.uint32, chunks=(8, 16, 16),
                             fillvalue=7, **hdf5plugin.Blosc(cname='lz4'))
        d[:16, :32, :32] = a[:16, :32, :32]
    expected = np.full(SHAPE, 7, np.uint32)
    expected[:16, :32, :32] = a[:16, :32, :32]
    log = []
    monkeypatch.setattr(cmapread.LevelReader, 'log', log)
    level = cmapread.map_levels(str(path))[SHAPE]
    assert np.array_equal(level.read((0, 0, 0), SHAPE), expected)
    counts = collections.Counter(log)
    assert set(counts.values()) == {1} and len(counts) == 2 * 2 * 2     # written only
    log.clear()
    assert np.array_equal(level.read((10, 0, 0), (1, 50, 70)), expected[10:11])
    assert sorted(log) == [('/Chimera/image1/d', 1, y, x) for y in range(2) for x in range(2)]
    with pytest.raises(ValueError, match='outside'):
        level.read((30, 0, 0), (8, 1, 1))


def test_other_filters_and_symlinks_left_to_the_caller(tmp_path):
    path = tmp_path / 'z.cmap'
    write_all(path, labels(), [(2, 2, 1)], chunk_side=16, compress_method='zlib')
    assert cmapread.map_levels(str(path)) == {}                     # shuffle + deflate
    path = tmp_path / 'm.cmap'
    write_all(path, labels(), [(2, 2, 1)], chunk_side=16)
    link = tmp_path / 'link.cmap'
    os.symlink(path, link)
    assert cmapread.map_levels(str(link)) == {}
    assert len(cmapread.map_levels(str(path))) == 2


def test_a_file_written_again_is_refused(tmp_path):
    path = tmp_path / 'm.cmap'
    write_all(path, labels(), [], chunk_side=16)
    level = cmapread.map_levels(str(path))[SHAPE]
    write_all(path, labels()[:, :, :64], [], chunk_side=16)
    with pytest.raises(cmapread.LayoutChanged):
        level.read((0, 0, 0), (1, 1, 1))


def test_image_one_plane_chunks_equal_h5py_at_every_level(tmp_path):
    # An image (content IMAGE, EM-like noise Blosc stores as is): the full resolution
    # in chunks one plane thin, cubes above; every region of every level read back equal.
    a = np.random.default_rng(2).integers(0, 256, SHAPE).astype(np.uint8)
    path = tmp_path / 'em.cmap'
    levels = write_all(path, a, [(2, 2, 1), (4, 4, 2)], chunk_side=16,
                       content=cmapfile.IMAGE)
    found = cmapread.map_levels(str(path))
    assert {s: r.chunks for s, r in found.items()} == {
        SHAPE: (cmapfile.IMAGE_PLANE_DEPTH, 32, 32), (37, 25, 35): (16, 16, 16),
        (19, 13, 18): (16, 13, 16)}
    assert cmapfile.IMAGE_PLANE_DEPTH == 1
    for lv in levels:
        for origin, size in REGIONS:
            size = tuple(min(n, s - o) for n, s, o in zip(size, lv.shape, origin))
            if min(size) <= 0:
                continue
            where = tuple(slice(o, o + n) for o, n in zip(origin, size))
            assert np.array_equal(found[lv.shape].read(origin, size), lv[where])
    with h5py.File(path, 'r') as f:
        assert np.array_equal(f['Chimera/image1/data_zyx'][()], a)


def test_chunk_shapes_written_match_what_is_read(tmp_path):
    # The default layout, as the reader sees it: thin full resolution, cubes above.
    path = tmp_path / 'm.cmap'
    write_all(path, labels(), [(2, 2, 1)], chunk_side=16)
    chunks = {shape: r.chunks for shape, r in cmapread.map_levels(str(path)).items()}
    assert chunks == {SHAPE: (cmapfile.PLANE_DEPTH, 32, 32), (37, 25, 35): (16, 16, 16)}


def test_thin_chunks_stored_in_plane_order(tmp_path, monkeypatch):
    # Written in batches sorted by position, so a plane's chunks lie together in the
    # file, whatever order combine finishes its blocks in (here: the last first).
    monkeypatch.setattr(cmapfile, 'WRITE_BUFFER_BYTES', 2 ** 40)
    a = labels()
    w = cmapfile.ChimeraMapWriter(str(tmp_path / 'm.cmap'), SHAPE, a.dtype, [],
                                  chunk_side=16)
    lv = w.levels[0]
    blocks = list(np.ndindex(*lv.chunk_grid))
    with cmapfile.blosc_threads():
        for index in reversed(blocks):
            s, e = lv.chunk_extent(index)
            w.write_chunk(0, index, lv.codec.encode(a[tuple(map(slice, s, e))]))
    w.close()
    with h5py.File(tmp_path / 'm.cmap', 'r') as f:
        d = f['Chimera/image1/data_zyx']
        where = [(d.id.get_chunk_info(i).byte_offset, d.id.get_chunk_info(i).chunk_offset)
                 for i in range(d.id.get_num_chunks())]
        assert np.array_equal(d[()], a)
    assert [o for _, o in sorted(where)] == sorted(o for _, o in where)


@pytest.mark.parametrize('cname,shuffle,partial', [
    ('lz4hc', 0, True), ('lz4', 0, True), ('lz4', 1, False), ('zstd', 0, False),
    ('blosclz', 0, False)])
def test_lz4_planes_equal_the_whole_chunk(cname, shuffle, partial):
    import blosc
    a = np.random.default_rng(1).integers(0, 50, (8, 64, 64)).astype(np.uint32)
    data = blosc.compress(a.tobytes(), typesize=4, clevel=5, shuffle=shuffle, cname=cname)
    plane = 64 * 64 * 4
    for z0, z1 in [(0, 1), (3, 4), (1, 3), (7, 8), (2, 7)]:
        got = cmapread.lz4_planes(data, z0 * plane, z1 * plane)
        assert (got is not None) == partial
        if got is not None:
            assert got == a[z0:z1].tobytes()
    stored = blosc.compress(np.random.default_rng(1).bytes(plane * 8), typesize=1,
                            clevel=5, cname='lz4')
    assert cmapread.lz4_planes(stored, plane, 2 * plane) == stored[16 + plane:16 + 2 * plane]
    assert cmapread.lz4_planes(data[:-1], 0, plane) is None          # cut short


def test_lone_label_plane_decodes_only_the_stream_holding_it(tmp_path, monkeypatch):
    # combine's label layout (blosc:lz4hc, unshuffled, thin chunks of 4 planes): Blosc
    # splits a uint32 chunk into 4 LZ4 streams of one plane, so a lone plane decompresses
    # only its own plane of each chunk it touches.  h5py (hdf5plugin's Blosc filter)
    # reads every level back equal.
    a = (np.arange(np.prod(SHAPE)).reshape(SHAPE) // 7 % 300).astype(np.uint32)
    path = tmp_path / 'm.cmap'
    levels = write_all(path, a, [(2, 2, 1)], chunk_side=16,
                       compress_method='blosc:lz4hc', compress_shuffle=False)
    assert cmapfile.PLANE_DEPTH == 4
    with h5py.File(path, 'r') as f:
        g = f['Chimera/image1']
        for name, lv in (('data_zyx', levels[0]), ('data_zyx_2_2_1', levels[1])):
            d = g[name]
            headers = {d.id.read_direct_chunk(d.id.get_chunk_info(i).chunk_offset)[1][3]
                       for i in range(d.id.get_num_chunks())}
            assert headers == {4}                   # Blosc's typesize: the value's size
            assert np.array_equal(d[()], lv)
    decoded = []
    plain = cmapread.nlz4.decompress

    def counting(data):
        out = plain(data)
        decoded.append(len(out))
        return out

    monkeypatch.setattr(cmapread.nlz4, 'decompress', counting)
    level = cmapread.map_levels(str(path))[SHAPE]
    for z in range(SHAPE[0]):
        assert np.array_equal(level.read((z, 0, 0), (1,) + SHAPE[1:]), a[z:z + 1])
    assert decoded and set(decoded) == {32 * 32 * 4}     # one plane of a chunk each


def test_lz4_planes_follow_the_headers_typesize():
    # 8 streams of one plane each (Blosc typesize 8 on uint32) and 16 of half a plane:
    # the streams are found from the chunk's Blosc header, not from the value type.
    import blosc
    a = (np.arange(8 * 64 * 64) // 5 % 1000).astype(np.uint32).reshape(8, 64, 64)
    plane = 64 * 64 * 4
    for typesize in (8, 16):
        data = blosc.compress(a.tobytes(), typesize=typesize, clevel=5, shuffle=0,
                              cname='lz4hc')
        assert data[3] == typesize
        for z0, z1 in [(0, 1), (3, 4), (1, 3), (7, 8), (2, 7)]:
            assert cmapread.lz4_planes(data, z0 * plane, z1 * plane) == a[z0:z1].tobytes()


# combine's full-resolution label layout from now on, small: chunks 4 planes deep,
# uint32, blosc:lz4hc unshuffled, one Blosc block a chunk (so 4 streams of one plane
# each at typesize 4, 8 of half a plane at typesize 8).
WIDE = (4, 32, 32)
WSHAPE = (11, 70, 45)       # edges in every axis


def wide_labels():
    return (np.arange(np.prod(WSHAPE)).reshape(WSHAPE) // 3 % 500).astype(np.uint32)


def write_direct(path, a, encode, skip=()):
    """A Chimera-map-like file of ``a`` in WIDE chunks declared Blosc, each chunk's
    stored bytes ``encode(index, padded chunk)``; chunks in ``skip`` never written."""
    with h5py.File(path, 'w') as f:
        d = f.create_group('Chimera').create_group('image1').create_dataset(
            'data_zyx', shape=a.shape, dtype=a.dtype, chunks=WIDE, fillvalue=9,
            **hdf5plugin.Blosc(cname='lz4hc', clevel=5, shuffle=hdf5plugin.Blosc.NOSHUFFLE))
        for index in np.ndindex(*(-(-n // c) for n, c in zip(a.shape, WIDE))):
            if index in skip:
                continue
            block = np.zeros(WIDE, a.dtype)
            part = a[tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, WIDE))]
            block[tuple(slice(0, n) for n in part.shape)] = part
            d.id.write_direct_chunk(tuple(i * c for i, c in zip(index, WIDE)),
                                    encode(index, block))
    return path


def blosc_chunk(block, typesize=4, shuffle=0, cname='lz4hc', blocksize=0):
    """Blosc's encoding of ``block`` at that typesize (numcodecs takes it from the
    array's item size)."""
    from numcodecs import blosc as nblosc
    raw = np.ascontiguousarray(block).view(np.uint8).reshape(-1)
    view = raw if typesize == 1 else raw.view('<u%d' % typesize)
    return nblosc.compress(view, cname.encode(), 5, shuffle, blocksize)


THIN = [((0, 0, 0), (1, 70, 45)), ((5, 0, 0), (1, 70, 45)), ((10, 0, 0), (1, 70, 45)),
        ((1, 0, 0), (2, 70, 45)), ((3, 0, 0), (2, 70, 45)), ((5, 3, 7), (3, 40, 30)),
        ((7, 64, 40), (1, 6, 5)), ((9, 10, 0), (2, 1, 45)), ((2, 0, 0), (3, 70, 45))]


def read_all_regions(path, a, regions=THIN):
    level = cmapread.map_levels(str(path))[a.shape]
    assert level.chunks == WIDE
    with h5py.File(path, 'r') as f:
        whole = f['Chimera/image1/data_zyx'][()]
    for origin, size in regions:
        where = tuple(slice(o, o + n) for o, n in zip(origin, size))
        got = level.read(origin, size)
        assert got.dtype == a.dtype and np.array_equal(got, whole[where]), (origin, size)
    return whole


@pytest.mark.parametrize('typesize', [4, 8])
def test_thin_regions_of_wide_chunks_decode_only_their_streams(tmp_path, monkeypatch,
                                                               typesize):
    a = wide_labels()
    path = write_direct(tmp_path / 'w.cmap', a,
                        lambda index, block: blosc_chunk(block, typesize), skip={(1, 1, 0)})
    decoded = []
    plain = cmapread.nlz4.decompress

    def counting(data, *dest):
        out = plain(data, *dest)
        decoded.append(len(out))
        return out

    monkeypatch.setattr(cmapread.nlz4, 'decompress', counting)
    whole = read_all_regions(path, a)
    expected = a.copy()
    expected[4:8, 32:64, 0:32] = 9                  # the chunk never written: fill
    assert np.array_equal(whole, expected)
    stream = 32 * 32 * 4 * 4 // typesize            # one plane, or half of one
    assert decoded and set(decoded) == {stream}
    # A lone plane: one stream a chunk at typesize 4, two (its halves) at 8.
    decoded.clear()
    log = []
    monkeypatch.setattr(cmapread.LevelReader, 'log', log)
    level = cmapread.map_levels(str(path))[a.shape]
    assert np.array_equal(level.read((6, 0, 0), (1, 70, 45)), expected[6:7])
    assert len(decoded) == 5 * typesize // 4       # 6 chunks, one never written
    assert sorted(log) == sorted(('/Chimera/image1/data_zyx', 1, y, x)
                                 for y in range(3) for x in range(2) if (y, x) != (1, 0))


def test_thin_regions_read_chunks_of_any_encoding(tmp_path, monkeypatch):
    # One file whose chunks differ: the first read sets the plan, the others that do not
    # match it (another typesize, shuffled, zstd, typesize 2, stored as is) are read
    # through lz4_planes or decoded whole, all equal.
    import blosc
    encodings = [lambda b: blosc_chunk(b, 4), lambda b: blosc_chunk(b, 8),
                 lambda b: blosc_chunk(b, 4, shuffle=blosc.SHUFFLE),
                 lambda b: blosc_chunk(b, 4, cname='zstd'),
                 lambda b: blosc_chunk(b, 2),
                 lambda b: blosc.compress(np.random.default_rng(0).bytes(b.nbytes),
                                          typesize=4, cname='lz4')]
    a = wide_labels()
    stored = {}

    def encode(index, block):
        k = int(np.ravel_multi_index(index, (3, 3, 2))) % len(encodings)
        if k == len(encodings) - 1:         # noise Blosc stores as is, the file's voxels
            data = encodings[k](block)
            stored[index] = np.frombuffer(data[16:], np.uint32).reshape(WIDE)
            return data
        return encodings[k](block)

    path = write_direct(tmp_path / 'w.cmap', a, encode)
    whole = read_all_regions(path, a)
    expected = a.copy()
    for index, block in stored.items():
        where = tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, WIDE))
        expected[where] = block[tuple(slice(0, n) for n in expected[where].shape)]
    assert stored and np.array_equal(whole, expected)
    log = []
    monkeypatch.setattr(cmapread.LevelReader, 'log', log)
    read_all_regions(path, a, [((5, 0, 0), (1, 70, 45))])
    assert len(log) == 3 * 2


def test_lz4_planes_of_several_blocks():
    # Chunks Blosc cuts into blocks (c-blosc chooses the size from the one asked for):
    # their starts follow the header, a range across blocks is joined from each
    # block's streams, and a last, shorter block is one stream.
    plane = 128 * 128 * 4
    for depth, asked, typesize, blocks in ((4, 8192, 4, 4), (4, 32768, 4, 2),
                                           (3, 32768, 4, 2), (4, 8192, 8, 4)):
        a = (np.arange(depth * 128 * 128) // 3 % 700).astype(np.uint32)
        data = blosc_chunk(a, typesize, blocksize=asked)
        nbytes, blocksize = struct_int(data, 4), struct_int(data, 8)
        assert (nbytes, data[3], -(-nbytes // blocksize)) == (a.nbytes, typesize, blocks)
        for lo, hi in [(0, plane), (plane, 2 * plane), (100, 5000), (4000, 3 * plane),
                       (2 * plane, 3 * plane), (0, depth * plane), (plane - 8, plane + 8),
                       (a.nbytes - 12, a.nbytes)]:
            assert cmapread.lz4_planes(data, lo, hi, a.nbytes) == a.tobytes()[lo:hi]
        assert cmapread.lz4_planes(data, 0, plane, 2 * a.nbytes) is None  # another size
        assert cmapread.lz4_planes(data[:-1], 0, plane) is None
        bad = bytearray(data)                   # a block start past the data
        bad[16:20] = (len(data) + 1).to_bytes(4, 'little')
        assert cmapread.lz4_planes(bytes(bad), 0, plane) is None
        bad = bytearray(data)                   # two blocks starting at one place
        bad[20:24] = bad[16:20]
        assert cmapread.lz4_planes(bytes(bad), 0, plane) is None


def struct_int(data, offset):
    return int.from_bytes(data[offset:offset + 4], 'little', signed=True)


def test_thin_streams_that_do_not_add_up_are_decoded_whole(tmp_path, monkeypatch):
    # A chunk with a byte after its last stream (its stated size counting it): Blosc
    # reads it, the streams are not trusted, so it is decoded whole.  A chunk whose
    # second stream claims a byte more than it has (the next stream's size shifted):
    # not read by streams either, and Blosc refuses it.
    a = wide_labels()

    def encode(index, block):
        data = bytearray(blosc_chunk(block, 4))
        if index == (0, 0, 1):
            data += b'\0'
            data[12:16] = len(data).to_bytes(4, 'little')
        elif index == (0, 1, 0):
            second = 24 + struct_int(data, 20)
            data[second:second + 4] = (struct_int(data, second) + 1).to_bytes(4, 'little')
        return bytes(data)

    path = write_direct(tmp_path / 'w.cmap', a, encode)
    whole = []
    plain = cmapread.nblosc.decompress

    def counting(data, dest=None):
        whole.append(len(data))
        return plain(data, dest)

    monkeypatch.setattr(cmapread.nblosc, 'decompress', counting)
    level = cmapread.map_levels(str(path))[a.shape]
    assert np.array_equal(level.read((1, 0, 0), (1, 32, 45)), a[1:2, :32])
    assert len(whole) == 1
    with pytest.raises(RuntimeError, match='blosc'):
        level.read((0, 32, 0), (1, 32, 32))


def test_the_file_is_not_held_open_after_a_read(tmp_path):
    # h5py in this process writes the same path at once after each read (HDF5 refuses
    # to create a file it holds open), after a refused read too.
    path = tmp_path / 'm.cmap'
    write_all(path, labels(), [], chunk_side=16)
    level = cmapread.map_levels(str(path))[SHAPE]
    for origin, size in [((3, 0, 0), (1, 50, 70)), ((0, 0, 0), SHAPE)]:
        assert np.array_equal(level.read(origin, size), labels()[
            tuple(slice(o, o + n) for o, n in zip(origin, size))])
        write_all(path, labels(), [], chunk_side=16)
    write_all(path, labels()[:, :, :64], [], chunk_side=16)
    with pytest.raises(cmapread.LayoutChanged):
        level.read((0, 0, 0), (1, 1, 1))
    write_all(path, labels(), [], chunk_side=16)
    with h5py.File(path, 'r+') as f:
        del f['Chimera/image1/data_zyx']
    with pytest.raises(cmapread.LayoutChanged):
        level.read((0, 0, 0), (1, 1, 1))
    with h5py.File(path, 'w'):
        pass


def test_unknown_header_flags_are_not_read_by_streams():
    # Blosc's flag bit 3 (delta in Blosc2's headers) would change the bytes: such a
    # chunk is not read stream by stream, nor planned.
    a = wide_labels()[:4, :32, :32]
    data = bytearray(blosc_chunk(a, 4))
    plane = 32 * 32 * 4
    assert cmapread.lz4_planes(bytes(data), 0, plane) == a[:1].tobytes()
    assert cmapread._one_block_plan(bytes(data), 0, plane, a.nbytes) is not None
    data[2] |= 0x8
    assert cmapread.lz4_planes(bytes(data), 0, plane) is None
    assert cmapread._one_block_plan(bytes(data), 0, plane, a.nbytes) is None


@pytest.mark.parametrize('content', [cmapfile.SEGMENTATION, cmapfile.IMAGE])
def test_one_plane_regions_of_one_plane_chunks(tmp_path, content):
    # Chunks one plane thin (an image's, or labels asked for so): a one-plane region is
    # read by the thin path (this thread), LZ4 streams decoded or stored bytes sliced.
    a = labels() if content == cmapfile.SEGMENTATION else \
        np.random.default_rng(5).integers(0, 256, SHAPE).astype(np.uint8)
    path = tmp_path / 'one.cmap'
    write_all(path, a, [], chunk_side=16, plane_depth=1, content=content,
              compress_method='blosc:lz4hc', compress_shuffle=False)
    level = cmapread.map_levels(str(path))[SHAPE]
    assert level.chunks[0] == 1
    for z in (0, 17, SHAPE[0] - 1):
        assert np.array_equal(level.read((z, 3, 5), (1, 30, 40)), a[z:z + 1, 3:33, 5:45])
        assert np.array_equal(level.read((z, 0, 0), (1,) + SHAPE[1:]), a[z:z + 1])
