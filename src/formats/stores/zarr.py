"""A Zarr store's metadata (Zarr v2 ``.zattrs``/``.zarray`` or v3 ``zarr.json``) as a
StoreSpec (spec.py): an OME-Zarr multiscales group, whose axes, units, scales and
translations give the voxel size, origin and scale factors, or one array, whose
attributes give them in the conventions the field writes (``_array_geometry``):

- funlib.persistence / daisy / gunpowder: ``voxel_size`` (older ``resolution``),
  ``offset`` (world units, the first voxel), ``axis_names`` (channel axes end in ``^``)
  and ``units``, one per spatial axis, z,y,x;
- COSEM / OpenOrganelle: ``pixelResolution`` {dimensions, unit} (x,y,z) or
  ``transform`` {axes, scale, translate, units};
- xarray: ``_ARRAY_DIMENSIONS`` names the axes.

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
        geometry = _array_geometry(attrs)
        return StoreSpec(loc, 'zarr', driver, (LevelSpec(loc.name),), channel,
                         segmentation=segmentation, **geometry)
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
                     segmentation=segmentation, skipped=tuple(skipped),
                     geometry='OME-Zarr multiscales coordinateTransformations, axes units')


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


def _array_geometry(attrs):
    """{axes, voxel_size, origin, units_known} of a plain array's attributes (see the
    module paragraph); {} when they give none."""
    if attrs is None:
        return {}
    names = attrs.raw('axis_names') or attrs.raw('_ARRAY_DIMENSIONS')
    axes = None
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        axes = tuple('c' if n.endswith('^') else n.lower() for n in names)
        if not all(a in axes for a in 'xyz'):
            axes = None
    spatial = [a for a in axes if a in ('x', 'y', 'z')] if axes else ['z', 'y', 'x']
    out = {} if axes is None else {'axes': axes}
    size = origin = units = None
    if 'voxel_size' in attrs or 'resolution' in attrs:
        key = 'voxel_size' if 'voxel_size' in attrs else 'resolution'
        size = _spatial(attrs, key, spatial, positive=True)
        origin = _spatial(attrs, 'offset', spatial) if 'offset' in attrs else None
        units = attrs.raw('units')
        if isinstance(units, list) and len(units) >= 3 and all(isinstance(u, str)
                                                                 for u in units):
            units = dict(zip(spatial, units[-len(spatial):]))
        else:
            units = None
    elif isinstance(attrs.raw('pixelResolution'), dict):
        pr = attrs.object('pixelResolution')
        size = pr.numbers('dimensions', count=3, positive=True)
        unit = pr.text('unit', None)
        units = None if unit is None else dict.fromkeys('xyz', unit)
    elif 'transform' in attrs:
        t = attrs.object('transform')
        names = [str(a).lower() for a in t.raw('axes', spatial)]
        size = _spatial(t, 'scale', names, positive=True)
        origin = _spatial(t, 'translate', names) if 'translate' in t else None
        given = t.raw('units')
        if isinstance(given, list) and len(given) == len(names):
            units = {a: u for a, u in zip(names, given) if isinstance(u, str)}
    if size is None:
        return out
    out['geometry'] = '.zattrs ' + ', '.join(k for k in (
        'voxel_size', 'resolution', 'offset', 'units', 'pixelResolution', 'transform')
        if k in attrs)
    nm = [nanometres((units or {}).get(a)) for a in 'xyz']
    out['voxel_size'] = tuple(v * f for v, f in zip(size, nm))
    if origin is not None:
        out['origin'] = tuple(v * f for v, f in zip(origin, nm))
    out['units_known'] = units is not None and all(units.get(a) for a in 'xyz')
    return out


def _spatial(fields, key, names, positive=False):
    """x,y,z of a list of values for the axes ``names`` (its last entries when it is
    longer: the spatial axes come last)."""
    values = fields.numbers(key, positive=positive)
    if len(values) < 3 or not all(a in names for a in 'xyz'):
        raise fields.error(key, 'must give a value for each of z, y and x', fields.raw(key))
    values = values[-len(names):] if len(values) >= len(names) else values
    if len(values) != len(names):
        raise fields.error(key, 'must give a value for each of %s' % ', '.join(names),
                           fields.raw(key))
    return tuple(values[names.index(a)] for a in 'xyz')
