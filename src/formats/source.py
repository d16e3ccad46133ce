"""A volume source: what ``connectome combine`` and ``open`` read, declared once.

A tile set (formats/tiles/) and a chunked store (formats/stores/) are both one z,y,x
volume made of pieces on a regular grid (tile files, or store chunks), read block by
block.  ``VolumeSource`` says what each of them answers, so that combine, its cluster
path and the open commands use either without asking which one it is; where the two
differ (a store knows its voxel size, a tile set does not) the answer says so (None);
both tell a cluster's workers how to reopen them (``worker_spec``).  ``check_geometry`` checks the voxel
size and origin a source is written or shown with.  Pure: no ChimeraX.

Index order: z,y,x (numpy order) for shapes, starts and stops; x,y,z for grid positions,
voxel sizes and origins.
"""

from abc import ABC, abstractmethod
from typing import Collection, List, Optional, Protocol, Tuple

import numpy as np

from ..errors import InputError

Position = Tuple[int, int, int]         # x,y,z grid position of a tile or chunk


class WorkerSpec(Protocol):
    """What another process (a cluster's worker) needs to open the same source: a small
    picklable and hashable record."""

    def open(self) -> 'VolumeSource':
        """The source, opened in this process."""


class VolumeSource(ABC):
    """One z,y,x volume read block by block.

    Attributes every source has:

    - ``name``: what to call it (a map's default name);
    - ``shape``: z,y,x; ``dtype``: the voxel type read;
    - ``offset``: z,y,x voxel index of its first voxel in its own grid;
    - ``chunk_shape``: z,y,x of the pieces read at once (None: tiles stored unchunked);
    - ``voxel_size``, ``origin``: x,y,z from its metadata, or None when it has none
      (tile sets);
    - ``paths``: the local files it is made of (an output must be none of them);
    - ``tiles``: the grid positions (x,y,z) that hold data (``in``, ``len``): a tile set's
      files, or every chunk of a store (chunks a store lacks read as zeros);
    - ``chunks_read``, ``bytes_read``: pieces decoded so far and their size.
    """

    name: str
    shape: Tuple[int, int, int]
    dtype: np.dtype
    offset: Tuple[int, int, int]
    chunk_shape: Optional[Tuple[int, int, int]]
    voxel_size: Optional[Tuple[float, float, float]]
    origin: Optional[Tuple[float, float, float]]
    paths: List[str]
    tiles: Collection[Position]
    chunks_read: int
    bytes_read: int

    @abstractmethod
    def positions_in(self, start, stop) -> List[Position]:
        """Grid positions (x,y,z) of the pieces the block [start, stop) touches."""

    def count_in(self, start, stop) -> int:
        """How many of ``tiles`` the block [start, stop) touches."""
        return sum(1 for p in self.positions_in(start, stop) if p in self.tiles)

    @abstractmethod
    def is_empty(self, start, stop) -> bool:
        """True when the block is known to hold no data without reading it."""

    @abstractmethod
    def prepare(self, start, stop) -> bool:
        """Make the block readable from worker threads; False when only the calling
        thread may read it (see TileSet.prepare)."""

    @abstractmethod
    def read(self, start=(0, 0, 0), stop=None, step=(1, 1, 1)) -> np.ndarray:
        """The block [start, stop) (z,y,x), every step-th voxel; treat it as read-only."""

    @abstractmethod
    def filtered_tiles(self) -> list:
        """The pieces only HDF5's filter pipeline can decode (read more slowly)."""

    @abstractmethod
    def set_cache_limit(self, nbytes) -> None:
        """Bytes of decoded pieces to keep for the reads that need them again."""

    @abstractmethod
    def worker_spec(self) -> Optional[WorkerSpec]:
        """How another process opens this source, or None when it cannot."""

    def copy_values(self):
        """Called before a copy reads the source: what maps its values back to the ids
        they stand for (a store read through an id map, formats/stores/idmap.py), which
        the copy then keeps; None for a source whose values are the ids."""
        return None

    def finish_copy(self, path):
        """Called with the written, not yet published .cmap ``path`` copied from the
        source: a store read through an id map keeps the map in it."""

    def close(self):
        """Let go of open files (nothing to do unless a source holds some)."""

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_geometry(voxel_size, origin):
    """InputError unless the voxel size is positive and finite and the origin finite."""
    voxel_size = tuple(float(v) for v in voxel_size)
    if not all(np.isfinite(v) and v > 0 for v in voxel_size):
        raise InputError('voxelSize must be positive and finite, not %s'
                         % ','.join('%g' % v for v in voxel_size))
    if origin is not None:
        origin = tuple(float(v) for v in origin)
        if not all(np.isfinite(v) for v in origin):
            raise InputError('origin must be finite, not %s' % ','.join('%g' % v for v in origin))
    return voxel_size, origin
