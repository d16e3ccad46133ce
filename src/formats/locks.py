"""Keeping two runs off one file, writing an output whole, and clearing what killed runs
left behind.

``exclusive(path, command)`` holds an advisory lock on ``path`` for a whole change (an
``ids`` edit of a segmentation, a ``combine`` writing an output): a lock file
``.NAME.lock`` beside it, locked with flock and holding the owner's process id, so that a
second run is refused with "in use by process N" instead of interleaving its writes.
The kernel releases a flock when its process dies, however it dies, so a crashed run never
leaves a file locked.  The lock file exists only while held: the owner deletes it before
it lets go, and a taker checks that the file it locked is still the one at that name
(else it lost a race with a release and tries again).  A killed run leaves it behind,
unlocked (as does a run that could not remove what it made: see below); the next run
takes it over.  The lock file, not the data file, is locked
because HDF5 takes flocks on the files it opens (ChimeraX's reader keeps a shared one
while a map is open).  Re-entrant within a process.

``atomic_output(path, command, replace, kind)`` writes an output (a file, or a folder)
under a temporary name beside it, in the same file system, and gives it its name only
when complete (see its doc), so no half-written output ever has the final name.

The lock file is also the record of what its holder makes beside the path: before it
makes a temporary file or folder (or moves an old folder aside) it writes a line
``made PID KIND N`` into the lock file, from which the name follows
(``.NAME.PID.N.part``, ``.NAME.partial-PID-N``, ``.NAME.old-PID-N``), and drops the line
once the thing is published or removed.  A run killed before its clean-up could run
(SIGKILL, power loss) leaves its lines behind, and whoever takes the lock next removes
exactly those things and keeps the line of any it cannot (an old folder moved aside goes
back instead, if the new one never took its place).  Nothing is ever removed
because its name looks like a temporary one: a user's ``.o.cmap.2019.backup/`` or
``.o.cmap.123.part`` is in no lock file.

Links are never followed into a user's file.  A lock file that is a symbolic link, a
second name of another file (a hard link) or not a plain file is refused with an
InputError naming it (truncating it would truncate what it points at; it is not ours to
delete, so the user decides).  Temporary files are created with O_CREAT|O_EXCL|O_NOFOLLOW
and temporary folders with mkdir, neither of which follows a link; a name already
taken, link or not, is left alone and the next number is tried.  A file output whose
name is a link replaces the link itself (``replace``), never its target; a folder output
whose name is a link is refused.  Pure: the standard library.
"""

import contextlib
import errno
import fcntl
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass

from ..errors import InputError

_held = {}          # real path -> _Lock: locks this process holds

# What a holder makes beside the locked path NAME, by kind: a temporary file, a temporary
# folder, an old folder moved aside.  The only place these names are written.
_NAMES = {'file': '.%s.%d.%d.part', 'folder': '.%s.partial-%d-%d', 'aside': '.%s.old-%d-%d'}
_RECORD = re.compile(r'made (\d+) (%s) (\d+)' % '|'.join(_NAMES), re.ASCII)


def lock_path(path):
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, '.%s.lock' % name)


@dataclass(frozen=True)
class _Made:
    """A file or folder a run made beside the locked path, as its lock file records it."""
    pid: int
    kind: str           # a key of _NAMES
    number: int

    def name(self, base):
        return _NAMES[self.kind] % (base, self.pid, self.number)


class _Lock:
    """The lock this process holds on a path, and the lines of its lock file."""

    def __init__(self, path, fd, command):
        self.path = os.path.abspath(path)
        self.fd = fd
        self.owner = '%d %s' % (os.getpid(), command)
        self.made = _records(fd)        # left by dead runs until cleared, then ours

    def write(self):
        """Rewrite the lock file: written before it is cut, so a kill in between leaves
        every line (and at worst a fragment that parses as none)."""
        text = ''.join(['%s\n' % self.owner] + ['made %d %s %d\n' % (m.pid, m.kind, m.number)
                                                 for m in self.made]).encode()
        os.pwrite(self.fd, text, 0)
        os.ftruncate(self.fd, len(text))

    def record(self, made):
        """Note ``made`` in the lock file before making it."""
        self.made.append(made)
        try:
            self.write()
        except OSError as e:
            self.made.remove(made)
            raise InputError('cannot write %s: %s' % (self.path, e.strerror or e), self.path)

    def forget(self, made):
        self.made.remove(made)
        try:
            self.write()
        except OSError:
            pass            # a stale line only names something that is gone


def _records(fd):
    """The ``made`` lines of a lock file a dead run left; any other line is ignored."""
    lines = os.pread(fd, 1 << 16, 0).decode('utf-8', 'replace').split('\n')[1:]
    return [_Made(int(m.group(1)), m.group(2), int(m.group(3)))
            for m in map(_RECORD.fullmatch, lines) if m]


@contextlib.contextmanager
def exclusive(path, command, report=None):
    """Hold the lock on ``path`` (which need not exist yet) while the block runs;
    InputError naming the owner if another process holds it.  Taking a killed run's
    lock removes what it recorded making; ``report(message, final)`` is told of each."""
    key = os.path.realpath(path)
    if key in _held:
        yield _held[key]
        return
    name = lock_path(path)
    fd = _take(path, name)
    try:
        lock = _Lock(path, fd, command)
        lock.write()
        _held[key] = lock
        try:
            _clear(lock, report)
            yield lock
        finally:
            del _held[key]
            try:
                if lock.made:
                    lock.write()        # kept for the next run to clear
                else:
                    os.remove(name)     # while still held: see the module doc
            except OSError:
                pass
    finally:
        os.close(fd)        # releases the flock


def _take(path, lock):
    """An fd of the lock file, flocked, still linked at its name, and nothing but it."""
    for _ in range(100):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise _not_ours(path, lock, 'a symbolic link')
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
            same = os.stat(lock, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                return fd
            os.close(fd)
            raise _not_ours(path, lock, 'not a plain file' if not stat.S_ISREG(info.st_mode)
                            else 'a second name of another file (a hard link)')
        os.close(fd)                    # released and removed meanwhile: again
    raise InputError('%s: could not take its lock %s' % (path, lock), path)


def _not_ours(path, lock, what):
    return InputError('%s: its lock file %s is %s, not one this bundle made; remove it,'
                      ' then run this again' % (path, lock, what), path)


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


def _clear(lock, report):
    """Remove what dead runs recorded making beside the path, if it is still the kind
    of thing they made (a file, or a folder that is no link)."""
    folder, base = os.path.split(lock.path)
    for made in list(lock.made):
        name = made.name(base)
        path = os.path.join(folder, name)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            lock.forget(made)
            continue
        except OSError:
            continue
        if made.kind == 'aside' and stat.S_ISDIR(mode) and not os.path.lexists(lock.path):
            # Killed between moving the old folder aside and renaming the new one into
            # its place: the old one goes back.
            try:
                os.rename(path, lock.path)
                lock.forget(made)
            except OSError:
                pass
            continue
        if made.kind == 'file' and stat.S_ISREG(mode):
            gone = _remove(path)
        elif made.kind != 'file' and stat.S_ISDIR(mode):
            gone = _remove_folder(path)
        else:
            gone = None         # something else took the name since: not ours
        if gone is not False:
            lock.forget(made)
        if gone and report is not None:
            report('Removed %s, left in %s by process %d, which is gone'
                   % (name, folder, made.pid), True)


def _remove(path):
    """Whether the file is gone; a file that cannot be deleted (a read-only file system)
    must not hide the failure that led here."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def _remove_folder(path):
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)


def _make(lock, kind):
    """Make a new empty file or folder of ``kind`` beside the locked path; its path and
    record."""
    folder, base = os.path.split(lock.path)
    for attempt in range(100):
        made = _Made(os.getpid(), kind, time.monotonic_ns() + attempt)
        path = os.path.join(folder, made.name(base))
        lock.record(made)
        try:
            if kind == 'file':
                # The user's usual permissions, as HDF5 would create it.
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                 | os.O_CLOEXEC, 0o666))
            else:
                os.mkdir(path, 0o700)
            return path, made
        except FileExistsError:
            lock.forget(made)           # someone else's: left alone
        except OSError as e:
            lock.forget(made)
            raise InputError('cannot write in %s: %s' % (folder, e.strerror or e), lock.path)
    raise InputError('cannot write in %s: no free temporary name' % folder, lock.path)


@contextlib.contextmanager
def atomic_output(path, command, replace=False, kind='file', report=None):
    """Write the output ``path`` (kind 'file' or 'folder') whole: hold its lock
    (``exclusive``, which clears killed runs' leftovers and tells ``report``), yield a new
    empty temporary file or folder beside it, and when the block ends normally give it
    the name ``path``; when it raises (KeyboardInterrupt included) remove it.

    A file is published by a hard link when not ``replace``, so an output made meanwhile
    (by a program that takes no lock) is never overwritten: "output PATH exists"; with
    ``replace`` by os.replace.  A folder takes the place of an empty or missing folder
    by a rename; with ``replace`` an existing folder is first moved aside (so the new one
    appears in one rename), then removed."""
    with exclusive(path, command, report) as lock:
        if kind == 'folder' and os.path.islink(path):
            # Renaming the new folder onto a link fails, and removing the link's target
            # to make room is not this bundle's to do.
            raise InputError('%s is a symbolic link; a folder output is not written through'
                             ' a link: name the folder it points to, or remove the link'
                             % path, path)
        temp, made = _make(lock, kind)
        try:
            yield temp
            if kind == 'file':
                _publish_file(temp, path, replace)
            else:
                _publish_folder(lock, temp, path, replace)
        except BaseException:
            if (_remove(temp) if kind == 'file' else _remove_folder(temp)):
                lock.forget(made)
            raise
        lock.forget(made)


def _publish_file(temp, path, replace):
    if replace:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)
    except FileExistsError:
        raise InputError('output %s exists (use replace true to overwrite it)' % path, path)
    except OSError:
        # No hard links on this file system: the lock keeps other runs off the name.
        if os.path.lexists(path):
            raise InputError('output %s exists (use replace true to overwrite it)' % path,
                             path)
        os.replace(temp, path)
        return
    os.remove(temp)


def _publish_folder(lock, temp, path, replace):
    if not os.path.lexists(path):
        os.rename(temp, path)
        return
    if not os.listdir(path):
        os.rmdir(path)
        os.rename(temp, path)
        return
    if not replace:
        raise InputError('folder %s exists and is not empty (use replace true to overwrite'
                         ' it)' % path, path)
    old, made = _make(lock, 'aside')
    os.rmdir(old)
    os.rename(path, old)
    try:
        os.rename(temp, path)
    except BaseException:
        os.rename(old, path)
        lock.forget(made)
        raise
    if _remove_folder(old):
        lock.forget(made)
