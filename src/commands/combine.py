"""The ``connectome combine`` command: HDF5 tiles, or a chunked store, to one
multiresolution Chimera map.

    connectome combine TILES|STORE output FILE.cmap [dataset NAME] [pattern x{X}y{Y}z{Z}]
        [firstIndex 0] [missing error|zero] [region i1,j1,k1,i2,j2,k2] [axisOrder zyx|xyz]
        [voxelSize X,Y,Z] [origin X,Y,Z] [subsamples auto|none|I,J,K ...]
        [downsample auto|mode|mean|stride] [compress true|false] [compressMethod ...]
        [compressLevel N] [compressShuffle true|false] [chunkShapes zyx] [memoryLimit GB]
        [threads N] [name TEXT] [replace false] [open true] [channel N]
        [scheduler tcp://HOST:8786 | tls://HOST:8786 | local N] [schedulerTimeout SECONDS]
        [tlsCaFile FILE] [tlsCert FILE] [tlsKey FILE]
    connectome combine TILES|STORE output DIR format precomputed|zarr [sharded auto|true|false]
        [attributes SEG.cmap] [objects CLASS] [meshes FOLDER] [... the options above]

STORE is a neuroglancer precomputed, Zarr or N5 store (a folder or URL, as ``open``
takes it): its full resolution is read, with its voxel size and origin unless given, so
a region of a remote dataset becomes a local map.  Options shared with ChimeraX's ``save
file.cmap`` have its names and values.  The work is done by formats/tiles/ or
formats/stores/ (reading: either is a formats/source.py VolumeSource) and
pipeline/combine.py (writing); this module only parses, reports progress to the status
line and log, and opens the result.  With ``scheduler``
the chunk work runs on a Dask cluster (pipeline/cluster.py; a tls:// scheduler with the
certificate files given) and this process writes.  With ``format precomputed`` or
``zarr`` the same pass writes a neuroglancer precomputed volume or an OME-Zarr image
in the folder DIR instead (pipeline/export.py), with the attributes of ``attributes`` (or
of a store's own attribute file) as segment properties and the meshes of ``meshes``
(precomputed); ``objects CLASS`` writes the ids of that class's objects instead of
regions (so meshes of the class's objects match the voxels), and without ``meshes`` takes
the folder ``connectome meshes`` writes for that class beside the attribute file
(SEG.CLASS-meshes) when there is one (the log says which).
"""

import os

from chimerax.core.commands import (Annotation, AnnotationError, BoolArg, Bounded, CmdDesc,
                                    EnumOf, FloatArg, IntArg, ListOf, next_token,
                                    OpenFileNameArg, OpenFileNamesArg, OpenFolderNameArg, Or, PositiveIntArg,
                                    quote_path_if_necessary, register, RepeatOf, run,
                                    SaveFileNameArg, StringArg)

from ..errors import Cancelled, InputError
from ..formats import cmap, sidecar, stores
from ..formats.tiles import AXIS_ORDERS, DEFAULT_PATTERN, MISSING_CHOICES, open_tiles
from ..pipeline import cluster, combine as engine, export, pyramid, storeids
from ..pipeline.attributefile import AttributeFile
from ..session.reporting import cancellable, status_reporter
from ..session.storegrid import attributes_cache_folder


class SchedulerArg(Annotation):
    """A Dask scheduler's address (tcp://host:8786, tls://host:8786), or ``local N``: N
    worker processes started here.  A ``;`` ends it (next_token stops there), so the
    command after it runs."""
    name = 'a Dask scheduler address or local N'

    @staticmethod
    def parse(text, session):
        token, used, rest = next_token(text)
        if not token:
            raise AnnotationError('expected a Dask scheduler address or local N')
        if token != 'local' or not rest.strip():
            return token, used, rest
        stripped = rest.lstrip()
        number, _, after = next_token(stripped)
        if not number.lstrip('-').isdigit():
            return 'local', used, rest
        end = len(text) - len(after)
        return 'local %s' % number, text[:end], text[end:]


class TilesArg(OpenFileNamesArg):
    """A folder, a glob or several tile files (globs are expanded by formats/tiles/),
    or one store."""
    name = 'a folder, glob or HDF5 tile files, or a store'
    check_existence = False


def connectome_combine(session, tiles, output=None, dataset=None, pattern=DEFAULT_PATTERN,
                       first_index=0, missing='error', region='all', axis_order='zyx',
                       voxel_size=None, origin=None, channel=0, subsamples=None, downsample='auto',
                       compress=True, compress_method=None,
                       compress_level=None,
                       compress_shuffle=None, chunk_shapes=None,
                       memory_limit=engine.DEFAULT_MEMORY_LIMIT, threads=None, name=None,
                       replace=False, open=True, scheduler=None,
                       scheduler_timeout=cluster.CONNECT_TIMEOUT, tls_ca_file=None,
                       tls_cert=None, tls_key=None, format='cmap', sharded='auto',
                       attributes=None, meshes=None, objects=None):
    """Combine HDF5 tiles or a store into one compressed multiresolution .cmap, or a
    precomputed or OME-Zarr store (``format``); returns the opened models (open true) or
    the CombineResult (ExportResult)."""
    from chimerax.core.errors import UserError
    if chunk_shapes is not None and list(chunk_shapes) != ['zyx']:
        raise UserError('connectome combine: only chunkShapes zyx is written (the full'
                        ' resolution in thin chunks, the subsampled levels in cubes: see'
                        ' help connectome)')
    if region == 'shown':
        raise UserError('connectome combine: region must be all or i1,j1,k1,i2,j2,k2')
    if region != 'all':
        region = tuple(region[0]) + tuple(region[1])
    if scheduler is not None:
        scheduler = cluster.Scheduler(scheduler, timeout=scheduler_timeout,
                                      tls_ca_file=tls_ca_file, tls_cert=tls_cert,
                                      tls_key=tls_key)
    elif tls_ca_file or tls_cert or tls_key:
        raise UserError('connectome combine: tlsCaFile, tlsCert and tlsKey are for a'
                        ' tls:// scheduler; no scheduler was given')
    if format != 'precomputed' and (sharded != 'auto' or meshes):
        raise UserError('connectome combine: sharded and meshes are for format precomputed')
    if format == 'precomputed' and (compress_method not in (None, 'gzip')
                                    or compress_shuffle is not None or not compress):
        raise UserError('connectome combine: compress, compressMethod and compressShuffle'
                        ' are for a .cmap or zarr (precomputed chunks are'
                        ' compressed_segmentation for labels, raw otherwise; compressMethod'
                        ' gzip writes them as gzipped chunk files)')
    if format == 'cmap' and (attributes or objects):
        raise UserError('connectome combine: attributes and objects are for format'
                        ' precomputed or zarr')

    try:
        with cancellable(), _open_source(tiles, dataset, pattern, first_index, missing,
                                         axis_order, channel) as source:
            # The source's own voxel size and origin unless given (a store has them,
            # tiles have none: combine's defaults then).
            voxel_size = voxel_size or source.voxel_size
            if origin is None and source.origin is not None:
                start = engine.region_bounds(None if region == 'all' else region,
                                             source.shape)[0]
                origin = tuple(o + s * v for o, s, v in
                               zip(source.origin, reversed(start), voxel_size))
            options = dict(
                region=region, voxel_size=voxel_size or (1, 1, 1), origin=origin,
                subsamples=_subsamples(subsamples), downsample=downsample, compress=compress,
                compress_method=compress_method,
                compress_level=(cmap.DEFAULT_LEVEL if compress_level is None
                                and format == 'cmap' else compress_level),
                compress_shuffle=compress_shuffle, memory_limit=memory_limit,
                threads=threads, replace=replace, name=name,
                report=status_reporter(session), scheduler=scheduler)
            if format == 'cmap':
                result = engine.combine(source, output, **options)
            else:
                source, properties, found = _objects_and_properties(source, attributes,
                                                                    format, objects)
                if meshes is None and objects is not None and format == 'precomputed':
                    meshes = _default_meshes(session, found, objects)
                result = export.export(source, output, format, sharded=sharded,
                                       segment_properties=properties, meshes=meshes,
                                       **options)
    except InputError as e:
        raise UserError('connectome combine: %s' % e)
    except Cancelled:
        raise UserError('connectome combine: cancelled; %s was not written' % output)
    if not open:
        return result
    if format == 'cmap':
        return run(session, 'open %s' % quote_path_if_necessary(result.path))
    return run(session, 'open %s format %s' % (quote_path_if_necessary(result.path), format))


def _objects_and_properties(source, attributes, format, objects):
    """(the source to export, its segment properties or None, the attribute file used or
    None): with ``objects`` the source read as that class's object ids, described as
    objects; else, for precomputed, the regions described by their attributes.  The
    attribute file is ``attributes``, or else a store's own attribute file when it has
    attributes."""
    if format != 'precomputed' and objects is None:
        return source, None, None
    if attributes is None and isinstance(source, stores.Store):
        own = AttributeFile(sidecar.default_path(source, attributes_cache_folder()), source)
        if own.exists:
            own.check()
            attributes = own.path if own.info() else None
    if objects is not None:
        if attributes is None:
            raise InputError('objects %s: name the attribute file that lists them'
                             ' (attributes SEGMENTATION.cmap)' % objects)
        return (storeids.object_volume(source, attributes, objects),
                storeids.object_properties(attributes, objects)
                if format == 'precomputed' else None, attributes)
    return (source, None if attributes is None else storeids.segment_properties(attributes),
            attributes)


def _default_meshes(session, attributes, objects):
    """The folder ``connectome meshes`` writes by default for class ``objects`` beside
    the attribute file (``seg.neuron-meshes``), when it holds meshes (an info file);
    else None.  The log says which."""
    from ..formats.meshes import default_output
    folder = default_output(attributes, objects)
    if os.path.isfile(os.path.join(folder, 'info')):
        session.logger.info('connectome combine: the meshes of %s are %s (made by connectome'
                            ' meshes; give meshes FOLDER for others)' % (objects, folder))
        return folder
    session.logger.info('connectome combine: no meshes written (%s has none; connectome'
                        ' meshes %s %s makes them)' % (folder, attributes, objects))
    return None


def _open_source(tiles, dataset, pattern, first_index, missing, axis_order, channel):
    """The VolumeSource to read: a Store when the one source given is a store, else a
    TileSet."""
    if len(tiles) == 1 and stores.looks_like_store(tiles[0]):
        return stores.open_store(tiles[0], channel=channel)
    return open_tiles(tiles, dataset=dataset, pattern=pattern, first_index=first_index,
                      missing=missing, axis_order=axis_order)


def _subsamples(values):
    """The repeated subsamples option: [] -> auto, ['none'], or a list of steps."""
    if not values:
        return 'auto'
    words = [v for v in values if isinstance(v, str)]
    if words:
        if len(values) > 1:
            raise InputError('subsamples auto or none cannot be combined with steps')
        return words[0]
    return list(values)


def register_combine_command(logger):
    from chimerax.map.mapargs import Float1or3Arg, Int1or3Arg, MapRegionArg
    desc = CmdDesc(
        required=[('tiles', TilesArg)],
        keyword=[('output', SaveFileNameArg),
                 ('dataset', StringArg),
                 ('pattern', StringArg),
                 ('first_index', IntArg),
                 ('missing', EnumOf(MISSING_CHOICES)),
                 ('region', MapRegionArg),
                 ('axis_order', EnumOf(AXIS_ORDERS)),
                 ('voxel_size', Float1or3Arg),
                 ('origin', Float1or3Arg),
                 ('channel', IntArg),
                 ('subsamples', RepeatOf(Or(EnumOf(('auto', 'none')), Int1or3Arg))),
                 ('downsample', EnumOf(('auto',) + pyramid.METHODS)),
                 ('compress', BoolArg),
                 ('compress_method', EnumOf(cmap.COMPRESS_METHODS + ('gzip',))),
                 ('compress_level', Bounded(IntArg, 0, 9)),
                 ('compress_shuffle', BoolArg),
                 ('chunk_shapes', ListOf(EnumOf(('zyx', 'zxy', 'yxz', 'yzx', 'xzy', 'xyz')))),
                 ('memory_limit', Bounded(FloatArg, 0.01)),
                 ('threads', PositiveIntArg),
                 ('name', StringArg),
                 ('replace', BoolArg),
                 ('open', BoolArg),
                 ('scheduler', SchedulerArg),
                 ('scheduler_timeout', Bounded(FloatArg, 0.1)),
                 ('tls_ca_file', OpenFileNameArg),
                 ('tls_cert', OpenFileNameArg),
                 ('tls_key', OpenFileNameArg),
                 ('format', EnumOf(('cmap',) + export.FORMATS)),
                 ('sharded', EnumOf(export.SHARDED)),
                 ('attributes', OpenFileNameArg),
                 ('meshes', OpenFolderNameArg),
                 ('objects', StringArg)],
        required_arguments=['output'],
        synopsis='combine HDF5 tiles or a chunked store into one multiresolution compressed'
                 ' Chimera map, precomputed volume or OME-Zarr image')
    register('connectome combine', desc, connectome_combine, logger=logger)
