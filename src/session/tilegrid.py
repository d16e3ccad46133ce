"""A tile set opened in ChimeraX as one volume, without converting it.

``TilesGrid`` is the ChimeraX GridData of a formats.tiles TileSet: each region ChimeraX
asks for (a plane, a subregion, every Nth voxel) is read from only the tiles and HDF5
chunks it touches, through the same reader ``connectome combine`` uses; the open-command
provider that makes one is commands/opentiles.py.  There are no precomputed levels, so
a low-resolution view of a large set reads it all; ``connectome combine`` makes a file
that opens at low resolution at once.

A session reopens a tile set by its path (session/sessions.py registers ``reopen_tiles``
in ChimeraX's table of map file types) with the default open options; a TilesGrid's
original voxel size and origin are those defaults, so ChimeraX saves those given at open.
"""

from chimerax.map_data import GridData

from ..errors import InputError
from ..formats.tiles import DEFAULT_PATTERN, open_tiles
from .reopening import NOT_REOPENED, not_reopened


class TilesGrid(GridData):
    """GridData over a TileSet; ``voxel_size`` and ``origin`` are x,y,z."""

    def __init__(self, tileset, voxel_size=(1, 1, 1), origin=None, path=''):
        self.tileset = tileset
        if origin is None:
            origin = tuple(o * v for o, v in zip(reversed(tileset.offset), voxel_size))
        # The file type a session records: tiles where reopen_tiles gives this set again
        # (opened with the default options), else one whose reopening refuses.
        GridData.__init__(self, tuple(reversed(tileset.shape)), value_type=tileset.dtype,
                          origin=origin, step=voxel_size, name=tileset.name, path=path,
                          file_type='tiles' if _default_options(tileset) else NOT_REOPENED)
        # What a session restore reopens the set with (reopen_tiles).
        self.original_step = (1.0, 1.0, 1.0)
        self.original_origin = tuple(float(o) for o in reversed(tileset.offset))

    def read_matrix(self, ijk_origin, ijk_size, ijk_step, progress):
        start = tuple(reversed(ijk_origin))
        stop = tuple(o + s for o, s in zip(start, reversed(ijk_size)))
        m = self.tileset.read(start, stop, tuple(reversed(ijk_step)))
        # A block that is one tile chunk comes back read-only; ChimeraX may edit matrices.
        return m if m.flags.writeable else m.copy()


def _default_options(tileset):
    """Whether the set was opened with open_tiles' default options."""
    spec = tileset.spec
    return spec is not None and (spec.dataset, spec.pattern, spec.first_index, spec.missing,
                                 spec.axis_order) == (None, DEFAULT_PATTERN, 0, 'error', 'zyx')


def reopen_tiles(path, log=None):
    """[TilesGrid] of the tile set at ``path``, as a session restore reopens it (the
    default open options: a set opened with others, a pattern or missing zero, may not
    open so).  When it cannot be opened, a warning naming the set in ``log`` and an
    OSError (reopening.not_reopened), after which ChimeraX restores the other models."""
    try:
        tileset = open_tiles(path)
    except InputError as e:
        raise not_reopened('the tile set %s cannot be reopened with the default options'
                           ' (open it again with those it was opened with): %s'
                           % (path, e), log)
    return [TilesGrid(tileset, path=path)]
