"""Writing a multiscale store's chunks through tensorstore, whatever its format: the part
of a store writer that write_precomputed.py and write_zarr.py share.

A ``ChunkSink`` takes the levels of a store as tensorstore arrays (``LevelArray``, each
seen as z,y,x from 0) and then whole chunks, in any order, as combine's traversal makes
them (``write_chunk``, the interface of pipeline/traversal.py's writer).  Tensorstore
encodes and writes them in its own threads, which release Python's GIL, so the caller
only hands chunks over (or hands over chunks it encoded, written as they are); at most ``max_pending`` writes are in flight, so memory stays
bounded however large the volume.

A sharded level (neuroglancer's ``neuroglancer_uint64_sharded_v1``) keeps many chunks in
one shard file, which is written whole: a chunk written alone would read and rewrite
its shard each time.  So the chunks of one shard go into one tensorstore transaction,
committed when the shard's last chunk arrives.  Shards are aligned blocks of chunks
(``shard_block``: the low bits of the compressed Morton code), as the traversal's
subtrees are, so shards fill one after another; a shard whose chunks are partly empty
(never written) is committed when ``SHARDS_OPEN`` newer shards of its level have
opened, or at the end, and a chunk arriving after its shard was committed is written in
a new transaction that reads the shard back first: slower, never wrong.
Pure: tensorstore and numpy.
"""

import collections
import json
import os
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import tensorstore as ts

from ...blocks import ceil_div
from ...errors import InputError

SHARDS_OPEN = 2             # per level: shards whose transaction is still collecting chunks
# The mark a store this bundle wrote carries in its metadata (precomputed info, OME-Zarr
# .zattrs): only such a folder is ever replaced.
WRITER_KEY = 'connectome_writer'
WRITER = 'ChimeraX-Connectome'
METADATA_FILES = ('info', '.zattrs')
METADATA_BYTES = 1 << 24    # larger is no metadata file this bundle wrote


def written_here(folder):
    """Whether ``folder`` holds a store this bundle wrote (its metadata file carries
    WRITER_KEY); links are not followed."""
    for name in METADATA_FILES:
        try:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            with os.fdopen(fd, 'rb') as f:
                if os.fstat(f.fileno()).st_size > METADATA_BYTES:
                    return False
                value = json.loads(f.read().decode('utf-8'))
        except (OSError, ValueError):
            return False
        return isinstance(value, dict) and value.get(WRITER_KEY) == WRITER
    return False


def context(threads):
    """A tensorstore context for writing: ``threads`` encoding threads, no read cache."""
    return ts.Context({'data_copy_concurrency': {'limit': int(threads)},
                       'file_io_concurrency': {'limit': max(4, int(threads))},
                       'cache_pool': {'total_bytes_limit': 0}})


def morton_bits(grid):
    """Bits of each axis (z,y,x) in a compressed Morton code of a chunk grid (z,y,x):
    enough for its largest chunk index, 0 for an axis one chunk long."""
    return tuple(max(0, n - 1).bit_length() for n in grid)


def shard_block(grid, bits):
    """z,y,x chunks of one shard whose chunk ids share all but their ``bits`` low bits:
    neuroglancer's compressed Morton code takes bit 0 of x, y and z, then bit 1 of each,
    skipping an axis whose bits are used up."""
    total = list(reversed(morton_bits(grid)))        # x,y,z
    used = [0, 0, 0]
    k = 0
    while k < bits and used != total:
        for d in range(3):
            if used[d] < total[d] and k < bits:
                used[d] += 1
                k += 1
    return tuple(1 << u for u in reversed(used))


@dataclass
class LevelArray:
    """One level of a store open for writing: ``array`` a tensorstore z,y,x view from
    0, ``chunk_shape`` z,y,x, and ``shard`` the z,y,x chunks of one shard (None:
    unsharded).  Or, for chunks encoded by the caller (bytes, as the store keeps them),
    ``array`` a tensorstore KvStore and ``key`` the key of chunk (z,y,x) in it."""
    array: object
    shape: Tuple[int, int, int]
    chunk_shape: Tuple[int, int, int]
    shard: Optional[Tuple[int, int, int]] = None
    key: Optional[Callable[[Tuple[int, int, int]], str]] = None

    def shard_of(self, index):
        """The shard key (its z,y,x position in shards) and how many chunks it holds."""
        key = tuple(i // s for i, s in zip(index, self.shard))
        grid = [ceil_div(n, c) for n, c in zip(self.shape, self.chunk_shape)]
        count = 1
        for k, s, g in zip(key, self.shard, grid):
            count *= min(s, g - k * s)
        return key, count


class _Shard:
    def __init__(self, expected):
        self.transaction = ts.Transaction()
        self.expected = expected
        self.received = 0


class ChunkSink:
    """Whole chunks of ``levels`` (LevelArrays) written through tensorstore (see the
    module doc); ``path`` names the output in messages."""

    def __init__(self, levels, path, max_pending=32):
        self.levels = levels
        self.path = path
        self.max_pending = max(2, int(max_pending))
        self._pending = collections.deque()
        self._shards = [collections.OrderedDict() for _ in levels]
        self._committing = collections.deque()
        self.chunks_written = 0

    def write_chunk(self, level, index, data):
        """Write chunk ``index`` (z,y,x in the level's chunk grid) of ``level``: ``data``
        is its array (z,y,x, clipped at the far edges), or its bytes for a level with a
        ``key``.  Returns the chunks written (one)."""
        lv = self.levels[level]
        if lv.key is not None:
            self._add(lv.array.write(lv.key(index), data))
            self.chunks_written += 1
            return 1
        start = tuple(i * c for i, c in zip(index, lv.chunk_shape))
        box = tuple(slice(s, s + n) for s, n in zip(start, data.shape))
        if lv.shard is None:
            self._add(lv.array[box].write(data))
        else:
            key, expected = lv.shard_of(index)
            shards = self._shards[level]
            shard = shards.get(key)
            if shard is None:
                shard = shards[key] = _Shard(expected)
                while len(shards) > SHARDS_OPEN:
                    self._commit(shards.popitem(last=False)[1])
            # Into the transaction: complete once tensorstore has the data.
            self._result(lv.array.with_transaction(shard.transaction)[box].write(data))
            shard.received += 1
            if shard.received == shard.expected:
                self._commit(shards.pop(key))
        self.chunks_written += 1
        return 1

    def _commit(self, shard):
        # As many shards committing as open at most, each level: memory for 2 x
        # SHARDS_OPEN shards a level (pipeline/export.py sizes them so).
        self._committing.append(shard.transaction.commit_async())
        while len(self._committing) > SHARDS_OPEN * len(self.levels):
            self._result(self._committing.popleft())

    def _add(self, future):
        self._pending.append(future)
        while len(self._pending) > self.max_pending:
            self._result(self._pending.popleft())

    def _result(self, future):
        try:
            return future.result()
        except (ValueError, OSError) as e:         # tensorstore's errors
            raise InputError('writing %s failed: %s' % (self.path, e), self.path)

    def close(self):
        """Commit the shards still open and wait for every write."""
        for shards in self._shards:
            while shards:
                self._commit(shards.popitem(last=False)[1])
        for futures in (self._committing, self._pending):
            while futures:
                self._result(futures.popleft())

    def abandon(self):
        """Stop after a failure: open transactions are dropped, writes in flight waited
        for (quietly) so nothing writes into the folder once it is removed."""
        for shards in self._shards:
            for shard in shards.values():
                shard.transaction.abort()
            shards.clear()
        for futures in (self._committing, self._pending):
            while futures:
                try:
                    futures.popleft().result()
                except (ValueError, OSError):
                    pass
