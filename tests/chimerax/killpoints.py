"""Run a ChimeraX command and SIGKILL the process just before its N-th write to a file
made by the crash-safe HDF5 edit (formats/hdf5edit.py): a pwrite, fsync or ftruncate.
Test-only: installed by replacing the edit module's ``os`` with a counting proxy.

    chimerax-headless --nogui --exit --script "killpoints.py N COMMAND"
"""

import os
import signal
import sys

from chimerax.connectome.formats import hdf5edit

WRITES = ('pwrite', 'fsync', 'ftruncate')


class _KillingOS:
    def __init__(self, at):
        self.at = at
        self.count = 0

    def __getattr__(self, name):
        real = getattr(os, name)
        if name not in WRITES:
            return real

        def counted(*args, **kw):
            self.count += 1
            if self.count == self.at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kw)
        return counted


hdf5edit.os = _KillingOS(int(sys.argv[1]))
from chimerax.core.commands import run  # noqa: E402
run(session, ' '.join(sys.argv[2:]))  # noqa: F821  (runscript's session)
