"""The ChimeraX tests: every test here is marked ``chimerax`` and runs against real
ChimeraX code (UCSF's library wheel started by harness/cxheadless, offscreen OSMesa
rendering), in this process (the ``session`` fixture) or in a ``chimerax-headless``
subprocess (``headless``).  ``chimerax.connectome`` is imported the way ChimeraX imports
an installed bundle.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'common'))
sys.path.insert(0, HERE)
from cxrun import REPO  # noqa: E402

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
def window(session):
    """The app window, emulated offscreen (harness/cxheadless/window.py): tool panels,
    toolbar buttons and mouse hover work as in the app."""
    from cxheadless.window import window as app_window
    with app_window(session) as w:
        yield w


@pytest.fixture
def run(session):
    """run('cmd') runs a ChimeraX command in the session and returns its result."""
    from chimerax.core.commands import run as cx_run

    def _run(text, **kw):
        return cx_run(session, text, **kw)
    return _run


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.fspath).startswith(HERE + os.sep) and not item.get_closest_marker('chimerax'):
            item.add_marker(pytest.mark.chimerax)
