"""The ``connectome demo`` command: write a synthetic dataset shaped like Motta et al. 2019
(EM and segmentation tiles, object files, ground truth) to try the whole workflow on.

    connectome demo FOLDER [size small|medium|large] [seed N] [replace true|false]

The work is done by the pure package demo/; this module only parses, shows progress in
the status line and log (session/reporting.py) and logs the summary line.
"""

from ..demo import SIZES, generate_dataset
from ..errors import Cancelled, InputError
from ..session.reporting import cancellable, status_reporter


def connectome_demo(session, folder, size='small', seed=0, replace=False):
    """Write the dataset into ``folder``; returns demo.generate_dataset's DemoSummary."""
    from chimerax.core.errors import UserError
    try:
        with cancellable():
            return generate_dataset(folder, size=size, seed=seed,
                                    report=status_reporter(session), replace=replace)
    except InputError as e:
        raise UserError('connectome demo: %s' % e)
    except Cancelled:
        raise UserError('connectome demo: cancelled; %s was not written' % folder)


def register_demo_command(logger):
    from chimerax.core.commands import (
        CmdDesc, register, BoolArg, EnumOf, NonNegativeIntArg, SaveFolderNameArg)
    desc = CmdDesc(
        required=[('folder', SaveFolderNameArg)],
        keyword=[('size', EnumOf(tuple(SIZES))),
                 ('seed', NonNegativeIntArg),
                 ('replace', BoolArg)],
        synopsis='write a synthetic connectome dataset shaped like Motta et al. 2019')
    register('connectome demo', desc, connectome_demo, logger=logger)
