"""NumPy files: an .npy array (a lookup, one object's region ids, pairs, an object array of
vectors, a structured table) and the arrays of an .npz, read like the datasets of an
HDF5 root group.  Object arrays are unpickled allowing numpy arrays only.  Pure: numpy.
"""

import ast
import pickle
import re
import tokenize
import zipfile

import numpy as np

from .common import choose, is_lookup_name, norm_name, shorten
from .layouts import Array, Group, array_candidate, classify, lookup_candidate, vector_candidate


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


def npy_header(fp):
    """(shape, fortran_order, dtype) of an .npy stream positioned at its start; a damaged
    header is a ValueError (numpy's parser raises several kinds)."""
    try:
        return _npy_header(fp)
    except (SyntaxError, tokenize.TokenError, TypeError, KeyError, AttributeError) as e:
        raise ValueError('damaged .npy header (%s)' % e)


def _npy_header(fp):
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fp)
    if version != (3, 0):
        raise ValueError('.npy format version %d.%d is not known' % version)
    # Version 3.0 is 2.0 with a UTF-8 header, and numpy has no public reader for it.
    length = int.from_bytes(fp.read(4), 'little')
    header = ast.literal_eval(fp.read(length).decode('utf-8'))
    if not isinstance(header, dict) or not {'descr', 'fortran_order', 'shape'} <= set(header):
        raise ValueError('the .npy header is not a dictionary of descr, fortran_order, shape')
    return (tuple(header['shape']), bool(header['fortran_order']),
            np.lib.format.descr_to_dtype(header['descr']))


def load_npy(fp):
    """Read an .npy stream; object arrays are unpickled allowing numpy arrays only."""
    start = fp.tell() if fp.seekable() else None
    shape, fortran, dtype = npy_header(fp)
    if dtype.hasobject:
        a = _ArrayUnpickler(fp).load()
        if not isinstance(a, np.ndarray):
            raise ValueError('the pickled object is not an array')
        return a
    if start is not None:
        fp.seek(start)
    return np.lib.format.read_array(fp, allow_pickle=False)


def read_npy(src):
    with open(src.path, 'rb') as fp:
        a = load_npy(fp)
    arr = Array(src.name, a.shape, a.dtype, lambda: a)
    if arr.kind == 'vector':
        # An .npy holds one array without a name: the file's name, or a word of it
        # (spineheads-lookup.npy), is the array's.
        stem = src.name[:-4] if src.name.lower().endswith('.npy') else src.name
        if any(is_lookup_name(norm_name(w)) for w in [stem] + re.split(r'[-_. ]', stem)):
            return lookup_candidate(src, arr, 'NumPy').read()
        return vector_candidate(src, arr, 'NumPy').read()
    c = array_candidate(src, arr, 'NumPy')
    if c is None:
        raise src.error('holds %s: not a layout of region ids' % arr.describe())
    return c.read()


def read_npz(src):
    with zipfile.ZipFile(src.path) as z:
        members = [n for n in z.namelist() if n.endswith('.npy')]
        cache = {}

        def array(member):
            key = member[:-4]
            with z.open(member) as fp:
                shape, _fortran, dtype = npy_header(fp)

            def load():
                if key not in cache:
                    with z.open(member) as fp:
                        cache[key] = load_npy(fp)
                return cache[key]
            return Array(key, shape, dtype, load)

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
            return Group(src, path, names, get, is_root)

        root = group('/', tree, True)
        candidates = []
        classify(src, root, candidates, 'NumPy .npz')

        def resolve(v):
            key = v.strip().strip('/')
            if key + '.npy' in members:
                a = array(key + '.npy')
                if a.kind == 'vector':
                    return (lookup_candidate(src, a, 'NumPy .npz')
                            if is_lookup_name(norm_name(key)) else
                            vector_candidate(src, a, 'NumPy .npz'))
                c = array_candidate(src, a, 'NumPy .npz')
                if c is None:
                    raise src.error('%s is %s: not a layout of region ids'
                                    % (key, a.describe()))
                return c
            return None

        def inventory():
            return shorten(array(m).describe() for m in members)
        return choose(src, candidates, resolve, inventory).read()
