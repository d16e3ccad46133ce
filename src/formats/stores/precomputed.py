"""A neuroglancer precomputed store's ``info`` file as a StoreSpec (spec.py): its type,
channel, encodings, voxel type, resolution and offset, and which scales are whole
downsamplings of the full resolution.  Pure: no ChimeraX, no tensorstore.
"""

import os

import numpy as np

from ...errors import InputError
from .spec import LevelSpec, StoreSpec, one_full_resolution, voxel_type, whole_factors

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
    if not isinstance(info, dict) or not isinstance(info.get('scales'), list) \
            or not info['scales']:
        raise InputError('%s: its info file lists no scales' % loc, loc.text)
    if info.get('type') not in (None, 'image', 'segmentation'):
        raise InputError('%s is a precomputed %s layer, not an image or segmentation'
                         % (loc, info.get('type')), loc.text)
    channels = int(info.get('num_channels', 1))
    if not 0 <= channel < channels:
        raise InputError('%s has %d channel%s; channel %d does not exist'
                         % (loc, channels, '' if channels == 1 else 's', channel), loc.text)
    for scale in info['scales']:
        encoding = scale.get('encoding')
        if encoding not in ENCODINGS:
            raise InputError('%s: scale %s has encoding %s, which tensorstore cannot decode'
                             ' (it reads %s)' % (loc, scale.get('key'), encoding,
                                                 ', '.join(ENCODINGS)), loc.text)
    _check_plain_chunks(loc, info['scales'])
    stored_dtype = np.dtype(info.get('data_type', 'uint8'))
    voxel_type(stored_dtype, loc)
    scale0 = info['scales'][0]
    res0 = [float(r) for r in scale0['resolution']]
    off0 = [int(o) for o in scale0.get('voxel_offset', (0, 0, 0))]
    skipped = []
    levels = []
    for k, scale in enumerate(info['scales']):
        factors = whole_factors(scale['resolution'], res0, scale.get('key'), loc, skipped)
        if factors is not None:
            levels.append(LevelSpec(scale.get('key'), '', tuple(reversed(factors)), k))
    levels = one_full_resolution(levels, skipped)
    return StoreSpec(loc, 'precomputed', 'neuroglancer_precomputed', levels, channel,
                     voxel_size=tuple(res0), origin=tuple(o * r for o, r in zip(off0, res0)),
                     offset=tuple(reversed(off0)), units_known=True,
                     segmentation=info.get('type') == 'segmentation',
                     stored_dtype=stored_dtype, skipped=tuple(skipped))


def _check_plain_chunks(loc, scales):
    """A local store whose chunk files end in .gz (CloudVolume's compress, the default
    for file://) would read as all zeros: tensorstore looks for the plain names, as a
    web server serving them with Content-Encoding gzip would give them."""
    if loc.local is None:
        return
    for scale in scales:
        folder = os.path.join(loc.local, str(scale.get('key', '')))
        if scale.get('sharding') or not os.path.isdir(folder):
            continue
        with os.scandir(folder) as entries:
            for n, entry in enumerate(entries):
                if entry.name.endswith(_COMPRESSED_SUFFIXES):
                    raise InputError(
                        '%s: the chunk files of scale %s are compressed files (%s), as'
                        ' CloudVolume writes local stores by default; tensorstore reads'
                        ' plain chunk files only, so uncompress them (gunzip -r %s) or'
                        ' write with compress=False' % (loc, scale.get('key'), entry.name,
                                                        folder), loc.text)
                if n > 50:
                    break
