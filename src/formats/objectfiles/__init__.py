"""Object files: which regions (supervoxel ids) make up each object (axon, dendrite, spine
head, neuron, synapse ...), read into flat (region, object) memberships that
``connectome ids`` turns into per-region attribute arrays (pipeline/attributes.py).

``read_object_file(path, variable=None)`` detects the format from the content (never the
suffix): HDF5 (hdf5.py; MATLAB v7.3 when its userblock or MATLAB_class attributes say so,
matlab.py), MATLAB v5 (matlab.py), NumPy .npy/.npz (npy.py), plain or gzip text
(text.py).  The layouts each family holds are in those modules and in the help page
(docs/user/commands/connectome.html#ids); layouts.py finds them in HDF5 and .npz
containers.  Every problem raises InputError(message, path) whose message starts with
the file name.  Pure: numpy, h5py, scipy.
"""

import os
import pickle
import zipfile

import h5py
import numpy as np

from ...errors import InputError
from .common import GZIP_MAGIC, HDF5_SIGNATURE, HEAD_BYTES, NPY_MAGIC, FORMAT_NAMES, ObjectTable
from . import hdf5, matlab, npy, text

__all__ = ['ObjectTable', 'read_object_file']


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
    return ObjectTable(regions, objects, int(count), '%s: %s' % (src.name, what),
                       src.lookup_regions)


class _Source:
    """The file being read: its path, the name used in messages and ``variable``."""

    def __init__(self, path, variable):
        self.path = path
        self.name = os.path.basename(path) or path
        self.variable = variable
        self.userblock = b''
        self.lookup_regions = None

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


def _read_hdf5_or_mat73(src):
    with h5py.File(src.path, 'r') as f:
        if hdf5.is_matlab(src, f):
            return matlab.read_mat73(src, f)
        return hdf5.read_hdf5(src, f)


_READERS = {'hdf5': _read_hdf5_or_mat73, 'mat5': matlab.read_mat5, 'npy': npy.read_npy,
            'npz': npy.read_npz, 'text': text.read_text, 'gzip': text.read_gzip}
