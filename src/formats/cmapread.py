"""Read regions of a Chimera map's arrays chunk by chunk, with one open file and threads.

ChimeraX's cmap reader (PyTables) opens the file for every region it reads, so HDF5's
chunk cache never outlives a region, and decompresses the chunks one after the other
with Python's GIL held.  A full-resolution xy plane of the map combine writes touches
hundreds of thin chunks, so its time goes to per-chunk overhead, not to decompression
(docs/performance.md, "Viewing speed").  Here a region is read with one opening of the
file: the kernel is first asked to read ahead the chunks it touches, where the map has a
chunk index (formats/readahead.py; combine writes one), then the calling thread reads
their stored bytes in chunk order z, y, x (which is file order where combine wrote them
sorted), with h5py direct chunk reads, which skip the filters; once BATCH_BYTES of them
are read, worker threads Blosc-decompress them (numcodecs, which releases the GIL), each
into its own chunk buffer from which its part of the region is copied, and the calling
thread waits for them before reading more (reading between decompressions would wait for
the GIL behind every worker).  A region fewer planes deep than a chunk, or one plane deep
(a lone xy plane), is read in the calling thread alone, each chunk decoded as it is
read: only the LZ4 streams Blosc stored its planes in are decompressed (``lz4_planes``),
and the work a chunk is a few microseconds, where handing chunks to threads costs more
in waits for the GIL.  Only arrays stored with the Blosc filter alone (what ``connectome
combine`` writes by default, and ChimeraX's ``save ... compressMethod blosc...``) are
read so: ``map_levels`` leaves any other out, and the caller keeps its own reader.  The
file is opened for each region, as ChimeraX does, so it is never held open (nor locked)
between reads.  Memory: one chunk buffer a worker thread, and at most BATCH_BYTES of
stored chunks waiting, besides the region.  Pure: h5py, numcodecs, numpy.
"""

import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np
from h5py import h5d, h5f
from numcodecs import blosc as nblosc
from numcodecs import lz4 as nlz4

from .cmap import BLOSC_FILTER, arrays_by_shape
from .readahead import ReadAhead

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


def _chunked_blosc_only(dsid):
    """The chunk shape of the low-level dataset ``dsid`` where it is chunked and
    stored with the Blosc filter alone, else None."""
    plist = dsid.get_create_plist()
    if (plist.get_layout() != h5d.CHUNKED or plist.get_nfilters() != 1
            or plist.get_filter(0)[0] != BLOSC_FILTER):
        return None
    return plist.get_chunk()


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

    def read(self, origin, size, out=None, ahead=None):
        """The region ``origin`` (z,y,x) of ``size`` voxels, as a new array or into
        ``out`` (an array of that shape and the level's type, such as the slab read
        before: memory already in use, where a new array's pages are all faulted in
        afresh).  ``ahead``: (origin, size) of a region to ask the kernel for once this
        one is read, in the same opening of the file (the next slabs of a slicing
        movie), from the map's chunk index; nothing where it has none.  Raises
        LayoutChanged where the file's array is no longer the one described."""
        if out is None:
            out = np.empty(tuple(size), self.dtype)
        elif out.shape != tuple(size) or out.dtype != self.dtype:
            raise ValueError('out is %s %s, not %s %s'
                             % (out.shape, out.dtype, tuple(size), self.dtype))
        if out.size == 0:
            return out
        lo = tuple(int(o) for o in origin)
        hi = tuple(o + int(n) for o, n in zip(lo, size))
        if min(lo) < 0 or any(h > n for h, n in zip(hi, self.shape)):
            raise ValueError('region %s + %s is outside %s %s'
                             % (tuple(origin), tuple(size), self.path, self.shape))
        # One plane is read as a thin region even from chunks one plane thin (an
        # image's): handing a plane's chunks to worker threads costs more in waits than
        # it saves, above all for chunks Blosc stored as they are (EM noise).
        thin = hi[0] - lo[0] < self.chunks[0] or hi[0] - lo[0] == 1
        # h5py's low-level interface: h5py.File's opening and closing add Python-level
        # work (property lists, object bookkeeping) to every region, measurable against
        # a lone plane's reading from the page cache.
        fid = h5f.open(os.fsencode(self.path), h5f.ACC_RDONLY)
        d = None
        try:
            try:
                d = h5d.open(fid, self.name.encode())
            except KeyError:        # no dataset by that name
                pass
            if not (d is not None and d.shape == self.shape and d.dtype == self.dtype
                    and _chunked_blosc_only(d) == self.chunks):
                raise LayoutChanged('%s changed since it was opened' % self.path)
            # Per axis: each chunk's start, its part of the region in chunk and in
            # region coordinates.
            axes = [[(k, slice(max(l, k) - k, min(h, k + c) - k),
                      slice(max(l, k) - l, min(h, k + c) - l))
                     for k in range(l - l % c, h, c)]
                    for l, h, c in zip(lo, hi, self.chunks)]
            asking = ReadAhead.of(self, fid, axes)
            read_chunk = d.read_direct_chunk if asking is None else asking.wrap(
                d.read_direct_chunk)
            if thin:
                # Fewer planes than a chunk holds: each chunk's LZ4 streams for them
                # only, decoded as each chunk is read, in this thread (a few
                # microseconds a chunk, where threads would cost more in GIL waits).
                self._read_thin(out, read_chunk, axes)
            else:
                self._read_whole(out, read_chunk, axes)
            if ahead is not None:
                self._ask(fid, *ahead)
        finally:
            # The default (weak) close degree, as h5py.File's and PyTables' (opens of
            # one file in one process must agree): the file closes with its last
            # identifier.
            if d is not None:
                d.close()
            fid.close()
        return out

    def _ask(self, fid, origin, size):
        # Ask the kernel for the chunks of the region ``origin`` (z,y,x) of ``size``
        # voxels, clipped to the array, from the chunk index of the open file ``fid``
        # (formats/readahead.py); nothing where it has none.  Reads no voxels.
        lo = [max(0, int(o)) for o in origin]
        hi = [min(n, o + int(k)) for o, k, n in zip(origin, size, self.shape)]
        if any(h <= o for o, h in zip(lo, hi)):
            return
        axes = [[(k,) for k in range(l - l % c, h, c)]
                for l, h, c in zip(lo, hi, self.chunks)]
        ahead = ReadAhead.of(self, fid, axes, least=1)
        if ahead is not None:
            ahead.ask(0)

    def _read_thin(self, out, read_chunk, axes):
        # The chunks of one file share their Blosc header but for their compressed
        # size; the first one read is checked in full (_one_block_plan), the others
        # against it, their streams walked and counted (every byte, each at most its
        # size).  Any chunk that differs goes through lz4_planes, or is decoded whole.
        chunks, dtype, fill, name = self.chunks, self.dtype, self.fill, self.name
        nbytes = int(np.prod(chunks)) * dtype.itemsize
        plane = nbytes // chunks[0]
        log, frombuffer, decompress = self.log, np.frombuffer, nlz4.decompress
        unpack_head, unpack_size = _FAST.unpack_from, _SIZE.unpack_from
        whole = None
        cy, cx = chunks[1:]
        xs = [(x, xi, xw, xi.start == 0 and xi.stop == cx) for x, xi, xw in axes[2]]
        for z, zi, zw in axes[0]:
            z0, z1 = zi.start, zi.stop
            start, stop, shape = z0 * plane, z1 * plane, (z1 - z0,) + chunks[1:]
            plan = False        # not yet made from the row's first chunk
            for y, yi, yw in axes[1]:
                full_y = yi.start == 0 and yi.stop == cy
                for x, xi, xw, full_x in xs:
                    try:
                        mask, data = read_chunk((z, y, x))
                    except RuntimeError as e:
                        if 'not allocated' not in str(e):
                            raise
                        out[zw, yw, xw] = fill      # never written
                        continue
                    if mask:
                        raise ValueError('%s: chunk at %s skips its filter'
                                         % (self.path, (z, y, x)))
                    if plan is False:
                        plan = _one_block_plan(data, start, stop, nbytes)
                        if plan is not None:
                            head, streams, each, first, last, skip, prefix = plan
                            exact = not skip and (last + 1 - first) * each == stop - start
                    part, size = None, len(data)
                    if (plan is not None and size >= 24
                            and unpack_head(data) == head + (size, 20)):
                        # Every stream more than nothing and at most its size, and
                        # all of them ending where the chunk does.
                        pos = 20
                        for i in streams:
                            if pos + 4 > size:
                                break
                            n = unpack_size(data, pos)[0]
                            if not 0 < n <= each:
                                break
                            if i == first:
                                begin, held = pos + 4, n
                            pos += 4 + n
                        else:
                            if pos == size:
                                if first != last:
                                    part = _decode_streams(data, begin - 4, first, last,
                                                           each, prefix, decompress)
                                elif held == each:          # stored as is
                                    part = memoryview(data)[begin:begin + held]
                                else:
                                    held = memoryview(data)[begin:begin + held]
                                    part = decompress(prefix + held)
                                if not exact:
                                    part = memoryview(part)[skip:skip + stop - start]
                    if part is None:
                        part = lz4_planes(data, start, stop, nbytes)
                    if part is not None:
                        part = frombuffer(part, dtype).reshape(shape)
                        out[zw, yw, xw] = part if full_y and full_x else part[:, yi, xi]
                    else:
                        if whole is None:
                            whole = np.empty(chunks, dtype)
                        self._decode_whole(data, whole, (z, y, x), nbytes)
                        out[zw, yw, xw] = whole[zi, yi, xi]
                    if log is not None:
                        log.append((name, z // chunks[0], y // chunks[1], x // chunks[2]))

    def _read_whole(self, out, read_chunk, axes):
        batch, held = [], 0
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
                        self._decode_all(out, batch)
                        batch, held = [], 0
        self._decode_all(out, batch)

    def _decode_all(self, out, batch):
        # Read first, then decompressed by all workers at once: reading between
        # decompressions would wait for the GIL behind every worker.
        n = min(WORKERS, len(batch))
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
                self._decode_whole(data, chunk, corner, nbytes)
                out[where] = chunk[inner]
            if log is not None:
                log.append((self.name,)
                           + tuple(c // n for c, n in zip(corner, self.chunks)))

    def _decode_whole(self, data, chunk, corner, nbytes):
        held = _held_bytes(data)
        if held != nbytes:      # else part of the chunk buffer would be stale
            raise ValueError('%s: chunk at %s holds %d bytes, not %d'
                             % (self.path, corner, held, nbytes))
        nblosc.decompress(data, chunk)


_HEADER = struct.Struct('<BBBBiii')     # Blosc's header
_NBYTES = struct.Struct('<I')            # the bytes a Blosc buffer holds, at offset 4
_SIZE = struct.Struct('<i')
_FAST = struct.Struct('<4siiii')    # the header's first bytes, sizes, first block start
_MAX_SPLITS, _MIN_SPLIT = 16, 128       # c-blosc's MAX_SPLITS and MIN_BUFFERSIZE


def _one_block_plan(data, start, stop, nbytes):
    """How bytes ``start:stop`` of a Blosc chunk of ``nbytes`` like ``data`` are read
    from its streams, where it is of one block of unshuffled LZ4 streams, else None:
    (its header as _FAST reads it less the compressed size and first block's start,
    streams, bytes a stream, first and last stream wanted, bytes to skip in the first,
    numcodecs' LZ4 size prefix)."""
    if len(data) < 24 or not 0 <= start < stop <= nbytes:
        return None
    version, _, flags, typesize, held, blocksize, cbytes = _HEADER.unpack_from(data)
    if (version != 2 or held != nbytes or blocksize != nbytes or cbytes != len(data)
            or flags & 0xf or flags >> 5 != 1):     # shuffled, stored, delta; not LZ4
        return None
    splits = _splits(flags, typesize, blocksize, blocksize)
    each = nbytes // splits
    if each * splits != nbytes:
        return None
    first, last = start // each, (stop - 1) // each
    return (_FAST.unpack_from(data)[:3], range(splits), each, first, last,
            start - first * each, _SIZE.pack(each))


def _splits(flags, typesize, blocksize, bsize):
    # c-blosc's blosc_d: a block is stored as typesize streams unless flagged unsplit,
    # typesize is over MAX_SPLITS, a stream would be under MIN_BUFFERSIZE bytes, or it
    # is the last, shorter block.
    if (flags & 0x10 or typesize > _MAX_SPLITS or bsize != blocksize
            or bsize // typesize < _MIN_SPLIT):
        return 1
    return typesize


def _decode_streams(data, pos, first, last, each, prefix, decompress):
    """Streams ``first`` to ``last`` of a block whose stream ``first`` starts at
    ``pos`` (its 4-byte size), decoded and joined; a stream of ``each`` bytes is
    stored as is."""
    view, parts = memoryview(data), []
    for _ in range(first, last + 1):
        n = _SIZE.unpack_from(data, pos)[0]
        pos += 4
        stream = view[pos:pos + n]
        parts.append(stream if n == each else decompress(prefix + stream))
        pos += n
    return parts[0] if len(parts) == 1 else b''.join(parts)


def _held_bytes(data):
    """The uncompressed size a Blosc buffer states in its header (numcodecs'
    ``cbuffer_sizes`` says the same, but is deprecated from numcodecs 0.16)."""
    if len(data) < 16:
        return -1
    return _NBYTES.unpack_from(data, 4)[0]


def lz4_planes(data, start, stop, chunk_bytes=None):
    """Bytes ``start:stop`` (bytes or a memoryview) of the Blosc chunk ``data``,
    decompressing only the LZ4 streams that hold them, or None where its encoding does
    not allow that.  Blosc (format 2) cuts a chunk into blocks (their starts follow the
    16-byte header) and stores each block as ``typesize`` streams compressed apart, one
    after the other, where the block allows (c-blosc: not flagged unsplit, typesize at
    most 16, at least 128 bytes a stream, not the last, shorter block); so one plane of
    a 4 x 128 x 128 uint32 chunk of one block is one stream.  Only LZ4 or LZ4HC
    streams, neither shuffled nor bitshuffled, are read so, and only where the streams
    of every block read account for each of its bytes (blocks may lie in any order:
    c-blosc's threads store them as they finish); each stream decodes to its exact size
    (numcodecs checks).  A stored (memcpyed) chunk is sliced.  ``chunk_bytes``: the
    chunk's size, where known (None is returned for a chunk of another size)."""
    size_ = len(data)
    if size_ < 16:
        return None
    version, _, flags, typesize, nbytes, blocksize, cbytes = _HEADER.unpack_from(data)
    if (version != 2 or cbytes != size_ or not 0 <= start < stop <= nbytes
            or (chunk_bytes is not None and chunk_bytes != nbytes)):
        return None
    if flags & 0x2:                             # stored as is
        return memoryview(data)[16 + start:16 + stop] if cbytes == 16 + nbytes else None
    if flags & 0xd or flags >> 5 != 1 or blocksize <= 0:    # shuffled, delta; not LZ4
        return None
    if blocksize >= nbytes:
        first = last = 0
        ends = {20: cbytes}
        if cbytes < 20 or _SIZE.unpack_from(data, 16)[0] != 20:
            return None
    else:
        blocks = -(-nbytes // blocksize)
        starts = (struct.unpack_from('<%di' % blocks, data, 16)
                  if cbytes >= 16 + 4 * blocks else ())
        order = sorted(starts)
        if (not order or order[0] != 16 + 4 * blocks or order[-1] >= cbytes
                or len(set(order)) != blocks):
            return None
        ends = dict(zip(order, order[1:] + [cbytes]))
        first, last = start // blocksize, (stop - 1) // blocksize
    decompress = nlz4.decompress
    parts = []
    for j in range(first, last + 1):
        base = j * blocksize
        bsize = min(blocksize, nbytes - base)
        splits = _splits(flags, typesize, blocksize, bsize)
        size = bsize // splits
        if size * splits != bsize:
            return None
        pos = 20 if blocksize >= nbytes else _SIZE.unpack_from(data, 16 + 4 * j)[0]
        end = ends[pos]
        want_lo = (max(start, base) - base) // size
        want_hi = (min(stop, base + bsize) - 1 - base) // size
        prefix = _SIZE.pack(size)
        view = memoryview(data)
        for i in range(splits):
            n = _SIZE.unpack_from(data, pos)[0] if pos + 4 <= end else -1
            if not 0 < n <= size or pos + 4 + n > end:
                return None
            if want_lo <= i <= want_hi:
                p = pos + 4
                stream = view[p:p + n]
                parts.append(stream if n == size else decompress(prefix + stream))
            pos += 4 + n
        if pos != end:
            return None
        if j == first:
            skip = start - base - want_lo * size
    whole = parts[0] if len(parts) == 1 else b''.join(parts)
    if skip == 0 and len(whole) == stop - start:
        return whole
    return memoryview(whole)[skip:skip + stop - start]
