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
from .classes import hdf5_text, object_count
from .labels import is_label_type

GROUP = 'attributes'
CONFLICTS = ('error', 'first', 'last', 'lowest')
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

    rule = None                         # how conflicts were resolved

    def message(self):
        text = ('%s: %d objects, %d regions assigned, %d regions in no object'
                % (self.name, self.objects, self.assigned, self.unassigned))
        if self.conflicts:
            text += ', %d regions in two or more objects' % self.conflicts
            if self.rule:
                text += ' (%s)' % self.rule
        return text


def build_attribute(name, regions, objects, count, maximum_id, conflicts='error', path=None):
    """The int32 array (length maximum_id + 1) for one class from flat (region, object)
    memberships.  ``conflicts``: a region in two objects is an error (listing the first
    few), or the first / last object listed (file order) or the lowest object id wins.
    A region listed twice in one object is not a conflict.  Region 0 (unsegmented), negative ids and ids above
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
        if conflicts == 'lowest':
            # The minimum of each region's run of entries.
            values[r[starts]] = np.minimum.reduceat(o, starts)
        else:
            pick = starts if conflicts != 'last' else ends - 1
            values[r[pick]] = o[pick]
        assigned = int(starts.size)
    else:
        n_conflicts = assigned = 0
    stats = AttributeStats(name, int(count), assigned, maximum_id - assigned, n_conflicts,
                           maximum_id)
    stats.rule = {'first': 'the first listed kept', 'last': 'the last listed kept',
                  'lowest': 'the lowest id kept'}.get(conflicts)
    return values, stats


class MappedStats:
    """What map_per_object made, for the log line."""

    def __init__(self, name, via, values, kind, assigned, maximum_id):
        self.name, self.via, self.values, self.kind = name, via, values, kind
        self.assigned, self.maximum_id = assigned, maximum_id

    def message(self):
        what = {'number': 'regions with a value', 'category': 'regions with a category'}
        return ('%s: one value per %s (%d values), through each region\'s %s: %d %s'
                % (self.name, self.via, self.values, self.via, self.assigned,
                   what.get(self.kind, 'regions with a non-zero id')))


def map_per_object(name, values, parent, via, kind='id', where=None, path=None):
    """A per-region array from one value per object: region r gets ``values[k - 1]``
    where k = ``parent[r]`` is the region's object (its dendrite, axon ...; 0 = none).
    ``kind`` 'id' or 'category': int32, 0 where the region is in no object; 'number':
    float32, NaN where the region is in no object or the value is unknown.  A parent id
    beyond the values (an object the vector has no entry for) is an InputError naming
    ``where`` (file and dataset)."""
    values = np.asarray(values).reshape(-1)
    parent = np.asarray(parent)
    where = where or name
    top = int(parent.max()) if parent.size else 0
    if top > values.size:
        region = int(np.argmax(parent > values.size))
        raise InputError('%s holds %d values (one per %s object) but %s id %d (region %d)'
                         ' has none: the files do not belong together'
                         % (where, values.size, via, via, top, region), path)
    if kind == 'number':
        lookup = np.empty(values.size + 1, np.float32)
        lookup[0] = np.nan
        lookup[1:] = values
        out = lookup[parent]
        assigned = int(np.count_nonzero(~np.isnan(out)))
    else:
        v = values.astype(np.int64) if values.dtype.kind in 'iub' else values
        if v.dtype.kind == 'f':
            if not np.all(v == np.floor(v)):
                raise InputError('%s holds values that are not whole numbers' % where, path)
            v = v.astype(np.int64)
        if v.size and (int(v.min()) < 0 or int(v.max()) > np.iinfo(np.int32).max):
            raise InputError('%s holds %d, which cannot be stored as an id'
                             % (where, int(v.min()) if int(v.min()) < 0 else int(v.max())),
                             path)
        lookup = np.zeros(v.size + 1, np.int32)
        lookup[1:] = v
        out = lookup[parent]
        assigned = int(np.count_nonzero(out))
    return out, MappedStats(name, via, values.size, kind, assigned, parent.size - 1)


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
        self.data_path = None
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
    """[(name, length, count)] of the arrays under /attributes: count is the number of
    objects (integer arrays) or of regions with a value (float arrays)."""
    return [(name, length, count) for name, length, count, _ in _survey_attributes(path)]


def describe_attributes(path):
    """[(name, length, text)]: what each array under /attributes holds, for listings."""
    out = []
    for name, length, count, attrs in _survey_attributes(path):
        kind = hdf5_text(attrs.get('kind'))
        if kind == 'category':
            names = [hdf5_text(n) for n in np.asarray(attrs.get('category_names', []))]
            objects = np.asarray(attrs.get('category_objects', np.zeros(len(names))))
            unit = hdf5_text(attrs.get('objects')) or 'object'
            text = 'categories of each %s: %s' % (unit, ', '.join(
                '%s (%d)' % (n, c) for n, c in zip(names, objects)))
        elif kind != 'number':
            text = '%d objects' % count
        else:
            unit = hdf5_text(attrs.get('unit'))
            text = 'a number per region (%s%d regions with a value)' % (
                (unit + '; ') if unit else '', count)
        out.append((name, length, text))
    return out


def read_attribute(path, name):
    """The array /attributes/NAME of a segmentation file, or None."""
    with h5py.File(os.fspath(path), 'r') as f:
        node = f.get('%s/%s' % (GROUP, name))
        return node[()] if isinstance(node, h5py.Dataset) and node.ndim == 1 else None


def _survey_attributes(path):
    out = []
    with h5py.File(os.fspath(path), 'r') as f:
        group = f.get(GROUP)
        if isinstance(group, h5py.Group):
            for name, node in sorted(group.items()):
                if isinstance(node, h5py.Dataset) and node.ndim == 1:
                    values = node[()]
                    if values.dtype.kind == 'f':
                        count = int(np.count_nonzero(~np.isnan(values[1:])))
                    else:
                        count = object_count(values)
                    attrs = dict(node.attrs)
                    attrs.setdefault('kind', 'number' if values.dtype.kind == 'f' else 'id')
                    out.append((name, node.shape[0], count, attrs))
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


def write_attributes(path, arrays, maximum_id=None, metadata=None, report=None):
    """Write {name: array} under /attributes of a Chimera map file (int32, or float32
    for float arrays), replacing arrays of those names, one atomic change per array
    (formats/hdf5edit.py), so a killed run leaves each attribute either as before or as
    after.  ``metadata``: {name: {HDF5 attribute: value}} kept on the arrays (category
    names, units).  Also writes ``maximum_segment_id`` on the image group when
    ``maximum_id`` is given and the file has none.  ``report(name)`` after each array.
    Holds the file's lock (formats/locks.py) throughout, so another run cannot interleave
    its changes; a caller that read the file first should hold it from then."""
    path = os.fspath(path)
    metadata = metadata or {}
    with locks.exclusive(path, 'connectome ids'):
        for name, values in arrays.items():
            with hdf5edit.Edit(path) as f:
                _swap_in(f, {name: values}, metadata)
            if report is not None:
                report(name)
        if maximum_id is not None:
            with hdf5edit.Edit(path) as f:
                if _maximum_attribute(f) is None:
                    node = sidecar.maximum_node(f) if sidecar.is_sidecar(f) else \
                        [g for n, g in f['Chimera'].items() if n.startswith('image')][0]
                    node.attrs['maximum_segment_id'] = np.int64(maximum_id)


def write_group(path, name, datasets, attrs):
    """Write (or replace) the group /attributes/NAME of a segmentation file in one atomic
    change, as ``write_attributes`` does for arrays: ``datasets`` {name: (array, {HDF5
    attribute: value})}, ``attrs`` the group's own HDF5 attributes.  For data kept beside
    the attributes (pipeline/wiring.py); the caller picks names that cannot clash with
    attribute names."""
    path = os.fspath(path)
    with locks.exclusive(path, 'connectome ids'):
        with hdf5edit.Edit(path) as f:
            _swap_in(f, {}, groups={name: (datasets, attrs)})


def _swap_in(f, arrays, metadata=None, groups=None):
    """Build a complete new /attributes group (hard links to the arrays and groups kept,
    new datasets for ``arrays``, new subgroups for ``groups``) in new space, then swap it
    for the old one: only the root group's entries change in place."""
    groups = groups or {}
    old = f.get(GROUP)
    temporary = GROUP + '.new'
    if temporary in f:
        del f[temporary]
    new = f.create_group(temporary)
    if isinstance(old, h5py.Group):
        for name in old:
            if name not in arrays and name not in groups:
                new[name] = old[name]
    for name, values in arrays.items():
        kind = np.float32 if np.asarray(values).dtype.kind == 'f' else np.int32
        ds = new.create_dataset(name, data=np.ascontiguousarray(values, kind))
        for key, value in (metadata or {}).get(name, {}).items():
            ds.attrs[key] = value
    for name, (datasets, attrs) in groups.items():
        sub = new.create_group(name)
        for key, value in attrs.items():
            sub.attrs[key] = value
        for member, (values, member_attrs) in datasets.items():
            ds = sub.create_dataset(member, data=np.ascontiguousarray(values))
            for key, value in member_attrs.items():
                ds.attrs[key] = value
    if old is not None:
        del f[GROUP]
    f.move(temporary, GROUP)
