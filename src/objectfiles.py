"""Reading object files: which regions (supervoxel ids) make up each object (axon,
dendrite, spine head, neuron, synapse ...).  ``connectome ids`` turns what is read here
into per-region attribute arrays (attributes.py).

    read_object_file(path, variable=None) -> ObjectTable(regions, objects, count, description)

``regions`` and ``objects`` are flat int64 arrays of one length, one entry per (object,
region) membership, in file order; ``count`` is the number of objects listed, empty ones
included; ``description`` says what was read, for the log.  Region ids are passed through
as they are (0, negative and too large ids are checked by the caller, which knows the
segmentation); values that are not whole numbers or do not fit int64 are errors here.
Every problem raises InputError(message, path) whose message starts with the file name.
Pure: numpy, h5py, scipy.

Object ids are the 1-based position of the object in the file unless the file gives them:
a group member named by its id, an ``ids`` dataset, an ``id`` struct field, an object
column, an ``ID:`` line prefix.  ``variable`` picks the dataset, group, MATLAB variable or
field when a file holds several candidates; the error then lists them.

Detection (from the content, never from the suffix)
---------------------------------------------------
- HDF5 signature at byte 0, or at 512, 1024, 2048 ... (a userblock): HDF5.  It is read as
  MATLAB v7.3 when the userblock says ``MATLAB 7.3 MAT-file`` or the top-level objects
  carry ``MATLAB_class`` attributes, else as plain HDF5.
- ``MATLAB 5.0 MAT-file`` text header (versions 5, 6, 7): MATLAB v5, read with scipy.
- ``\\x93NUMPY``: a NumPy .npy file.  ``PK\\x03\\x04`` (zip): a NumPy .npz file.
- gzip magic: gzip-compressed text.
- otherwise text when the first 64 KiB hold no NUL byte (UTF-8 or UTF-16 with BOM), else
  "unknown format".

Names below are compared ignoring case and any character that is not a letter or digit
(``segIds`` = ``seg_ids`` = ``SEG-IDS``).

HDF5 layouts (every group is searched, the root included)
---------------------------------------------------------
1. Ragged pair: a group holding the concatenated region ids and per-object lengths or
   offsets, optionally object ids::

       /region_ids  uint32 [11 12 13 21 31 32]
       /lengths     int64  [3 1 2]            (or counts, sizes: N)
       /ids         int64  [7 8 9]            (optional: ids, object_ids; else 1..N)

   ``offsets``/``indptr``/``starts``: N + 1 values ``[0 3 4 6]`` (object k is
   region_ids[offsets[k-1]:offsets[k]]) or N starts ``[0 3 4]``; with ids present their
   length decides, without ids N + 1 is taken when the last offset equals the number of
   region ids.  The region-id dataset is the one named region_ids (regions, segIds,
   segment_ids, supervoxels, sv_ids ...), else ``indices``, else values/data/members,
   else the only other 1-D dataset of the group.  Fully vectorised.
2. Group of datasets, one 1-D dataset of region ids per object::

       /dendrites/1   [11 12 13]     members named by their id in decimal: explicit ids
       /dendrites/2   []             (an empty dataset is an object with no regions)
       /dendrites/10  [31 32]

       /neurons/neuron_001 ...       other names: ids 1..N in creation order when the
                                     group tracks it, else in natural name order
                                     (neuron_2 before neuron_10)

   A group is this layout when it holds only 1-D numeric datasets (scalars and text are
   ignored) and no special names; at the root it needs two or more.  Groups of more than
   64 members are recognised from a sample of them.
3. Per-region lookup: one 1-D dataset, index = region id, value = object id, 0 = none::

       /object_id  int32 [0 0 1 1 0 2 ...]    (region 2 and 3 in object 1, 5 in 2)

   Recognised by its name (object_id, object_ids, lookup, lut, owner, seg2agglo,
   segment_to_axon ...) or because element 0 is 0 (region 0 is "unsegmented" and never
   in an object).  count = the number of distinct object ids.  Fully vectorised.
4. Pairs: a 2-column (N, 2) array of ``region_id, object_id`` rows, or (2, N)::

       /pairs  [[11 1] [12 1] [21 2]]

   also two 1-D datasets of one length named for regions and objects (``region_ids`` +
   ``object_ids``, ``segIds`` + ``axonIds``), or a 1-D compound (table) dataset with such
   fields.  count = the number of distinct object ids.  Fully vectorised.
5. A variable-length (vlen) integer dataset: element k is object k's region ids.
6. A lone 1-D dataset that is none of the above (element 0 not 0, name not a lookup
   name): the region ids of one object (count 1).  Small float vectors holding a
   fraction (``/voxel_size [11.24 11.24 28]``) are no candidates.

MATLAB v7.3 (HDF5, MATLAB's layout: every array stored transposed, cells and struct
arrays as object references into ``/#refs#``, empty arrays as their uint64 dimensions
with ``MATLAB_empty``)
------------------------------------------------------------------------------------
- a cell array of region-id vectors, ``axons{k}`` = object k (1-based linear index)::

      axons = {[11; 12; 13], [], [31 32]}

- a struct array with a field of region ids, ``dendrites(k).segIds``; an ``id`` field
  (id, ids, object_id) gives explicit object ids; the region field is chosen by name
  (segIds, segmentIds, regions, region_ids, supervoxels ...) or, failing that, as the one
  remaining numeric field that is not a position (names with pos, coord, centroid,
  center, bbox, size ... are skipped); ``variable dendrites.segIds`` picks it::

      dendrites(1).segIds = [11 12 13]; dendrites(1).id = 7; dendrites(1).somaPosition = ...

  A 1 x 1 struct is read the same way (one record); its cell and struct fields are
  searched too (``data.axons``), so a struct used as a namespace works.
- a numeric vector: a lookup when named like one or holding a 0, with MATLAB's 1-based
  indexing (element k is region k); else one object's region ids (not when it holds a
  fraction, like ``voxelSize = [11.24 11.24 28]``).
- a numeric N x 2 matrix ``[regionId objectId]`` (or 2 x N): pairs.
- char, logical, sparse and object variables are ignored.
Values are usually doubles: whole numbers only.

MATLAB v5 (scipy.io.loadmat): the same cell arrays, struct arrays, vectors and N x 2
matrices as v7.3.

Text (CSV, TSV, whitespace; separators , ; tab space; quotes ignored; ``#`` starts a
comment line)
---------------------------------------------------------------------------------
- ``region_id,object_id`` rows with a header naming the columns in any order::

      segId,axonId          (or region_id,object_id / object_id,region_id / ...)
      11,1
      12,1

  The region column is the one named region/region_id/seg/segId/segment/supervoxel/sv
  ...; the object column the other one (with more columns: the one named object, id,
  agglo, cell, axon ... or ending in ``id``; other columns must be numeric and are
  ignored).  A commented header (``# region_id object_id``, as numpy.savetxt writes) is
  used too.
- no header, one object per line listing its region ids; line k = object k, a blank
  line is an object with no regions::

      11,12,13

      31 32

- ``ID: regions`` lines give explicit object ids (then blank lines are skipped)::

      7: 11 12 13
      9: 31 32

- no header and every line holding exactly two numbers: ``region_id,object_id`` rows
  when the second column repeats a value or holds only values 1 .. number of rows, else
  one object per line.  Add a header to be sure.
Parsed with numpy (no per-line Python), in 32 MiB blocks.

NumPy
-----
- .npy: a 1-D lookup (element 0 is 0) else one object's region ids; an (N, 2) or (2, N)
  array of pairs; a 1-D object array of region-id vectors (unpickled with only numpy
  arrays allowed); a structured array with region and object fields.
- .npz: its arrays are read like the datasets of an HDF5 root group (names with ``/``
  make groups): ``region_ids`` + ``lengths``/``offsets`` (+ ``ids``), a lookup, pairs,
  ``region_ids`` + ``object_ids``, arrays named by object id, an object array.
``variable`` names an array of an .npz; it is ignored for .npy and text files.

Speed (this 2-core machine; ``python tests/test_objectfiles.py`` repeats the first set)
- 100,000 objects, 1.5 million region ids: HDF5 ragged 0.01 s, HDF5 lookup 0.1 s, HDF5
  vlen 0.2 s, CSV pairs 0.25 s, text lines 0.1 s, .npy object array 0.3 s, MATLAB v5
  cell array 0.35 s (struct array 0.7 s).  Layouts storing one HDF5 dataset per object
  loop over the objects with h5py's low-level API and cost about 30 us per object, nearly
  all of it in HDF5 opening / dereferencing the dataset: HDF5 group of datasets 2.7 s,
  MATLAB v7.3 cell array 3.1 s, v7.3 struct array with an id field 6 s (two references
  per object).
- The real scale, a million objects and 15 million region ids: HDF5 ragged 0.5 s, HDF5
  lookup 0.8 s, .npy pairs 0.5 s, text lines 1.4 s, CSV pairs (230 MB) 3.8 s; a group of
  a million datasets 29 s (a v7.3 cell array of a million vectors: about 30 s).
"""

import gzip
import os
import pickle
import re
import warnings
import zipfile
from math import prod
from typing import NamedTuple

import h5py
import numpy as np
from h5py import h5, h5d, h5p, h5r, h5s, h5t

from .errors import InputError


class ObjectTable(NamedTuple):
    """Flat (region, object) memberships read from an object file."""
    regions: np.ndarray     # int64, one entry per (object, region) membership
    objects: np.ndarray     # int64, same length: the object id of each entry
    count: int              # objects listed, empty ones included
    description: str        # what was read, for the log


HDF5_SIGNATURE = b'\x89HDF\r\n\x1a\n'
NPY_MAGIC = b'\x93NUMPY'
GZIP_MAGIC = b'\x1f\x8b'
HEAD_BYTES = 1 << 16
BIG_GROUP = 64                  # members above which a group is recognised from a sample
TEXT_BLOCK = 1 << 25            # bytes of text parsed at a time
INT64_MAX = np.iinfo(np.int64).max
_TWO63 = 2.0 ** 63
_TWO53 = 2.0 ** 53

FORMAT_NAMES = {'hdf5': 'HDF5', 'mat5': 'a MATLAB v5 MAT-file', 'npy': 'a NumPy .npy file',
                'npz': 'a NumPy .npz file', 'text': 'text', 'gzip': 'gzip-compressed text'}

# Names, normalised by _norm (lower case, letters and digits only)
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
OBJECT_NAMES = frozenset(
    'object objects obj objectid objectids objid id ids agglo agglos agglomerate '
    'agglomerates aggloid agglomerateid cell cellid label labels owner axon dendrite '
    'neuron spinehead synapse presynapse postsynapse'.split())
_NOT_REGIONS_RE = re.compile(r'pos|coord|centroid|center|centre|xyz|bbox|box|loc|size|'
                             r'volume|length|area|score|prob|conf|dist|radius|diam')
_NUMERIC_CLASSES = frozenset('double single int8 uint8 int16 uint16 int32 uint32 int64 '
                             'uint64'.split())
_NORM_RE = re.compile(r'[^a-z0-9]')


def _norm(name):
    return _NORM_RE.sub('', str(name).lower())


def _is_lookup_name(norm):
    return norm in LOOKUP_NAMES or bool(_LOOKUP_RE.match(norm))


def _is_object_column(norm):
    return norm not in REGION_NAMES and (norm in OBJECT_NAMES or norm.endswith('id')
                                         or norm.endswith('ids'))


# ---------------------------------------------------------------------------------------
# Entry point

def read_object_file(path, variable=None):
    """Read an object file (layouts and detection in the module docstring) into an
    ObjectTable.  ``variable`` picks the dataset / group / MATLAB variable or field when
    the file holds several candidates.  Raises InputError naming the file."""
    path = os.fspath(path)
    if variable is not None:
        variable = str(variable).strip() or None
    src = _Source(path, variable)
    if not os.path.exists(path):
        raise InputError('%s: no such file' % path, path)
    if os.path.isdir(path):
        raise InputError('%s is a folder, not an object file' % path, path)
    try:
        with open(path, 'rb') as f:
            head = f.read(HEAD_BYTES)
            size = os.fstat(f.fileno()).st_size
            fmt = _sniff(src, f, head, size)
    except OSError as e:
        raise InputError('%s cannot be read: %s' % (path, e.strerror or e), path)
    try:
        regions, objects, count, what = _READERS[fmt](src)
    except InputError:
        raise
    except MemoryError:
        raise src.error('too large to read into memory')
    except (OSError, RuntimeError, KeyError, ValueError, EOFError, zipfile.BadZipFile,
            pickle.UnpicklingError) as e:
        raise src.error('cannot be read as %s (damaged or truncated?): %s'
                        % (FORMAT_NAMES[fmt], e))
    regions = np.ascontiguousarray(regions, dtype=np.int64).reshape(-1)
    objects = np.ascontiguousarray(objects, dtype=np.int64).reshape(-1)
    assert regions.shape == objects.shape
    return ObjectTable(regions, objects, int(count), '%s: %s' % (src.name, what))


class _Source:
    """The file being read: its path, the name used in messages and ``variable``."""

    def __init__(self, path, variable):
        self.path = path
        self.name = os.path.basename(path) or path
        self.variable = variable
        self.userblock = b''

    def error(self, message):
        return InputError('%s: %s' % (self.name, message), self.path)


def _sniff(src, f, head, size):
    if size == 0:
        raise src.error('is empty')
    if head.startswith(HDF5_SIGNATURE):
        return 'hdf5'
    if head.startswith(b'MATLAB'):
        if len(head) < 128:
            raise src.error('is a truncated MAT-file (%d bytes)' % len(head))
        if head[512:520] == HDF5_SIGNATURE:
            src.userblock = head[:128]
            return 'hdf5'
        if head[124:126] in (b'\x00\x01', b'\x01\x00'):
            return 'mat5'
        if head.startswith(b'MATLAB 7.3'):
            raise src.error('is a MATLAB v7.3 MAT-file without its HDF5 part (truncated?)')
        raise src.error('is a MAT-file of a version that cannot be read (header %r)'
                        % head[:40].decode('latin-1'))
    if head.startswith(NPY_MAGIC):
        return 'npy'
    if head.startswith(b'PK\x03\x04') or head.startswith(b'PK\x05\x06'):
        return 'npz'
    if head.startswith(GZIP_MAGIC):
        return 'gzip'
    offset = 512
    while offset + 8 <= size:
        f.seek(offset)
        if f.read(8) == HDF5_SIGNATURE:
            f.seek(0)
            src.userblock = f.read(128)
            return 'hdf5'
        offset *= 2
    if head.startswith((b'\xff\xfe', b'\xfe\xff')) or b'\0' not in head:
        return 'text'
    raise src.error('unknown format (not HDF5, MATLAB, NumPy or text)')


# ---------------------------------------------------------------------------------------
# Numbers

def _ids(a, src, what, where=None):
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
        with np.errstate(invalid='ignore'):
            ok = a == np.floor(a)
            ok &= a >= -_TWO63
            ok &= a < _TWO63
        if not ok.all():
            i = int(np.argmin(ok))
            v = float(a[i])
            if np.isnan(v):
                why = 'NaN, not a region or object id'
            elif np.isinf(v):
                why = 'an infinite value, not a region or object id'
            elif v != np.floor(v):
                why = '%s, not a whole number' % _format_float(v)
            else:
                why = '%s, too large for a 64-bit integer' % _format_float(v)
            raise src.error('%s holds %s' % (where(i) if where else what, why))
        return a.astype(np.int64)
    if kind == 'b':
        raise src.error('%s holds true/false values, not ids' % what)
    if kind in 'SUO':
        raise src.error('%s holds text, not numbers' % what)
    raise src.error('%s holds %s values, not integer ids' % (what, a.dtype))


def _format_float(v):
    return ('%.17g' % v) if abs(v) < 1e16 else ('%g' % v)


def _distinct(objects):
    """Number of distinct values of an int64 array."""
    if objects.size == 0:
        return 0
    low, high = int(objects.min()), int(objects.max())
    if low >= 0 and high <= 4 * objects.size + (1 << 20):
        seen = np.zeros(high + 1, bool)
        seen[objects] = True
        return int(np.count_nonzero(seen))
    return int(np.unique(objects).size)


def _lists(values, lengths, ids=None):
    """(regions, objects, count) from concatenated ids and per-object lengths."""
    n = lengths.size
    if ids is None:
        ids = np.arange(1, n + 1, dtype=np.int64)
    return values, np.repeat(ids, lengths), n


def _locator(lengths, label):
    """where(i) for _ids: the object holding flat index i, named by label(k)."""
    ends = np.cumsum(lengths)

    def where(i):
        return label(int(np.searchsorted(ends, i, side='right')))
    return where


def _pairs(src, regions, objects, what):
    regions = _ids(regions, src, 'the region ids of %s' % what)
    objects = _ids(objects, src, 'the object ids of %s' % what)
    return regions, objects, _distinct(objects)


def _lookup(src, a, what, one_based=False):
    a = _ids(a, src, what)
    regions = np.flatnonzero(a)
    objects = a[regions]
    if one_based:
        regions += 1
    return regions, objects, _distinct(objects)


def _object_array(src, a, label):
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
    values = _concatenate(src, parts, lengths, label)
    return _lists(values, lengths)


def _concatenate(src, parts, lengths, label):
    """Concatenate numeric vectors and convert to int64, naming the object of a bad value."""
    kinds = {p.dtype for p in parts if p.size}
    if len(kinds) <= 1:
        values = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return _ids(values, src, '', _locator(lengths, label))
    out = []
    for k, p in enumerate(parts):
        out.append(_ids(p, src, label(k)))
    return np.concatenate(out)


# ---------------------------------------------------------------------------------------
# Candidates and the choice among them

class _Candidate:
    """One way to read the file: ``name`` (and ``aliases``) for ``variable``,
    ``summary`` for listings, ``read()`` -> (regions, objects, count, description)."""

    def __init__(self, name, summary, read, aliases=()):
        self.name = name
        self.summary = summary
        self.read = read
        self.aliases = tuple(aliases)

    def listing(self):
        return '%s (%s)' % (self.name, self.summary)


def _same_name(a, b):
    a, b = a.strip().strip('/'), b.strip().strip('/')
    return a == b or a.replace('.', '/') == b.replace('.', '/')


def _choose(src, candidates, resolve, inventory):
    """The candidate to read: the one named by ``variable`` (resolve(variable) makes one
    for a name that is no candidate, or returns None), else the only one."""
    v = src.variable
    if v is not None:
        for c in candidates:
            if any(_same_name(v, n) for n in (c.name,) + c.aliases):
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


def _shorten(items, limit=12):
    items = list(items)
    if len(items) > limit:
        items = items[:limit] + ['... %d more' % (len(items) - limit)]
    return ', '.join(items) or 'nothing'


# ---------------------------------------------------------------------------------------
# Arrays in groups (HDF5 datasets, npz members) and their layouts

class _Array:
    """A named array in a container, read on demand."""

    def __init__(self, path, shape, dtype, load, kind=None, first=None):
        self.path = path
        self.shape = tuple(shape)
        self.dtype = dtype
        self._load = load
        self._first = first
        self.size = prod(self.shape)
        self.kind = kind or _array_kind(self.shape, dtype)

    def read(self):
        return self._load()

    def first(self):
        """Element 0 (or None when empty)."""
        if self.size == 0:
            return None
        if self._first is not None:
            return self._first()
        return np.asarray(self.read()).reshape(-1)[0]

    def describe(self):
        shape = ' x '.join(map(str, self.shape)) if self.shape else 'scalar'
        what = {'objects': 'vectors', 'table': 'table'}.get(self.kind, str(self.dtype))
        return '%s (%s %s)' % (self.path, shape, what)


def _array_kind(shape, dtype):
    if dtype.names:
        return 'table' if len(shape) == 1 else 'other'
    if dtype.kind == 'O':
        return 'objects' if len(shape) == 1 else 'other'
    if dtype.kind not in 'iuf':
        return 'other'
    if len(shape) == 0:
        return 'scalar'
    if len(shape) == 1:
        return 'vector'
    if len(shape) == 2:
        if shape[0] == 1 or shape[1] == 1:
            return 'vector'
        if shape[1] == 2 or shape[0] == 2:
            return 'pairs'
    return 'other'


class _Group:
    """A group of arrays and subgroups (HDF5 group, npz root or folder)."""

    def __init__(self, src, path, names, get, is_root=False, h5group=None):
        self.src = src
        self.path = path
        self.names = names
        self._get = get
        self._nodes = {}
        self.is_root = is_root
        self.h5 = h5group

    def get(self, name):
        if name not in self._nodes:
            self._nodes[name] = self._get(name)
        return self._nodes[name]

    def child_path(self, name):
        return (self.path.rstrip('/') + '/' + name) if self.path != '/' else '/' + name


def _classify(src, group, out, fmt):
    """Append the candidates found in group and its subgroups to out."""
    names = group.names
    decimal = bool(names) and all(n.isdigit() and n.isascii() for n in names)
    if len(names) > BIG_GROUP:
        norms = {} if decimal else {n: _norm(n) for n in names}
        special = [n for n in names if not decimal and _special(norms[n])]
        step = max(1, len(names) // 8)
        sample = sorted(set(names[:8]) | set(names[::step][:8]))
        nodes = [group.get(n) for n in sample]
        if not special and all(isinstance(x, _Array) and x.kind == 'vector' for x in nodes) \
                and not any(x.first() == 0 and x.size > 1 for x in nodes):
            out.append(_members_candidate(src, group, list(names), fmt))
            return
    norms = {n: _norm(n) for n in names}
    nodes = {n: group.get(n) for n in names}
    arrays = {n: x for n, x in nodes.items() if isinstance(x, _Array)}
    subgroups = [x for x in nodes.values() if isinstance(x, _Group)]
    vectors = [n for n in names if n in arrays and arrays[n].kind == 'vector']
    used = set()
    found = len(out)
    lengths = [n for n in vectors if norms[n] in LENGTH_NAMES]
    offsets = [n for n in vectors if norms[n] in OFFSET_NAMES]
    idn = [n for n in vectors if norms[n] in ID_NAMES]
    if lengths or offsets:
        # lengths, offsets and ids are never candidates of their own
        used.update(lengths + offsets + idn)
        pool = [n for n in vectors if n not in lengths + offsets + idn]
        values = _value_options(pool, norms)
        if values:
            size = arrays[lengths[0] if lengths else offsets[0]]
            ids = arrays[sorted(idn, key=lambda n: norms[n] != 'ids')[0]] if idn else None
            # The group is a ragged pair: its other vectors (CSR data, shape ...) are
            # side data, not candidates.
            used.update(pool)
            for v in values:
                name = group.path if len(values) == 1 else arrays[v].path
                out.append(_ragged_candidate(src, name, arrays[v], size, bool(lengths), ids,
                                             fmt))
    else:
        regions = [n for n in vectors if norms[n] in REGION_NAMES]
        objs = [n for n in vectors if n not in regions and _is_object_column(norms[n])]
        if len(regions) == 1 and len(objs) == 1 and \
                arrays[regions[0]].size == arrays[objs[0]].size:
            used.update((regions[0], objs[0]))
            out.append(_columns_candidate(src, group.path, arrays[regions[0]],
                                          arrays[objs[0]], fmt))
    for n in vectors:
        if n not in used and _is_lookup_name(norms[n]):
            used.add(n)
            out.append(_lookup_candidate(src, arrays[n], fmt))
    for n, a in arrays.items():
        if a.kind in ('pairs', 'table', 'objects'):
            c = _array_candidate(src, a, fmt)
            if c is not None:
                out.append(c)
                used.add(n)
    rest = [n for n in vectors if n not in used]
    zero_first = [n for n in rest if arrays[n].size > 1 and arrays[n].first() == 0]
    for n in zero_first:
        out.append(_lookup_candidate(src, arrays[n], fmt))
        used.add(n)
    rest = [n for n in rest if n not in used]
    if rest:
        alone = not used and not subgroups and len(out) == found
        if alone and (not group.is_root or len(rest) >= 2):
            out.append(_members_candidate(src, group, rest, fmt))
        else:
            for n in rest:
                if not _fractional(arrays[n]):
                    out.append(_vector_candidate(src, arrays[n], fmt))
    for g in subgroups:
        _classify(src, g, out, fmt)


def _fractional(a, limit=4096):
    """Whether a small float array holds a value that is not a whole number (a voxel size,
    a scale: no candidate of its own)."""
    if a.dtype.kind != 'f' or a.size > limit:
        return False
    v = np.asarray(a.read(), np.float64)
    with np.errstate(invalid='ignore'):
        return not np.all(v == np.floor(v))


def _columns_candidate(src, name, r, o, fmt):
    """Two vectors of one length: region ids and object ids."""
    def read():
        regions, objects, n = _pairs(src, r.read(), o.read(), '%s + %s' % (r.path, o.path))
        return regions, objects, n, ('%s columns %s (regions) and %s (objects), %d rows,'
                                     ' %d objects' % (fmt, r.path, o.path, r.size, n))
    return _Candidate(name, 'region and object columns %s, %s' % (r.path, o.path), read,
                      (r.path, o.path))


def _special(norm):
    return (norm in LENGTH_NAMES or norm in OFFSET_NAMES or norm in ID_NAMES
            or norm in REGION_NAMES or _is_lookup_name(norm))


def _value_options(pool, norms):
    for tier in VALUE_NAMES:
        named = [n for n in pool if norms[n] in tier]
        if named:
            return named
    return pool


def _ragged_candidate(src, name, values, size, is_lengths, ids, fmt):
    def read():
        v = _ids(values.read(), src, values.path)
        s = _ids(size.read(), src, size.path)
        i = _ids(ids.read(), src, ids.path) if ids is not None else None
        n_ids = 'ids %s has %d entries' % (ids.path, i.size) if i is not None else ''
        if is_lengths:
            if s.size and int(s.min()) < 0:
                raise src.error('%s holds a negative length (%d)' % (size.path, s.min()))
            if int(s.sum()) != v.size:
                raise src.error('the lengths in %s add up to %d but %s holds %d region ids'
                                % (size.path, s.sum(), values.path, v.size))
            lengths = s
        else:
            if s.size == 0:
                raise src.error('%s is empty (offsets need at least one value)' % size.path)
            if s[0] != 0:
                raise src.error('%s starts at %d; offsets must start at 0'
                                % (size.path, s[0]))
            if s.size > 1 and int(np.diff(s).min()) < 0:
                raise src.error('the offsets in %s decrease' % size.path)
            if i is not None:
                if i.size == s.size - 1:
                    closed = True
                elif i.size == s.size:
                    closed = False
                else:
                    raise src.error('%s, but %s has %d offsets (expected %d or %d)'
                                    % (n_ids, size.path, s.size, i.size, i.size + 1))
            else:
                closed = int(s[-1]) == v.size
            if closed and int(s[-1]) != v.size:
                raise src.error('the last offset in %s is %d but %s holds %d region ids'
                                % (size.path, s[-1], values.path, v.size))
            if not closed and int(s[-1]) > v.size:
                raise src.error('offset %d in %s is beyond the %d region ids in %s'
                                % (s[-1], size.path, v.size, values.path))
            lengths = np.diff(s) if closed else np.diff(np.append(s, v.size))
        if i is not None and i.size != lengths.size:
            raise src.error('%s, but %s lists %d objects'
                            % (n_ids, size.path, lengths.size))
        regions, objects, count = _lists(v, lengths, i)
        what = ('%s ragged arrays %s + %s%s, %d objects'
                % (fmt, values.path, size.path,
                   ' with ids %s' % ids.path if ids is not None else '', count))
        return regions, objects, count, what
    kind = 'lengths' if is_lengths else 'offsets'
    return _Candidate(name, 'region ids %s with %s %s' % (values.path, kind, size.path), read,
                      (values.path,))


def _lookup_candidate(src, a, fmt, one_based=False):
    def read():
        r, o, n = _lookup(src, a.read(), a.path, one_based)
        return r, o, n, ('%s per-region lookup %s (%d entries: %s), %d objects'
                         % (fmt, a.path, a.size, 'element k is region k' if one_based
                            else 'index = region id', n))
    return _Candidate(a.path, 'per-region lookup, %d entries' % a.size, read)


def _vector_candidate(src, a, fmt):
    """A lone vector: a lookup when element 0 is 0, else one object's region ids."""
    def read():
        v = a.read()
        flat = np.asarray(v).reshape(-1)
        if flat.size > 1 and flat[0] == 0:
            return _lookup_candidate(src, a, fmt).read()
        regions = _ids(flat, src, a.path)
        return (regions, np.ones(regions.size, np.int64), 1,
                '%s vector %s: the %d region ids of one object' % (fmt, a.path, regions.size))
    return _Candidate(a.path, 'one vector of %d values' % a.size, read)


def _array_candidate(src, a, fmt):
    if a.kind == 'pairs':
        def read():
            v = np.asarray(a.read())
            rows = v.shape[1] == 2
            r, o = (v[:, 0], v[:, 1]) if rows else (v[0], v[1])
            regions, objects, n = _pairs(src, r, o, a.path)
            return regions, objects, n, ('%s region/object pairs %s (%s), %d objects'
                                         % (fmt, a.path, ' x '.join(map(str, v.shape)), n))
        return _Candidate(a.path, '%s pairs' % ' x '.join(map(str, a.shape)), read)
    if a.kind == 'table':
        names = list(a.dtype.names)
        try:
            r, o = _header_columns(src, names, a.path)
        except InputError:
            return None

        def read():
            v = a.read()
            regions, objects, n = _pairs(src, v[names[r]], v[names[o]], a.path)
            return regions, objects, n, ('%s table %s, fields %s (regions) and %s (objects),'
                                         ' %d objects' % (fmt, a.path, names[r], names[o], n))
        return _Candidate(a.path, 'table with fields %s, %s' % (names[r], names[o]), read)
    if a.kind == 'objects':
        def read():
            v = np.asarray(a.read())
            regions, objects, n = _object_array(src, v, lambda k: '%s[%d]' % (a.path, k))
            return regions, objects, n, ('%s array of region-id vectors %s, %d objects'
                                         % (fmt, a.path, n))
        return _Candidate(a.path, 'array of %d vectors' % a.size, read)
    return None


def _members_candidate(src, group, names, fmt):
    """A group holding one vector per object."""
    def read():
        ordered, ids, how = _member_order(group, names)
        n = len(ordered)
        label = lambda k: group.child_path(ordered[k])     # noqa: E731
        if group.h5 is not None:
            gid = group.h5.id

            def open_one(k):
                try:
                    return h5d.open(gid, ordered[k].encode('utf-8'))
                except (KeyError, ValueError, RuntimeError, OSError):
                    raise src.error('%s is not a dataset' % label(k))
            values, lengths = _read_h5_vectors(src, open_one, n, label, matlab=False)
        else:
            parts = []
            for k, name in enumerate(ordered):
                a = group.get(name)
                if not isinstance(a, _Array) or a.kind != 'vector':
                    raise src.error('%s is not a vector of region ids' % label(k))
                parts.append(np.asarray(a.read()).reshape(-1))
            lengths = np.fromiter((p.size for p in parts), np.int64, n)
            values = _concatenate(src, parts, lengths, label)
        regions, objects, count = _lists(values, lengths, ids)
        return regions, objects, count, ('%s group %s of %d vector%s, one per object (%s)'
                                         % (fmt, group.path, count, 's'[:count != 1], how))
    return _Candidate(group.path, 'group of %d vectors, one per object' % len(names), read)


_NATURAL_RE = re.compile(r'^(\D*)(\d+)(\D*)$')


def _member_order(group, names):
    """(names in object order, explicit ids or None, how the ids were made)."""
    if names and all(n.isdigit() and n.isascii() for n in names):
        too_large = [n for n in names if len(n) > 18 and int(n) > INT64_MAX]
        if too_large:
            raise group.src.error('%s: object id %s is too large for a 64-bit integer'
                                  % (group.child_path(too_large[0]), too_large[0]))
        ids = np.array([int(n) for n in names], np.int64)
        order = np.argsort(ids, kind='stable')
        return [names[i] for i in order], ids[order], 'named by object id'
    if group.h5 is not None:
        try:
            tracked = group.h5.id.get_create_plist().get_link_creation_order()
        except (AttributeError, RuntimeError, ValueError):
            tracked = 0
        if tracked & h5p.CRT_ORDER_TRACKED:
            crt = []
            group.h5.id.links.iterate(lambda n: crt.append(n.decode('utf-8')),
                                      idx_type=h5.INDEX_CRT_ORDER)
            keep = set(names)
            return ([n for n in crt if n in keep], None,
                    'object ids 1..N in creation order')
    return _natural_sorted(names), None, 'object ids 1..N in natural order of the names'


def _natural_sorted(names):
    matches = [_NATURAL_RE.match(n) for n in names]
    if matches and all(matches) and len({(m.group(1), m.group(3)) for m in matches}) == 1 \
            and max(len(m.group(2)) for m in matches) <= 18:
        # One prefix and suffix around a number (neuron_001 ...): sort by the number.
        numbers = np.array([int(m.group(2)) for m in matches], np.int64)
        order = np.lexsort((np.array(names, dtype=str), numbers))
        return [names[i] for i in order]

    def key(n):
        return [(int(t) if i % 2 else t.lower()) for i, t in enumerate(re.split(r'(\d+)', n))]
    return sorted(names, key=key)


# ---------------------------------------------------------------------------------------
# HDF5 datasets, one per object (groups of datasets, MATLAB cells): the per-object loop

def _read_h5_vectors(src, open_one, n, label, matlab):
    """Read n HDF5 datasets (open_one(k) -> DatasetID) as numeric vectors with h5py's
    low-level API; returns (int64 values, lengths).  MATLAB: empty arrays (1-D uint64
    dimensions with MATLAB_empty) are empty, char and logical elements are refused."""
    INTEGER, FLOAT, REFERENCE = h5t.INTEGER, h5t.FLOAT, h5t.REFERENCE
    NATIVE_INT64, NATIVE_UINT64, NATIVE_DOUBLE = (h5t.NATIVE_INT64, h5t.NATIVE_UINT64,
                                                 h5t.NATIVE_DOUBLE)
    SGN_NONE, ALL = h5t.SGN_NONE, h5s.ALL
    DatasetID = h5d.DatasetID
    lengths = np.zeros(n, np.int64)
    parts = []
    dtypes = set()
    for k in range(n):
        d = open_one(k)
        if not isinstance(d, DatasetID):
            raise src.error('%s is a %s, not a vector of region ids'
                            % (label(k), 'struct' if matlab else 'group'))
        s = d.get_space()
        m = s.get_simple_extent_npoints()
        if m == 0:
            continue
        t = d.get_type()
        c = t.get_class()
        dims = s.get_simple_extent_dims()
        if len(dims) == 1 and matlab and _matlab_empty(d):
            continue
        if len(dims) > 1 and m != max(dims):
            raise src.error('%s is a %s array, not a vector'
                            % (label(k), ' x '.join(str(x) for x in
                                                    (dims[::-1] if matlab else dims))))
        if c == INTEGER:
            size = t.get_size()
            if matlab and size <= 2:
                mclass = _matlab_class(d)
                if mclass in ('char', 'logical'):
                    raise src.error('%s is %s, not a vector of region ids' % (label(k), mclass))
            if size == 8 and t.get_sign() == SGN_NONE:
                a = np.empty(m, np.uint64)
                d.read(ALL, ALL, a, mtype=NATIVE_UINT64)
            else:
                a = np.empty(m, np.int64)
                d.read(ALL, ALL, a, mtype=NATIVE_INT64)
        elif c == FLOAT:
            a = np.empty(m, np.float64)
            d.read(ALL, ALL, a, mtype=NATIVE_DOUBLE)
        elif c == REFERENCE:
            raise src.error('%s is a cell of references, not a vector of region ids'
                            % label(k))
        else:
            raise src.error('%s holds %s, not numbers' % (label(k), _h5_class_name(c)))
        lengths[k] = m
        dtypes.add(a.dtype)
        parts.append(a)
    if len(dtypes) <= 1:
        values = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return _ids(values, src, '', _locator(lengths, label)), lengths
    # Mixed integer and float datasets: convert each one on its own.
    nonempty = np.flatnonzero(lengths)
    out = [_ids(p, src, label(int(k))) for p, k in zip(parts, nonempty)]
    return np.concatenate(out), lengths


def _h5_class_name(c):
    names = {h5t.STRING: 'text', h5t.COMPOUND: 'compound records', h5t.ENUM: 'enumerated'
             ' values (booleans?)', h5t.VLEN: 'variable-length data', h5t.OPAQUE: 'opaque'
             ' data', h5t.BITFIELD: 'bit fields', h5t.ARRAY: 'array elements'}
    return names.get(c, 'non-numeric data')


def _matlab_empty(d):
    try:
        return bool(np.asarray(h5py.Dataset(d).attrs.get('MATLAB_empty', 0)).reshape(-1)[0])
    except (KeyError, OSError, RuntimeError, IndexError):
        return False


def _matlab_class(obj):
    if not isinstance(obj, (h5py.Dataset, h5py.Group)):
        obj = h5py.Dataset(obj) if isinstance(obj, h5d.DatasetID) else h5py.Group(obj)
    value = obj.attrs.get('MATLAB_class')
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else b''
    return value.decode('ascii', 'replace') if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------------------------------
# HDF5

def _read_hdf5(src):
    with h5py.File(src.path, 'r') as f:
        if _is_matlab(src, f):
            return _read_mat73(src, f)
        root = _h5_group(src, f, True)
        candidates = []
        _classify(src, root, candidates, 'HDF5')

        def resolve(v):
            path = '/' + v.strip().strip('/')
            if path not in f and path.replace('.', '/') in f:
                path = path.replace('.', '/')
            if path not in f:
                return None
            obj = f[path]
            if isinstance(obj, h5py.Group):
                g = _h5_group(src, obj, False)
                found = []
                _classify(src, g, found, 'HDF5')
                if len(found) == 1:
                    return found[0]
                if not found:
                    raise src.error('%s holds no region ids (it holds: %s)'
                                    % (path, _h5_inventory(obj)))
                raise src.error('several candidates in %s: %s; choose one with variable'
                                % (path, ', '.join(c.listing() for c in found)))
            a = _h5_array(obj)
            if a.kind == 'vector':
                if _is_lookup_name(_norm(path.rsplit('/', 1)[-1])):
                    return _lookup_candidate(src, a, 'HDF5')
                return _vector_candidate(src, a, 'HDF5')
            c = _array_candidate(src, a, 'HDF5')
            if c is None:
                raise src.error('%s is %s: not a layout of region ids'
                                % (path, a.describe()))
            return c
        chosen = _choose(src, candidates, resolve, lambda: _h5_inventory(f))
        return chosen.read()


def _is_matlab(src, f):
    if src.userblock.startswith(b'MATLAB'):
        return True
    for name in list(f.keys())[:20]:
        if name.startswith('#'):
            continue
        try:
            if 'MATLAB_class' in f[name].attrs:
                return True
        except (KeyError, OSError, RuntimeError):
            pass
    return False


def _h5_group(src, g, is_root):
    names = [n for n in g.keys() if not (is_root and n in ('#refs#', '#subsystem#'))]

    def get(name):
        try:
            obj = g.get(name)
            if isinstance(obj, h5py.Group):
                return _h5_group(src, obj, False)
            if isinstance(obj, h5py.Dataset):
                return _h5_array(obj)
        except (KeyError, OSError, RuntimeError, ValueError, TypeError):
            pass                # dangling links, types numpy has no equivalent of
        return None
    return _Group(src, g.name, names, get, is_root, g)


def _h5_array(ds):
    dtype = ds.dtype
    shape = ds.shape
    kind = None
    if shape is None:                   # an empty (null dataspace) dataset
        return _Array(ds.name, (0,), dtype, lambda: np.zeros(0, np.int64), 'vector')
    if dtype.kind == 'O':
        base = h5py.check_vlen_dtype(dtype)
        kind = 'objects' if isinstance(base, np.dtype) and base.kind in 'iuf' \
            and len(shape) == 1 else 'other'
    elif dtype.kind == 'V' and not dtype.names:
        kind = 'other'
    first = (lambda: ds[(0,) * len(shape)]) if len(shape) in (1, 2) else None
    return _Array(ds.name, shape, dtype, lambda: ds[()], kind, first)


def _h5_inventory(g):
    items = []
    for name in g.keys():
        if name in ('#refs#', '#subsystem#'):
            continue
        try:
            obj = g[name]
        except (KeyError, OSError, RuntimeError):
            items.append('%s (unreadable link)' % name)
            continue
        if isinstance(obj, h5py.Group):
            items.append('%s (group of %d)' % (obj.name, len(obj)))
        else:
            items.append(_h5_array(obj).describe())
    return _shorten(items)


# ---------------------------------------------------------------------------------------
# MATLAB (v7.3 and v5 share the layouts; _MatH5 and _MatV5 give one view of both)

class _MatValue:
    """kind: numeric, cell, struct, char, logical, sparse, other; shape: MATLAB's."""
    kind = 'other'
    shape = ()
    empty = False
    mclass = ''
    fields = ()
    scalar = True       # struct: fields hold the values directly (1 x 1)
    name = ''

    def describe(self):
        dims = ' x '.join(map(str, self.shape))
        if self.kind == 'numeric':
            return '%s (%s %s)' % (self.name, dims, self.mclass)
        return '%s (%s %s)' % (self.name, dims, self.kind)


class _MatH5(_MatValue):

    def __init__(self, src, obj, name):
        self.src = src
        self.obj = obj
        self.name = name
        attrs = obj.attrs
        self.mclass = _matlab_class(obj)
        empty = 'MATLAB_empty' in attrs and bool(np.asarray(attrs['MATLAB_empty']).reshape(-1)[0])
        self.empty = empty
        if isinstance(obj, h5py.Group):
            if 'MATLAB_sparse' in attrs:
                self.kind = 'sparse'
            elif self.mclass == 'struct':
                self.kind = 'struct'
                self.fields = _matlab_fields(obj)
                first = obj.get(self.fields[0]) if self.fields else None
                if isinstance(first, h5py.Dataset) and first.dtype == h5py.ref_dtype \
                        and 'MATLAB_class' not in first.attrs:
                    self.scalar = False
                    self.shape = first.shape[::-1]
                else:
                    self.shape = (1, 1)
            self.shape = self.shape or (1, 1)
            return
        if empty:
            dims = obj[()]
            self.shape = tuple(int(x) for x in np.asarray(dims).reshape(-1)[::-1])
        else:
            self.shape = tuple(obj.shape[::-1]) if obj.shape is not None else (0, 0)
        if self.mclass == 'cell':
            self.kind = 'cell'
        elif self.mclass == 'struct' and empty:
            self.kind, self.fields = 'struct', ()
        elif self.mclass in ('char', 'logical'):
            self.kind = self.mclass
        elif self.mclass in _NUMERIC_CLASSES or (self.mclass is None
                                                 and obj.dtype.kind in 'iuf'):
            self.kind = 'numeric'
            self.mclass = self.mclass or str(obj.dtype)

    def array(self):
        if self.empty:
            return np.zeros(self.shape)
        return self.obj[()].T

    def field(self, f):
        return _MatH5(self.src, self.obj[f], '%s.%s' % (self.name, f))

    def column(self, f):
        if self.scalar:
            return _SingleColumn(self.field(f), '%s.%s' % (self.name, f))
        return _RefColumn(self.src, self.obj[f], lambda k: '%s(%d).%s' % (self.name, k + 1, f))

    def cells(self):
        if self.empty:
            return _EmptyColumn()
        return _RefColumn(self.src, self.obj, lambda k: '%s{%d}' % (self.name, k + 1))


class _RefColumn:
    """The elements of a v7.3 cell array, or one field of a struct array: references."""

    def __init__(self, src, ds, label):
        self.src = src
        self.ds = ds
        self.label = label
        self._refs = None

    def refs(self):
        if self._refs is None:
            self._refs = self.ds[()].reshape(-1)
        return self._refs

    def first_kind(self):
        f = self.ds.file
        for k, ref in enumerate(self.refs()[:20]):
            if not ref:
                continue
            el = _MatH5(self.src, f[ref], self.label(k))
            if not el.empty:
                return el.kind
        return 'numeric' if self.refs().size else 'empty'

    def vectors(self):
        refs = self.refs()
        fid = self.ds.file.id
        label = self.label
        src = self.src
        deref = h5r.dereference

        def open_one(k):
            try:
                return deref(refs[k], fid)
            except (ValueError, RuntimeError, TypeError, OSError):
                raise src.error('%s is not a valid reference' % label(k))
        return _read_h5_vectors(src, open_one, refs.size, label, matlab=True)


class _SingleColumn:
    """One field of a 1 x 1 struct seen as a one-record column."""

    def __init__(self, value, name):
        self.value = value
        self.name = name

    def first_kind(self):
        return self.value.kind

    def vectors(self):
        v = self.value
        if v.kind != 'numeric':
            raise v.src.error('%s is %s, not a vector of region ids' % (self.name, v.kind))
        a = v.array()
        if a.ndim > 1 and sum(d > 1 for d in a.shape) > 1:
            raise v.src.error('%s is a %s array, not a vector'
                              % (self.name, ' x '.join(map(str, a.shape))))
        values = _ids(a.reshape(-1, order='F'), v.src, self.name)
        return values, np.array([values.size], np.int64)


class _EmptyColumn:
    def first_kind(self):
        return 'empty'

    def vectors(self):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)


def _matlab_fields(group):
    names = group.attrs.get('MATLAB_fields')
    if names is None:
        return [n for n in group.keys()]
    out = []
    for n in np.asarray(names, dtype=object).reshape(-1):
        n = np.asarray(n).reshape(-1)
        out.append(b''.join(bytes(x) for x in n).decode('utf-8', 'replace'))
    return out


class _MatV5(_MatValue):

    def __init__(self, src, value, name):
        from scipy import sparse
        from scipy.io import matlab
        self.src = src
        self.value = value
        self.name = name
        self.mclass = ''
        opaque = tuple(getattr(matlab, n) for n in ('MatlabOpaque', 'MatlabFunction',
                                                     'MatlabObject') if hasattr(matlab, n))
        if sparse.issparse(value):
            self.kind, self.shape = 'sparse', value.shape
            return
        if not isinstance(value, np.ndarray) or isinstance(value, opaque):
            return
        self.shape = value.shape
        dtype = value.dtype
        if dtype.names:
            self.kind, self.fields = 'struct', list(dtype.names)
            self.scalar = value.size == 1
        elif dtype.kind == 'O':
            self.kind = 'cell'
        elif dtype.kind in 'US':
            self.kind = 'char'
        elif dtype.kind == 'b':
            self.kind = 'logical'
        elif dtype.kind in 'iuf':
            self.kind = 'numeric'
            self.mclass = str(dtype)
        self.empty = value.size == 0

    def array(self):
        return self.value

    def field(self, f):
        return _MatV5(self.src, self.value.reshape(-1)[0][f], '%s.%s' % (self.name, f))

    def column(self, f):
        if self.scalar:
            return _SingleColumn(self.field(f), '%s.%s' % (self.name, f))
        return _V5Column(self.src, self.value[f], lambda k: '%s(%d).%s' % (self.name, k + 1, f))

    def cells(self):
        return _V5Column(self.src, self.value, lambda k: '%s{%d}' % (self.name, k + 1))


class _V5Column:

    def __init__(self, src, array, label):
        self.src = src
        self.array = array
        self.label = label

    def first_kind(self):
        for k, el in enumerate(self.array.reshape(-1, order='F')[:20]):
            v = _MatV5(self.src, el, self.label(k))
            if v.kind != 'numeric' or v.value.size:
                return v.kind
        return 'numeric' if self.array.size else 'empty'

    def vectors(self):
        src = self.src
        label = self.label
        parts = []
        for k, el in enumerate(self.array.reshape(-1, order='F')):
            if not isinstance(el, np.ndarray) or el.dtype.kind not in 'iuf':
                if isinstance(el, np.ndarray) and el.size == 0:
                    parts.append(np.zeros(0))
                    continue
                kind = _MatV5(src, el, label(k)).kind
                raise src.error('%s is %s, not a vector of region ids' % (label(k), kind))
            if el.ndim > 1 and el.size and el.size != max(el.shape):
                raise src.error('%s is a %s array, not a vector'
                                % (label(k), ' x '.join(map(str, el.shape))))
            parts.append(el.reshape(-1, order='F'))
        lengths = np.fromiter((p.size for p in parts), np.int64, len(parts))
        return _concatenate(src, parts, lengths, label), lengths


def _mat_candidates(src, var, out, fmt, nested=False):
    if var.kind == 'cell':
        out.append(_cell_candidate(src, var, fmt))
    elif var.kind == 'struct':
        _struct_candidates(src, var, out, fmt)
    elif var.kind == 'numeric' and not nested:
        c = _mat_numeric_candidate(src, var, fmt)
        if c is not None:
            out.append(c)


def _cell_candidate(src, var, fmt):
    dims = ' x '.join(map(str, var.shape))

    def read():
        values, lengths = var.cells().vectors()
        regions, objects, count = _lists(values, lengths)
        return regions, objects, count, '%s cell array %r (%s)' % (fmt, var.name, dims)
    return _Candidate(var.name, '%s cell array' % dims, read)


def _struct_candidates(src, s, out, fmt, field=None):
    """Candidates of a struct (array): the field of region ids, chosen by name or as the
    only plain numeric field (``field`` forces one); a 1 x 1 struct's cell and struct
    fields are searched too."""
    if prod(s.shape) == 0:
        out.append(_Candidate(s.name, 'empty struct array', lambda: (
            np.zeros(0, np.int64), np.zeros(0, np.int64), 0,
            '%s struct array %r (empty)' % (fmt, s.name))))
        return
    numeric = []
    nested = False
    for f in s.fields:
        kind = s.field(f).kind if s.scalar else s.column(f).first_kind()
        if s.scalar and kind in ('cell', 'struct') and field is None:
            _mat_candidates(src, s.field(f), out, fmt, nested=True)
            nested = True
        elif kind in ('numeric', 'empty'):
            numeric.append(f)
    ids = [f for f in numeric if _norm(f) in ID_NAMES]
    id_field = sorted(ids, key=lambda f: _norm(f) != 'id')[0] if ids else None
    if field is not None:
        chosen = [field]
        if id_field == field:
            id_field = None
    else:
        chosen = [f for f in numeric if _norm(f) in REGION_NAMES]
        if not chosen and not nested:
            chosen = [f for f in numeric if f != id_field and not _NOT_REGIONS_RE.search(_norm(f))]
    for f in chosen:
        single = len(chosen) == 1
        name = s.name if single and field is None else '%s.%s' % (s.name, f)
        aliases = ('%s.%s' % (s.name, f),) if single and field is None else ()
        summary = 'struct %s field %s%s' % (' x '.join(map(str, s.shape)), f,
                                            ', ids from field %s' % id_field if id_field else '')
        out.append(_Candidate(name, summary, _struct_reader(src, s, f, id_field, fmt), aliases))


def _struct_reader(src, s, field, id_field, fmt):
    def read():
        values, lengths = s.column(field).vectors()
        ids = None
        if id_field is not None:
            ids, counts = s.column(id_field).vectors()
            bad = np.flatnonzero(counts != 1)
            if bad.size:
                raise src.error('%s(%d).%s holds %d values; the id field must hold one number'
                                ' per record' % (s.name, bad[0] + 1, id_field, counts[bad[0]]))
        regions, objects, count = _lists(values, lengths, ids)
        return regions, objects, count, (
            '%s struct array %r (%s), field %s%s'
            % (fmt, s.name, ' x '.join(map(str, s.shape)), field,
               ', ids from field %s' % id_field if id_field else ''))
    return read


def _mat_numeric_candidate(src, var, fmt, forced=False):
    shape = var.shape
    if len(shape) != 2 or var.empty and not forced:
        return None
    m, n = shape
    dims = '%d x %d' % (m, n)
    if m == 1 or n == 1:
        if m * n < 2 and not forced:
            return None
        a = np.asarray(var.array()).reshape(-1, order='F')
        if not forced and _fractional(_Array(var.name, a.shape, a.dtype, lambda: a)):
            return None
        if _is_lookup_name(_norm(var.name.rsplit('.', 1)[-1])) or \
                (a.dtype.kind in 'iuf' and a.size and not a.all()):
            def read():
                r, o, count = _lookup(src, a, var.name, one_based=True)
                return r, o, count, ('%s per-region lookup %r (%s: element k is region k)'
                                     % (fmt, var.name, dims))
            return _Candidate(var.name, '%s lookup' % dims, read)

        def read_one():
            regions = _ids(a, src, var.name)
            return (regions, np.ones(regions.size, np.int64), 1,
                    '%s vector %r: the %d region ids of one object' % (fmt, var.name, a.size))
        return _Candidate(var.name, '%s vector' % dims, read_one)
    if n == 2 or m == 2:
        def read_pairs():
            a = np.asarray(var.array())
            r, o = (a[:, 0], a[:, 1]) if n == 2 else (a[0], a[1])
            regions, objects, count = _pairs(src, r, o, var.name)
            return regions, objects, count, ('%s region/object pairs %r (%s), %d objects'
                                             % (fmt, var.name, dims, count))
        return _Candidate(var.name, '%s pairs' % dims, read_pairs)
    if forced:
        raise src.error('%s is a %s matrix: not a layout of region ids' % (var.name, dims))
    return None


def _mat_choose(src, variables, fmt):
    """Pick and read a candidate among MATLAB variables ({name: _MatValue})."""
    candidates = []
    for var in variables.values():
        _mat_candidates(src, var, candidates, fmt)

    def resolve(v):
        parts = [p for p in re.split(r'[./]', v.strip().strip('/')) if p]
        if not parts or parts[0] not in variables:
            return None
        node = variables[parts[0]]
        for i, f in enumerate(parts[1:], start=1):
            if node.kind != 'struct' or f not in node.fields:
                return None
            last = i == len(parts) - 1
            if node.scalar and not (last and node.field(f).kind == 'numeric'):
                node = node.field(f)
                continue
            if not last:
                return None
            found = []
            if node.scalar:
                value = node.field(f)
                c = _mat_numeric_candidate(src, value, fmt, forced=True)
                if c is not None and 'lookup' in c.summary:
                    return c
            _struct_candidates(src, node, found, fmt, field=f)
            return found[0]
        if node.kind == 'cell':
            return _cell_candidate(src, node, fmt)
        if node.kind == 'struct':
            found = []
            _struct_candidates(src, node, found, fmt)
            if len(found) == 1:
                return found[0]
            if not found:
                raise src.error('%s has no field of region ids (fields: %s)'
                                % (node.name, ', '.join(node.fields) or 'none'))
            raise src.error('several candidates in %s: %s; choose one with variable'
                            % (node.name, ', '.join(c.listing() for c in found)))
        if node.kind == 'numeric':
            return _mat_numeric_candidate(src, node, fmt, forced=True)
        raise src.error('%s is %s, not region ids' % (node.describe(), node.kind))

    def inventory():
        return _shorten(v.describe() for v in variables.values())
    return _choose(src, candidates, resolve, inventory).read()


def _read_mat73(src, f):
    variables = {}
    for name in f.keys():
        if name.startswith('#'):
            continue
        try:
            variables[name] = _MatH5(src, f[name], name)
        except (KeyError, OSError, RuntimeError):
            continue
    return _mat_choose(src, variables, 'MATLAB v7.3')


def _read_mat5(src):
    from scipy.io import loadmat, whosmat
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            data = loadmat(src.path, squeeze_me=False, struct_as_record=True,
                           chars_as_strings=True)
    except Exception as e:       # scipy's reader raises many kinds for a damaged file
        raise src.error('cannot be read as a MATLAB v5 MAT-file (damaged or truncated?): %s'
                        % (e or type(e).__name__))
    variables = {k: _MatV5(src, v, k) for k, v in data.items() if not k.startswith('__')}
    try:
        # loadmat returns logical arrays as uint8; whosmat tells them apart.
        for name, _shape, mclass in whosmat(src.path):
            if mclass == 'logical' and name in variables:
                variables[name].kind = 'logical'
    except Exception:       # noqa: BLE001  (only a refinement; loadmat has read the file)
        pass
    return _mat_choose(src, variables, 'MATLAB v5')


# ---------------------------------------------------------------------------------------
# NumPy

class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles object arrays of numpy arrays and Python numbers/lists only."""
    ALLOWED = {('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray',
               '_reconstruct'), ('numpy', 'ndarray'), ('numpy', 'dtype'),
               ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar')}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError('the object array holds %s.%s, which is not read'
                                     ' (only numpy arrays are)' % (module, name))


def _npy_header(fp):
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fp)
    return np.lib.format._read_array_header(fp, version)


def _load_npy(fp):
    """Read an .npy stream; object arrays are unpickled allowing numpy arrays only."""
    start = fp.tell() if fp.seekable() else None
    shape, fortran, dtype = _npy_header(fp)
    if dtype.hasobject:
        a = _ArrayUnpickler(fp).load()
        if not isinstance(a, np.ndarray):
            raise ValueError('the pickled object is not an array')
        return a
    if start is not None:
        fp.seek(start)
    return np.lib.format.read_array(fp, allow_pickle=False)


def _read_npy(src):
    with open(src.path, 'rb') as fp:
        a = _load_npy(fp)
    arr = _Array(src.name, a.shape, a.dtype, lambda: a)
    if arr.kind == 'vector':
        return _vector_candidate(src, arr, 'NumPy').read()
    c = _array_candidate(src, arr, 'NumPy')
    if c is None:
        raise src.error('holds %s: not a layout of region ids' % arr.describe())
    return c.read()


def _read_npz(src):
    with zipfile.ZipFile(src.path) as z:
        members = [n for n in z.namelist() if n.endswith('.npy')]
        cache = {}

        def array(member):
            key = member[:-4]
            with z.open(member) as fp:
                shape, _fortran, dtype = _npy_header(fp)

            def load():
                if key not in cache:
                    with z.open(member) as fp:
                        cache[key] = _load_npy(fp)
                return cache[key]
            return _Array(key, shape, dtype, load)

        tree = {}
        for m in members:
            parts = m[:-4].split('/')
            node = tree
            for p in parts[:-1]:
                node = node.setdefault(p + '/', {})
            node[parts[-1]] = m

        def group(path, node, is_root):
            names = [k[:-1] if k.endswith('/') else k for k in node]

            def get(name):
                if name + '/' in node:
                    return group(name if path == '/' else path + '/' + name,
                                 node[name + '/'], False)
                return array(node[name])
            return _Group(src, path, names, get, is_root)

        root = group('/', tree, True)
        candidates = []
        _classify(src, root, candidates, 'NumPy .npz')

        def resolve(v):
            key = v.strip().strip('/')
            if key + '.npy' in members:
                a = array(key + '.npy')
                if a.kind == 'vector':
                    return (_lookup_candidate(src, a, 'NumPy .npz')
                            if _is_lookup_name(_norm(key)) else
                            _vector_candidate(src, a, 'NumPy .npz'))
                c = _array_candidate(src, a, 'NumPy .npz')
                if c is None:
                    raise src.error('%s is %s: not a layout of region ids'
                                    % (key, a.describe()))
                return c
            return None

        def inventory():
            return _shorten(array(m).describe() for m in members)
        return _choose(src, candidates, resolve, inventory).read()


# ---------------------------------------------------------------------------------------
# Text

_SEPARATORS = b' \t\r\v\f,;"\''
_SPACE_TABLE = bytes.maketrans(_SEPARATORS, b' ' * len(_SEPARATORS))
_SPACE_COLON_TABLE = bytes.maketrans(_SEPARATORS + b':', b' ' * (len(_SEPARATORS) + 1))
_NUMBER_TOKEN_RE = re.compile(rb'[^\s,;"\':]+')


def _read_gzip(src):
    with gzip.open(src.path, 'rb') as f:
        data = f.read()
    return _read_text(src, data, 'gzip-compressed ')


def _read_text(src, data=None, prefix=''):
    if data is None:
        with open(src.path, 'rb') as f:
            data = f.read()
    if data.startswith(b'\xef\xbb\xbf'):
        data = data[3:]
    elif data.startswith((b'\xff\xfe', b'\xfe\xff')):
        data = data.decode('utf-16').encode('utf-8')
    if b'\0' in data:
        raise src.error('unknown format (binary data, not HDF5, MATLAB, NumPy or text)')
    if not re.search(rb"\S", data):
        raise src.error('is empty')
    first_line = 1
    header = None
    # Comment lines at the top; the last one may be a header (numpy.savetxt writes "# ...").
    while data[:1024].lstrip(b' \t').startswith(b'#'):
        end = data.find(b'\n')
        line = data[:end] if end >= 0 else data
        names = _header_names(line.lstrip(b' \t')[1:])
        if len(names) >= 2 and any(_norm(n) in REGION_NAMES for n in names):
            header = names
        data = data[end + 1:] if end >= 0 else b''
        first_line += 1
    line_numbers = None
    if b'#' in data:
        lines = data.split(b'\n')
        keep = [i for i, line in enumerate(lines) if not line.lstrip().startswith(b'#')]
        line_numbers = np.array(keep, np.int64) + first_line
        data = b'\n'.join(lines[i] for i in keep)
    # A first line with a token that is not a number is a header.
    end = data.find(b'\n')
    line = data[:end] if end >= 0 else data
    tokens = _NUMBER_TOKEN_RE.findall(line)
    if any(not _is_number(t) for t in tokens):
        header = _header_names(line)
        data = data[end + 1:] if end >= 0 else b''
        if line_numbers is not None:
            line_numbers = line_numbers[1:]
        else:
            first_line += 1
    if line_numbers is None:
        base = first_line

        def line_no(i):
            return base + i
    else:
        def line_no(i):
            return int(line_numbers[i]) if i < line_numbers.size else int(line_numbers[-1]) + 1
    sample = data[:4096]
    kind = prefix + ('CSV' if b',' in sample else 'TSV' if b'\t' in sample else 'text')
    colon = header is None and b':' in data
    select = None
    if header is not None:
        r, o = _header_columns(src, header, 'the header')
        select = (len(header), r, o)
    counts, values, ids = _parse_text(src, data, colon, line_no, select)
    if header is not None:
        rows = values.reshape(-1, 2)
        objects = rows[:, 1]
        return (rows[:, 0], objects, _distinct(objects),
                '%s region/object rows, header %s (regions: %s, objects: %s), %d rows'
                % (kind, ','.join(header), header[r], header[o], rows.shape[0]))
    if colon:
        regions, objects, count = _lists(values, counts, ids)
        return regions, objects, count, ("%s, one object per line as 'ID: regions', %d objects"
                                          % (kind, count))
    nonblank = np.flatnonzero(counts)
    n = int(nonblank[-1]) + 1 if nonblank.size else 0     # trailing blank lines aside
    if n and (counts[:n] == 2).all():
        col2 = values[1::2]
        repeats = _distinct(col2) < col2.size
        numbered = int(col2.min()) >= 1 and int(col2.max()) <= n
        if repeats or numbered:
            objects = col2
            why = 'the second column repeats values' if repeats else \
                'the second column holds only 1 .. number of rows'
            return (values[0::2], objects, _distinct(objects),
                    '%s region_id,object_id rows without header (%s), %d rows'
                    % (kind, why, n))
    regions, objects, count = _lists(values, counts)
    return regions, objects, count, '%s, one object per line (line k = object k), %d objects' \
        % (kind, count)


def _is_number(token):
    try:
        float(token)
        return True
    except ValueError:
        return False


def _header_names(line):
    text = line.decode('utf-8', 'replace').strip()
    parts = re.split(r'[,;\t]' if re.search(r'[,;\t]', text) else r'\s+', text)
    return [p.strip().strip('"\'').strip() for p in parts] if text else []


def _header_columns(src, names, what):
    """(region column, object column) from column names."""
    norms = [_norm(n) for n in names]
    listed = ','.join(names)
    regions = [i for i, n in enumerate(norms) if n in REGION_NAMES]
    if len(regions) > 1:
        raise src.error('%s %r names several region columns' % (what, listed))
    if not regions and len(names) == 2:
        objs = [i for i, n in enumerate(norms) if _is_object_column(n)]
        if len(objs) == 1:
            regions = [1 - objs[0]]
    if not regions:
        raise src.error('cannot tell from %s %r which column holds region ids: name it'
                        ' region_id (or segId, segment_id, supervoxel, sv_id)' % (what, listed))
    r = regions[0]
    others = [i for i in range(len(names)) if i != r]
    if len(others) == 1:
        return r, others[0]
    objs = [i for i in others if _is_object_column(norms[i])]
    if len(objs) != 1:
        raise src.error('cannot tell from %s %r which column holds object ids: name it'
                        ' object_id' % (what, listed))
    return r, objs[0]


def _parse_text(src, data, colon, line_no, select=None):
    """(tokens per line, int64 values, ids per line or None) of text, vectorised in blocks.
    With ``colon`` every non-blank line is ``ID: values`` and blank lines are dropped."""
    counts, values, ids = [], [], []
    pos, line_base = 0, 0
    size = len(data)
    while pos < size:
        end = min(size, pos + TEXT_BLOCK)
        if end < size:
            cut = data.rfind(b'\n', pos, end)
            if cut < 0:
                cut = data.find(b'\n', end)
            end = cut + 1 if cut >= 0 else size
        c, v, i, lines = _parse_block(src, data[pos:end], colon, line_base, line_no, select)
        line_base += lines
        counts.append(c)
        values.append(v)
        if i is not None:
            ids.append(i)
        pos = end
    counts = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    values = np.concatenate(values) if values else np.zeros(0, np.int64)
    return counts, values, (np.concatenate(ids) if colon else None)


def _byte_classes(colon):
    """Byte -> 0 separator, 1 digit or sign, 2 other character of a token, 3 newline."""
    table = np.full(256, 2, np.uint8)
    table[:33] = 0
    table[48:58] = 1
    table[[43, 45]] = 1
    for c in _SEPARATORS + (b':' if colon else b''):
        table[c] = 0
    table[10] = 3
    return table


_CLASSES = (_byte_classes(False), _byte_classes(True))


def _parse_block(src, block, colon, line_base, line_no, select=None):
    """(tokens per line, int64 values, ids or None, number of lines) of a block of whole
    lines, with numpy: tokens are found from byte classes, numbers parsed by
    np.fromstring, the two checked against each other."""
    a = np.frombuffer(block, np.uint8)
    cls = _CLASSES[bool(colon)][a]
    nl = np.flatnonzero(cls == 3)
    n_lines = nl.size + (0 if a[-1] == 10 else 1)
    line_ends = nl if n_lines == nl.size else np.append(nl, a.size)
    tok = cls == 1
    tok |= cls == 2
    integers = not np.any(cls == 2)
    del cls
    padded = np.zeros(a.size + 2, np.int8)
    padded[1:-1] = tok
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    del padded
    starts, ends = edges[0::2], edges[1::2]          # token i is block[starts[i]:ends[i]]
    counts = np.diff(np.searchsorted(starts, line_ends), prepend=0)

    def where(i):
        return 'line %d' % line_no(line_base + int(np.searchsorted(nl, starts[i])))
    if starts.size == 0:
        values = np.zeros(0, np.int64)  # (np.fromstring makes [0] of a blank string)
    else:
        text = block.translate(_SPACE_COLON_TABLE if colon else _SPACE_TABLE)
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            try:
                values = np.fromstring(text, dtype=np.int64 if integers else np.float64,
                                       sep=' ')
            except (DeprecationWarning, ValueError):
                values = None
        del text
    if values is None or values.size != starts.size:
        _bad_token(src, block, colon, line_base, line_no)
        raise src.error('line %d and after cannot be parsed as numbers'
                        % line_no(line_base))
    if select is not None:
        # Rows of a table with a header: keep the region and object columns.
        ncol, r, o = select
        bad = np.flatnonzero((counts != 0) & (counts != ncol))
        if bad.size:
            raise src.error('line %d has %d values but the header names %d columns'
                            % (line_no(line_base + int(bad[0])), counts[bad[0]], ncol))
        if ncol != 2 or (r, o) != (0, 1):
            chosen = np.arange(starts.size).reshape(-1, ncol)[:, [r, o]].reshape(-1)
            values, starts, ends = values[chosen], starts[chosen], ends[chosen]
    if integers:
        # np.fromstring saturates: check the tokens of 19 characters or more.
        for k in np.flatnonzero(ends - starts >= 19):
            token = block[starts[k]:ends[k]]
            if not -2 ** 63 <= int(token) < 2 ** 63:
                raise src.error('%s: %s is too large for a 64-bit integer'
                                % (where(k), token.decode()))
    else:
        values = _ids(values, src, 'the text', where)
        big = np.flatnonzero(np.abs(values) > _TWO53)
        if big.size:
            raise src.error('%s: %d is too large to be read exactly from a decimal number;'
                            ' write integers without a decimal point or exponent'
                            % (where(int(big[0])), values[big[0]]))
    if not colon:
        return counts, values, None, n_lines
    nonblank = counts > 0
    cpos = np.flatnonzero(a == 58)
    cline = np.searchsorted(nl, cpos)
    per_line = np.bincount(cline, minlength=n_lines)
    first = np.cumsum(counts) - counts
    wrong = np.flatnonzero(per_line != nonblank)
    before = np.searchsorted(starts, cpos) - first[cline]
    if wrong.size or np.any(before != 1):
        k = int(wrong[0]) if wrong.size else int(cline[np.argmax(before != 1)])
        raise src.error("line %d: with 'ID: regions' lines every non-blank line needs one"
                        " object id before a colon" % line_no(line_base + k))
    keep = np.ones(values.size, bool)
    keep[first[nonblank]] = False
    return counts[nonblank] - 1, values[keep], values[first[nonblank]], n_lines


def _bad_token(src, block, colon, line_base, line_no):
    """Raise the error naming the first token of the block that is not a number."""
    pattern = rb'[^\s,;"\':]+' if colon else rb'[^\s,;"\']+'
    for k, line in enumerate(block.split(b'\n')):
        for t in re.findall(pattern, line):
            try:
                int(t)
                continue
            except ValueError:
                pass
            try:
                v = float(t)
            except ValueError:
                raise src.error('line %d: %r is not a number'
                                % (line_no(line_base + k), t.decode('utf-8', 'replace')))
            if not np.isfinite(v) or v != np.floor(v):
                raise src.error('line %d: %s is not a whole number'
                                % (line_no(line_base + k), t.decode('utf-8', 'replace')))


_READERS = {'hdf5': _read_hdf5, 'mat5': _read_mat5, 'npy': _read_npy, 'npz': _read_npz,
            'text': _read_text, 'gzip': _read_gzip}
