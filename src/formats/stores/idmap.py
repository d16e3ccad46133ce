"""Region ids above 2^32 as compact 32-bit values: ``IdMap``.

ChimeraX maps hold at most 32-bit integers, and region ids index attribute arrays, while
every large public connectome (MICrONS, H01, FlyWire, the hemibrain) has uint64 ids far
above 2^32.  A store whose ids do not fit (store.py decides, from a look at its
coarsest scale or when asked) reads through an IdMap: each id gets a compact value, 1,
2, 3, ... as ids are first read, block by block (0, the background, stays 0), so a map
holds compact values and attribute arrays stay as long as the number of ids seen.  The map
grows as chunks are read, never by reading the whole volume first, except when ChimeraX's
own segmentation tables ask for the count (``complete``: session/storegrid.py
complete_id_map, after which ids first read from a chunk are refused); what a user sees or
gives (``connectome at``, the readout, attribute files) is the original id, mapped back
with ``original`` or forth with ``compact_ids``.

Cost: each block read is renumbered with seung-lab's fastremap (``renumber``, in place,
then a table lookup), about as long as decoding it (bench/bench_stores.py measures it);
memory about 100 bytes per distinct id seen (a dict entry and the table of originals),
bounded by MAX_VALUES.  Thread-safe: worker threads read blocks at once.  Pure: numpy
and fastremap.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...errors import InputError

# Compact values are below 2^31: they index attribute arrays (int32 in ChimeraX).
MAX_VALUES = 2 ** 31 - 1
# What to do instead of reading such a store's compact values as its ids.
COPY_ADVICE = ('connectome combine copies it keeping the id map (into a .cmap) or the ids'
               ' (to precomputed or zarr); or open the store itself (format precomputed,'
               ' zarr or n5: read where it lies, chunk by chunk)')
# Blocks of more voxels than this are compacted in slabs in threads.
_SLAB_VOXELS = 1 << 20
_POOL = []
_POOL_LOCK = threading.Lock()


def _pool():
    """The threads that compact the slabs of large blocks (made once)."""
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(os.cpu_count() or 1,
                                            thread_name_prefix='connectome-idmap'))
        return _POOL[0]


class IdMap:
    """Original ids (uint64) <-> compact values (uint32).  ``ids``: the originals in
    compact order (``ids[v]`` is the id of value v; ``ids[0] == 0``), to start from a map
    saved before (the attribute file keeps it, formats/sidecar.py)."""

    def __init__(self, ids=None, where=''):
        self.where = where
        self._lock = threading.Lock()
        ids = np.zeros(1, np.uint64) if ids is None else np.asarray(ids, np.uint64)
        if ids.ndim != 1 or not len(ids) or ids[0] != 0:
            raise InputError('%s: a saved id map must start with id 0' % where)
        self._value = {int(i): v for v, i in enumerate(ids.tolist())}
        if len(self._value) != len(ids):
            raise InputError('%s: a saved id map lists an id twice' % where)
        self._ids = np.array(ids, np.uint64)
        self._count = len(ids)
        # The number of values when every voxel of the store had been read (the
        # session's storegrid.complete_id_map sets it): no voxel value reaches it, and
        # an id first read after (a chunk unreadable then) is refused.
        self.complete = None

    def __len__(self):
        """Values given so far, 0 included."""
        return self._count

    @property
    def ids(self):
        """The originals in compact order (a copy)."""
        with self._lock:
            return self._ids[:self._count].copy()

    def compact(self, a):
        """Block ``a`` (64-bit ids, any shape; it may be overwritten) as compact uint32
        values, new ids given new values.  A large block is cut into slabs along its
        first axis, renumbered and looked up in threads (fastremap and numpy's take
        release the GIL)."""
        if not a.size:
            return np.zeros(a.shape, np.uint32)
        a = np.ascontiguousarray(a)
        if a.dtype.kind == 'i':
            a = a.view(np.uint64)
        pieces = min(os.cpu_count() or 1, a.size // _SLAB_VOXELS, a.shape[0] if a.ndim else 1)
        if pieces < 2:
            return self._compact_slab(a)
        bounds = np.linspace(0, a.shape[0], pieces + 1).astype(int)
        slabs = [a[b0:b1] for b0, b1 in zip(bounds[:-1], bounds[1:])]
        return np.concatenate(list(_pool().map(self._compact_slab, slabs)))

    def _compact_slab(self, a):
        import fastremap
        local, found = fastremap.renumber(a, in_place=True, preserve_zero=True)
        table = np.zeros(len(found) + 1, np.uint32)
        originals = np.fromiter(found.keys(), np.uint64, len(found))
        table[np.fromiter(found.values(), np.int64, len(found))] = \
            self.compact_ids(originals, voxels=True)
        return np.take(table, local)

    def compact_ids(self, ids, voxels=False):
        """The compact values (uint32) of original ``ids``, new ids given new values.
        ``voxels``: ids read from the store's chunks, refused (InputError) once the map
        is ``complete``: a chunk that could not be read then would give a value past the
        tables sized by it."""
        ids = np.asarray(ids).astype(np.uint64, copy=False).ravel()
        out = np.empty(len(ids), np.uint32)
        with self._lock:
            value = self._value
            for k, i in enumerate(ids.tolist()):
                v = value.get(i)
                if v is None:
                    if voxels and self.complete is not None:
                        raise InputError(
                            '%s: region id %d is in a chunk that could not be read when'
                            ' every id was given its value (tables were sized by them);'
                            ' open the store again to read it' % (self.where, i))
                    v = self._add(i)
                out[k] = v
        return out

    def known_values(self, ids):
        """The compact values of ``ids``, -1 for ids never read nor given (nothing
        added)."""
        ids = np.asarray(ids).astype(np.uint64, copy=False).ravel()
        with self._lock:
            return np.array([self._value.get(i, -1) for i in ids.tolist()], np.int64)

    def original(self, values):
        """The original ids (uint64) of compact ``values`` (an int or an array)."""
        with self._lock:
            count = self._count
            ids = self._ids
        v = np.asarray(values, np.int64)
        if v.size and (v.min() < 0 or v.max() >= count):
            raise InputError('%s: value %d is no region of the id map (%d ids so far)'
                             % (self.where, int(v.max() if v.max() >= count else v.min()),
                                count))
        out = ids[v]
        return int(out) if np.ndim(values) == 0 else out

    def _add(self, i):
        v = self._count
        if v > MAX_VALUES:
            raise InputError('%s holds more than %d distinct region ids: more than a'
                             ' ChimeraX map can number' % (self.where, MAX_VALUES))
        if v >= len(self._ids):
            grown = np.zeros(max(1024, 2 * len(self._ids)), np.uint64)
            grown[:v] = self._ids[:v]
            self._ids = grown
        self._ids[v] = i
        self._value[i] = v
        self._count = v + 1
        return v


class SavedIdMap:
    """A saved id map (``ids``: the originals in compact order, as IdMap takes them),
    read only, for readers in other processes (``connectome meshes``' workers), each with
    its own copy: they must give the values the attributes saved with the map are
    indexed by, and could not agree on new ones.  Kept as the ids sorted and their values
    (12 bytes an id, a third of an IdMap's dict, built in one sort); looked up by
    binary search over a block's distinct ids (numpy, no Python loop)."""

    def __init__(self, ids, where=''):
        ids = np.asarray(ids, np.uint64)
        if ids.ndim != 1 or not len(ids) or ids[0] != 0:
            raise InputError('%s: a saved id map must start with id 0' % where)
        if len(ids) > MAX_VALUES + 1:
            raise InputError('%s: a saved id map of more than %d ids' % (where, MAX_VALUES))
        order = np.argsort(ids, kind='stable')
        self._sorted = ids[order]
        if (self._sorted[1:] == self._sorted[:-1]).any():
            raise InputError('%s: a saved id map lists an id twice' % where)
        self._values = order.astype(np.uint32)
        self.where = where

    def __len__(self):
        return len(self._sorted)

    def values(self, a, missing=0):
        """Block ``a`` (64-bit ids, any shape; it may be overwritten) as the compact
        values (uint32) the map gave them: an id it lacks is ``missing``."""
        import fastremap
        a = np.ascontiguousarray(a)
        if a.dtype.kind == 'i':
            a = a.view(np.uint64)
        local, found = fastremap.renumber(a, in_place=True, preserve_zero=True)
        originals = np.fromiter(found.keys(), np.uint64, len(found))
        at = np.minimum(np.searchsorted(self._sorted, originals), len(self._sorted) - 1)
        known = self._sorted[at] == originals
        table = np.zeros(len(found) + 1, np.uint32)
        table[np.fromiter(found.values(), np.int64, len(found))] = \
            np.where(known, self._values[at], missing)
        return np.take(table, local)
