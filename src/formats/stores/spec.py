"""What a store's metadata says, as small immutable records: ``StoreSpec`` (format,
voxel size and origin, which scales to read and how) and ``LevelSpec`` (one scale), made
by precomputed.py, zarr.py and n5.py and opened by opening.py; and the checks the three
formats share (voxel sizes, whole downsampling factors, voxel types, axis names), and
``Fields``, which reads a metadata file's JSON key by key with its type and range
checked.  Each format module's ``FORMAT_spec(loc, read, channel)`` takes the store's
Location, ``read(key)``, which gives the parsed JSON of a metadata file inside the store
or None if it is absent, and the channel to read; it raises InputError naming the store
and the problem, and for metadata of the wrong type or range the file and the key.
Pure: no ChimeraX, no tensorstore.

Index order: z,y,x for factors and offsets; x,y,z for voxel sizes and origins.
"""

import json
import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ...errors import InputError

# Length units to nanometres (OME-Zarr's axis units, N5's pixelResolution unit).
NANOMETRES = {'angstrom': 0.1, 'nanometer': 1.0, 'nm': 1.0, 'micrometer': 1e3, 'um': 1e3,
              'µm': 1e3, 'micron': 1e3, 'millimeter': 1e6, 'mm': 1e6, 'centimeter': 1e7,
              'cm': 1e7, 'meter': 1e9, 'm': 1e9, 'picometer': 1e-3, 'pm': 1e-3}
# 64-bit integer voxels are read as 32-bit (see Store.to_voxel_type).
MAX_ID = {np.dtype(np.uint64): np.uint32, np.dtype(np.int64): np.int32}


@dataclass(frozen=True)
class LevelSpec:
    """One scale to read: ``key`` (the store's name for it, in messages), ``path`` (its
    folder inside the store), ``factors`` (z,y,x) to the full resolution,
    ``scale_index`` (precomputed's index of it in the info file; None otherwise) and
    ``chunk_files``: how its chunks are stored when tensorstore cannot read them (a
    chunkfiles.py ChunkFiles; None: tensorstore reads them); ``metadata``: the JSON
    text tensorstore is to read as the level's metadata file in place of the stored one
    (None: the file as it is; n5.py's blosc without ``nthreads``)."""
    key: str
    path: str = ''
    factors: Tuple[int, int, int] = (1, 1, 1)
    scale_index: Optional[int] = None
    chunk_files: Optional[object] = None
    metadata: Optional[str] = None


@dataclass(frozen=True)
class StoreSpec:
    """A store as its metadata describes it.

    ``driver``: tensorstore's driver for its arrays; ``levels``: LevelSpecs, the full
    resolution first; ``axes``: the arrays' dimension names (None: the last three are
    z,y,x), listed x first in the metadata when ``reverse`` (N5); ``channel``: the one
    channel read; ``voxel_size`` and ``origin``: x,y,z nanometres of the full
    resolution; ``offset``: z,y,x voxel index of its first voxel in the store's own grid;
    ``units_known``: whether the metadata gave units; ``segmentation``: True, False or
    None (not said); ``stored_dtype``: the voxel type stored, when the metadata says it
    (None: from the full resolution's array); ``skipped``: (key, reason) of the scales
    left out; ``geometry``: the metadata keys the voxel size and origin were read from
    ('' when the metadata gives neither: voxel size 1, origin 0)."""
    location: object
    format: str
    driver: str = ''
    levels: Tuple[LevelSpec, ...] = ()
    channel: int = 0
    axes: Optional[Tuple[str, ...]] = None
    reverse: bool = False
    voxel_size: Tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    offset: Tuple[int, int, int] = (0, 0, 0)
    units_known: bool = False
    segmentation: Optional[bool] = None
    stored_dtype: Optional[np.dtype] = None
    skipped: Tuple[Tuple[str, str], ...] = ()
    geometry: str = ''


_ABSENT = object()


class Fields:
    """One JSON object of a store's metadata, read key by key: each getter returns the
    value checked (or ``default`` when the key is absent or null) and raises InputError
    naming the store, the file and the key (``where`` its path inside the file, such as
    ``scales[0].``) for a value of the wrong type or range."""

    def __init__(self, value, location, file, where=''):
        self.location, self.file, self.where = location, file, where
        if not isinstance(value, dict):
            if where:
                raise self.error('', 'must be a JSON object', value)
            raise InputError('%s: %s must be a JSON object, not %s'
                             % (location, file, _shown(value)), location.text)
        self.value = value

    def error(self, key, problem, value=_ABSENT):
        """The InputError for ``key`` (a problem with its value, or that it is missing)."""
        name = (self.where + str(key)).rstrip('.')
        text = '%s: %s key %s %s' % (self.location, self.file, name, problem)
        if value is not _ABSENT:
            text += ', not %s' % _shown(value)
        return InputError(text, self.location.text)

    def __contains__(self, key):
        return self.value.get(key) is not None

    def raw(self, key, default=None):
        value = self.value.get(key)
        return default if value is None else value

    def text(self, key, default=_ABSENT):
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, str):
            raise self.error(key, 'must be a string', value)
        return value

    def integer(self, key, default=_ABSENT, minimum=None):
        value = self._get(key, default)
        if value is default:
            return value
        if not _is_integer(value) or (minimum is not None and value < minimum):
            raise self.error(key, 'must be an integer' + _at_least(minimum), value)
        return int(value)

    def numbers(self, key, default=_ABSENT, count=None, integer=False, minimum=None,
                positive=False, nested=False):
        """A list of numbers (``count`` of them when given, else at least one): integers
        when ``integer``, each at least ``minimum``, or above 0 when ``positive``; when
        ``nested``, a non-empty list of such lists."""
        value = self._get(key, default)
        if value is default:
            return value
        kind = '%s%s%s' % ('%d ' % count if count else '', 'positive ' if positive else '',
                           'integers' if integer else 'numbers')
        good = _is_integer if integer else _is_number

        def ok(v):
            return (isinstance(v, list) and (len(v) == count if count else v)
                    and all(good(x) and (minimum is None or x >= minimum)
                            and (not positive or x > 0) for x in v))

        if not (all(ok(v) for v in value) and value if nested and isinstance(value, list)
                else not nested and ok(value)):
            raise self.error(key, 'must be a list of %s%s' % (
                'lists of %s' % kind if nested else kind, _at_least(minimum)), value)
        convert = int if integer else float
        if nested:
            return tuple(tuple(convert(x) for x in v) for v in value)
        return tuple(convert(x) for x in value)

    def object(self, key, default=_ABSENT):
        value = self._get(key, default)
        if value is default:
            return value
        return Fields(value, self.location, self.file, '%s%s.' % (self.where, key))

    def objects(self, key, default=_ABSENT):
        """A non-empty list of JSON objects, as Fields."""
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, list) or not value:
            raise self.error(key, 'must be a non-empty list of JSON objects', value)
        return [Fields(v, self.location, self.file, '%s%s[%d].' % (self.where, key, k))
                for k, v in enumerate(value)]

    def axes(self, key, count=None):
        """(name, unit) of each axis, lower-case names, from a list of names or of
        {"name", "unit"} objects (``count`` of them when given), or None when absent."""
        value = self._get(key, None)
        if value is None:
            return None
        problem = 'must be a list of %saxis names or {"name": ...} objects' % (
            '%d ' % count if count else '')
        if not isinstance(value, list) or not value or (count and len(value) != count):
            raise self.error(key, problem, value)
        axes = []
        for a in value:
            if isinstance(a, dict):
                name, unit = a.get('name'), a.get('unit')
            else:
                name, unit = a, None
            if not isinstance(name, str) or not isinstance(unit, (str, type(None))):
                raise self.error(key, problem, value)
            axes.append((name.lower(), unit))
        return tuple(axes)

    def _get(self, key, default):
        value = self.value.get(key)
        if value is None:
            if default is _ABSENT:
                raise self.error(key, 'is missing')
            return default
        return value


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_integer(v):
    return _is_number(v) and float(v).is_integer()


def _at_least(minimum):
    return '' if minimum is None else ' of at least %g' % minimum


def _shown(value):
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + '...'


def dtype_named(name, fields, key):
    """The numpy type a metadata file names (``key`` of ``fields``)."""
    try:
        return np.dtype(name)
    except (TypeError, ValueError):
        raise fields.error(key, 'is not a voxel type', name)


def voxel_type(stored, location):
    """The type a store's voxels are read as (see Store.to_voxel_type)."""
    stored = np.dtype(stored)
    if stored in MAX_ID:
        return np.dtype(MAX_ID[stored])
    if stored.kind == 'f' and stored.itemsize == 2:
        return np.dtype(np.float32)
    if stored.kind == 'b':
        return np.dtype(np.uint8)
    if stored.kind in 'iuf' and stored.itemsize <= 8:
        return stored.newbyteorder('=')
    raise InputError('%s holds %s voxels, not map data (integers or floats)'
                     % (location, stored), location.text)


def nanometres(unit):
    """Nanometres per ``unit`` (1 when not given or not known)."""
    return NANOMETRES.get(str(unit).lower(), 1.0) if unit else 1.0


def whole_factors(sizes, base, key, location, skipped):
    """Factors sizes / base (per axis) if whole numbers, else None (noted in
    ``skipped``).  The full resolution is one of the scales, so its voxel size is checked
    here too."""
    check_voxel_size(sizes, location, 'scale %s' % key)
    ratio = [s / b for s, b in zip(sizes, base)]
    factors = [int(round(r)) for r in ratio]
    if any(f < 1 or abs(r - f) > 1e-3 * f for r, f in zip(ratio, factors)):
        skipped.append((key, 'voxel size %s is not a whole multiple of the full'
                        ' resolution\'s %s' % (_fmt(sizes), _fmt(base))))
        return None
    return factors


def check_voxel_size(values, location, what):
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise InputError('%s: %s has voxel size %s in its metadata; voxel sizes must be'
                         ' positive (give one with voxelSize X,Y,Z if the metadata is wrong'
                         ' only here)' % (location, what, _fmt(values)), location.text)


def one_full_resolution(levels, skipped):
    """The levels without a second full-resolution scale (noted in ``skipped``)."""
    kept = []
    for level in levels:
        if kept and level.factors == (1, 1, 1):
            skipped.append((level.key, 'a second full-resolution scale'))
            continue
        kept.append(level)
    return tuple(kept)


def _fmt(values):
    return ','.join('%g' % v for v in values)
