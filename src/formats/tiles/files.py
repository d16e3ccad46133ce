"""The open files and the chunk cache behind a TileSet's reads: h5py handles for the
thread that makes HDF5 calls, file descriptors and memory maps for the threads that read
without HDF5, and the decompressed chunks a read used only in part.  Pure: no ChimeraX.
"""

import os
import threading
from collections import OrderedDict

import h5py
import numpy as np

from ...errors import InputError


class Handles:
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


class RawFiles:
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


class ChunkCache:
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
