"""Test fixtures.

Tests marked ``chimerax`` get a real ChimeraX session (UCSF's library wheel started by
harness/cxheadless, offscreen OSMesa rendering).  Every test can import
``chimerax.connectome.<module>`` from src/ without a session: pure modules need nothing
of ChimeraX, and the package is imported the way ChimeraX imports an installed bundle.
"""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'harness'))
os.environ.setdefault('PYOPENGL_PLATFORM', 'osmesa')
os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')

from cxheadless import boot  # noqa: E402

boot.prepare_chimerax_package(REPO)


@pytest.fixture(scope='session')
def chimerax_home(tmp_path_factory):
    return str(tmp_path_factory.mktemp('chimerax-home'))


@pytest.fixture(scope='session')
def _process_session(chimerax_home):
    # One ChimeraX session per process, as in ChimeraX (commands are process-wide).
    return boot.start_session(offscreen=True, home=chimerax_home)


@pytest.fixture
def session(_process_session):
    """The real headless ChimeraX session, reset by ChimeraX's own `close session`."""
    from chimerax.core.commands import run as cx_run
    s = _process_session
    cx_run(s, 'close session; lighting default; camera mono', log=False)
    yield s
    # Draw a frame first, as the app's redraw timer would have between user actions:
    # volumes closed with drawing updates still pending break the next frame's update
    # (map/volume.py VolumeUpdateManager) in real ChimeraX too.
    cx_run(s, 'wait 1; close session', log=False)


@pytest.fixture
def run(session):
    """run('cmd') runs a ChimeraX command in the session and returns its result."""
    from chimerax.core.commands import run as cx_run

    def _run(text, **kw):
        return cx_run(session, text, **kw)
    return _run


def headless(*args, cwd=None, env=None, timeout=300):
    """Run bin/chimerax-headless in a subprocess; return CompletedProcess (text)."""
    e = dict(os.environ)
    e.setdefault('CHIMERAX_HEADLESS_HOME', os.path.join(REPO, '.venv', 'chimerax-home-tests'))
    if env:
        e.update(env)
    return subprocess.run([os.path.join(REPO, 'bin', 'chimerax-headless')] + list(args),
                          cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)


def pytest_collection_modifyitems(config, items):
    # Tests that take the `session` fixture are ChimeraX tests, marked or not.
    for item in items:
        if 'session' in getattr(item, 'fixturenames', ()) and not item.get_closest_marker('chimerax'):
            item.add_marker(pytest.mark.chimerax)
