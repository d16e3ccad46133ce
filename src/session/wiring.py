"""The wiring of a segmentation as the connectome commands use it: the one kept in its
file by ``connectome ids SEGMENTATION FOLDER``, or the one of another folder of the
authors' files (``from FOLDER``), read once per file state and kept for the session;
the folder of the authors' files a segmentation remembers; and where voxel positions
of the authors' files (1-based x, y, z) are in the scene.
"""

import os

import numpy as np

from ..errors import InputError
from ..formats.objectfiles import authors
from ..pipeline import wiring as pure
from .maps import segmentation_file

_CACHE = {}         # (kind, path) -> (file state, Wiring)


def _state(paths):
    out = []
    for p in paths:
        st = os.stat(p)
        out.append((p, st.st_size, st.st_mtime_ns))
    return tuple(out)


class SegmentationWiring:
    """What a connectome command works on: ``wiring`` (pipeline/wiring.Wiring), ``file``
    (the segmentation's AttributeFile) and its ``path``, its open ``models``, ``folder``
    of the authors' files (given or remembered, which may be gone since; None if
    unknown) and ``notes`` to log."""

    def __init__(self, wiring, file, models, folder, notes):
        self.wiring, self.file, self.models = wiring, file, models
        self.folder, self.notes = folder, notes
        self._transform = None

    @property
    def path(self):
        return self.file.path

    def scene_points(self, positions):
        """Scene coordinates of 1-based voxel positions (n, 3: x, y, z) of the files."""
        if self._transform is None:
            self._transform = scene_transform(self.file, self.models)
        return self._transform * (np.asarray(positions, np.float64) - 1.0)

    def smallest_step(self):
        """The segmentation's smallest voxel step in scene units (marker sizes)."""
        axes = self.scene_points(np.array([[1, 1, 1], [2, 1, 1], [1, 2, 1], [1, 1, 2]]))
        return float(np.linalg.norm(axes[1:] - axes[0], axis=1).min())

    def authors_file(self, kind):
        """Path of the authors' file of ``kind`` in the folder, or InputError."""
        if self.folder is None:
            raise InputError('%s does not know the folder of the authors\' files; give it'
                             ' with from FOLDER' % os.path.basename(self.path), self.path)
        if not os.path.isdir(self.folder):
            raise InputError('%s remembers the authors\' files in %s, which is gone; give'
                             ' their folder with from FOLDER'
                             % (os.path.basename(self.path), self.folder), self.path)
        files = authors.find_files(self.folder)
        if kind not in files:
            raise InputError('%s has no %s file (%s)' % (self.folder, kind, ' or '.join(
                authors.FILE_NAMES[kind])), self.folder)
        return files[kind]


def segmentation_wiring(session, segmentation, folder=None):
    """The SegmentationWiring of a segmentation (.cmap path or open model); ``folder``
    (from FOLDER) reads that folder's files instead of the kept wiring."""
    file, models = segmentation_file(session, segmentation)
    path = file.path
    file.survey()                               # a clear error if it is no segmentation
    notes = []
    if folder is not None:
        folder = os.path.abspath(os.path.expanduser(folder))
        files = authors.find_files(folder)
        key = ('folder', folder, path)
        state = _state(sorted(files.values()) + [path])
        cached = _CACHE.get(key)
        if cached is None or cached[0] != state:
            w = pure.derive(folder, per_region=file.read)
            _CACHE[key] = (state, w)
            notes.extend(w.notes)
        return SegmentationWiring(_CACHE[key][1], file, models, folder, notes)
    key = ('kept', path)
    state = _state([path])
    cached = _CACHE.get(key)
    if cached is None or cached[0] != state:
        w = file.wiring()
        if w is None:
            raise InputError(
                '%s has no wiring: run connectome ids %s FOLDER (the folder of the authors\''
                ' files) to keep it there, or give the folder with from FOLDER'
                % (path, os.path.basename(path)), path)
        _CACHE[key] = (state, w)
    w = _CACHE[key][1]
    changed = pure.changed_files(w)
    if changed and w.folder and os.path.isdir(w.folder):
        notes.append('Note: %s changed in %s since connectome ids read it; the wiring kept in'
                     ' %s is from before (run connectome ids again to update it)'
                     % (', '.join(changed), w.folder, os.path.basename(path)))
    return SegmentationWiring(w, file, models, w.folder, notes)


def remembered_folder(file):
    """The folder of the authors' files ``connectome ids`` read for a segmentation's
    AttributeFile, or None."""
    try:
        w = file.wiring()
    except InputError:
        return None
    return w.folder if w is not None else None


def scene_transform(file, models=()):
    """The Place taking 0-based voxel indices (i, j, k) of a segmentation to scene
    coordinates: an open model's, else its file's (origin, step, rotation as ChimeraX
    reads them)."""
    if models:
        m = models[0]
        return m.scene_position * m.data.ijk_to_xyz_transform
    source = file.survey().source
    if source is not None:
        raise InputError('%s holds the attributes of the store %s; open the store (open'
                         ' ... format ...) and name its model' % (file.path, source.url),
                         file.path)
    from chimerax.map_data import open_file
    return open_file(file.path)[0].ijk_to_xyz_transform
