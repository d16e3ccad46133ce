"""Combine's depth-first traversal of the pyramid (see pipeline/combine.py): the engine
that schedules chunk work, assembles each chunk from the chunks below it and writes the
finished chunks in one fixed order, and the runner that does the chunk work in this
process's worker threads (pipeline/cluster.py is the runner for a Dask cluster).

The main thread schedules, assembles and writes, and makes every HDF5 call; the worker
threads read, inflate, downsample and compress.  Pure: no ChimeraX.
"""

import ctypes
import ctypes.util
import re
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

from ..errors import InputError
from .chunks import Assembly, finish_chunk


def morton_order(grid):
    """The indices (z,y,x) of a chunk grid in Morton order (bits interleaved, z the
    most significant), made lazily by walking an octree and skipping what lies outside
    the grid: a grid too large to list is visited in bounded memory."""
    side = 1 << max(0, max(grid) - 1).bit_length()
    stack = [((0, 0, 0), side)]
    while stack:
        (z, y, x), size = stack.pop()
        if z >= grid[0] or y >= grid[1] or x >= grid[2]:
            continue
        if size == 1:
            yield z, y, x
            continue
        h = size // 2
        stack.extend(((z + dz, y + dy, x + dx), h) for dz in (h, 0) for dy in (h, 0)
                     for dx in (h, 0))


def os_message(e):
    # h5py's OSError carries HDF5's long record; the system's reason is the useful part.
    m = re.search(r"error message = '([^']*)'", str(e))
    return m.group(1) if m else (e.strerror or str(e))



def _memory_trimmer():
    """A function that hands freed heap memory back to the system, or None.

    glibc keeps blocks that worker threads free in its heaps, and the resident size of a
    long run creeps up with them, growing with the volume;
    malloc_trim once a second keeps it flat at no measurable cost.
    """
    name = ctypes.util.find_library('c')
    libc = ctypes.CDLL(name) if name else None
    trim = getattr(libc, 'malloc_trim', None)
    return (lambda: trim(0)) if trim else None


class Threads:
    """Chunk work done by this process's worker threads."""

    workers = 1
    reads_tiles = False         # blocks that need HDF5 are read by the engine's thread
    subtree_levels = 0          # one task a chunk

    def __init__(self, tileset, works, threads):
        self.tileset = tileset
        self.works = works
        self.threads = threads

    def __enter__(self):
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix='combine')
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(wait=True, cancel_futures=True)

    def leaf(self, start, stop):
        return self.pool.submit(self._leaf, start, stop)

    def _leaf(self, start, stop):
        return finish_chunk(self.works[0], self.tileset.read(start, stop))

    def block(self, level, a):
        return self.pool.submit(finish_chunk, self.works[level], a)

    def wait(self, pending):
        return wait(pending, return_when=FIRST_COMPLETED)[0]

    def result(self, future):
        return future.result()

    def cancel(self, pending):
        for future in pending:
            future.cancel()


class Engine:
    """The depth-first traversal (see combine.py's module doc).  Chunks are written in
    one fixed order, the traversal's post-order (each chunk after the chunks below it),
    whatever order the work finishes in, so a run's file is the same byte for byte on
    any number of threads or cluster workers."""

    def __init__(self, tileset, writer, output, levels, region_start, runner, window,
                 progress, ntiles):
        self.tileset = tileset
        self.writer = writer
        self.output = output
        self.levels = levels
        self.region_start = region_start
        self.runner = runner
        self.window = window
        self.progress = progress
        self.maximum = 0
        self.chunks_written = 0
        total = int(np.prod(levels[0].shape))
        self._tiles_per_voxel = ntiles / total if total else 0
        self._assemblies = {}       # (level, chunk index) -> Assembly
        self._order = deque()       # (level, chunk index) in writing order, not yet written
        self._ready = {}            # (level, chunk index) -> (bytes or None, maximum)

    def traversal(self):
        """(level, chunk index) of every chunk, depth first through the pyramid, each
        chunk after the chunks below it (post-order)."""
        top = len(self.levels) - 1
        # Morton order: neighbours stay near, so tile chunks are reused soon.
        for first in morton_order(self.levels[top].chunk_grid):
            stack = [(top, first, False)]
            while stack:
                n, index, expanded = stack.pop()
                if n == 0 or expanded:
                    yield n, index
                else:
                    below = self.levels[n - 1]
                    stack.append((n, index, True))
                    stack.extend((n - 1, c, False)
                                 for c in reversed(self.levels[n].children(index, below)))

    def _leaf_block(self, index):
        """The tile block (start, stop, z,y,x) of full-resolution chunk ``index``."""
        s, e = self.levels[0].chunk_extent(index)
        return (tuple(a + o for a, o in zip(s, self.region_start)),
                tuple(a + o for a, o in zip(e, self.region_start)))

    def _submit_leaf(self, pending, index):
        # HDF5 is called from this thread only (it is not thread-safe, and h5py does not
        # lock direct chunk writes): worker threads read tiles that prepare() made
        # readable without it; other tiles are read here and only encoded by a worker.
        # A cluster's workers are processes of their own and read every tile themselves.
        s, e = self._leaf_block(index)
        if self.tileset.is_empty(s, e):
            self._store(pending, 0, index, None, 0, None)
        elif self.runner.reads_tiles or self.tileset.prepare(s, e):
            pending[self.runner.leaf(s, e)] = (0, index)
        else:
            pending[self.runner.block(0, self.tileset.read(s, e))] = (0, index)

    def run(self):
        pending = {}
        chunks = self.traversal()
        exhausted = False
        trim = _memory_trimmer()
        trimmed = time.monotonic()
        try:
            while True:
                if trim and time.monotonic() - trimmed > 1:
                    trim()
                    trimmed = time.monotonic()
                # Bounded: work in flight, and finished chunks waiting for earlier ones.
                while (not exhausted and len(pending) < self.window
                       and len(self._ready) < 4 * self.window):
                    event = next(chunks, None)
                    if event is None:
                        exhausted = True
                        break
                    self._order.append(event)
                    n, index = event
                    if n == self.runner.subtree_levels == 0:
                        self._submit_leaf(pending, index)
                    elif n == self.runner.subtree_levels:
                        pending[self.runner.subtree(n, index)] = (n, index, True)
                self._flush()
                if not pending:
                    if exhausted:
                        break
                    continue
                for future in self.runner.wait(pending):
                    level, index, *subtree = pending.pop(future)
                    if subtree:
                        self._store_subtree(pending, level, index, *self.runner.result(future))
                    else:
                        self._store(pending, level, index, *self.runner.result(future))
        except BaseException:
            self.runner.cancel(pending)
            raise
        self._flush()

    def _store_subtree(self, pending, level, index, done, up, voxels):
        """A subtree of chunks is done (a cluster's task): queue them for writing, hand
        its block to the parent."""
        self._advance(voxels)
        *below, (_, _, data, mx) = done
        for n, ix, chunk, m in below:
            self._ready[(n, ix)] = (chunk, m)
        self._store(pending, level, index, data, mx, up)

    def _advance(self, voxels):
        self.progress.advance(voxels * self._tiles_per_voxel,
                              voxels * self.tileset.dtype.itemsize)

    def _store(self, pending, level, index, data, mx, up):
        """Chunk ``index`` of ``level`` is done: queue it for writing, hand its block to
        the parent."""
        while True:
            self._ready[(level, index)] = (data, mx)
            if level == 0:
                s, e = self.levels[0].chunk_extent(index)
                self._advance(int(np.prod([b - a for a, b in zip(s, e)])))
            if level + 1 == len(self.levels):
                return
            lv, above = self.levels[level], self.levels[level + 1]
            parent, start = lv.parent_of(index, above)
            key = (level + 1, parent)
            asm = self._assemblies.get(key)
            if asm is None:
                p0, p1 = above.chunk_extent(parent)
                asm = self._assemblies[key] = Assembly(
                    p0, tuple(b - a for a, b in zip(p0, p1)), self.tileset.dtype,
                    len(above.children(parent, lv)))
            if not asm.add(start, up):
                return
            del self._assemblies[key]
            if asm.block is not None:
                pending[self.runner.block(level + 1, asm.block)] = (level + 1, parent)
                return
            # An empty parent: nothing to encode or write; pass the emptiness up.
            level, index, data, mx, up = level + 1, parent, None, 0, None

    def _flush(self):
        """Write the finished chunks that are next in the writing order."""
        while self._order and self._order[0] in self._ready:
            level, index = self._order.popleft()
            data, mx = self._ready.pop((level, index))
            if data is None:
                continue
            try:
                self.chunks_written += self.writer.write_chunk(level, index, data)
            except OSError as e:
                raise InputError('writing %s failed: %s' % (self.output, os_message(e)),
                                 self.output)
            self.maximum = max(self.maximum, mx)
