"""A chunked multiscale store, read where it lies: ``open_store`` reads and checks its
metadata (precomputed.py, zarr.py, n5.py make a StoreSpec of it), opens it with
tensorstore (opening.py) and returns a Store: its scales as levels (each a z,y,x view
read lazily, chunk by chunk), the voxel size and origin of the full resolution in
nanometres (x,y,z), its voxel type and whether it is a segmentation.

Level k is a downsampling of level 0 by whole factors (z,y,x): its voxel j covers
level-0 voxels j*f to (j+1)*f - 1 counted from the full resolution's first voxel, as
ChimeraX's subsampled maps expect.  Scales whose voxel size is no whole multiple of the
full resolution's are left out (``skipped`` says which).  Chunks a store lacks read as
zeros (the store's fill value), as neuroglancer shows them.

A Store is a formats/source.py VolumeSource over its full resolution, the store's chunks
standing for tiles, so ``connectome combine`` reads it as it reads a tile set:
tensorstore is thread-safe and releases Python's GIL while it reads and decodes, so
worker threads read blocks in parallel (``prepare`` is always True).  Pure: no ChimeraX.

Index order: z,y,x (numpy order) for shapes, starts and stops; x,y,z for voxel sizes,
origins and chunk positions, as ChimeraX gives them.
"""

import math
import threading
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from ...blocks import ceil_div
from ...errors import InputError
from ..sidecar import add_ids
from ..source import VolumeSource
from .location import FORMATS, Location, detect_format
from .n5 import n5_spec
from .opening import Deadline, Metadata, default_timeout, open_levels, reason, stored_dtype
from .idmap import COPY_ADVICE, IdMap
from .precomputed import precomputed_spec
from .spec import MAX_ID, check_voxel_size, voxel_type
from .zarr import zarr_spec

DEFAULT_CACHE_BYTES = 256 * 2**20
READ_BYTES = 64 << 20
_SPECS = {'precomputed': precomputed_spec, 'zarr': zarr_spec, 'n5': n5_spec}


def open_store(path, format=None, channel=0, cache_bytes=DEFAULT_CACHE_BYTES, timeout=None,
               compact_ids=None):
    """Read and check a store's metadata; returns a Store.  ``format`` is precomputed,
    zarr or n5 (found from the metadata when None); ``channel`` picks one channel of a
    multichannel store; ``timeout``: the seconds opening it, and then each read, may
    take (None: opening.default_timeout()); ``compact_ids``: whether a 64-bit store's
    ids are read through an id map (idmap.py; None: when a look at its coarsest scale
    finds an id that does not fit in 32 bits).  InputError naming the store for
    anything it cannot read, or when the time is up."""
    if format is not None and format not in FORMATS:
        raise ValueError('format must be one of %s' % ', '.join(FORMATS))
    timeout = default_timeout() if timeout is None else float(timeout)
    if not timeout > 0:
        raise InputError('timeout must be a positive number of seconds, not %g' % timeout)
    location = path if isinstance(path, Location) else Location(path, format)
    deadline = Deadline(location, timeout)
    metadata = Metadata(location, deadline)
    found = location.format or detect_format(metadata.read)
    if found is None:
        raise InputError('%s is not a neuroglancer precomputed, Zarr or N5 store (it has no'
                         ' info, .zarray, .zattrs, zarr.json or attributes.json)'
                         % location, location.text)
    try:
        spec = _SPECS[found](location, metadata.read, int(channel))
        stored = spec.stored_dtype if spec.stored_dtype is not None else \
            stored_dtype(spec, deadline)
        check_voxel_size(spec.voxel_size, location, 'the full resolution')
        store = Store(spec, stored, cache_bytes, timeout, deadline)
    except ValueError as e:         # tensorstore's errors
        raise InputError('%s cannot be read as %s: %s' % (location, found, reason(e)),
                         location.text)
    if not store.levels:
        raise InputError('%s has no readable scale' % location, location.text)
    if store.stored_dtype in MAX_ID:
        if compact_ids is None:
            compact_ids = store.probe_large_ids()
        if compact_ids:
            store.set_id_map(IdMap(where=str(location)))
    return store


class StoreLevel:
    """One scale: ``factors`` (z,y,x) to the full resolution, ``shape`` (z,y,x, the
    grid ChimeraX sees: the full resolution divided by the factors, rounded up),
    ``chunk_shape`` (z,y,x), ``key`` (the store's name for it)."""

    def __init__(self, store, view, factors, shape, chunk_shape, key):
        self.store = store
        self.view = view                    # tensorstore, dims z,y,x, grid coordinates
        self.factors = tuple(factors)
        self.shape = tuple(shape)
        self.chunk_shape = tuple(chunk_shape)
        self.key = key
        domain = view.domain
        self.data_start = tuple(int(v) for v in domain.inclusive_min)
        self.data_stop = tuple(int(v) for v in domain.exclusive_max)

    def __repr__(self):
        return 'StoreLevel(%s, factors %s, %s voxels z,y,x)' % (self.key, self.factors,
                                                              self.shape)

    def read(self, start=(0, 0, 0), stop=None, step=(1, 1, 1), stored=False):
        """The block [start, stop) of this level (z,y,x), every step-th voxel; parts
        outside the stored data, and chunks the store lacks, read as zeros.  As the
        store's voxel type, or its stored type (ids as they are) when ``stored``."""
        stop = self.shape if stop is None else stop
        start, stop, step = (tuple(int(v) for v in t) for t in (start, stop, step))
        for a in range(3):
            if not (0 <= start[a] < stop[a] <= self.shape[a]) or step[a] < 1:
                raise ValueError('block %s-%s step %s outside level %s'
                                 % (start, stop, step, self.shape))
        count = tuple(ceil_div(e - s, t) for s, e, t in zip(start, stop, step))
        # The samples start + k*step that lie in the stored data, along each axis.
        first = [max(0, ceil_div(lo - s, t)) for s, t, lo in zip(start, step, self.data_start)]
        last = [min(n, ceil_div(hi - s, t)) for s, t, n, hi in
                zip(start, step, count, self.data_stop)]
        out_type = np.dtype(self.store.stored_dtype) if stored else self.store.dtype
        if any(k1 <= k0 for k0, k1 in zip(first, last)):
            self.store._count(0, 0)
            return np.zeros(count, out_type)
        sel = tuple(slice(s + k0 * t, s + (k1 - 1) * t + 1, t)
                    for s, t, k0, k1 in zip(start, step, first, last))
        where = ', '.join('%d-%d' % (b.start, b.stop - 1) for b in sel)
        # The timeout for each READ_BYTES read, so a large block over a slow link is
        # not taken for a silent one.
        nbytes = math.prod(k1 - k0 for k0, k1 in zip(first, last)) * out_type.itemsize
        seconds = self.store.timeout * max(1, ceil_div(nbytes, READ_BYTES))
        try:
            a = Deadline(self.store.location, seconds).wait(
                self.view[sel].read(), 'reading %s voxels z,y,x %s' % (self.key, where))
        except ValueError as e:
            raise InputError('%s: reading %s voxels z,y,x %s failed: %s'
                             % (self.store.location, self.key, where, reason(e)),
                             self.store.location.text)
        if stored:
            out_type = a.dtype
        else:
            a = self.store.to_voxel_type(a, sel, self.key)
        chunks = int(np.prod([ceil_div(b.stop, c) - b.start // c
                              for b, c in zip(sel, self.chunk_shape)]))
        self.store._count(chunks, a.nbytes)
        if tuple(a.shape) == count:
            return a
        out = np.zeros(count, out_type)
        out[tuple(slice(k0, k1) for k0, k1 in zip(first, last))] = a
        return out

    def read_or_zeros(self, start, stop, step, report):
        """``read``, except that a block that cannot be read (a damaged chunk, an id
        that does not fit, no answer in time) is read again chunk by chunk: each chunk
        that fails is zeros, and ``report(message)`` is told why."""
        try:
            return self.read(start, stop, step)
        except InputError:
            pass
        count = tuple(ceil_div(e - s, t) for s, e, t in zip(start, stop, step))
        out = np.zeros(count, self.store.dtype)
        pieces = [_chunk_pieces(s, e, t, c) for s, e, t, c in
                  zip(start, stop, step, self.chunk_shape)]
        for z in pieces[0]:
            for y in pieces[1]:
                for x in pieces[2]:
                    first, end = zip(z[0], y[0], x[0])
                    try:
                        a = self.read(first, end, step)
                    except InputError as e:
                        report(str(e))
                        continue
                    out[z[1], y[1], x[1]] = a
        return out


def _chunk_pieces(start, stop, step, chunk):
    """The samples start + k*step < stop along one axis, cut at chunk boundaries: for
    each piece, ((its first sample, its stop), its slice of the samples)."""
    pieces = []
    edge = start // chunk * chunk
    while edge < stop:
        lo, hi = max(edge, start), min(edge + chunk, stop)
        k0, k1 = ceil_div(lo - start, step), ceil_div(hi - start, step)
        if k1 > k0:
            pieces.append(((start + k0 * step, start + (k1 - 1) * step + 1), slice(k0, k1)))
        edge += chunk
    return pieces


@dataclass(frozen=True)
class ChunkPositions:
    """The chunk positions (x,y,z) of a store's full resolution, all holding data as far
    as anyone can tell without reading (chunks a store lacks read as zeros): a Store's
    ``tiles``."""
    grid: Tuple[int, int, int]          # x,y,z

    def __contains__(self, position):
        return all(0 <= p < n for p, n in zip(position, self.grid))

    def __len__(self):
        return math.prod(self.grid)

    def __iter__(self):
        nx, ny, nz = self.grid
        return ((x, y, z) for z in range(nz) for y in range(ny) for x in range(nx))


class Store(VolumeSource):
    """A multiscale store: ``spec`` (its StoreSpec), ``levels`` (full resolution
    first), ``shape`` (z,y,x of the full resolution), ``voxel_size`` and ``origin``
    (x,y,z, nanometres), ``offset`` (z,y,x voxel index of the first voxel in the store's
    own grid), ``dtype`` (the voxel type read: 64-bit integers are read as 32-bit, see
    ``to_voxel_type``), ``segmentation`` (True, False, or None when the metadata does not
    say), ``timeout`` (the seconds a read may wait, for each READ_BYTES it reads).
    ``Store(spec)`` opens the spec's levels (none, for a spec that lists none) within
    the Deadline ``deadline`` (a new one of ``timeout`` seconds when None)."""

    def __init__(self, spec, stored_dtype=None, cache_bytes=DEFAULT_CACHE_BYTES,
                 timeout=None, deadline=None):
        self.spec = spec
        self.stored_dtype = stored_dtype
        self.dtype = None if stored_dtype is None else voxel_type(stored_dtype, spec.location)
        self.cache_bytes = cache_bytes
        self.timeout = default_timeout() if timeout is None else timeout
        self._stats_lock = threading.Lock()
        self.id_map = None
        self._copy_values = False
        self.chunks_read = 0
        self.bytes_read = 0
        self.levels = self._open_levels(cache_bytes, deadline)

    def _open_levels(self, cache_bytes, deadline=None):
        deadline = deadline or Deadline(self.location, self.timeout)
        return [StoreLevel(self, *opened)
                for opened in open_levels(self.spec, cache_bytes, deadline)]

    def __repr__(self):
        return 'Store(%s %s: %s voxels x,y,z, %s, %d levels)' % (
            self.format, self.location, ' x '.join(map(str, reversed(self.shape))),
            self.dtype, len(self.levels))

    location = property(lambda self: self.spec.location)
    format = property(lambda self: self.spec.format)
    name = property(lambda self: self.spec.location.name)
    url = property(lambda self: self.spec.location.url)
    voxel_size = property(lambda self: self.spec.voxel_size)
    origin = property(lambda self: self.spec.origin)
    offset = property(lambda self: self.spec.offset)
    units_known = property(lambda self: self.spec.units_known)
    segmentation = property(lambda self: self.spec.segmentation)

    @property
    def skipped(self):
        """(key, reason) of the scales left out."""
        return list(self.spec.skipped)

    @property
    def shape(self):
        return self.levels[0].shape

    def set_id_map(self, id_map):
        """Read 64-bit ids through ``id_map`` (an idmap.py IdMap) from now on: voxels
        are its compact values (uint32)."""
        if self.stored_dtype not in MAX_ID:
            raise InputError('%s holds %s voxels, not 64-bit region ids: it needs no id map'
                             % (self.location, self.stored_dtype), self.location.text)
        self.id_map = id_map
        self.dtype = np.dtype(np.uint32)

    def probe_large_ids(self, voxels=1 << 22):
        """Whether the coarsest scale (whole when it has at most ``voxels`` voxels, else
        the chunks at its centre) holds an id that does not fit in 32 bits."""
        level = self.levels[-1]
        start = [0, 0, 0]
        stop = list(level.shape)
        if math.prod(stop) > voxels:
            for a in range(3):
                c = level.chunk_shape[a]
                mid = level.shape[a] // 2 // c * c
                start[a], stop[a] = mid, min(level.shape[a], mid + c)
        a = level.read(start, stop, stored=True)
        info = np.iinfo(MAX_ID[self.stored_dtype])
        return bool(a.size) and (int(a.max()) > info.max or int(a.min()) < info.min)

    def original_ids(self, values):
        """The region ids a user knows of voxel ``values`` (an int or an array): the
        id map's originals, or the values themselves."""
        if self.id_map is None:
            return values
        return self.id_map.original(values)

    def to_voxel_type(self, a, where=None, key=''):
        """``a`` as the store's voxel type.  ChimeraX maps hold at most 32-bit integers
        (and region ids index attribute arrays), so 64-bit ids are read as 32-bit: through
        the id map when the store has one, else an id that does not fit is an error,
        never a wrapped value."""
        if self.id_map is not None and a.dtype in MAX_ID:
            if not a.flags.writeable:
                a = a.copy()
            return self.id_map.compact(a)
        if a.dtype == self.dtype:
            return a
        if a.dtype in MAX_ID and a.size:
            info = np.iinfo(self.dtype)
            hi, lo = int(a.max()), int(a.min())
            if hi > info.max or lo < info.min:
                block = '' if where is None else ' (%s voxels z,y,x %s)' % (
                    key, ', '.join('%d-%d' % (b.start, b.stop - 1) for b in where))
                raise InputError('%s: region id %d%s does not fit in %s (a look at the'
                                 ' coarsest scale found none): open it with compactIds true'
                                 ' to read its ids through an id map'
                                 % (self.location, hi if hi > info.max else lo, block,
                                    self.dtype.name), self.location.text)
        return a.astype(self.dtype)

    def maximum(self, report=None, slab_bytes=256 << 20):
        """Largest voxel value of the full resolution, read in slabs of whole chunks."""
        level = self.levels[0]
        nz = level.shape[0]
        plane = int(np.prod(level.shape[1:])) * self.dtype.itemsize
        step = max(1, slab_bytes // max(plane, 1))
        cz = level.chunk_shape[0]
        step = max(cz, step - step % cz)
        maximum = 0
        for z in range(0, nz, step):
            a = level.read((z, 0, 0), (min(z + step, nz),) + level.shape[1:])
            maximum = max(maximum, int(a.max()))
            if report:
                report(min(z + step, nz), nz)
        return maximum

    # -- the VolumeSource interface (formats/source.py), over the full resolution

    @property
    def paths(self):
        """Local files the store is made of (none when remote): combine checks that its
        output is none of them."""
        return [self.location.local] if self.location.local else []

    @property
    def chunk_shape(self):
        return self.levels[0].chunk_shape

    @property
    def tiles(self):
        return ChunkPositions(tuple(reversed([ceil_div(n, c) for n, c in
                                              zip(self.shape, self.chunk_shape)])))

    def positions_in(self, start, stop):
        """Grid positions (x,y,z) of the store chunks that the block touches."""
        cs = self.chunk_shape
        rz, ry, rx = (range(s // c, ceil_div(e, c)) for s, e, c in zip(start, stop, cs))
        return [(x, y, z) for z in rz for y in ry for x in rx]

    def count_in(self, start, stop):
        # Counted, not listed: a store's chunks may be too many to list.
        return math.prod(ceil_div(e, c) - s // c
                         for s, e, c in zip(start, stop, self.chunk_shape))

    def is_empty(self, start, stop):
        # Which chunks exist is not known without asking for them: read and see.
        return False

    def prepare(self, start, stop):
        # tensorstore reads from any thread.
        return True

    def filtered_tiles(self):
        # tensorstore decodes every chunk itself, in any thread: nothing goes through
        # HDF5's filter pipeline.
        return []

    def read(self, start=(0, 0, 0), stop=None, step=(1, 1, 1)):
        """A block of the full resolution for what copies the volume (combine): for a
        store read through an id map, refused unless the copy keeps the map
        (``copy_values``), since its compact values would be copied in place of its
        ids."""
        if self.id_map is not None and not self._copy_values:
            raise InputError('%s holds region ids above 2^32 (%s), which ChimeraX shows'
                             ' through an id map of compact 32-bit values; a copy would'
                             ' hold those values, not the ids, so it is not made. %s'
                             % (self.location, self.stored_dtype, COPY_ADVICE),
                             self.location.text)
        return self.levels[0].read(start, stop, step)

    def copy_values(self):
        """Let ``read`` give a store's compact values (for a copy that keeps the id map:
        combine's .cmap, which ``finish_copy`` gives the map, an export that writes the
        original ids back through ``id_map.original``, object ids looked up by value);
        returns the id map, or None for a store read without one."""
        self._copy_values = self.id_map is not None
        return self.id_map

    def finish_copy(self, path):
        """Keep the id map in the .cmap ``path`` that combine copied this store into
        (written, not yet published): its voxels are compact values, which the map
        turns back into the store's ids (formats/sidecar.py add_ids)."""
        if self.id_map is not None:
            add_ids(path, self.id_map.ids)

    def set_cache_limit(self, nbytes):
        """Bytes of decoded chunks tensorstore keeps (a new cache: the levels are
        opened again)."""
        if nbytes != self.cache_bytes:
            self.cache_bytes = nbytes
            self.levels = self._open_levels(nbytes)

    def worker_spec(self):
        # A cluster's workers open the store as the command did (the local folder at the
        # same path, or the URL).
        if self.id_map is not None:
            raise InputError('%s holds region ids above 2^32, read through an id map that'
                             ' numbers ids in the order chunks are read: a Dask cluster\'s'
                             ' workers would each number them their own way, so it is read'
                             ' here (combine it without scheduler)' % self.location,
                             self.location.text)
        return StoreReopen(self.location.local or self.location.url, self.format,
                           self.spec.channel, self.cache_bytes, self.timeout)

    def _count(self, chunks, nbytes):
        with self._stats_lock:
            self.chunks_read += chunks
            self.bytes_read += nbytes


@dataclass(frozen=True)
class StoreReopen:
    """How another process (a Dask cluster's worker) opens the same store: the
    formats/source.py WorkerSpec of a Store."""
    path: str
    format: str
    channel: int
    cache_bytes: int
    timeout: float

    def open(self):
        return open_store(self.path, self.format, self.channel, self.cache_bytes,
                          self.timeout)
