"""What a store's metadata says, as small immutable records: ``StoreSpec`` (format,
voxel size and origin, which scales to read and how) and ``LevelSpec`` (one scale), made
by precomputed.py, zarr.py and n5.py and opened by opening.py; and the checks the three
formats share (voxel sizes, whole downsampling factors, voxel types, axis names).  Each
format module's ``FORMAT_spec(loc, read, channel)`` takes the store's Location,
``read(key)``, which gives the parsed JSON of a metadata file inside the store or None if
it is absent, and the channel to read; it raises InputError naming the store and the
problem.  Pure: no ChimeraX, no tensorstore.

Index order: z,y,x for factors and offsets; x,y,z for voxel sizes and origins.
"""

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
    folder inside the store), ``factors`` (z,y,x) to the full resolution, and
    ``scale_index`` (precomputed's index of it in the info file; None otherwise)."""
    key: str
    path: str = ''
    factors: Tuple[int, int, int] = (1, 1, 1)
    scale_index: Optional[int] = None


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
    left out."""
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


def axis_names(axes, ndim=None):
    """Lower-case dimension names from OME-Zarr or N5 axes (names or {'name': ...}), or
    None when there are none, or not ``ndim`` of them."""
    if not axes:
        return None
    names = tuple((a.get('name') if isinstance(a, dict) else str(a)).lower() for a in axes)
    return names if ndim is None or len(names) == ndim else None


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
