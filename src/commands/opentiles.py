"""Opening a tile set in ChimeraX as one volume, without converting it: the open-command
provider of the "Connectome tiles" format (bundle_info.xml)::

    open FOLDER format tiles [dataset NAME] [pattern x{X}y{Y}z{Z}] [firstIndex 0]
        [missing error|zero] [axisOrder zyx|xyz] [voxelSize X,Y,Z] [origin X,Y,Z]
"""

import os

from chimerax.open_command import OpenerInfo

from ..errors import InputError
from ..formats.source import check_geometry
from ..formats.tiles import AXIS_ORDERS, DEFAULT_PATTERN, MISSING_CHOICES, open_tiles
from ..session.tilegrid import TilesGrid


def open_tile_set(session, path, dataset=None, pattern=DEFAULT_PATTERN, first_index=0,
                  missing='error', axis_order='zyx', voxel_size=(1, 1, 1), origin=None):
    """Open a tile set (folder, glob or files) as one volume; returns (models, message)."""
    from chimerax.core.errors import UserError
    try:
        voxel_size, origin = check_geometry(voxel_size, origin)
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
