"""A neuroglancer precomputed scale read chunk file by chunk file, for the chunks
tensorstore cannot read: files compressed on disk (``x0-x1_y0-y1_z0-z1.gz``, what
CloudVolume and Igneous write to local disk by default, or ``.br``, ``.zstd``, ``.bz2``,
``.xz``, cloudfiles' other names) and the
seung-lab encodings ``compresso`` and ``crackle``.  Each chunk is decompressed and
decoded in the reading path with the field's libraries (zlib, brotli, zstandard,
compressed_segmentation, compresso, crackle); the user's store is never rewritten.

``ChunkFiles`` (spec.py's LevelSpec.chunk_files) says how one scale's chunks are stored;
``ChunkFileView`` reads it with the small part of a tensorstore view's interface that
store.py's StoreLevel uses (``domain``, ``view[sel].read()`` giving a future), so a level
is read the same way whichever reads it.  Decoded chunks are kept in a cache of bounded
bytes.  Local chunk files are opened without following a symbolic link; a remote
store's (compresso or crackle; its compressed chunks come with HTTP Content-Encoding,
which tensorstore reads) are fetched by the ``fetch`` opening.py gives, through
tensorstore's key-value stores, each fetch bounded in time.  Pure: no ChimeraX.

Index order: x,y,z in ChunkFiles (as the info file gives it); z,y,x in the view.
"""

import bz2
import collections
import concurrent.futures
import errno
import lzma
import os
import threading
import zlib
from dataclasses import dataclass
from typing import Tuple

import numpy as np

# Suffixes of compressed chunk files, tried in this order after the one a scale shows.
# CloudVolume's (cloudfiles') names: .gz, .br, .zstd, .bz2, .xz.
SUFFIXES = ('', '.gz', '.br', '.zstd', '.bz2', '.xz', '.zst')
# Encodings read here (tensorstore reads raw and compressed_segmentation chunks that are
# not compressed on disk, and jpeg and png).
ENCODINGS = ('raw', 'compressed_segmentation', 'compresso', 'crackle')


@dataclass(frozen=True)
class ChunkFiles:
    """How a precomputed scale's chunks are stored: in ``folder`` (local; '' when remote:
    ``key``, the scale's folder in the store, is then fetched), one file per chunk named
    ``x0-x1_y0-y1_z0-z1`` + ``suffix`` ('' or one of SUFFIXES; the others are tried
    when that one is absent), encoded ``encoding``; ``size``, ``voxel_offset``,
    ``chunk_size`` and ``block_size`` (compressed_segmentation's) x,y,z; ``channels``
    and the stored ``dtype``."""
    folder: str
    encoding: str
    suffix: str
    size: Tuple[int, int, int]
    voxel_offset: Tuple[int, int, int]
    chunk_size: Tuple[int, int, int]
    block_size: Tuple[int, int, int] = (8, 8, 8)
    channels: int = 1
    dtype: str = 'uint8'
    key: str = ''


def suffix_in(folder, limit=50):
    """The compression suffix of the chunk files in ``folder`` ('' when plain or none
    seen), from the first ``limit`` entries."""
    try:
        with os.scandir(folder) as entries:
            for n, entry in enumerate(entries):
                for s in SUFFIXES[1:]:
                    if entry.name.endswith(s):
                        return s
                if n >= limit:
                    break
    except OSError:
        pass
    return ''


class _Domain:
    def __init__(self, lo, hi):
        self.inclusive_min = tuple(lo)
        self.exclusive_max = tuple(hi)
        self.shape = tuple(h - l for l, h in zip(lo, hi))


class _Done:
    """A read already made: ``read()`` gives a finished future (what Deadline waits on)."""

    def __init__(self, call):
        self.call = call

    def read(self):
        future = concurrent.futures.Future()
        try:
            future.set_result(self.call())
        except BaseException as e:      # handed to whoever waits, as tensorstore does
            future.set_exception(e)
        return future


class ChunkFileView:
    """One scale (ChunkFiles), z,y,x, its index 0 at z,y,x ``base`` of the store's grid:
    ``domain``, ``chunk_shape``, ``view[sel]`` (slices z,y,x with steps) ``.read()``.
    Chunk files that are absent read as zeros; a chunk that cannot be decoded is a
    ValueError naming its file (store.py makes it an InputError naming the block)."""

    def __init__(self, files, channel=0, base=(0, 0, 0), cache_bytes=64 << 20, fetch=None):
        self.files = files
        self.fetch = fetch          # fetch(key, name): bytes or None, for a remote store
        self.channel = int(channel)
        self.dtype = np.dtype(files.dtype)
        lo = tuple(o - b for o, b in zip(reversed(files.voxel_offset), base))
        self.domain = _Domain(lo, tuple(v + n for v, n in zip(lo, reversed(files.size))))
        self.chunk_shape = tuple(reversed(files.chunk_size))
        self.cache = _ChunkCache(cache_bytes)

    def __getitem__(self, sel):
        return _Done(lambda: self._read(sel))

    def _read(self, sel):
        lo = self.domain.inclusive_min
        count = tuple(len(range(s.start, s.stop, s.step or 1)) for s in sel)
        out = np.zeros(count, self.dtype)
        cz, cy, cx = self.chunk_shape
        spans = [range((s.start - l) // c, (s.stop - 1 - l) // c + 1)
                 for s, l, c in zip(sel, lo, self.chunk_shape)]
        for kz in spans[0]:
            for ky in spans[1]:
                for kx in spans[2]:
                    k = (kz, ky, kx)
                    c0 = tuple(l + i * c for l, i, c in zip(lo, k, self.chunk_shape))
                    chunk = self._chunk(k)
                    dst, src = [], []
                    for s, a, n in zip(sel, c0, chunk.shape):
                        step = s.step or 1
                        # samples s.start + j*step inside [a, a + n)
                        j0 = max(0, -(-(a - s.start) // step))
                        j1 = min(len(range(s.start, s.stop, step)),
                                 -(-(a + n - s.start) // step))
                        dst.append(slice(j0, max(j0, j1)))
                        src.append(slice(s.start + j0 * step - a,
                                         s.start + max(j0, j1 - 1) * step - a + 1, step))
                    if all(d.stop > d.start for d in dst):
                        out[tuple(dst)] = chunk[tuple(src)]
        return out

    def _chunk(self, k):
        """Chunk k (z,y,x index) as a z,y,x array of the store's voxel type."""
        found = self.cache.get(k)
        if found is not None:
            return found
        f = self.files
        lo = [o + i * c for o, i, c in zip(f.voxel_offset, reversed(k), f.chunk_size)]
        hi = [min(a + c, o + n) for a, c, o, n in zip(lo, f.chunk_size, f.voxel_offset,
                                                      f.size)]
        shape = tuple(h - a for a, h in zip(lo, hi))            # x,y,z
        name = '%d-%d_%d-%d_%d-%d' % (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
        data, path = self._file(name)
        if data is None:
            a = np.zeros(tuple(reversed(shape)), self.dtype)
        else:
            a = decode(data, f, shape, self.channel, path)
        self.cache.put(k, a)
        return a

    def _file(self, name):
        """(the bytes of chunk file ``name`` decompressed, its path), or (None, None)."""
        if not self.files.folder:
            data = self.fetch(self.files.key, name)
            return (None, None) if data is None else (data, '%s/%s' % (self.files.key, name))
        first = self.files.suffix
        for suffix in (first,) + tuple(s for s in SUFFIXES if s != first):
            path = os.path.join(self.files.folder, name + suffix)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise ValueError('chunk file %s is a symbolic link, which is not'
                                     ' followed' % path)
                raise ValueError('cannot read chunk file %s: %s' % (path, e.strerror))
            with os.fdopen(fd, 'rb') as fh:
                raw = fh.read()
            return decompress(raw, suffix, path), path
        return None, None


def decompress(raw, suffix, path):
    try:
        if suffix == '.gz':
            return zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        if suffix == '.br':
            import brotli
            return brotli.decompress(raw)
        if suffix in ('.zstd', '.zst'):
            import zstandard
            return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        if suffix == '.bz2':
            return bz2.decompress(raw)
        if suffix == '.xz':
            return lzma.decompress(raw)
    except Exception as e:      # each library has its own error type
        raise ValueError('chunk file %s cannot be decompressed (%s): %s'
                         % (path, suffix, e))
    return raw


def decode(data, files, shape, channel, path):
    """A chunk's bytes (encoding ``files.encoding``, x,y,z ``shape``) as a z,y,x array of
    one channel."""
    dtype = np.dtype(files.dtype)
    full = tuple(shape) + (files.channels,)
    try:
        if files.encoding == 'raw':
            a = np.frombuffer(data, dtype.newbyteorder('<')).reshape(full, order='F')
        elif files.encoding == 'compressed_segmentation':
            import compressed_segmentation
            a = compressed_segmentation.decompress(data, full, dtype, files.block_size,
                                                   order='F')
        elif files.encoding == 'compresso':
            import compresso
            a = compresso.decompress(data).reshape(full, order='F')
        elif files.encoding == 'crackle':
            import crackle
            a = crackle.decompress(data).reshape(full, order='F')
        else:
            raise ValueError('encoding %s is not read from chunk files' % files.encoding)
    except ValueError as e:
        raise ValueError('chunk file %s (%s, %s voxels x,y,z) cannot be decoded: %s'
                         % (path, files.encoding, 'x'.join(map(str, shape)), e))
    except Exception as e:      # the decoders' own error types
        raise ValueError('chunk file %s (%s) cannot be decoded: %s: %s'
                         % (path, files.encoding, type(e).__name__, e))
    return np.ascontiguousarray(a[..., channel].T.astype(dtype.newbyteorder('='),
                                                         copy=False))


class _ChunkCache:
    """Decoded chunks, least recently used dropped first beyond ``limit`` bytes."""

    def __init__(self, limit):
        self.limit = int(limit)
        self.bytes = 0
        self.items = collections.OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            a = self.items.get(key)
            if a is not None:
                self.items.move_to_end(key)
            return a

    def put(self, key, a):
        with self.lock:
            if key in self.items or a.nbytes > self.limit:
                return
            self.items[key] = a
            self.bytes += a.nbytes
            while self.bytes > self.limit:
                _, old = self.items.popitem(last=False)
                self.bytes -= old.nbytes
