"""Reading a multi-resolution mesh folder: its info, an object's manifest and the triangles
of one level of detail, in model coordinates (nm), from a folder with two files per object
or a sharded one (sharding.py).  Files are opened without following a symbolic link.
Pure: numpy, DracoPy.
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor

import DracoPy
import numpy as np

from ...errors import InputError
from .layout import MeshInfo, Manifest
from .sharding import ShardedObjects, ShardingSpec

_ID = re.compile(r'(\d+)\.index')


def _read(path, start=0, size=None):
    """The bytes of a file (``size`` of them from ``start``: all of them, or an
    InputError naming the file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise InputError('%s: cannot read (%s)' % (path, e.strerror or e), path)
    with os.fdopen(fd, 'rb') as f:
        if size is None:
            return f.read()
        f.seek(start)
        data = f.read(size)
    if len(data) != size:
        raise InputError('%s: truncated (%d bytes at %d expected)' % (path, size, start), path)
    return data


def is_mesh_folder(path):
    """Whether ``path`` is a folder with a multi-resolution mesh ``info``."""
    try:
        MeshInfo.from_json(_read(os.path.join(path, 'info')), path)
        return True
    except InputError:
        return False


class MeshFolder:
    """A local multi-resolution mesh folder."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.info = MeshInfo.from_json(_read(os.path.join(self.path, 'info')),
                                       os.path.join(self.path, 'info'))
        self._shards = None
        self._manifests = {}
        if self.info.sharding is not None:
            self._shards = ShardedObjects(
                self.path, ShardingSpec.from_dict(self.info.sharding,
                                                  os.path.join(self.path, 'info')), _read)

    @property
    def sharded(self):
        return self._shards is not None

    def ids(self):
        """The object ids that have a manifest, sorted."""
        if self._shards is not None:
            return self._shards.ids()
        return sorted(int(m.group(1)) for m in map(_ID.fullmatch, os.listdir(self.path)) if m)

    def has(self, object_id):
        if self._shards is not None:
            return self._shards.find(object_id) is not None
        return os.path.isfile(os.path.join(self.path, '%d.index' % object_id))

    def manifest(self, object_id):
        return self._manifest(object_id)[0]

    def manifests(self, object_ids, threads=8):
        """The manifests of ``object_ids``, read by ``threads`` threads."""
        if len(object_ids) < 2 or threads < 2:
            return [self.manifest(i) for i in object_ids]
        with ThreadPoolExecutor(min(threads, len(object_ids))) as pool:
            return list(pool.map(self.manifest, object_ids))

    def _manifest(self, object_id):
        """(Manifest, where its fragments start: (path, offset)), read once."""
        found = self._manifests.get(object_id)
        if found is None:
            found = self._manifests[object_id] = self._read_manifest(object_id)
        return found

    def _read_manifest(self, object_id):
        if self._shards is None:
            path = os.path.join(self.path, '%d.index' % object_id)
            return (Manifest.from_bytes(_read(path), path),
                    (os.path.join(self.path, '%d' % object_id), 0))
        found = self._shards.find(object_id)
        if found is None:
            raise InputError('%s: no mesh of object %d' % (self.path, object_id), self.path)
        path, start, size = found
        m = Manifest.from_bytes(_read(path, start, size), '%s (object %d)' % (path, object_id))
        before = int(sum(int(s.sum()) for s in m.sizes))
        if before > start:
            raise InputError('%s: object %d\'s fragments would start before the file'
                             % (path, object_id), path)
        return m, (path, start - before)

    def lod_count(self, object_id):
        return self.manifest(object_id).num_lods

    def triangles(self, object_id, lod=0):
        """(vertices n x 3 float32 in model coordinates, faces m x 3 int32) of one LOD, all
        fragments together with their shared vertices merged."""
        return self._decode(*self._level_bytes(object_id, lod, False))

    def levels(self, object_ids, lod, threads=8):
        """[(vertices, faces)] as ``triangles`` gives them, of each of ``object_ids`` at
        level ``lod`` or its coarsest when it has fewer.  The files are read by ``threads``
        threads (a read releases the GIL; DracoPy's decoding does not, so it stays in this
        one), each object's level in one read, decoded as they arrive."""
        if len(object_ids) < 2 or threads < 2:
            return [self._decode(*self._level_bytes(i, lod, True)) for i in object_ids]
        with ThreadPoolExecutor(min(threads, len(object_ids))) as pool:
            return [self._decode(*read) for read in
                    pool.map(lambda i: self._level_bytes(i, lod, True), object_ids)]

    def _level_bytes(self, object_id, lod, coarsest):
        """(object id, manifest, level, path, the level's bytes) of ``lod`` or (when
        ``coarsest``) the object's coarsest level if it has fewer."""
        m, (path, first) = self._manifest(object_id)
        if coarsest:
            lod = min(lod, m.num_lods - 1)
        if not 0 <= lod < m.num_lods:
            raise InputError('%s: object %d has LODs 0-%d, not %d'
                             % (self.path, object_id, m.num_lods - 1, lod), self.path)
        start = first + int(sum(int(s.sum()) for s in m.sizes[:lod]))
        return object_id, m, lod, path, _read(path, start, int(m.sizes[lod].sum()))

    def _decode(self, object_id, m, lod, path, data):
        start = 0
        top = (1 << self.info.vertex_quantization_bits) - 1
        size = np.asarray(m.chunk_shape, np.float64) * (1 << lod)
        origin = np.asarray(m.grid_origin, np.float64) + m.vertex_offsets[lod]
        quantized, placed, counts, faces, count = [], [], [], [], 0
        for position, nbytes in zip(m.positions[lod], m.sizes[lod]):
            blob = data[start:start + int(nbytes)]
            start += int(nbytes)
            if not blob:
                continue
            try:
                mesh = DracoPy.decode(blob)
            except (ValueError, DracoPy.FileTypeException) as e:
                raise InputError('%s: a fragment of object %d is not valid Draco (%s)'
                                 % (path, object_id, e), path)
            q = np.asarray(mesh.points).reshape(-1, 3)
            quantized.append(q)
            placed.append(position)
            counts.append(len(q))
            f = np.asarray(mesh.faces).reshape(-1, 3)
            faces.append(f + f.dtype.type(count) if count else f)
            count += len(q)
        if not faces:
            return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32)
        placed = np.asarray(placed, np.int64).reshape(-1, 3)
        low = placed.min(0)
        g = (np.concatenate(quantized).astype(np.int64)
             + np.repeat((placed - low) * top, counts, 0))
        g, inverse = _merged(g, (placed.max(0) - low + 1) * top)
        # Grid integers (from ``low``) to model coordinates, one affine map:
        # matrix(origin + (g + low * top) * size / top).
        matrix = self.info.matrix()
        linear = (size / top)[:, None] * matrix[:, :3].T
        shift = (origin + low * size) @ matrix[:, :3].T + matrix[:, 3]
        v = (g @ linear + shift).astype(np.float32)
        return v, inverse.astype(np.int32)[np.concatenate(faces)]


def _merged(g, high):
    """(the distinct rows of ``g``, n x 3 integers >= 0 and <= ``high`` on a level's
    grid, the index of each row among them).  Vertices of one LOD are merged where their
    grid integers are equal: within a fragment (Draco splits a vertex where the surface is
    not a manifold) and between fragments, whose vertices on a shared node face are the
    same integers (``position * top + q``; off the faces, two fragments' integers never
    meet).  One integer per row when they fit 63 bits (a 1-D unique, much faster)."""
    b1, b2 = (int(k).bit_length() for k in high[1:])
    if int(high[0]).bit_length() + b1 + b2 > 63:
        rows, inverse = np.unique(g, axis=0, return_inverse=True)
        return rows, inverse.reshape(-1)
    keys, inverse = np.unique((g[:, 0] << (b1 + b2)) | (g[:, 1] << b2) | g[:, 2],
                              return_inverse=True)
    rows = np.empty((len(keys), 3), np.int64)
    rows[:, 0] = keys >> (b1 + b2)
    rows[:, 1] = (keys >> b2) & ((1 << b1) - 1)
    rows[:, 2] = keys & ((1 << b2) - 1)
    return rows, inverse.reshape(-1)
