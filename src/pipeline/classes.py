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
# One palette per meaning, so that two meanings never share a colour in one scene (a
# partners scene shows object classes, axon classes, dendrite classes and synapse types
# at once): every colour below is at least MIN_DISTANCE (CIE76 delta E) from every other
# and from CLASS_COLORS and NO_CATEGORY.  Objects of no category of a class's categories
# take the class's colour (an axon of no axon class is drawn as an axon); synapses of
# no type and objects of no category of other attributes, NO_CATEGORY.
SYNAPSE_TYPE = 'synapse type'
CATEGORY_COLORS = {
    'axonclass': ('darkorange', 'mediumvioletred', 'darkorchid', 'darkgoldenrod', 'brown'),
    'dendriteclass': ('royalblue', 'deepskyblue', 'mediumturquoise', 'darkgreen',
                      'limegreen', 'greenyellow'),
    SYNAPSE_TYPE: ('lightcyan', 'plum', 'palegoldenrod', 'darksalmon', 'palegreen')}
CATEGORY_CLASS = {'axonclass': 'axon', 'dendriteclass': 'dendrite'}
NO_CATEGORY = '#a0a0a0'
MIN_DISTANCE = 30
# sRGB of the colour names above (ChimeraX's, the CSS names), for colour distances
# without ChimeraX; tests/chimerax/test_keys.py checks them against ChimeraX's.
NAMED_RGB = {
    'lime': (0, 255, 0), 'red': (255, 0, 0), 'blue': (0, 0, 255), 'yellow': (255, 255, 0),
    'darkorange': (255, 140, 0), 'mediumvioletred': (199, 21, 133),
    'darkorchid': (153, 50, 204), 'darkgoldenrod': (184, 134, 11), 'brown': (165, 42, 42),
    'royalblue': (65, 105, 225), 'deepskyblue': (0, 191, 255),
    'mediumturquoise': (72, 209, 204), 'darkgreen': (0, 100, 0),
    'limegreen': (50, 205, 50), 'greenyellow': (173, 255, 47),
    'lightcyan': (224, 255, 255), 'plum': (221, 160, 221),
    'palegoldenrod': (238, 232, 170), 'darksalmon': (233, 150, 122),
    'palegreen': (152, 251, 152)}
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


def category_colors(attribute, count):
    """The default colours (text) of ``count`` categories of ``attribute`` in code order:
    the attribute's own palette (CATEGORY_COLORS), repeated beyond its length; None for
    an attribute without one."""
    palette = CATEGORY_COLORS.get(attribute)
    if palette is None:
        return None
    return [palette[k % len(palette)] for k in range(count)]


def no_category_color(attribute):
    """The colour (text) of objects of no category of ``attribute`` (or of a class
    without categories): the colour of the class the attribute's categories divide,
    else NO_CATEGORY."""
    name = CATEGORY_CLASS.get(attribute, attribute)
    return CLASS_COLORS.get(name, NO_CATEGORY)


def rgb(text):
    """(r, g, b) 0-255 of a colour of this module (a name of NAMED_RGB or #rrggbb)."""
    if text.startswith('#'):
        return tuple(int(text[k:k + 2], 16) for k in (1, 3, 5))
    return NAMED_RGB[text]


def lab(rgb8):
    """CIE L*a*b* (D65) of sRGB colours (..., 3) 0-255: where distances are as seen."""
    c = np.asarray(rgb8, np.float64) / 255
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                        [0.0193, 0.1192, 0.9505]]).T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], -1)


def color_distance(a, b):
    """CIE76 delta E between two colours of this module (text)."""
    return float(np.linalg.norm(lab(rgb(a)) - lab(rgb(b))))


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
