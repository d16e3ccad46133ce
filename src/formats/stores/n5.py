"""An N5 store's ``attributes.json`` files as a StoreSpec (spec.py): one dataset, or a
group of datasets s0, s1, ... with their downsampling factors (written, or from the
sizes), the resolution and its unit (N5 Viewer's pixelResolution, or neuroglancer's and
BigDataViewer's resolution), and the axis names.  N5 lists dimensions x first.  Pure:
no ChimeraX, no tensorstore.
"""

from ...errors import InputError
from .spec import LevelSpec, StoreSpec, axis_names, nanometres, one_full_resolution


def n5_spec(loc, read, channel=0):
    """The StoreSpec (spec.py) of the N5 dataset or group at Location ``loc``."""
    attrs = read('attributes.json')
    if attrs is None:
        raise InputError('%s is not an N5 store (no attributes.json)' % loc, loc.text)
    if 'dimensions' in attrs:
        paths = ['']
    else:
        paths = []
        while True:
            sub = read('s%d/attributes.json' % len(paths))
            if sub is None or 'dimensions' not in sub:
                break
            paths.append('s%d' % len(paths))
        if not paths:
            raise InputError('%s is an N5 group with no datasets s0, s1, ...; open one of its'
                             ' datasets%s' % (loc, loc.list_arrays()), loc.text)
    res, unit = _resolution(attrs)
    scales = attrs.get('scales')
    level_attrs = [attrs if p == '' else read(p + '/attributes.json') for p in paths]
    if res is None:
        res, unit = _resolution(level_attrs[0])
    units_known = res is not None and unit is not None
    nm = nanometres(unit)
    res = [float(r) * nm for r in (res or (1, 1, 1))][:3]
    dims0 = level_attrs[0]['dimensions']
    names = axis_names(attrs.get('axes'), len(dims0))
    skipped = []
    levels = []
    for k, (p, a) in enumerate(zip(paths, level_attrs)):
        f = a.get('downsamplingFactors')
        if f is None and isinstance(scales, list) and k < len(scales):
            f = scales[k]
        if f is None:   # from the sizes, as the viewers do when nothing is written
            f = [max(1, round(d0 / d)) for d0, d in zip(dims0, a['dimensions'])]
        f = [int(round(float(v))) for v in f][:3]
        levels.append(LevelSpec(p or loc.name, p, tuple(reversed(f))))
    levels = one_full_resolution(levels, skipped)
    return StoreSpec(loc, 'n5', 'n5', levels, channel, axes=names, reverse=True,
                     voxel_size=tuple(res), units_known=units_known, skipped=tuple(skipped))


def _resolution(attrs):
    """(voxel size x,y,z, unit) of N5 attributes: pixelResolution (N5 Viewer) or
    resolution (neuroglancer, BigDataViewer), or (None, None)."""
    pr = attrs.get('pixelResolution')
    if isinstance(pr, dict) and pr.get('dimensions'):
        return pr['dimensions'], pr.get('unit')
    if isinstance(pr, list):
        return pr, attrs.get('units', [None])[0] if isinstance(attrs.get('units'), list) \
            else None
    r = attrs.get('resolution')
    if isinstance(r, list):
        units = attrs.get('units')
        return r, units[0] if isinstance(units, list) and units else None
    return None, None
