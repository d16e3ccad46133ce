"""progress.Progress: the line it reports (percent, rate, time left) and where long work
stops when cancelled: the next advance raises Cancelled, except in a phase that must
not stop half done (cancel_point False)."""

import pytest

from chimerax.connectome import progress
from chimerax.connectome.errors import Cancelled


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_line_has_percent_rate_and_time_left():
    clock = Clock()
    lines = []
    p = progress.Progress('combine seg.cmap', 200, 'tiles',
                          lambda message, final: lines.append((message, final)),
                          interval=0, clock=clock)
    clock.now += 10
    p.advance(50, nbytes=500_000_000)
    assert lines[-1] == ('combine seg.cmap: 25% (50/200 tiles), 50.0 MB/s, 30 s left', False)
    clock.now += 30
    p.advance(150)
    p.finish()
    assert lines[-1] == ('combine seg.cmap: 100% (200/200 tiles), 12.5 MB/s, 40 s elapsed',
                         True)


def test_cancel_stops_at_the_next_advance_once():
    p = progress.Progress('demo', 10)
    progress.request_cancel()
    with pytest.raises(Cancelled, match='demo: cancelled'):
        p.advance()
    assert p.done == 0
    p.advance()                 # the request is used up
    assert p.done == 1


def test_a_phase_that_must_finish_is_not_stopped():
    writing = progress.Progress('writing', 3, cancel_point=False)
    progress.request_cancel()
    try:
        for _ in range(3):
            writing.advance()
        assert writing.done == 3
    finally:
        progress.clear_cancel()
