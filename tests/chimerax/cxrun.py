"""Running ``bin/chimerax-headless`` (real ChimeraX, see harness/) from the ChimeraX
tests, as a user runs ``chimerax --nogui --script ...``.

A subprocess is guarded against hangs in a way a busy machine does not trip (``finish``):
a wall-clock timeout fails a run that is only slow when other processes share the cores
(the guide's run took over 300 s under two CPU hogs); what it uses of the CPU does not
grow with the load, and a hung process either spins (its CPU time runs out) or waits on
nothing (it uses none for a long while)."""

import os
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CPU_SECONDS = 600       # default CPU time a subprocess may use, with its children
STALL_SECONDS = 180     # wall time a subprocess may use no CPU at all
POLL_SECONDS = 1.0


def headless(*args, cwd=None, env=None, cpu=CPU_SECONDS, stall=STALL_SECONDS):
    """Run bin/chimerax-headless in a subprocess; return CompletedProcess (text).
    subprocess.TimeoutExpired when it hangs (``finish``)."""
    e = dict(os.environ)
    e.setdefault('CHIMERAX_HEADLESS_HOME', os.path.join(REPO, '.venv', 'chimerax-home-tests'))
    if env:
        e.update(env)
    command = [os.path.join(REPO, 'bin', 'chimerax-headless')] + list(args)
    p = subprocess.Popen(command, cwd=cwd, env=e, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    out, err = finish(p, cpu, stall)
    return subprocess.CompletedProcess(command, p.returncode, out, err)


def ctrl_c_at_pause(title, command):
    """Run the ChimeraX ``command`` in bin/chimerax-headless held at its first progress
    point titled ``title`` (killpoints.py: the script also lets Ctrl-C reach it where the
    tests run with SIGINT ignored), press Ctrl-C there, and return (returncode, stdout,
    stderr) once it has ended (``finish``).  Caught in the middle however busy the
    machine is."""
    import signal
    import killpoints
    env = dict(os.environ)
    env.setdefault('CHIMERAX_HEADLESS_HOME', os.path.join(REPO, '.venv', 'chimerax-home-tests'))
    p = subprocess.Popen([os.path.join(REPO, 'bin', 'chimerax-headless'), '--nogui', '--exit',
                          '--script', '%s pause %s cancel %s' % (killpoints.SCRIPT, title,
                                                                 command)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:
        if line.startswith('PAUSED %s' % title):
            p.send_signal(signal.SIGINT)
            break
    out, err = finish(p)
    return p.returncode, out, err


def finish(p, cpu=CPU_SECONDS, stall=STALL_SECONDS):
    """(stdout, stderr) of Popen ``p`` (started with pipes) once it ends, however long a
    loaded machine makes it run; stopped with its children, raising
    subprocess.TimeoutExpired, once they have used ``cpu`` seconds of CPU or used none
    for ``stall`` seconds."""
    import psutil
    try:
        process = psutil.Process(p.pid)
    except psutil.NoSuchProcess:
        return p.communicate()
    used, last_change = -1.0, time.monotonic()
    while True:
        try:
            return p.communicate(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass            # communicate again: no output is lost
        now, total = time.monotonic(), _cpu_seconds(process)
        if total > used + 0.01:
            used, last_change = total, now
        if used > cpu or now - last_change > stall:
            for child in _tree(process):
                try:
                    child.kill()
                except psutil.NoSuchProcess:
                    pass
            out, err = p.communicate()
            raise subprocess.TimeoutExpired(
                p.args, cpu if used > cpu else stall, output=out, stderr=err)


def _tree(process):
    import psutil
    try:
        return [process] + process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _cpu_seconds(process):
    """CPU seconds ``process`` and its children (living or ended) have used."""
    import psutil
    total = 0.0
    for k, p in enumerate(_tree(process)):
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
        if k == 0:
            total += t.children_user + t.children_system
    return total
