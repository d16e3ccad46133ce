"""Tile sets: HDF5 tiles on a regular grid, read as one stitched volume.

A tile set is a folder, a glob or a list of HDF5 files whose names give their grid
position (pattern ``x{X}y{Y}z{Z}``: x2 is the tile that starts 2 tile widths along x).
``open_tiles`` finds the one 3-D dataset in each file and checks that the tiles make one
grid: one dtype, one tile size, only tiles at the far edges smaller, no position twice,
no gap unless ``missing='zero'``.  ``TileSet.read`` then returns any block of the stitched
volume, touching only the tiles and HDF5 chunks the block needs.  Chunks stored with
deflate and shuffle (what gzip-compressed tiles use) are read as raw bytes and inflated
with libdeflate (PyPI ``deflate``: 2-6x faster than zlib, which HDF5's own filter uses;
``inflate='zlib'`` keeps zlib, for comparison); both release Python's GIL, so threads
read in parallel.  Chunks with other filters (Blosc, LZF, ...) go through h5py's filter
pipeline, on the thread that makes HDF5 calls (``TileSet.filtered_tiles`` names them so
that callers can say so).  Pure: no ChimeraX.

Index order: the stitched volume is z,y,x (numpy order, as the authors' tiles are stored);
grid positions and the file-name pattern are x,y,z.
"""

import glob
import os
import re
import threading
import zlib
from collections import Counter, OrderedDict

import deflate
import h5py
import numpy as np

from ..blocks import block_extent, ceil_div, grid_shape
from ..errors import InputError

DEFAULT_PATTERN = 'x{X}y{Y}z{Z}'
TILE_SUFFIXES = ('.hdf5', '.h5', '.hdf')
AXIS_ORDERS = ('zyx', 'xyz')
MISSING_CHOICES = ('error', 'zero')
INFLATERS = ('libdeflate', 'zlib')

_DEFLATE, _SHUFFLE = 1, 2
_MAX_LISTED = 12         # how many missing tiles an error message lists


# ----------------------------------------------------------------------------
# Finding the tile files and their grid positions

def find_tile_files(source):
    """Paths of the tiles given as a folder, a glob, or a list of files (and globs)."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not items:
        raise InputError('no tiles given')
    paths = []
    for item in items:
        item = os.path.expanduser(str(item))
        if os.path.isdir(item):
            found = sorted(os.path.join(item, f) for f in os.listdir(item)
                           if f.lower().endswith(TILE_SUFFIXES)
                           and os.path.isfile(os.path.join(item, f)))
            if not found:
                raise InputError('folder %s has no HDF5 tiles (%s)'
                                 % (item, ', '.join(TILE_SUFFIXES)), item)
            paths.extend(found)
        elif os.path.exists(item):
            paths.append(item)
        elif glob.has_magic(item):
            found = sorted(p for p in glob.glob(item) if os.path.isfile(p))
            if not found:
                raise InputError('no files match %s' % item, item)
            paths.extend(found)
        else:
            raise InputError('tile file %s does not exist' % item, item)
    return paths


def pattern_regex(pattern):
    """Compiled regex for a tile name pattern with {X}, {Y}, {Z} standing for integers."""
    parts = re.split(r'(\{[XYZ]\})', pattern)
    fields = [p[1] for p in parts if re.fullmatch(r'\{[XYZ]\}', p)]
    if sorted(fields) != ['X', 'Y', 'Z']:
        raise InputError('tile name pattern %r must contain {X}, {Y} and {Z} once each'
                         % pattern)
    return re.compile(''.join('(?P<%s>\\d+)' % p[1] if p in ('{X}', '{Y}', '{Z}')
                              else re.escape(p) for p in parts))


def tile_position(path, regex, first_index=0):
    """Grid position (x, y, z), counted from 0, parsed from a tile's file name; or None."""
    name = os.path.basename(path)
    stem = name
    for suffix in TILE_SUFFIXES:
        if name.lower().endswith(suffix):
            stem = name[:-len(suffix)]
            break
    m = regex.fullmatch(name) or regex.fullmatch(stem)
    if m is None:
        return None
    return tuple(int(m.group(a)) - first_index for a in 'XYZ')


def format_position(position, pattern=DEFAULT_PATTERN, first_index=0):
    x, y, z = (p + first_index for p in position)
    return pattern.replace('{X}', str(x)).replace('{Y}', str(y)).replace('{Z}', str(z))


def find_dataset(f, name, path):
    """The 3-D dataset of an open tile: ``name`` if given, else the only one."""
    label = os.path.basename(path)
    if name is not None:
        d = f.get(name)
        if not isinstance(d, h5py.Dataset):
            raise InputError('tile %s has no dataset %s' % (label, name), path)
        if d.ndim != 3:
            raise InputError('tile %s: dataset %s is %d-D, not 3-D' % (label, name, d.ndim), path)
        return d
    found = []
    f.visititems(lambda n, obj: found.append(obj) if isinstance(obj, h5py.Dataset)
                 and obj.ndim == 3 else None)
    if not found:
        raise InputError('tile %s has no 3-D dataset' % label, path)
    if len(found) > 1:
        raise InputError('tile %s has several 3-D datasets (%s); choose one with dataset NAME'
                         % (label, ', '.join(d.name for d in found)), path)
    return found[0]


# ----------------------------------------------------------------------------
# One tile

class TileFile:
    """One tile: where its dataset is and how it is stored.

    ``shape`` is z,y,x whatever the stored axis order; ``chunk_shape`` likewise (None
    for an unchunked dataset).  ``kind`` says how it is read:

    - ``chunks``: chunked with only filters undone here (deflate, shuffle, or none): the
      stored chunk bytes are read with ``os.pread`` and inflated here;
    - ``contiguous``: unchunked and unfiltered (the authors' EM tiles): read through a
      memory map of the dataset's bytes;
    - ``hdf5``: anything else (other filters, unallocated data): through h5py.

    The first two need no HDF5 call once the chunk map is known, so worker threads can
    read them; HDF5 itself is not thread-safe (see TileSet.prepare).
    """

    def __init__(self, path, position, dataset, axis_order):
        self.path = path
        self.name = os.path.basename(path)
        self.position = position
        self.axis_order = axis_order
        self.dataset_name = dataset.name
        flip = axis_order == 'xyz'
        voxel_type(dataset.dtype, self.name, path)
        self.stored_shape = tuple(dataset.shape)
        self.shape = tuple(reversed(dataset.shape)) if flip else tuple(dataset.shape)
        self.dtype = dataset.dtype
        self.fillvalue = dataset.fillvalue
        dcpl = dataset.id.get_create_plist()
        # (code, flags, values, name) of each filter, in the order HDF5 applies them.
        self.filters = [dcpl.get_filter(i) for i in range(dcpl.get_nfilters())]
        layout = dcpl.get_layout()
        chunked = layout == h5py.h5d.CHUNKED
        self.stored_chunk_shape = dataset.chunks if chunked else None
        self.chunk_shape = (None if not chunked else
                            tuple(reversed(dataset.chunks)) if flip else tuple(dataset.chunks))
        self.userblock = dataset.file.userblock_size
        self.data_offset = None             # file offset of contiguous data
        if chunked and all(f[0] in (_DEFLATE, _SHUFFLE) for f in self.filters):
            self.kind = 'chunks'
        elif layout == h5py.h5d.CONTIGUOUS and not self.filters \
                and dataset.id.get_offset() is not None:
            self.kind = 'contiguous'
            self.data_offset = dataset.id.get_offset() + self.userblock
        else:
            self.kind = 'hdf5'
        self.chunk_map = None       # (file offset, size, filter mask) over the chunk grid

    def load_chunk_map(self, dataset):
        """Find where each stored chunk lies in the file (an HDF5 call)."""
        grid = grid_shape(dataset.shape, self.stored_chunk_shape)
        offset = np.full(grid, -1, np.int64)
        size = np.zeros(grid, np.int64)
        mask = np.zeros(grid, np.uint32)
        cs = self.stored_chunk_shape

        def note(info):
            i = tuple(o // c for o, c in zip(info.chunk_offset, cs))
            if any(o % c or not 0 <= k < n for o, c, k, n in
                   zip(info.chunk_offset, cs, i, grid)):
                raise InputError('tile %s has a damaged chunk index (a chunk at %s, outside'
                                 ' its %s voxels)' % (self.name, info.chunk_offset,
                                                      ' x '.join(map(str, dataset.shape))),
                                 self.path)
            offset[i] = info.byte_offset + self.userblock
            size[i] = info.size
            mask[i] = info.filter_mask
        # One pass over HDF5's chunk index; asking chunk by chunk is 30x slower.
        dataset.id.chunk_iter(note)
        self.chunk_map = (offset, size, mask)

    def filter_names(self):
        """The dataset's filters as HDF5 names them (e.g. 'lzf', 'blosc')."""
        return [(name.decode('ascii', 'replace') if isinstance(name, bytes) else str(name))
                or 'filter %d' % code for code, _, _, name in self.filters]

    def stored(self, zyx):
        """Reorder a z,y,x tuple to the dataset's stored index order."""
        return tuple(reversed(zyx)) if self.axis_order == 'xyz' else tuple(zyx)

    def to_zyx(self, array):
        return array.transpose(2, 1, 0) if self.axis_order == 'xyz' else array


class _Handles:
    """Open h5py files of a tile set, at most ``limit`` at a time (HDF5 keeps caches per
    open file, so hundreds of open tiles would cost memory).  HDF5 calls only: used by
    the thread that reads through h5py."""

    def __init__(self, limit=32):
        self.limit = limit
        self._open = OrderedDict()      # path -> (h5py.File, dataset)

    def dataset(self, tile):
        entry = self._open.get(tile.path)
        if entry is None:
            try:
                f = h5py.File(tile.path, 'r')
                entry = (f, f[tile.dataset_name])
            except (OSError, KeyError) as e:
                raise InputError('tile %s cannot be read: %s' % (tile.name, e), tile.path)
            self._open[tile.path] = entry
            while len(self._open) > self.limit:
                _, (old, _) = self._open.popitem(last=False)
                old.close()
        self._open.move_to_end(tile.path)
        return entry[1]

    def close(self):
        for f, _ in self._open.values():
            f.close()
        self._open.clear()


class _RawFiles:
    """File descriptors and memory maps of tiles read without HDF5, safe to use from any
    thread (pread and memory maps need no lock once made)."""

    def __init__(self):
        self._fds = {}
        self._maps = {}
        self._lock = threading.Lock()

    def fd(self, tile):
        def make():
            try:
                return os.open(tile.path, os.O_RDONLY)
            except OSError as e:
                raise InputError('tile %s cannot be read: %s' % (tile.name, e.strerror or e),
                                 tile.path)
        return self._once(self._fds, tile, make)

    def memory_map(self, tile):
        def make():
            try:
                return np.memmap(tile.path, tile.dtype, 'r', tile.data_offset, tile.stored_shape)
            except (OSError, ValueError) as e:
                raise InputError('tile %s cannot be read (truncated?): %s' % (tile.name, e),
                                 tile.path)
        return tile.to_zyx(self._once(self._maps, tile, make))

    def _once(self, store, tile, make):
        value = store.get(tile.path)
        if value is None:
            with self._lock:
                value = store.get(tile.path)
                if value is None:
                    value = store[tile.path] = make()
        return value

    def close(self):
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
            self._maps.clear()


class _ChunkCache:
    """Decompressed tile chunks that a read used only in part, kept (least recently used
    first out) for the reads that need the rest, so overlapping reads, even in parallel
    threads, inflate each chunk once."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.nbytes = 0
        self._items = OrderedDict()
        self._loading = {}              # key -> Event set when its loader is done
        self._lock = threading.Lock()

    def get_or_load(self, key, load):
        with self._lock:
            a = self._items.get(key)
            if a is not None:
                self._items.move_to_end(key)
                return a
            loading = self._loading.get(key)
            if loading is None:
                loading = self._loading[key] = threading.Event()
                mine = True
            else:
                mine = False
        if not mine:
            loading.wait()
            with self._lock:
                a = self._items.get(key)
            return a if a is not None else load()      # evicted already, or load failed
        try:
            a = load()
            self._put(key, a)
        finally:
            with self._lock:
                del self._loading[key]
            loading.set()
        return a

    def _put(self, key, array):
        if array.nbytes > self.capacity:
            return
        with self._lock:
            self._items[key] = array
            self.nbytes += array.nbytes
            while self.nbytes > self.capacity:
                _, old = self._items.popitem(last=False)
                self.nbytes -= old.nbytes

    def clear(self):
        with self._lock:
            self._items.clear()
            self.nbytes = 0


# ----------------------------------------------------------------------------
# The stitched volume

def _samples(start, step, count, lo, hi):
    """Which of the samples start + k*step (k < count) fall in [lo, hi) along one axis.

    Returns (k0, k1, first) with ``first`` the index of sample k0 relative to lo, or
    None when there are none.
    """
    k0 = max(0, ceil_div(lo - start, step))
    k1 = min(count, ceil_div(hi - start, step))
    if k1 <= k0:
        return None
    return k0, k1, start + k0 * step - lo


class TileSet:
    """The stitched z,y,x volume of a tile set.

    ``shape``: z,y,x size of the bounding grid of the tiles present; ``offset``: z,y,x
    voxel index of its first voxel in the tiles' own grid (nonzero when the lowest
    positions are absent); ``tile_shape``: z,y,x size of an interior tile;
    ``missing``: positions (x,y,z) inside the bounding grid with no file, read as zeros.
    """

    def __init__(self, tiles, tile_shape, grid_min, grid_max, missing, pattern,
                 first_index, cache_bytes=256 * 2**20, name='', inflate='libdeflate'):
        self.tiles = tiles                          # position -> TileFile
        self.tile_shape = tile_shape                # z,y,x
        self.pattern = pattern
        self.first_index = first_index
        self.missing = missing
        self.name = name
        self.open_arguments = None          # set by open_tiles
        self.grid_min = grid_min                    # x,y,z
        self.grid_max = grid_max
        first = next(iter(tiles.values()))
        self.dtype = voxel_type(first.dtype, first.name, first.path)
        zyx_min = tuple(reversed(grid_min))
        zyx_max = tuple(reversed(grid_max))
        edge = {}
        for t in tiles.values():
            for a in range(3):
                if t.position[2 - a] == zyx_max[a]:
                    edge[a] = t.shape[a]
        self.offset = tuple(m * s for m, s in zip(zyx_min, tile_shape))
        self.shape = tuple((hi - lo) * s + edge[a]
                           for a, (lo, hi, s) in enumerate(zip(zyx_min, zyx_max, tile_shape)))
        chunk_shapes = Counter(t.chunk_shape for t in tiles.values() if t.chunk_shape)
        self.chunk_shape = chunk_shapes.most_common(1)[0][0] if chunk_shapes else None
        self.paths = [t.path for t in tiles.values()]
        self._handles = _Handles()
        self._raw = _RawFiles()
        self._cache = _ChunkCache(cache_bytes)
        if inflate not in INFLATERS:
            raise ValueError('inflate must be one of %s' % ', '.join(INFLATERS))
        self.inflate = inflate
        self._stats_lock = threading.Lock()
        self.chunks_read = 0            # tile chunks decompressed (or read) so far
        self.bytes_read = 0             # their decompressed size

    def __repr__(self):
        return 'TileSet(%s: %d tiles, %s voxels x,y,z, %s)' % (
            self.name, len(self.tiles), ' x '.join(map(str, reversed(self.shape))), self.dtype)

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def set_cache_limit(self, nbytes):
        """Bytes of partly used tile chunks to keep for the reads that need the rest."""
        self._cache.capacity = nbytes

    def close(self):
        self._handles.close()
        self._raw.close()
        self._cache.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def filtered_tiles(self):
        """Tiles whose chunks only HDF5's filter pipeline can undo (filters other than
        deflate and shuffle): read on the HDF5 thread, more slowly."""
        return [t for t in self.tiles.values() if t.kind == 'hdf5' and t.filters]

    # -- which tiles a block touches

    def _tile_range(self, start, stop):
        """Grid positions (z,y,x ranges, in tile units) that the block [start, stop) touches."""
        ranges = []
        for a in range(3):
            lo = (self.offset[a] + start[a]) // self.tile_shape[a]
            hi = (self.offset[a] + stop[a] - 1) // self.tile_shape[a]
            top = self.grid_max[2 - a]
            ranges.append(range(lo, min(hi, top) + 1))
        return ranges

    def positions_in(self, start, stop):
        """Grid positions (x,y,z) of the tiles and gaps that the block touches."""
        rz, ry, rx = self._tile_range(start, stop)
        return [(x, y, z) for z in rz for y in ry for x in rx]

    def is_empty(self, start, stop):
        """True when the block touches no tile file (it lies in missing tiles only)."""
        return not any(p in self.tiles for p in self.positions_in(start, stop))

    def tile_extent(self, position):
        """z,y,x start and stop of a grid position within the stitched volume."""
        zyx = tuple(reversed(position))
        start = tuple(p * s - o for p, s, o in zip(zyx, self.tile_shape, self.offset))
        stop = tuple(min(b + s, n) for b, s, n in zip(start, self.tile_shape, self.shape))
        return start, stop

    # -- reading

    def prepare(self, start, stop):
        """Make the block [start, stop) readable by ``read`` without HDF5 calls, so that
        worker threads can read it while this thread uses HDF5 (HDF5 is not thread-safe,
        and h5py does not lock its direct chunk writes): loads the chunk maps of the
        tiles it touches.  Returns False when a tile there can only be read through
        HDF5 (filters other than deflate and shuffle); then read it in this thread."""
        readable = True
        for pos in self.positions_in(start, stop):
            tile = self.tiles.get(pos)
            if tile is None:
                continue
            if tile.kind == 'hdf5':
                readable = False
            elif tile.kind == 'chunks' and tile.chunk_map is None:
                dataset = self._handles.dataset(tile)
                try:
                    tile.load_chunk_map(dataset)
                except (OSError, RuntimeError) as e:
                    raise InputError('tile %s: its chunk index cannot be read (damaged?): %s'
                                     % (tile.name, e), tile.path)
        return readable

    def read(self, start=(0, 0, 0), stop=None, step=(1, 1, 1)):
        """The block [start, stop) of the stitched volume (z,y,x), every step-th voxel.

        Returns an array of shape ceil((stop - start) / step), missing tiles read as 0;
        treat it as read-only (a block that is exactly one tile chunk is that chunk).
        Makes HDF5 calls unless ``prepare`` returned True for the block.
        """
        stop = self.shape if stop is None else stop
        start, stop, step = tuple(map(int, start)), tuple(map(int, stop)), tuple(map(int, step))
        for a in range(3):
            if not (0 <= start[a] < stop[a] <= self.shape[a]) or step[a] < 1:
                raise ValueError('block %s-%s step %s outside volume %s'
                                 % (start, stop, step, self.shape))
        self.prepare(start, stop)
        positions = self.positions_in(start, stop)
        if len(positions) == 1 and step == (1, 1, 1) and positions[0] in self.tiles:
            chunk = self._whole_chunk(self.tiles[positions[0]], start, stop)
            if chunk is not None:
                return chunk
        count = tuple(ceil_div(e - s, t) for s, e, t in zip(start, stop, step))
        out = np.zeros(count, self.dtype)
        for pos in positions:
            tile = self.tiles.get(pos)
            if tile is None:
                continue
            t0, t1 = self.tile_extent(pos)
            spans = [_samples(start[a], step[a], count[a], t0[a], t1[a]) for a in range(3)]
            if None in spans:
                continue
            dst = out[tuple(slice(k0, k1) for k0, k1, _ in spans)]
            self._read_tile(tile, dst, tuple(f for _, _, f in spans), step)
        return out

    def _whole_chunk(self, tile, start, stop):
        """The tile chunk that is exactly the block [start, stop), or None."""
        cs = tile.chunk_shape
        if cs is None or tile.dtype != self.dtype:
            return None
        t0, _ = self.tile_extent(tile.position)
        c0 = tuple(s - t for s, t in zip(start, t0))
        c1 = tuple(e - t for e, t in zip(stop, t0))
        index = tuple(b // c for b, c in zip(c0, cs))
        if any(b % c for b, c in zip(c0, cs)) or \
                c1 != tuple(min(b + c, n) for b, c, n in zip(c0, cs, tile.shape)):
            return None
        return self._chunk(tile, index, c0, c1, True)

    def _read_tile(self, tile, dst, first, step):
        """Fill dst with tile samples first + k*step (tile-local z,y,x)."""
        if tile.chunk_shape is None:
            sel = tuple(slice(f, f + (n - 1) * s + 1, s)
                        for f, n, s in zip(first, dst.shape, step))
            if tile.kind == 'contiguous':
                dst[...] = self._raw.memory_map(tile)[sel]
            else:
                dst[...] = self._h5read(tile, sel)
            self._count(dst.nbytes)
            return
        cs = tile.chunk_shape
        last = tuple(f + (n - 1) * s for f, n, s in zip(first, dst.shape, step))
        ranges = [range(f // c, l // c + 1) for f, l, c in zip(first, last, cs)]
        for cz in ranges[0]:
            for cy in ranges[1]:
                for cx in ranges[2]:
                    c0, c1 = block_extent((cz, cy, cx), cs, tile.shape)
                    spans = [_samples(first[a], step[a], dst.shape[a], c0[a], c1[a])
                             for a in range(3)]
                    if None in spans:
                        continue
                    whole = all(f <= b and e - 1 <= l and s == 1 for f, l, b, e, s in
                                zip(first, last, c0, c1, step))
                    chunk = self._chunk(tile, (cz, cy, cx), c0, c1, whole)
                    src = chunk[tuple(slice(f, f + (k1 - k0 - 1) * s + 1, s)
                                      for (k0, k1, f), s in zip(spans, step))]
                    dst[tuple(slice(k0, k1) for k0, k1, _ in spans)] = src

    def _count(self, nbytes):
        with self._stats_lock:
            self.chunks_read += 1
            self.bytes_read += nbytes

    def _chunk(self, tile, index, c0, c1, whole):
        """One tile chunk, z,y,x, decompressed (kept in the cache unless read whole)."""
        def load():
            if tile.kind == 'chunks':
                a = self._raw_chunk(tile, index, c0, c1)
            else:
                a = self._h5read(tile, tuple(slice(b, e) for b, e in zip(c0, c1)))
            self._count(a.nbytes)
            return a
        return load() if whole else self._cache.get_or_load((tile.path, index), load)

    def _raw_chunk(self, tile, index, c0, c1):
        offset, size, mask = tile.chunk_map
        si = tile.stored(index)
        if offset[si] < 0:      # never written: HDF5 reads the fill value
            return np.broadcast_to(np.asarray(tile.fillvalue, self.dtype),
                                   tuple(e - b for b, e in zip(c0, c1)))
        nbytes = int(size[si])
        data = os.pread(self._raw.fd(tile), nbytes, int(offset[si]))
        if len(data) != nbytes:
            raise InputError('tile %s is truncated (chunk at %s ends past the end of the file)'
                             % (tile.name, c0), tile.path)
        itemsize = tile.dtype.itemsize
        expect = int(np.prod(tile.stored_chunk_shape)) * itemsize
        skipped = int(mask[si])
        for i in reversed(range(len(tile.filters))):
            if skipped & (1 << i):
                continue
            code = tile.filters[i][0]
            if code == _DEFLATE:
                data = self._inflate(data, expect, tile, c0)
            elif code == _SHUFFLE and itemsize > 1:
                n = len(data) // itemsize
                b = np.frombuffer(data, np.uint8)
                data = np.ascontiguousarray(b[:n * itemsize].reshape(itemsize, n).T).tobytes() \
                    + bytes(b[n * itemsize:])
        cs = tile.stored_chunk_shape
        if len(data) != expect:
            raise InputError('tile %s has a corrupt chunk at %s (%d bytes, expected %d)'
                             % (tile.name, c0, len(data), expect), tile.path)
        a = np.frombuffer(data, tile.dtype).reshape(cs)
        a = tile.to_zyx(a)
        return a[tuple(slice(0, e - b) for b, e in zip(c0, c1))]

    def _inflate(self, data, size, tile, c0):
        """Inflate one deflated chunk of ``size`` bytes (HDF5 writes zlib streams)."""
        try:
            if self.inflate == 'libdeflate':
                # Given the exact size, libdeflate rejects a stream that inflates to
                # anything else; a larger buffer would hide a short chunk.
                return deflate.zlib_decompress(data, size)
            return zlib.decompress(data)
        except (deflate.DeflateError, zlib.error) as e:
            raise InputError('tile %s has a corrupt chunk at %s (%s)'
                             % (tile.name, c0, e), tile.path)

    def _h5read(self, tile, sel):
        """Read a z,y,x selection of a tile through h5py (HDF5 calls)."""
        try:
            return tile.to_zyx(self._handles.dataset(tile)[tile.stored(sel)])
        except OSError as e:
            raise InputError('tile %s cannot be read: %s' % (tile.name, e), tile.path)


# ----------------------------------------------------------------------------
# Opening and checking a tile set

def open_tiles(source, dataset=None, pattern=DEFAULT_PATTERN, first_index=0, missing='error',
               axis_order='zyx', cache_bytes=256 * 2**20, inflate='libdeflate'):
    """Find, check and open a tile set; returns a TileSet.

    ``inflate`` names the deflate decoder for chunks read as raw bytes (INFLATERS).

    Raises InputError naming the file and the problem for anything that keeps the tiles
    from forming one grid.
    """
    if missing not in MISSING_CHOICES:
        raise ValueError('missing must be one of %s' % ', '.join(MISSING_CHOICES))
    if axis_order not in AXIS_ORDERS:
        raise ValueError('axis_order must be one of %s' % ', '.join(AXIS_ORDERS))
    regex = pattern_regex(pattern)
    paths = find_tile_files(source)
    positions = {}
    for path in paths:
        pos = tile_position(path, regex, first_index)
        if pos is None:
            raise InputError('file %s does not match the tile name pattern %s'
                             % (os.path.basename(path), pattern), path)
        if min(pos) < 0:
            raise InputError('tile %s has a grid index below firstIndex %d'
                             % (os.path.basename(path), first_index), path)
        positions.setdefault(pos, []).append(path)
    for pos, same in positions.items():
        if len(same) > 1:
            raise InputError('two files for grid position %s: %s'
                             % (format_position(pos, pattern, first_index),
                                ', '.join(os.path.basename(p) for p in same)), same[1])

    tiles = {}
    for pos, (path,) in sorted(positions.items(), key=lambda item: item[0][::-1]):
        try:
            with h5py.File(path, 'r') as f:
                tiles[pos] = TileFile(path, pos, find_dataset(f, dataset, path), axis_order)
        except InputError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
            # h5py reports damaged metadata in several ways ("Object visitation failed",
            # bad symbol table, unknown types).
            raise InputError('tile %s is not a readable HDF5 file (damaged?): %s'
                             % (os.path.basename(path), e), path)

    _check_dtypes(tiles)
    grid_min = tuple(min(p[a] for p in tiles) for a in range(3))
    grid_max = tuple(max(p[a] for p in tiles) for a in range(3))
    tile_shape = _check_sizes(tiles, grid_max)
    gaps = [(x, y, z) for z in range(grid_min[2], grid_max[2] + 1)
            for y in range(grid_min[1], grid_max[1] + 1)
            for x in range(grid_min[0], grid_max[0] + 1) if (x, y, z) not in tiles]
    if gaps and missing == 'error':
        names = [format_position(p, pattern, first_index) for p in gaps]
        more = ' and %d more' % (len(names) - _MAX_LISTED) if len(names) > _MAX_LISTED else ''
        raise InputError('%d tile%s missing from the grid: %s%s (use missing zero to fill'
                         ' them with zeros)' % (len(gaps), 's are' if len(gaps) > 1 else ' is',
                                                ', '.join(names[:_MAX_LISTED]), more))
    name = _set_name(paths)
    tileset = TileSet(tiles, tile_shape, grid_min, grid_max, gaps, pattern, first_index,
                      cache_bytes=cache_bytes, name=name, inflate=inflate)
    # What another process needs to open the same tile set (a cluster's workers).
    tileset.open_arguments = dict(source=[os.path.abspath(p) for p in paths], dataset=dataset,
                                  pattern=pattern, first_index=first_index, missing=missing,
                                  axis_order=axis_order, inflate=inflate)
    return tileset


def _set_name(paths):
    folder = os.path.dirname(os.path.abspath(paths[0]))
    return os.path.basename(folder) or folder


def voxel_type(dtype, name, path):
    """The voxel type a tile of stored type ``dtype`` is read as: numbers only (ChimeraX
    maps are numeric); float16, which ChimeraX cannot show, is read as float32."""
    dtype = np.dtype(dtype)
    if dtype.kind == 'f' and dtype.itemsize == 2:
        return np.dtype(np.float32)
    if dtype.kind in 'iuf' and dtype.itemsize <= 8:
        return dtype.newbyteorder('=')
    what = {'c': 'complex numbers', 'b': 'true/false values', 'S': 'text', 'U': 'text',
            'O': 'Python objects or text', 'V': 'records (compound data)'}.get(dtype.kind,
                                                                           str(dtype))
    raise InputError('tile %s holds %s (%s), not map data (integers or floats)'
                     % (name, what, dtype), path)


def check_geometry(voxel_size, origin):
    """InputError unless the voxel size is positive and finite and the origin finite."""
    voxel_size = tuple(float(v) for v in voxel_size)
    if not all(np.isfinite(v) and v > 0 for v in voxel_size):
        raise InputError('voxelSize must be positive and finite, not %s'
                         % ','.join('%g' % v for v in voxel_size))
    if origin is not None:
        origin = tuple(float(v) for v in origin)
        if not all(np.isfinite(v) for v in origin):
            raise InputError('origin must be finite, not %s' % ','.join('%g' % v for v in origin))
    return voxel_size, origin


def _check_dtypes(tiles):
    counts = Counter(t.dtype.newbyteorder('=') for t in tiles.values())
    common = counts.most_common(1)[0][0]
    for t in tiles.values():
        if t.dtype.newbyteorder('=') != common:
            raise InputError('tile %s is %s, the others %s' % (t.name, t.dtype.name, common.name),
                             t.path)


def _check_sizes(tiles, grid_max):
    """Interior tile size (z,y,x); every tile must have it, except far-edge tiles, which
    need only agree with each other along the axis where they are at the edge."""
    axis_names = 'zyx'
    tile_shape = []
    for a in range(3):
        p = 2 - a               # the position index (x,y,z) of axis a (z,y,x)
        inner = Counter(t.shape[a] for t in tiles.values() if t.position[p] < grid_max[p])
        edge = Counter(t.shape[a] for t in tiles.values() if t.position[p] == grid_max[p])
        size = inner.most_common(1)[0][0] if inner else edge.most_common(1)[0][0]
        edge_size = edge.most_common(1)[0][0]
        for t in tiles.values():
            at_edge = t.position[p] == grid_max[p]
            want = edge_size if at_edge else size
            if t.shape[a] != want:
                where = ('far-edge tiles along %s are' % axis_names[a]) if at_edge else \
                    'interior tiles are'
                raise InputError('tile %s is %s voxels (x,y,z), but %s %d along %s'
                                 % (t.name, ' x '.join(map(str, reversed(t.shape))), where,
                                    want, axis_names[a]), t.path)
        tile_shape.append(size)
    return tuple(tile_shape)
