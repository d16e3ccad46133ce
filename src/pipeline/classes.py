"""Object classes of a segmentation (axon, dendrite, spine head, ...) as the panel,
toolbar and readout present them: their colours, order, object counts, which open maps
pair up as EM image and segmentation, and the one-line readout of the objects at a
point.  What the segmentation's file holds is pipeline/attributefile.py.

Pure (numpy): the ChimeraX side (session/, commands/, ui/) passes in open
Volume models, which are only asked for ``data.size`` and ``data.value_type`` here.
"""

import numpy as np

from ..errors import InputError
from .labels import is_label_type

# The colours of the seed figure (axons green, dendrites red, spine heads blue).
CLASS_COLORS = {'axon': 'lime', 'dendrite': 'red', 'spinehead': 'blue', 'neuron': 'yellow'}
# For classes without a colour of their own; single-word names, so a list of them is a
# valid comma-separated ChimeraX colour list.
OTHER_COLORS = ('magenta', 'cyan', 'orange', 'purple', 'hotpink', 'gold', 'teal',
                'salmon', 'olive', 'saddlebrown', 'violet', 'turquoise')
# The classes a segmentation is coloured by when none are named.
DEFAULT_CLASSES = ('axon', 'dendrite', 'spinehead')


def ordered_classes(names):
    """Known classes first, in the figure's order, then the others alphabetically."""
    known = [n for n in CLASS_COLORS if n in names]
    return known + sorted(set(names) - set(known))


def class_colors(names, chosen=None):
    """{class: colour text} for names: the user's choice, else the class's own colour,
    else the first of OTHER_COLORS not already used."""
    chosen = chosen or {}
    colors = {}
    for name in names:
        if name in chosen:
            colors[name] = chosen[name]
        elif name in CLASS_COLORS:
            colors[name] = CLASS_COLORS[name]
    spare = [c for c in OTHER_COLORS if c not in colors.values()]
    for name in names:
        if name not in colors:
            colors[name] = spare.pop(0) if spare else OTHER_COLORS[len(colors) % len(OTHER_COLORS)]
    return {name: colors[name] for name in names}


def default_classes(names):
    """The classes coloured when none are named: axon, dendrite, spinehead if the
    segmentation has any of them, else all of its classes."""
    defaults = [n for n in DEFAULT_CLASSES if n in names]
    return defaults or ordered_classes(names)


def hdf5_text(value):
    """An HDF5 attribute's value as text (bytes decoded, a 0-d array unwrapped), or None."""
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    if isinstance(value, np.ndarray) and value.shape == ():
        return hdf5_text(value[()])
    return None if value is None else str(value)


def category_rgba(codes, colors, size=None):
    """Per-region RGBA (uint8, n x 4) for category codes: ``colors`` {code: rgba8};
    other regions white, which leaves the EM image as it is (colours modulate it)."""
    codes = np.asarray(codes)
    lookup = np.full((max([int(codes.max()) if codes.size else 0] + list(colors)) + 1, 4),
                     255, np.uint8)
    for code, rgba in colors.items():
        lookup[code] = rgba
    lookup[0] = 255
    return lookup[codes]


def number_rgba(values, lo, hi, ramp):
    """Per-region RGBA for a float per region: ``ramp(fractions)`` -> (n, 4) uint8 for
    values scaled to 0..1 between lo and hi (clamped); NaN (no value) regions white."""
    values = np.asarray(values, np.float32)
    out = np.full(values.shape + (4,), 255, np.uint8)
    known = ~np.isnan(values)
    span = (hi - lo) if hi > lo else 1.0
    fractions = np.clip((values[known] - lo) / span, 0.0, 1.0).astype(np.float32)
    out[known] = ramp(fractions)
    return out


def value_range(values):
    """(low, high) of the known values of a float per region: the 2nd and 98th
    percentiles, so a few outliers do not wash out the ramp; (0, 1) if none."""
    v = np.asarray(values, np.float32)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = (float(x) for x in np.percentile(v, (2, 98)))
    if hi <= lo:
        lo, hi = float(v.min()), float(v.max())
    return lo, hi if hi > lo else lo + 1.0


def object_count(values):
    """Number of distinct objects (non-zero values) in an attribute array."""
    ids = np.asarray(values)
    ids = ids[ids != 0]
    if ids.size == 0:
        return 0
    lo, hi = int(ids.min()), int(ids.max())
    if lo > 0 and hi <= 4 * ids.size:
        # Object ids are usually dense: a histogram is much faster than sorting, which
        # matters for the tens of millions of regions of a whole dataset.
        return int(np.count_nonzero(np.bincount(ids)))
    return int(np.unique(ids).size)


def object_ids(attribute_arrays, region):
    """{class: object id of region}; 0 where the region is in no object of the class or
    beyond the end of the class's array."""
    return {name: int(a[region]) if 0 <= region < len(a) else 0
            for name, a in attribute_arrays.items()}


def readout_text(region, ids, properties=None):
    """``region 812345  axon 1203  dendrite 0  spinehead 0``, like neuroglancer's, then
    the region's categories and numbers (``axonclass inhibitory  spineheadvolume
    0.0123``) when given: {attribute: text}."""
    fields = ['region %d' % region] + ['%s %d' % (name, ids[name])
                                       for name in ordered_classes(ids)]
    fields += ['%s %s' % (name, text) for name, text in sorted((properties or {}).items())]
    return '  '.join(fields)


def property_texts(region, values, info):
    """{attribute: text} of a region's category names and numbers (``values``: {name:
    per-region array}, ``info``: {name: attributefile.AttributeInfo}); nothing for a
    region without."""
    out = {}
    for name, a in values.items():
        if not 0 <= region < len(a):
            continue
        v = a[region]
        kind = info[name].kind if name in info else None
        if kind == 'category' and int(v):
            names = {c.code: c.name for c in info[name].categories}
            out[name] = names.get(int(v), str(int(v)))
        elif kind == 'number' and not np.isnan(v):
            out[name] = '%.3g' % float(v)
    return out


def choose_segmentation(volumes, has_attributes=lambda v: False):
    """The segmentation among open volumes (first opened first): the first with object
    attributes, else the first with region-id values (integers wider than a byte, as
    EM images are bytes).  None if there is none."""
    candidates = ([v for v in volumes if has_attributes(v)]
                  or [v for v in volumes if is_label_type(v.data.value_type)])
    return candidates[0] if candidates else None


def choose_image(volumes, segmentation):
    """The EM image for a segmentation: a volume of the same grid size that is not the
    segmentation, preferring intensity types (uint8, float); first opened wins ties."""
    if segmentation is None:
        return None
    size = tuple(segmentation.data.size)
    candidates = [v for v in volumes if v is not segmentation and tuple(v.data.size) == size]
    if not candidates:
        return None
    return max(candidates, key=lambda v: (not is_label_type(v.data.value_type),
                                          -volumes.index(v)))


def parse_object_ids(text, largest, name='object'):
    """Object ids typed as ``12,40-45`` -> [(first, last)] inclusive ranges, in order.
    InputError for anything that is not a list of ids and ascending ranges of ids from 1
    to ``largest`` (the class's largest object id: a larger one cannot match)."""
    ranges = []
    for part in text.split(','):
        part = part.strip()
        lo, dash, hi = part.partition('-')
        try:
            first = int(lo)
            last = int(hi) if dash else first
        except ValueError:
            raise InputError('%r is not an id or a range of ids like 40-45' % part)
        if first > last:
            raise InputError('range %s is reversed; write %d-%d' % (part, last, first))
        if first < 1:
            raise InputError('%s ids start at 1, not %d' % (name, first))
        if last > largest:
            raise InputError('no %s has id %d: the largest %s id is %d'
                             % (name, last if first <= largest else first, name, largest))
        ranges.append((first, last))
    return ranges


def format_object_ids(ranges):
    """[(first, last)] -> ``12,40-45``."""
    return ','.join('%d' % a if a == b else '%d-%d' % (a, b) for a, b in ranges)
