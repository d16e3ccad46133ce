"""A chunked store (formats/stores/) opened in ChimeraX as one multiresolution volume.

``store_grid`` gives the GridData ChimeraX shows: one ``StoreLevelGrid`` per scale of
the store, gathered in a ``StoreGrid``, ChimeraX's own SubsampledGrid (what its cmap and
Imaris readers return for files with precomputed levels), so a Volume shown at step N
reads the coarsest scale whose factors divide N, and only the chunks of the region
shown.  A segmentation's attributes live in a small file beside the read-only store
(formats/sidecar.py), the grid's ``attribute_file`` (pipeline/attributefile.py):
``find_attribute`` reads it, which is where ChimeraX's ``segmentation colors ...
byAttribute`` looks after the model's own attributes.  The open-command provider is
commands/openstore.py.

A session keeps a volume as its path and file type (ChimeraX's map/session.py) and
reopens it through ChimeraX's table of map file types: ``reopen_store`` is what that
table calls for a store (session/sessions.py registers it; a store opened with another
channel or attribute file records reopening.NOT_REOPENED instead), and a StoreGrid's original
voxel size and origin are the store's own, so ChimeraX saves those given at open.
"""

import contextlib
import glob
import os
import shutil

import chimerax
import numpy as np
from chimerax.core.errors import UserError
from chimerax.map_data import GridData, SubsampledGrid

from ..errors import InputError
from ..progress import Progress
from ..formats import sidecar, stores
from ..formats.locks import atomic_output
from ..pipeline.attributefile import AttributeFile
from .reopening import NOT_REOPENED, not_reopened


class StoreLevelGrid(GridData):
    """GridData over one scale (a formats.stores StoreLevel).  ``log_error`` (the
    session logger's ``error``, set by the opener) is where a block that cannot be read
    is reported, as ChimeraX reports a file it cannot read; the chunks that fail are
    shown as zeros, so the volume stays usable.  Without it the error is a UserError."""

    log_error = None
    _reported = None            # the messages logged, each once

    def __init__(self, level, size, origin, step, name, path, file_type):
        self.level = level
        GridData.__init__(self, size, value_type=level.store.dtype, origin=origin,
                          step=step, name=name, path=path, file_type=file_type,
                          grid_id=str(level.key))

    def read_matrix(self, ijk_origin, ijk_size, ijk_step, progress):
        start = tuple(reversed(ijk_origin))
        stop = tuple(o + s for o, s in zip(start, reversed(ijk_size)))
        step = tuple(reversed(ijk_step))
        if self.log_error is None:
            try:
                return self.level.read(start, stop, step)
            except InputError as e:
                raise UserError(str(e))
        return self.level.read_or_zeros(start, stop, step, self._report)

    def _report(self, message):
        # Once per message: ChimeraX asks again for a region it shows again.
        if self._reported is None:
            self._reported = set()
        if message not in self._reported:
            self._reported.add(message)
            self.log_error('%s (shown as zeros)' % message)


class StoreGrid(SubsampledGrid):
    """The multiresolution grid of a store; ``store``, ``attribute_file`` (an
    AttributeFile of the store, which may not exist yet; None if it has none)."""

    def __init__(self, store, voxel_size, origin, attribute_file=None):
        self.store = store
        self.attribute_file = attribute_file
        path = store.location.text
        # The file type a session records: the store's format where reopen_store gives
        # this grid again, else one whose reopening refuses.
        file_type = store.format if _reopens_as_is(store, attribute_file) else NOT_REOPENED
        levels = []
        for level in store.levels:
            step = tuple(v * f for v, f in zip(voxel_size, reversed(level.factors)))
            levels.append(StoreLevelGrid(level, tuple(reversed(level.shape)), origin, step,
                                         store.name, path, file_type))
        SubsampledGrid.__init__(self, levels[0])
        for level, grid in zip(store.levels[1:], levels[1:]):
            self.add_subsamples(grid, tuple(reversed(level.factors)))
        # What a session restore reopens the store with; the voxel size and origin the
        # volume has are saved in the session where they differ.
        self.original_step = tuple(float(v) for v in store.voxel_size)
        self.original_origin = tuple(float(v) for v in store.origin)

    def set_step(self, step):
        """The voxel size of the full resolution; each scale's follows by its factors."""
        SubsampledGrid.set_step(self, step)
        for factors, grid in self.available_subsamplings.items():
            grid.set_step(tuple(v * f for v, f in zip(step, factors)))

    def set_origin(self, origin):
        SubsampledGrid.set_origin(self, origin)
        for grid in self.available_subsamplings.values():
            grid.set_origin(origin)

    _as_stored = False

    @contextlib.contextmanager
    def as_stored(self):
        """``find_attribute`` answers with the file's arrays as they are and reads no
        voxel, for the bundle's own lookups (the readout, ``connectome at``): they index
        by values read already and take a value past an array's end for a region in no
        object (session/classes.py)."""
        self._as_stored = True
        try:
            yield
        finally:
            self._as_stored = False

    def find_attribute(self, attribute_name):
        """A segmentation attribute from the store's attribute file, or None.

        For a store read through an id map, ChimeraX's segmentation code (``segmentation
        surfaces ... where/each``, ``segmentation colors``) sizes its tables by what this
        gives (``maximum_segment_id``, the arrays' lengths) before it reads voxels, then
        indexes them in C with voxel values: a value given during that read would be past
        them (a crash).  So first every id of every scale gets its value
        (``complete_id_map``, once per map); then the maximum is the last of those values
        and every per-region array is exactly that long (padded with 0, or cut where the
        object files named ids no voxel has)."""
        id_map = self.store.id_map
        count = None if id_map is None or self._as_stored else \
            complete_id_map(self.store, self._report_unread())
        if count is not None and attribute_name == sidecar.MAXIMUM:
            return count - 1
        if self.attribute_file is None:
            return None
        found = self.attribute_file.find_attribute(attribute_name)
        if count is not None and isinstance(found, np.ndarray) and found.ndim == 1:
            found = fit_to_values(found, count)
        return found

    def _report_unread(self):
        """Where a chunk that cannot be read is reported: the full resolution's
        ``log_error`` (each message once, "shown as zeros"), else None (an error)."""
        grid = self.available_subsamplings.get((1, 1, 1))
        return grid._report if getattr(grid, 'log_error', None) is not None else None


def complete_id_map(store, report=None, slab_bytes=256 << 20):
    """Give every id of every scale of a store read through an id map its value, once
    per map (read in slabs of whole chunks, nothing kept); the number of values then
    (0 included), which no voxel value reaches.  ChimeraX reads the whole volume as well
    when a segmentation records no maximum; this reads each coarser scale too (about a
    seventh more), since ChimeraX may read any of them.  A chunk that cannot be read is
    told to ``report(message)`` and stays zeros (the map refuses its ids later, so no
    value can pass the tables); without ``report`` it is a UserError and the map is
    left as it was."""
    id_map = store.id_map
    if id_map.complete is not None:
        return id_map.complete
    levels = store.levels
    total = sum(level.shape[0] for level in levels)
    progress = Progress('%s: giving every region id its value' % store.name, total, 'planes')
    for level in levels:
        nz = level.shape[0]
        plane = int(np.prod(level.shape[1:])) * 8
        cz = level.chunk_shape[0]
        step = max(cz, max(1, slab_bytes // max(plane, 1)) // cz * cz)
        for z in range(0, nz, step):
            start, stop = (z, 0, 0), (min(z + step, nz),) + tuple(level.shape[1:])
            if report is not None:
                level.read_or_zeros(start, stop, (1, 1, 1), report)
            else:
                try:
                    level.read(start, stop)
                except InputError as e:
                    raise UserError("%s: ChimeraX's segmentation commands need every region"
                                    ' id of the store to have its value first, and %s'
                                    % (store.name, e))
            progress.advance(stop[0] - z)
    id_map.complete = len(id_map)
    return id_map.complete


def fit_to_values(values, count):
    """A per-region array (index: compact value) exactly ``count`` long: values past
    its end are regions in no object (0); entries past ``count`` are ids the object
    files name that no voxel has."""
    if len(values) >= count:
        return values[:count]
    out = np.zeros(count, values.dtype)
    out[:len(values)] = values
    return out


def original_ids(grid, values):
    """The region ids a user knows of a map's voxel ``values`` (an int or an array): a
    store read through an id map (formats/stores/idmap.py), and a Chimera map combined
    from one (which keeps the map, formats/sidecar.py add_ids), hold compact values; any
    other grid holds the ids themselves."""
    id_map = grid_id_map(grid)
    return values if id_map is None else id_map.original(values)


def region_values(grid, ids):
    """The voxel values of region ``ids`` in a map (the reverse of original_ids): for a
    grid with an id map, the compact values (-1 for an id it does not number), else the
    ids."""
    id_map = grid_id_map(grid)
    return ids if id_map is None else id_map.known_values(ids)


_CMAP_ID_MAPS = {}          # (path, modification time, size) -> IdMap or None


def grid_id_map(grid):
    """The id map of a map's grid: its store's, or the one a Chimera map keeps (read
    once per file version), or None."""
    store = getattr(grid, 'store', None)
    if store is not None:
        return getattr(store, 'id_map', None)
    path = getattr(grid, 'path', None)
    if not isinstance(path, str) or not path.lower().endswith(('.cmap', '.cmp')):
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    key = (os.path.realpath(path), info.st_mtime_ns, info.st_size)
    if key not in _CMAP_ID_MAPS:
        ids = sidecar.saved_ids(path)
        _CMAP_ID_MAPS[key] = None if ids is None else stores.IdMap(ids, where=path)
    return _CMAP_ID_MAPS[key]


def has_id_map(grid):
    """Whether a map's grid is a store read through an id map: ChimeraX's segmentation
    code then looks its attributes up in the grid (StoreGrid.find_attribute), never in
    arrays set on the model, which would be sized for another count of values."""
    store = getattr(grid, 'store', None)
    return store is not None and getattr(store, 'id_map', None) is not None


def reads_through_id_map(attribute_file):
    """Whether the segmentation of an AttributeFile (pipeline/attributefile.py) is read
    through an id map: its arrays are then indexed by compact values, and a file
    indexed by region id (the authors' segments.hdf5) names no region of it."""
    store = attribute_file.store
    if store is not None:
        return store.id_map is not None
    return sidecar.saved_ids(attribute_file.path) is not None


def use_saved_id_map(store, attributes_path, compact_ids=None):
    """Read the store through the id map its attribute file keeps, if it keeps one (its
    attributes are indexed by that map's values); InputError when ``compact_ids`` is
    False then (the attributes would name other regions)."""
    saved = sidecar.saved_ids(attributes_path)
    if saved is None:
        return
    if compact_ids is False:
        raise InputError('%s keeps attributes indexed by an id map (the store has region ids'
                         ' above 2^32); open the store without compactIds false, or with'
                         ' another attributesFile' % attributes_path, attributes_path)
    store.set_id_map(stores.IdMap(saved, where=str(store.location)))


def store_grid(store, voxel_size=None, origin=None, attribute_file=None, log_error=None):
    """The GridData of a store: its own voxel size and origin (x,y,z) unless given;
    ``attribute_file`` an AttributeFile (pipeline/attributefile.py); ``log_error``
    (a logger's ``error``) where its levels report blocks they cannot read."""
    grid = StoreGrid(store, tuple(voxel_size or store.voxel_size),
                     tuple(store.origin if origin is None else origin), attribute_file)
    for level_grid in grid.available_subsamplings.values():
        level_grid.log_error = log_error
    return grid


def attributes_cache_folder():
    """Where the attribute files of remote stores go: ChimeraX's per-user cache folder
    that every ChimeraX version shares (``app_dirs_unversioned``; ``app_dirs``' is named
    by the version, so an upgrade would lose every ``connectome ids`` result).  The files
    earlier releases kept in a version's folder (its subfolder ``1.7/`` ...) are copied
    in when the shared folder lacks them, the newest copy of each."""
    root = chimerax.app_dirs_unversioned.user_cache_dir
    folder = os.path.join(root, 'connectome', 'attributes')
    if folder not in _adopted:
        # Once per process: the earlier versions' folders do not grow meanwhile.
        _adopted.add(folder)
        try:
            _adopt_versioned(root, folder)
        except OSError:
            pass        # unreadable or changing: the shared folder's own files stand
    return folder


_adopted = set()


def _adopt_versioned(root, folder):
    """Copy into ``folder`` the attribute files under ``root/VERSION/connectome/
    attributes/`` that it lacks, each whole (locks.atomic_output: two ChimeraX copying
    at once, or an ids run meanwhile, never leave half a file; the one that loses the
    race keeps the other's)."""
    newest = {}
    for path in glob.glob(os.path.join(glob.escape(root), '*', 'connectome', 'attributes',
                                       '*' + sidecar.SUFFIX)):
        name = os.path.basename(path)
        if os.path.isfile(path) and (name not in newest or os.path.getmtime(path)
                                     > os.path.getmtime(newest[name])):
            newest[name] = path
    for name, path in sorted(newest.items()):
        target = os.path.join(folder, name)
        if os.path.lexists(target):
            continue
        os.makedirs(folder, exist_ok=True)
        try:
            with atomic_output(target, 'connectome open') as temp:
                shutil.copy2(path, temp)
        except (InputError, OSError):
            continue            # taken meanwhile, or unreadable: the folder's own wins


def _reopens_as_is(store, attribute_file):
    """Whether reopen_store gives the store as opened: channel 0, the default attribute
    file."""
    if store.spec.channel != 0:
        return False
    if attribute_file is None:
        return True
    try:
        default = sidecar.default_path(store, attributes_cache_folder())
    except InputError:
        return False
    return os.path.abspath(default) == os.path.abspath(attribute_file.path)


def reopen_store(path, format, log=None):
    """[StoreGrid] of the store at ``path`` (its location text), as a session restore
    reopens it: channel 0 and the default attribute file (formats/sidecar.py), the voxel
    size and origin set afterwards from the session.  When it cannot be opened, a warning
    naming the store in ``log`` (the session's logger ChimeraX passes) and an OSError,
    after which ChimeraX restores the session's other models."""
    try:
        store = stores.open_store(path, format)
        attributes = AttributeFile(sidecar.default_path(store, attributes_cache_folder()),
                                   store)
        attributes.check()
        use_saved_id_map(store, attributes.path)
    except InputError as e:
        raise not_reopened('the %s store %s cannot be reopened: %s' % (format, path, e), log)
    return [store_grid(store, attribute_file=attributes,
                       log_error=None if log is None else log.error)]

