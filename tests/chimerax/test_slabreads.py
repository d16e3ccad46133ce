"""A slicing movie through a map the bundle wrote, read by real ChimeraX: each chunk is
decompressed at most twice per movie (session/slabreads.py), where ChimeraX's reader
alone decompresses a thin chunk once per plane in it.  Chunks are counted, never timed:
every chunk the bundle's reader (formats/cmapread.py) decompresses is logged, and every
PyTables array read ChimeraX's cmap reader makes is recorded as the chunks it touches
(HDF5 decompresses a chunk at most once per read, and the reader closes the file after
each region, so no chunk cache outlives a read)."""

import collections
import threading

import numpy as np
import pytest
import tables

from chimerax.connectome.formats import cmap as cmapfile
from chimerax.connectome.formats import cmapread
from chimerax.connectome.session.slabreads import SlabReads

from cmaps import write_all

pytestmark = pytest.mark.chimerax

SHAPE = (40, 48, 64)        # z,y,x: full resolution in chunks of 4 x 32 x 32


class CountingLog:
    """LevelReader.log: counts what worker threads append."""

    def __init__(self, counter):
        self.counter = counter
        self.lock = threading.Lock()

    def append(self, item):
        with self.lock:
            self.counter[item] += 1


@pytest.fixture
def chunk_reads(monkeypatch):
    """Counter of (array, chunk index) decompressed by the bundle's chunk reader and by
    PyTables reads (ChimeraX's reader)."""
    reads = collections.Counter()
    monkeypatch.setattr(cmapread.LevelReader, 'log', CountingLog(reads))
    plain = tables.Array.__getitem__

    def counting(self, key):
        ranges = []
        for k, c, n in zip(key, self.chunkshape, self.shape):
            start, stop, step = k.indices(n)
            ranges.append(sorted({i // c for i in range(start, stop, step)}))
        reads.update((self._v_pathname, z, y, x) for z in ranges[0] for y in ranges[1]
                     for x in ranges[2])
        return plain(self, key)
    monkeypatch.setattr(tables.Array, '__getitem__', counting)
    return reads


def write_map(path, content):
    # combine's label codec (blosc:lz4hc unshuffled: the thin chunks' planes compressed
    # apart), read by ChimeraX's reader and by the bundle's.
    a = (np.random.default_rng(2).integers(1, 500, SHAPE)).astype(np.uint32)
    write_all(path, a, [(2, 2, 1)], chunk_side=16, content=content,
              compress_method='blosc:lz4hc', compress_shuffle=False)
    return a


def open_map(session, path):
    from chimerax.core.commands import run
    return run(session, 'open %s' % path)[0]


def slice_through(v, planes, x=(3, 50), y=(5, 40)):
    # As `volume #1 planes z,...` does: one xy plane of the region a frame.
    shown = []
    for z in planes:
        v.new_region((x[0], y[0], z), (x[1], y[1], z), (1, 1, 1), adjust_step=False)
        shown.append(v.matrix().copy())
    return shown


def test_movie_decompresses_each_chunk_at_most_twice(session, tmp_path, chunk_reads):
    path = tmp_path / 'seg.cmap'
    a = write_map(path, cmapfile.SEGMENTATION)
    v = open_map(session, path)
    full = v.data.available_subsamplings[(1, 1, 1)]
    assert isinstance(full.read_matrix, SlabReads) and full.read_matrix.depth == 4
    planes = range(3, 35)
    shown = slice_through(v, planes)
    for z, m in zip(planes, shown):
        assert np.array_equal(m[0], a[z, 5:41, 3:51]), z
    assert chunk_reads and max(chunk_reads.values()) <= 2
    assert len(chunk_reads) == 9 * 2 * 2        # layers z 0..35, y 0..63, x 0..63
    # The first plane (z 3, the last of layer z 0..3) read alone, then one slab for
    # each layer z 4..35 touches.
    assert full.read_matrix.slabs_read == 8
    assert full.read_matrix.held_bytes == 4 * 36 * 48 * 4
    v.new_region((0, 0, 0), (63, 47, 39), (1, 1, 1), adjust_step=False)
    assert np.array_equal(v.matrix(), a) and full.read_matrix.held_bytes == 0


@pytest.mark.parametrize('way', [1, -1])
def test_movie_asks_ahead_for_the_next_slabs(session, tmp_path, monkeypatch, way):
    # As each slab is read, the kernel is asked for the chunks of the next AHEAD_SLABS
    # slabs the way the planes go (formats/readahead.py, from the map's chunk index),
    # of the region shown only; a lone plane asks for nothing ahead.
    import h5py
    from chimerax.connectome.formats import readahead
    from chimerax.connectome.session import slabreads
    asked = []
    monkeypatch.setattr(readahead, '_advise', lambda fd, offset, n, advice: asked.append(
        (offset, offset + n)))
    monkeypatch.setattr(readahead, 'READ_AHEAD_GAP', 0)
    path = tmp_path / 'seg.cmap'
    a = write_map(path, cmapfile.SEGMENTATION)
    with h5py.File(path, 'r') as f:
        d = f['Chimera/image1/data_zyx']
        where = {}
        for i in range(d.id.get_num_chunks()):
            c = d.id.get_chunk_info(i)
            where[tuple(o // n for o, n in zip(c.chunk_offset, d.chunks))] = (
                c.byte_offset, c.byte_offset + c.size)
    v = open_map(session, path)
    slabs = v.data.available_subsamplings[(1, 1, 1)].read_matrix
    first = 17 if way > 0 else 18         # then two more planes in layer 4, z 16..19
    assert slice_through(v, [first], x=(3, 20), y=(5, 20))[0][0].tolist() == \
        a[first, 5:21, 3:21].tolist()
    assert asked == []          # one plane, one chunk: nothing ahead
    planes = [first + way, first + 2 * way]
    for z, m in zip(planes, slice_through(v, planes, x=(3, 20), y=(5, 20))):
        assert np.array_equal(m[0], a[z, 5:21, 3:21])
    assert slabs.slabs_read == 1
    # The slab of layer 4 (z 16..19) was read; the layers after it (or before it) asked.
    layers = range(5, 5 + slabreads.AHEAD_SLABS) if way > 0 else range(0, 4)
    wanted = {where[(z, 0, 0)] for z in layers}
    assert asked
    for lo, hi in wanted:
        assert any(a <= lo and hi <= b for a, b in asked)
    # No other chunk (outside the region, or of other layers) is asked for.
    for lo, hi in set(where.values()) - wanted:
        assert not any(lo < b and a < hi for a, b in asked)


def test_image_movie_reads_one_plane_chunks(session, tmp_path, chunk_reads):
    # An EM image's full resolution is stored one plane thin (cmap IMAGE_PLANE_DEPTH):
    # each plane of a movie reads its own chunks, once, through the bundle's reader
    # (the middle plane, z 20, when the map opens as one plane in image style).
    a = np.random.default_rng(4).integers(0, 256, SHAPE).astype(np.uint8)
    path = tmp_path / 'em.cmap'
    write_all(path, a, [(2, 2, 1)], chunk_side=16, content=cmapfile.IMAGE)
    v = open_map(session, path)
    full = v.data.available_subsamplings[(1, 1, 1)]
    assert isinstance(full.read_matrix, SlabReads) and full.read_matrix.depth == 1
    planes = range(3, 35)
    for z, m in zip(planes, slice_through(v, planes)):
        assert np.array_equal(m[0], a[z, 5:41, 3:51]), z
    assert set(chunk_reads) == {('/Chimera/image1/data_zyx', z, y, x)
                                for z in planes for y in range(2) for x in range(2)}
    assert max(chunk_reads.values()) == 1


def test_lone_plane_and_other_regions_read_by_the_bundles_reader(session, tmp_path,
                                                                 chunk_reads):
    path = tmp_path / 'seg.cmap'
    a = write_map(path, cmapfile.SEGMENTATION)
    v = open_map(session, path)
    slabs = v.data.available_subsamplings[(1, 1, 1)].read_matrix
    assert slabs.level is not None and slabs.level.chunks == (4, 32, 32)
    assert slice_through(v, [20])[0][0].tolist() == a[20, 5:41, 3:51].tolist()
    # One plane: each chunk of its layer once, through the bundle's reader alone.
    assert chunk_reads == {('/Chimera/image1/data_zyx', 5, y, x): 1
                           for y in range(2) for x in range(2)}
    v.new_region((0, 0, 0), (63, 47, 39), (1, 1, 1), adjust_step=False)
    assert np.array_equal(v.matrix(), a)
    v.new_region((0, 7, 0), (63, 7, 39), (1, 1, 1), adjust_step=False)     # xz plane
    assert np.array_equal(v.matrix()[:, 0, :], a[:, 7, :])
    assert slabs.slabs_read == 0


def test_replaced_or_unsupported_files_read_by_chimerax(session, tmp_path, chunk_reads):
    # A map written again under its name while open is read afresh by ChimeraX's
    # reader (as ChimeraX alone would), never from the file the bundle kept open.
    path = tmp_path / 'seg.cmap'
    write_map(path, cmapfile.SEGMENTATION)
    v = open_map(session, path)
    b = (np.random.default_rng(3).integers(1, 500, SHAPE)).astype(np.uint32)
    write_all(path, b, [(2, 2, 1)], chunk_side=16, content=cmapfile.SEGMENTATION)
    v.new_region((0, 0, 0), (63, 47, 39), (1, 1, 1), adjust_step=False)
    assert np.array_equal(v.matrix(), b)
    assert all(name.startswith('/Chimera') for name, *_ in chunk_reads)
    # zlib chunks (shuffle + deflate): ChimeraX's reader, in slabs as before.
    zpath = tmp_path / 'zlib.cmap'
    write_all(zpath, b, [(2, 2, 1)], chunk_side=16, content=cmapfile.SEGMENTATION,
              compress_method='zlib')
    z = open_map(session, zpath)
    reads = z.data.available_subsamplings[(1, 1, 1)].read_matrix
    assert isinstance(reads, SlabReads) and reads.level is None
    assert np.array_equal(z.full_matrix(), b)


def test_chimerax_reader_alone_decompresses_thin_chunks_per_plane(tmp_path, chunk_reads):
    # ChimeraX's reader alone (its grids, without the bundle's opener, read as a Volume
    # reads them): the count above would be 4, a chunk's planes.
    from chimerax.map_data.cmap import open as open_cmap
    path = tmp_path / 'seg.cmap'
    a = write_map(path, cmapfile.SEGMENTATION)
    grid = open_cmap(str(path))[0]
    assert not isinstance(grid.available_subsamplings[(1, 1, 1)].read_matrix, SlabReads)
    for z in range(8, 16):
        assert np.array_equal(grid.matrix((3, 5, z), (48, 36, 1), (1, 1, 1))[0],
                              a[z, 5:41, 3:51])
    assert set(chunk_reads.values()) == {cmapfile.PLANE_DEPTH} == {4}


@pytest.mark.parametrize('step', [(1, 1, 2), (2, 2, 2), (1, 3, 3), (4, 4, 4)])
def test_strided_regions_read_at_step_one_in_slabs(session, tmp_path, step):
    # The whole volume at an automatic step reads a level with a z step: read at step 1
    # and strided in memory (the level with steps 2,2,1 for 2,2,2).
    path = tmp_path / 'seg.cmap'
    a = write_map(path, cmapfile.SEGMENTATION)
    v = open_map(session, path)
    v.new_region((0, 0, 0), (63, 47, 39), step, adjust_step=False)
    assert np.array_equal(v.matrix(), a[::step[2], ::step[1], ::step[0]])


def test_strided_slabs_cover_the_region(tmp_path, chunk_reads):
    from chimerax.map_data.cmap import open as open_cmap
    path = tmp_path / 'seg.cmap'
    a = write_map(path, cmapfile.SEGMENTATION)
    full = open_cmap(str(path))[0].available_subsamplings[(1, 1, 1)]
    plane = 48 * 36 * 4
    reads = SlabReads(full.read_matrix, 4, SHAPE[0], np.uint32, limit=9 * plane)
    m = reads((3, 5, 1), (48, 36, 37), (1, 2, 2), None)     # slabs of 8 planes from z 1
    assert np.array_equal(m, a[1:38:2, 5:41:2, 3:51])
    # Layers of 4 planes, z 0..39 (10), y 0..63 (2), x 0..63 (2); a slab starting
    # inside a layer reads it a second time.
    assert max(chunk_reads.values()) == 2 and len(chunk_reads) == 10 * 2 * 2
    chunk_reads.clear()
    m = reads((3, 5, 0), (48, 36, 40), (1, 1, 2), None)     # from a chunk's first plane
    assert np.array_equal(m, a[::2, 5:41, 3:51]) and set(chunk_reads.values()) == {1}
    small = SlabReads(full.read_matrix, 4, SHAPE[0], np.uint32, limit=7 * plane)
    m = small((3, 5, 1), (48, 36, 37), (1, 1, 3), None)     # slabs of 6 planes
    assert np.array_equal(m, a[1:38:3, 5:41, 3:51])


def test_movie_reads_each_slab_into_the_one_before(session, tmp_path, monkeypatch):
    # The slab of the next layer is read into the array of the one before (its pages
    # already in use: a new 4-plane array a slab costs page faults), and the planes shown
    # are still each layer's own, as copies (ChimeraX may change what it is given).
    path = tmp_path / 'seg.cmap'
    a = write_map(path, cmapfile.SEGMENTATION)
    v = open_map(session, path)
    slabs = v.data.available_subsamplings[(1, 1, 1)].read_matrix
    given = []
    plain = cmapread.LevelReader.read

    def read(self, origin, size, out=None, ahead=None):
        m = plain(self, origin, size, out, ahead)
        given.append((out is not None, m is out, id(m)))
        return m
    monkeypatch.setattr(cmapread.LevelReader, 'read', read)
    planes = list(range(3, 17))
    shown = slice_through(v, planes)
    for z, m in zip(planes, shown):
        assert np.array_equal(m[0], a[z, 5:41, 3:51]), z
    # The lone first plane (z 3), then slabs of layers z 4..7, 8..11, 12..15, 16..19:
    # the first slab a new array, each after it read into that same array.
    assert slabs.slabs_read == 4
    assert [g[:2] for g in given] == [(False, False), (False, False)] + [(True, True)] * 3
    assert len({g[2] for g in given[1:]}) == 1
    # Planes handed out are copies, not views of the slab read over since.
    assert not any(np.shares_memory(m, slabs._slab) for m in shown)
