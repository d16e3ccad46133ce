"""What a run killed (SIGKILL) while it writes an output leaves beside it, made by a real
run of formats/locks.py's atomic_output in a process of its own: for the tests of the
clean-up of killed runs' leftovers."""

import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

KILLED = '''
import os, signal, sys
sys.path.insert(0, %r)
import package
package.import_from_source()
from chimerax.connectome.formats import locks
path, kind, replace, aside = sys.argv[1], sys.argv[2], sys.argv[3] == 'replace', sys.argv[4]
rename = os.rename
def killing_rename(a, b):
    # Killed just after an old folder was moved aside, before the new one took its place.
    rename(a, b)
    if aside == 'aside' and '.old-' in os.path.basename(b):
        os.kill(os.getpid(), signal.SIGKILL)
os.rename = killing_rename
with locks.atomic_output(path, 'connectome test', replace, kind=kind) as temp:
    if kind == 'file':
        with open(temp, 'wb') as f:
            f.write(b'x' * 1000)
    else:
        with open(os.path.join(temp, 'partial.txt'), 'w') as f:
            f.write('partial')
    print(os.path.basename(temp), flush=True)
    if aside != 'aside':
        os.kill(os.getpid(), signal.SIGKILL)
'''


def killed_run(path, kind='file', replace=False, aside=False):
    """Start an atomic_output of ``path`` (kind 'file' or 'folder') in a new process and
    SIGKILL it while it writes (``aside``: just after it moved the old folder aside).
    Returns (its process id, the name of the temporary it was writing)."""
    p = subprocess.Popen([sys.executable, '-c', KILLED % HERE, str(path), kind,
                          'replace' if replace else 'new', 'aside' if aside else 'temporary'],
                         stdout=subprocess.PIPE, text=True)
    name = p.stdout.readline().strip()
    p.stdout.close()
    assert p.wait() == -signal.SIGKILL and name, name
    return p.pid, name
