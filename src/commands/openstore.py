"""Opening a chunked store (neuroglancer precomputed, Zarr / OME-Zarr, N5) in ChimeraX as
one multiresolution volume, read where it lies: the open-command providers of the
"Neuroglancer precomputed", "Zarr" and "N5" formats and of the fetch prefixes
(bundle_info.xml)::

    open PATH format precomputed|zarr|n5 [channel N] [voxelSize X,Y,Z] [origin X,Y,Z]
        [attributesFile FILE] [timeout SECONDS] [compactIds true|false]
    open precomputed://gs://bucket/path      (also zarr://, zarr2://, zarr3://, n5://,
    open gs://bucket/path.zarr                gs://, s3://, file://; http(s) after a
                                              format prefix)

A local folder ending in .zarr or .n5 opens without ``format``.  The reading is
formats/stores/; the volume session/storegrid.py.
"""

import os

from chimerax.open_command import FetcherInfo, OpenerInfo

from ..errors import InputError
from ..formats import sidecar, stores
from ..formats.source import check_geometry
from ..pipeline.attributefile import AttributeFile
from ..session.initialdisplay import set_initial_display
from ..session.storegrid import attributes_cache_folder, store_grid, use_saved_id_map

# bundle_info.xml's data format names
FORMAT_NAMES = {'Neuroglancer precomputed': 'precomputed', 'Zarr': 'zarr', 'N5': 'n5'}
# fetch prefixes whose format is in the name; the others (gs, s3, file) find it
FETCH_FORMATS = {'precomputed': 'precomputed', 'zarr': 'zarr', 'zarr2': 'zarr',
                 'zarr3': 'zarr', 'n5': 'n5'}
FETCH_NAMES = tuple(FETCH_FORMATS) + ('gs', 's3', 'file')


def open_store_volume(session, path, format=None, channel=0, voxel_size=None, origin=None,
                      attributes_file=None, timeout=None, compact_ids=None):
    """Open a store as one volume; returns (models, message).  ``timeout``: the seconds
    opening it, and then each read, may wait for the store (None: the default,
    formats/stores/opening.py default_timeout); ``compact_ids``: read 64-bit ids through
    an id map (None: when its coarsest scale holds an id above 2^32, or its attribute
    file holds a map)."""
    from chimerax.core.errors import UserError
    try:
        store = stores.open_store(path, format, channel=channel, timeout=timeout,
                                  compact_ids=compact_ids)
        voxel_size, origin = check_geometry(store.voxel_size if voxel_size is None
                                            else voxel_size, origin)
        attributes = AttributeFile(
            os.path.abspath(os.path.expanduser(attributes_file)) if attributes_file
            else sidecar.default_path(store, attributes_cache_folder()), store)
        attributes.check()
        use_saved_id_map(store, attributes.path, compact_ids)
    except InputError as e:
        raise UserError('open %s: %s' % (format or 'store', e))
    grid = store_grid(store, voxel_size, origin, attributes, session.logger.error)
    set_initial_display(grid, store.segmentation)
    from chimerax.map.volume import open_grids
    models, _ = open_grids(session, [grid], store.name)
    x, y, z = grid.size
    steps = ', '.join(','.join(map(str, reversed(lv.factors))) for lv in store.levels[1:])
    kind = {True: 'segmentation', False: 'image', None: store.dtype.name}[store.segmentation]
    if not store.spec.geometry:
        units = (' (the metadata gives no voxel size or origin; voxelSize X,Y,Z and'
                 ' origin X,Y,Z give them)')
    elif not store.units_known:
        units = ' (from %s; no units in the metadata)' % store.spec.geometry
    else:
        units = ' (from %s)' % store.spec.geometry
    message = ('Opened %s store %s: %d x %d x %d voxels %s, %s, voxel size %s nm%s, levels'
               ' %s' % (store.format, store.name, x, y, z, store.dtype.name, kind,
                        ','.join('%g' % v for v in grid.step), units,
                        ('1 + subsamples ' + steps) if steps else '1 (no subsamples)'))
    if store.id_map is not None:
        message += ('; %s region ids read through an id map: shown and given as they'
                    ' are, held as compact 32-bit values' % store.stored_dtype.name)
    if store.skipped:
        message += '; left out %s' % '; '.join('%s (%s)' % s for s in store.skipped)
    return models, message

def _open_args():
    from chimerax.core.commands import BoolArg, FloatArg, IntArg, SaveFileNameArg
    from chimerax.map.mapargs import Float1or3Arg
    return {'channel': IntArg,
            'compact_ids': BoolArg,
            'voxel_size': Float1or3Arg,
            'origin': Float1or3Arg,
            'attributes_file': SaveFileNameArg,
            'timeout': FloatArg}


class StoreOpenerInfo(OpenerInfo):
    """Open-command provider of one store format (a local folder path)."""

    def __init__(self, format):
        self.format = format

    def open(self, session, data, file_name, **kw):
        path = data if isinstance(data, str) else os.fspath(data)
        return open_store_volume(session, path, self.format, **kw)

    @property
    def open_args(self):
        return _open_args()


class StoreFetcherInfo(FetcherInfo):
    """Fetch provider of a prefix (``precomputed://...``, ``gs://...``): the store is
    read where it lies, nothing is downloaded beyond the chunks shown."""

    def __init__(self, prefix):
        self.prefix = prefix

    def fetch(self, session, ident, format_name, ignore_cache, **kw):
        return open_store_volume(session, '%s:%s' % (self.prefix, ident),
                                 FETCH_FORMATS.get(self.prefix), **kw)

    @property
    def fetch_args(self):
        return {}
