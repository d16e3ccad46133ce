"""What ``connectome ids`` must know of a segmentation's file before changing it: a
Chimera map's label dataset, voxel type and placement, or the store a store's attribute
file was made for; the maximum region id (stored, else computed chunk by chunk); the
attribute arrays it has and the names other nodes already use.  pipeline/attributefile.py
(``AttributeFile.survey``) is the way in.  Pure: numpy, h5py.
"""

import os
from typing import NamedTuple

import h5py
import numpy as np

from ..errors import InputError
from ..formats import sidecar, stores
from .labels import is_label_type

GROUP = sidecar.GROUP          # /attributes, in a Chimera map as in a store's file


class StoreSource(NamedTuple):
    """The store a store's attribute file was made for: its URL and format."""
    url: str
    format: str


class Survey:
    """What ``connectome ids`` needs to know about a Chimera map file, or about the
    attribute file of a store (formats/sidecar.py), before changing it: its voxel type,
    its maximum region id (the ``maximum_segment_id`` attribute, else computed from the
    full-resolution data, chunk by chunk), its attribute arrays and the names already
    used by other nodes; ``source``, the StoreSource of a store's file (None for a
    Chimera map)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise InputError('%s: no such file' % self.path, self.path)
        try:
            if not h5py.is_hdf5(self.path):
                raise InputError('%s is not an HDF5 (Chimera map) file' % self.path, self.path)
            with h5py.File(self.path, 'r') as f:
                self._survey(f)
        except InputError:
            raise
        except (OSError, RuntimeError, KeyError) as e:
            raise InputError('%s cannot be read as a Chimera map: %s' % (self.path, e),
                             self.path)

    def _survey(self, f):
        self.source = None
        if sidecar.is_sidecar(f):
            return self._survey_sidecar(f)
        images = [g for name, g in f.get('Chimera', {}).items()
                  if isinstance(g, h5py.Group) and name.startswith('image')]
        if 'Chimera' not in f or not images:
            raise InputError('%s is not a Chimera map (no /Chimera/image group)' % self.path,
                             self.path)
        image = images[0]
        data = image.get('data_zyx') or image.get('data_xyz')
        if not isinstance(data, h5py.Dataset):
            raise InputError('%s: /Chimera/%s has no data_zyx array' % (self.path, image.name),
                             self.path)
        self.data_path = data.name
        # Where voxel (i, j, k) is: origin + (i, j, k) * step (x, y, z), as ChimeraX reads it.
        self.origin = np.asarray(image.attrs.get('origin', np.zeros(3)), np.float64).ravel()
        self.step = np.asarray(image.attrs.get('step', np.ones(3)), np.float64).ravel()
        self.value_type = data.dtype
        self.shape = data.shape
        if not is_label_type(data.dtype):
            raise InputError('%s is not a segmentation: its values are %s, not region ids'
                             ' (integers wider than a byte; an 8-bit map is an EM image)'
                             % (self.path, data.dtype), self.path)
        self.stored_maximum = maximum_attribute(f)
        self.attributes = _arrays(f)    # name -> length, the arrays under /attributes
        # Names ChimeraX's find_attribute would also find: arrays and group attributes
        # anywhere else in the file.
        self.other_names = {}
        def visit(name, node):
            if name == GROUP or name.startswith(GROUP + '/'):
                return
            if isinstance(node, h5py.Dataset):
                self.other_names.setdefault(name.rsplit('/', 1)[-1], '/' + name)
            elif isinstance(node, h5py.Group):
                for a in node.attrs:
                    self.other_names.setdefault(a, '/%s attribute %s' % (name, a))
        f.visititems(visit)
        for a in f.attrs:
            self.other_names.setdefault(a, '/ attribute %s' % a)

    def _survey_sidecar(self, f):
        """A store's attribute file: the voxels are in the store it names."""
        about = sidecar.description(f)
        self.source = StoreSource(about['store'], about['format'])
        self.data_path = None
        self.value_type = np.dtype(about['value_type'])
        self.shape = tuple(int(v) for v in reversed(about['size']))
        if not is_label_type(self.value_type):
            raise InputError('%s is not a segmentation: its values are %s, not region ids'
                             % (self.source.url, self.value_type), self.path)
        self.stored_maximum = maximum_attribute(f)
        self.attributes = _arrays(f)
        # The store's attribute lookup reads /attributes and maximum_segment_id only.
        self.other_names = {}

    def maximum_id(self, report=None):
        """The maximum region id: the stored attribute, else computed from the data."""
        if self.stored_maximum is not None:
            return self.stored_maximum
        if self.source is not None:
            store = stores.open_store(self.source.url, self.source.format)
            if store.id_map is not None:
                # Its values are given as chunks are read: their maximum names nothing.
                raise InputError('%s holds region ids above 2^32, read through an id map:'
                                 ' it has no maximum region id' % self.source.url, self.path)
            return store.maximum(report)
        with h5py.File(self.path, 'r') as f:
            return compute_maximum(f[self.data_path], report)

    def check_names(self, names, replace):
        """InputError for a name that cannot be written: already under /attributes
        without replace, or naming another node (ChimeraX's lookup by name would find
        two)."""
        for name in names:
            if not name or '/' in name or name.startswith('.'):
                raise InputError('%r cannot be an attribute name' % name)
            if name in self.other_names:
                raise InputError('%s: %r already names %s; ChimeraX looks attributes up by'
                                 ' name anywhere in the file, so choose another name'
                                 % (self.path, name, self.other_names[name]), self.path)
            if name in self.attributes and not replace:
                raise InputError('%s already has attribute %s (use replace true to overwrite'
                                 ' it)' % (self.path, name), self.path)


def _arrays(f):
    """{name: length} of the 1-D arrays under /attributes."""
    group = f.get(GROUP)
    if not isinstance(group, h5py.Group):
        return {}
    return {name: node.shape[0] for name, node in group.items()
            if isinstance(node, h5py.Dataset) and node.ndim == 1}


def maximum_attribute(f):
    for node in [f] + [g for g in _groups(f)]:
        if 'maximum_segment_id' in node.attrs:
            return int(np.asarray(node.attrs['maximum_segment_id']).ravel()[0])
    return None


def _groups(f):
    found = []
    f.visititems(lambda name, node: found.append(node) if isinstance(node, h5py.Group) else None)
    return found


def compute_maximum(dataset, report=None, slab_bytes=256 << 20):
    """Largest value of a 3-D dataset, read in slabs of whole chunks along z."""
    import hdf5plugin  # noqa: F401  (the blosc filter of compressed maps)
    nz = dataset.shape[0]
    plane = int(np.prod(dataset.shape[1:])) * dataset.dtype.itemsize
    step = max(1, slab_bytes // max(plane, 1))
    if dataset.chunks:
        step = max(dataset.chunks[0], step - step % dataset.chunks[0])
    maximum = 0
    for z in range(0, nz, step):
        maximum = max(maximum, int(dataset[z:z + step].max()))
        if report:
            report(min(z + step, nz), nz)
    return maximum
