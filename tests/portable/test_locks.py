"""formats/locks.py: one run at a time on a file, locks that die with their process,
and the clean-up of what killed runs left behind."""

import os
import signal
import subprocess
import sys

import pytest

from chimerax.connectome.errors import InputError
from chimerax.connectome.formats import locks
from package import REPO

HOLDER = '''
import sys, time
sys.path.insert(0, %r)
import package
package.import_from_source()
from chimerax.connectome.formats import locks
with locks.exclusive(sys.argv[1], 'connectome test'):
    print('held', flush=True)
    time.sleep(60)
'''


def holder(path):
    p = subprocess.Popen([sys.executable, '-c', HOLDER % os.path.join(REPO, 'tests', 'common'),
                          str(path)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == 'held'
    return p


def test_a_second_process_is_refused_and_told_who_holds_it(tmp_path):
    path = tmp_path / 'seg.cmap'
    path.write_bytes(b'data')
    p = holder(path)
    try:
        with pytest.raises(InputError, match=r'seg.cmap is in use by process %d'
                           r' \(connectome test\)' % p.pid):
            with locks.exclusive(path, 'connectome ids'):
                pass
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    # Killed: the lock went with it; its lock file is taken over and removed after use.
    assert os.path.exists(locks.lock_path(path))
    with locks.exclusive(path, 'connectome ids'):
        with locks.exclusive(path, 'connectome ids'):      # re-entrant in one process
            assert open(locks.lock_path(path)).read().startswith('%d ' % os.getpid())
    assert sorted(os.listdir(tmp_path)) == ['seg.cmap']
    assert path.read_bytes() == b'data'


def test_leftovers_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen(['true'])
    dead.wait()
    alive = os.getpid()
    for pid in (dead.pid, alive):
        (tmp_path / ('.out.cmap.%d.123.part' % pid)).write_text('partial')
    (tmp_path / ('.demo.partial-%d-x' % dead.pid)).mkdir()
    (tmp_path / 'out.cmap').write_text('keep')
    removed = locks.remove_leftovers(tmp_path, '.out.cmap.', '.')
    assert removed == [('.out.cmap.%d.123.part' % dead.pid, dead.pid)]
    assert locks.remove_leftovers(tmp_path, '.demo.partial-', '-') == [
        ('.demo.partial-%d-x' % dead.pid, dead.pid)]
    assert sorted(os.listdir(tmp_path)) == ['.out.cmap.%d.123.part' % alive, 'out.cmap']
