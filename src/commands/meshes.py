"""The ``connectome meshes`` command: full-resolution surfaces of a class's objects, made
once, at several levels of detail, in neuroglancer's multi-resolution mesh format.

    connectome meshes SEGMENTATION CLASS [IDS|all] [output FOLDER] [lods N]
        [threads N] [replace true|false] [sharded auto|true|false]
        [scheduler tcp://HOST:8786 | tls://HOST:8786 | local N] [schedulerTimeout SECONDS]
        [tlsCaFile PEM] [tlsCert PEM] [tlsKey PEM]

    open FOLDER format precomputedmesh [ids 12,40-45] [lod N]

SEGMENTATION is a .cmap file, a store's attribute file, or an open segmentation (#2, whose
placement the meshes take).  The folder is by default beside the segmentation's attribute
file (``seg.neuron-meshes``), where ``connectome surfaces ... each neuron`` and
``connectome show`` find it.  A store of region ids above 2^32 is read through the id map
its attribute file keeps (the values its class arrays are indexed by), and a .cmap
combined from one holds those values; the meshes are named by the class's object ids,
as for small ids.  The work is pipeline/meshing.py's; Ctrl-C stops it at the
next chunk or object, leaving no output; a run killed or stopped is continued by running
it again.  ``sharded`` gathers the objects into neuroglancer's shard files (auto: above
pipeline/meshing_output.py's SHARD_ABOVE objects); ``scheduler`` runs the chunks and
objects on a Dask cluster (pipeline/meshing_cluster.py, the cluster path of ``connectome
combine``, with its TLS options), the same meshes byte for byte.  ``open ... format
precomputedmesh`` shows the meshes of any neuroglancer
multi-resolution mesh folder (one surface per object, a random colour per id).
"""

import os

from chimerax.core.commands import (BoolArg, Bounded, CmdDesc, EnumOf, FloatArg, IntArg,
                                    NonNegativeIntArg, OpenFileNameArg, PositiveIntArg,
                                    SaveFolderNameArg, StringArg, register)
from chimerax.open_command import OpenerInfo

from ..errors import Cancelled, InputError
from ..formats.meshes import default_output
from ..parallel import available_cores
from ..pipeline import classes as pure, cluster, meshing
from ..pipeline.meshing_chunks import segmentation_of
from ..session.maps import SegmentationArg, segmentation_file
from ..session.meshsurfaces import open_mesh_folder
from ..session.reporting import cancellable, status_reporter
from .combine import SchedulerArg

COMMAND = 'connectome meshes'


def connectome_meshes(session, segmentation, name, ids='all', output=None,
                      lods=meshing.DEFAULT_LODS, threads=None, replace=False,
                      chunk_size=meshing.DEFAULT_SIDE, sharded='auto', scheduler=None,
                      scheduler_timeout=cluster.CONNECT_TIMEOUT, tls_ca_file=None,
                      tls_cert=None, tls_key=None):
    """Make the meshes; returns the pipeline's MeshResult."""
    from chimerax.core.errors import UserError
    from chimerax.map import Volume
    if scheduler is not None:
        if threads is not None:
            raise UserError('%s: threads is for a run here; with scheduler the Dask'
                            ' workers\' threads do the work' % COMMAND)
        scheduler = cluster.Scheduler(scheduler, timeout=scheduler_timeout,
                                      tls_ca_file=tls_ca_file, tls_cert=tls_cert,
                                      tls_key=tls_key)
    elif tls_ca_file or tls_cert or tls_key:
        raise UserError('%s: tlsCaFile, tlsCert and tlsKey are for a tls:// scheduler; no'
                        ' scheduler was given' % COMMAND)
    try:
        found, models = segmentation_file(session, segmentation)
        if not found.exists:
            raise InputError('%s does not exist; run connectome ids first' % found.path)
        if name not in found.class_names():
            raise InputError('%s has no class %s (it has %s)' % (
                found.path, name, ', '.join(found.class_names()) or 'none'))
        values = found.read(name)
        ids = None if ids == 'all' else _ids(ids, values, name)
        placed = segmentation if isinstance(segmentation, Volume) else None
        seg = segmentation_of(found.survey(),
                              None if placed is None else tuple(placed.data.origin),
                              None if placed is None else tuple(placed.data.step))
        output = output or default_output(found.path, name)
        job = meshing.MeshJob(seg, name, ids, output, lods=lods, side=chunk_size,
                              replace=replace,
                              sharded={'auto': None, 'true': True, 'false': False}[sharded])
        with cancellable():
            result = meshing.make_meshes(job, values, workers=threads or available_cores(),
                                         report=status_reporter(session),
                                         scheduler=scheduler)
    except InputError as e:
        raise UserError('%s: %s' % (COMMAND, e))
    except Cancelled:
        raise UserError('%s: cancelled; %s was not written (run it again to continue)'
                        % (COMMAND, output))
    session.logger.info('%s: %d %s meshes in %s, %s triangles at levels of detail 0-%d'
                        % (COMMAND, result.objects, name, output,
                           ' / '.join(str(n) for n in result.triangles), lods - 1))
    return result


def _ids(text, values, name):
    """Object ids typed as 12,40-45."""
    ranges = pure.parse_object_ids(text, int(values.max()), name)
    return sorted({i for a, b in ranges for i in range(a, b + 1)})


def register_meshes_command(logger):
    desc = CmdDesc(
        required=[('segmentation', SegmentationArg), ('name', StringArg)],
        optional=[('ids', StringArg)],
        keyword=[('output', SaveFolderNameArg),
                 ('lods', Bounded(IntArg, 1, 8)),
                 ('threads', PositiveIntArg),
                 ('replace', BoolArg),
                 ('chunk_size', Bounded(IntArg, 8, 1024)),
                 ('sharded', EnumOf(('auto', 'true', 'false'))),
                 ('scheduler', SchedulerArg),
                 ('scheduler_timeout', Bounded(FloatArg, 0.1)),
                 ('tls_ca_file', OpenFileNameArg),
                 ('tls_cert', OpenFileNameArg),
                 ('tls_key', OpenFileNameArg)],
        synopsis='make full-resolution meshes of objects at several levels of detail'
                 ' (neuroglancer multi-resolution format)')
    register(COMMAND, desc, connectome_meshes, logger=logger)


class MeshOpenerInfo(OpenerInfo):
    """Open-command provider of a local multi-resolution mesh folder."""

    def open(self, session, data, file_name, ids=None, lod=None, **kw):
        from chimerax.core.errors import UserError
        path = data if isinstance(data, str) else os.fspath(data)
        try:
            if ids is not None:
                ranges = pure.parse_object_ids(ids, 2 ** 64 - 1)
                ids = [i for a, b in ranges for i in range(a, b + 1)]
            return open_mesh_folder(session, path, ids, lod)
        except InputError as e:
            raise UserError('open %s: %s' % (path, e))

    @property
    def open_args(self):
        return {'ids': StringArg, 'lod': NonNegativeIntArg}
