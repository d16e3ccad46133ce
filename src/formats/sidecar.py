"""The attribute file of a read-only store: a small HDF5 file that holds what
``connectome ids`` writes for a segmentation opened from a chunked store (the store
itself is never written, and may be a public bucket).

Layout, as a Chimera map keeps its attributes, so the same crash-safe writer
(pipeline/attributefile.py, formats/hdf5edit.py) adds to it and reads it::

    /attributes/NAME        int32 array per class, index region id, value object id
    /store                  attribute connectome_sidecar: JSON {store (its URL), format,
                            size (x,y,z of the full resolution), value_type}; and
                            maximum_segment_id once known
    /idmap                  for a store read through an id map (stores/idmap.py): the
                            original id (field ``id``, uint64) of each compact value, so
                            that the attributes, indexed by compact value, keep their
                            meaning when the store is opened again (save_ids,
                            saved_ids); a compound type, so that no lookup takes it
                            for an attribute array

A Chimera map that ``connectome combine`` copied from such a store keeps the same
``/idmap`` (add_ids): its voxels are the compact values, its attributes are indexed by
them, and the map gives the store's ids back (session/storegrid.py original_ids).

The store's description is one attribute of a group made after /attributes: HDF5 then
keeps every header that later changes in the file's first page, which the atomic edits
of formats/hdf5edit.py need (several long attributes overflow a header into a second
place, and adding maximum_segment_id is then refused).

The file of a local store lies beside it (``STORE.attributes.h5``); a remote store's
lies in a folder the caller names (ChimeraX's user cache).  Pure: h5py.
"""

import hashlib
import json
import os
import re
import shutil

import h5py
import numpy as np

from ..errors import InputError
from . import locks

SUFFIX = '.attributes.h5'
MARK = 'connectome_sidecar'
GROUP = 'attributes'
STORE = 'store'
MAXIMUM = 'maximum_segment_id'
IDMAP = 'idmap'
ID_RECORD = np.dtype([('id', '<u8')])


def default_path(store, cache_folder=None):
    """Where a store's attribute file goes when none is given."""
    loc = store.location
    if loc.local is not None:
        return loc.local.rstrip(os.sep) + SUFFIX
    if cache_folder is None:
        raise InputError('%s is remote; name a local file for its attributes'
                         ' (attributesFile FILE)' % loc, loc.text)
    readable = re.sub(r'[^A-Za-z0-9._-]+', '_', loc.url.split('://', 1)[-1]).strip('_')
    digest = hashlib.sha1(loc.url.encode()).hexdigest()[:10]
    return os.path.join(cache_folder, '%s-%s%s' % (readable[-80:], digest, SUFFIX))


def is_sidecar(f):
    """Whether an open h5py file is a store's attribute file."""
    node = f.get(STORE)
    return isinstance(node, h5py.Group) and MARK in node.attrs


def description(f):
    """{store, format, size, value_type} of an open attribute file."""
    return json.loads(f[STORE].attrs[MARK])


def maximum_node(f):
    """The group that carries maximum_segment_id in an attribute file."""
    return f[STORE]


def create(path, store):
    """Make the attribute file of ``store`` at ``path`` if there is none; check the one
    there is made for a store of this size and type.  Written under a temporary name
    and renamed into place (locks.atomic_output), so no half-written file ever has the
    final name."""
    path = os.path.abspath(path)
    if os.path.exists(path):
        check(path, store)
        return path
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise InputError('cannot make folder %s for the attributes of %s: %s'
                             % (folder, store.location, e.strerror or e), path)
    with locks.exclusive(path, 'connectome ids'):
        if os.path.exists(path):
            check(path, store)
            return path
        try:
            with locks.atomic_output(path, 'connectome ids', replace=True) as temp:
                with h5py.File(temp, 'w') as f:
                    f.create_group(GROUP)
                    f.create_group(STORE).attrs[MARK] = json.dumps({
                        'store': store.url, 'format': store.format,
                        'size': [int(v) for v in reversed(store.shape)],
                        'value_type': store.dtype.name})
        except OSError as e:
            raise InputError('cannot write %s (the attributes of %s): %s'
                             % (path, store.location, e.strerror or e), path)
    return path


def check(path, store):
    """InputError unless ``path`` is an attribute file made for a store of this size."""
    try:
        with h5py.File(path, 'r') as f:
            if not is_sidecar(f):
                raise InputError('%s is not a store attribute file (no /%s %s)'
                                 % (path, STORE, MARK), path)
            size = tuple(int(v) for v in description(f)['size'])
    except (OSError, KeyError, ValueError) as e:
        raise InputError('%s cannot be read as a store attribute file: %s' % (path, e), path)
    want = tuple(reversed(store.shape))
    if size != want:
        raise InputError('%s holds attributes of a store of %s voxels, not of %s (%s voxels)'
                         % (path, ' x '.join(map(str, size)), store.location,
                            ' x '.join(map(str, want))), path)



def saved_ids(path):
    """The id map saved in the attribute file at ``path`` (uint64 originals in compact
    order), or None (no file, or no map in it)."""
    if not os.path.isfile(path):
        return None
    try:
        with h5py.File(path, 'r') as f:
            node = f.get(IDMAP)
            return None if node is None else np.asarray(node['id'], np.uint64)
    except (OSError, ValueError) as e:
        raise InputError('%s cannot be read as a store attribute file: %s' % (path, e), path)


def save_ids(path, ids, command='connectome ids'):
    """Keep ``ids`` (an IdMap's originals in compact order) in the attribute file at
    ``path``, which must exist: a copy with the map is written and renamed into place
    (locks.atomic_output), so the file is whole at every moment.  A map saved before
    must be the start of ``ids`` (values are never renumbered)."""
    ids = np.asarray(ids, np.uint64)
    before = saved_ids(path)
    if before is not None:
        if len(before) > len(ids) or not np.array_equal(before, ids[:len(before)]):
            raise InputError('%s holds an id map that is not the start of this one: its'
                             ' attributes were made for other values' % path, path)
        if len(before) == len(ids):
            return
    try:
        with locks.atomic_output(path, command, replace=True) as temp:
            shutil.copyfile(path, temp)
            with h5py.File(temp, 'a') as f:
                if IDMAP in f:
                    del f[IDMAP]
                table = np.zeros(len(ids), ID_RECORD)
                table['id'] = ids
                f.create_dataset(IDMAP, data=table)
    except OSError as e:
        raise InputError('cannot write %s: %s' % (path, e.strerror or e), path)


def add_ids(path, ids):
    """Keep ``ids`` (an IdMap's originals in compact order) as ``/idmap`` in the HDF5 file
    ``path`` that is being written (a .cmap combine made, not yet published under its
    name: formats/locks.py atomic_output), as save_ids keeps them in an attribute file."""
    table = np.zeros(len(ids), ID_RECORD)
    table['id'] = np.asarray(ids, np.uint64)
    try:
        with h5py.File(path, 'a') as f:
            f.create_dataset(IDMAP, data=table)
    except (OSError, ValueError) as e:
        raise InputError('cannot write the id map into %s: %s' % (path, e), path)
