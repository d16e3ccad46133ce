"""A StoreSpec (spec.py) opened with tensorstore: the metadata files read through its
key-value stores (the same code for local folders and remote buckets), the full
resolution's voxel type, and each scale as a z,y,x view of the store's own grid, other
dimensions fixed (one channel), shifted so that index 0 of level k is the full
resolution's first voxel divided by the level's factors.  A scale whose chunks
tensorstore cannot read (LevelSpec.chunk_files: compressed chunk files, compresso,
crackle) is a chunkfiles.py ChunkFileView instead, read the same way.

Why tensorstore: one maintained library (Google's, behind neuroglancer) reads all three
formats, sharded precomputed and compressed_segmentation included, from local files,
gs://, s3:// and http(s)://; docs/performance.md compares it with zarr-python and
CloudVolume.  It is imported when a store is first opened, not with the bundle.

Every wait for tensorstore is bounded (``Deadline``): opening a store, all its metadata
and scales together, and each block read after it, take at most ``timeout`` seconds
(``DEFAULT_TIMEOUT``, or the environment variable CONNECTOME_STORE_TIMEOUT; a large
block that much for every store.READ_BYTES it holds), and
tensorstore retries an address that refuses a few times only (``RETRIES``) instead of
its 32 times over 15 minutes; Ctrl-C stops a wait.  Pure: no ChimeraX.
"""

import json
import os
import re
import time
from typing import NamedTuple, Tuple

import numpy as np

from ...blocks import ceil_div
from ...errors import Cancelled, InputError
from ...progress import cancel_requested, format_bytes
from .chunkfiles import ChunkFileView

# The largest chunk read: it is decoded whole, in memory.
MAX_CHUNK_BYTES = 2 << 30
DEFAULT_TIMEOUT = 30.0          # seconds; see default_timeout
TIMEOUT_VARIABLE = 'CONNECTOME_STORE_TIMEOUT'
# tensorstore's retries of a remote request that failed (a refused connection, a
# server error), for each kind of remote key-value store.
_RETRY = {'max_retries': 3, 'initial_delay': '0.2s', 'max_delay': '2s'}
RETRIES = {'http_request_retries': _RETRY, 'gcs_request_retries': _RETRY,
           's3_request_retries': _RETRY}
_POLL = 0.25                    # seconds between looks at a Ctrl-C while waiting


def _tensorstore():
    # Imported when first needed: it is a large library that most sessions never use.
    import tensorstore
    return tensorstore


def reason(error):
    """tensorstore's message without the spec it appends."""
    return re.sub(r'\s*\[tensorstore_spec=.*$', '', str(error), flags=re.S)


def default_timeout():
    """The seconds a store operation may wait: CONNECTOME_STORE_TIMEOUT when set,
    else DEFAULT_TIMEOUT."""
    text = os.environ.get(TIMEOUT_VARIABLE)
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = float('nan')
    if not seconds > 0:
        raise InputError('the environment variable %s must be a positive number of seconds,'
                         ' not %s' % (TIMEOUT_VARIABLE, text))
    return seconds


class Deadline:
    """Waits for tensorstore on behalf of one store operation, all of them together
    within ``seconds``: ``wait(future, what)`` returns the future's result, or raises
    InputError naming the store's address when the time is up (and errors.Cancelled, or
    KeyboardInterrupt, when Ctrl-C asks to stop)."""

    def __init__(self, location, seconds):
        self.location = location
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def wait(self, future, what):
        while True:
            left = self.end - time.monotonic()
            try:
                return future.result(timeout=max(0.0, min(left, _POLL)))
            except TimeoutError:
                if cancel_requested():
                    future.cancel()
                    raise Cancelled('%s: cancelled while %s' % (self.location, what))
                if time.monotonic() >= self.end:
                    future.cancel()
                    raise InputError(
                        '%s: no answer within %g s while %s (the address may be wrong or'
                        ' unreachable; a slow one may be given more time with open\'s'
                        ' timeout option or the environment variable %s)'
                        % (self.location, self.seconds, what, TIMEOUT_VARIABLE),
                        self.location.text)
            except KeyboardInterrupt:
                future.cancel()
                raise


class Metadata:
    """JSON metadata files of a store, read through tensorstore's key-value stores.
    ``read(key)`` is what the format modules' ``read`` argument is; ``deadline`` bounds
    the waits."""

    def __init__(self, location, deadline):
        self.location = location
        self.deadline = deadline
        self._kv = {}

    def read(self, key):
        """The parsed JSON at ``key`` (a path inside the store), or None if absent."""
        folder, _, name = key.rpartition('/')
        ts = _tensorstore()
        what = 'reading %s' % key
        try:
            kv = self._kv.get(folder)
            if kv is None:
                kv = self._kv[folder] = self.deadline.wait(
                    ts.KvStore.open(self.location.kvstore(folder),
                                    context=ts.Context(RETRIES)), what)
            r = self.deadline.wait(kv.read(name), what)
        except ValueError as e:
            raise InputError('%s: cannot read %s: %s' % (self.location, key, reason(e)),
                             self.location.text)
        if r.state != 'value':
            return None
        try:
            return json.loads(bytes(r.value))
        except ValueError as e:
            raise InputError('%s: %s is not valid JSON: %s' % (self.location, key, e),
                             self.location.text)


class OpenedLevel(NamedTuple):
    """One scale opened: ``view`` (tensorstore, z,y,x, level grid coordinates),
    ``factors`` (z,y,x), ``shape`` (z,y,x: the full resolution divided by the factors,
    rounded up), ``chunk_shape`` (z,y,x), ``key``."""
    view: object
    factors: Tuple[int, int, int]
    shape: Tuple[int, int, int]
    chunk_shape: Tuple[int, int, int]
    key: str


def stored_dtype(spec, deadline):
    """The voxel type stored in the full resolution's array."""
    t = _open_array(spec.driver, spec.location.kvstore(spec.levels[0].path), 0, deadline,
                    spec.levels[0])
    return np.dtype(t.dtype.numpy_dtype)


def open_levels(spec, cache_bytes, deadline):
    """The spec's levels as OpenedLevels, sharing a cache of ``cache_bytes`` decoded
    chunk bytes per level, opened within the Deadline.  tensorstore's errors are
    ValueErrors."""
    ts = _tensorstore()
    full = None
    opened = []
    for level in spec.levels:
        if level.chunk_files is not None:
            base = tuple(b // f for b, f in zip(spec.offset, level.factors))
            files = level.chunk_files
            _check_chunk_bytes(spec.location, level, files.chunk_size + (files.channels,),
                               np.dtype(files.dtype).itemsize)
            view = ChunkFileView(files, spec.channel, base, cache_bytes,
                                 fetch=None if files.folder else _Fetch(spec.location,
                                                                        deadline.seconds))
            if full is None:
                full = tuple(int(v) for v in view.domain.shape)
            shape = tuple(ceil_div(n, f) for n, f in zip(full, level.factors))
            opened.append(OpenedLevel(view, level.factors, shape, view.chunk_shape,
                                      level.key))
            continue
        view = _view(spec, level, cache_bytes, deadline)
        if full is None:
            full = tuple(int(v) for v in view.domain.shape)
            if not all(full):
                raise InputError('%s: its full resolution %s holds no voxels (%s z,y,x)'
                                 % (spec.location, level.key, ' x '.join(map(str, full))),
                                 spec.location.text)
        chunk = _chunk_zyx(view)
        base = tuple(b // f for b, f in zip(spec.offset, level.factors))
        view = view[ts.d[:].translate_by[tuple(-b for b in base)]]
        shape = tuple(ceil_div(n, f) for n, f in zip(full, level.factors))
        opened.append(OpenedLevel(view, level.factors, shape, chunk, level.key))
    return opened


class _Fetch:
    """fetch(key, name): the bytes at ``key/name`` in a remote store, or None when
    absent, each fetch within ``seconds`` (a ValueError when not), for a
    chunkfiles.ChunkFileView."""

    def __init__(self, location, seconds):
        self.location = location
        self.seconds = seconds
        self._kv = {}

    def __call__(self, key, name):
        ts = _tensorstore()
        deadline = Deadline(self.location, self.seconds)
        what = 'reading %s/%s' % (key, name)
        try:
            kv = self._kv.get(key)
            if kv is None:
                kv = self._kv[key] = deadline.wait(ts.KvStore.open(
                    self.location.kvstore(key), context=ts.Context(RETRIES)), what)
            r = deadline.wait(kv.read(name), what)
        except InputError as e:
            raise ValueError(str(e))
        return bytes(r.value) if r.state == 'value' else None


def _view(spec, level, cache_bytes, deadline):
    """One level's array, z,y,x in the store's own grid."""
    loc = spec.location
    if spec.format == 'precomputed':
        t = deadline.wait(_tensorstore().open(
            {'driver': spec.driver, 'kvstore': loc.kvstore(), 'scale_index': level.scale_index,
             'context': _context(cache_bytes), 'recheck_cached_data': False}, read=True),
            'opening scale %s' % level.key)
        _check_chunk(loc, level, t)
        return t[..., spec.channel].T       # x,y,z stored; z,y,x read without a copy
    t = _open_array(spec.driver, loc.kvstore(level.path), cache_bytes, deadline, level)
    _check_chunk(loc, level, t)
    return _spatial_view(loc, t, spec.axes, spec.channel, spec.reverse)


def _check_chunk(loc, level, t):
    """A chunk is decoded whole: one larger than MAX_CHUNK_BYTES is refused before
    tensorstore tries to allocate it (it aborts the process when it cannot)."""
    _check_chunk_bytes(loc, level, [int(c) for c in t.chunk_layout.read_chunk.shape or ()],
                       np.dtype(t.dtype.numpy_dtype).itemsize)


def _check_chunk_bytes(loc, level, shape, itemsize):
    nbytes = int(np.prod(shape, dtype=object)) * itemsize
    if nbytes > MAX_CHUNK_BYTES:
        raise InputError('%s: scale %s has chunks of %s voxels (%s), larger than the %s one'
                         ' read may decode' % (loc, level.key, ' x '.join(map(str, shape)),
                                               format_bytes(nbytes),
                                               format_bytes(MAX_CHUNK_BYTES)), loc.text)


def _context(cache_bytes):
    return dict(RETRIES, cache_pool={'total_bytes_limit': int(cache_bytes)})


# The metadata file of each driver's array (see _open_array).
_METADATA_FILE = {'n5': 'attributes.json', 'zarr': '.zarray', 'zarr3': 'zarr.json'}


def _open_array(driver, kvstore, cache_bytes, deadline, level):
    """One array; a level with ``metadata`` (spec.LevelSpec) has tensorstore read that
    text as its metadata file: tensorstore's kvstack puts an in-memory file over the
    stored one, which stays as it is."""
    ts = _tensorstore()
    context = _context(cache_bytes)
    if level.metadata is not None:
        context = ts.Context(ts.Context.Spec(context))
        name = _METADATA_FILE[driver]
        memory = deadline.wait(ts.KvStore.open({'driver': 'memory', 'path': 'meta/'},
                                               context=context),
                               'opening scale %s' % level.key)
        deadline.wait(memory.write(name, level.metadata.encode()), 'opening scale %s'
                      % level.key)
        kvstore = {'driver': 'kvstack', 'layers': [
            {'base': kvstore, 'inclusive_min': ''},
            {'base': {'driver': 'memory', 'path': 'meta/'}, 'exact': name,
             'strip_prefix': 0}]}
        return deadline.wait(ts.open({'driver': driver, 'kvstore': kvstore,
                                      'recheck_cached_data': False}, context=context,
                                     read=True), 'opening scale %s' % level.key)
    return deadline.wait(ts.open({'driver': driver, 'kvstore': kvstore, 'context': context,
                                  'recheck_cached_data': False}, read=True),
                         'opening scale %s' % level.key)


def _spatial_view(loc, t, names, channel, reverse):
    """View z,y,x of a tensorstore: other dimensions fixed at index 0 (a channel
    dimension at ``channel``).  ``names``: the dimensions' names (None: the last three
    are z,y,x, after reversal for N5, whose dimensions are listed x first)."""
    ts = _tensorstore()
    ndim = t.rank
    if reverse:
        t = t.T
        names = list(reversed(names)) if names else None
    if names is None:
        if ndim < 3:
            raise InputError('%s is %d-D, not a 3-D volume' % (loc, ndim), loc.text)
        names = ['extra'] * (ndim - 3) + ['z', 'y', 'x']
    if not all(a in names for a in 'zyx'):
        raise InputError('%s: its axes are %s; a volume needs x, y and z'
                         % (loc, ','.join(names)), loc.text)
    index = []
    lo = t.domain.inclusive_min
    for d, name in enumerate(names):
        if name in 'zyx' and len(name) == 1:
            index.append(slice(None))
            continue
        n = int(t.domain.shape[d])
        pick = channel if name in ('c', 'channel') else 0
        if not 0 <= pick < n:
            raise InputError('%s has %d channels; channel %d does not exist'
                             % (loc, n, channel), loc.text)
        index.append(int(lo[d]) + pick)
    view = t[tuple(index)]
    kept = [n for n in names if n in ('z', 'y', 'x')]
    order = [kept.index(a) for a in 'zyx']
    view = view[ts.d[tuple(order)].transpose[:]]
    return view[ts.d[:].translate_by[tuple(-int(v) for v in view.domain.inclusive_min)]]


def _chunk_zyx(view):
    layout = view.chunk_layout
    shape = layout.read_chunk.shape
    return tuple(int(c) if c else 64 for c in shape)
