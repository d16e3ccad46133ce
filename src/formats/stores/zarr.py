"""A Zarr store's metadata (Zarr v2 ``.zattrs``/``.zarray`` or v3 ``zarr.json``) as a
StoreSpec (spec.py): one array read as it is, or an OME-Zarr multiscales group, whose
axes, units, scales and translations give the voxel size, origin and scale factors.
Pure: no ChimeraX, no tensorstore.
"""

from ...errors import InputError
from .spec import LevelSpec, StoreSpec, axis_names, nanometres, one_full_resolution, \
    whole_factors


def zarr_spec(loc, read, channel=0):
    """The StoreSpec (spec.py) of the Zarr array or OME-Zarr group at Location ``loc``."""
    v3 = read('zarr.json')
    if v3 is not None:
        attrs = v3.get('attributes', {}) if isinstance(v3, dict) else {}
        is_array = v3.get('node_type') == 'array'
        driver = 'zarr3'
    else:
        attrs = read('.zattrs') or {}
        is_array = read('.zarray') is not None
        driver = 'zarr'
    ome = attrs.get('ome', attrs) if isinstance(attrs, dict) else {}
    multiscales = ome.get('multiscales') if isinstance(ome, dict) else None
    segmentation = True if 'image-label' in ome or 'image-label' in attrs else None
    if multiscales:
        return _ome_zarr(loc, multiscales[0], driver, channel, segmentation)
    if is_array:
        return StoreSpec(loc, 'zarr', driver, (LevelSpec(loc.name),), channel,
                         segmentation=segmentation)
    raise InputError('%s is a Zarr group without OME-Zarr multiscales metadata; open one'
                     ' of its arrays%s' % (loc, loc.list_arrays()), loc.text)


def _ome_zarr(loc, ms, driver, channel, segmentation):
    datasets = ms.get('datasets') or []
    if not datasets:
        raise InputError('%s: its OME-Zarr multiscales lists no datasets' % loc, loc.text)
    axes = ms.get('axes')
    names = axis_names(axes)
    units = {}
    if axes and isinstance(axes[0], dict):
        units = {a.get('name', '').lower(): a.get('unit') for a in axes}
    glob_scale, glob_shift = _transforms(ms.get('coordinateTransformations'))

    def spatial(values):
        if values is None:
            return None
        if names is None:
            return [float(v) for v in values[-3:]][::-1]            # x,y,z
        return [float(values[names.index(a)]) for a in 'xyz']

    scales, shifts = [], []
    for d in datasets:
        s, t = _transforms(d.get('coordinateTransformations'))
        if s is not None and glob_scale is not None:
            s = [a * b for a, b in zip(s, glob_scale)]
        scales.append(spatial(s) or [1.0, 1.0, 1.0])
        shifts.append(spatial(t))
    nm = [nanometres(units.get(a)) for a in 'xyz']
    res0 = [s * f for s, f in zip(scales[0], nm)]
    origin = [0.0, 0.0, 0.0] if shifts[0] is None else [t * f for t, f in zip(shifts[0], nm)]
    if glob_shift is not None:
        origin = [o + t * f for o, t, f in zip(origin, spatial(glob_shift), nm)]
    skipped = []
    levels = []
    for d, s in zip(datasets, scales):
        factors = whole_factors([v * f for v, f in zip(s, nm)], res0, d.get('path'), loc,
                                skipped)
        if factors is not None:
            levels.append(LevelSpec(d['path'], d['path'], tuple(reversed(factors))))
    levels = one_full_resolution(levels, skipped)
    return StoreSpec(loc, 'zarr', driver, levels, channel, axes=names,
                     voxel_size=tuple(res0), origin=tuple(origin),
                     units_known=all(units.get(a) for a in 'xyz'),
                     segmentation=segmentation, skipped=tuple(skipped))


def _transforms(transforms):
    """(scale, translation) of an OME-Zarr coordinateTransformations list."""
    scale = shift = None
    for t in transforms or []:
        if t.get('type') == 'scale':
            scale = [float(v) for v in t.get('scale', [])]
        elif t.get('type') == 'translation':
            shift = [float(v) for v in t.get('translation', [])]
    return scale, shift
