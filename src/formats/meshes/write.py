"""Encoding an object's meshes as a manifest and a fragment file.

Each fragment's vertices are quantized to integers in [0, 2**bits - 1] across its octree
node (the formula of layout.py), then Draco-encoded losslessly (quantization origin 0 and
range 2**bits - 1 over those integers), which is what neuroglancer decodes without
dequantizing and what DracoPy gives back.  A vertex on the face two nodes share quantizes
to the same point in both, so fragments that meet in the source meet in the file.
Vertices that quantize to one point are merged and the triangles this flattens dropped.
Pure: numpy, DracoPy.
"""

import os

import DracoPy
import numpy as np

from .layout import Manifest, morton_order
from .sharding import write_shard


def quantize(vertices, faces, low, size, bits):
    """Vertices (n x 3, stored model coordinates) as integers across the node whose low
    corner is ``low`` and side ``size``; merged where equal, with the faces that stay."""
    top = (1 << bits) - 1
    vertices = np.asarray(vertices, np.float64)
    if not np.isfinite(vertices).all():
        raise ValueError('a mesh fragment has a vertex that is not a finite position')
    q = np.clip(np.rint((vertices - low) * (top / size)), 0, top)
    q = q.astype(np.int64)
    _, first, inverse = np.unique(q[:, 0] | (q[:, 1] << bits) | (q[:, 2] << (2 * bits)),
                                  return_index=True, return_inverse=True)
    q = q[first].astype(np.uint32)
    f = inverse.reshape(-1)[np.asarray(faces, np.int64)]
    keep = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    return q, f[keep]


def encode_fragment(vertices, faces, low, size, bits):
    """The Draco bytes of one fragment (b'' when nothing of it is left)."""
    q, f = quantize(vertices, faces, low, size, bits)
    if len(f) == 0:
        return b''
    top = (1 << bits) - 1
    return DracoPy.encode(q.astype(np.float32), f.astype(np.uint32), quantization_bits=bits,
                          quantization_range=float(top), quantization_origin=(0.0, 0.0, 0.0),
                          compression_level=7)


def encode_object(lods, chunk_shape, grid_origin, bits, lod_scales=None):
    """(manifest bytes, fragment file bytes) of one object.

    ``lods``: per LOD a {grid position (x,y,z): (vertices, faces)} in stored model
    coordinates; LOD k's nodes have side ``chunk_shape * 2**k``."""
    chunk_shape = np.asarray(chunk_shape, np.float64)
    grid_origin = np.asarray(grid_origin, np.float64)
    n = len(lods)
    manifest = Manifest(tuple(chunk_shape), tuple(grid_origin),
                        list(lod_scales) if lod_scales is not None
                        else [float(1 << k) for k in range(n)], np.zeros((n, 3)))
    data = []
    below = set()
    for k, pieces in enumerate(lods):
        size = chunk_shape * (1 << k)
        encoded = {}
        for position, (vertices, faces) in pieces.items():
            low = grid_origin + size * np.asarray(position, np.float64)
            blob = encode_fragment(vertices, faces, low, size, bits)
            if blob:
                encoded[tuple(int(p) for p in position)] = blob
        # Every node of the LOD below has its parent here (empty if need be).
        nodes = set(encoded) | {(x >> 1, y >> 1, z >> 1) for x, y, z in below}
        positions = np.array(sorted(nodes), np.uint32).reshape(-1, 3)
        positions = positions[morton_order(positions)]
        blobs = [encoded.get(tuple(int(v) for v in p), b'') for p in positions]
        manifest.positions.append(positions)
        manifest.sizes.append(np.array([len(b) for b in blobs], np.uint32))
        data.extend(blobs)
        below = nodes
    return manifest.to_bytes(), b''.join(data)


def write_info(path, info):
    """Write ``info`` (layout.MeshInfo) as the JSON file ``path`` of a folder being made."""
    with open(path, 'x') as f:
        f.write(info.to_json())


def shard_objects(folder, ids, spec, progress=None):
    """Gather the objects ``ids`` of ``folder`` (a folder being made, two files per object
    as written so far) into the shard files of ``spec`` (sharding.ShardingSpec), removing
    each object's two files once its shard is written.  ``progress`` (progress.Progress)
    advances per shard, and is a cancel point before each."""
    ids = np.asarray(sorted(ids), np.uint64)
    shards, _ = spec.locate(ids)
    for shard in np.unique(shards):
        if progress is not None:
            progress.advance(0)
        members = [int(i) for i in ids[shards == shard]]
        parts = [(i, [os.path.join(folder, '%d' % i), os.path.join(folder, '%d.index' % i)])
                 for i in members]
        with open(os.path.join(folder, spec.shard_name(shard)), 'xb') as f:
            write_shard(f, spec, parts)
        for _, files in parts:
            for path in files:
                os.remove(path)
        if progress is not None:
            progress.advance()
