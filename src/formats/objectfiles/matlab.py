"""MATLAB MAT-files, v7.3 (HDF5) and v5 (scipy): cell arrays of region-id vectors, struct
arrays with a field of region ids (and optionally an id field), numeric lookups and N x 2
pairs.  _MatH5 and _MatV5 give one view of both versions, so the layouts are found once.
Pure: numpy, h5py, scipy.
"""

import re
from math import prod

import h5py
import numpy as np
from h5py import h5r

from .common import (ID_NAMES, NOT_REGIONS_RE, NUMERIC_CLASSES, REGION_NAMES, Candidate,
                     choose, concatenate, from_lengths, is_lookup_name, lookup_table,
                     norm_name, pair_table, shorten, to_ids)
from .hdf5 import matlab_class, read_h5_vectors
from .layouts import Array, fractional, one_object


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
        self.mclass = matlab_class(obj)
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
        elif self.mclass in NUMERIC_CLASSES or (self.mclass is None
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
        return read_h5_vectors(src, open_one, refs.size, label, matlab=True)


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
        values = to_ids(a.reshape(-1, order='F'), v.src, self.name)
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
        return concatenate(src, parts, lengths, label), lengths


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
        regions, objects, count = from_lengths(values, lengths)
        return regions, objects, count, '%s cell array %r (%s)' % (fmt, var.name, dims)
    return Candidate(var.name, '%s cell array' % dims, read)


def _struct_candidates(src, s, out, fmt, field=None):
    """Candidates of a struct (array): the field of region ids, chosen by name or as the
    only plain numeric field (``field`` forces one); a 1 x 1 struct's cell and struct
    fields are searched too."""
    if prod(s.shape) == 0:
        out.append(Candidate(s.name, 'empty struct array', lambda: (
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
    ids = [f for f in numeric if norm_name(f) in ID_NAMES]
    id_field = sorted(ids, key=lambda f: norm_name(f) != 'id')[0] if ids else None
    if field is not None:
        chosen = [field]
        if id_field == field:
            id_field = None
    else:
        chosen = [f for f in numeric if norm_name(f) in REGION_NAMES]
        if not chosen and not nested:
            chosen = [f for f in numeric if f != id_field and not NOT_REGIONS_RE.search(norm_name(f))]
    for f in chosen:
        single = len(chosen) == 1
        name = s.name if single and field is None else '%s.%s' % (s.name, f)
        aliases = ('%s.%s' % (s.name, f),) if single and field is None else ()
        summary = 'struct %s field %s%s' % (' x '.join(map(str, s.shape)), f,
                                            ', ids from field %s' % id_field if id_field else '')
        out.append(Candidate(name, summary, _struct_reader(src, s, f, id_field, fmt), aliases))


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
        regions, objects, count = from_lengths(values, lengths, ids)
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
        if not forced and fractional(Array(var.name, a.shape, a.dtype, lambda: a)):
            return None
        if is_lookup_name(norm_name(var.name.rsplit('.', 1)[-1])):
            def read():
                r, o, count = lookup_table(src, a, var.name, one_based=True)
                return r, o, count, ('%s per-region lookup %r (%s: element k is region k)'
                                     % (fmt, var.name, dims))
            return Candidate(var.name, '%s lookup' % dims, read)

        def read_one():
            regions = one_object(src, a, var.name)
            return (regions, np.ones(regions.size, np.int64), 1,
                    '%s vector %r: the %d region ids of one object' % (fmt, var.name, a.size))
        return Candidate(var.name, '%s vector' % dims, read_one)
    if n == 2 or m == 2:
        def read_pairs():
            a = np.asarray(var.array())
            r, o = (a[:, 0], a[:, 1]) if n == 2 else (a[0], a[1])
            regions, objects, count = pair_table(src, r, o, var.name)
            return regions, objects, count, ('%s region/object pairs %r (%s), %d objects'
                                             % (fmt, var.name, dims, count))
        return Candidate(var.name, '%s pairs' % dims, read_pairs)
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
        return shorten(v.describe() for v in variables.values())
    return choose(src, candidates, resolve, inventory).read()


def read_mat73(src, f):
    variables = {}
    for name in f.keys():
        if name.startswith('#'):
            continue
        try:
            variables[name] = _MatH5(src, f[name], name)
        except (KeyError, OSError, RuntimeError):
            continue
    return _mat_choose(src, variables, 'MATLAB v7.3')


# scipy's MATLAB v5 reader (C code) can crash the process on a damaged file, so it runs
# in a child process; what it read comes back pickled (trusted: our own child).
_LOADMAT_CHILD = """
import pickle, sys, warnings
from scipy.io import loadmat, whosmat
with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    try:
        data = loadmat(sys.argv[1], squeeze_me=False, struct_as_record=True,
                       chars_as_strings=True)
    except Exception as e:
        sys.stderr.write('%s' % (e or type(e).__name__))
        sys.exit(3)
    try:
        logical = [n for n, _, c in whosmat(sys.argv[1]) if c == 'logical']
    except Exception:
        logical = []
pickle.dump((data, logical), sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
"""


def _loadmat(src):
    """(variables, names of logical variables) of a MATLAB v5 file, read in a child."""
    import pickle
    import subprocess
    import sys
    try:
        p = subprocess.run([sys.executable, '-c', _LOADMAT_CHILD, src.path],
                           capture_output=True, timeout=3600)
    except (OSError, subprocess.SubprocessError) as e:
        raise src.error('cannot be read as a MATLAB v5 MAT-file: %s' % e)
    if p.returncode == 3:
        raise src.error('cannot be read as a MATLAB v5 MAT-file (damaged or truncated?): %s'
                        % p.stderr.decode('utf-8', 'replace').strip())
    if p.returncode != 0:
        why = ('the reader crashed (signal %d)' % -p.returncode if p.returncode < 0
               else p.stderr.decode('utf-8', 'replace').strip()[-500:])
        raise src.error('cannot be read as a MATLAB v5 MAT-file (damaged?): %s' % why)
    return pickle.loads(p.stdout)


def read_mat5(src):
    data, logical = _loadmat(src)
    variables = {k: _MatV5(src, v, k) for k, v in data.items() if not k.startswith('__')}
    # loadmat returns logical arrays as uint8; whosmat tells them apart.
    for name in logical:
        if name in variables:
            variables[name].kind = 'logical'
    return _mat_choose(src, variables, 'MATLAB v5')
