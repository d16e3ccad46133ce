"""cxrun.finish, the hang guard of the tests' subprocesses: a process that waits on
nothing or spins is stopped, one that is slow because the machine is busy is not (a
wall-clock timeout stopped the guide's run under two CPU hogs, issue 25)."""

import subprocess
import sys

import pytest

from cxrun import finish


def start(code):
    return subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_output_of_a_process_that_ends():
    assert finish(start('print("done")')) == ('done\n', '')


def test_a_process_waiting_on_nothing_is_stopped():
    p = start('import sys, time; print("waiting", flush=True); time.sleep(600)')
    with pytest.raises(subprocess.TimeoutExpired) as e:
        finish(p, stall=3)
    assert p.returncode is not None and e.value.output == 'waiting\n'


def test_a_spinning_process_is_stopped_by_its_cpu_time():
    p = start('while True: pass')
    with pytest.raises(subprocess.TimeoutExpired) as e:
        finish(p, cpu=2, stall=600)
    assert p.returncode is not None and e.value.timeout == 2
