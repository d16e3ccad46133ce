"""One tile: its 3-D dataset in an HDF5 file, how it is stored (chunked, contiguous, with
which filters) and so how it can be read, and the voxel type it is read as.  Pure: no
ChimeraX; shapes are z,y,x whatever the stored axis order.
"""

import os

import h5py
import numpy as np

from ...errors import InputError
from .. import h5chunks

DEFLATE, SHUFFLE = 1, 2         # HDF5's filter codes, the filters undone without HDF5


def find_dataset(f, name, path):
    """The 3-D dataset of an open tile: ``name`` if given, else the only one."""
    label = os.path.basename(path)
    if name is not None:
        d = f.get(name)
        if not isinstance(d, h5py.Dataset):
            raise InputError('tile %s has no dataset %s' % (label, name), path)
        if d.ndim != 3:
            raise InputError('tile %s: dataset %s is %d-D, not 3-D' % (label, name, d.ndim), path)
        return d
    found = []
    f.visititems(lambda n, obj: found.append(obj) if isinstance(obj, h5py.Dataset)
                 and obj.ndim == 3 else None)
    if not found:
        raise InputError('tile %s has no 3-D dataset' % label, path)
    if len(found) > 1:
        raise InputError('tile %s has several 3-D datasets (%s); choose one with dataset NAME'
                         % (label, ', '.join(d.name for d in found)), path)
    return found[0]


# ----------------------------------------------------------------------------
# One tile

class TileFile:
    """One tile: where its dataset is and how it is stored.

    ``shape`` is z,y,x whatever the stored axis order; ``chunk_shape`` likewise (None
    for an unchunked dataset).  ``kind`` says how it is read:

    - ``chunks``: chunked with only filters undone here (deflate, shuffle, or none): the
      stored chunk bytes are read with ``os.pread`` and inflated here;
    - ``contiguous``: unchunked and unfiltered (the authors' EM tiles): read through a
      memory map of the dataset's bytes;
    - ``hdf5``: anything else (other filters, unallocated data): through h5py.

    The first two need no HDF5 call once the chunk map is known, so worker threads can
    read them; HDF5 itself is not thread-safe (see TileSet.prepare).
    """

    def __init__(self, path, position, dataset, axis_order):
        self.path = path
        self.name = os.path.basename(path)
        self.position = position
        self.axis_order = axis_order
        self.dataset_name = dataset.name
        flip = axis_order == 'xyz'
        voxel_type(dataset.dtype, self.name, path)
        self.stored_shape = tuple(dataset.shape)
        self.shape = tuple(reversed(dataset.shape)) if flip else tuple(dataset.shape)
        self.dtype = dataset.dtype
        self.fillvalue = dataset.fillvalue
        dcpl = dataset.id.get_create_plist()
        # (code, flags, values, name) of each filter, in the order HDF5 applies them.
        self.filters = [dcpl.get_filter(i) for i in range(dcpl.get_nfilters())]
        layout = dcpl.get_layout()
        chunked = layout == h5py.h5d.CHUNKED
        self.stored_chunk_shape = dataset.chunks if chunked else None
        self.chunk_shape = (None if not chunked else
                            tuple(reversed(dataset.chunks)) if flip else tuple(dataset.chunks))
        self.userblock = dataset.file.userblock_size
        self.data_offset = None             # file offset of contiguous data
        if chunked and all(f[0] in (DEFLATE, SHUFFLE) for f in self.filters):
            self.kind = 'chunks'
        elif layout == h5py.h5d.CONTIGUOUS and not self.filters \
                and dataset.id.get_offset() is not None:
            self.kind = 'contiguous'
            self.data_offset = dataset.id.get_offset() + self.userblock
        else:
            self.kind = 'hdf5'
        self.chunk_map = None       # (file offset, size, filter mask) over the chunk grid

    def load_chunk_map(self, dataset):
        """Find where each stored chunk lies in the file (an HDF5 call)."""
        try:
            self.chunk_map = h5chunks.chunk_locations(dataset)
        except h5chunks.DamagedChunkIndex as e:
            raise InputError('tile %s has a damaged chunk index (%s)' % (self.name, e),
                             self.path)

    def filter_names(self):
        """The dataset's filters as HDF5 names them (e.g. 'lzf', 'blosc')."""
        return [(name.decode('ascii', 'replace') if isinstance(name, bytes) else str(name))
                or 'filter %d' % code for code, _, _, name in self.filters]

    def stored(self, zyx):
        """Reorder a z,y,x tuple to the dataset's stored index order."""
        return tuple(reversed(zyx)) if self.axis_order == 'xyz' else tuple(zyx)

    def to_zyx(self, array):
        return array.transpose(2, 1, 0) if self.axis_order == 'xyz' else array


def voxel_type(dtype, name, path):
    """The voxel type a tile of stored type ``dtype`` is read as: numbers only (ChimeraX
    maps are numeric); float16, which ChimeraX cannot show, is read as float32."""
    dtype = np.dtype(dtype)
    if dtype.kind == 'f' and dtype.itemsize == 2:
        return np.dtype(np.float32)
    if dtype.kind in 'iuf' and dtype.itemsize <= 8:
        return dtype.newbyteorder('=')
    what = {'c': 'complex numbers', 'b': 'true/false values', 'S': 'text', 'U': 'text',
            'O': 'Python objects or text', 'V': 'records (compound data)'}.get(dtype.kind,
                                                                           str(dtype))
    raise InputError('tile %s holds %s (%s), not map data (integers or floats)'
                     % (name, what, dtype), path)
