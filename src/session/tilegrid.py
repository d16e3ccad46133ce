"""A tile set opened in ChimeraX as one volume, without converting it.

``TilesGrid`` is the ChimeraX GridData of a formats.tiles TileSet: each region ChimeraX
asks for (a plane, a subregion, every Nth voxel) is read from only the tiles and HDF5
chunks it touches, through the same reader ``connectome combine`` uses; the open-command
provider that makes one is commands/opentiles.py.  There are no precomputed levels, so
a low-resolution view of a large set reads it all; ``connectome combine`` makes a file
that opens at low resolution at once.
"""

from chimerax.map_data import GridData


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
