"""Slicing through a Chimera map this bundle wrote: each xy plane ChimeraX asks for is
served from one read of the layer of chunks it lies in.

ChimeraX's cmap reader opens the file for every region it reads and closes it after, so
PyTables' chunk cache never outlives one read: a slicing movie (one plane a frame) that
reads planes one by one decompresses each chunk once per plane in it.  ``add_plane_slabs``
makes each level of such a map, once it is asked for a second xy plane (step 1) of the
same region near the one before (someone is slicing), read the slab of planes its chunks
hold (formats/cmap.py PLANE_DEPTH at full resolution, the cube side above) through
ChimeraX's own reader, keep that slab, and serve the slab's other planes from it: every
chunk of a movie is decompressed once, those of its first plane twice.  A lone plane is
read as ChimeraX reads it (a slab would copy 8 planes to show one).  One slab a level, at most SLAB_BYTES
(ChimeraX's own slab size), so memory stays bounded; a plane whose slab is larger is
read as ChimeraX reads it.  Regions that are not single xy planes are read as before.
"""

import threading

SLAB_BYTES = 2 ** 26


class PlaneSlabs:
    """Stands in for a level grid's ``read_matrix`` (GridData's reading hook): single xy
    planes from the chunk layer's slab, anything else from ``read``."""

    def __init__(self, read, depth, planes, itemsize, limit=SLAB_BYTES):
        self.read = read
        self.depth = depth
        self.planes = planes
        self.itemsize = itemsize
        self.limit = limit
        self.slabs_read = 0
        self._last = None           # the last plane asked for: (region, k)
        self._key = None
        self._slab = None
        self._lock = threading.Lock()

    def __call__(self, ijk_origin, ijk_size, ijk_step, progress):
        (i, j, k), (ni, nj, nk) = ijk_origin, ijk_size
        k0 = k - k % self.depth
        depth = min(self.depth, self.planes - k0)
        if (nk != 1 or tuple(ijk_step) != (1, 1, 1) or self.depth <= 1
                or ni * nj * depth * self.itemsize > self.limit):
            return self.read(ijk_origin, ijk_size, ijk_step, progress)
        region, key = (i, j, ni, nj), (i, j, ni, nj, k0)
        with self._lock:
            last, self._last = self._last, (region, k)
            if key != self._key and not (last and last[0] == region
                                         and 0 < abs(k - last[1]) <= self.depth):
                return self.read(ijk_origin, ijk_size, ijk_step, progress)
            if key != self._key:
                self._key = self._slab = None
                self._slab = self.read((i, j, k0), (ni, nj, depth), (1, 1, 1), progress)
                self._key = key
                self.slabs_read += 1
            # A copy: ChimeraX caches and may change the plane it is given.
            return self._slab[k - k0:k - k0 + 1].copy()


def add_plane_slabs(grids, path):
    """Give every level grid of ``grids`` (what ChimeraX's cmap reader returned for the
    Chimera map ``path``) a PlaneSlabs reader, where its chunks are deeper than a plane.
    Levels are matched to their arrays by size."""
    from ..formats import cmap     # h5py: imported when a map is opened, not at start
    chunks = cmap.chunk_shapes(path)
    for grid in level_grids(grids):
        shape = tuple(int(n) for n in reversed(grid.size))
        chunk = chunks.get(shape)
        if chunk is not None and chunk[0] > 1 and not isinstance(grid.read_matrix,
                                                                  PlaneSlabs):
            grid.read_matrix = PlaneSlabs(grid.read_matrix, chunk[0], shape[0],
                                          grid.value_type.itemsize)


def level_grids(grids):
    """The grids that read the arrays: each level of a multiresolution grid."""
    for g in grids:
        if isinstance(g, (list, tuple)):
            yield from level_grids(g)
        else:
            levels = getattr(g, 'available_subsamplings', None)
            yield from (levels.values() if levels else (g,))
