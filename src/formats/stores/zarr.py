"""A Zarr store's metadata (Zarr v2 ``.zattrs``/``.zarray`` or v3 ``zarr.json``) as a
StoreSpec (spec.py): one array read as it is, or an OME-Zarr multiscales group, whose
axes, units, scales and translations give the voxel size, origin and scale factors.
Pure: no ChimeraX, no tensorstore.
"""

from ...errors import InputError
from .spec import Fields, LevelSpec, StoreSpec, nanometres, one_full_resolution, \
    whole_factors


def zarr_spec(loc, read, channel=0):
    """The StoreSpec (spec.py) of the Zarr array or OME-Zarr group at Location ``loc``."""
    v3 = read('zarr.json')
    if v3 is not None:
        meta = Fields(v3, loc, 'zarr.json')
        attrs = meta.object('attributes', None)
        is_array = meta.text('node_type', None) == 'array'
        driver = 'zarr3'
    else:
        zattrs = read('.zattrs')
        attrs = None if zattrs is None else Fields(zattrs, loc, '.zattrs')
        zarray = read('.zarray')
        if zarray is not None:
            Fields(zarray, loc, '.zarray')
        is_array = zarray is not None
        driver = 'zarr'
    ome = None if attrs is None else attrs.object('ome', attrs)
    multiscales = None if ome is None else ome.objects('multiscales', None)
    segmentation = True if ome is not None and ('image-label' in ome.value
                                                or 'image-label' in attrs.value) else None
    if multiscales:
        return _ome_zarr(loc, multiscales[0], driver, channel, segmentation)
    if is_array:
        return StoreSpec(loc, 'zarr', driver, (LevelSpec(loc.name),), channel,
                         segmentation=segmentation)
    raise InputError('%s is a Zarr group without OME-Zarr multiscales metadata; open one'
                     ' of its arrays%s' % (loc, loc.list_arrays()), loc.text)


def _ome_zarr(loc, ms, driver, channel, segmentation):
    if not ms.raw('datasets'):
        raise InputError('%s: its OME-Zarr multiscales lists no datasets' % loc, loc.text)
    datasets = ms.objects('datasets')
    axes = ms.axes('axes')
    names = None if axes is None else tuple(n for n, _ in axes)
    if names is not None and not all(a in names for a in 'xyz'):
        raise ms.error('axes', 'must name x, y and z', ms.raw('axes'))
    units = dict(axes or ())
    glob_scale, glob_shift = _transforms(ms, names)

    def spatial(values):
        if values is None:
            return None
        if names is None:
            return [float(v) for v in values[-3:]][::-1]            # x,y,z
        return [float(values[names.index(a)]) for a in 'xyz']

    scales, shifts, paths = [], [], []
    for d in datasets:
        paths.append(d.text('path'))
        s, t = _transforms(d, names)
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
    for path, s in zip(paths, scales):
        factors = whole_factors([v * f for v, f in zip(s, nm)], res0, path, loc, skipped)
        if factors is not None:
            levels.append(LevelSpec(path, path, tuple(reversed(factors))))
    levels = one_full_resolution(levels, skipped)
    return StoreSpec(loc, 'zarr', driver, levels, channel, axes=names,
                     voxel_size=tuple(res0), origin=tuple(origin),
                     units_known=all(units.get(a) for a in 'xyz'),
                     segmentation=segmentation, skipped=tuple(skipped))


def _transforms(fields, names):
    """(scale, translation) of the coordinateTransformations of ``fields`` (a
    multiscales entry or one of its datasets): one value per axis (``names``), or at
    least z,y,x when the axes are not named."""
    scale = shift = None
    if fields.raw('coordinateTransformations') == []:
        return scale, shift
    for t in fields.objects('coordinateTransformations', []):
        kind = t.text('type')
        if kind in ('scale', 'translation'):
            values = t.numbers(kind, count=len(names) if names else None)
            if len(values) < 3:
                raise t.error(kind, 'must have a value for each of z, y and x',
                              t.raw(kind))
            if kind == 'scale':
                scale = values
            else:
                shift = values
    return scale, shift
