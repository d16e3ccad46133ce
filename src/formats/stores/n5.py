"""An N5 store's ``attributes.json`` files as a StoreSpec (spec.py): one dataset, or a
group of datasets s0, s1, ... with their downsampling factors (written, or from the
sizes), the resolution and its unit (N5 Viewer's pixelResolution, or neuroglancer's and
BigDataViewer's resolution), and the axis names.  N5 lists dimensions x first.  Pure:
no ChimeraX, no tensorstore.
"""

from ...errors import InputError
from .spec import Fields, LevelSpec, StoreSpec, nanometres, one_full_resolution


def n5_spec(loc, read, channel=0):
    """The StoreSpec (spec.py) of the N5 dataset or group at Location ``loc``."""
    attrs = read('attributes.json')
    if attrs is None:
        raise InputError('%s is not an N5 store (no attributes.json)' % loc, loc.text)
    attrs = Fields(attrs, loc, 'attributes.json')
    if 'dimensions' in attrs:
        paths, level_attrs = [''], [attrs]
    else:
        paths, level_attrs = [], []
        while True:
            name = 's%d/attributes.json' % len(paths)
            sub = read(name)
            if sub is None:
                break
            sub = Fields(sub, loc, name)
            if 'dimensions' not in sub:
                break
            paths.append('s%d' % len(paths))
            level_attrs.append(sub)
        if not paths:
            raise InputError('%s is an N5 group with no datasets s0, s1, ...; open one of its'
                             ' datasets%s' % (loc, loc.list_arrays()), loc.text)
    res, unit = _resolution(attrs)
    scales = attrs.numbers('scales', None, minimum=1, nested=True)
    if res is None:
        res, unit = _resolution(level_attrs[0])
    units_known = res is not None and unit is not None
    nm = nanometres(unit)
    res = [float(r) * nm for r in (res or (1, 1, 1))][:3]
    dims0 = _dimensions(level_attrs[0], None)
    axes = attrs.axes('axes')
    names = tuple(n for n, _ in axes) if axes and len(axes) == len(dims0) else None
    skipped = []
    levels = []
    for k, (p, a) in enumerate(zip(paths, level_attrs)):
        dims = _dimensions(a, len(dims0))
        f = a.numbers('downsamplingFactors', None, count=len(dims0), minimum=1)
        if f is None and scales is not None and k < len(scales):
            f = scales[k]
            if len(f) < 3:
                raise attrs.error('scales', 'must give %d factors for each scale'
                                  % len(dims0), attrs.raw('scales'))
        if f is None:   # from the sizes, as the viewers do when nothing is written
            f = [max(1, round(d0 / d)) for d0, d in zip(dims0, dims)]
        f = [int(round(float(v))) for v in f][:3]
        levels.append(LevelSpec(p or loc.name, p, tuple(reversed(f))))
    levels = one_full_resolution(levels, skipped)
    return StoreSpec(loc, 'n5', 'n5', levels, channel, axes=names, reverse=True,
                     voxel_size=tuple(res), units_known=units_known, skipped=tuple(skipped))


def _dimensions(attrs, count):
    """A dataset's dimensions (x first): at least 3, ``count`` when given."""
    dims = attrs.numbers('dimensions', count=count, integer=True, minimum=1)
    if len(dims) < 3:
        raise attrs.error('dimensions', 'must list at least x, y and z', attrs.raw('dimensions'))
    return dims


def _resolution(attrs):
    """(voxel size x,y,z, unit) of N5 attributes: pixelResolution (N5 Viewer) or
    resolution (neuroglancer, BigDataViewer), or (None, None)."""
    if isinstance(attrs.raw('pixelResolution'), dict):
        pr = attrs.object('pixelResolution')
        if 'dimensions' in pr:
            return _three(pr, 'dimensions'), pr.text('unit', None)
    elif 'pixelResolution' in attrs:
        return _three(attrs, 'pixelResolution'), _first_unit(attrs)
    if 'resolution' in attrs:
        return _three(attrs, 'resolution'), _first_unit(attrs)
    return None, None


def _three(attrs, key):
    values = attrs.numbers(key)
    if len(values) < 3:
        raise attrs.error(key, 'must give x, y and z', attrs.raw(key))
    return values


def _first_unit(attrs):
    units = attrs.raw('units')
    if units is None:
        return None
    if not isinstance(units, list) or not units or not isinstance(units[0], str):
        raise attrs.error('units', 'must be a list of unit names', units)
    return units[0]
