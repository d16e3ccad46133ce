"""The connectome's wiring: for every synapse its presynaptic axon, its postsynaptic
dendrite, spine head and neuron, its type, ASI area and position, read from the authors'
files (synapses.hdf5, with dendrites.hdf5 for each dendrite's neuron and class and
axons.hdf5 for each axon's class).  Which synapses a filter picks and the partner table
of one object are pipeline/partners.py.

``connectome ids SEGMENTATION FOLDER`` derives it once and keeps it in the segmentation's
attribute file, with the folder it came from, in the group /attributes/.connectome
(``to_tables``, ``from_tables``; pipeline/attributefile.py reads and writes the group).
It lives under /attributes so that it rides the crash-safe swap of that group
(pipeline/attributefile.py, formats/hdf5edit.py: the only existing metadata an edit
changes is the root group's entry).  Its nodes cannot be mistaken for attributes:
ChimeraX's ``find_attribute`` finds array nodes and group attributes by name anywhere in
the file, and these names start with a dot, which no attribute name may
(survey.Survey.check_names); its tables are 2-D, and the 1-D integer arrays are
what is listed as classes.

Per synapse the authors' files give preAxonId, postDendriteId and postSpineHeadId; where
a release lacks one, it is derived from the synapse's regions (preSegIds, postSegIds)
through the per-region attribute (the axon of most of its regions).  A synapse's neuron
is its dendrite's neuronId.  Ids are object ids (0 = none); synapse k is row k - 1.

How everything is counted (one definition, used by ``connectome ids``' listing, the
panel, ``synapses``, ``partners`` and ``table``; the help page says the same):
a *synapse* is one row of the authors' synapses file, so the number of synapses is the
number of rows (``Wiring.count``); a *partner* of an object is an object on the other side
of at least one of its synapses (id 0, "none", is no partner), and the synapses between
two partners are the rows naming both.  The per-region attributes presynapse and
postsynapse (*presynapse per region*) can give a region one synapse id only: a region
listed by several synapses (a bouton making a second contact) holds the lowest of their
ids, so fewer synapses own a region than there are synapses (``RegionSynapses``).
Pure: numpy, h5py.
"""

import json
import os
from dataclasses import dataclass

import h5py
import numpy as np

from ..errors import InputError
from ..formats.objectfiles import authors
from .classes import object_count

GROUP = '.connectome'               # under /attributes
VERSION = 1
# The 2-D tables of the group: name -> column names
INTEGER_COLUMNS = ('axon', 'dendrite', 'spinehead', 'neuron', 'type')
NUMBER_COLUMNS = ('asiarea', 'x', 'y', 'z')
TABLES = {'.synapse_ids': INTEGER_COLUMNS, '.synapse_values': NUMBER_COLUMNS,
          '.axons': ('axonclass',), '.dendrites': ('dendriteclass', 'neuron')}
# Per-synapse vectors of synapses.hdf5 and the per-region attribute each can be derived
# through when a release lacks it: (column, dataset, seg-id group, attribute).
PARTNER_VECTORS = (('axon', '/synapses/preAxonId', '/synapses/preSegIds', 'axon'),
                   ('dendrite', '/synapses/postDendriteId', '/synapses/postSegIds',
                    'dendrite'),
                   ('spinehead', '/synapses/postSpineHeadId', '/synapses/postSegIds',
                    'spinehead'))
# Partner classes: the presynaptic side, the postsynaptic side.
PRE = ('axon',)
POST = ('dendrite', 'spinehead', 'neuron')
CLASSES = PRE + POST
# What colours a synapse: its type, or the class of a partner.
CATEGORIES = ('type', 'axonclass', 'dendriteclass')
NOUNS = {'spinehead': 'spine head', 'axon': 'axon', 'dendrite': 'dendrite',
         'neuron': 'neuron'}
# Per-region attributes whose values are synapse ids (RegionSynapses counts them).
SYNAPSE_ATTRIBUTES = ('presynapse', 'postsynapse')


class Wiring:
    """Per synapse (row k - 1 for synapse k): ``axon``, ``dendrite``, ``spinehead``,
    ``neuron``, ``type`` (int32 ids and codes, 0 = none), ``asiarea`` (float32, um^2,
    NaN = unknown) and ``position`` ((S, 3) float32, 1-based voxel x, y, z as in
    synPosition; NaN when the file has none).  Per object: ``axon_class`` (per axon),
    ``dendrite_class`` and ``dendrite_neuron`` (per dendrite).  ``categories`` {'type' |
    'axonclass' | 'dendriteclass': {name: code}}; ``folder`` and ``files`` ({kind:
    [file name, size, mtime_ns]}) say where it came from; ``notes`` what derivation did."""

    def __init__(self, columns, position, axon_class, dendrite_class, dendrite_neuron,
                 categories, folder, files, notes=()):
        for name in INTEGER_COLUMNS:
            setattr(self, name, np.ascontiguousarray(columns[name], np.int32))
        self.asiarea = np.ascontiguousarray(columns['asiarea'], np.float32)
        self.position = np.ascontiguousarray(position, np.float32).reshape(-1, 3)
        self.axon_class = np.asarray(axon_class, np.int32)
        self.dendrite_class = np.asarray(dendrite_class, np.int32)
        self.dendrite_neuron = np.asarray(dendrite_neuron, np.int32)
        self.categories = {k: dict(v) for k, v in categories.items()}
        self.folder = folder
        self.files = dict(files)
        self.notes = list(notes)

    @property
    def count(self):
        return int(self.axon.size)

    def ids(self, name):
        """Per synapse: the id of its partner of class ``name`` (axon, dendrite,
        spinehead, neuron) or its synapse id (synapse)."""
        if name == 'synapse':
            return np.arange(1, self.count + 1, dtype=np.int32)
        if name not in CLASSES:
            raise InputError('%r is not a partner class (%s)' % (name, ', '.join(CLASSES)))
        return getattr(self, name)

    def codes(self, category):
        """Per synapse: its type code, or the class code of its axon or dendrite."""
        if category == 'type':
            return self.type
        if category == 'axonclass':
            return object_values(self.axon_class, self.axon)
        if category == 'dendriteclass':
            return object_values(self.dendrite_class, self.dendrite)
        raise InputError('%r is not a synapse category (%s)'
                         % (category, ', '.join(CATEGORIES)))

    def category_names(self, category):
        """[(name, code)] of a category, in code order."""
        return sorted(self.categories.get(category, {}).items(), key=lambda kv: kv[1])

    def object_class(self, name, ids):
        """(category, codes) of objects ``ids`` of class ``name``: axons by axon class,
        dendrites by dendrite class; others (None, zeros)."""
        ids = np.asarray(ids, np.int64)
        if name == 'axon':
            return 'axonclass', object_values(self.axon_class, ids)
        if name == 'dendrite':
            return 'dendriteclass', object_values(self.dendrite_class, ids)
        return None, np.zeros(ids.size, np.int32)

    def knows_count(self, name):
        """Whether the files say how many objects of a partner class there are: axons
        and dendrites (their classes), neurons (the dendrites' neuronId); spine heads
        are known only where they are on a synapse."""
        return {'axon': self.axon_class.size, 'dendrite': self.dendrite_class.size,
                'neuron': self.dendrite_neuron.size}.get(name, 0) > 0

    def largest(self, name):
        """The largest object id of a partner class that the wiring knows of."""
        counts = {'axon': self.axon_class.size, 'dendrite': self.dendrite_class.size}
        top = int(self.ids(name).max()) if self.count else 0
        if name == 'neuron' and self.dendrite_neuron.size:
            top = max(top, int(self.dendrite_neuron.max()))
        return max(top, counts.get(name, 0))

    def has_positions(self):
        return self.count == 0 or not np.isnan(self.position[:, 0]).all()

    def describe(self):
        """One log line: what the wiring holds."""
        return ('%s from %s onto %s (%s, %s)'
                % (counted(self.count, 'synapse'), counted(_distinct(self.axon), 'axon'),
                   counted(_distinct(self.dendrite), 'dendrite'),
                   counted(_distinct(self.spinehead), 'spine head'),
                   counted(_distinct(self.neuron), 'neuron')))


@dataclass(frozen=True)
class RegionSynapses:
    """How many synapses a per-region synapse attribute (presynapse, postsynapse) stands
    for: ``synapses``, the rows of the synapses file, and ``owning``, those whose id some
    region holds (a region on several synapses holds the lowest id)."""
    synapses: int
    owning: int

    def text(self):
        """'9 synapses (7 own a region: a region on several synapses holds the lowest
        id)', or '9 synapses' when every one owns a region."""
        text = counted(self.synapses, 'synapse')
        if self.owning != self.synapses:
            text += (' (%d own a region: a region on several synapses holds the lowest'
                     ' id)' % self.owning)
        return text


def region_synapses(wiring, values):
    """The RegionSynapses of per-region synapse ids ``values`` (presynapse or
    postsynapse) made from the same files as ``wiring``."""
    return RegionSynapses(wiring.count, object_count(values))


def object_values(per_object, ids):
    """per_object[ids - 1], 0 for id 0 or an id past its end."""
    table = np.zeros(per_object.size + 1, np.int32)
    table[1:] = per_object
    ids = np.asarray(ids, np.int64)
    return np.where(ids < table.size, table[np.minimum(ids, table.size - 1)], 0)


def _distinct(ids):
    return int(np.unique(ids[ids > 0]).size)


def counted(n, noun):
    """'1 dendrite', '2 dendrites': a count for a message."""
    return '%d %s%s' % (n, noun, '' if n == 1 else 's')


# ---------------------------------------------------------------------------------------
# Deriving it from the authors' files

def signature(files):
    """{kind: [file name, size, mtime_ns]} of the files read: how a kept wiring knows
    whether its files changed since."""
    out = {}
    for kind, path in files.items():
        st = os.stat(path)
        out[kind] = [os.path.basename(path), int(st.st_size), int(st.st_mtime_ns)]
    return out


def derive(folder, per_region=None, region_values=None):
    """The Wiring of the authors' files in ``folder``.  ``per_region(name)`` gives a
    per-region attribute array (axon, dendrite, spinehead) or None: used only for a
    per-synapse id the files lack, derived from the synapse's regions;
    ``region_values(ids)`` the indices of those arrays for the files' region ids (a
    segmentation read through an id map: its compact values), else the ids."""
    files = authors.find_files(folder)
    if 'synapses' not in files:
        raise InputError('%s has no synapses file (%s): the wiring comes from it'
                         % (folder, ' or '.join(authors.FILE_NAMES['synapses'])), folder)
    files = {k: v for k, v in files.items() if k in ('axons', 'dendrites', 'synapses')}
    notes = []
    with authors.AuthorsFile(files['synapses']) as f:
        f.require('synapses', 'the wiring')
        count, columns, categories, position = _synapse_vectors(f, per_region, notes,
                                                                 region_values)
    vectors = {}        # per-object vectors of the other files, where they have them
    for kind, path, how, category in (('axons', '/axons/class', 'category', 'axonclass'),
                                      ('dendrites', '/dendrites/class', 'category',
                                       'dendriteclass'),
                                      ('dendrites', '/dendrites/neuronId', 'id', None)):
        if kind in files:
            with authors.AuthorsFile(files[kind]) as f:
                f.require(kind, 'the wiring')
                if f.describe(path):
                    v = f.per_object(path, how)
                    vectors[path] = v.values
                    if category:
                        categories[category] = v.categories
    empty = np.zeros(0, np.int32)
    axon_class = vectors.get('/axons/class', empty)
    dendrite_class = vectors.get('/dendrites/class', empty)
    dendrite_neuron = vectors.get('/dendrites/neuronId', empty)
    if 'dendrites' in files:
        d = columns['dendrite']
        if d.size and int(d.max()) > dendrite_neuron.size and dendrite_neuron.size:
            k = int(np.argmax(d > dendrite_neuron.size))
            raise InputError('synapse %d is onto dendrite %d, but %s lists the neurons of %d'
                             ' dendrites (/dendrites/neuronId): the files do not belong'
                             ' together' % (k + 1, int(d[k]), os.path.basename(
                                 files['dendrites']), dendrite_neuron.size), folder)
        columns['neuron'] = object_values(np.asarray(dendrite_neuron, np.int64), d)
    else:
        columns['neuron'] = np.zeros(count, np.int32)
        notes.append('%s has no dendrites file: synapses have no neuron' % folder)
    for name, per_object, what in (('axon', axon_class, 'axons'),
                                   ('dendrite', dendrite_class, 'dendrites')):
        ids = columns[name]
        if per_object.size and ids.size and int(ids.max()) > per_object.size:
            raise InputError('a synapse names %s %d, but %s has classes for %d %s: the'
                             ' files do not belong together'
                             % (name, int(ids.max()), os.path.basename(files[what]),
                                per_object.size, what), folder)
    return Wiring(columns, position, axon_class, dendrite_class, dendrite_neuron,
                  categories, os.path.abspath(folder), signature(files), notes)


def _synapse_vectors(f, per_region, notes, region_values=None):
    """(count, {column: per-synapse values}, {'type': names}, (S, 3) positions)."""
    columns, categories = {}, {}
    count = None

    def check(name, values):
        nonlocal count
        if count is None:
            count = values.size
        elif values.size != count:
            raise f.error('%s holds %d values, the other per-synapse datasets %d'
                          % (name, values.size, count))
    if f.describe('/synapses/type'):
        v = f.per_object('/synapses/type', 'category')
        check('/synapses/type', v.values)
        columns['type'], categories['type'] = v.values, v.categories
    for column, vector, group, attribute in PARTNER_VECTORS:
        if f.describe(vector):
            values = f.per_object(vector, 'id').values
            check(vector, values)
            columns[column] = values
    groups = {}
    for column, vector, group, attribute in PARTNER_VECTORS:
        if column in columns:
            continue
        if f.describe(group) != 'group':
            raise f.error('has neither %s nor %s to tell each synapse\'s %s'
                          % (vector, group, NOUNS[column]))
        lookup = per_region(attribute) if per_region is not None else None
        if lookup is None:
            raise f.error('has no %s; it is derived from %s through the segmentation\'s'
                          ' %s attribute, which it has not (run connectome ids first)'
                          % (vector, group, attribute))
        if group not in groups:
            groups[group] = f.objects(group)
            if region_values is not None:
                g = groups[group]
                groups[group] = authors.ObjectGroup(region_values(g.regions), g.objects,
                                                    g.count, g.description)
        lookup = np.asarray(lookup)
        if region_values is not None and groups[group].regions.size:
            # Values the id map gave after the array was written are in no object.
            top = int(groups[group].regions.max()) + 1
            if top > lookup.size:
                lookup = np.concatenate([lookup, np.zeros(top - lookup.size, lookup.dtype)])
        columns[column] = _majority(groups[group], lookup, f, group)
        check(group, columns[column])
        notes.append('%s: %s derived from %s through each region\'s %s (the %s of most of'
                     ' its regions)' % (f.name, column, group, attribute, NOUNS[column]))
    if count is None:
        raise f.error('has no per-synapse datasets (/synapses/type, preAxonId ...)')
    if 'type' not in columns:
        columns['type'] = np.zeros(count, np.int32)
    if f.describe('/synapses/asiArea'):
        v = f.per_object('/synapses/asiArea', 'number').values
        check('/synapses/asiArea', v)
        columns['asiarea'] = v.astype(np.float32)
    else:
        columns['asiarea'] = np.full(count, np.nan, np.float32)
    position = np.full((count, 3), np.nan, np.float32)
    if f.describe('/synapses/synPosition'):
        ds = f.node('/synapses/synPosition')
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or ds.shape[0] != 3:
            raise f.error('/synapses/synPosition is %s, not 3 x %d (x, y, z of each synapse,'
                          ' as the MATLAB export stores a %d x 3 matrix)'
                          % ('x'.join(map(str, getattr(ds, 'shape', ()))) or 'a group',
                             count, count))
        if ds.shape[1] != count:
            raise f.error('/synapses/synPosition has %d positions for %d synapses'
                          % (ds.shape[1], count))
        position = np.asarray(ds[()], np.float32).T
        check_positions(position, '%s /synapses/synPosition' % f.name)
    else:
        notes.append('%s has no /synapses/synPosition: synapses cannot be drawn' % f.name)
    for column in INTEGER_COLUMNS[:3]:
        values = columns[column]
        if values.dtype.kind == 'f' or (values.size and int(values.min()) < 0):
            raise f.error('the %s ids of the synapses are not all ids (>= 0)' % column)
    return count, columns, categories, position


def check_positions(position, where, ids=None):
    """InputError unless every row of ``position`` ((n, 3) voxel x, y, z) is finite: a
    NaN would be drawn nowhere and reported as drawn.  ``ids``: the synapse id of each
    row (default 1..n), for the message."""
    bad = ~np.isfinite(position).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError('%s: %d synapse position%s not finite (synapse %d first); the'
                         ' file is damaged' % (where, int(bad.sum()),
                                               's are' if bad.sum() > 1 else ' is',
                                               first + 1 if ids is None else int(ids[first])))


def _majority(group, lookup, f, path):
    """Per object of an ObjectGroup: the most frequent non-zero value of ``lookup`` over
    its regions (the lowest among equals), 0 if none."""
    regions = group.regions.astype(np.int64)
    if regions.size and int(regions.max()) >= lookup.size:
        raise f.error('%s lists region %d, past the segmentation\'s largest region id %d'
                      % (path, int(regions.max()), lookup.size - 1))
    values = lookup[regions].astype(np.int64)
    objects = group.objects.astype(np.int64)
    keep = values > 0
    out = np.zeros(group.count, np.int32)
    if not keep.any():
        return out
    pairs, counts = np.unique(np.stack([objects[keep], values[keep]]), axis=1,
                              return_counts=True)
    # Most frequent first, then the lowest value: the first row per object wins.
    order = np.lexsort((pairs[1], -counts, pairs[0]))
    first = np.r_[True, pairs[0][order][1:] != pairs[0][order][:-1]]
    chosen = order[first]
    out[pairs[0][chosen] - 1] = pairs[1][chosen]
    return out


# ---------------------------------------------------------------------------------------
# Kept in the segmentation file: the tables of /attributes/.connectome (read and written
# by pipeline/attributefile.py)

TEXTS = ('.folder', '.files', '.categories', '.notes')     # the group's text attributes


def to_tables(wiring):
    """({table name: (2-D array, {HDF5 attribute: value})}, {group attribute: value})
    that keep ``wiring``."""
    ids = np.stack([getattr(wiring, c) for c in INTEGER_COLUMNS], axis=1).astype(np.int32)
    values = np.concatenate([wiring.asiarea.reshape(-1, 1), wiring.position], axis=1)
    tables = {'.synapse_ids': ids, '.synapse_values': values.astype(np.float32),
              '.axons': wiring.axon_class.reshape(-1, 1).astype(np.int32),
              '.dendrites': np.stack([_pad(wiring.dendrite_class, wiring.dendrite_neuron),
                                      _pad(wiring.dendrite_neuron, wiring.dendrite_class)],
                                     axis=1).astype(np.int32)}
    attrs = {'.version': VERSION, '.folder': wiring.folder,
             '.files': json.dumps(wiring.files), '.categories': json.dumps(wiring.categories),
             '.notes': json.dumps(wiring.notes)}
    return {name: (table, {'.columns': json.dumps(TABLES[name])})
            for name, table in tables.items()}, attrs


def _pad(values, other):
    out = np.zeros(max(values.size, other.size), np.int64)
    out[:values.size] = values
    return out


def from_tables(tables, text):
    """The Wiring kept in ``tables`` (TABLES, checked) and ``text`` ({TEXTS: text or
    None})."""
    ids, values = tables['.synapse_ids'], tables['.synapse_values']
    columns = {c: ids[:, k] for k, c in enumerate(INTEGER_COLUMNS)}
    columns['asiarea'] = values[:, 0]
    dendrites = tables['.dendrites']
    return Wiring(columns, values[:, 1:4], tables['.axons'][:, 0], dendrites[:, 0],
                  dendrites[:, 1], json.loads(text['.categories'] or '{}'), text['.folder'],
                  json.loads(text['.files'] or '{}'), json.loads(text['.notes'] or '[]'))


def changed_files(wiring):
    """Names of the files a kept wiring came from that are missing or changed since."""
    changed = []
    for kind, (name, size, mtime) in wiring.files.items():
        path = os.path.join(wiring.folder or '', name)
        try:
            st = os.stat(path)
        except OSError:
            changed.append(name + ' (missing)')
            continue
        if st.st_size != size or st.st_mtime_ns != mtime:
            changed.append(name)
    return changed
