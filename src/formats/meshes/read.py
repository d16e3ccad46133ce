"""Reading a multi-resolution mesh folder: its info, an object's manifest and the triangles
of one level of detail, in model coordinates (nm), from a folder with two files per object
or a sharded one (sharding.py).  Files are opened without following a symbolic link.
Pure: numpy, DracoPy.
"""

import os
import re

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

    def _manifest(self, object_id):
        """(Manifest, where its fragments start: (path, offset))."""
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
        m, (path, first) = self._manifest(object_id)
        if not 0 <= lod < m.num_lods:
            raise InputError('%s: object %d has LODs 0-%d, not %d'
                             % (self.path, object_id, m.num_lods - 1, lod), self.path)
        start = first + int(sum(int(s.sum()) for s in m.sizes[:lod]))
        data = _read(path, start, int(m.sizes[lod].sum()))
        start = 0
        top = (1 << self.info.vertex_quantization_bits) - 1
        size = np.asarray(m.chunk_shape, np.float64) * (1 << lod)
        origin = np.asarray(m.grid_origin, np.float64) + m.vertex_offsets[lod]
        quantized, fragment, placed, faces, count = [], [], [], [], 0
        for position, nbytes in zip(m.positions[lod], m.sizes[lod]):
            blob = data[start:start + int(nbytes)]
            start += int(nbytes)
            if not blob:
                continue
            try:
                mesh = DracoPy.decode(blob)
            except (ValueError, DracoPy.FileTypeException) as e:
                raise InputError('%s: a fragment is not valid Draco (%s)' % (path, e), path)
            q = np.asarray(mesh.points).reshape(-1, 3).astype(np.int64)
            quantized.append(q)
            fragment.append(np.full(len(q), len(placed)))
            placed.append(position)
            faces.append(np.asarray(mesh.faces, np.int64).reshape(-1, 3) + count)
            count += len(q)
        if not faces:
            return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32)
        g, f = _merge(np.concatenate(quantized), np.concatenate(fragment),
                      np.asarray(placed, np.int64).reshape(-1, 3), np.concatenate(faces), top)
        v = origin + g * (size / top)
        v = v @ self.info.matrix()[:, :3].T + self.info.matrix()[:, 3]
        return v.astype(np.float32), f.astype(np.int32)


def _unique_rows(rows):
    """(first, inverse) of np.unique over the rows of an n x 3 array of integers >= 0:
    as one integer per row when they fit 63 bits (a 1-D unique, much faster)."""
    bits = [int(k).bit_length() for k in rows.max(0)]
    if sum(bits) <= 63:
        rows = (rows[:, 0] << (bits[1] + bits[2])) | (rows[:, 1] << bits[2]) | rows[:, 2]
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def _merge(q, fragment, positions, faces, top):
    """Vertices ``q`` (quantized within their fragments; ``fragment``: the index of each
    one's fragment in ``positions``) on the LOD's integer grid (``positions * top + q``),
    merged where equal: within a fragment (Draco splits a vertex where the surface is not
    a manifold) and, for those on node faces (a coordinate 0 or ``top``), between
    fragments, which have the same grid integers there.  Returns (vertices, faces)."""
    n = len(q)
    g = q + positions[fragment] * top
    first, inverse = _unique_rows(np.column_stack(
        [fragment, (q[:, 0] << 17) | q[:, 1], q[:, 2]]))  # q < 2**16: one row, 3 ints
    target = first[inverse]
    shared = np.flatnonzero(((q == 0) | (q == top)).any(1) & (target == np.arange(n)))
    if len(shared) > 1:
        first, inverse = _unique_rows(g[shared] - g[shared].min(0))
        target[shared] = shared[first[inverse]]
        target = target[target]
    kept = target == np.arange(n)
    renumber = np.cumsum(kept) - 1
    return g[kept], renumber[target[faces]]
