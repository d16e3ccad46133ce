"""The file that holds a segmentation's attributes, and every read and write of it.

A segmentation opened from a Chimera map keeps its attributes in the map itself, under
``/attributes``; one opened from a read-only store keeps them in the store's attribute
file (formats/sidecar.py), which has the same ``/attributes`` group beside a description
of the store and may not exist yet.  ``AttributeFile`` is either: it lists, describes,
reads and writes the per-region arrays, the wiring kept beside them
(``/attributes/.connectome``, pipeline/wiring.py) and the maximum region id, and says
what ``connectome ids`` must know before changing the file (``survey``, pipeline/survey.py).  Writes are
atomic per array (formats/hdf5edit.py) under the file's lock (formats/locks.py).

Text that grows with the data (a category attribute's names, codes and object counts;
the wiring's texts) is kept in scalar datasets, not HDF5 attributes, which must fit in
an object header (64 KiB): an array NAME's categories in ``/attributes/.NAME.categories``
(JSON), the wiring's texts as datasets of its group.  Files that keep them as
attributes, as this bundle wrote them before, read as they did.  Dotted names are never
attribute names, so ChimeraX's lookup by name cannot find them.
Pure: numpy, h5py.
"""

import json
import os
from dataclasses import dataclass
from typing import NamedTuple

import h5py
import numpy as np

from ..errors import InputError
from ..formats import hdf5edit, locks, sidecar
from . import wiring as wiring_tables
from .classes import hdf5_text, object_count
from .survey import GROUP, Survey, maximum_attribute

# The HDF5 attributes of a category array that its categories dataset keeps instead.
CATEGORY_KEYS = ('category_names', 'category_codes', 'category_objects')


def categories_node(name):
    """The name of the dataset beside array ``name`` that keeps its categories."""
    return '.%s.categories' % name


class Category(NamedTuple):
    """One category of a category attribute: its name, code and number of objects."""
    name: str
    code: int
    objects: int


@dataclass(frozen=True)
class AttributeInfo:
    """What an array under /attributes holds, from its HDF5 attributes: ``kind`` 'id'
    (object ids), 'category' (category codes) or 'number' (a float per region); for a
    category, ``categories`` and ``objects``, what they classify ('axon'); ``unit`` and
    ``source`` as written."""
    kind: str
    objects: str = ''
    unit: str = ''
    source: str = ''
    categories: tuple = ()


class Listed(NamedTuple):
    """An array under /attributes: its length and number of objects (integer arrays)
    or of regions with a value (float arrays)."""
    name: str
    length: int
    count: int


class Described(NamedTuple):
    """An array under /attributes and a text saying what it holds, for listings."""
    name: str
    length: int
    text: str


class AttributeFile:
    """The attribute file at ``path``: a Chimera map, or the attribute file of
    ``store`` (a formats.stores.Store, when the store is open) that ``create`` makes."""

    def __init__(self, path, store=None):
        self.path = os.fspath(path)
        self.store = store

    def __repr__(self):
        return 'AttributeFile(%r)' % self.path

    @property
    def exists(self):
        return os.path.isfile(self.path)

    def same_file(self, other):
        """Whether AttributeFile ``other`` is this file (which may not exist yet)."""
        if os.path.exists(self.path) and os.path.exists(other.path):
            return os.path.samefile(self.path, other.path)
        return os.path.abspath(self.path) == os.path.abspath(other.path)

    # --- a store's attribute file ------------------------------------------------------

    def create(self):
        """Make the attribute file of the store if there is none (formats/sidecar.py);
        nothing for a Chimera map."""
        if self.store is not None:
            sidecar.create(self.path, self.store)

    def check(self):
        """InputError unless an existing attribute file was made for the store."""
        if self.store is not None and os.path.exists(self.path):
            sidecar.check(self.path, self.store)

    # --- reading -----------------------------------------------------------------------

    def survey(self):
        """The Survey of the file, or InputError if it holds no segmentation."""
        return Survey(self.path)

    def class_names(self):
        """Names of the 1-D integer arrays anywhere in the file: the segmentation
        attributes ChimeraX's lookup (find_attribute) would find by name.  Reads names
        and shapes only, never array data; none if the file is missing or not HDF5."""
        if not self.exists or not h5py.is_hdf5(self.path):
            return []
        names = []

        def visit(_, node):
            if (isinstance(node, h5py.Dataset) and node.ndim == 1
                    and np.issubdtype(node.dtype, np.integer)):
                names.append(node.name.rsplit('/', 1)[-1])
        with h5py.File(self.path, 'r') as f:
            f.visititems(visit)
        return sorted(set(names))

    def info(self):
        """{name: AttributeInfo} of the 1-D arrays under /attributes, from their HDF5
        attributes only (no array data); empty if the file is missing or not HDF5."""
        out = {}
        if not self.exists or not h5py.is_hdf5(self.path):
            return out
        with h5py.File(self.path, 'r') as f:
            group = f.get(GROUP)
            if not isinstance(group, h5py.Group):
                return out
            for name, node in group.items():
                if isinstance(node, h5py.Dataset) and node.ndim == 1:
                    out[name] = _info(_metadata(group, name, node), node.dtype)
        return out

    def listing(self):
        """[Listed] of the arrays under /attributes, by name."""
        return [Listed(name, length, count)
                for name, length, count, _ in self._survey_attributes()]

    def describe(self):
        """[Described]: what each array under /attributes holds, by name."""
        out = []
        for name, length, count, attrs in self._survey_attributes():
            info = _info(attrs, None)
            if info.kind == 'category':
                text = 'categories of each %s: %s' % (info.objects or 'object', ', '.join(
                    '%s (%d)' % (c.name, c.objects) for c in info.categories))
            elif info.kind != 'number':
                text = '%d objects' % count
            else:
                text = 'a number per region (%s%d regions with a value)' % (
                    (info.unit + '; ') if info.unit else '', count)
            out.append(Described(name, length, text))
        return out

    def _survey_attributes(self):
        out = []
        with h5py.File(self.path, 'r') as f:
            group = f.get(GROUP)
            if isinstance(group, h5py.Group):
                for name, node in sorted(group.items()):
                    if isinstance(node, h5py.Dataset) and node.ndim == 1:
                        values = node[()]
                        if values.dtype.kind == 'f':
                            count = int(np.count_nonzero(~np.isnan(values[1:])))
                        else:
                            count = object_count(values)
                        attrs = _metadata(group, name, node)
                        attrs.setdefault('kind', 'number' if values.dtype.kind == 'f'
                                         else 'id')
                        out.append((name, node.shape[0], count, attrs))
        return out

    def read(self, name):
        """The array /attributes/NAME, or None."""
        with h5py.File(self.path, 'r') as f:
            node = f.get('%s/%s' % (GROUP, name))
            return node[()] if isinstance(node, h5py.Dataset) and node.ndim == 1 else None

    def find_attribute(self, name):
        """What ChimeraX's attribute lookup asks a store's attribute file for: the array
        /attributes/NAME, or ``maximum_segment_id``; None when absent (a Chimera map is
        read by ChimeraX's own lookup)."""
        if not self.exists:
            return None
        with h5py.File(self.path, 'r') as f:
            if name == sidecar.MAXIMUM:
                v = sidecar.maximum_node(f).attrs.get(name) if sidecar.is_sidecar(f) \
                    else None
                return None if v is None else int(np.asarray(v).ravel()[0])
            node = f.get(GROUP + '/' + name)
            if isinstance(node, h5py.Dataset):
                return node[()]
        return None

    def stored_maximum(self):
        """The ``maximum_segment_id`` the file holds (of the map, or of a store's
        attribute file), or None: read, never computed."""
        if not self.exists or not h5py.is_hdf5(self.path):
            return None
        try:
            with h5py.File(self.path, 'r') as f:
                return maximum_attribute(f)
        except (OSError, ValueError, IndexError) as e:
            raise InputError('%s cannot be read: %s' % (self.path, e), self.path)

    def wiring(self):
        """The Wiring kept in the file (pipeline/wiring.py), or None if it has none."""
        where = '%s/%s' % (GROUP, wiring_tables.GROUP)
        try:
            with h5py.File(self.path, 'r') as f:
                g = f.get(where)
                if not isinstance(g, h5py.Group):
                    return None
                version = int(np.asarray(g.attrs.get('.version', 0)))
                if version != wiring_tables.VERSION:
                    raise InputError(
                        '%s: its wiring (/%s) is version %d, this bundle reads version %d;'
                        ' run connectome ids again to replace it'
                        % (self.path, where, version, wiring_tables.VERSION), self.path)
                tables = {}
                for name, columns in wiring_tables.TABLES.items():
                    ds = g.get(name)
                    if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or \
                            ds.shape[1] != len(columns):
                        raise InputError('%s: /%s/%s is missing or damaged; run connectome'
                                         ' ids again' % (self.path, where, name), self.path)
                    tables[name] = ds[()]
                text = {k: _text(g, k) for k in wiring_tables.TEXTS}
        except OSError as e:
            raise InputError('%s cannot be read: %s' % (self.path, e), self.path)
        return wiring_tables.from_tables(tables, text)

    # --- writing -----------------------------------------------------------------------

    def write(self, arrays, maximum_id=None, metadata=None, report=None):
        """Write {name: array} under /attributes (int32, or float32 for float arrays),
        replacing arrays of those names, one atomic change per array
        (formats/hdf5edit.py), so a killed run leaves each attribute either as before or
        as after.  ``metadata``: {name: {HDF5 attribute: value}} kept on the arrays
        (category names, units).  Also writes ``maximum_segment_id`` when ``maximum_id``
        is given and the file has none.  ``report(name)`` after each array.  Holds the
        file's lock (formats/locks.py) throughout, so another run cannot interleave its
        changes; a caller that read the file first should hold it from then."""
        metadata = metadata or {}
        with locks.exclusive(self.path, 'connectome ids'):
            for name, values in arrays.items():
                with hdf5edit.Edit(self.path) as f:
                    _swap_in(f, {name: values}, metadata)
                if report is not None:
                    report(name)
            if maximum_id is not None:
                with hdf5edit.Edit(self.path) as f:
                    if maximum_attribute(f) is None:
                        node = sidecar.maximum_node(f) if sidecar.is_sidecar(f) else \
                            [g for n, g in f['Chimera'].items() if n.startswith('image')][0]
                        node.attrs['maximum_segment_id'] = np.int64(maximum_id)

    def write_wiring(self, wiring):
        """Keep ``wiring`` in /attributes/.connectome (one atomic change, as ``write``
        makes for an array; the caller holds the file's lock from its first read)."""
        datasets, attrs = wiring_tables.to_tables(wiring)
        with locks.exclusive(self.path, 'connectome ids'):
            with hdf5edit.Edit(self.path) as f:
                _swap_in(f, {}, groups={wiring_tables.GROUP: (datasets, attrs)})


def _metadata(group, name, node):
    """{HDF5 attribute: value} of array ``name``, with its categories from their dataset
    (or from the array's own attributes, where older files keep them)."""
    attrs = dict(node.attrs)
    table = group.get(categories_node(name))
    if isinstance(table, h5py.Dataset) and table.shape == ():
        kept = json.loads(hdf5_text(table[()]) or '{}')
        attrs.update({key: kept.get(key, []) for key in CATEGORY_KEYS})
    return attrs


def _text(group, key):
    """A text kept in ``group``: its scalar dataset ``key``, else (older files) its HDF5
    attribute; None if neither."""
    node = group.get(key)
    if isinstance(node, h5py.Dataset) and node.shape == ():
        return hdf5_text(node[()])
    return hdf5_text(group.attrs.get(key))


def _store_text(group, key, text):
    group.create_dataset(key, data=np.bytes_(text.encode('utf-8')))


def check_covers(name, values, maximum, where):
    """InputError unless the per-region array ``values`` of attribute ``name`` has an
    entry for every region id 0..``maximum`` (None: not known, nothing to check).  A
    shorter array would read as "no object" past its end, silently; ``where`` names the
    file or model it came from."""
    length = len(values)
    if maximum is not None and length <= maximum:
        raise InputError('%s: attribute %s has %d values (regions 0 to %d) but the largest'
                         ' region id is %d, so regions past %d would have none; it is'
                         ' damaged or was written for another segmentation (run connectome'
                         ' ids again)' % (where, name, length, length - 1, maximum,
                                          length - 1))


def _info(attrs, dtype):
    """The AttributeInfo of an array from its HDF5 attributes (and, where they give no
    kind, its dtype: floats are numbers)."""
    kind = hdf5_text(attrs.get('kind')) or ('number' if dtype is not None
                                            and dtype.kind == 'f' else 'id')
    categories = ()
    if kind == 'category':
        names = [hdf5_text(n) for n in np.asarray(attrs.get('category_names', []))]
        codes = np.asarray(attrs.get('category_codes', np.zeros(0)), np.int64)
        counts = np.asarray(attrs.get('category_objects', np.zeros(len(names))), np.int64)
        categories = tuple(Category(n, int(c), int(k))
                           for n, c, k in zip(names, codes, counts))
    return AttributeInfo(kind, hdf5_text(attrs.get('objects')) or '',
                         hdf5_text(attrs.get('unit')) or '',
                         hdf5_text(attrs.get('source')) or '', categories)


def _swap_in(f, arrays, metadata=None, groups=None):
    """Build a complete new /attributes group (hard links to the arrays and groups kept,
    new datasets for ``arrays``, new subgroups for ``groups``: {name: ({member: (array,
    {HDF5 attribute: value})}, group's HDF5 attributes)}) in new space, then swap it for
    the old one: only the root group's entries change in place."""
    groups = groups or {}
    old = f.get(GROUP)
    temporary = GROUP + '.new'
    if temporary in f:
        del f[temporary]
    new = f.create_group(temporary)
    replaced = set(arrays) | set(groups) | {categories_node(n) for n in arrays}
    if isinstance(old, h5py.Group):
        for name in old:
            if name not in replaced:
                new[name] = old[name]
    for name, values in arrays.items():
        kind = np.float32 if np.asarray(values).dtype.kind == 'f' else np.int32
        ds = new.create_dataset(name, data=np.ascontiguousarray(values, kind))
        kept = dict((metadata or {}).get(name, {}))
        table = {key: kept.pop(key) for key in CATEGORY_KEYS if key in kept}
        for key, value in kept.items():
            ds.attrs[key] = value
        if table:
            _store_text(new, categories_node(name), json.dumps(
                {key: [hdf5_text(v) if key == 'category_names' else int(v)
                       for v in np.asarray(value).reshape(-1)]
                 for key, value in table.items()}))
    for name, (datasets, attrs) in groups.items():
        sub = new.create_group(name)
        for key, value in attrs.items():
            if isinstance(value, str):
                _store_text(sub, key, value)
            else:
                sub.attrs[key] = value
        for member, (values, member_attrs) in datasets.items():
            ds = sub.create_dataset(member, data=np.ascontiguousarray(values))
            for key, value in member_attrs.items():
                ds.attrs[key] = value
    if old is not None:
        del f[GROUP]
    f.move(temporary, GROUP)
