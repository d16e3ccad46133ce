"""Writing an OME-Zarr 0.4 multiscale image (Zarr v2): its group metadata and its
arrays opened for writing through tensorstore (write_tensorstore.py writes the chunks).
The reading side is zarr.py.

The layout (OME-NGFF 0.4)::

    .zgroup                 {"zarr_format": 2}
    .zattrs                 multiscales: version 0.4, name, axes z,y,x (space,
                            nanometer), one dataset per level ("0" the full
                            resolution) with coordinateTransformations: scale (the
                            level's voxel size, nm) then translation (where its first
                            voxel's centre lies, nm); image-label for a segmentation;
                            connectome_writer (the mark of a store this bundle wrote)
    0/.zarray, 0/0/0/0 ...  one array per level, z,y,x, chunks "/"-separated, Blosc or
                            zlib as compressMethod says (labels: blosc:zstd level 2 by
                            default, pipeline/export.py): the chunks are encoded by the
                            .cmap's codec class (a Blosc frame is the same in both), in
                            combine's worker threads

A level's first voxel stands for a block of ``step`` full-resolution voxels, so its
centre lies half a block minus half a voxel past the full resolution's first voxel.
Pure: tensorstore, numpy.
"""

import functools
import os

import numpy as np
import tensorstore as ts

from .write_precomputed import write_json
from .write_tensorstore import WRITER, WRITER_KEY, LevelArray

OME_VERSION = '0.4'


def ome_attributes(name, voxel_size, origin, steps, segmentation):
    """The group's .zattrs: ``voxel_size``, ``origin`` x,y,z nm (the centre of the first
    voxel), ``steps`` x,y,z per level (full resolution first)."""
    datasets = []
    for k, step in enumerate(steps):
        scale = [float(v) * s for v, s in zip(voxel_size, step)]
        shift = [float(o) + (s - 1) * v / 2 for o, v, s in zip(origin, voxel_size, step)]
        datasets.append({'path': str(k), 'coordinateTransformations': [
            {'type': 'scale', 'scale': scale[::-1]},
            {'type': 'translation', 'translation': shift[::-1]}]})
    attrs = {'multiscales': [{
        'version': OME_VERSION, 'name': name,
        'axes': [{'name': a, 'type': 'space', 'unit': 'nanometer'} for a in 'zyx'],
        'datasets': datasets, 'type': 'mode' if segmentation else 'mean'}]}
    if segmentation:
        attrs['image-label'] = {'version': OME_VERSION}
    attrs[WRITER_KEY] = WRITER
    return attrs


def compressor(codec):
    """The Zarr v2 compressor of chunks encoded by formats/cmap.py's ChunkCodec ``codec``
    (a Blosc frame, or zlib without shuffle: Zarr's zlib has none), None uncompressed."""
    if not codec.compress:
        return None
    if codec.cname is not None:
        return {'id': 'blosc', 'cname': codec.cname, 'clevel': codec.level,
                'shuffle': 1 if codec.shuffle and codec.dtype.itemsize > 1 else 0,
                'blocksize': 0}
    if codec.shuffle and codec.dtype.itemsize > 1:
        raise ValueError('zlib with shuffle is not a Zarr compressor')
    return {'id': 'zlib', 'level': codec.level}


def open_arrays(folder, attrs, dtype, levels, codecs, context):
    """Write the group's metadata into ``folder`` and create one array per level
    (``levels``: (shape, chunk_shape) z,y,x) for chunks encoded by ``codecs`` (one
    ChunkCodec a level: whole chunks, zero-padded at the far edges, as Zarr keeps them):
    LevelArrays of the folder's key-value store."""
    write_json(os.path.join(folder, '.zgroup'), {'zarr_format': 2})
    write_json(os.path.join(folder, '.zattrs'), attrs)
    kvstore = ts.KvStore.open({'driver': 'file', 'path': folder.rstrip('/') + '/'},
                              context=context).result()
    out = []
    for k, ((shape, chunk_shape), codec) in enumerate(zip(levels, codecs)):
        ts.open({'driver': 'zarr', 'kvstore': {'driver': 'file',
                                               'path': os.path.join(folder, str(k))},
                 'metadata': {'shape': list(shape), 'chunks': list(chunk_shape),
                              'dtype': np.dtype(dtype).newbyteorder('<').str,
                              'compressor': compressor(codec), 'fill_value': 0,
                              'order': 'C', 'dimension_separator': '/'}},
                create=True, context=context).result()
        out.append(LevelArray(kvstore, tuple(shape), tuple(chunk_shape),
                              key=functools.partial(chunk_key, k)))
    return out


def chunk_key(level, index):
    """The key of chunk ``index`` (z,y,x) of array ``level``: '0/2/1/3'."""
    return '%d/%s' % (level, '/'.join(map(str, index)))
