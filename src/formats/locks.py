"""Keeping two runs off one file, and clearing what killed runs left behind.

``exclusive(path, command)`` holds an advisory lock on ``path`` for a whole change (an
``ids`` edit of a segmentation, a ``combine`` writing an output): a lock file
``.NAME.lock`` beside it, locked with flock and holding the owner's process id, so that a
second run is refused with "in use by process N" instead of interleaving its writes.
The kernel releases a flock when its process dies, however it dies, so a crashed run never
leaves a file locked.  The lock file exists only while held: the owner deletes it before
it lets go, and a taker checks that the file it locked is still the one at that name
(else it lost a race with a release and tries again).  A killed run leaves it behind,
unlocked; the next run takes it over.  The lock file, not the data file, is locked
because HDF5 takes flocks on the files it opens (ChimeraX's reader keeps a shared one
while a map is open).  Re-entrant within a process.

``remove_leftovers(folder, prefix, suffix)`` deletes partial results named
``PREFIX<pid>SUFFIX...`` whose process no longer exists: what a run killed before its
clean-up could run (SIGKILL, power loss) left.  Pure: the standard library.
"""

import contextlib
import errno
import fcntl
import os
import re
import shutil
import time

from ..errors import InputError

_held = {}          # real path -> [fd, depth]: locks this process holds


def lock_path(path):
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, '.%s.lock' % name)


@contextlib.contextmanager
def exclusive(path, command):
    """Hold the lock on ``path`` (which need not exist yet) while the block runs;
    InputError naming the owner if another process holds it."""
    key = os.path.realpath(path)
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    lock = lock_path(path)
    fd = _take(path, lock)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, ('%d %s\n' % (os.getpid(), command)).encode(), 0)
        _held[key] = [fd, 1]
        try:
            yield
        finally:
            del _held[key]
            try:
                os.remove(lock)         # while still held: see the module doc
            except OSError:
                pass
    finally:
        os.close(fd)        # releases the flock


def _take(path, lock):
    """An fd of the lock file, flocked, still linked at its name."""
    for _ in range(100):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise InputError('%s: cannot create the lock file %s that keeps other runs off'
                             ' it (%s)' % (path, lock, e.strerror or e), path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            owner = _owner(fd)
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise InputError('%s: cannot lock %s (%s)' % (path, lock, e.strerror or e),
                                 path)
            raise InputError('%s is in use by %s; wait for it to finish (or end it), then'
                             ' run this again' % (path, owner), path)
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)                    # released and removed meanwhile: again
    raise InputError('%s: could not take its lock %s' % (path, lock), path)


def _owner(fd):
    """'process N (command)' from the lock file, which its owner writes just after it
    takes the lock (so wait a moment when it is still empty)."""
    for _ in range(50):
        try:
            text = os.pread(fd, 200, 0).decode('utf-8', 'replace').split('\n')[0]
            pid, _, command = text.partition(' ')
            return 'process %d (%s)' % (int(pid), command or 'a connectome command')
        except (OSError, ValueError):
            time.sleep(0.01)
    return 'another process'


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True         # someone else's process
    return True


def remove_leftovers(folder, prefix, suffix=''):
    """Delete files and folders ``PREFIX<pid>SUFFIX*`` in ``folder`` whose process is
    gone; returns [(name, pid)] of what was removed."""
    pattern = re.compile(re.escape(prefix) + r'(\d+)' + re.escape(suffix))
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or process_exists(pid):
            continue
        path = os.path.join(folder, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        except OSError:
            continue
        removed.append((name, pid))
    return removed
