"""The first half of ``connectome meshes``: the surfaces of objects in one chunk of the
full-resolution segmentation, and the folder of finished chunks a re-run continues from.

A chunk at grid position g (x,y,z) of side C voxels owns the marching cubes' cells whose
low corner is voxel g*C - 1 up to g*C + C - 2 (the last chunk along an axis, up to the
volume's last voxel): it reads the voxels g*C - 1 .. g*C + C - 1, one voxel of overlap
with the chunk before it, so the two meet on the plane of voxel centres they share with
the same vertices.  Voxels outside the volume read as 0, so every surface is closed at
the volume's boundary.  The regions read are relabelled to objects through the class's
attribute array (fastremap), then meshed together (zmesh, every object in one pass).
Vertices are in voxel index coordinates (voxel i's centre at i), which is how layout.py's
"stored model" coordinates are defined here; a chunk's vertices lie in
[g*C - 1, g*C - 1 + C], its octree node.

Finished chunks are files ``chunk-X-Y-Z.npz`` in a work folder beside the output, each
written whole (formats/locks.py atomic_output) with the run's parameters in
``meshing.json`` (a run with other parameters starts afresh).  Pure: numpy, h5py,
fastremap, zmesh.
"""

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from typing import Optional, Tuple

import fastremap
import h5py
import numpy as np
import zmesh

from ..errors import InputError
from ..formats import locks, sidecar, stores
from ..formats.stores.idmap import SavedIdMap

COMMAND = 'connectome meshes'
MARKER = 'meshing.json'
_CHUNK = re.compile(r'chunk-(\d+)-(\d+)-(\d+)\.npz')
_open = {}                      # per process: the open file or store of each Segmentation


@dataclass(frozen=True)
class Segmentation:
    """Where the full-resolution region ids are, picklable for worker processes: a
    Chimera map's ``path`` and HDF5 ``dataset``, or a store's URL ``path`` and
    ``store_format``; ``shape`` z,y,x; ``origin`` and ``step`` x,y,z as ChimeraX places
    the map (voxel i,j,k's centre at origin + (i,j,k) * step).  A store of region ids
    above 2^32 is read as the compact values of the id map its attribute file
    ``id_map_file`` keeps (formats/sidecar.py), its first ``id_values`` values (a map only
    grows; ``id_map_digest``, their SHA-256): the values the class arrays are indexed by,
    the same in every worker."""
    path: str
    shape: Tuple[int, int, int]
    origin: Tuple[float, float, float]
    step: Tuple[float, float, float]
    dataset: Optional[str] = None
    store_format: Optional[str] = None
    id_map_file: Optional[str] = None
    id_values: int = 0
    id_map_digest: Optional[str] = None

    def read(self, start, stop):
        """Voxels [start, stop) (z,y,x) of the full resolution.  Through an id map, an
        id the saved map lacks reads as 0: no object file named it (``connectome ids``
        gives every id they name a value, and keeps the map), so it is in no object, as
        ChimeraX shows it (a value past the attribute arrays)."""
        source = _open.get(self)
        if source is None:
            source = _open[self] = self._open()
        if self.dataset is not None:
            return source[tuple(slice(a, b) for a, b in zip(start, stop))]
        if self.id_map_file is not None:
            store, id_map = source
            return id_map.values(store.levels[0].read(start, stop, stored=True))
        return source.read(start, stop)

    def _open(self):
        if self.dataset is not None:
            return h5py.File(self.path, 'r')[self.dataset]
        if self.id_map_file is None:
            return stores.open_store(self.path, self.store_format)
        ids = sidecar.saved_ids(self.id_map_file)
        if ids is None or len(ids) < self.id_values or \
                ids_digest(ids[:self.id_values]) != self.id_map_digest:
            raise InputError('%s no longer keeps the id map of %s it kept when %s started'
                             ' (run it again)' % (self.id_map_file, self.path, COMMAND),
                             self.id_map_file)
        return (stores.open_store(self.path, self.store_format, compact_ids=False),
                SavedIdMap(ids[:self.id_values], where=self.id_map_file))


def segmentation_of(survey, origin=None, step=None):
    """The Segmentation a pipeline.survey.Survey describes (a Chimera map, or the store
    of a store's attribute file), placed at ``origin`` with ``step`` (x,y,z) when given
    (an open map's placement), else as its file says."""
    if survey.source is None:
        return Segmentation(survey.path, tuple(survey.shape),
                            _xyz(origin, survey.origin), _xyz(step, survey.step),
                            dataset=survey.data_path)
    store = stores.open_store(survey.source.url, survey.source.format)
    saved = sidecar.saved_ids(survey.path) if store.stored_dtype.itemsize == 8 else None
    if saved is None and store.id_map is not None:
        raise InputError('%s holds region ids above 2^32, and its attribute file %s keeps'
                         ' no id map: its arrays cannot be matched to the store\'s regions'
                         ' (connectome ids on the store keeps one)'
                         % (survey.source.url, survey.path), survey.path)
    return Segmentation(survey.source.url, tuple(store.shape),
                        _xyz(origin, store.origin or (0, 0, 0)),
                        _xyz(step, store.voxel_size or (1, 1, 1)),
                        store_format=survey.source.format,
                        id_map_file=None if saved is None else survey.path,
                        id_values=0 if saved is None else len(saved),
                        id_map_digest=None if saved is None else ids_digest(saved))


def ids_digest(ids):
    """The SHA-256 of a saved id map's ids (what the chunks read through it depend on)."""
    return hashlib.sha256(np.ascontiguousarray(ids, np.uint64).tobytes()).hexdigest()


def _xyz(given, default):
    return tuple(float(v) for v in (default if given is None else given))


def chunk_grid(shape, side):
    """Chunks along x,y,z for a volume of ``shape`` z,y,x."""
    return tuple(max(1, -(-(n + 1) // side)) for n in reversed(shape))


def chunk_block(position, side, shape):
    """(start, stop) z,y,x of the voxels chunk ``position`` (x,y,z) reads, where indices
    -1 and n are the padding outside a volume of n voxels."""
    start, stop = [], []
    for g, n in zip(reversed(position), shape):
        lo = g * side - 1
        hi = min(lo + side + 1, n + 1)
        start.append(lo)
        stop.append(hi)
    return tuple(start), tuple(stop)


def read_padded(seg, start, stop):
    """The block [start, stop) with zeros where it lies outside the volume."""
    block = np.zeros(tuple(b - a for a, b in zip(start, stop)), np.uint64)
    inner_start = [max(a, 0) for a in start]
    inner_stop = [min(b, n) for b, n in zip(stop, seg.shape)]
    if all(a < b for a, b in zip(inner_start, inner_stop)):
        where = tuple(slice(a - s, b - s) for a, b, s in zip(inner_start, inner_stop, start))
        block[where] = seg.read(tuple(inner_start), tuple(inner_stop))
    return block


def relabel(block, lookup, where):
    """Region ids to object ids through ``lookup`` (0 for regions of no chosen object)."""
    regions = fastremap.unique(block)
    if regions.size and int(regions[-1]) >= len(lookup):
        raise InputError('%s: region %d is beyond the attribute array (%d regions); run'
                         ' connectome ids again' % (where, int(regions[-1]), len(lookup)),
                         where)
    objects = lookup[regions.astype(np.int64)]
    if not objects.any():
        return None
    mapping = dict(zip(regions.tolist(), objects.tolist()))
    return fastremap.remap(block, mapping, preserve_missing_labels=False, in_place=True)


@dataclass
class Pieces:
    """The surfaces of the objects of one chunk: ``ids``, and per object its number of
    vertices and triangles, all vertices (voxel coordinates) and all triangles (indices
    into the object's own vertices)."""
    ids: np.ndarray
    vertex_counts: np.ndarray
    face_counts: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray

    def objects(self):
        """{id: (vertices, faces)}."""
        out = {}
        v = np.concatenate([[0], np.cumsum(self.vertex_counts)])
        f = np.concatenate([[0], np.cumsum(self.face_counts)])
        for i, object_id in enumerate(self.ids.tolist()):
            out[object_id] = (self.vertices[v[i]:v[i + 1]], self.faces[f[i]:f[i + 1]])
        return out


def empty_pieces():
    return Pieces(np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                  np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32))


def mesh_chunk(seg, lookup, side, position):
    """The Pieces of chunk ``position`` (x,y,z)."""
    start, stop = chunk_block(position, side, seg.shape)
    objects = relabel(read_padded(seg, start, stop), lookup, seg.path)
    if objects is None:
        return empty_pieces()
    mesher = zmesh.Mesher((1, 1, 1))
    mesher.mesh(objects.T)              # x,y,z, so vertices come out x,y,z
    offset = np.array(start[::-1], np.float32)
    ids, vertices, faces = [], [], []
    for object_id in sorted(int(i) for i in mesher.ids()):
        if object_id == 0:
            continue
        m = mesher.get(object_id, normals=False)
        if len(m.faces):
            ids.append(object_id)
            vertices.append(m.vertices.astype(np.float32) + offset)
            faces.append(m.faces.astype(np.uint32))
        mesher.erase(object_id)
    mesher.clear()
    if not ids:
        return empty_pieces()
    return Pieces(np.array(ids, np.uint64), np.array([len(v) for v in vertices]),
                  np.array([len(f) for f in faces]), np.concatenate(vertices),
                  np.concatenate(faces))


# --- the folder of finished chunks --------------------------------------------------------

class WorkFolder:
    """The finished chunks of a run making ``output``: a folder ``.NAME.chunks`` beside
    it, holding ``meshing.json`` (the run's parameters) and one file per chunk."""

    def __init__(self, output, parameters):
        folder, name = os.path.split(os.path.abspath(output))
        self.path = os.path.join(folder, '.%s.chunks' % name)
        self.parameters = parameters

    def open(self, report=None):
        """Make the folder, or take up one a killed run left: its chunks are kept when
        it was making the same meshes, else removed.  Returns the positions finished."""
        marker = os.path.join(self.path, MARKER)
        if os.path.lexists(self.path):
            if os.path.islink(self.path) or not os.path.isfile(marker):
                raise InputError('%s exists and is not a work folder of %s (no %s); remove'
                                 ' it or choose another output' % (self.path, COMMAND, MARKER),
                                 self.path)
            with open(marker) as f:
                try:
                    same = json.load(f) == self.parameters
                except ValueError:
                    same = False
            if same:
                done = self.finished()
                if done and report is not None:
                    report('%s: %d chunks finished by an earlier run are kept'
                           % (COMMAND, len(done)), True)
                return done
            self.remove()
        os.mkdir(self.path, 0o755)
        with locks.atomic_output(marker, COMMAND) as temp:
            with open(temp, 'w') as f:
                json.dump(self.parameters, f)
        return set()

    def finished(self):
        return {tuple(int(v) for v in m.groups())
                for m in map(_CHUNK.fullmatch, os.listdir(self.path)) if m}

    def chunk_path(self, position):
        return os.path.join(self.path, 'chunk-%d-%d-%d.npz' % tuple(position))

    def save(self, position, pieces):
        with locks.atomic_output(self.chunk_path(position), COMMAND, replace=True) as temp:
            with open(temp, 'wb') as f:
                np.savez(f, **asdict(pieces))

    def load(self, position):
        with np.load(self.chunk_path(position)) as z:
            return Pieces(**{k: z[k] for k in Pieces.__dataclass_fields__})

    def counts(self, position):
        """(ids, triangle counts) of a finished chunk, without its vertices."""
        with np.load(self.chunk_path(position)) as z:
            return z['ids'], z['face_counts']

    def remove(self):
        """Delete what this class wrote in the folder (chunk files, the marker), then the
        folder if nothing else is in it."""
        for name in os.listdir(self.path):
            if _CHUNK.fullmatch(name) or name == MARKER:
                os.remove(os.path.join(self.path, name))
        try:
            os.rmdir(self.path)
        except OSError:
            pass
