"""Block arithmetic shared by the tile reader, the pyramid and the map writer: how many
blocks of a given shape cover a volume, and where one block starts and stops.

Pure: no imports beyond the standard library.  Shapes and indices are tuples in one axis
order (the callers use z,y,x); blocks at the far edges are clipped to the volume.
"""


def ceil_div(a, b):
    """a / b rounded up, for non-negative integers (exact at any size, unlike floats)."""
    return -(-a // b)


def grid_shape(shape, block):
    """Number of blocks along each axis needed to cover ``shape``."""
    return tuple(ceil_div(n, b) for n, b in zip(shape, block))


class ChunkGrid:
    """For a class with ``shape`` and ``chunk_shape``: its grid of chunks and where each
    lies (the writer's stored arrays and the pyramid's levels both are one)."""

    @property
    def chunk_grid(self):
        return grid_shape(self.shape, self.chunk_shape)

    def chunk_extent(self, index):
        """Start and stop of chunk ``index`` (clipped at the far edges)."""
        return block_extent(index, self.chunk_shape, self.shape)


def block_extent(index, block, shape):
    """Start and stop of block ``index``, the last one along an axis clipped to ``shape``."""
    start = tuple(i * b for i, b in zip(index, block))
    stop = tuple(min(s + b, n) for s, b, n in zip(start, block, shape))
    return start, stop
