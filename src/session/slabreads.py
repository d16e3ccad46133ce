"""How a Chimera map this bundle wrote is read: in slabs, through the bundle's chunk
reader (formats/cmapread.py) where its chunks are Blosc, else through ChimeraX's own.

ChimeraX's cmap reader opens the file for every region it reads and closes it after, so
PyTables' chunk cache never outlives one read, and it reads every Nth voxel with one
strided HDF5 selection.  Two views pay for that:

- a slicing movie (one xy plane a frame) decompresses each chunk once per plane in it.
  So once a level is asked for a second xy plane (step 1) of the same region near the
  one before (someone is slicing), it reads the slab of planes its chunks hold
  (formats/cmap.py PLANE_DEPTH at full resolution, IMAGE_PLANE_DEPTH for an image,
  the cube side above), keeps that slab and serves the slab's other planes from it:
  every chunk of a movie is decompressed once, those of its first plane twice; as each
  slab is read, the kernel is asked to read ahead the next AHEAD_SLABS slabs the way the
  planes go (in the same opening of the file as the slab's read, from the map's chunk
  index), and the slab is read into the one before it (memory already in use).  A
  lone plane is read alone (a slab would decompress 8 planes to show one; the chunk
  reader decompresses only the LZ4 streams holding it).
- the whole volume at ChimeraX's automatic step often reads a level with a step of 2
  in z (the level with steps 8,8,4 at step 1,1,2), and HDF5 copies a strided selection
  element by element, many times slower than decompressing it.  So a strided region
  is read at step 1, slab by slab, and strided in memory.

``add_slab_reads`` puts a SlabReads in place of each level grid's ``read_matrix``
(GridData's reading hook).  A slab is at most SLAB_BYTES (ChimeraX's own slab size),
one kept a level while slicing (let go at the level's next other read), so memory stays
bounded; a region that needs more is read whole.  Installed by session/initialdisplay.py's cmap opener wrap, for
maps carrying the bundle's marker.
"""

import math
import threading

import numpy as np

SLAB_BYTES = 2 ** 26
# Slabs asked ahead, in the direction of slicing, as each slab is read (the chunk
# reader asks as it reads a slab: the kernel reads them while the planes before are
# shown).
AHEAD_SLABS = 4


class SlabReads:
    """Stands in for a level grid's ``read_matrix``: single xy planes from the chunk
    layer's slab, strided regions at step 1 slab by slab, anything else from ``read``
    (``read``: the bundle's chunk reader or ChimeraX's)."""

    def __init__(self, read, depth, planes, dtype, limit=SLAB_BYTES, level=None):
        self.chimerax_read = read
        self.level = level          # formats/cmapread.py LevelReader, or None
        self.depth = depth          # planes in a chunk
        self.planes = planes        # planes in the level
        self.dtype = np.dtype(dtype)
        self.limit = limit
        self.slabs_read = 0
        self._last = None           # the last plane asked for: (region, k)
        self._key = None
        self._slab = None
        self._lock = threading.Lock()

    @property
    def held_bytes(self):
        """Bytes of the slab kept for the next planes (0 when none is)."""
        slab = self._slab
        return 0 if slab is None else slab.nbytes

    def read(self, ijk_origin, ijk_size, ijk_step, progress, into=None, ahead=None):
        """A region at any step, as GridData's ``read_matrix``: through the bundle's
        chunk reader (``level``) at step 1 while the file is the one it opened, else
        through ChimeraX's reader; ``into``: an array of the region's shape the chunk
        reader may fill instead of a new one; ``ahead``: the chunk reader's (origin,
        size), z,y,x, of a region to ask the kernel for once this one is read."""
        level = self.level
        if level is not None and tuple(ijk_step) == (1, 1, 1):
            from ..formats.cmapread import LayoutChanged
            size = tuple(reversed(ijk_size))
            if into is not None and (into.shape != size or into.dtype != self.dtype):
                into = None
            try:
                m = level.read(tuple(reversed(ijk_origin)), size, into, ahead)
            except LayoutChanged:
                self.level = None   # written again under its name: ChimeraX's way
            else:
                if progress:
                    progress.done()
                return m
        return self.chimerax_read(ijk_origin, ijk_size, ijk_step, progress)

    def __call__(self, ijk_origin, ijk_size, ijk_step, progress):
        (i, j, k), (ni, nj, nk) = ijk_origin, ijk_size
        k0 = k - k % self.depth
        depth = min(self.depth, self.planes - k0)
        if (tuple(ijk_step) != (1, 1, 1) or nk != 1 or self.depth <= 1
                or ni * nj * depth * self.dtype.itemsize > self.limit):
            with self._lock:        # no longer slicing: the slab is let go
                self._last = self._key = self._slab = None
            if tuple(ijk_step) != (1, 1, 1):
                return self._strided(ijk_origin, ijk_size, ijk_step, progress)
            return self.read(ijk_origin, ijk_size, ijk_step, progress)
        region, key = (i, j, ni, nj), (i, j, ni, nj, k0)
        with self._lock:
            last, self._last = self._last, (region, k)
            if key != self._key and not (last and last[0] == region
                                         and 0 < abs(k - last[1]) <= self.depth):
                return self.read(ijk_origin, ijk_size, ijk_step, progress)
            if key != self._key:
                # The slab before is read over (it is this reader's alone: planes are
                # handed out as copies), so a movie reads into memory already in use.
                before, self._key, self._slab = self._slab, None, None
                ahead = None
                if last and last[0] == region:
                    # The next slabs the way the planes go, asked for in the same
                    # opening of the file as this slab's read.
                    n = AHEAD_SLABS * self.depth
                    start = k0 + self.depth if k > last[1] else k0 - n
                    ahead = ((start, j, i), (n, nj, ni))
                self._slab = self.read((i, j, k0), (ni, nj, depth), (1, 1, 1), progress,
                                       into=before, ahead=ahead)
                self._key = key
                self.slabs_read += 1
            # A copy: ChimeraX caches and may change the plane it is given.
            return self._slab[k - k0:k - k0 + 1].copy()

    def _strided(self, ijk_origin, ijk_size, ijk_step, progress):
        (i, j, k), (ni, nj, nk), (si, sj, sk) = ijk_origin, ijk_size, ijk_step
        plane = ni * nj * self.dtype.itemsize
        if plane * sk > self.limit:
            return self.read(ijk_origin, ijk_size, ijk_step, progress)
        # A multiple of the z step, and of the chunk depth where it fits, so that a
        # chunk is decompressed by one slab or, where the region starts inside one, two.
        whole = math.lcm(sk, self.depth)
        unit = whole if plane * whole <= self.limit else sk
        per_slab = self.limit // plane // unit * unit
        out = np.empty(tuple(-(-n // s) for n, s in ((nk, sk), (nj, sj), (ni, si))),
                       self.dtype)
        for p in range(0, nk, per_slab):
            slab = self.read((i, j, k + p), (ni, nj, min(per_slab, nk - p)), (1, 1, 1),
                             progress)
            out[p // sk:p // sk + -(-slab.shape[0] // sk)] = slab[::sk, ::sj, ::si]
        return out


def add_slab_reads(grids, path):
    """Give every level grid of ``grids`` (what ChimeraX's cmap reader returned for the
    Chimera map ``path``) a SlabReads reader, reading through the bundle's chunk reader
    (formats/cmapread.py, the file kept open) where the level is Blosc-compressed.
    Levels are matched to their arrays (and chunk depths) by size; a level whose size
    another shares is left as it is."""
    from ..formats import cmap, cmapread   # h5py: imported when a map is opened
    levels = cmapread.map_levels(path)
    chunks = cmap.chunk_shapes(path)
    for grid in level_grids(grids):
        shape = tuple(int(n) for n in reversed(grid.size))
        chunk = chunks.get(shape)
        if chunk is not None and not isinstance(grid.read_matrix, SlabReads):
            grid.read_matrix = SlabReads(grid.read_matrix, chunk[0], shape[0],
                                         grid.value_type, level=levels.get(shape))


def level_grids(grids):
    """The grids that read the arrays: each level of a multiresolution grid."""
    for g in grids:
        if isinstance(g, (list, tuple)):
            yield from level_grids(g)
        else:
            levels = getattr(g, 'available_subsamplings', None)
            yield from (levels.values() if levels else (g,))
