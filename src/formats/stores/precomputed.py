"""A neuroglancer precomputed store's ``info`` file as a StoreSpec (spec.py): its type,
channel, encodings, voxel type, resolution and offset, which scales are whole
downsamplings of the full resolution, and how each scale's chunks are stored: for
tensorstore, or as chunk files chunkfiles.py reads (compressed on local disk, as
CloudVolume and Igneous write them by default, or encoded compresso or crackle).
Placement, settled against neuroglancer's own code: in a precomputed volume, voxel i of
the full resolution spans [i, i + 1) x resolution nanometres (integer coordinates are
voxel corners: neuroglancer's precomputed data source declares
voxelCenterAtIntegerCoordinates false, and google/neuroglancer#440 says its default
origin is a voxel's corner), and precomputed meshes, skeletons and annotations are in
those nanometres.  A ChimeraX origin is the centre of the first voxel, so a store's
origin is (voxel_offset + 0.5) x resolution (``origin_of``): scene coordinates are then
neuroglancer's, and ``connectome at X,Y,Z`` with a point neuroglancer shows gives the
voxel neuroglancer shows there.  ``voxel_offset_of`` is the reverse, for writers.

Pure: no ChimeraX, no tensorstore.
"""

import os

from ...errors import InputError
from .chunkfiles import ChunkFiles, suffix_in
from .chunkfiles import ENCODINGS as CHUNK_FILE_ENCODINGS
from .spec import Fields, LevelSpec, StoreSpec, dtype_named, one_full_resolution, \
    voxel_type, whole_factors

# Encodings tensorstore decodes, and those chunkfiles.py decodes (seung-lab's); others
# (fpzip, jxl, zfpc, ...) are CloudVolume's alone.
# A voxel's centre from its corner, in voxels (see the module paragraph).
CORNER_TO_CENTRE = 0.5
TENSORSTORE_ENCODINGS = ('raw', 'compressed_segmentation', 'jpeg', 'png')
ENCODINGS = TENSORSTORE_ENCODINGS + ('compresso', 'crackle')


def precomputed_spec(loc, read, channel=0):
    """The StoreSpec (spec.py) of the precomputed store at Location ``loc``."""
    info = read('info')
    if info is None:
        raise InputError('%s is not a neuroglancer precomputed store (no info file)' % loc,
                         loc.text)
    info = Fields(info, loc, 'info')
    if not isinstance(info.raw('scales'), list) or not info.raw('scales'):
        raise InputError('%s: its info file lists no scales' % loc, loc.text)
    kind = info.text('type', None)
    if kind not in (None, 'image', 'segmentation'):
        raise InputError('%s is a precomputed %s layer, not an image or segmentation'
                         % (loc, kind), loc.text)
    channels = info.integer('num_channels', 1, minimum=1)
    if not 0 <= channel < channels:
        raise InputError('%s has %d channel%s; channel %d does not exist'
                         % (loc, channels, '' if channels == 1 else 's', channel), loc.text)
    scales = info.objects('scales')
    for scale in scales:
        key = scale.text('key')
        encoding = scale.text('encoding')
        if encoding not in ENCODINGS:
            raise InputError('%s: scale %s has encoding %s, which is not read (the encodings'
                             ' read are %s)' % (loc, key, encoding, ', '.join(ENCODINGS)),
                             loc.text)
        scale.numbers('resolution', count=3)
        scale.numbers('size', count=3, integer=True, minimum=1)
        scale.numbers('voxel_offset', (0, 0, 0), count=3, integer=True)
        scale.numbers('chunk_sizes', None, count=3, integer=True, minimum=1, nested=True)
        scale.object('sharding', None)
    stored_dtype = dtype_named(info.text('data_type', 'uint8'), info, 'data_type')
    voxel_type(stored_dtype, loc)
    res0 = scales[0].numbers('resolution')
    off0 = scales[0].numbers('voxel_offset', (0, 0, 0), integer=True)
    skipped = []
    levels = []
    for k, scale in enumerate(scales):
        factors = whole_factors(scale.numbers('resolution'), res0, scale.text('key'), loc,
                                skipped)
        if factors is not None:
            levels.append(LevelSpec(scale.text('key'), '', tuple(reversed(factors)), k,
                                    _chunk_files(loc, scale, stored_dtype, channels)))
    levels = one_full_resolution(levels, skipped)
    return StoreSpec(loc, 'precomputed', 'neuroglancer_precomputed', levels, channel,
                     voxel_size=tuple(res0), origin=origin_of(off0, res0),
                     offset=tuple(reversed(off0)), units_known=True,
                     segmentation=kind == 'segmentation',
                     stored_dtype=stored_dtype, skipped=tuple(skipped),
                     geometry='info resolution, voxel_offset')


def origin_of(voxel_offset, resolution):
    """The ChimeraX origin (x,y,z nm, the first voxel's centre) of a scale with this
    voxel_offset and resolution (x,y,z): see the module paragraph."""
    return tuple((o + CORNER_TO_CENTRE) * r for o, r in zip(voxel_offset, resolution))


def voxel_offset_of(origin, resolution):
    """(voxel_offset, exact) of a ChimeraX origin (x,y,z nm): the precomputed
    voxel_offset that places the first voxel's centre there, rounded to whole voxels,
    and whether no rounding was needed."""
    exact = [o / r - CORNER_TO_CENTRE for o, r in zip(origin, resolution)]
    offset = tuple(int(round(v)) for v in exact)
    return offset, all(abs(v - o) < 1e-6 for v, o in zip(exact, offset))


def _chunk_files(loc, scale, dtype, channels):
    """The ChunkFiles (chunkfiles.py) of a scale tensorstore cannot read, else None: a
    local unsharded scale whose chunk files are compressed (.gz, .br, .zstd, ...: tensorstore
    looks for the plain names, as a web server serving them with Content-Encoding would
    give them), or one encoded compresso or crackle."""
    key, encoding = scale.text('key'), scale.text('encoding')
    folder = None if loc.local is None else os.path.join(loc.local, key)
    sharded = 'sharding' in scale
    suffix = '' if folder is None or sharded else suffix_in(folder)
    if not suffix and encoding in TENSORSTORE_ENCODINGS:
        return None
    if encoding not in CHUNK_FILE_ENCODINGS:
        raise InputError('%s: the chunk files of scale %s are compressed (%s) and encoded'
                         ' %s; compressed chunk files are read encoded %s only'
                         % (loc, key, suffix, encoding, ', '.join(CHUNK_FILE_ENCODINGS)),
                         loc.text)
    if sharded:
        raise InputError('%s: scale %s is encoded %s, which is read from unsharded stores'
                         ' only (it is sharded)' % (loc, key, encoding), loc.text)
    chunk = scale.numbers('chunk_sizes', None, count=3, integer=True, minimum=1, nested=True)
    if not chunk:
        raise scale.error('chunk_sizes', 'is missing')
    block = scale.numbers('compressed_segmentation_block_size', (8, 8, 8), count=3,
                          integer=True, minimum=1)
    return ChunkFiles(folder or '', encoding, suffix, scale.numbers('size', integer=True),
                      scale.numbers('voxel_offset', (0, 0, 0), integer=True), chunk[0],
                      block, channels, dtype.name, key)
