"""Run a ChimeraX command at a moment shared with other processes: touch READY, wait for
GO to exist, then run COMMAND.  For tests of two runs at once.

    chimerax-headless --nogui --exit --script "together.py READY GO COMMAND"
"""

import os
import sys
import time

from chimerax.core.commands import run

ready, go, command = sys.argv[1], sys.argv[2], ' '.join(sys.argv[3:])
open(ready, 'w').close()
while not os.path.exists(go):
    time.sleep(0.002)
run(session, command)  # noqa: F821  (runscript's session)
