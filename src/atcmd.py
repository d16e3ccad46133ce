"""The ``connectome at`` command: which region and which objects are at a point.

    connectome at X,Y,Z [segmentation SEGMENTATION]

X,Y,Z are scene coordinates.  Logs ``region 812345  axon 1203  dendrite 0  spinehead 0``
and returns {'region': 812345, 'axon': 1203, ...}.  The hover readout (mousemode.py)
uses the same lookup, which reads one voxel of the full-resolution segmentation and one
entry of each class's attribute array.
"""

from . import objectclasses
from .colorcmd import choose_models, class_values, segmentation_classes


def objects_at(seg, scene_xyz):
    """{'region': id, class: object id, ...} at a scene point, or None outside the
    segmentation's grid.  The voxel nearest the point decides."""
    ijk = seg.data.xyz_to_ijk(seg.scene_position.inverse() * scene_xyz)
    ijk = tuple(int(round(float(c))) for c in ijk)
    if any(c < 0 or c >= n for c, n in zip(ijk, seg.data.size)):
        return None
    region = int(seg.data.matrix(ijk, (1, 1, 1))[0, 0, 0])
    arrays = {name: class_values(seg, name) for name in segmentation_classes(seg)}
    return dict({'region': region}, **objectclasses.object_ids(arrays, region))


def connectome_at(session, point, segmentation=None):
    from chimerax.core.errors import UserError
    seg, _ = choose_models(session, 'connectome at', segmentation, need_image=False)
    found = objects_at(seg, point)
    where = ','.join('%.5g' % c for c in point)
    if found is None:
        raise UserError('connectome at: point %s is outside segmentation %s (%s)'
                        % (where, seg.atomspec, seg.name))
    ids = {k: v for k, v in found.items() if k != 'region'}
    session.logger.info('At %s in %s (%s): %s' % (where, seg.atomspec, seg.name,
                                                 objectclasses.readout_text(found['region'], ids)))
    from .mousemode import enable_readout
    enable_readout(session)
    return found


def register_at_command(logger):
    from chimerax.core.commands import CmdDesc, register, Float3Arg
    from chimerax.map import MapArg
    desc = CmdDesc(required=[('point', Float3Arg)],
                   keyword=[('segmentation', MapArg)],
                   synopsis='report the region and object ids at a point')
    register('connectome at', desc, connectome_at, logger=logger)
