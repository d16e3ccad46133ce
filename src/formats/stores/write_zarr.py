"""Writing an OME-Zarr 0.4 multiscale image (Zarr v2): its group metadata and its
arrays opened for writing through tensorstore (write_tensorstore.py writes the chunks).
The reading side is zarr.py.

The layout (OME-NGFF 0.4)::

    .zgroup                 {"zarr_format": 2}
    .zattrs                 multiscales: version 0.4, name, axes z,y,x (space,
                            nanometer), one dataset per level ("0" the full
                            resolution) with coordinateTransformations: scale (the
                            level's voxel size, nm) then translation (where its first
                            voxel's centre lies, nm); image-label for a segmentation
    0/.zarray, 0/0/0/0 ...  one array per level, z,y,x, chunks "/"-separated, Blosc or
                            zlib as the .cmap's compressMethod says

A level's first voxel stands for a block of ``step`` full-resolution voxels, so its
centre lies half a block minus half a voxel past the full resolution's first voxel.
Pure: tensorstore, numpy.
"""

import os

import numpy as np
import tensorstore as ts

from .write_precomputed import write_json
from .write_tensorstore import LevelArray

OME_VERSION = '0.4'


def compressor(method, level, shuffle, itemsize, compress=True):
    """The Zarr v2 compressor of a .cmap compressMethod (formats/cmap.py's names)."""
    if not compress:
        return None
    if method.startswith('blosc'):
        cname = method.split(':')[1] if ':' in method else 'blosclz'
        return {'id': 'blosc', 'cname': cname, 'clevel': int(level),
                'shuffle': 1 if shuffle and itemsize > 1 else 0, 'blocksize': 0}
    return {'id': 'zlib', 'level': int(level)}


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
    return attrs


def open_arrays(folder, attrs, dtype, levels, compression, context):
    """Write the group's metadata into ``folder`` and create one array per level
    (``levels``: (shape, chunk_shape) z,y,x): LevelArrays."""
    write_json(os.path.join(folder, '.zgroup'), {'zarr_format': 2})
    write_json(os.path.join(folder, '.zattrs'), attrs)
    out = []
    for k, (shape, chunk_shape) in enumerate(levels):
        t = ts.open({'driver': 'zarr', 'kvstore': {'driver': 'file',
                                                   'path': os.path.join(folder, str(k))},
                     'metadata': {'shape': list(shape), 'chunks': list(chunk_shape),
                                  'dtype': np.dtype(dtype).newbyteorder('<').str,
                                  'compressor': compression, 'fill_value': 0,
                                  'order': 'C', 'dimension_separator': '/'}},
                    create=True, context=context).result()
        out.append(LevelArray(t, tuple(shape), tuple(chunk_shape)))
    return out
