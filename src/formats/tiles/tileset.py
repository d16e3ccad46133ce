"""The stitched volume of a tile set: ``TileSet.read`` returns any block of it, touching
only the tiles and HDF5 chunks the block needs.

Chunks stored with deflate and shuffle (what gzip-compressed tiles use) are read as raw
bytes and inflated with libdeflate (PyPI ``deflate``: faster than zlib, which HDF5's
own filter uses; ``inflate='zlib'`` keeps zlib, for comparison); both release Python's
GIL, so threads read in parallel.  Chunks with other filters (Blosc, LZF, ...) go through
h5py's filter pipeline, on the thread that makes HDF5 calls (``TileSet.filtered_tiles``
names them so that callers can say so).  Pure: no ChimeraX.

Index order: the stitched volume is z,y,x (numpy order, as the authors' tiles are
stored); grid positions are x,y,z.
"""

import os
import threading
import zlib
from collections import Counter

import deflate
import numpy as np

from ...blocks import block_extent, ceil_div
from ...errors import InputError
from ..source import VolumeSource
from .files import ChunkCache, Handles, RawFiles
from .tilefile import DEFLATE, SHUFFLE, voxel_type

INFLATERS = ('libdeflate', 'zlib')


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


class TileSet(VolumeSource):
    """The stitched z,y,x volume of a tile set, a VolumeSource (formats/source.py).

    ``shape``: z,y,x size of the bounding grid of the tiles present; ``offset``: z,y,x
    voxel index of its first voxel in the tiles' own grid (nonzero when the lowest
    positions are absent); ``tile_shape``: z,y,x size of an interior tile;
    ``missing``: positions (x,y,z) inside the bounding grid with no file, read as zeros;
    ``tiles``: position -> TileFile.  Tiles carry no voxel size or origin.  ``spec``:
    how a cluster's workers open the same tile set (formats/tiles/opening.py TilesSpec).
    """

    voxel_size = None
    origin = None

    def __init__(self, tiles, tile_shape, grid_min, grid_max, missing, pattern,
                 first_index, cache_bytes=256 * 2**20, name='', inflate='libdeflate',
                 spec=None):
        self.tiles = tiles                          # position -> TileFile
        self.tile_shape = tile_shape                # z,y,x
        self.pattern = pattern
        self.first_index = first_index
        self.missing = missing
        self.name = name
        self.spec = spec
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
        self._handles = Handles()
        self._raw = RawFiles()
        self._cache = ChunkCache(cache_bytes)
        if inflate not in INFLATERS:
            raise ValueError('inflate must be one of %s' % ', '.join(INFLATERS))
        self.inflate = inflate
        self._stats_lock = threading.Lock()
        self.chunks_read = 0            # tile chunks decompressed (or read) so far
        self.bytes_read = 0             # their decompressed size

    def __repr__(self):
        return 'TileSet(%s: %d tiles, %s voxels x,y,z, %s)' % (
            self.name, len(self.tiles), ' x '.join(map(str, reversed(self.shape))), self.dtype)

    def set_cache_limit(self, nbytes):
        """Bytes of partly used tile chunks to keep for the reads that need the rest."""
        self._cache.capacity = nbytes

    def close(self):
        self._handles.close()
        self._raw.close()
        self._cache.clear()

    def worker_spec(self):
        return self.spec

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
            if code == DEFLATE:
                data = self._inflate(data, expect, tile, c0)
            elif code == SHUFFLE and itemsize > 1:
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
