"""Read regions of a Chimera map's arrays chunk by chunk, with one open file and threads.

ChimeraX's cmap reader (PyTables) opens the file for every region it reads, so HDF5's
chunk cache never outlives a region, and decompresses the chunks one after the other
with Python's GIL held.  A full-resolution xy plane of the map combine writes touches
hundreds of thin chunks, so its time goes to per-chunk overhead, not to decompression
(docs/performance.md, "Viewing speed").  Here a region is read with one opening of the
file: the calling thread reads the stored bytes of the chunks it touches in file order
(h5py direct chunk reads, which skip the filters), and worker threads Blosc-decompress
them (numcodecs, which releases the GIL), each into its own chunk buffer from which its
part of the region is copied, while the next chunks are read.  Only arrays stored with
the Blosc filter alone (what ``connectome combine`` writes by default, and ChimeraX's
``save ... compressMethod blosc...``) are read so: ``map_levels`` leaves any other out,
and the caller keeps its own reader.  The file is opened for each region, as ChimeraX
does, so it is never held open (nor locked) between reads.  Memory: one chunk buffer a
worker thread, and at most BATCH_BYTES of stored chunks waiting, besides the
region.  Pure: h5py, numcodecs, numpy.
"""

import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np
from numcodecs import blosc as nblosc
from numcodecs import lz4 as nlz4

from .cmap import BLOSC_FILTER, arrays_by_shape

WORKERS = max(1, min(8, os.cpu_count() or 1))
BATCH_BYTES = 2 ** 24       # stored bytes read before they are decompressed
_pool = None
_pool_lock = threading.Lock()
_buffers = threading.local()


def _executor():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix='connectome-cmap-read')
        return _pool


def map_levels(path):
    """{shape (z,y,x): LevelReader} of the 3-d arrays in the image groups of the Chimera
    map ``path`` that are chunked and stored with the Blosc filter alone; a shape two
    arrays share is left out (which is which is not known by shape).  {} for a symbolic
    link (never followed) or a file h5py cannot read."""
    try:
        if os.path.islink(path):
            return {}
        with h5py.File(path, 'r') as f:
            return {s: LevelReader(path, d) for s, d in arrays_by_shape(f).items()
                    if d.chunks is not None and _blosc_only(d)}
    except (OSError, RuntimeError, KeyError, ValueError):
        return {}


def _blosc_only(dataset):
    plist = dataset.id.get_create_plist()
    return plist.get_nfilters() == 1 and plist.get_filter(0)[0] == BLOSC_FILTER


class LayoutChanged(ValueError):
    """The file no longer holds the array as it was when the reader was made (written
    again under its name): the caller reads it afresh its own way."""


class LevelReader:
    """Regions (z,y,x, step 1) of one Blosc-chunked array of a file.  ``log``: set (on
    an instance or the class) to something with ``append`` to have (array path, z, y, x
    chunk index) of every chunk decompressed appended to it (tests, bench)."""

    log = None

    def __init__(self, path, dataset):
        self.path = path
        self.name = dataset.name
        self.shape = dataset.shape
        self.chunks = dataset.chunks
        self.dtype = dataset.dtype
        fill = dataset.fillvalue
        self.fill = 0 if fill is None else fill

    def read(self, origin, size):
        """The region ``origin`` (z,y,x) of ``size`` voxels, as a new array.  Raises
        LayoutChanged where the file's array is no longer the one described."""
        out = np.empty(tuple(size), self.dtype)
        if out.size == 0:
            return out
        lo = tuple(int(o) for o in origin)
        hi = tuple(o + int(n) for o, n in zip(lo, size))
        if min(lo) < 0 or any(h > n for h, n in zip(hi, self.shape)):
            raise ValueError('region %s + %s is outside %s %s'
                             % (tuple(origin), tuple(size), self.path, self.shape))
        batch, held = [], 0
        # Fewer planes than a chunk holds: each chunk's LZ4 streams for them only, a
        # few microseconds each, where threads would cost more in waits for the GIL.
        threads = hi[0] - lo[0] >= self.chunks[0]
        with h5py.File(self.path, 'r') as f:
            d = f.get(self.name)
            if not (isinstance(d, h5py.Dataset) and d.shape == self.shape
                    and d.chunks == self.chunks and d.dtype == self.dtype
                    and _blosc_only(d)):
                raise LayoutChanged('%s changed since it was opened' % self.path)
            read_chunk = d.id.read_direct_chunk
            # Per axis: each chunk's start, its part of the region in chunk and in
            # region coordinates.
            axes = [[(k, slice(max(l, k) - k, min(h, k + c) - k),
                      slice(max(l, k) - l, min(h, k + c) - l))
                     for k in range(l - l % c, h, c)]
                    for l, h, c in zip(lo, hi, self.chunks)]
            for z, zi, zw in axes[0]:
                for y, yi, yw in axes[1]:
                    for x, xi, xw in axes[2]:
                        try:
                            mask, data = read_chunk((z, y, x))
                        except RuntimeError as e:
                            if 'not allocated' not in str(e):
                                raise
                            out[zw, yw, xw] = self.fill     # never written
                            continue
                        if mask:
                            raise ValueError('%s: chunk at %s skips its filter'
                                             % (self.path, (z, y, x)))
                        batch.append((data, (z, y, x), (zi, yi, xi), (zw, yw, xw)))
                        held += len(data)
                        if held >= BATCH_BYTES:
                            self._decode_all(out, batch, threads)
                            batch, held = [], 0
        self._decode_all(out, batch, threads)
        return out

    def _decode_all(self, out, batch, threads=True):
        # Read first, then decompressed by all workers at once: reading between
        # decompressions would wait for the GIL behind every worker.
        n = min(WORKERS if threads else 1, len(batch))
        if n <= 1:
            self._decode(out, batch)
            return
        for f in [_executor().submit(self._decode, out, batch[i::n]) for i in range(n)]:
            f.result()

    def _decode(self, out, jobs):
        buf = getattr(_buffers, 'chunk', None)
        nbytes = int(np.prod(self.chunks)) * self.dtype.itemsize
        if buf is None or buf.nbytes < nbytes:
            buf = _buffers.chunk = np.empty(nbytes, np.uint8)
        chunk = buf[:nbytes].view(self.dtype).reshape(self.chunks)
        log, plane = self.log, nbytes // self.chunks[0]
        for data, corner, inner, where in jobs:
            z0, z1 = inner[0].start, inner[0].stop
            part = (lz4_planes(data, z0 * plane, z1 * plane, nbytes)
                    if z1 - z0 < self.chunks[0] else None)
            if part is not None:
                part = np.frombuffer(part, self.dtype).reshape((z1 - z0,) + self.chunks[1:])
                out[where] = part[(slice(None),) + inner[1:]]
            else:
                held = _held_bytes(data)
                if held != nbytes:      # else part of the chunk buffer would be stale
                    raise ValueError('%s: chunk at %s holds %d bytes, not %d'
                                     % (self.path, corner, held, nbytes))
                nblosc.decompress(data, chunk)
                out[where] = chunk[inner]
            if log is not None:
                log.append((self.name,)
                           + tuple(c // n for c, n in zip(corner, self.chunks)))


_HEADER = struct.Struct('<BBBBiiii')    # Blosc's header and its first block's start
_NBYTES = struct.Struct('<I')            # the bytes a Blosc buffer holds, at offset 4


def _held_bytes(data):
    """The uncompressed size a Blosc buffer states in its header (numcodecs'
    ``cbuffer_sizes`` says the same, but is deprecated from numcodecs 0.16)."""
    if len(data) < 16:
        return -1
    return _NBYTES.unpack_from(data, 4)[0]
_SIZE = struct.Struct('<i')


def lz4_planes(data, start, stop, chunk_bytes=None):
    """Bytes ``start:stop`` (a memoryview) of the Blosc chunk ``data``, decompressing
    only the parts that hold them, or None where its encoding does not allow that.  Blosc (format 2)
    stores a chunk of one block as ``typesize`` streams compressed apart, one after the
    other (a 64 x 64 x 8 uint32 chunk: 4 streams of 2 planes), so one plane of a
    chunk needs one stream.  Only one-block chunks of LZ4 or LZ4HC streams, neither
    shuffled nor bitshuffled, and whose streams account for every byte, are read so;
    a stored (memcpyed) chunk is sliced.  ``chunk_bytes``: the chunk's size, where known
    (None is returned for a chunk of another size)."""
    if len(data) < 20:
        return None
    version, _, flags, typesize, nbytes, blocksize, cbytes, pos = _HEADER.unpack_from(data)
    if (version != 2 or cbytes != len(data) or not 0 <= start < stop <= nbytes
            or chunk_bytes not in (None, nbytes)):
        return None
    if flags & 0x2:                             # stored as is
        return memoryview(data)[16 + start:16 + stop] if cbytes == 16 + nbytes else None
    if flags & 0x5 or flags >> 5 != 1 or blocksize != nbytes:   # shuffled, not LZ4
        return None
    splits = 1 if flags & 0x10 or typesize > 16 else typesize
    size = nbytes // splits
    if size * splits != nbytes:
        return None
    streams = []
    for _ in range(splits):
        n = _SIZE.unpack_from(data, pos)[0] if pos + 4 <= cbytes else -1
        if not 0 < n <= size or pos + 4 + n > cbytes:
            return None
        streams.append((pos + 4, n))
        pos += 4 + n
    if pos != cbytes:
        return None
    view = memoryview(data)
    parts = []
    for i in range(start // size, (stop - 1) // size + 1):
        p, n = streams[i]
        parts.append(view[p:p + n] if n == size
                     else nlz4.decompress(_SIZE.pack(size) + view[p:p + n]))
    whole = memoryview(parts[0] if len(parts) == 1 else b''.join(parts))
    first = (start // size) * size
    return whole[start - first:stop - first]
