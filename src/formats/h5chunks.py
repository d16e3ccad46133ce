"""Where the chunks of a chunked HDF5 dataset lie in its file, from one pass over HDF5's
chunk index (``chunk_iter``; asking chunk by chunk is far slower): what the tile reader
reads chunks by (formats/tiles) and what a Chimera map's chunk index records
(formats/cmap.py CHUNK_INDEX).  Pure: h5py, numpy.
"""

import numpy as np

from ..blocks import grid_shape


class DamagedChunkIndex(ValueError):
    """HDF5's chunk index names a chunk outside the dataset's chunk grid or off it."""


def chunk_locations(dataset):
    """(file offset, stored size, filter mask): int64, int64 and uint32 arrays over the
    chunk grid of the chunked h5py ``dataset`` (z,y,x as stored), -1, 0, 0 for a chunk
    never written; offsets from the start of the file, its user block included.  Raises
    DamagedChunkIndex for a chunk the index places outside the grid or off it."""
    chunks = dataset.chunks
    grid = grid_shape(dataset.shape, chunks)
    offset = np.full(grid, -1, np.int64)
    size = np.zeros(grid, np.int64)
    mask = np.zeros(grid, np.uint32)
    base = dataset.file.userblock_size

    def note(info):
        i = tuple(o // c for o, c in zip(info.chunk_offset, chunks))
        if any(o % c or not 0 <= k < n
               for o, c, k, n in zip(info.chunk_offset, chunks, i, grid)):
            raise DamagedChunkIndex('a chunk at %s, outside its %s voxels' % (
                info.chunk_offset, ' x '.join(map(str, dataset.shape))))
        offset[i] = info.byte_offset + base
        size[i] = info.size
        mask[i] = info.filter_mask
    dataset.id.chunk_iter(note)
    return offset, size, mask
