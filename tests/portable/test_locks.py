"""formats/locks.py: one run at a time on a file, locks that die with their process,
outputs published whole, and the clean-up of what killed runs left behind (and only
that)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chimerax.connectome.errors import InputError
from chimerax.connectome.formats import locks
import leftovers
from package import REPO

# Holds the lock until the test kills it: it waits for input that never comes (not for
# a time, which a busy machine could outlast).
HOLDER = '''
import sys
sys.path.insert(0, %r)
import package
package.import_from_source()
from chimerax.connectome.formats import locks
with locks.exclusive(sys.argv[1], 'connectome test'):
    print('held', flush=True)
    sys.stdin.read()
'''


def holder(path):
    p = subprocess.Popen([sys.executable, '-c', HOLDER % os.path.join(REPO, 'tests', 'common'),
                          str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
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
        p.communicate()
    # Killed: the lock went with it; its lock file is taken over and removed after use.
    assert os.path.exists(locks.lock_path(path))
    with locks.exclusive(path, 'connectome ids'):
        with locks.exclusive(path, 'connectome ids'):      # re-entrant in one process
            assert open(locks.lock_path(path)).read().startswith('%d ' % os.getpid())
    assert sorted(os.listdir(tmp_path)) == ['seg.cmap']
    assert path.read_bytes() == b'data'


def test_leftovers_of_killed_runs_are_removed(tmp_path):
    file_pid, part = leftovers.killed_run(tmp_path / 'out.cmap')
    folder_pid, partial = leftovers.killed_run(tmp_path / 'demo', kind='folder')
    assert sorted(os.listdir(tmp_path)) == sorted([part, partial, '.out.cmap.lock',
                                                   '.demo.lock'])
    (tmp_path / 'out.cmap').write_text('keep')
    lines = []

    def report(message, final):
        lines.append(message)
    with locks.exclusive(tmp_path / 'out.cmap', 'connectome ids', report):
        assert lines == ['Removed %s, left in %s by process %d, which is gone'
                         % (part, tmp_path, file_pid)]
    with locks.atomic_output(tmp_path / 'demo', 'connectome demo', kind='folder',
                             report=report) as work:
        (Path(work) / 'new.txt').write_text('new')
    assert lines[1:] == ['Removed %s, left in %s by process %d, which is gone'
                         % (partial, tmp_path, folder_pid)]
    assert sorted(os.listdir(tmp_path)) == ['demo', 'out.cmap']
    assert os.listdir(tmp_path / 'demo') == ['new.txt']
    assert (tmp_path / 'out.cmap').read_text() == 'keep'


def test_an_old_folder_a_killed_run_moved_aside_goes_back(tmp_path):
    (tmp_path / 'demo').mkdir()
    (tmp_path / 'demo' / 'old.txt').write_text('old')
    leftovers.killed_run(tmp_path / 'demo', kind='folder', replace=True, aside=True)
    assert 'demo' not in os.listdir(tmp_path)
    with locks.exclusive(tmp_path / 'demo', 'connectome demo'):
        pass
    assert sorted(os.listdir(tmp_path)) == ['demo']
    assert (tmp_path / 'demo' / 'old.txt').read_text() == 'old'


def test_a_link_put_where_a_leftover_was_is_kept(tmp_path):
    _, part = leftovers.killed_run(tmp_path / 'out.cmap')
    notes = tmp_path / 'notes.txt'
    notes.write_text('my notes')
    os.remove(tmp_path / part)
    os.symlink(notes, tmp_path / part)
    with locks.exclusive(tmp_path / 'out.cmap', 'connectome ids'):
        pass
    assert sorted(os.listdir(tmp_path)) == sorted([part, 'notes.txt'])
    assert notes.read_text() == 'my notes'


def test_an_output_is_published_whole_or_not_at_all(tmp_path):
    out = tmp_path / 'out.cmap'
    with pytest.raises(KeyboardInterrupt):
        with locks.atomic_output(out, 'connectome test') as temp:
            Path(temp).write_text('half')
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []
    with locks.atomic_output(out, 'connectome test') as temp:
        Path(temp).write_text('first')
    # Without replace a file made meanwhile (by a program that takes no lock) is kept.
    with pytest.raises(InputError, match='exists \\(use replace true'):
        with locks.atomic_output(out, 'connectome test') as temp:
            Path(temp).write_text('second')
    with locks.atomic_output(out, 'connectome test', replace=True) as temp:
        Path(temp).write_text('third')
    assert os.listdir(tmp_path) == ['out.cmap'] and out.read_text() == 'third'
