"""A minimal writer of MATLAB v7.3 MAT-files, the format MATLAB-based labs publish
object lists in (for example ``axons{k}`` or ``dendrites(k).segIds``).

A v7.3 MAT-file is an HDF5 file behind a 512-byte userblock holding MATLAB's text header.
Each variable is an HDF5 object whose ``MATLAB_class`` attribute names its MATLAB type.
MATLAB stores arrays column-major, so an m x n MATLAB array is an HDF5 dataset of shape
(n, m): every shape is written reversed and every array transposed.  Cells and struct
arrays hold HDF5 object references to their elements, which live in the group
``/#refs#``; an empty array is a uint64 dataset of its MATLAB dimensions with
``MATLAB_empty = 1``.  Only the writer is here (what the synthetic dataset needs: numeric
arrays, cell arrays, struct arrays); objectfiles/matlab.py reads MAT-files.  Pure: h5py, numpy.
"""

import time

import h5py
import numpy as np

USERBLOCK_SIZE = 512

# numpy dtype -> MATLAB class
_MATLAB_CLASSES = {
    np.dtype(np.float64): 'double', np.dtype(np.float32): 'single',
    np.dtype(np.int8): 'int8', np.dtype(np.int16): 'int16', np.dtype(np.int32): 'int32',
    np.dtype(np.int64): 'int64', np.dtype(np.uint8): 'uint8', np.dtype(np.uint16): 'uint16',
    np.dtype(np.uint32): 'uint32', np.dtype(np.uint64): 'uint64',
}


class Cell:
    """A MATLAB cell array of the given values; 1 x N unless ``shape`` says otherwise."""

    def __init__(self, values, shape=None):
        self.values = list(values)
        self.shape = tuple(shape) if shape is not None else (1, len(self.values))
        if int(np.prod(self.shape)) != len(self.values):
            raise ValueError('cell shape %s does not hold %d values'
                             % (self.shape, len(self.values)))


class StructArray:
    """A 1 x N MATLAB struct array: ``records`` are dicts with the same field names."""

    def __init__(self, records):
        self.records = [dict(r) for r in records]
        if not self.records:
            raise ValueError('a struct array needs at least one record')
        self.fields = list(self.records[0])
        for r in self.records:
            if list(r) != self.fields:
                raise ValueError('struct records have different fields: %s and %s'
                                 % (self.fields, list(r)))


def write_mat(path, variables, created=None):
    """Write ``variables`` ({name: value}) to a v7.3 MAT-file at ``path``.

    Values: numbers and numeric numpy arrays (1-D arrays become column vectors, as
    MATLAB's ``x(:)``), booleans as logical, ``Cell`` and ``StructArray``; cells and
    structs nest.  ``created`` (seconds since the epoch) sets the header's date.
    """
    with h5py.File(path, 'w', userblock_size=USERBLOCK_SIZE) as f:
        writer = _Writer(f)
        for name, value in variables.items():
            writer.write(f, name, value)
    with open(path, 'r+b') as f:
        f.write(_header(created))


def _header(created=None):
    stamp = time.strftime('%a %b %d %H:%M:%S %Y',
                          time.localtime(time.time() if created is None else created))
    text = ('MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: %s HDF5 schema 1.00 .'
            % stamp).encode('ascii')
    # 116 bytes of text, 8 of subsystem offset, version 0x0200 and the endian mark 'IM'
    # (little-endian), as MATLAB writes; the rest of the userblock stays zero.
    header = text.ljust(116, b' ')[:116] + b'\0' * 8 + b'\x00\x02' + b'IM'
    return header.ljust(USERBLOCK_SIZE, b'\0')


class _Writer:

    def __init__(self, f):
        self.file = f
        self.refs = None
        self.count = 0

    def write(self, group, name, value):
        """Write one value as ``group[name]``; returns the HDF5 object."""
        if isinstance(value, Cell):
            return self._write_cell(group, name, value)
        if isinstance(value, StructArray):
            return self._write_struct(group, name, value)
        return self._write_array(group, name, value)

    def _write_array(self, group, name, value):
        a = np.asarray(value)
        if a.dtype == np.bool_:
            mclass, a = 'logical', a.astype(np.uint8)
        elif a.dtype in _MATLAB_CLASSES:
            mclass = _MATLAB_CLASSES[a.dtype]
        else:
            raise TypeError('cannot write %s (numpy %s) to a MAT-file' % (name, a.dtype))
        if a.ndim == 0:
            a = a.reshape(1, 1)
        elif a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.size == 0:
            # MATLAB's dimensions in MATLAB's order (0 x 1 is [0, 1]), not reversed like
            # the data's shape: reversed, MATLAB reads the transposed size (hdf5storage 0.1
            # wrote them so, its issue 114, fixed in 0.2).
            d = group.create_dataset(name, data=np.array(a.shape, dtype=np.uint64))
            d.attrs['MATLAB_empty'] = np.uint8(1)
        else:
            d = group.create_dataset(name, data=np.ascontiguousarray(a.T))
        _set_class(d, mclass)
        if mclass == 'logical':
            d.attrs['MATLAB_int_decode'] = np.int32(1)
        return d

    def _write_cell(self, group, name, cell):
        refs = [self._reference(v) for v in cell.values]
        # values are listed column-major, as MATLAB's linear index runs
        table = np.empty(cell.shape[::-1], dtype=h5py.ref_dtype)
        table.reshape(-1)[:] = refs
        d = group.create_dataset(name, data=table)
        _set_class(d, 'cell')
        return d

    def _write_struct(self, group, name, struct):
        g = group.create_group(name)
        _set_class(g, 'struct')
        g.attrs.create('MATLAB_fields', _field_names(struct.fields),
                       dtype=h5py.vlen_dtype(np.dtype('S1')))
        if len(struct.records) == 1:
            # A 1 x 1 struct holds its field values directly, as MATLAB writes it.
            for field in struct.fields:
                self.write(g, field, struct.records[0][field])
            return g
        for field in struct.fields:
            refs = [self._reference(r[field]) for r in struct.records]
            table = np.empty((len(refs), 1), dtype=h5py.ref_dtype)
            table[:, 0] = refs
            g.create_dataset(field, data=table)
        return g

    def _reference(self, value):
        if self.refs is None:
            self.refs = self.file.create_group('#refs#')
            # MATLAB's canonical empty array, which it keeps as #refs#/a.
            a = self.refs.create_dataset('a', data=np.zeros(2, dtype=np.uint64))
            _set_class(a, 'canonical empty')
            a.attrs['MATLAB_empty'] = np.uint8(1)
        self.count += 1
        return self.write(self.refs, _ref_name(self.count), value).ref


def _set_class(obj, mclass):
    obj.attrs['MATLAB_class'] = np.bytes_(mclass)


def _field_names(fields):
    names = np.empty(len(fields), dtype=object)
    for i, field in enumerate(fields):
        names[i] = np.array(list(field), dtype='S1')
    return names


def _ref_name(n):
    """b, c, ..., z, ba, bb, ...: MATLAB's names in #refs# ('a' is the canonical empty)."""
    letters = 'abcdefghijklmnopqrstuvwxyz'
    digits = []
    while True:
        n, r = divmod(n, 26)
        digits.append(letters[r])
        if n == 0:
            break
    return ''.join(reversed(digits))
