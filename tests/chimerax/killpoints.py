"""Points where a test stops, cancels or kills a ChimeraX command, reached by the command
itself, so no test depends on how fast the machine is (a test that sends a signal after
some time, or when a line appears, races the work and loses on a fast or a busy machine).

As a ChimeraX script (test-only; installed by replacing module attributes):

    chimerax-headless --nogui --exit --script "killpoints.py N COMMAND"
        SIGKILL the process just before its N-th write to a file made by the crash-safe
        HDF5 edit (formats/hdf5edit.py): a pwrite, fsync or ftruncate.
    chimerax-headless --nogui --exit --script "killpoints.py pause TITLE RELEASE COMMAND"
        At the first progress point of work titled TITLE... (progress.Progress.advance),
        print "PAUSED TITLE" on stdout and wait there until a Ctrl-C (SIGINT) has asked
        the work to stop (RELEASE ``cancel``), or until the file RELEASE exists; then go on.
        The test reads the line, then signals or makes the file.

In the test process: ``ctrl_c()``, the user's Ctrl-C at the point where it is called,
within ``ctrl_c_enabled()``.
"""

import contextlib
import os
import signal
import sys
import threading
import time

from chimerax.connectome import progress
from chimerax.connectome.formats import hdf5edit

SCRIPT = os.path.abspath(__file__)
WRITES = ('pwrite', 'fsync', 'ftruncate')
PAUSE_LIMIT = 300       # seconds: a test that never releases fails instead of hanging


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


def _cancel_requested():
    return progress._cancel[0]      # set by session/reporting.py's Ctrl-C handler


def pause_at_progress(title, release):
    """Make the first ``Progress.advance`` of work whose title starts with ``title`` wait
    for ``release``: 'cancel' (a Ctrl-C has been handled) or a file that must exist."""
    advance = progress.Progress.advance
    paused = []

    def released():
        return _cancel_requested() if release == 'cancel' else os.path.exists(release)

    def pausing(self, *args, **kw):
        if not paused and self.title.startswith(title):
            paused.append(True)
            sys.__stdout__.write('PAUSED %s\n' % title)
            sys.__stdout__.flush()
            deadline = time.monotonic() + PAUSE_LIMIT
            # A sleep in the main thread: a SIGINT interrupts it and its handler runs.
            while not released() and time.monotonic() < deadline:
                time.sleep(0.01)
        return advance(self, *args, **kw)
    progress.Progress.advance = pausing


@contextlib.contextmanager
def ctrl_c_enabled():
    """Ctrl-C (SIGINT) handled as Python's default while the block runs, even where the
    tests were started with it ignored, as a background job is (``make test &``, some CI
    runners): the product keeps an ignored Ctrl-C ignored (session/reporting.py), so a
    test that presses it must first make it reach the process."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ctrl_c():
    """The user's Ctrl-C, now, in the test process: SIGINT to this process, returning
    once the connectome handler (session/reporting.py cancellable) has taken it, which
    it shows by putting back the default handler for a second Ctrl-C."""
    assert threading.current_thread() is threading.main_thread(), \
        'Python runs signal handlers in the main thread only'
    handler = signal.getsignal(signal.SIGINT)
    assert callable(handler) and handler is not signal.default_int_handler, \
        'no connectome Ctrl-C handler is installed here (%r)' % (handler,)
    signal.raise_signal(signal.SIGINT)
    deadline = time.monotonic() + PAUSE_LIMIT
    while signal.getsignal(signal.SIGINT) is handler:   # handled in this thread, at once
        assert time.monotonic() < deadline, 'the Ctrl-C was never handled'
        time.sleep(0.001)


def _main(session, args):
    from chimerax.core.commands import run
    if args[0] == 'pause':
        # The test's Ctrl-C must reach the command, though this process inherits an
        # ignored SIGINT when the tests run as a background job.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        pause_at_progress(args[1], args[2])
        command = args[3:]
    else:
        hdf5edit.os = _KillingOS(int(args[0]))
        command = args[1:]
    run(session, ' '.join(command))


if 'session' in globals():          # run by ChimeraX's runscript, which gives a session
    _main(session, sys.argv[1:])  # noqa: F821
