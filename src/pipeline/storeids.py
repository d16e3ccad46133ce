"""The ids a store is exported with, and what neuroglancer is told about them
(pipeline/export.py writes the store).

``segment_properties`` turns a segmentation's attributes (its attribute file: a .cmap,
or a store's) into neuroglancer segment properties of its regions.  ``object_volume``
reads a segmentation as the ids of one class's objects instead (``objects neuron``:
each region's voxels take its neuron's id, by the class's attribute array), so a viewer
finds the per-object meshes of ``connectome meshes`` under the ids the voxels hold, and
``object_properties`` describes those objects.  Pure: numpy, h5py.
"""

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..formats import sidecar
from ..formats.source import VolumeSource
from ..formats.stores import IdMap
from .attributefile import AttributeFile


def tag_name(attribute, category):
    """A neuroglancer tag ``attribute:category``: no spaces (neuroglancer's rule), no
    leading '#'."""
    return ('%s:%s' % (attribute, category)).replace(' ', '_').lstrip('#')


def segment_properties(path):
    """(ids, properties) of neuroglancer segment properties from the attributes of a
    segmentation's attribute file (a .cmap, or a store's): each region with a value in
    any attribute; an object-id attribute as a uint32 number, a number attribute as a
    float32 number (as text, empty where a region has none, when some have none: JSON
    has no NaN), the category attributes as tags ``NAME:CATEGORY`` (tag_name).  InputError when the file has none.  Inline JSON: its size
    grows with the regions described (about 10 bytes a region and attribute)."""
    attributes = AttributeFile(path)
    if not attributes.exists:
        raise InputError('attributes %s does not exist' % path, path)
    infos = attributes.info()
    if not infos:
        raise InputError('attributes %s has no attributes (connectome ids adds them)' % path,
                         path)
    arrays = {name: attributes.read(name) for name in sorted(infos)}
    length = max(len(a) for a in arrays.values())
    described = np.zeros(length, bool)
    for a in arrays.values():
        described[:len(a)] |= ~np.isnan(a) if a.dtype.kind == 'f' else a != 0
    described[0] = False                    # region 0 is the background
    ids = np.flatnonzero(described)
    properties, tags, per_id = [], [], [[] for _ in ids]
    for name, a in arrays.items():
        values = np.zeros(length, a.dtype) if a.dtype.kind != 'f' else np.full(length, np.nan)
        values[:len(a)] = a
        values = values[ids]
        info = infos[name]
        if info.kind == 'category':
            for c in info.categories:
                tags.append(tag_name(name, c.name))
                for k in np.flatnonzero(values == c.code):
                    per_id[k].append(len(tags) - 1)
        elif a.dtype.kind == 'f' and np.isnan(values).any():
            # JSON has no NaN: a number without a value for some regions is kept as
            # text, empty where there is none.
            properties.append((name, 'string', ['' if np.isnan(v) else '%.7g' % v
                                                for v in values]))
        elif a.dtype.kind == 'f':
            properties.append((name, 'number', values.astype(np.float32)))
        else:
            properties.append((name, 'number', values.astype(np.uint32)))
    if tags:
        properties.append(('tags', 'tags', (tags, per_id)))
    saved = sidecar.saved_ids(attributes.path)
    if saved is not None:
        # Indexed by the compact values of a store's id map (formats/stores/idmap.py):
        # the regions are named by the ids the map keeps.
        if len(ids) and ids[-1] >= len(saved):
            raise InputError('%s describes region %d, which its id map (%d ids) does not'
                             ' number' % (path, ids[-1], len(saved)), path)
        ids = saved[ids]
    return ids, properties


class ObjectVolume(VolumeSource):
    """A segmentation read as the ids of one class's objects (``objects neuron``): each
    region's voxels take the id of the object it belongs to, by the class's attribute
    array ``table`` (index region id, value object id, 0 for none), so a neuroglancer
    viewer finds each object's mesh (``connectome meshes`` makes them per object) under
    the id the voxels hold.  Read through: every block is mapped as it is read, in the
    reading thread (numpy's take releases the GIL).  A region id beyond the array is an
    error, never a guess.  A cluster's workers reopen it (ObjectVolumeSpec)."""

    def __init__(self, source, table, name, path):
        self.source = source
        self.table = np.ascontiguousarray(table, np.uint32)
        self.class_name = name
        self.attribute_path = path
        self.dtype = np.dtype(np.uint32)

    name = property(lambda self: self.source.name)
    shape = property(lambda self: self.source.shape)
    offset = property(lambda self: self.source.offset)
    chunk_shape = property(lambda self: self.source.chunk_shape)
    voxel_size = property(lambda self: self.source.voxel_size)
    origin = property(lambda self: self.source.origin)
    paths = property(lambda self: self.source.paths)
    tiles = property(lambda self: self.source.tiles)
    chunks_read = property(lambda self: self.source.chunks_read)
    bytes_read = property(lambda self: self.source.bytes_read)

    def positions_in(self, start, stop):
        return self.source.positions_in(start, stop)

    def count_in(self, start, stop):
        return self.source.count_in(start, stop)

    def is_empty(self, start, stop):
        return self.source.is_empty(start, stop)

    def prepare(self, start, stop):
        return self.source.prepare(start, stop)

    def filtered_tiles(self):
        return self.source.filtered_tiles()

    def set_cache_limit(self, nbytes):
        self.source.set_cache_limit(nbytes)

    def worker_spec(self):
        spec = self.source.worker_spec()
        return None if spec is None else ObjectVolumeSpec(
            spec, os.path.abspath(self.attribute_path), self.class_name)

    def close(self):
        self.source.close()

    def read(self, start=(0, 0, 0), stop=None, step=(1, 1, 1)):
        a = self.source.read(start, stop, step)
        if getattr(self.source, 'id_map', None) is not None and len(self.table):
            # Compact values past the table are ids no object file names (connectome ids
            # gave each id they name a value, object_volume read by that map): no object.
            past = a >= len(self.table)
            return np.where(past, 0, self.table.take(np.where(past, 0, a))).astype(np.uint32)
        if a.size and int(a.max()) >= len(self.table):
            raise InputError('region %d has no entry in %s of %s (it lists %d regions):'
                             ' these are not the attributes of this segmentation'
                             % (int(a.max()), self.class_name, self.attribute_path,
                                len(self.table)), self.attribute_path)
        return self.table.take(a)


@dataclass(frozen=True)
class ObjectVolumeSpec:
    """How a cluster's worker opens an ObjectVolume: the source's own worker spec, the
    attribute file (at the same path there) and the class."""
    source: object
    path: str
    name: str

    def open(self):
        return object_volume(self.source.open(), self.path, self.name)


def object_volume(source, path, name):
    """``source`` read as the object ids of class ``name`` of the attribute file ``path``
    (an ObjectVolume)."""
    attributes = AttributeFile(path)
    if not attributes.exists:
        raise InputError('attributes %s does not exist' % path, path)
    info = attributes.info().get(name)
    table = attributes.read(name)
    if info is None or info.kind != 'id' or table is None or table.dtype.kind not in 'iu':
        raise InputError('%s has no object ids of %s (connectome ids writes them)'
                         % (path, name), path)
    if table.size and int(table.min()) < 0:
        raise InputError('%s of %s holds negative object ids' % (name, path), path)
    if getattr(source, 'id_map', None) is not None:
        _use_ids_of(source, attributes.path)
    return ObjectVolume(source, table, name, path)


def _use_ids_of(store, path):
    """Read ``store`` (read through an id map) by the map its attribute file ``path``
    keeps, whose compact values index the file's arrays; InputError when the file keeps
    none, or one that does not start as the map the store has read so far."""
    saved = sidecar.saved_ids(path)
    if saved is None:
        raise InputError('%s keeps no id map, while %s holds region ids above 2^32: its'
                         ' arrays cannot be matched to the store\'s regions'
                         % (path, store.location), path)
    read = store.id_map.ids
    if len(read) > len(saved) or not np.array_equal(saved[:len(read)], read):
        raise InputError('%s keeps an id map other than the one %s was read through'
                         % (path, store.location), path)
    store.set_id_map(IdMap(saved, where=str(store.location)))
    store.copy_values()


def object_properties(path, name):
    """Segment properties (as segment_properties) of the objects of class ``name``: each
    object's label ``NAME N`` and, as tags, the categories of the attributes that
    classify these objects (their ``objects``), taken from the object's regions."""
    attributes = AttributeFile(path)
    table = attributes.read(name)
    ids, first = np.unique(table[1:], return_index=True)
    first = first[ids != 0] + 1             # a region of each object
    ids = ids[ids != 0]
    properties = [('label', 'label', ['%s %d' % (name, i) for i in ids])]
    tags, per_id = [], [[] for _ in ids]
    for attribute, info in sorted(attributes.info().items()):
        if info.kind != 'category' or info.objects != name:
            continue
        codes = attributes.read(attribute)
        values = np.where(first < len(codes), codes[np.minimum(first, len(codes) - 1)], 0)
        for c in info.categories:
            tags.append(tag_name(attribute, c.name))
            for k in np.flatnonzero(values == c.code):
                per_id[k].append(len(tags) - 1)
    if tags:
        properties.append(('tags', 'tags', (tags, per_id)))
    return ids, properties
