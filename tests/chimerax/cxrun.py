"""Running ``bin/chimerax-headless`` (real ChimeraX, see harness/) from the ChimeraX
tests, as a user runs ``chimerax --nogui --script ...``."""

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def headless(*args, cwd=None, env=None, timeout=300):
    """Run bin/chimerax-headless in a subprocess; return CompletedProcess (text)."""
    e = dict(os.environ)
    e.setdefault('CHIMERAX_HEADLESS_HOME', os.path.join(REPO, '.venv', 'chimerax-home-tests'))
    if env:
        e.update(env)
    return subprocess.run([os.path.join(REPO, 'bin', 'chimerax-headless')] + list(args),
                          cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)
