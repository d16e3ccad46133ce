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
        SHAPE: (cmapfile.IMAGE_PLANE_DEPTH, 16, 16), (37, 25, 35): (16, 16, 16),
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
