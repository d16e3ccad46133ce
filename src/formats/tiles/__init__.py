"""Tile sets: HDF5 tiles on a regular grid, read as one stitched volume.

A tile set is a folder, a glob or a list of HDF5 files whose names give their grid
position (naming.py).  ``open_tiles`` (opening.py) checks that the tiles make one grid
and returns a TileSet (tileset.py), a formats/source.py VolumeSource whose ``read``
returns any block of the stitched volume; tilefile.py says how each tile is stored, and
files.py keeps the open files and the chunk cache the reads share.  Pure: no ChimeraX.

Index order: the stitched volume is z,y,x (numpy order, as the authors' tiles are
stored); grid positions and the file-name pattern are x,y,z.
"""

from .naming import DEFAULT_PATTERN, TILE_SUFFIXES, find_tile_files
from .opening import AXIS_ORDERS, MISSING_CHOICES, TilesSpec, open_tiles
from .tilefile import TileFile, find_dataset
from .tileset import INFLATERS, TileSet

__all__ = ['AXIS_ORDERS', 'DEFAULT_PATTERN', 'INFLATERS', 'MISSING_CHOICES', 'TILE_SUFFIXES',
           'TileFile', 'TileSet', 'TilesSpec', 'find_dataset', 'find_tile_files', 'open_tiles']
