"""Progress of long work in ChimeraX: every line in the status bar, and in the log the
summary and one line every LOG_INTERVAL seconds, so a long run leaves a record of its
pace.  The pure modules produce the lines (progress.Progress); this shows them.
"""

import time

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
