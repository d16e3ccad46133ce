"""Where a tile set's files are and which grid position each one holds: a folder, a glob
or a list of HDF5 files, each named by its grid position (pattern ``x{X}y{Y}z{Z}``: x2 is
the tile that starts 2 tile widths along x).  Pure: no ChimeraX; grid positions are x,y,z.
"""

import glob
import os
import re

from ...errors import InputError

DEFAULT_PATTERN = 'x{X}y{Y}z{Z}'
TILE_SUFFIXES = ('.hdf5', '.h5', '.hdf')


def find_tile_files(source):
    """Paths of the tiles given as a folder, a glob, or a list of files (and globs)."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not items:
        raise InputError('no tiles given')
    paths = []
    for item in items:
        item = os.path.expanduser(str(item))
        if os.path.isdir(item):
            found = sorted(os.path.join(item, f) for f in os.listdir(item)
                           if f.lower().endswith(TILE_SUFFIXES)
                           and os.path.isfile(os.path.join(item, f)))
            if not found:
                raise InputError('folder %s has no HDF5 tiles (%s)'
                                 % (item, ', '.join(TILE_SUFFIXES)), item)
            paths.extend(found)
        elif os.path.exists(item):
            paths.append(item)
        elif glob.has_magic(item):
            found = sorted(p for p in glob.glob(item) if os.path.isfile(p))
            if not found:
                raise InputError('no files match %s' % item, item)
            paths.extend(found)
        else:
            raise InputError('tile file %s does not exist' % item, item)
    return paths


def pattern_regex(pattern):
    """Compiled regex for a tile name pattern with {X}, {Y}, {Z} standing for integers."""
    parts = re.split(r'(\{[XYZ]\})', pattern)
    fields = [p[1] for p in parts if re.fullmatch(r'\{[XYZ]\}', p)]
    if sorted(fields) != ['X', 'Y', 'Z']:
        raise InputError('tile name pattern %r must contain {X}, {Y} and {Z} once each'
                         % pattern)
    return re.compile(''.join('(?P<%s>\\d+)' % p[1] if p in ('{X}', '{Y}', '{Z}')
                              else re.escape(p) for p in parts))


def tile_position(path, regex, first_index=0):
    """Grid position (x, y, z), counted from 0, parsed from a tile's file name; or None."""
    name = os.path.basename(path)
    stem = name
    for suffix in TILE_SUFFIXES:
        if name.lower().endswith(suffix):
            stem = name[:-len(suffix)]
            break
    m = regex.fullmatch(name) or regex.fullmatch(stem)
    if m is None:
        return None
    return tuple(int(m.group(a)) - first_index for a in 'XYZ')


def format_position(position, pattern=DEFAULT_PATTERN, first_index=0):
    x, y, z = (p + first_index for p in position)
    return pattern.replace('{X}', str(x)).replace('{Y}', str(y)).replace('{Z}', str(z))
