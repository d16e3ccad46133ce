"""Segmentation attribute arrays: from object lists to the 1-D int32 arrays ChimeraX's
``segmentation colors ... byAttribute NAME`` and ``segmentation surfaces ... where NAME=...``
read (index = region id, value = object id, 0 = region in no object of that class), and
writing them under ``/attributes`` of a Chimera map file without risking the file.

Pure (numpy, h5py).  Everything is vectorised: at the real scale (15 million regions, a
million objects, 15 million memberships) one class is built in about a second.
"""

import os

import h5py
import numpy as np

from ..errors import InputError
from ..formats import hdf5edit, locks, sidecar, stores
from .classes import object_count
from .labels import is_label_type

GROUP = 'attributes'
CONFLICTS = ('error', 'first', 'last')
SHOW_CONFLICTS = 5          # conflicting regions listed in an error


class AttributeStats:
    """What build_attribute made, for the log line."""

    def __init__(self, name, objects, assigned, unassigned, conflicts, maximum_id):
        self.name = name
        self.objects = objects          # objects listed
        self.assigned = assigned        # regions given an object id
        self.unassigned = unassigned    # regions 1..maximum_id in no object
        self.conflicts = conflicts      # regions listed in two or more objects
        self.maximum_id = maximum_id

    def message(self):
        text = ('%s: %d objects, %d regions assigned, %d regions in no object'
                % (self.name, self.objects, self.assigned, self.unassigned))
        if self.conflicts:
            text += ', %d regions in two objects' % self.conflicts
        return text


def build_attribute(name, regions, objects, count, maximum_id, conflicts='error', path=None):
    """The int32 array (length maximum_id + 1) for one class from flat (region, object)
    memberships.  ``conflicts``: a region in two objects is an error (listing the first
    few), or the first / last object listed (file order) wins.  A region listed twice in
    one object is not a conflict.  Region 0 (unsegmented), negative ids and ids above
    maximum_id are errors naming ``path``."""
    if conflicts not in CONFLICTS:
        raise InputError('conflicts must be one of %s, not %r' % (', '.join(CONFLICTS),
                                                                  conflicts))
    where = os.path.basename(path) if path else name
    regions = np.asarray(regions)
    objects = np.asarray(objects)
    if regions.shape != objects.shape or regions.ndim != 1:
        raise ValueError('regions and objects must be 1-D arrays of one length')
    if not (np.issubdtype(regions.dtype, np.integer) or regions.size == 0):
        raise InputError('%s: region ids are not integers (%s)' % (where, regions.dtype), path)
    regions = regions.astype(np.int64, copy=False)
    objects = objects.astype(np.int64, copy=False)
    if regions.size:
        low, high = int(regions.min()), int(regions.max())
        if low < 0:
            bad = np.unique(regions[regions < 0])[:SHOW_CONFLICTS]
            raise InputError('%s: negative region ids (%s)' % (where, _listing(bad)), path)
        if high > maximum_id:
            bad = np.unique(regions[regions > maximum_id])
            raise InputError('%s: %d region ids are larger than the segmentation\'s maximum'
                             ' region id %d (%s)' % (where, bad.size, maximum_id,
                                                     _listing(bad[:SHOW_CONFLICTS])), path)
        if low == 0:
            raise InputError('%s: region id 0 (unsegmented) is listed in object %d'
                             % (where, int(objects[np.argmax(regions == 0)])), path)
        olow, ohigh = int(objects.min()), int(objects.max())
        if olow < 1 or ohigh > np.iinfo(np.int32).max:
            bad = objects[(objects < 1) | (objects > np.iinfo(np.int32).max)][0]
            raise InputError('%s: object id %d cannot be stored (object ids are 1 to %d)'
                             % (where, int(bad), np.iinfo(np.int32).max), path)
    values = np.zeros(maximum_id + 1, np.int32)
    if regions.size:
        # Fast path, no sorting: assign, then check every entry reads back its own object.
        # A region listed in two objects cannot read back both, so any mismatch means a
        # conflict, which the sorting path below reports exactly.
        values[regions] = objects
        if np.array_equal(values[regions], objects):
            assigned = int(np.count_nonzero(values))
            return values, AttributeStats(name, int(count), assigned, maximum_id - assigned,
                                          0, maximum_id)
        values[:] = 0
    # Stable sort by region keeps file order among the entries of one region.
    order = np.argsort(regions, kind='stable')
    r = regions[order]
    o = objects[order]
    if r.size:
        starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        ends = np.r_[starts[1:], r.size]
        # A conflict: a region whose entries name more than one object.
        differs = np.r_[False, (r[1:] == r[:-1]) & (o[1:] != o[:-1])]
        conflict_starts = np.unique(np.searchsorted(starts, np.flatnonzero(differs),
                                                    side='right') - 1)
        n_conflicts = int(conflict_starts.size)
        if n_conflicts and conflicts == 'error':
            shown = []
            for s in conflict_starts[:SHOW_CONFLICTS]:
                members = np.unique(o[starts[s]:ends[s]])
                shown.append('region %d in objects %s' % (r[starts[s]], _listing(members)))
            raise InputError('%s: %d regions are listed in two or more %s objects (%s%s);'
                             ' use conflicts first or last to choose'
                             % (where, n_conflicts, name, '; '.join(shown),
                                '; ...' if n_conflicts > SHOW_CONFLICTS else ''), path)
        pick = starts if conflicts != 'last' else ends - 1
        values[r[pick]] = o[pick]
        assigned = int(starts.size)
    else:
        n_conflicts = assigned = 0
    return values, AttributeStats(name, int(count), assigned, maximum_id - assigned,
                                  n_conflicts, maximum_id)


DEFAULT_MEMORY_LIMIT = 4.0      # GB of attribute arrays one `connectome ids` may build


def check_array_size(maximum_id, count, memory_limit=DEFAULT_MEMORY_LIMIT, path=None):
    """InputError, before anything is allocated, when ``count`` int32 arrays indexed by
    region id (what ChimeraX's segmentation attributes are) would exceed
    ``memory_limit`` GB."""
    nbytes = (int(maximum_id) + 1) * 4
    if nbytes * count <= memory_limit * 1e9:
        return
    where = os.path.basename(path) if path else 'the segmentation'
    raise InputError(
        '%s: its largest region id is %d, so each attribute array (one int32 per region id,'
        ' as ChimeraX indexes them) would take %s, %s for %d, beyond memoryLimit %g GB.'
        ' Renumber the region ids to 1..N (fastremap.renumber does this) or raise'
        ' memoryLimit.' % (where, maximum_id, _gb(nbytes), _gb(nbytes * count), count,
                           memory_limit), path)


def _gb(n):
    return '%.1f GB' % (n / 1e9) if n >= 1e8 else '%.0f MB' % (n / 1e6)


def _listing(values):
    return ', '.join(str(int(v)) for v in values)


# ---------------------------------------------------------------------------------------
# The segmentation file

class SegmentationFile:
    """What ``connectome ids`` needs to know about a Chimera map file, or about the
    attribute file of a store (formats/sidecar.py), before changing it: its voxel type,
    its maximum region id (the ``maximum_segment_id`` attribute, else computed from the
    full-resolution data, chunk by chunk), its attribute arrays and the names already
    used by other nodes."""

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
        self.store = None
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
        self.image_group = image.name
        self.data_path = data.name
        self.value_type = data.dtype
        self.shape = data.shape
        if not is_label_type(data.dtype):
            raise InputError('%s is not a segmentation: its values are %s, not region ids'
                             ' (integers wider than a byte; an 8-bit map is an EM image)'
                             % (self.path, data.dtype), self.path)
        self.stored_maximum = _maximum_attribute(f)
        self.attributes = {}            # name -> length, the arrays under /attributes
        group = f.get(GROUP)
        if isinstance(group, h5py.Group):
            for name, node in group.items():
                if isinstance(node, h5py.Dataset) and node.ndim == 1:
                    self.attributes[name] = node.shape[0]
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
        self.store = (about['store'], about['format'])
        self.image_group = self.data_path = None
        self.value_type = np.dtype(about['value_type'])
        self.shape = tuple(int(v) for v in reversed(about['size']))
        if not is_label_type(self.value_type):
            raise InputError('%s is not a segmentation: its values are %s, not region ids'
                             % (self.store[0], self.value_type), self.path)
        self.stored_maximum = _maximum_attribute(f)
        self.attributes = {name: node.shape[0] for name, node in f.get(GROUP, {}).items()
                           if isinstance(node, h5py.Dataset) and node.ndim == 1}
        # The store's attribute lookup reads /attributes and maximum_segment_id only.
        self.other_names = {}

    def maximum_id(self, report=None):
        """The maximum region id: the stored attribute, else computed from the data."""
        if self.stored_maximum is not None:
            return self.stored_maximum
        if self.store is not None:
            return stores.open_store(self.store[0], self.store[1]).maximum(report)
        with h5py.File(self.path, 'r') as f:
            return compute_maximum(f[self.data_path], report)


def _maximum_attribute(f):
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


def list_attributes(path):
    """[(name, length, object count)] of the arrays under /attributes."""
    out = []
    with h5py.File(os.fspath(path), 'r') as f:
        group = f.get(GROUP)
        if isinstance(group, h5py.Group):
            for name, node in sorted(group.items()):
                if isinstance(node, h5py.Dataset) and node.ndim == 1:
                    out.append((name, node.shape[0], object_count(node[()])))
    return out


def check_names(segfile, names, replace):
    """InputError for a name that cannot be written: already under /attributes without
    replace, or naming another node (ChimeraX's lookup by name would find two)."""
    for name in names:
        if not name or '/' in name or name.startswith('.'):
            raise InputError('%r cannot be an attribute name' % name)
        if name in segfile.other_names:
            raise InputError('%s: %r already names %s; ChimeraX looks attributes up by name'
                             ' anywhere in the file, so choose another name'
                             % (segfile.path, name, segfile.other_names[name]), segfile.path)
        if name in segfile.attributes and not replace:
            raise InputError('%s already has attribute %s (use replace true to overwrite it)'
                             % (segfile.path, name), segfile.path)


def write_attributes(path, arrays, maximum_id=None):
    """Write {name: int32 array} under /attributes of a Chimera map file, replacing arrays
    of those names, one atomic change per array (formats/hdf5edit.py), so a killed run
    leaves each attribute either as before or as after.  Also writes
    ``maximum_segment_id`` on the image group when ``maximum_id`` is given and the file
    has none.  Holds the file's lock (formats/locks.py) throughout, so another run cannot
    interleave its changes; a caller that read the file first should hold it from then."""
    path = os.fspath(path)
    with locks.exclusive(path, 'connectome ids'):
        for name, values in arrays.items():
            with hdf5edit.Edit(path) as f:
                _swap_in(f, {name: values})
        if maximum_id is not None:
            with hdf5edit.Edit(path) as f:
                if _maximum_attribute(f) is None:
                    node = sidecar.maximum_node(f) if sidecar.is_sidecar(f) else \
                        [g for n, g in f['Chimera'].items() if n.startswith('image')][0]
                    node.attrs['maximum_segment_id'] = np.int64(maximum_id)


def _swap_in(f, arrays):
    """Build a complete new /attributes group (hard links to the arrays kept, new datasets
    for ``arrays``) in new space, then swap it for the old one: only the root group's
    entries change in place."""
    old = f.get(GROUP)
    temporary = GROUP + '.new'
    if temporary in f:
        del f[temporary]
    new = f.create_group(temporary)
    if isinstance(old, h5py.Group):
        for name in old:
            if name not in arrays:
                new[name] = old[name]
    for name, values in arrays.items():
        new.create_dataset(name, data=np.ascontiguousarray(values, np.int32))
    if old is not None:
        del f[GROUP]
    f.move(temporary, GROUP)
