"""What ``connectome ids`` reads for each attribute and the per-region arrays it builds.

A request is an attribute name, a file, and optionally a dataset or group in it
(``FILE:PATH``) and ``via``, how one value per object maps to regions.  The authors'
files (formats/objectfiles/authors.py) are recognised by their content and the
attribute name picks the dataset (``neuron dendrites.hdf5``: /dendrites/neuronId
through the regions of /dendrites/agglomerate); other files go through the generic
reader (formats/objectfiles).  A vector of one value per object is never read as a
per-region lookup, and a lookup must have one entry per region of the segmentation.
For a segmentation read through an id map (region ids above 2^32, formats/stores/
idmap.py) the files' region ids are translated to the map's compact values as they are
read (an IdTranslation; ids the map has not seen get new values, so the map grows) and
every array is as long as the map then; a per-region lookup (index = region id) cannot be
read for it.  Everything is read and checked before anything is written.  Pure: numpy,
h5py.
"""

import os
from typing import Callable, NamedTuple

import h5py
import numpy as np

from ..errors import InputError
from ..formats import h5vectors
from ..formats.objectfiles import read_object_file
from ..formats.objectfiles import authors
from ..formats.objectfiles.common import exact_float_bits
from . import attributes


NOUNS = {'spinehead': 'spine head', 'presynapse': 'synapse', 'postsynapse': 'synapse'}
LOGGED_CATEGORIES = 30          # categories named in the log line (a file may have 100,000)


class Request(NamedTuple):
    name: str
    file: str
    path: str = None            # dataset or group in the file (FILE:PATH)
    via: str = None             # attribute (or group path) mapping objects to regions
    expect: str = None          # the kind of authors' file it must be (FOLDER form)


def folder_requests(folder):
    """(requests, {kind: path}, missing kinds) for the authors' files in ``folder``."""
    files = authors.find_files(folder)
    requests = [Request(name, files[authors.ATTRIBUTES[name].file],
                        expect=authors.ATTRIBUTES[name].file)
                for name in authors.FOLDER_ATTRIBUTES
                if authors.ATTRIBUTES[name].file in files]
    missing = [k for k in ('axons', 'dendrites', 'synapses') if k not in files]
    return requests, files, missing


class IdTranslation(NamedTuple):
    """The region ids of a segmentation read through an id map (formats/stores/
    idmap.py IdMap): ``values(ids)`` the compact values (uint32) of original ids, ids the
    map has not seen given new values; ``ids(values)`` the originals back, for messages."""
    values: Callable
    ids: Callable

    @classmethod
    def of(cls, id_map):
        return cls(id_map.compact_ids, id_map.original)

    def translate(self, regions, where, path):
        """The compact values (int64) of an object file's region ids ``regions``; ids
        stored as floats must be exact (below 2^53), id 0 (no region) stays 0, so that
        build_attribute refuses it as for any segmentation."""
        regions = np.asarray(regions).reshape(-1)
        if not regions.size:
            return np.zeros(0, np.int64)
        if regions.dtype.kind == 'i' and int(regions.min()) < 0:
            return regions          # refused by build_attribute, naming them
        if regions.dtype.kind == 'f':
            bits, largest = exact_float_bits(regions.dtype), float(np.abs(regions).max())
            if largest > 2.0 ** bits:
                raise InputError('%s holds region ids as floating-point numbers up to'
                                 ' %.17g, beyond 2^%d, where a float no longer names one'
                                 ' id exactly: store them as 64-bit integers'
                                 % (where, largest, bits), path)
        unique, inverse = np.unique(regions, return_inverse=True)
        values = self.values(unique.astype(np.uint64)).astype(np.int64)
        values[unique == 0] = 0
        return values[inverse.reshape(-1)]


class Result:
    """What ``build`` made: ``arrays`` {name: per-region array}, ``metadata`` {name:
    {HDF5 attribute: value}} to keep on them, ``messages`` (one log line each);
    ``maximum_id``, the largest index of the arrays (each is ``maximum_id + 1`` long)."""

    def __init__(self):
        self.arrays = {}
        self.metadata = {}
        self.messages = []
        self.maximum_id = None


class _Plan(NamedTuple):
    request: Request
    file_kind: str                  # authors' file kind, or None
    group: str = None               # a group of one vector per object
    vector: str = None              # one value per object ...
    via: str = None                 # ... mapped through this attribute or group
    via_group: str = None           # the group that attribute comes from in this file
    kind: str = 'id'
    conflicts: str = 'error'


def build(requests, maximum_id, conflicts=None, variable=None, pad_lookups=False,
          existing=None, report=None, translation=None):
    """Read and build the arrays of ``requests`` (list of Request) for a segmentation
    whose largest region id is ``maximum_id``; returns a Result.  ``conflicts``
    overrides each attribute's rule for a region in several objects; ``variable`` picks
    the dataset of requests without a PATH; ``existing(name)`` returns an attribute
    array already in the segmentation (for ``via``) or None; ``report(done, total)``
    counts datasets read.  ``translation`` (an IdTranslation) for a segmentation read
    through an id map: region ids become its compact values, ``maximum_id`` is the
    largest value given so far, and the arrays grow to the largest value given by the
    end (``Result.maximum_id``; past an array's end a region is in no object, exactly,
    since every id the files list has a value)."""
    kinds = {}
    plans = [_plan(r, variable, kinds) for r in requests]
    names = [r.name for r in requests]
    result = Result()
    top = _Top(maximum_id, translation)
    opened = {}
    try:
        counter = _Counter(report, plans, opened)
        # Objects first, then the values mapped through them.
        for p in sorted(plans, key=lambda p: p.vector is not None):
            if p.vector is None:
                values, stats = _build_objects(p, top, conflicts, pad_lookups,
                                               opened, counter)
                result.arrays[p.request.name] = values
                result.metadata[p.request.name] = {'source': stats[1]}
                result.messages.append('%s (from %s)' % (stats[0].message(), stats[1]))
            else:
                parent = _parent(p, names, result, top, conflicts, existing, opened,
                                 counter)
                _build_mapped(p, parent, result, opened)
    finally:
        for f in opened.values():
            f.close()
    result.maximum_id = top.maximum
    if translation is not None:
        for name, values in result.arrays.items():
            result.arrays[name] = _padded(values, top.maximum + 1)
    return result


class _Top:
    """The largest region id (index) the arrays cover: fixed, or, through an id map,
    the largest compact value given so far."""

    def __init__(self, maximum_id, translation):
        self.maximum = int(maximum_id)
        self.translation = translation

    def regions(self, regions, where, path):
        """An object file's region ids as the arrays' indices."""
        if self.translation is None:
            return regions
        values = self.translation.translate(regions, where, path)
        if values.size:
            self.maximum = max(self.maximum, int(values.max()))
        return values

    def shown(self):
        """What names a region in messages (original ids through an id map), or None."""
        return None if self.translation is None else self.translation.ids


def _padded(values, length):
    """A per-region array made ``length`` long: 0 (no object) or NaN (no value) past its
    end."""
    if len(values) >= length:
        return values
    out = np.full(length, np.nan if values.dtype.kind == 'f' else 0, values.dtype)
    out[:len(values)] = values
    return out


class _Counter:
    """Datasets read so far, out of all those the plans read (listing links is cheap)."""

    def __init__(self, report, plans, opened):
        self.report = report
        self.done = 0
        self.total = 0
        if report is None:
            return
        seen = set()
        for p in plans:
            for group in (p.group, p.via_group):
                if group and p.file_kind and (p.request.file, group) not in seen:
                    seen.add((p.request.file, group))
                    self.total += _open(p.request.file, opened).count(group)

    def part(self):
        start = self.done

        def advance(done, total):
            self.done = start + done
            if self.report is not None:
                self.report(self.done, max(self.total, self.done))
        return advance


def _open(path, opened):
    if path not in opened:
        opened[path] = authors.AuthorsFile(path)
    return opened[path]


def _plan(r, variable, kinds):
    """What a request reads, or InputError saying why it cannot be read."""
    if r.file not in kinds:
        if not os.path.exists(r.file):
            raise InputError('%s: no such file' % r.file, r.file)
        kinds[r.file] = authors.recognise(r.file)
    kind = kinds[r.file]
    path = r.path or variable
    name = os.path.basename(r.file)
    if r.expect and kind != r.expect:
        with authors.AuthorsFile(r.file) as f:
            f.require(r.expect, r.name)
    if kind is None:
        if r.via:
            return _Plan(r, None, vector=path, via=r.via)
        return _Plan(r, None, group=path)
    gives = [a for a, s in authors.ATTRIBUTES.items() if s.file == kind]
    if path is None:
        source = authors.ATTRIBUTES.get(r.name)
        if source is None:
            raise InputError(
                '%s is the authors\' %s file: the attribute name picks what to read, and'
                ' it gives %s; for another name give the dataset, as in %s %s:%s'
                % (name, kind, ', '.join(gives), r.name, name,
                   authors.SIGNATURES[kind][0]), r.file)
        if source.file != kind:
            raise InputError('%s comes from the authors\' %s file (%s), but %s is their %s'
                             ' file' % (r.name, source.file,
                                        ' or '.join(authors.FILE_NAMES[source.file]),
                                        name, kind), r.file)
        if source.group:
            return _Plan(r, kind, group=source.group, conflicts=source.conflicts)
        via = r.via or source.via
        implied = authors.ATTRIBUTES[source.via].group if via == source.via else None
        return _Plan(r, kind, vector=source.vector, via=via, via_group=implied,
                     kind=source.kind)
    path = '/' + path.strip().strip('/')
    f = authors.AuthorsFile(r.file)
    try:
        what = f.describe(path)
        if what is None:
            raise f.error('has no %s (it holds: %s)' % (path, f.inventory()))
        if what == 'group':
            return _Plan(r, kind, group=path, conflicts=authors.group_conflicts(path))
        parent = f.parent_of(path)
        if r.via is None:
            n = f.node(path)
            count = n.size if isinstance(n, h5py.Dataset) else 0
            suggestion = [a for a, s in authors.ATTRIBUTES.items()
                          if s.vector == path]
            raise f.error(
                '%s holds one value per %s (%d values), not one per region, so it cannot'
                ' be read as a per-region lookup; say how it maps to regions with via'
                ' (%s %s:%s via %s)%s'
                % (path, authors.OBJECT_GROUPS.get(parent, 'object') if parent else 'object',
                   count, r.name, name, path,
                   _via_hint(path, parent),
                   ('; or name the attribute %s without a dataset' % suggestion[0])
                   if suggestion else ''))
        return _Plan(r, kind, vector=path, via=r.via, kind=None)
    finally:
        f.close()


def _via_hint(path, parent):
    for name, s in authors.ATTRIBUTES.items():
        if s.group and s.group == parent:
            return name
    return authors.SYNAPSE_VIA if authors.is_synapse_path(path) else 'ATTRIBUTE'


def _build_objects(p, top, conflicts, pad_lookups, opened, counter):
    r = p.request
    rule = conflicts or p.conflicts
    if p.file_kind:
        group = _open(r.file, opened).objects(p.group, counter.part())
        regions, objects, count, what = group
        lookup = None
    else:
        table = read_object_file(r.file, p.group)
        regions, objects, count, what = table[:4]
        lookup = table.lookup_regions
        if lookup is not None and top.translation is not None:
            raise InputError(
                '%s is read as a per-region lookup (index = region id), but the'
                ' segmentation\'s region ids are above 2^32 and read through an id map,'
                ' so no index names a region: list the regions of each object instead'
                ' (one vector of region ids per object)' % os.path.basename(r.file), r.file)
        _check_lookup(r, lookup, top.maximum, pad_lookups)
    regions = top.regions(regions, what, r.file)
    values, stats = attributes.build_attribute(r.name, regions, objects, count, top.maximum,
                                               rule, r.file, region_ids=top.shown())
    return values, (stats, what)


def _check_lookup(r, covers, maximum_id, pad):
    """A per-region lookup must have an entry for every region of the segmentation."""
    if covers is None or covers == maximum_id:
        return
    name = os.path.basename(r.file)
    if covers > maximum_id:
        return              # entries past the largest region id: build_attribute checks
    if pad:
        return
    raise InputError(
        '%s: read as a per-region lookup (index = region id) it has entries for regions'
        ' up to %d, but the segmentation\'s largest region id is %d; a vector of one'
        ' value per object (a dendrite\'s neuron, a class) is not a lookup: give the'
        ' object it maps through with via, or, if this really is a shorter lookup, use'
        ' padLookups true (regions past its end get 0)' % (name, covers, maximum_id), r.file)


def _parent(p, names, result, top, conflicts, existing, opened, counter):
    """The per-region object ids (the region's dendrite ...) a vector maps through."""
    via = p.via
    if via in result.arrays:
        return result.arrays[via]
    if via in names:
        raise InputError('%s is mapped through %s, which is itself mapped; map through an'
                         ' attribute of objects' % (p.request.name, via))
    if p.via_group and p.file_kind:
        # The objects of the same file: consistent with the vector by construction.
        source = authors.ATTRIBUTES.get(via)
        rule = conflicts or (source.conflicts if source else 'error')
        group = _open(p.request.file, opened).objects(p.via_group, counter.part())
        regions = top.regions(group.regions, group.description, p.request.file)
        values, stats = attributes.build_attribute(via, regions, group.objects,
                                                   group.count, top.maximum, rule,
                                                   p.request.file, region_ids=top.shown())
        return values
    if via.startswith('/') or ':' in via:
        file, _, path = via.rpartition(':') if ':' in via else (p.request.file, '', via)
        file = file or p.request.file
        f = _open(file, opened)
        group = f.objects('/' + path.strip('/'), counter.part())
        regions = top.regions(group.regions, group.description, file)
        values, _ = attributes.build_attribute(
            p.request.name + ' via', regions, group.objects, group.count, top.maximum,
            conflicts or authors.group_conflicts('/' + path.strip('/')), file,
            region_ids=top.shown())
        return values
    found = existing(via) if existing is not None else None
    if found is None:
        raise InputError('%s is mapped through %s, but the segmentation has no attribute %s'
                         ' and none is given in this command' % (p.request.name, via, via))
    if np.asarray(found).dtype.kind not in 'iu':
        raise InputError('%s is mapped through %s, which holds %s values, not object ids'
                         % (p.request.name, via, np.asarray(found).dtype))
    if top.translation is not None and len(found) <= top.maximum + 1:
        # Written when the id map was shorter: the values added since are in no object.
        return _padded(np.asarray(found), top.maximum + 1)
    if len(found) != top.maximum + 1:
        raise InputError('%s is mapped through attribute %s of %d entries, but the'
                         ' segmentation has %d regions' % (p.request.name, via, len(found) - 1,
                                                           top.maximum))
    return np.asarray(found)


def _build_mapped(p, parent, result, opened):
    r = p.request
    name = os.path.basename(r.file)
    if p.file_kind:
        vector = _open(r.file, opened).per_object(p.vector, p.kind if p.kind != 'id' else None)
    else:
        vector = _generic_vector(r.file, p.vector)
    where = '%s %s' % (name, p.vector)
    kind = vector.kind
    values, stats = attributes.map_per_object(r.name, vector.values, parent, p.via, kind,
                                              where, r.file)
    metadata = {'source': '%s through %s' % (vector.description, p.via)}
    if kind == 'category':
        metadata.update(category_metadata(vector.categories, vector.values, p.via))
    elif kind == 'number':
        metadata.update(kind='number', unit=vector.unit)
    result.arrays[r.name] = values
    result.metadata[r.name] = metadata
    line = '%s (from %s)' % (stats.message(), vector.description)
    if kind == 'category':
        counts = metadata['category_objects']
        listed = ['%s %d' % (n, c) for n, c in
                  zip(metadata['category_names'][:LOGGED_CATEGORIES], counts)]
        more = len(counts) - len(listed)
        line += ': ' + ', '.join(listed) + (' and %d more categories' % more if more else '')
    result.messages.append(line)


def category_metadata(categories, codes, via):
    """HDF5 attributes that keep a category attribute's names with its int32 codes:
    names, codes and the number of objects (axons, dendrites ...) of each."""
    ordered = sorted(categories.items(), key=lambda kv: kv[1])
    counts = np.bincount(np.asarray(codes, np.int64),
                         minlength=max([c for _, c in ordered] + [0]) + 1)
    return {'kind': 'category',
            'category_names': np.array([n for n, _ in ordered], dtype=h5py.string_dtype()),
            'category_codes': np.array([c for _, c in ordered], np.int32),
            'category_objects': np.array([counts[c] for _, c in ordered], np.int64),
            'objects': NOUNS.get(via, via)}


def _generic_vector(path, dataset):
    """A per-object vector from any HDF5 file (FILE:PATH via ATTRIBUTE)."""
    name = os.path.basename(path)
    if not dataset:
        raise InputError('%s: give the dataset of one value per object (%s:/PATH via ...)'
                         % (name, name), path)
    try:
        if not h5py.is_hdf5(path):
            raise InputError('%s: via reads a dataset of an HDF5 (or MATLAB v7.3) file'
                             % name, path)
        with h5py.File(path, 'r') as f:
            ds = f.get('/' + dataset.strip('/'))
            if not isinstance(ds, h5py.Dataset):
                raise InputError('%s has no dataset %s' % (name, dataset), path)
            values = h5vectors.dataset_vector(ds, '%s %s' % (name, dataset))
            categories = authors.category_names(ds)
    except OSError as e:
        raise InputError('%s cannot be read: %s' % (name, e), path)
    if values.dtype.kind not in 'iuf':
        raise InputError('%s %s holds %s, not numbers' % (name, dataset, values.dtype), path)
    kind = 'category' if categories else ('number' if values.dtype.kind == 'f' else 'id')
    if kind == 'category':
        authors.check_categories(values, categories, '%s %s' % (name, dataset), path)
    return authors.PerObject(values, kind, categories, '', '%s %s: %d values'
                             % (name, dataset, values.size))


def segments_note(path, maximum_id):
    """A log line when the authors' segments.hdf5 lists a different number of regions
    than the segmentation has (the files may not belong to it), else None."""
    try:
        with h5py.File(path, 'r') as f:
            counts = f.get('/segments/voxelCount')
            n = counts.shape[-1] if isinstance(counts, h5py.Dataset) and counts.shape else None
    except OSError:
        return None
    if n is None or n == maximum_id:
        return None
    return ('Note: %s lists %d regions (/segments/voxelCount), the segmentation\'s largest'
            ' region id is %d: are they from the same segmentation?'
            % (os.path.basename(path), n, maximum_id))
