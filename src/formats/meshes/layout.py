"""The records of a multi-resolution mesh folder and their byte layout.

``info`` is JSON; a manifest ``ID.index`` is little-endian: chunk_shape (3 float32),
grid_origin (3 float32), num_lods (uint32), lod_scales (num_lods float32),
vertex_offsets (num_lods x 3 float32), num_fragments_per_lod (num_lods uint32), then per
LOD the fragment positions (x of every fragment, then y, then z: uint32) and the byte size
of each fragment (uint32).  Fragments of a LOD are in Z-curve (Morton) order, and a LOD
above 0 has a node (an empty fragment if need be) for the parent of every fragment of the
LOD below, as neuroglancer's octree check asks.  A fragment of LOD ``k`` at grid position
``p`` covers stored model coordinates ``grid_origin + vertex_offsets[k] + chunk_shape *
2**k * (p + [0, 1])``.  Pure: numpy.
"""

import json
import os
import struct
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

from ...errors import InputError

INFO_TYPE = 'neuroglancer_multilod_draco'
QUANTIZATION_BITS = (10, 16)        # what neuroglancer accepts


@dataclass(frozen=True)
class MeshInfo:
    """A mesh folder's ``info``: ``transform`` (12 numbers, a 3x4 row-major matrix from
    stored model coordinates to model coordinates, nm), ``vertex_quantization_bits``,
    ``lod_scale_multiplier``; ``sharding`` as written (None: one file per object)."""
    transform: Tuple[float, ...]
    vertex_quantization_bits: int = 16
    lod_scale_multiplier: float = 1.0
    sharding: Optional[dict] = None

    def to_json(self):
        info = {'@type': INFO_TYPE, 'vertex_quantization_bits': self.vertex_quantization_bits,
                'transform': [float(v) for v in self.transform],
                'lod_scale_multiplier': float(self.lod_scale_multiplier)}
        if self.sharding is not None:
            info['sharding'] = self.sharding
        return json.dumps(info, indent=1)

    @classmethod
    def from_json(cls, text, where):
        try:
            info = json.loads(text)
            if info.get('@type') != INFO_TYPE:
                raise InputError('%s is not a multi-resolution mesh info (@type %r, not %r)'
                                 % (where, info.get('@type'), INFO_TYPE), where)
            transform = tuple(float(v) for v in info.get('transform',
                                                         (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0)))
            bits = int(info['vertex_quantization_bits'])
            multiplier = float(info.get('lod_scale_multiplier', 1.0))
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise InputError('%s: not a valid mesh info (%s)' % (where, e), where)
        if len(transform) != 12 or bits not in QUANTIZATION_BITS:
            raise InputError('%s: transform must have 12 numbers and vertex_quantization_bits'
                             ' be 10 or 16' % where, where)
        return cls(transform, bits, multiplier, info.get('sharding'))

    def matrix(self):
        """The 3x4 transform as a float64 array."""
        return np.array(self.transform, np.float64).reshape(3, 4)


@dataclass
class Fragment:
    """One octree node of one LOD: its grid position (x,y,z) and its Draco bytes (b''
    for a node that only stands for children)."""
    position: Tuple[int, int, int]
    data: bytes = b''


@dataclass
class Manifest:
    """An object's ``ID.index``: the octree and the size of each fragment."""
    chunk_shape: Tuple[float, float, float]
    grid_origin: Tuple[float, float, float]
    lod_scales: List[float]
    vertex_offsets: np.ndarray                      # num_lods x 3
    positions: List[np.ndarray] = field(default_factory=list)   # per LOD: n x 3 uint32
    sizes: List[np.ndarray] = field(default_factory=list)       # per LOD: n uint32

    @property
    def num_lods(self):
        return len(self.lod_scales)

    def to_bytes(self):
        n = self.num_lods
        parts = [np.asarray(self.chunk_shape, '<f4').tobytes(),
                 np.asarray(self.grid_origin, '<f4').tobytes(),
                 struct.pack('<I', n),
                 np.asarray(self.lod_scales, '<f4').tobytes(),
                 np.asarray(self.vertex_offsets, '<f4').reshape(n, 3).tobytes(),
                 np.array([len(s) for s in self.sizes], '<u4').tobytes()]
        for positions, sizes in zip(self.positions, self.sizes):
            parts.append(np.asarray(positions, '<u4').reshape(-1, 3).T.tobytes())
            parts.append(np.asarray(sizes, '<u4').tobytes())
        return b''.join(parts)

    @classmethod
    def from_bytes(cls, data, where):
        try:
            n = struct.unpack_from('<I', data, 24)[0]
            # Shapes as tuples: a bare 1 would make a scalar field (one LOD).
            head = np.dtype([('chunk_shape', '<f4', (3,)), ('grid_origin', '<f4', (3,)),
                             ('num_lods', '<u4'), ('lod_scales', '<f4', (n,)),
                             ('vertex_offsets', '<f4', (n, 3)), ('counts', '<u4', (n,))])
            h = np.frombuffer(data, head, count=1)[0]
            offset = head.itemsize
            m = cls(tuple(h['chunk_shape']), tuple(h['grid_origin']), list(h['lod_scales']),
                    np.array(h['vertex_offsets']))
            for count in h['counts']:
                count = int(count)
                m.positions.append(np.frombuffer(data, '<u4', 3 * count, offset)
                                   .reshape(3, count).T.copy())
                offset += 12 * count
                m.sizes.append(np.frombuffer(data, '<u4', count, offset).copy())
                offset += 4 * count
        except (struct.error, ValueError, TypeError) as e:
            raise InputError('%s: not a valid mesh manifest (%s)' % (where, e), where)
        if offset != len(data):
            raise InputError('%s: not a valid mesh manifest (%d bytes, %d expected)'
                             % (where, len(data), offset), where)
        return m


def morton_order(positions):
    """The order that sorts grid positions (n x 3, x,y,z) along the Z curve."""
    positions = np.asarray(positions, np.uint64).reshape(-1, 3)
    code = np.zeros(len(positions), np.uint64)
    for bit in range(21):
        for axis in range(3):
            code |= ((positions[:, axis] >> np.uint64(bit)) & np.uint64(1)) \
                << np.uint64(3 * bit + axis)
    return np.argsort(code, kind='stable')


def default_output(attribute_path, class_name):
    """The mesh folder of a class beside a segmentation's attribute file (the .cmap
    itself, or a read-only store's attribute file): ``seg.neuron-meshes``."""
    return '%s.%s-meshes' % (os.path.splitext(os.path.abspath(attribute_path))[0],
                             class_name)
