"""The pieces of combine's work: the geometry of the pyramid's levels (which chunks of a
level make up a chunk of the level above), one complete chunk made into what the file
stores (compressed, and downsampled for the level above), and a whole subtree of chunks
done at once.  In their own module because both the local engine (combine.py) and a
cluster's workers (cluster.py) run them.  Pure: numpy and the codecs.
"""

import numpy as np

from ..blocks import ChunkGrid, ceil_div
from . import pyramid


class Level(ChunkGrid):
    """One level of the map: its shape and chunk shape (z,y,x), the factors to the level
    above (None at the top) and its subsample step (x,y,z).

    Chunk sides are multiples of every downsampling factor, so a chunk downsampled by
    the next level's factors is an exact piece of one chunk of that level (a partial
    block can only lie at the volume's far edge, where the level above has one too).
    """

    def __init__(self, shape, chunk_shape, up, step=(1, 1, 1)):
        self.shape = tuple(shape)
        self.chunk_shape = tuple(chunk_shape)
        self.up = up
        self.step = tuple(step)

    def children(self, index, below):
        """Chunks of the level below whose downsampled blocks make up chunk ``index``."""
        start, stop = self.chunk_extent(index)
        ranges = [range(b * f // c, ceil_div(min(e * f, n), c)) for b, e, f, c, n in
                  zip(start, stop, below.up, below.chunk_shape, below.shape)]
        return [(z, y, x) for z in ranges[0] for y in ranges[1] for x in ranges[2]]

    def parent_of(self, index, above):
        """(chunk of the level above, where this chunk's downsampled block starts in it)."""
        start = tuple(i * c // f for i, c, f in zip(index, self.chunk_shape, self.up))
        return tuple(s // c for s, c in zip(start, above.chunk_shape)), start


class Assembly:
    """A chunk being filled with the downsampled blocks of its children."""

    def __init__(self, start, shape, dtype, children):
        self.start = start
        self.shape = shape
        self.dtype = dtype
        self.remaining = children
        self.block = None               # allocated by the first non-empty child

    def add(self, start, array):
        if array is not None:
            if self.block is None:
                self.block = np.zeros(self.shape, self.dtype)
            self.block[tuple(slice(s - o, s - o + n) for s, o, n in
                             zip(start, self.start, array.shape))] = array
        self.remaining -= 1
        return self.remaining == 0


class ChunkWork:
    """What turning one complete chunk of a level into stored bytes takes: the level's
    codec, the factors to the level above (None at the top), the downsampling method.
    Small and picklable: a cluster's workers get it with their tasks."""

    def __init__(self, codec, up, method, mode_library, integer):
        self.codec = codec
        self.up = up
        self.method = method
        self.mode_library = mode_library
        self.integer = integer


def finish_chunk(work, a):
    """(compressed bytes, maximum, block downsampled for the level above) of a complete
    chunk ``a``; (None, 0, None) when it is all zero (never written: it reads back 0)."""
    # One pass: for unsigned labels (the usual case) the maximum also says "empty".
    mx = int(a.max()) if work.integer else 0
    if (mx == 0) if a.dtype.kind == 'u' else not a.any():
        return None, 0, None
    data = work.codec.encode(a)
    up = None if work.up is None else pyramid.downsample(a, work.up, work.method,
                                                         work.mode_library)
    return data, mx, up


def finish_subtree(read, levels, works, level, index, dtype):
    """Every chunk under chunk ``index`` of ``level`` (itself included), done bottom up
    as the engine would do them one by one: ``read(start, stop)`` gives a full-resolution
    block.  Returns ([(level, index, bytes or None, maximum)] in post-order, the block
    downsampled for the level above or None, full-resolution voxels covered)."""
    done = []

    def visit(n, ix):
        lv = levels[n]
        if n == 0:
            start, stop = lv.chunk_extent(ix)
            data, mx, up = finish_chunk(works[0], read(start, stop))
            done.append((0, ix, data, mx))
            return up
        below = levels[n - 1]
        p0, p1 = lv.chunk_extent(ix)
        children = lv.children(ix, below)
        asm = Assembly(p0, tuple(b - a for a, b in zip(p0, p1)), dtype, len(children))
        for c in children:
            asm.add(below.parent_of(c, lv)[1], visit(n - 1, c))
        data, mx, up = ((None, 0, None) if asm.block is None
                        else finish_chunk(works[n], asm.block))
        done.append((n, ix, data, mx))
        return up

    up = visit(level, index)
    corner = levels[level].chunk_extent(index)
    voxels = int(np.prod([min(e * s, n) - b * s for b, e, s, n in zip(
        corner[0], corner[1], _full_step(levels, level), levels[0].shape)]))
    return done, up, voxels


def _full_step(levels, level):
    """z,y,x voxels of full resolution per voxel of ``level``."""
    step = [1, 1, 1]
    for lv in levels[:level]:
        step = [s * f for s, f in zip(step, lv.up)]
    return step
