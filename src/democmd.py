"""The ``connectome demo`` command: write a synthetic dataset shaped like Motta et al. 2019
(EM and segmentation tiles, object files, ground truth) to try the whole workflow on.

    connectome demo FOLDER [size small|medium|large] [seed N] [replace true|false]

The work is done by the pure module synthetic.py; this module only parses, shows progress
in the status line (and in the log every LOG_INTERVAL seconds) and logs the summary line.
"""

import time

from .errors import InputError
from .synthetic import SIZES, generate_dataset

LOG_INTERVAL = 30       # seconds between progress lines in the log


def connectome_demo(session, folder, size='small', seed=0, replace=False):
    """Write the dataset into ``folder``; returns synthetic.generate_dataset's summary."""
    from chimerax.core.errors import UserError
    logged = [time.monotonic()]

    def report(message, final):
        if final:
            session.logger.status('')
            session.logger.info(message)
            return
        session.logger.status(message)
        if time.monotonic() - logged[0] >= LOG_INTERVAL:
            logged[0] = time.monotonic()
            session.logger.info(message)

    try:
        return generate_dataset(folder, size=size, seed=seed, report=report, replace=replace)
    except InputError as e:
        raise UserError('connectome demo: %s' % e)


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
