"""Writing a neuroglancer precomputed volume: its ``info`` file, and its scales opened
for writing through tensorstore (write_tensorstore.py writes the chunks).  The reading
side is precomputed.py.

The layout (neuroglancer's ``src/datasource/precomputed/volume.md``)::

    info                    type (image or segmentation), data_type, num_channels 1,
                            scales (full resolution first), each with key, size,
                            resolution (nm), voxel_offset, chunk_sizes, encoding
                            (compressed_segmentation for 32- and 64-bit labels, raw
                            otherwise) and, for a sharded scale, sharding
                            (neuroglancer_uint64_sharded_v1, identity hash, gzip
                            for raw chunks);
                            mesh (a folder of meshes, when given),
                            segment_properties (when given), and connectome_writer
                            (the mark of a store this bundle wrote)
    KEY/x0-x1_y0-y1_z0-z1   one file per chunk, or KEY/N.shard for a sharded scale;
                            with gzip (``GzipChunks``), KEY/x0-x1_y0-y1_z0-z1.gz, each
                            chunk gzipped by libdeflate as CloudVolume writes them on
                            local disk (CloudVolume and this bundle read them; a web
                            server must send them as x0-x1_... with Content-Encoding gzip
                            for neuroglancer, and tensorstore does not read them)
    segment_properties/info the regions' properties (neuroglancer_segment_properties)

Scale k is the full resolution downsampled by whole steps (x,y,z): its resolution is the
step times the full resolution's, its voxel_offset the full resolution's divided by the
step (rounded down, as CloudVolume and Igneous do).  Pure: tensorstore, numpy.
"""

import functools
import json
import os
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import tensorstore as ts

from ...blocks import grid_shape
from .write_tensorstore import WRITER, WRITER_KEY, LevelArray, morton_bits, shard_block

SEGMENT_PROPERTIES = 'segment_properties'
COMPRESSED_SEGMENTATION_TYPES = (np.dtype(np.uint32), np.dtype(np.uint64))
# The voxel types a precomputed volume holds (neuroglancer's volume.md).
DATA_TYPES = ('uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'uint64', 'int64',
              'float32')
MINISHARD_BITS = 3          # at most 8 minishards per shard


@dataclass(frozen=True)
class ScaleSpec:
    """One scale to write: ``step`` x,y,z (full-resolution voxels per voxel), ``shape``
    and ``chunk_shape`` z,y,x, ``shard_bits`` the chunk-id bits one shard spans (None:
    unsharded, one file per chunk)."""
    step: Tuple[int, int, int]
    shape: Tuple[int, int, int]
    chunk_shape: Tuple[int, int, int]
    shard_bits: Optional[int] = None


def encoding(dtype, segmentation):
    """compressed_segmentation for 32- and 64-bit labels (what neuroglancer reads
    fastest), raw for the rest (images: jpeg would lose voxels)."""
    return ('compressed_segmentation' if segmentation
            and np.dtype(dtype) in COMPRESSED_SEGMENTATION_TYPES else 'raw')


def scale_key(resolution):
    """'8_8_40': the resolution in nm, as CloudVolume names scales."""
    return '_'.join('%g' % r for r in resolution)


def sharding(scale, chunk_encoding):
    """The ``sharding`` object of a sharded scale (see write_tensorstore.py).  Chunks
    are gzipped in the shard when stored raw; compressed_segmentation chunks are not:
    gzip would make them about 3.6 times smaller again on dense labels, but costs more
    CPU than the rest of the export together (bench export, docs/performance.md)."""
    total = sum(morton_bits(grid_shape(scale.shape, scale.chunk_shape)))
    bits = min(scale.shard_bits, total)
    minishard = min(MINISHARD_BITS, bits)
    return {'@type': 'neuroglancer_uint64_sharded_v1', 'hash': 'identity',
            'preshift_bits': bits - minishard, 'minishard_bits': minishard,
            'shard_bits': total - bits, 'minishard_index_encoding': 'gzip',
            'data_encoding': 'gzip' if chunk_encoding == 'raw' else 'raw'}


def precomputed_info(dtype, segmentation, voxel_size, voxel_offset, scales, mesh=None,
                     segment_properties=False):
    """The info file (a dict) of a volume: ``voxel_size`` x,y,z nm, ``voxel_offset`` x,y,z
    voxels of the full resolution, ``scales`` ScaleSpecs (full resolution first);
    ``mesh`` the mesh folder's name, ``segment_properties`` whether they are written."""
    enc = encoding(dtype, segmentation)
    out = []
    for scale in scales:
        resolution = [float(v) * s for v, s in zip(voxel_size, scale.step)]
        entry = {'key': scale_key(resolution),
                 'size': [int(n) for n in reversed(scale.shape)],
                 'resolution': resolution,
                 'voxel_offset': [int(o) // s for o, s in zip(voxel_offset, scale.step)],
                 'chunk_sizes': [[int(c) for c in reversed(scale.chunk_shape)]],
                 'encoding': enc}
        if enc == 'compressed_segmentation':
            entry['compressed_segmentation_block_size'] = [8, 8, 8]
        if scale.shard_bits is not None:
            entry['sharding'] = sharding(scale, enc)
        out.append(entry)
    info = {'@type': 'neuroglancer_multiscale_volume',
            'type': 'segmentation' if segmentation else 'image',
            'data_type': np.dtype(dtype).name, 'num_channels': 1, 'scales': out,
            WRITER_KEY: WRITER}
    if mesh:
        info['mesh'] = mesh
    if segment_properties:
        info[SEGMENT_PROPERTIES] = SEGMENT_PROPERTIES
    return info


def write_json(path, value):
    """Strict JSON (a NaN is a ValueError: JSON.parse, which neuroglancer uses, refuses
    it)."""
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(value, f, indent=1, allow_nan=False)


GZIP_LEVEL = 6             # libdeflate's: CloudVolume's size, a quarter of its level 9's CPU


class GzipChunks:
    """The codec of an unsharded scale written as gzipped chunk files: a chunk's array
    (z,y,x, clipped at the far edges) encoded as the info says (compressed_segmentation
    with seung-lab's encoder, or raw: x,y,z Fortran order, the same bytes as z,y,x C
    order) and gzipped by libdeflate (the ``deflate`` package, which CloudVolume uses),
    in combine's worker threads; written by key (``open_scales``)."""

    def __init__(self, dtype, segmentation):
        self.encoding = encoding(dtype, segmentation)

    def encode(self, array):
        import deflate
        array = np.ascontiguousarray(array)
        if self.encoding == 'compressed_segmentation':
            import compressed_segmentation
            data = compressed_segmentation.compress(array.T[..., np.newaxis],
                                                    block_size=(8, 8, 8), order='F')
        else:
            data = array.tobytes()
        return bytes(deflate.gzip_compress(data, GZIP_LEVEL))

    def describe(self):
        return '%s, gzip chunk files (libdeflate level %d)' % (self.encoding, GZIP_LEVEL)


def chunk_file_key(key, shape, chunk_shape, offset, index):
    """The gzipped chunk file of chunk ``index`` (z,y,x) of a scale ``key`` of ``shape``
    (z,y,x), first voxel at ``offset`` (x,y,z): 'KEY/x0-x1_y0-y1_z0-z1.gz'."""
    start = [i * c for i, c in zip(index, chunk_shape)]
    stop = [min(s + c, n) for s, c, n in zip(start, chunk_shape, shape)]
    return '%s/%s.gz' % (key, '_'.join('%d-%d' % (o + a, o + b) for o, a, b in
                                       zip(offset, reversed(start), reversed(stop))))


def open_scales(folder, info, scales, context, gzip=False):
    """Write ``info`` into ``folder`` and open its scales for writing: LevelArrays; with
    ``gzip`` the unsharded scales take gzipped chunk files by key (GzipChunks)."""
    write_json(os.path.join(folder, 'info'), info)
    levels = []
    kvstore = ts.KvStore.open({'driver': 'file', 'path': folder.rstrip('/') + '/'},
                              context=context).result() if gzip else None
    for k, scale in enumerate(scales):
        if gzip and scale.shard_bits is None:
            entry = info['scales'][k]
            levels.append(LevelArray(kvstore, scale.shape, scale.chunk_shape, key=(
                functools.partial(chunk_file_key, entry['key'], scale.shape,
                                  scale.chunk_shape, entry['voxel_offset']))))
            continue
        t = ts.open({'driver': 'neuroglancer_precomputed',
                     'kvstore': {'driver': 'file', 'path': folder}, 'scale_index': k},
                    open=True, write=True, context=context).result()
        view = t[ts.d['channel'][0]][ts.d['z', 'y', 'x'].transpose[:]].translate_to[0, 0, 0]
        block = None
        if scale.shard_bits is not None:
            bits = info['scales'][k]['sharding']
            block = shard_block(grid_shape(scale.shape, scale.chunk_shape),
                                bits['preshift_bits'] + bits['minishard_bits'])
        levels.append(LevelArray(view, scale.shape, scale.chunk_shape, block))
    return levels


def write_segment_properties(folder, ids, properties):
    """The ``segment_properties`` folder: ``ids`` the regions described, ``properties``
    [(name, kind, values)], kind 'label', 'description' or 'string' (a text per id),
    'number' (an array: uint32 or int32 values kept, others as float32) or 'tags'
    (values: (tag names, a list of tag indices per id))."""
    entries = []
    for name, kind, values in properties:
        if kind == 'number':
            values = np.asarray(values)
            data_type = values.dtype.name if values.dtype.name in ('uint32', 'int32') \
                else 'float32'
            entries.append({'id': name, 'type': 'number', 'data_type': data_type,
                            'values': values.astype(data_type).tolist()})
        elif kind == 'tags':
            tags, per_id = values
            entries.append({'id': name, 'type': 'tags', 'tags': list(tags),
                            'values': [list(map(int, t)) for t in per_id]})
        else:
            entries.append({'id': name, 'type': kind, 'values': [str(v) for v in values]})
    sub = os.path.join(folder, SEGMENT_PROPERTIES)
    os.mkdir(sub)
    write_json(os.path.join(sub, 'info'),
               {'@type': 'neuroglancer_segment_properties',
                'inline': {'ids': [str(int(i)) for i in ids], 'properties': entries}})
