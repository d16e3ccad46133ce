"""Asking the kernel to read ahead the chunks a region of a Chimera map needs, from the
map's chunk index (formats/cmap.py CHUNK_INDEX, written by combine).

HDF5 reads a region's chunks one after the other, and in a map combine wrote they lie in
runs apart in the file (a plane's chunks in a few runs, a block's in one run per row of
chunks, an xz plane's in hundreds): read from disk, each run waits for its seek in
turn.  Asked for together (``posix_fadvise(WILLNEED)`` on each run's bytes), the disk
serves them at once, and HDF5 then finds them in the page cache.  Only the read-ahead
comes from the index: the chunks are read through HDF5, so an index that no longer
matches the file (rewritten by another tool) costs useless read-ahead, never wrong data.
Nothing is asked where the system has no posix_fadvise (macOS, Windows).  Pure: h5py,
numpy.
"""

import os

import numpy as np
from h5py import h5d, h5s

from ..blocks import grid_shape
from .cmap import CHUNK_INDEX

# Stored bytes asked for at once (a window ahead of the chunks read), and the gap up to
# which neighbouring chunks are asked for as one range.
READ_AHEAD_BYTES = 2 ** 26
READ_AHEAD_GAP = 2 ** 14
# Regions of fewer chunks are left to the kernel's own read-ahead: reading the index is a
# seek of its own, and a few chunks lie in one or two runs; the slabs of a slicing movie
# (16 chunks of 4 x 128 x 128 for 512 x 512) are read a layer after another, and the
# next layer's chunks follow in the file, where the kernel's read-ahead runs on into
# them (pages asked for with WILLNEED do not carry it on).  A judgement, not a
# measurement: the benchmark could not tell the two apart (docs/performance.md,
# "Read-ahead").
MIN_CHUNKS = 32
_advise = getattr(os, 'posix_fadvise', None)


class ReadAhead:
    """The read-ahead of one region: the (offset, size) of its chunks from the index,
    asked for READ_AHEAD_BYTES at a time as the region's chunks are read."""

    def __init__(self, fd, entries, first, counts, chunks):
        self.fd = fd                    # HDF5's own descriptor of the open file
        self.chunk_shape = tuple(chunks)
        self.entries = entries          # (offset, size) of each chunk, z, y, x order
        self.first = first              # the region's first chunk (z, y, x chunk index)
        self.counts = counts            # its chunks along z, y, x
        self.asked = 0                  # entries asked for so far

    @classmethod
    def of(cls, reader, fid, axes, least=None):
        """The ReadAhead of the region ``axes`` (LevelReader.read's) of the array that
        ``reader`` (a LevelReader) reads, in the file ``fid`` it has open; None where
        there is nothing to gain (fewer than ``least`` chunks, default MIN_CHUNKS), no
        index (a map this bundle did not write, or wrote before it kept one), an index
        of another shape or holding a size no chunk can have, or no posix_fadvise."""
        counts = [len(a) for a in axes]
        if _advise is None or np.prod(counts) < (MIN_CHUNKS if least is None else least):
            return None
        chunks = reader.chunks
        grid = grid_shape(reader.shape, chunks)
        first = [a[0][0] // c for a, c in zip(axes, chunks)]
        try:
            index = h5d.open(fid, (CHUNK_INDEX + reader.name).encode())
        except (KeyError, ValueError, RuntimeError):
            return None
        try:
            row = grid[1] * grid[2] * 2
            if index.shape != (grid[0], row) or index.dtype != np.dtype(np.int64):
                return None
            # The rows of the region's z chunks, the columns of its y chunks (all x).
            part = np.empty((counts[0], counts[1] * grid[2] * 2), np.int64)
            space = index.get_space()
            space.select_hyperslab((first[0], first[1] * grid[2] * 2), part.shape)
            index.read(h5s.create_simple(part.shape), space, part)
            fd = fid.get_vfd_handle()
        except (OSError, RuntimeError, ValueError):
            return None
        finally:
            index.close()
        entries = part.reshape(counts[0], counts[1], grid[2], 2)[
            :, :, first[2]:first[2] + counts[2]].reshape(-1, 2)
        # Blosc stores a chunk in its bytes and a header; anything far beyond is not an
        # index of this array (and would have the kernel read ahead most of the file).
        most = 2 * int(np.prod(chunks)) * reader.dtype.itemsize + 4096
        if not isinstance(fd, int) or (entries < 0).any() or (entries[:, 1] > most).any():
            return None
        return cls(fd, entries, first, counts, chunks)

    def wrap(self, read_chunk):
        """``read_chunk`` (h5py's read_direct_chunk), asking ahead before each chunk
        read past what was asked for."""
        (z0, y0, x0), (_, ny, nx) = self.first, self.counts
        cz, cy, cx = self.chunk_shape

        def read(offset):
            k = (((offset[0] // cz - z0) * ny + offset[1] // cy - y0) * nx
                 + offset[2] // cx - x0)
            if k >= self.asked:
                self.ask(k)
            return read_chunk(offset)
        return read

    def ask(self, k):
        """Ask for the chunks from entry ``k`` on, READ_AHEAD_BYTES of them (at least
        one), neighbours within READ_AHEAD_GAP as one range."""
        held = np.cumsum(self.entries[k:, 1])
        stop = k + max(1, int(np.searchsorted(held, READ_AHEAD_BYTES, 'right')))
        ranges = self.entries[k:stop]
        ranges = ranges[ranges[:, 1] > 0]
        self.asked = stop
        if not len(ranges):
            return
        ranges = ranges[np.argsort(ranges[:, 0], kind='stable')]
        starts, ends = ranges[:, 0], ranges[:, 0] + ranges[:, 1]
        # A new range wherever a chunk starts past the gap after all before it end.
        reach = np.maximum.accumulate(ends)
        new = np.ones(len(starts), bool)
        new[1:] = starts[1:] > reach[:-1] + READ_AHEAD_GAP
        heads = np.flatnonzero(new)
        tails = np.append(heads[1:], len(starts)) - 1
        for a, b in zip(starts[heads].tolist(), reach[tails].tolist()):
            try:
                _advise(self.fd, a, b - a, os.POSIX_FADV_WILLNEED)
            except OSError:     # advice only
                return
