"""Crash-safe changes to a large HDF5 file that cannot be copied (a segmentation of hundreds
of GB): add, replace or remove small things (attribute arrays, file attributes) so that a
process killed at any moment (SIGKILL, a crash, ^C) leaves a file that still opens, with
its voxel data intact and every change either entirely there or entirely absent.

How.  h5py edits the file through a copy-on-write overlay (``Overlay``, h5py's ``fileobj``
driver): reads see the file as modified so far, writes go to memory, the file on disk is
untouched.  When the edit closes, the overlay knows every byte that changed.  HDF5
allocates new objects at the end of the file (its end-of-allocation address, EOA, kept in
the superblock), so the changes are (1) a tail of new bytes past the old end of the file
and (2) a few patches to existing metadata.  The commit

    1. writes the tail past the current end of the file and fsyncs it: the superblock still
       holds the old EOA, and the HDF5 library ignores bytes past the EOA, so the file is
       still the old one;
    2. writes the patches in one ``pwrite`` of at most one page (4096 bytes, aligned) and
       fsyncs.  A write to one page of a regular file reaches the page cache entirely or not
       at all when the writer is killed, so the file switches from old to new in one step.

A change whose patches do not fit in one page is not committed (``NotAtomic``; the file is
untouched), which is why ``AttributeFile.write`` builds a complete new ``/attributes`` group
(hard links to the arrays it keeps, new datasets for the new arrays) in new space and then
swaps it for the old one: the only existing metadata that changes is then the superblock
and the root group's entries, which HDF5 writers (PyTables, h5py) put in the first page.
A change that would patch anything else is refused with the file left as it was.

A kill between steps 1 and 2 leaves dead bytes past the EOA; the next edit cuts them
off first (``_drop_dead_tail``), the only in-place change made outside a commit and one
that changes nothing the HDF5 library reads.

Space of replaced arrays and old groups is not reused (HDF5 does not track free space
across sessions unless the file asks for it); ``connectome ids`` of a whole dataset adds
the size of each class's array (4 bytes a region) each time it is run.

Pure module (numpy, h5py).
"""

import os
import struct

import h5py

from ..blocks import ceil_div
from ..errors import InputError

PAGE = 4096
SIGNATURE = b'\x89HDF\r\n\x1a\n'


class NotAtomic(InputError):
    """The change would patch existing metadata in more than one page."""


class Overlay:
    """A file object for h5py's ``fileobj`` driver: reads come from the file on disk,
    overlaid with the writes made so far; writes stay in memory.

    ``base`` bytes (the file's size when opened) are the original; writes inside them are
    kept per page (copy on write), writes past them in one growing tail."""

    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)
        self.base = os.fstat(self.fd).st_size
        self.pages = {}             # page number -> bytearray(PAGE), for offsets < base
        self.tail = bytearray()     # bytes from offset base on
        self.size = self.base
        self.position = 0

    # --- the file object protocol h5py uses
    def seek(self, offset, whence=0):
        if whence == 0:
            self.position = offset
        elif whence == 1:
            self.position += offset
        else:
            self.position = self.size + offset
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        view = memoryview(buffer).cast('B')
        n = max(0, min(len(view), self.size - self.position))
        self._read(self.position, view[:n])
        self.position += n
        return n

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.size - self.position
        buffer = bytearray(max(0, min(n, self.size - self.position)))
        self.readinto(buffer)
        return bytes(buffer)

    def write(self, data):
        data = memoryview(data).cast('B')
        self._write(self.position, data)
        self.position += len(data)
        self.size = max(self.size, self.position)
        return len(data)

    def truncate(self, size=None):
        size = self.position if size is None else size
        if size < self.base:
            # Never shrink the original; bytes past the EOA are ignored by HDF5.
            self.tail = bytearray()
        else:
            del self.tail[size - self.base:]
            if len(self.tail) < size - self.base:
                self.tail.extend(bytes(size - self.base - len(self.tail)))
        self.size = size
        return size

    def flush(self):
        pass

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def readable(self):
        return True

    def writable(self):
        return True

    def seekable(self):
        return True

    # --- overlay
    def _read(self, offset, view):
        n = len(view)
        end = offset + n
        # From the original file (below base), page by page where pages were written.
        pos = offset
        while pos < min(end, self.base):
            page, start = divmod(pos, PAGE)
            stop = min(end, self.base, (page + 1) * PAGE)
            out = view[pos - offset:stop - offset]
            if page in self.pages:
                out[:] = self.pages[page][start:start + (stop - pos)]
                pos = stop
            else:
                # Read every following unwritten page in one call.
                run_stop = stop
                while run_stop < min(end, self.base) and run_stop // PAGE not in self.pages:
                    run_stop = min(end, self.base, run_stop + PAGE)
                out = view[pos - offset:run_stop - offset]
                got = os.preadv(self.fd, [out], pos)
                if got < len(out):
                    out[got:] = bytes(len(out) - got)
                pos = run_stop
        if end > self.base and pos < end:
            lo = pos - self.base
            chunk = self.tail[lo:end - self.base]
            view[pos - offset:pos - offset + len(chunk)] = chunk
            rest = end - pos - len(chunk)
            if rest:
                view[end - offset - rest:] = bytes(rest)

    def _write(self, offset, data):
        end = offset + len(data)
        pos = offset
        while pos < min(end, self.base):
            page, start = divmod(pos, PAGE)
            stop = min(end, self.base, (page + 1) * PAGE)
            buf = self.pages.get(page)
            if buf is None:
                buf = bytearray(PAGE)
                os.preadv(self.fd, [memoryview(buf)[:min(PAGE, self.base - page * PAGE)]],
                          page * PAGE)
                self.pages[page] = buf
            buf[start:start + (stop - pos)] = data[pos - offset:stop - offset]
            pos = stop
        if end > self.base:
            lo = max(pos, self.base) - self.base
            if len(self.tail) < lo:
                self.tail.extend(bytes(lo - len(self.tail)))
            self.tail[lo:end - self.base] = data[max(pos, self.base) - offset:]

    def changed_pages(self):
        """{page: new bytes} for pages below base whose bytes differ from the file's."""
        changed = {}
        for page, buf in sorted(self.pages.items()):
            n = min(PAGE, self.base - page * PAGE)
            old = os.pread(self.fd, n, page * PAGE)
            if bytes(buf[:n]) != old:
                changed[page] = bytes(buf[:n])
        return changed


def superblock_eoa(fd, path):
    """End-of-allocation address from the superblock at offset 0 (versions 0 to 3)."""
    head = os.pread(fd, 64, 0)
    if head[:8] != SIGNATURE:
        raise InputError('%s: no HDF5 superblock at the start of the file (a user block'
                         ' or not HDF5); cannot change it safely' % path, path)
    version = head[8]
    if version in (0, 1):
        size_offsets = head[13]
        # sig 8, versions 4, shared header version 1, sizes 2, reserved 1, K's 4, flags 4
        at = 24 + (4 if version == 1 else 0)
        at += 2 * size_offsets          # base address, free-space info address
    elif version in (2, 3):
        size_offsets = head[9]
        at = 12 + 2 * size_offsets      # base address, superblock extension address
    else:
        raise InputError('%s: HDF5 superblock version %d is not supported' % (path, version),
                         path)
    if size_offsets not in (4, 8):
        raise InputError('%s: HDF5 offsets of %d bytes are not supported'
                         % (path, size_offsets), path)
    fmt = '<I' if size_offsets == 4 else '<Q'
    return struct.unpack(fmt, head[at:at + size_offsets])[0]


def _drop_dead_tail(path):
    """Cut off bytes past the superblock's EOA (left by a commit killed after its step 1)."""
    fd = os.open(path, os.O_RDWR)
    try:
        eoa = superblock_eoa(fd, path)
        size = os.fstat(fd).st_size
        if eoa < size:
            os.ftruncate(fd, eoa)
            os.fsync(fd)
    finally:
        os.close(fd)


class Edit:
    """``with Edit(path) as f:`` gives an h5py.File opened for writing through an Overlay;
    leaving the block without an exception commits every change in one atomic step (module
    docstring), or raises NotAtomic with the file untouched.  An exception inside the block
    discards every change."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.overlay = None
        self.file = None

    def __enter__(self):
        try:
            _drop_dead_tail(self.path)
            self.overlay = Overlay(self.path)
            self.file = h5py.File(self.overlay, 'r+', driver='fileobj', locking=False)
        except InputError:
            self._close()
            raise
        except OSError as e:
            self._close()
            raise InputError('%s: cannot open it for writing: %s'
                             % (self.path, getattr(e, 'strerror', None) or e), self.path)
        return self.file

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            self._close()
            return False
        try:
            self.file.close()
            self.file = None
            self.commit()
        finally:
            self._close()
        return False

    def _close(self):
        if self.file is not None:
            try:
                self.file.close()
            except Exception:
                pass
            self.file = None
        if self.overlay is not None:
            self.overlay.close()

    def commit(self):
        overlay = self.overlay
        changed = overlay.changed_pages()
        if len(changed) > 1:
            raise NotAtomic('%s: this change would rewrite HDF5 metadata in %d places of the'
                            ' file (pages %s), which cannot be done in one atomic step; the'
                            ' file was not changed' % (self.path, len(changed),
                                                       ', '.join(map(str, changed))),
                            self.path)
        if not changed and not overlay.tail:
            return
        fd = os.open(self.path, os.O_WRONLY)
        patched = False
        try:
            if os.fstat(fd).st_size != overlay.base:
                raise InputError('%s changed while it was being edited; nothing was written'
                                 % self.path, self.path)
            if overlay.tail:
                view = memoryview(overlay.tail)
                block = min(64 << 20, max(PAGE, ceil_div(len(view), 2)))
                done = 0
                while done < len(view):
                    done += os.pwrite(fd, view[done:done + block], overlay.base + done)
                os.fsync(fd)
            patched = True
            for page, data in changed.items():
                if os.pwrite(fd, data, page * PAGE) != len(data):
                    raise OSError('short write')
            os.fsync(fd)
        except OSError as e:
            if not patched:
                try:        # the new tail is past the EOA: cut it off again
                    os.ftruncate(fd, overlay.base)
                except OSError:
                    pass
            raise InputError('%s: writing failed (%s); the file is as it was before'
                             % (self.path, e.strerror or e), self.path)
        finally:
            os.close(fd)
