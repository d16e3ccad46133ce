"""What ``connectome ids`` reads for each attribute and the per-region arrays it builds.

A request is an attribute name, a file, and optionally a dataset or group in it
(``FILE:PATH``) and ``via``, how one value per object maps to regions.  The authors'
files (formats/objectfiles/authors.py) are recognised by their content and the
attribute name picks the dataset (``neuron dendrites.hdf5``: /dendrites/neuronId
through the regions of /dendrites/agglomerate); other files go through the generic
reader (formats/objectfiles).  A vector of one value per object is never read as a
per-region lookup, and a lookup must have one entry per region of the segmentation.
Everything is read and checked before anything is written.  Pure: numpy, h5py.
"""

import os
from typing import NamedTuple

import h5py
import numpy as np

from ..errors import InputError
from ..formats import h5vectors
from ..formats.objectfiles import read_object_file
from ..formats.objectfiles import authors
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


class Result:
    """What ``build`` made: ``arrays`` {name: per-region array}, ``metadata`` {name:
    {HDF5 attribute: value}} to keep on them, ``messages`` (one log line each)."""

    def __init__(self):
        self.arrays = {}
        self.metadata = {}
        self.messages = []


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
          existing=None, report=None):
    """Read and build the arrays of ``requests`` (list of Request) for a segmentation
    whose largest region id is ``maximum_id``; returns a Result.  ``conflicts``
    overrides each attribute's rule for a region in several objects; ``variable`` picks
    the dataset of requests without a PATH; ``existing(name)`` returns an attribute
    array already in the segmentation (for ``via``) or None; ``report(done, total)``
    counts datasets read."""
    kinds = {}
    plans = [_plan(r, variable, kinds) for r in requests]
    names = [r.name for r in requests]
    result = Result()
    opened = {}
    try:
        counter = _Counter(report, plans, opened)
        # Objects first, then the values mapped through them.
        for p in sorted(plans, key=lambda p: p.vector is not None):
            if p.vector is None:
                values, stats = _build_objects(p, maximum_id, conflicts, pad_lookups,
                                               opened, counter)
                result.arrays[p.request.name] = values
                result.metadata[p.request.name] = {'source': stats[1]}
                result.messages.append('%s (from %s)' % (stats[0].message(), stats[1]))
            else:
                parent = _parent(p, names, result, maximum_id, conflicts, existing, opened,
                                 counter)
                _build_mapped(p, parent, result, opened)
    finally:
        for f in opened.values():
            f.close()
    return result


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


def _build_objects(p, maximum_id, conflicts, pad_lookups, opened, counter):
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
        _check_lookup(r, lookup, maximum_id, pad_lookups)
    values, stats = attributes.build_attribute(r.name, regions, objects, count, maximum_id,
                                               rule, r.file)
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


def _parent(p, names, result, maximum_id, conflicts, existing, opened, counter):
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
        values, stats = attributes.build_attribute(via, group.regions, group.objects,
                                                   group.count, maximum_id, rule,
                                                   p.request.file)
        return values
    if via.startswith('/') or ':' in via:
        file, _, path = via.rpartition(':') if ':' in via else (p.request.file, '', via)
        file = file or p.request.file
        f = _open(file, opened)
        group = f.objects('/' + path.strip('/'), counter.part())
        values, _ = attributes.build_attribute(
            p.request.name + ' via', group.regions, group.objects, group.count, maximum_id,
            conflicts or authors.group_conflicts('/' + path.strip('/')), file)
        return values
    found = existing(via) if existing is not None else None
    if found is None:
        raise InputError('%s is mapped through %s, but the segmentation has no attribute %s'
                         ' and none is given in this command' % (p.request.name, via, via))
    if np.asarray(found).dtype.kind not in 'iu':
        raise InputError('%s is mapped through %s, which holds %s values, not object ids'
                         % (p.request.name, via, np.asarray(found).dtype))
    if len(found) != maximum_id + 1:
        raise InputError('%s is mapped through attribute %s of %d entries, but the'
                         ' segmentation has %d regions' % (p.request.name, via, len(found) - 1,
                                                           maximum_id))
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
