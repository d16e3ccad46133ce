"""A tile set opened in ChimeraX as one volume, without converting it.

``TilesGrid`` is the ChimeraX GridData of a tiles.TileSet: each region ChimeraX asks for
(a plane, a subregion, every Nth voxel) is read from only the tiles and HDF5 chunks it
touches, through the same reader ``connectome combine`` uses.  ``TilesOpenerInfo`` is
the open-command provider for the "Connectome tiles" format::

    open FOLDER format tiles [dataset NAME] [pattern x{X}y{Y}z{Z}] [firstIndex 0]
        [missing error|zero] [axisOrder zyx|xyz] [voxelSize X,Y,Z] [origin X,Y,Z]

There are no precomputed levels, so a low-resolution view of a large set reads it all;
``connectome combine`` makes a file that opens at low resolution at once.
"""

import os

from chimerax.map_data import GridData
from chimerax.open_command import OpenerInfo

from .errors import InputError
from .tiles import AXIS_ORDERS, DEFAULT_PATTERN, MISSING_CHOICES, open_tiles


class TilesGrid(GridData):
    """GridData over a TileSet; ``voxel_size`` and ``origin`` are x,y,z."""

    def __init__(self, tileset, voxel_size=(1, 1, 1), origin=None, path=''):
        self.tileset = tileset
        if origin is None:
            origin = tuple(o * v for o, v in zip(reversed(tileset.offset), voxel_size))
        GridData.__init__(self, tuple(reversed(tileset.shape)), value_type=tileset.dtype,
                          origin=origin, step=voxel_size, name=tileset.name, path=path,
                          file_type='tiles')

    def read_matrix(self, ijk_origin, ijk_size, ijk_step, progress):
        start = tuple(reversed(ijk_origin))
        stop = tuple(o + s for o, s in zip(start, reversed(ijk_size)))
        m = self.tileset.read(start, stop, tuple(reversed(ijk_step)))
        # A block that is one tile chunk comes back read-only; ChimeraX may edit matrices.
        return m if m.flags.writeable else m.copy()


def open_tile_set(session, path, dataset=None, pattern=DEFAULT_PATTERN, first_index=0,
                  missing='error', axis_order='zyx', voxel_size=(1, 1, 1), origin=None):
    """Open a tile set (folder, glob or files) as one volume; returns (models, message)."""
    from chimerax.core.errors import UserError
    try:
        tileset = open_tiles(path, dataset=dataset, pattern=pattern, first_index=first_index,
                             missing=missing, axis_order=axis_order)
    except InputError as e:
        raise UserError('open tiles: %s' % e)
    grid = TilesGrid(tileset, voxel_size, origin, path=path)
    from chimerax.map.volume import open_grids
    models, message = open_grids(session, [grid], tileset.name)
    x, y, z = grid.size
    gaps = ', %d missing read as 0' % len(tileset.missing) if tileset.missing else ''
    return models, ('Opened tile set %s: %d tiles%s, %d x %d x %d voxels, %s'
                    % (tileset.name, len(tileset.tiles), gaps, x, y, z, tileset.dtype.name))


class TilesOpenerInfo(OpenerInfo):
    """Open-command provider for the "Connectome tiles" format (format name tiles)."""

    def open(self, session, data, file_name, **kw):
        path = data if isinstance(data, str) else os.fspath(data)
        return open_tile_set(session, path, **kw)

    @property
    def open_args(self):
        from chimerax.core.commands import EnumOf, IntArg, StringArg
        from chimerax.map.mapargs import Float1or3Arg
        return {'dataset': StringArg,
                'pattern': StringArg,
                'first_index': IntArg,
                'missing': EnumOf(MISSING_CHOICES),
                'axis_order': EnumOf(AXIS_ORDERS),
                'voxel_size': Float1or3Arg,
                'origin': Float1or3Arg}
