"""The ``connectome at`` command: which region and which objects are at a point.

    connectome at X,Y,Z [segmentation SEGMENTATION]

X,Y,Z are scene coordinates.  Logs ``region 812345  axon 1203  dendrite 0  spinehead 0``
(then the region's categories and numbers: ``axonclass inhibitory``) and returns
{'region': 812345, 'axon': 1203, ...}.  The hover readout
uses the same lookup (session/readout.py objects_at).
"""

import math

from ..session.maps import choose_models
from ..session.readout import enable_readout, objects_at, readout_line


def connectome_at(session, point, segmentation=None):
    from chimerax.core.errors import UserError
    if not all(math.isfinite(c) for c in point):
        raise UserError('connectome at: the point must be finite x,y,z scene coordinates,'
                        ' not %s' % ','.join('%g' % c for c in point))
    seg, _ = choose_models(session, 'connectome at', segmentation, need_image=False)
    found = objects_at(seg, point)
    where = ','.join('%.5g' % c for c in point)
    if found is None:
        raise UserError('connectome at: point %s is outside segmentation %s (%s)'
                        % (where, seg.atomspec, seg.name))
    session.logger.info('At %s in %s (%s): %s' % (where, seg.atomspec, seg.name,
                                                 readout_line(seg, found)))
    enable_readout(session)
    return found.as_dict()


def register_at_command(logger):
    from chimerax.core.commands import CmdDesc, register, Float3Arg
    from chimerax.map import MapArg
    desc = CmdDesc(required=[('point', Float3Arg)],
                   keyword=[('segmentation', MapArg)],
                   synopsis='report the region and object ids at a point')
    register('connectome at', desc, connectome_at, logger=logger)
