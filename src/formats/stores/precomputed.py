"""A neuroglancer precomputed store's ``info`` file as a StoreSpec (spec.py): its type,
channel, encodings, voxel type, resolution and offset, and which scales are whole
downsamplings of the full resolution.  Pure: no ChimeraX, no tensorstore.
"""

import os

from ...errors import InputError
from .spec import Fields, LevelSpec, StoreSpec, dtype_named, one_full_resolution, \
    voxel_type, whole_factors

# Encodings tensorstore decodes; others (compresso, crackle, fpzip, jxl, ...) are
# CloudVolume's alone.
ENCODINGS = ('raw', 'compressed_segmentation', 'jpeg', 'png')
_COMPRESSED_SUFFIXES = ('.gz', '.br', '.zst')


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
            raise InputError('%s: scale %s has encoding %s, which tensorstore cannot decode'
                             ' (it reads %s)' % (loc, key, encoding, ', '.join(ENCODINGS)),
                             loc.text)
        scale.numbers('resolution', count=3)
        scale.numbers('size', count=3, integer=True, minimum=1)
        scale.numbers('voxel_offset', (0, 0, 0), count=3, integer=True)
        scale.numbers('chunk_sizes', None, count=3, integer=True, minimum=1, nested=True)
        scale.object('sharding', None)
    _check_plain_chunks(loc, scales)
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
            levels.append(LevelSpec(scale.text('key'), '', tuple(reversed(factors)), k))
    levels = one_full_resolution(levels, skipped)
    return StoreSpec(loc, 'precomputed', 'neuroglancer_precomputed', levels, channel,
                     voxel_size=tuple(res0), origin=tuple(o * r for o, r in zip(off0, res0)),
                     offset=tuple(reversed(off0)), units_known=True,
                     segmentation=kind == 'segmentation',
                     stored_dtype=stored_dtype, skipped=tuple(skipped))


def _check_plain_chunks(loc, scales):
    """A local store whose chunk files end in .gz (CloudVolume's compress, the default
    for file://) would read as all zeros: tensorstore looks for the plain names, as a
    web server serving them with Content-Encoding gzip would give them."""
    if loc.local is None:
        return
    for scale in scales:
        folder = os.path.join(loc.local, scale.text('key'))
        if 'sharding' in scale or not os.path.isdir(folder):
            continue
        with os.scandir(folder) as entries:
            for n, entry in enumerate(entries):
                if entry.name.endswith(_COMPRESSED_SUFFIXES):
                    raise InputError(
                        '%s: the chunk files of scale %s are compressed files (%s), as'
                        ' CloudVolume writes local stores by default; tensorstore reads'
                        ' plain chunk files only, so uncompress them (gunzip -r %s) or'
                        ' write with compress=False' % (loc, scale.text('key'), entry.name,
                                                        folder), loc.text)
                if n > 50:
                    break
