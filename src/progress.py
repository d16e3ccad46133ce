"""Progress of long work as one line: percent, rate, time left.

Pure (no ChimeraX): the command adapters pass a ``report`` callable that shows the line
in ChimeraX's status bar and, every ``log_interval`` seconds, in the log.  Progress is
also where long work stops when cancelled: ``request_cancel`` (a Ctrl-C handler calls
it) makes the next ``advance`` raise errors.Cancelled, a point where stopping is clean.
"""

import time

from .errors import Cancelled

_cancel = [False]


def request_cancel():
    """Ask the running work to stop at its next progress point."""
    _cancel[0] = True


def cancel_requested():
    """Whether stopping was asked for (work that waits rather than advances looks)."""
    return _cancel[0]


def clear_cancel():
    _cancel[0] = False


def format_duration(seconds):
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return '%d s' % seconds
    if seconds < 3600:
        return '%d min %02d s' % divmod(seconds, 60)
    h, rest = divmod(seconds, 3600)
    return '%d h %02d min' % (h, rest // 60)


def format_bytes(n):
    for unit in ('B', 'KB', 'MB', 'GB', 'TB'):
        if abs(n) < 1000 or unit == 'TB':
            return ('%.0f %s' if unit == 'B' else '%.1f %s') % (n, unit)
        n /= 1000.0


class Progress:
    """Track work done out of a known total and report it at most every ``interval`` s.

    ``report(message, final)`` receives lines such as
    ``combine seg.cmap: 45% (97/216 tiles), 210.3 MB/s, 1 min 12 s left``.
    Rates use ``nbytes`` passed to ``advance``; with no bytes the rate is in units/s.
    ``cancel_point`` False: ``advance`` never stops the work, for a phase that must not
    end half done once it has begun (writing a set of attributes).
    """

    def __init__(self, title, total, unit='items', report=None, interval=1.0, clock=time.monotonic,
                 cancel_point=True):
        self.title = title
        self.cancel_point = cancel_point
        self.total = max(0, total)
        self.unit = unit
        self.report = report
        self.interval = interval
        self.clock = clock
        self.done = 0
        self.nbytes = 0
        self.start = clock()
        self._last = None

    def advance(self, count=1, nbytes=0):
        if self.cancel_point and _cancel[0]:
            _cancel[0] = False
            raise Cancelled('%s: cancelled' % self.title)
        self.done += count
        self.nbytes += nbytes
        now = self.clock()
        if self.report is not None and (self._last is None or now - self._last >= self.interval):
            self._last = now
            self.report(self.message(now), False)

    def note(self, message):
        """A line for the log (not a progress line): something about how the work runs."""
        if self.report is not None:
            self.report(message, True)

    def finish(self, summary=None):
        if self.report is not None:
            self.report(summary or self.message(self.clock(), final=True), True)

    def elapsed(self, now=None):
        return (self.clock() if now is None else now) - self.start

    def message(self, now=None, final=False):
        now = self.clock() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        frac = self.done / self.total if self.total else 1.0
        # Work counted in fractions of a unit (combine's tiles, done chunk by chunk)
        # shows a decimal: "5% (0.8/16 tiles)", not "5% (0/16 tiles)".
        done = ('%d' % self.done if float(self.done).is_integer() or self.done >= 100
                else '%.1f' % self.done)
        parts = ['%s: %d%% (%s/%d %s)' % (self.title, int(100 * frac), done, self.total,
                                          self.unit)]
        if self.nbytes:
            parts.append('%s/s' % format_bytes(self.nbytes / elapsed))
        elif self.done:
            parts.append('%.1f %s/s' % (self.done / elapsed, self.unit))
        if final:
            parts.append('%s elapsed' % format_duration(elapsed))
        elif 0 < frac < 1:
            parts.append('%s left' % format_duration(elapsed * (1 - frac) / frac))
        return ', '.join(parts)
