"""Finding, checking and opening a tile set: ``open_tiles`` finds the one 3-D dataset in
each file and checks that the tiles make one grid (one dtype, one tile size, only tiles
at the far edges smaller, no position twice, no gap unless ``missing='zero'``), then
returns the TileSet that reads them.  ``TilesSpec`` is what another process needs to open
the same tile set (a cluster's workers).  Pure: no ChimeraX.
"""

import os
from collections import Counter
from dataclasses import dataclass
from typing import Optional, Tuple

import h5py

from ...errors import InputError
from .naming import DEFAULT_PATTERN, find_tile_files, format_position, pattern_regex, \
    tile_position
from .tilefile import TileFile, find_dataset
from .tileset import TileSet

AXIS_ORDERS = ('zyx', 'xyz')
MISSING_CHOICES = ('error', 'zero')

_MAX_LISTED = 12         # how many missing tiles an error message lists


@dataclass(frozen=True)
class TilesSpec:
    """The arguments of ``open_tiles`` that made a tile set, its files as absolute paths
    (the formats/source.py WorkerSpec of a TileSet)."""
    source: Tuple[str, ...]
    dataset: Optional[str]
    pattern: str
    first_index: int
    missing: str
    axis_order: str
    inflate: str

    def open(self):
        return open_tiles(list(self.source), dataset=self.dataset, pattern=self.pattern,
                          first_index=self.first_index, missing=self.missing,
                          axis_order=self.axis_order, inflate=self.inflate)


def open_tiles(source, dataset=None, pattern=DEFAULT_PATTERN, first_index=0, missing='error',
               axis_order='zyx', cache_bytes=256 * 2**20, inflate='libdeflate'):
    """Find, check and open a tile set; returns a TileSet.

    ``inflate`` names the deflate decoder for chunks read as raw bytes (INFLATERS).

    Raises InputError naming the file and the problem for anything that keeps the tiles
    from forming one grid.
    """
    if missing not in MISSING_CHOICES:
        raise ValueError('missing must be one of %s' % ', '.join(MISSING_CHOICES))
    if axis_order not in AXIS_ORDERS:
        raise ValueError('axis_order must be one of %s' % ', '.join(AXIS_ORDERS))
    regex = pattern_regex(pattern)
    paths = find_tile_files(source)
    positions = {}
    for path in paths:
        pos = tile_position(path, regex, first_index)
        if pos is None:
            raise InputError('file %s does not match the tile name pattern %s'
                             % (os.path.basename(path), pattern), path)
        if min(pos) < 0:
            raise InputError('tile %s has a grid index below firstIndex %d'
                             % (os.path.basename(path), first_index), path)
        positions.setdefault(pos, []).append(path)
    for pos, same in positions.items():
        if len(same) > 1:
            raise InputError('two files for grid position %s: %s'
                             % (format_position(pos, pattern, first_index),
                                ', '.join(os.path.basename(p) for p in same)), same[1])

    tiles = {}
    for pos, (path,) in sorted(positions.items(), key=lambda item: item[0][::-1]):
        try:
            with h5py.File(path, 'r') as f:
                tiles[pos] = TileFile(path, pos, find_dataset(f, dataset, path), axis_order)
        except InputError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
            # h5py reports damaged metadata in several ways ("Object visitation failed",
            # bad symbol table, unknown types).
            raise InputError('tile %s is not a readable HDF5 file (damaged?): %s'
                             % (os.path.basename(path), e), path)

    _check_dtypes(tiles)
    grid_min = tuple(min(p[a] for p in tiles) for a in range(3))
    grid_max = tuple(max(p[a] for p in tiles) for a in range(3))
    tile_shape = _check_sizes(tiles, grid_max)
    gaps = [(x, y, z) for z in range(grid_min[2], grid_max[2] + 1)
            for y in range(grid_min[1], grid_max[1] + 1)
            for x in range(grid_min[0], grid_max[0] + 1) if (x, y, z) not in tiles]
    if gaps and missing == 'error':
        names = [format_position(p, pattern, first_index) for p in gaps]
        more = ' and %d more' % (len(names) - _MAX_LISTED) if len(names) > _MAX_LISTED else ''
        raise InputError('%d tile%s missing from the grid: %s%s (use missing zero to fill'
                         ' them with zeros)' % (len(gaps), 's are' if len(gaps) > 1 else ' is',
                                                ', '.join(names[:_MAX_LISTED]), more))
    spec = TilesSpec(tuple(os.path.abspath(p) for p in paths), dataset, pattern, first_index,
                     missing, axis_order, inflate)
    return TileSet(tiles, tile_shape, grid_min, grid_max, gaps, pattern, first_index,
                   cache_bytes=cache_bytes, name=_set_name(paths), inflate=inflate, spec=spec)


def _set_name(paths):
    folder = os.path.dirname(os.path.abspath(paths[0]))
    return os.path.basename(folder) or folder


def _check_dtypes(tiles):
    counts = Counter(t.dtype.newbyteorder('=') for t in tiles.values())
    common = counts.most_common(1)[0][0]
    for t in tiles.values():
        if t.dtype.newbyteorder('=') != common:
            raise InputError('tile %s is %s, the others %s' % (t.name, t.dtype.name, common.name),
                             t.path)


def _check_sizes(tiles, grid_max):
    """Interior tile size (z,y,x); every tile must have it, except far-edge tiles, which
    need only agree with each other along the axis where they are at the edge."""
    axis_names = 'zyx'
    tile_shape = []
    for a in range(3):
        p = 2 - a               # the position index (x,y,z) of axis a (z,y,x)
        inner = Counter(t.shape[a] for t in tiles.values() if t.position[p] < grid_max[p])
        edge = Counter(t.shape[a] for t in tiles.values() if t.position[p] == grid_max[p])
        size = inner.most_common(1)[0][0] if inner else edge.most_common(1)[0][0]
        edge_size = edge.most_common(1)[0][0]
        for t in tiles.values():
            at_edge = t.position[p] == grid_max[p]
            want = edge_size if at_edge else size
            if t.shape[a] != want:
                where = ('far-edge tiles along %s are' % axis_names[a]) if at_edge else \
                    'interior tiles are'
                raise InputError('tile %s is %s voxels (x,y,z), but %s %d along %s'
                                 % (t.name, ' x '.join(map(str, reversed(t.shape))), where,
                                    want, axis_names[a]), t.path)
        tile_shape.append(size)
    return tuple(tile_shape)
