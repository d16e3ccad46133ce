"""An N5 store's ``attributes.json`` files as a StoreSpec (spec.py): one dataset, or a
group of datasets s0, s1, ... with their downsamplingFactors (written per dataset, as
N5 Viewer and Paintera do, or for the group, as neuroglancer's ``scales`` and
BigDataViewer's setup do, else from the sizes), the voxel size and its unit, the origin
and the axis names, in every convention the field writes:

- N5 Viewer: ``pixelResolution`` {dimensions, unit} (or a plain list);
- neuroglancer and BigDataViewer's exporters: ``resolution`` with ``units``;
- Paintera: ``resolution`` and ``offset`` (x,y,z, physical) on the multiscale group (or
  a single dataset); a Paintera group (``painteraData``) reads its ``data`` group;
- COSEM / OpenOrganelle: each dataset's ``transform`` {axes, scale, translate, units};
- BigDataViewer's N5 (``setup0/timepoint0/s0``), which may have only the required
  attributes (its timepoint group has none; the voxel size lives in its XML, outside
  the N5): read with its setup's downsamplingFactors, the log saying there are no units.

N5 lists dimensions x first.  A blosc-compressed dataset written by z5py or n5-blosc
carries a ``nthreads`` member tensorstore refuses; its level's ``metadata`` is then the
attributes without it, which opening.py gives tensorstore in place of the file (the
store is not changed).  Pure: no ChimeraX, no tensorstore.
"""

import json

from ...errors import InputError
from .spec import Fields, LevelSpec, StoreSpec, nanometres, one_full_resolution

# The blosc members tensorstore's n5 driver reads; writers add others (nthreads).
_BLOSC_KEYS = ('type', 'cname', 'clevel', 'shuffle', 'blocksize')


def n5_spec(loc, read, channel=0):
    """The StoreSpec (spec.py) of the N5 dataset or group at Location ``loc``."""
    prefix, attrs, group_factors = _group(loc, read)
    if 'dimensions' in attrs:
        paths, level_attrs = [''], [attrs]
    else:
        paths, level_attrs = [], []
        while True:
            name = '%ss%d/attributes.json' % (prefix, len(paths))
            sub = read(name)
            if sub is None:
                break
            sub = Fields(sub, loc, name)
            if 'dimensions' not in sub:
                break
            paths.append('%ss%d' % (prefix, len(paths)))
            level_attrs.append(sub)
        if not paths:
            raise InputError('%s is an N5 group with no datasets s0, s1, ...; open one of its'
                             ' datasets%s' % (loc, loc.list_arrays()), loc.text)
    res, unit = _resolution(attrs)
    keys = _keys(attrs, ('pixelResolution', 'resolution', 'units', 'offset'))
    if res is None:
        res, unit = _resolution(level_attrs[0])
        keys = _keys(level_attrs[0], ('pixelResolution', 'resolution', 'units', 'offset'))
    offset = _offset(attrs) or _offset(level_attrs[0])
    transform = _transform(level_attrs[0])
    if res is None and transform is not None:
        res, offset, unit = transform
        keys = _keys(level_attrs[0], ('transform',))
    scales = attrs.numbers('scales', None, minimum=1, nested=True) or group_factors
    units_known = res is not None and unit is not None
    nm = nanometres(unit)
    res = [float(r) * nm for r in (res or (1, 1, 1))][:3]
    origin = [float(o) * nm for o in (offset or (0, 0, 0))][:3]
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
        levels.append(LevelSpec(p or loc.name, p, tuple(reversed(f)),
                                metadata=_tensorstore_metadata(a)))
    levels = one_full_resolution(levels, skipped)
    return StoreSpec(loc, 'n5', 'n5', levels, channel, axes=names, reverse=True,
                     voxel_size=tuple(res), origin=tuple(origin), units_known=units_known,
                     skipped=tuple(skipped), geometry=keys)


def _keys(attrs, names):
    """'FILE key, key' naming those of ``names`` that ``attrs`` has ('' if none)."""
    found = [n for n in names if n in attrs]
    return '%s %s' % (attrs.file, ', '.join(found)) if found else ''


def _group(loc, read):
    """(prefix of the datasets' paths, the attributes that describe the volume, the
    group's downsampling factors or None): a Paintera group reads its ``data`` group; a
    BigDataViewer N5 its first setup's first timepoint; a group without attributes
    (BigDataViewer's timepoint) that holds s0 is read as one."""
    attrs = read('attributes.json')
    if attrs is None:
        if read('s0/attributes.json') is None:
            raise InputError('%s is not an N5 store (no attributes.json)' % loc, loc.text)
        return '', Fields({}, loc, 'attributes.json'), None
    attrs = Fields(attrs, loc, 'attributes.json')
    if 'dimensions' in attrs or read('s0/attributes.json') is not None:
        return '', attrs, None
    if 'painteraData' in attrs:
        data = read('data/attributes.json')
        if data is not None:
            return 'data/', Fields(data, loc, 'data/attributes.json'), None
    if read('setup0/timepoint0/s0/attributes.json') is not None:
        setup = read('setup0/attributes.json')
        factors = None
        if setup is not None:
            setup = Fields(setup, loc, 'setup0/attributes.json')
            factors = setup.numbers('downsamplingFactors', None, minimum=1, nested=True)
        timepoint = read('setup0/timepoint0/attributes.json') or {}
        return 'setup0/timepoint0/', Fields(timepoint, loc,
                                            'setup0/timepoint0/attributes.json'), factors
    return '', attrs, None


def _tensorstore_metadata(attrs):
    """A dataset's attributes as JSON text tensorstore reads, when they must differ from
    the file (blosc members it refuses), else None."""
    compression = attrs.raw('compression')
    if not isinstance(compression, dict) or compression.get('type') != 'blosc' \
            or set(compression) <= set(_BLOSC_KEYS):
        return None
    kept = dict(attrs.value, compression={k: v for k, v in compression.items()
                                          if k in _BLOSC_KEYS})
    return json.dumps(kept)


def _dimensions(attrs, count):
    """A dataset's dimensions (x first): at least 3, ``count`` when given."""
    dims = attrs.numbers('dimensions', count=count, integer=True, minimum=1)
    if len(dims) < 3:
        raise attrs.error('dimensions', 'must list at least x, y and z', attrs.raw('dimensions'))
    return dims


def _resolution(attrs):
    """(voxel size x,y,z, unit) of N5 attributes: pixelResolution (N5 Viewer) or
    resolution (neuroglancer, BigDataViewer, Paintera), or (None, None)."""
    if isinstance(attrs.raw('pixelResolution'), dict):
        pr = attrs.object('pixelResolution')
        if 'dimensions' in pr:
            return _three(pr, 'dimensions'), pr.text('unit', None)
    elif 'pixelResolution' in attrs:
        return _three(attrs, 'pixelResolution'), _first_unit(attrs)
    if 'resolution' in attrs:
        return _three(attrs, 'resolution'), _first_unit(attrs)
    return None, None


def _offset(attrs):
    """Paintera's ``offset``: x,y,z of the first voxel, in the resolution's unit."""
    return _three(attrs, 'offset') if 'offset' in attrs else None


def _transform(attrs):
    """(voxel size x,y,z, origin x,y,z, unit) of a COSEM ``transform``, or None."""
    if 'transform' not in attrs:
        return None
    t = attrs.object('transform')
    names = [a.lower() for a in t.raw('axes', ['z', 'y', 'x'])]
    if not all(a in names for a in 'xyz'):
        raise t.error('axes', 'must name x, y and z', t.raw('axes'))
    scale = t.numbers('scale', count=len(names), positive=True)
    shift = t.numbers('translate', (0.0,) * len(names), count=len(names))
    units = t.raw('units')
    unit = units[names.index('x')] if isinstance(units, list) and len(units) == len(names) \
        and isinstance(units[names.index('x')], str) else None
    return ([scale[names.index(a)] for a in 'xyz'], [shift[names.index(a)] for a in 'xyz'],
            unit)


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
