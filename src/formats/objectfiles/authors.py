"""The object files the authors publish (Motta et al. 2019), read as they are.

Their MATLAB export (h5create / h5write) writes, in each file, a root attribute ``info``
(provenance text) and one dataset per array, contiguous and uncompressed (an earlier
release: one deflated chunk each), 1-D for vectors, other arrays with MATLAB's
dimensions reversed (a k x 3 MATLAB matrix of node coordinates is stored, as h5py sees
it, with shape (3, k)); indices and voxel coordinates are 1-based:

    axons.hdf5       /axons/class             uint8 per axon, categorical (below)
                     /axons/agglomerate/<n>   uint32 region ids of axon n (n = 1..N)
                     /axons/skeleton/<n>/     nodes (3 x k, x,y,z), edges (2 x m, node
                                              indices), segIds (k: region under each node)
    dendrites.hdf5   /dendrites/neuronId      uint32 per dendrite (0 = no soma in volume)
     (or dendrites_v2.hdf5)
                     /dendrites/class         categorical per dendrite
                     /dendrites/agglomerate/<n>, /dendrites/skeleton/<n>/ as for axons
                     /spineHeads/agglomerate/<n>, /spineHeads/volume (float per head)
    synapses.hdf5    /synapses/type           categorical per synapse
     (or synapses_v2.hdf5)
                     /synapses/preSegIds/<n>, /synapses/postSegIds/<n>: region ids of
                     each side of synapse n; prePosition, synPosition, postPosition
                     (3 x S); preAxonId, preSplitAxonId, postDendriteId, postSpineHeadId
                     (uint32 per synapse, 0 = none); asiArea (float, NaN = unknown)
    segments.hdf5    /segments/position (3 x R), /segments/voxelCount (R)

A categorical dataset holds uint8 codes (0 = undefined) and one attribute per category,
named in lower case, holding its code.

``ATTRIBUTES`` says where each attribute of ``connectome ids`` comes from; ``AuthorsFile``
reads groups of one dataset per object through formats/h5vectors.py (never walking the
skeleton groups), per-object vectors with their category names, and the skeletons of
the objects asked for.  It only reads: demo/authorsfile.py writes the layout.  Pure:
numpy, h5py.
"""

import os
from typing import NamedTuple

import h5py
import numpy as np
from h5py import h5d, h5s

from ...errors import InputError
from .. import h5vectors

# Each kind of file and the names the authors' releases gave it.
FILE_NAMES = {'axons': ('axons.hdf5',),
              'dendrites': ('dendrites.hdf5', 'dendrites_v2.hdf5'),
              'synapses': ('synapses.hdf5', 'synapses_v2.hdf5'),
              'segments': ('segments.hdf5',)}
# What identifies each kind: its top-level groups and the group of objects in it.
SIGNATURES = {'axons': ('/axons/agglomerate',),
              'dendrites': ('/dendrites/agglomerate', '/spineHeads/agglomerate'),
              'synapses': ('/synapses/preSegIds', '/synapses/postSegIds'),
              'segments': ('/segments/voxelCount',)}
# The object groups and the per-object vectors beside them (one value per object).
OBJECT_GROUPS = {'/axons/agglomerate': 'axon', '/dendrites/agglomerate': 'dendrite',
                 '/spineHeads/agglomerate': 'spine head', '/synapses/preSegIds': 'synapse',
                 '/synapses/postSegIds': 'synapse'}
SKELETONS = {'axon': ('axons', '/axons/skeleton'),
             'dendrite': ('dendrites', '/dendrites/skeleton')}
PER_OBJECT_PARENTS = {'/axons': '/axons/agglomerate', '/dendrites': '/dendrites/agglomerate',
                      '/spineHeads': '/spineHeads/agglomerate'}
# The synapses' group is special: a bouton or a spine head takes part in several
# synapses, so a region may be in several of its objects (the lowest synapse id is
# taken), and its vectors hold one value per synapse, mapped to regions through the
# postsynaptic side.  Every rule that depends on it asks these two.
SYNAPSE_GROUP = '/synapses'
# The largest object id or category code: attributes and the wiring keep them as int32.
ID_MAX = np.iinfo(np.int32).max
INT64_MAX = np.iinfo(np.int64).max
SYNAPSE_VIA = 'postsynapse'


def is_synapse_path(path):
    """Whether a dataset or group lies in the authors' synapse group."""
    return path.startswith(SYNAPSE_GROUP + '/')


def group_conflicts(path):
    """The rule for a region in several objects of the group at ``path``."""
    return 'lowest' if is_synapse_path(path) else 'error'


class Source(NamedTuple):
    """Where an attribute comes from.  ``group``: a group of one region-id vector per
    object; or ``vector``: one value per object of the attribute ``via`` (the region's
    dendrite, axon ...), of ``kind`` 'id', 'category' or 'number'."""
    file: str                       # kind of file (FILE_NAMES)
    group: str = None
    vector: str = None
    via: str = None
    kind: str = 'id'
    conflicts: str = 'error'        # several objects on one region


ATTRIBUTES = {
    'axon': Source('axons', group='/axons/agglomerate'),
    'dendrite': Source('dendrites', group='/dendrites/agglomerate'),
    'spinehead': Source('dendrites', group='/spineHeads/agglomerate'),
    'neuron': Source('dendrites', vector='/dendrites/neuronId', via='dendrite'),
    'presynapse': Source('synapses', group='/synapses/preSegIds',
                         conflicts=group_conflicts('/synapses/preSegIds')),
    'postsynapse': Source('synapses', group='/synapses/postSegIds',
                          conflicts=group_conflicts('/synapses/postSegIds')),
    'axonclass': Source('axons', vector='/axons/class', via='axon', kind='category'),
    'dendriteclass': Source('dendrites', vector='/dendrites/class', via='dendrite',
                            kind='category'),
    'spineheadvolume': Source('dendrites', vector='/spineHeads/volume', via='spinehead',
                              kind='number'),
    'synapsetype': Source('synapses', vector='/synapses/type', via=SYNAPSE_VIA,
                          kind='category'),
    'asiarea': Source('synapses', vector='/synapses/asiArea', via=SYNAPSE_VIA,
                      kind='number'),
}
# What the FOLDER form writes, in this order (objects before what is mapped through them).
FOLDER_ATTRIBUTES = ('axon', 'dendrite', 'spinehead', 'presynapse', 'postsynapse',
                     'neuron', 'axonclass', 'dendriteclass', 'synapsetype',
                     'spineheadvolume', 'asiarea')
UNITS = {'/spineHeads/volume': 'um^3', '/synapses/asiArea': 'um^2'}


def find_files(folder):
    """{kind: path} of the authors' files in ``folder``; InputError if it has none."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise InputError('%s: no such folder' % folder, folder)
    found = {}
    for kind, names in FILE_NAMES.items():
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                found[kind] = path
                break
    if not any(k in found for k in ('axons', 'dendrites', 'synapses')):
        raise InputError('%s holds none of the authors\' object files (%s)'
                         % (folder, ', '.join(n for k in ('axons', 'dendrites', 'synapses')
                                              for n in FILE_NAMES[k])), folder)
    return found


def recognise(path):
    """The kind of authors' file at ``path`` (by its content: its groups), or None."""
    try:
        if not h5py.is_hdf5(path):
            return None
        with h5py.File(path, 'r') as f:
            return _kind_of(f)
    except OSError:
        return None


def _kind_of(f):
    for kind, groups in SIGNATURES.items():
        if any(f.get(g) is not None for g in groups):
            return kind
    return None


class ObjectGroup(NamedTuple):
    """Memberships read from a group of one dataset per object: ``regions`` (all
    region ids), ``objects`` (the object id of each), ``count`` (N: objects 1..N,
    empty ones included), ``description`` for the log."""
    regions: np.ndarray
    objects: np.ndarray
    count: int
    description: str


class Skeleton(NamedTuple):
    """One object's skeleton: ``nodes`` (k, 3) 1-based voxel x, y, z; ``edges`` (m, 2)
    0-based node indices, self-connections left out."""
    id: int
    nodes: np.ndarray
    edges: np.ndarray


class PerObject(NamedTuple):
    """A vector of one value per object: ``values``, ``kind`` ('id', 'category',
    'number'), ``categories`` ({name: code} of a categorical dataset), ``unit``."""
    values: np.ndarray
    kind: str
    categories: dict
    unit: str
    description: str


class AuthorsFile:
    """One of the authors' files, open for reading (``with AuthorsFile(path) as f``)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.name = os.path.basename(self.path)
        if not os.path.isfile(self.path):
            raise InputError('%s: no such file' % self.path, self.path)
        try:
            if not h5py.is_hdf5(self.path):
                raise self.error('is not an HDF5 file (the authors\' files are HDF5)')
            self.file = h5py.File(self.path, 'r')
        except InputError:
            raise
        except OSError as e:
            raise self.error('cannot be read as HDF5 (damaged or truncated?): %s' % e)
        self.kind = _kind_of(self.file)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None

    def error(self, message):
        return InputError('%s: %s' % (self.name, message), self.path)

    def require(self, kind, attribute=None):
        """InputError unless this is the authors' file of ``kind``."""
        if self.kind != kind:
            what = ('the authors\' %s file' % self.kind) if self.kind else \
                'not in the authors\' layout'
            needed = ' (for %s)' % attribute if attribute else ''
            raise self.error('is %s: it has no %s%s (it holds: %s)'
                             % (what, ' or '.join(SIGNATURES[kind]), needed,
                                self.inventory()))

    def node(self, path):
        try:
            node = self.file.get(path)
        except (KeyError, OSError, RuntimeError, ValueError) as e:
            raise self.error('%s cannot be read (damaged or truncated?): %s' % (path, e))
        if node is None:
            raise self.error('has no %s (it holds: %s)' % (path, self.inventory()))
        return node

    def inventory(self):
        items = []
        for name, node in self.file.items():
            if isinstance(node, h5py.Group):
                items.append('/%s (%s)' % (name, ', '.join(sorted(node.keys())[:8])))
            else:
                items.append('/' + name)
        return ', '.join(items) or 'nothing'

    def objects(self, path, report=None):
        """The memberships of a group of one region-id vector per object, named 1..N."""
        group = self.node(path)
        if not isinstance(group, h5py.Group):
            raise self.error('%s is a dataset, not a group of one dataset per object' % path)
        names, addresses = h5vectors.group_links(group)
        ids = _object_ids(self, path, names)
        vectors = h5vectors.read_vectors(self.path, self.file, group, names, addresses,
                                         report)
        values = vectors.values
        if values.dtype.kind == 'f':
            bad = ~np.isfinite(values) | (values != np.floor(values))
            if bad.any():
                k = _holder(vectors.lengths, int(np.argmax(bad)))
                raise self.error('%s/%s holds %r, not a region id'
                                 % (path, names[k], float(values[int(np.argmax(bad))])))
        if values.dtype.kind == 'i' and values.size and int(values.min()) < 0:
            k = _holder(vectors.lengths, int(np.argmin(values)))
            raise self.error('%s/%s holds a negative region id' % (path, names[k]))
        if values.dtype == np.uint64 and values.size and int(values.max()) > INT64_MAX:
            i = int(np.argmax(values))
            raise self.error('%s/%s holds %d, too large for a region id'
                             % (path, names[_holder(vectors.lengths, i)], int(values[i])))
        objects = np.repeat(ids, vectors.lengths)
        count = int(ids.max()) if ids.size else 0
        what = '%s %s: %d %ss (%d region ids)' % (self.name, path, count,
                                                   OBJECT_GROUPS.get(path, 'object'),
                                                   values.size)
        return ObjectGroup(values, objects, count, what)

    def per_object(self, path, kind=None):
        """A vector of one value per object (``kind``: expected kind, else from the
        data: categorical when it has category attributes, number when float)."""
        ds = self.node(path)
        if not isinstance(ds, h5py.Dataset):
            raise self.error('%s is a group, not a vector of one value per object' % path)
        values = h5vectors.dataset_vector(ds, '%s %s' % (self.name, path))
        if values.dtype.kind not in 'iuf':
            raise self.error('%s holds %s, not numbers' % (path, values.dtype))
        categories = category_names(ds)
        found = 'category' if categories else ('number' if values.dtype.kind == 'f'
                                               else 'id')
        kind = kind or found
        if kind == 'category':
            check_categories(values, categories, '%s %s' % (self.name, path), self.path)
        elif kind == 'id' and values.dtype.kind == 'f':
            if not np.all(values == np.floor(values)):
                raise self.error('%s holds values that are not whole numbers, not ids' % path)
        if kind != 'number':
            self._check_range(path, values, kind)
        unit = UNITS.get(path, '')
        description = '%s %s: %d values%s' % (
            self.name, path, values.size,
            (', categories ' + ', '.join(sorted(categories, key=categories.get)))
            if kind == 'category' else '')
        return PerObject(values, kind, categories if kind == 'category' else {}, unit,
                         description)

    def _check_range(self, path, values, kind):
        """InputError unless every id or category code fits what keeps it (int32, 0 =
        none): checked here, before anything narrows it (a uint64 4294967299 would
        become 3)."""
        if not values.size:
            return
        low, high = values.min(), values.max()
        if low >= 0 and high <= ID_MAX:
            return
        k = int(np.argmax((values < 0) | (values > ID_MAX)))
        raise self.error('%s holds %s at position %d, not %s (0 to %d)'
                         % (path, _number(values[k]), k + 1,
                            'an object id' if kind == 'id' else 'a category code', ID_MAX))

    def parent_of(self, path):
        """The object group a per-object vector belongs to (/dendrites/neuronId ->
        /dendrites/agglomerate), or None."""
        top = '/' + path.strip('/').split('/')[0]
        return PER_OBJECT_PARENTS.get(top)

    def describe(self, path):
        """'group' (of one dataset per object), 'per-object' (a vector beside such a
        group), 'dataset' or None (absent)."""
        node = self.file.get(path)
        if node is None:
            return None
        if isinstance(node, h5py.Group):
            return 'group'
        if self.parent_of(path) or is_synapse_path(path):
            return 'per-object'
        return 'dataset'

    def skeletons(self, path, ids, report=None):
        """[Skeleton] of objects ``ids`` from a group of skeletons (/axons/skeleton):
        each ``<n>/nodes`` (3 x k, 1-based x, y, z) and ``<n>/edges`` (2 x m, 1-based node
        indices; a self-connection where there are none).  ``report(done, total)``.
        Read through h5py's low-level calls, several times faster than its Dataset
        objects (docs/performance.md)."""
        group = self.node(path)
        if not isinstance(group, h5py.Group):
            raise self.error('%s is a dataset, not a group of skeletons' % path)
        out = []
        ids = [int(i) for i in ids]
        for k, i in enumerate(ids):
            where = '%s/%d' % (path, i)
            nodes = self._matrix(group, i, 'nodes', 3, where).astype(np.float64)
            edges = self._matrix(group, i, 'edges', 2, where)
            if edges.dtype.kind == 'f' and not np.all(edges == np.floor(edges)):
                bad = edges[edges != np.floor(edges)][0]
                raise self.error('%s/edges holds %s, not a node index (edges join nodes'
                                 ' 1, 2, ...)' % (where, _number(bad)))
            if edges.size and (edges.min() < 1 or edges.max() > len(nodes)):
                raise self.error('%s/edges names node %d; the skeleton has nodes 1 to %d'
                                 % (where, int(edges.max() if edges.max() > len(nodes)
                                               else edges.min()), len(nodes)))
            edges = edges.astype(np.int64) - 1
            edges = edges[edges[:, 0] != edges[:, 1]]
            out.append(Skeleton(i, nodes, edges))
            if report is not None and (k % 256 == 0 or k + 1 == len(ids)):
                report(k + 1, len(ids))
        return out

    def _matrix(self, group, object_id, name, rows, where):
        """Dataset ``<object_id>/<name>`` of a skeleton group, a MATLAB k x ``rows``
        matrix stored (rows, k), as (k, rows)."""
        try:
            ds = h5d.open(group.id, ('%d/%s' % (object_id, name)).encode())
        except (KeyError, ValueError, RuntimeError, OSError):
            sub = group.get(str(object_id))
            if not isinstance(sub, h5py.Group):
                raise self.error('has no skeleton %s (%s)' % (where, 'a dataset, not a'
                                 ' group' if sub is not None else 'no such group'))
            raise self.error('%s has no dataset %s' % (where, name))
        shape, dtype = ds.shape, ds.dtype
        if len(shape) != 2 or shape[0] != rows:
            raise self.error('%s/%s is %s, not %d x k (the MATLAB export stores a k x %d'
                             ' matrix that way)' % (where, name, ' x '.join(
                                 map(str, shape)) or 'a scalar', rows, rows))
        if dtype.kind not in 'iuf':
            raise self.error('%s/%s holds %s, not numbers' % (where, name, dtype))
        values = np.empty(shape, dtype)
        try:
            if values.size:
                ds.read(h5s.ALL, h5s.ALL, values)
        except (OSError, RuntimeError, ValueError) as e:
            raise self.error('%s/%s cannot be read (damaged or truncated?): %s'
                             % (where, name, e))
        if dtype.kind == 'f' and not np.all(np.isfinite(values)):
            raise self.error('%s/%s holds values that are not finite' % (where, name))
        return values.T

    def region_positions(self, regions, block=1 << 20):
        """(n, 3) 1-based voxel x, y, z of regions (ids 1..R) from /segments/position
        (3 x R), read in blocks of columns between the lowest and the highest id."""
        ds = self.node('/segments/position')
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or ds.shape[0] != 3:
            raise self.error('/segments/position is not 3 x R (x, y, z of each region)')
        regions = np.asarray(regions, np.int64)
        out = np.zeros((regions.size, 3), np.float64)
        if not regions.size:
            return out
        if regions.min() < 1 or regions.max() > ds.shape[1]:
            raise self.error('/segments/position lists %d regions; region %d is not one'
                             % (ds.shape[1], int(regions.max() if regions.max() > ds.shape[1]
                                                 else regions.min())))
        order = np.argsort(regions, kind='stable')
        sorted_ids = regions[order] - 1
        lo = int(sorted_ids[0])
        while lo <= sorted_ids[-1]:
            hi = min(lo + block, ds.shape[1])
            a, b = np.searchsorted(sorted_ids, (lo, hi))
            if b > a:
                columns = ds[:, lo:hi]
                out[order[a:b]] = columns[:, sorted_ids[a:b] - lo].T
            lo = int(sorted_ids[b]) if b < sorted_ids.size else hi
        return out

    def count(self, path):
        """Number of objects of an object group (its largest member name)."""
        group = self.node(path)
        names, _ = h5vectors.group_links(group)
        ids = _object_ids(self, path, names)
        return int(ids.max()) if ids.size else 0


def _object_ids(f, path, names):
    """Object ids from member names '1', '2', ... (decimal, >= 1, unique)."""
    try:
        ids = np.array([int(n) for n in names], np.int64)
        bad = [n for n in names if not n.isdigit() or not n.isascii()]
    except ValueError:
        bad = [n for n in names if not (n.isdigit() and n.isascii())]
        ids = None
    if bad or ids is None:
        raise f.error('%s has members %s that are not object ids (the authors\' groups name'
                      ' each object 1..N)' % (path, ', '.join(repr(n) for n in bad[:5])))
    if ids.size and int(ids.min()) < 1:
        raise f.error('%s has a member named 0; object ids start at 1' % path)
    if ids.size and int(ids.max()) > np.iinfo(np.int32).max:
        raise f.error('%s: object id %d cannot be stored' % (path, int(ids.max())))
    return ids


def _number(v):
    """A value as a message shows it: integers exactly, others as %g."""
    return str(int(v)) if float(v).is_integer() else '%g' % v


def _holder(lengths, i):
    return int(np.searchsorted(np.cumsum(lengths), i, side='right'))


def category_names(ds):
    """{name: code} of a categorical dataset: its attributes holding one integer each."""
    out = {}
    for name, value in ds.attrs.items():
        v = np.asarray(value)
        if v.size == 1 and v.dtype.kind in 'iu':
            out[str(name)] = int(v.reshape(-1)[0])
    return out


def check_categories(values, categories, where, path=None):
    """InputError unless every non-zero code of a categorical vector has a name."""
    if values.dtype.kind == 'f':
        raise InputError('%s holds floating-point values, not category codes' % where, path)
    codes = np.unique(values)
    named = set(categories.values())
    missing = [int(c) for c in codes if c != 0 and int(c) not in named]
    if missing:
        raise InputError('%s: category codes %s have no name (the dataset\'s attributes'
                         ' name %s)' % (where, ', '.join(map(str, missing[:8])),
                                        ', '.join('%s=%d' % kv for kv in sorted(
                                            categories.items(), key=lambda kv: kv[1]))
                                        or 'no categories'), path)
