"""formats/readahead.py and the writer's chunk index (formats/cmap.py CHUNK_INDEX): the
map's writer records where every chunk of every level lies; the reader asks the kernel
for exactly the bytes of the chunks a region reads (a window at a time) before reading
them; an index that no longer matches the file never changes what is read."""

import itertools

import h5py
import hdf5plugin  # noqa: F401  reads the Blosc chunks back
import numpy as np
import pytest

from chimerax.connectome.formats import cmap as cmapfile
from chimerax.connectome.formats import cmapread, readahead

from cmaps import write_all

SHAPE = (37, 50, 70)        # z,y,x: not multiples of the chunks
REGIONS = [((20, 0, 0), (1, 50, 70)), ((3, 7, 5), (30, 1, 60)), ((1, 2, 3), (35, 47, 1)),
           ((4, 10, 20), (17, 33, 40)), ((0, 0, 0), SHAPE)]


def labels():
    return np.random.default_rng(5).integers(0, 1000, SHAPE).astype(np.uint32)


def stored(path, name):
    """{chunk index (z, y, x): (byte offset, size)} of the array ``name``, from HDF5."""
    with h5py.File(path, 'r') as f:
        d = f[name]
        infos = [d.id.get_chunk_info(i) for i in range(d.id.get_num_chunks())]
        return {tuple(o // c for o, c in zip(i.chunk_offset, d.chunks)):
                (i.byte_offset, i.size) for i in infos}


@pytest.fixture
def advised(monkeypatch):
    """Every posix_fadvise the reader makes, as (offset, length); regions of two chunks
    or more asked for (these maps are small)."""
    monkeypatch.setattr(readahead, 'MIN_CHUNKS', 2)
    calls = []

    def advise(fd, offset, length, advice):
        assert advice == readahead.os.POSIX_FADV_WILLNEED
        calls.append((offset, length))
    monkeypatch.setattr(readahead, '_advise', advise)
    return calls


@pytest.mark.parametrize('content', [cmapfile.SEGMENTATION, cmapfile.IMAGE])
def test_the_writer_records_every_chunk_of_every_level(tmp_path, content):
    path = tmp_path / 'm.cmap'
    a = labels() if content == cmapfile.SEGMENTATION else labels().astype(np.uint8)
    write_all(path, a, [(2, 2, 1), (4, 4, 2)], chunk_side=16, content=content)
    with h5py.File(path, 'r') as f:
        names = [d.name for d in f['Chimera/image1'].values()]
        # The image group holds its levels alone; ChimeraX takes any 3-d array for a map.
        assert all(isinstance(f[n], h5py.Dataset) and f[n].ndim == 3 for n in names)
        assert len(names) == 3
        for name in names:
            d, index = f[name], f[cmapfile.CHUNK_INDEX + name]
            grid = [-(-n // c) for n, c in zip(d.shape, d.chunks)]
            assert index.shape == (grid[0], grid[1] * grid[2] * 2)
            assert index.dtype == np.int64
            got = index[()].reshape(grid + [2])
            found = stored(path, name)
            assert len(found) == np.prod(grid)
            for cell in itertools.product(*map(range, grid)):
                assert tuple(got[cell]) == found[cell], (name, cell)
    assert len(cmapread.map_levels(str(path))) == 3


def test_a_chunk_never_written_is_recorded_as_none(tmp_path):
    path = tmp_path / 'm.cmap'
    w = cmapfile.ChimeraMapWriter(str(path), SHAPE, np.uint32, [], chunk_side=16)
    lv = w.levels[0]
    s, e = lv.chunk_extent((0, 0, 0))
    with cmapfile.blosc_threads():
        w.write_chunk(0, (0, 0, 0), lv.codec.encode(labels()[s[0]:e[0], s[1]:e[1],
                                                             s[2]:e[2]]))
    w.close()
    name = '/Chimera/image1/data_zyx'
    with h5py.File(path, 'r') as f:
        index = f[cmapfile.CHUNK_INDEX + name][()]
        grid = [-(-n // c) for n, c in zip(SHAPE, f[name].chunks)]
    index = index.reshape(grid + [2])
    written = stored(path, name)
    assert 0 < len(written) < np.prod(grid)
    for cell in itertools.product(*map(range, grid)):
        assert tuple(index[cell]) == written.get(cell, (0, 0))


@pytest.mark.parametrize('origin, size', REGIONS)
def test_the_reader_asks_for_the_bytes_of_the_chunks_it_reads(tmp_path, advised,
                                                                monkeypatch, origin, size):
    path = tmp_path / 'm.cmap'
    a = labels()
    write_all(path, a, [(2, 2, 1)], chunk_side=16)
    log = []
    monkeypatch.setattr(cmapread.LevelReader, 'log', log)
    level = cmapread.map_levels(str(path))[SHAPE]
    got = level.read(origin, size)
    assert np.array_equal(got, a[tuple(slice(o, o + n) for o, n in zip(origin, size))])
    chunks = stored(path, '/Chimera/image1/data_zyx')
    read = [chunks[tuple(cell)] for _, *cell in log]
    assert len(read) > 1
    # Each chunk read lies in a range asked for; each range starts and ends at a chunk
    # read, and holds no more than READ_AHEAD_GAP between two of them.
    for offset, n in read:
        assert any(a <= offset and offset + n <= a + m for a, m in advised)
    starts = {o for o, _ in read}
    ends = {o + n for o, n in read}
    for a, m in advised:
        assert a in starts and a + m in ends
        inside = sorted((o, o + n) for o, n in read if a <= o < a + m)
        reach = a
        for o, e in inside:
            assert o - reach <= readahead.READ_AHEAD_GAP
            reach = max(reach, e)
    # Nothing asked twice.
    assert sum(m for _, m in advised) <= sum(n for _, n in read) + \
        readahead.READ_AHEAD_GAP * len(read)


def test_a_large_region_is_asked_for_a_window_at_a_time(tmp_path, advised, monkeypatch):
    path = tmp_path / 'm.cmap'
    a = labels()
    write_all(path, a, [], chunk_side=16)
    chunks = stored(path, '/Chimera/image1/data_zyx')
    window = 3 * max(n for _, n in chunks.values())
    monkeypatch.setattr(readahead, 'READ_AHEAD_BYTES', window)
    monkeypatch.setattr(readahead, 'READ_AHEAD_GAP', 0)
    # Chunk reads and asks in the order they happen.
    events = []
    real = readahead._advise
    monkeypatch.setattr(readahead, '_advise',
                        lambda *args: (events.append(('ask',) + args[1:3]), real(*args)))
    wrap = readahead.ReadAhead.wrap

    def logged_wrap(self, read_chunk):
        def read(offset):
            events.append(('read', tuple(offset)))
            return read_chunk(offset)
        return wrap(self, read)
    monkeypatch.setattr(readahead.ReadAhead, 'wrap', logged_wrap)
    level = cmapread.map_levels(str(path))[SHAPE]
    assert np.array_equal(level.read((0, 0, 0), SHAPE), a)
    reads = [e[1] for e in events if e[0] == 'read']
    asks = [e[1:] for e in events if e[0] == 'ask']
    assert len(reads) == len(chunks) and len(asks) > 1
    # Before each chunk is read, its bytes were asked for, and never more than a window
    # (or one chunk) ahead of what was read.
    asked, done = [], 0
    for e in events:
        if e[0] == 'ask':
            asked.append(e[1:])
            continue
        cell = tuple(o // c for o, c in zip(e[1], level.chunks))
        offset, n = chunks[cell]
        assert any(a <= offset and offset + n <= a + m for a, m in asked)
        done += n
        ahead = sum(m for _, m in asked) - done
        assert ahead <= window + max(n for _, n in chunks.values())


def test_an_index_that_does_not_match_changes_nothing_read(tmp_path, advised):
    # Offsets of other chunks (a file rewritten by another tool): read-ahead of the
    # wrong bytes, the right voxels.
    path = tmp_path / 'm.cmap'
    a = labels()
    write_all(path, a, [(2, 2, 1)], chunk_side=16)
    name = cmapfile.CHUNK_INDEX + '/Chimera/image1/data_zyx'
    with h5py.File(path, 'r+') as f:
        index = f[name][()]
        f[name][()] = np.roll(index.reshape(-1, 2), 3, axis=0).reshape(index.shape)
    level = cmapread.map_levels(str(path))[SHAPE]
    for origin, size in REGIONS:
        got = level.read(origin, size)
        assert np.array_equal(got, a[tuple(slice(o, o + n) for o, n in zip(origin, size))])
    assert advised
    # Sizes no chunk can have, an index of another shape or type, none at all: nothing
    # asked, the same voxels.
    for change in ('size', 'shape', 'dtype', 'gone'):
        advised.clear()
        with h5py.File(path, 'r+') as f:
            if change == 'size':
                bad = f[name][()]
                bad[:, 1::2] = 2 ** 40
                f[name][()] = bad
            elif change in ('shape', 'dtype'):
                del f[name]
                f[name] = (index[:, :-2] if change == 'shape' else index.astype(np.int32))
            else:
                del f[name]
        for origin, size in REGIONS:
            got = level.read(origin, size)
            assert np.array_equal(got, a[tuple(slice(o, o + n)
                                                 for o, n in zip(origin, size))])
        assert advised == [], change


def test_few_chunks_or_no_posix_fadvise_asks_nothing(tmp_path, advised, monkeypatch):
    path = tmp_path / 'm.cmap'
    a = labels()
    write_all(path, a, [], chunk_side=16)
    level = cmapread.map_levels(str(path))[SHAPE]
    assert np.array_equal(level.read((1, 1, 1), (2, 2, 2)), a[1:3, 1:3, 1:3])
    assert advised == []
    # Fewer than MIN_CHUNKS: left to the kernel's own read-ahead.  Layers of 2 x 3
    # chunks (4 x 32 x 32) across the map.
    monkeypatch.setattr(readahead, 'MIN_CHUNKS', 32)
    assert level.chunks == (4, 32, 32)
    for layers, asks in ((5, False), (6, True)):
        advised.clear()
        size = (4 * layers, SHAPE[1], SHAPE[2])
        assert np.array_equal(level.read((0, 0, 0), size), a[:size[0]])
        assert bool(advised) == asks, layers
    monkeypatch.setattr(readahead, '_advise', None)      # macOS, Windows
    assert np.array_equal(level.read((0, 0, 0), SHAPE), a)


def test_a_read_asks_ahead_for_a_region_clipped_to_the_array(tmp_path, advised):
    # LevelReader.read's ``ahead`` (the next slabs of a slicing movie, asked for in the
    # opening of the file that reads this slab): the chunks of the part of the region
    # inside the array, however few; nothing past either end, nothing without an index.
    path = tmp_path / 'm.cmap'
    a = labels()
    write_all(path, a, [], chunk_side=16)
    level = cmapread.map_levels(str(path))[SHAPE]
    chunks = stored(path, '/Chimera/image1/data_zyx')

    def read_asking(region):
        # One voxel of chunk (5, 0, 0): too few chunks to ask for itself.
        assert level.read((20, 0, 0), (1, 1, 1), ahead=region).tolist() == [[[a[20, 0, 0]]]]
    read_asking(((-8, 0, 0), (12, 10, 10)))             # z 0..3: one chunk
    assert advised == [chunks[(0, 0, 0)]]
    advised.clear()
    read_asking(((36, 40, 64), (8, 20, 20)))            # the last chunk, clipped
    assert advised == [chunks[(9, 1, 2)]]
    advised.clear()
    read_asking(((40, 0, 0), (8, 10, 10)))              # past the end
    read_asking(((-8, 0, 0), (8, 10, 10)))              # before the start
    read_asking(None)
    assert advised == []
    read_asking(((0, 0, 0), SHAPE))
    for lo, n in chunks.values():                       # every chunk
        assert any(a <= lo and lo + n <= a + m for a, m in advised)
    advised.clear()
    with h5py.File(path, 'r+') as f:
        del f[cmapfile.CHUNK_INDEX]
    read_asking(((0, 0, 0), SHAPE))
    assert advised == []


def test_a_region_is_read_into_an_array_given(tmp_path):
    # LevelReader.read(out=...) (a slicing movie's next slab read into the one before):
    # every voxel written, those of chunks never written (all zero) included.
    path = tmp_path / 'm.cmap'
    a = labels()
    a[:8] = 0                                   # two layers of chunks never written
    write_all(path, a, [], chunk_side=16)
    level = cmapread.map_levels(str(path))[SHAPE]
    for origin, size in (((0, 0, 0), (12, 40, 70)), ((3, 5, 7), (1, 30, 50)),
                         ((2, 0, 0), (4,) + SHAPE[1:])):
        out = np.full(size, 7, np.uint32)
        got = level.read(origin, size, out)
        assert got is out
        assert np.array_equal(out, a[tuple(slice(o, o + n) for o, n in zip(origin, size))])
    with pytest.raises(ValueError, match='out is'):
        level.read((0, 0, 0), (4, 4, 4), np.zeros((4, 4, 5), np.uint32))
    with pytest.raises(ValueError, match='out is'):
        level.read((0, 0, 0), (4, 4, 4), np.zeros((4, 4, 4), np.uint16))
