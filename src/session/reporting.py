"""Progress of long work in ChimeraX: every line in the status bar, and in the log the
summary and one line every LOG_INTERVAL seconds, so a long run leaves a record of its
pace.  The pure modules produce the lines (progress.Progress); this shows them.
``cancellable`` lets Ctrl-C stop long work cleanly (progress.request_cancel) instead of
interrupting it wherever it is, which ChimeraX turns into a silent exit.
"""

import contextlib
import signal
import threading
import time

from .. import progress

LOG_INTERVAL = 30       # seconds between progress lines in the log


def status_reporter(session, log_interval=LOG_INTERVAL):
    """A ``report(message, final)`` callable for progress.Progress."""
    logged = [time.monotonic()]

    def report(message, final):
        if final:
            session.logger.status('')
            session.logger.info(message)
            return
        session.logger.status(message)
        if time.monotonic() - logged[0] >= log_interval:
            logged[0] = time.monotonic()
            session.logger.info(message)
    return report


@contextlib.contextmanager
def cancellable():
    """While the block runs, Ctrl-C (SIGINT) asks the work to stop at its next progress
    point; a second Ctrl-C interrupts at once, as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:          # started with Ctrl-C ignored: keep it so
        yield
        return

    def handler(signum, frame):
        progress.request_cancel()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    progress.clear_cancel()
    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.clear_cancel()
