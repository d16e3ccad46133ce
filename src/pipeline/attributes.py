"""Segmentation attribute arrays: from object lists to the 1-D int32 arrays ChimeraX's
``segmentation colors ... byAttribute NAME`` and ``segmentation surfaces ... where NAME=...``
read (index = region id, value = object id, 0 = region in no object of that class), and
the check that they fit in memory.  Writing them into the segmentation's attribute file
is pipeline/attributefile.py.

Pure (numpy).  Everything is vectorised, as the real scale has tens of millions of
regions and memberships (docs/performance.md).
"""

import os

import numpy as np

from ..errors import InputError

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
        # A synapse attribute's objects are synapses (the help page's one definition).
        noun = 'synapses' if self.name in ('presynapse', 'postsynapse') else 'objects'
        text = ('%s: %d %s, %d regions assigned, %d regions in no object'
                % (self.name, self.objects, noun, self.assigned, self.unassigned))
        if self.conflicts:
            text += ', %d regions in two or more objects' % self.conflicts
            if self.rule:
                text += ' (%s)' % self.rule
        return text


def build_attribute(name, regions, objects, count, maximum_id, conflicts='error', path=None,
                    region_ids=None):
    """The int32 array (length maximum_id + 1) for one class from flat (region, object)
    memberships (``region_ids(region)``: the id a message names a region by, where the
    regions are an id map's compact values).  ``conflicts``: a region in two objects is an error (listing the first
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
                region = r[starts[s]] if region_ids is None else region_ids(r[starts[s]])
                shown.append('region %d in objects %s' % (region, _listing(members)))
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
