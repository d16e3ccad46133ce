"""What every object-file reader shares: the names that say what a dataset or column holds,
conversion of stored numbers to int64 ids with messages that name the bad element, and
the choice among several candidate layouts (``variable``).  Pure: numpy.
"""

import re
from typing import NamedTuple

import numpy as np



class ObjectTable(NamedTuple):
    """Flat (region, object) memberships read from an object file."""
    regions: np.ndarray     # int64, one entry per (object, region) membership
    objects: np.ndarray     # int64, same length: the object id of each entry
    count: int              # objects listed, empty ones included
    description: str        # what was read, for the log
    # A per-region lookup: the highest region id it has an entry for (None otherwise)
    lookup_regions: int = None


HDF5_SIGNATURE = b'\x89HDF\r\n\x1a\n'
NPY_MAGIC = b'\x93NUMPY'
GZIP_MAGIC = b'\x1f\x8b'
HEAD_BYTES = 1 << 16
INT64_MAX = np.iinfo(np.int64).max
TWO63 = 2.0 ** 63
TWO53 = 2.0 ** 53

FORMAT_NAMES = {'hdf5': 'HDF5', 'mat5': 'a MATLAB v5 MAT-file', 'npy': 'a NumPy .npy file',
                'npz': 'a NumPy .npz file', 'text': 'text', 'gzip': 'gzip-compressed text'}

# Names, normalised by norm_name (lower case, letters and digits only)
REGION_NAMES = frozenset(
    'regionid regionids region regions regionlist segid segids segmentid segmentids '
    'segment segments seg segs segmentlist supervoxel supervoxels supervoxelid '
    'supervoxelids svid svids sv svs segmentationid segmentationids'.split())
VALUE_NAMES = (REGION_NAMES, frozenset(['indices']),
               frozenset('values data members elements items'.split()))
LENGTH_NAMES = frozenset(
    'lengths length counts count sizes size lens nregions numregions regioncounts '
    'nsegments numsegments segmentcounts'.split())
OFFSET_NAMES = frozenset(
    'offsets offset indptr starts start ptr pointers rowptr rowpointers boundaries'.split())
ID_NAMES = frozenset('id ids objectid objectids objid objids'.split())
LOOKUP_NAMES = frozenset(
    'lookup lut objectid objectids objid objids objectof owner owners mapping map '
    'regiontoobject segmenttoobject'.split())
_LOOKUP_RE = re.compile(r'^(seg|segment|segments|region|regions|sv|supervoxel)(2|to)[a-z]')
# How a per-region lookup is recognised, for messages that ask for one.
LOOKUP_HINT = ('object_id, lookup, lut, owner, mapping, seg2agglo, segToAxon (a region'
               ' word, 2 or To, an object word)')
OBJECT_NAMES = frozenset(
    'object objects obj objectid objectids objid id ids agglo agglos agglomerate '
    'agglomerates aggloid agglomerateid cell cellid label labels owner axon dendrite '
    'neuron spinehead synapse presynapse postsynapse'.split())
NOT_REGIONS_RE = re.compile(r'pos|coord|centroid|center|centre|xyz|bbox|box|loc|size|'
                             r'volume|length|area|score|prob|conf|dist|radius|diam')
NUMERIC_CLASSES = frozenset('double single int8 uint8 int16 uint16 int32 uint32 int64 '
                             'uint64'.split())
_NORM_RE = re.compile(r'[^a-z0-9]')


def norm_name(name):
    return _NORM_RE.sub('', str(name).lower())


def is_lookup_name(norm):
    return norm in LOOKUP_NAMES or bool(_LOOKUP_RE.match(norm))


def is_object_column(norm):
    return norm not in REGION_NAMES and (norm in OBJECT_NAMES or norm.endswith('id')
                                         or norm.endswith('ids'))


# ---------------------------------------------------------------------------------------
# Numbers

def to_ids(a, src, what, where=None):
    """A numeric array as flat int64, or InputError: floats must be whole, values must
    fit int64, text / logical / complex are refused.  ``where(i)`` names the element i
    (flat index) for messages; else ``what`` does."""
    a = np.asarray(a)
    kind = a.dtype.kind
    if kind in 'iu':
        if a.dtype == np.uint64 and a.size and int(a.max()) > INT64_MAX:
            i = int(np.argmax(a > INT64_MAX))
            raise src.error('%s holds %d, too large for a 64-bit integer'
                            % (where(i) if where else what, int(a.reshape(-1)[i])))
        return np.ascontiguousarray(a, dtype=np.int64).reshape(-1)
    if kind == 'f':
        a = a.reshape(-1)
        bits = exact_float_bits(a.dtype)
        with np.errstate(invalid='ignore'):
            ok = a == np.floor(a)
            ok &= np.abs(a) <= 2.0 ** bits
        if not ok.all():
            i = int(np.argmin(ok))
            v = float(a[i])
            if np.isnan(v):
                why = 'NaN, not a region or object id'
            elif np.isinf(v):
                why = 'an infinite value, not a region or object id'
            elif v != np.floor(v):
                why = '%s, not a whole number' % format_float(v)
            elif abs(v) >= TWO63:
                why = '%s, too large for a 64-bit integer' % format_float(v)
            else:
                why = ('%s, too large to name one id exactly as a %d-bit floating-point'
                       ' number (beyond 2^%d, where neighbouring ids share a value):'
                       ' store ids as integers' % (format_float(v), a.dtype.itemsize * 8,
                                                   bits))
            raise src.error('%s holds %s' % (where(i) if where else what, why))
        return a.astype(np.int64)
    if kind == 'b':
        raise src.error('%s holds true/false values, not ids' % what)
    if kind in 'SUO':
        raise src.error('%s holds text, not numbers' % what)
    raise src.error('%s holds %s values, not integer ids' % (what, a.dtype))


def exact_float_bits(dtype):
    """The floats of ``dtype`` name every whole number up to 2^bits exactly (float64:
    53, float32: 24); above it, neighbouring ids share one value."""
    return np.finfo(dtype).nmant + 1


def format_float(v):
    return ('%.17g' % v) if abs(v) < 1e16 else ('%g' % v)


def count_distinct(objects):
    """Number of distinct values of an int64 array."""
    if objects.size == 0:
        return 0
    low, high = int(objects.min()), int(objects.max())
    if low >= 0 and high <= 4 * objects.size + (1 << 20):
        seen = np.zeros(high + 1, bool)
        seen[objects] = True
        return int(np.count_nonzero(seen))
    return int(np.unique(objects).size)


def from_lengths(values, lengths, ids=None):
    """(regions, objects, count) from concatenated ids and per-object lengths."""
    n = lengths.size
    if ids is None:
        ids = np.arange(1, n + 1, dtype=np.int64)
    return values, np.repeat(ids, lengths), n


def locator(lengths, label):
    """where(i) for to_ids: the object holding flat index i, named by label(k)."""
    ends = np.cumsum(lengths)

    def where(i):
        return label(int(np.searchsorted(ends, i, side='right')))
    return where


def pair_table(src, regions, objects, what):
    regions = to_ids(regions, src, 'the region ids of %s' % what)
    objects = to_ids(objects, src, 'the object ids of %s' % what)
    return regions, objects, count_distinct(objects)


def lookup_table(src, a, what, one_based=False):
    """A per-region lookup (index = region id, or region id - 1 when one_based); the
    highest region id it covers is kept on src for the length check of the caller."""
    a = to_ids(a, src, what)
    src.lookup_regions = a.size if one_based else a.size - 1
    regions = np.flatnonzero(a)
    objects = a[regions]
    if one_based:
        regions += 1
    return regions, objects, count_distinct(objects)


def object_array(src, a, label):
    """An object array (numpy, or HDF5 vlen) whose elements are region-id vectors."""
    flat = a.reshape(-1, order='F')
    parts = []
    for k, el in enumerate(flat):
        el = np.asarray(el)
        if el.dtype.kind not in 'iuf' and el.size:
            raise src.error('%s is %s, not a vector of region ids'
                            % (label(k), 'text' if el.dtype.kind in 'SUO' else el.dtype))
        if el.ndim > 1 and sum(d > 1 for d in el.shape) > 1:
            raise src.error('%s is a %s array, not a vector'
                            % (label(k), ' x '.join(map(str, el.shape))))
        parts.append(el.reshape(-1, order='F'))
    lengths = np.fromiter((p.size for p in parts), np.int64, len(parts))
    values = concatenate(src, parts, lengths, label)
    return from_lengths(values, lengths)


def concatenate(src, parts, lengths, label):
    """Concatenate numeric vectors and convert to int64, naming the object of a bad value."""
    kinds = {p.dtype for p in parts if p.size}
    if len(kinds) <= 1:
        values = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return to_ids(values, src, '', locator(lengths, label))
    out = []
    for k, p in enumerate(parts):
        out.append(to_ids(p, src, label(k)))
    return np.concatenate(out)


# ---------------------------------------------------------------------------------------
# Candidates and the choice among them

class Candidate:
    """One way to read the file: ``name`` (and ``aliases``) for ``variable``,
    ``summary`` for listings, ``read()`` -> (regions, objects, count, description)."""

    def __init__(self, name, summary, read, aliases=()):
        self.name = name
        self.summary = summary
        self.read = read
        self.aliases = tuple(aliases)

    def listing(self):
        return '%s (%s)' % (self.name, self.summary)


def same_name(a, b):
    a, b = a.strip().strip('/'), b.strip().strip('/')
    return a == b or a.replace('.', '/') == b.replace('.', '/')


def choose(src, candidates, resolve, inventory):
    """The candidate to read: the one named by ``variable`` (resolve(variable) makes one
    for a name that is no candidate, or returns None), else the only one."""
    v = src.variable
    if v is not None:
        for c in candidates:
            if any(same_name(v, n) for n in (c.name,) + c.aliases):
                return c
        c = resolve(v)
        if c is not None:
            return c
        listed = ', '.join(c.listing() for c in candidates) or 'none'
        raise src.error('variable %r names nothing in the file (candidates: %s; the file'
                        ' holds: %s)' % (v, listed, inventory()))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise src.error('no variable holds region ids (the file holds: %s)' % inventory())
    raise src.error('several candidates: %s; choose one with variable'
                    % ', '.join(c.listing() for c in candidates))


def shorten(items, limit=12):
    items = list(items)
    if len(items) > limit:
        items = items[:limit] + ['... %d more' % (len(items) - limit)]
    return ', '.join(items) or 'nothing'


def header_names(line):
    text = line.decode('utf-8', 'replace').strip()
    parts = re.split(r'[,;\t]' if re.search(r'[,;\t]', text) else r'\s+', text)
    return [p.strip().strip('"\'').strip() for p in parts] if text else []


def header_columns(src, names, what):
    """(region column, object column) from column names."""
    norms = [norm_name(n) for n in names]
    listed = ','.join(names)
    regions = [i for i, n in enumerate(norms) if n in REGION_NAMES]
    if len(regions) > 1:
        raise src.error('%s %r names several region columns' % (what, listed))
    if not regions and len(names) == 2:
        objs = [i for i, n in enumerate(norms) if is_object_column(n)]
        if len(objs) == 1:
            regions = [1 - objs[0]]
    if not regions:
        raise src.error('cannot tell from %s %r which column holds region ids: name it'
                        ' region_id (or segId, segment_id, supervoxel, sv_id)' % (what, listed))
    r = regions[0]
    others = [i for i in range(len(names)) if i != r]
    if len(others) == 1:
        return r, others[0]
    objs = [i for i in others if is_object_column(norms[i])]
    if len(objs) != 1:
        raise src.error('cannot tell from %s %r which column holds object ids: name it'
                        ' object_id' % (what, listed))
    return r, objs[0]
