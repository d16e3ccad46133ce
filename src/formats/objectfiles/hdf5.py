"""Plain HDF5 object files: every group is searched for the layouts of layouts.py, and a
group of one dataset per object is read with h5py's low-level API (the per-object loop
that MATLAB v7.3 cell arrays share, see matlab.py).  Pure: numpy, h5py.
"""

import h5py
import numpy as np
from h5py import h5, h5d, h5p, h5s, h5t

from ...errors import InputError
from .. import h5vectors
from .common import (choose, is_lookup_name, locator, norm_name, shorten, to_ids)
from .layouts import Array, Group, array_candidate, classify, lookup_candidate, vector_candidate


def read_h5_vectors(src, open_one, n, label, matlab):
    """Read n HDF5 datasets (open_one(k) -> DatasetID) as numeric vectors with h5py's
    low-level API; returns (int64 values, lengths).  MATLAB: empty arrays (1-D uint64
    dimensions with MATLAB_empty) are empty, char and logical elements are refused.  A
    dataset the library cannot open or read (a damaged header) is an InputError naming
    it."""
    lengths = np.zeros(n, np.int64)
    parts = []
    dtypes = set()
    for k in range(n):
        try:
            a = _read_h5_vector(src, open_one(k), label(k), matlab)
        except h5vectors.UNREADABLE as e:
            raise src.error('%s cannot be read (damaged or truncated?): %s'
                            % (label(k), h5vectors.hdf5_reason(e)))
        if a is None:
            continue
        lengths[k] = a.size
        dtypes.add(a.dtype)
        parts.append(a)
    if len(dtypes) <= 1:
        values = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return to_ids(values, src, '', locator(lengths, label)), lengths
    # Mixed integer and float datasets: convert each one on its own.
    nonempty = np.flatnonzero(lengths)
    out = [to_ids(p, src, label(int(k))) for p, k in zip(parts, nonempty)]
    return np.concatenate(out), lengths


def _read_h5_vector(src, d, label, matlab):
    """One dataset of read_h5_vectors (``d``, named ``label``) as a numeric vector, or
    None when it is empty."""
    if not isinstance(d, h5d.DatasetID):
        raise src.error('%s is a %s, not a vector of region ids'
                        % (label, 'struct' if matlab else 'group'))
    s = d.get_space()
    m = s.get_simple_extent_npoints()
    if m == 0:
        return None
    t = d.get_type()
    c = t.get_class()
    dims = s.get_simple_extent_dims()
    if len(dims) == 1 and matlab and matlab_empty(d):
        return None
    if len(dims) > 1 and m != max(dims):
        raise src.error('%s is a %s array, not a vector'
                        % (label, ' x '.join(str(x) for x in
                                             (dims[::-1] if matlab else dims))))
    if c == h5t.INTEGER:
        size = t.get_size()
        if matlab and size <= 2:
            mclass = matlab_class(d)
            if mclass in ('char', 'logical'):
                raise src.error('%s is %s, not a vector of region ids' % (label, mclass))
        if size == 8 and t.get_sign() == h5t.SGN_NONE:
            a = np.empty(m, np.uint64)
            d.read(h5s.ALL, h5s.ALL, a, mtype=h5t.NATIVE_UINT64)
        else:
            a = np.empty(m, np.int64)
            d.read(h5s.ALL, h5s.ALL, a, mtype=h5t.NATIVE_INT64)
    elif c == h5t.FLOAT:
        a = np.empty(m, np.float64)
        d.read(h5s.ALL, h5s.ALL, a, mtype=h5t.NATIVE_DOUBLE)
    elif c == h5t.REFERENCE:
        raise src.error('%s is a cell of references, not a vector of region ids' % label)
    else:
        raise src.error('%s holds %s, not numbers' % (label, h5_class_name(c)))
    return a


def h5_class_name(c):
    names = {h5t.STRING: 'text', h5t.COMPOUND: 'compound records', h5t.ENUM: 'enumerated'
             ' values (booleans?)', h5t.VLEN: 'variable-length data', h5t.OPAQUE: 'opaque'
             ' data', h5t.BITFIELD: 'bit fields', h5t.ARRAY: 'array elements'}
    return names.get(c, 'non-numeric data')


def matlab_empty(d):
    try:
        return bool(np.asarray(h5py.Dataset(d).attrs.get('MATLAB_empty', 0)).reshape(-1)[0])
    except (KeyError, OSError, RuntimeError, IndexError):
        return False


def matlab_class(obj):
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

def read_hdf5(src, f):
    """Read the plain HDF5 file ``f`` (open h5py.File of ``src``)."""
    root = h5_group(src, f, True)
    candidates = []
    classify(src, root, candidates, 'HDF5')

    def resolve(v):
        path = '/' + v.strip().strip('/')
        if path not in f and path.replace('.', '/') in f:
            path = path.replace('.', '/')
        if path not in f:
            return None
        obj = f[path]
        if isinstance(obj, h5py.Group):
            g = h5_group(src, obj, False)
            found = []
            classify(src, g, found, 'HDF5')
            if len(found) == 1:
                return found[0]
            if not found:
                raise src.error('%s holds no region ids (it holds: %s)'
                                % (path, h5_inventory(obj)))
            raise src.error('several candidates in %s: %s; choose one with variable'
                            % (path, ', '.join(c.listing() for c in found)))
        a = h5_array(obj)
        if a.kind == 'vector':
            if is_lookup_name(norm_name(path.rsplit('/', 1)[-1])):
                return lookup_candidate(src, a, 'HDF5')
            return vector_candidate(src, a, 'HDF5')
        c = array_candidate(src, a, 'HDF5')
        if c is None:
            raise src.error('%s is %s: not a layout of region ids'
                            % (path, a.describe()))
        return c
    chosen = choose(src, candidates, resolve, lambda: h5_inventory(f))
    return chosen.read()


def is_matlab(src, f):
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


def h5_group(src, g, is_root):
    names = [n for n in g.keys() if not (is_root and n in ('#refs#', '#subsystem#'))]

    def get(name):
        try:
            obj = g.get(name)
            if isinstance(obj, h5py.Group):
                return h5_group(src, obj, False)
            if isinstance(obj, h5py.Dataset):
                return h5_array(obj)
        except (KeyError, OSError, RuntimeError, ValueError, TypeError):
            pass                # dangling links, types numpy has no equivalent of
        return None

    def read_vectors(ordered, label):
        # formats/h5vectors.py reads the datasets' headers and data in large blocks.
        names, addresses = h5vectors.group_links(g)
        where = dict(zip(names, addresses.tolist()))
        try:
            vectors = h5vectors.read_vectors(
                src.path, g.file, g, ordered,
                np.array([where.get(n, -1) for n in ordered], np.int64), describe=label)
        except InputError as e:
            raise src.error(str(e))
        return to_ids(vectors.values, src, '', locator(vectors.lengths, label)), \
            vectors.lengths

    def creation_order():
        try:
            tracked = g.id.get_create_plist().get_link_creation_order()
        except (AttributeError, RuntimeError, ValueError):
            tracked = 0
        if not tracked & h5p.CRT_ORDER_TRACKED:
            return None
        created = []
        g.id.links.iterate(lambda n: created.append(n.decode('utf-8')),
                           idx_type=h5.INDEX_CRT_ORDER)
        return created
    return Group(src, g.name, names, get, is_root, read_vectors, creation_order)


def h5_array(ds):
    dtype = ds.dtype
    shape = ds.shape
    kind = None
    if shape is None:                   # an empty (null dataspace) dataset
        return Array(ds.name, (0,), dtype, lambda: np.zeros(0, np.int64), 'vector')
    if dtype.kind == 'O':
        base = h5py.check_vlen_dtype(dtype)
        kind = 'objects' if isinstance(base, np.dtype) and base.kind in 'iuf' \
            and len(shape) == 1 else 'other'
    elif dtype.kind == 'V' and not dtype.names:
        kind = 'other'
    return Array(ds.name, shape, dtype, lambda: ds[()], kind)


def h5_inventory(g):
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
            items.append(h5_array(obj).describe())
    return shorten(items)
