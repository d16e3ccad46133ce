"""Reading an HDF5 group of many small datasets (one vector per object: the authors'
``/axons/agglomerate/<n>``, a MATLAB v7.3 cell array) at the speed of the disk.

Opening a dataset through the HDF5 library (object header lookup, property lists) costs
as much as reading it, and through h5py several times more, so the authors' 1.6 million
datasets take minutes one by one (docs/performance.md).  Here the library only lists the
group's links with their object addresses (H5Literate, cheap per link); the object headers are then read in large blocks with ``os.pread`` and
decoded for all datasets at once with numpy (version 1 headers: dataspace, datatype and
layout messages), and the data of contiguous datasets is gathered from large blocks the
same way.  What this decoder does not handle (version 2 headers, header continuations,
chunked or compressed storage, unusual types, soft links) is read through h5py, one
dataset at a time, so the result is the same for every file h5py can read.  So is every
header the decoder cannot prove sound: a message or field outside its header, a rank
above HDF5's 32, dimensions whose product overflows, a header or data block outside the
file's end of allocation (HDF5 reads zeros there, never the bytes a file may hold past
it); h5py then reads it or refuses it, and the refusal names the file and the dataset.

Pure: numpy, h5py.  HDF5 calls are made from the calling thread only.
"""

import os
import re

import h5py
import numpy as np
from h5py import h5l

from ..errors import InputError

HEADER_WINDOW = 512                 # bytes read per object header
# The numpy types the decoder reads, by code (index); -1: not decoded
TYPES = [np.dtype(c) for c in ('<u1', '<u2', '<u4', '<u8', '<i1', '<i2', '<i4', '<i8',
                                '<f4', '<f8')]
BLOCK = 32 << 20                    # bytes read at once (header and data blocks)
UNDEFINED = 0xFFFFFFFFFFFFFFFF
MAX_RANK = 32                       # HDF5's limit (H5S_MAX_RANK)
INT64_MAX = np.iinfo(np.int64).max
# Sizes of the message bodies the decoder reads fields from (bytes), from the HDF5
# file-format specification: a fixed-point datatype (class, bits, size, offset,
# precision), a floating-point one (through the exponent bias), a version 3 contiguous
# layout (class, address, size).
FIXED_TYPE_BYTES, FLOAT_TYPE_BYTES, LAYOUT_BYTES = 12, 20, 18


class FileGeometry:
    """What the superblock says about addresses: their base, their widths and ``end``,
    the file's end of allocation (no object or data of the file lies past it)."""

    def __init__(self, path, h5file):
        self.path = path
        self.base = int(h5file.userblock_size)
        with open(path, 'rb') as f:
            f.seek(self.base)
            head = f.read(64)
        self.supported = False
        self.end = None
        if len(head) < 16 or head[:8] != b'\x89HDF\r\n\x1a\n':
            return
        version = head[8]
        if version in (0, 1):
            self.size_offsets, self.size_lengths = head[13], head[14]
            eoa_at = 40 if version == 0 else 44
        elif version in (2, 3):
            self.size_offsets, self.size_lengths = head[9], head[10]
            eoa_at = 28
        else:
            return
        if self.size_offsets != 8 or self.size_lengths != 8 or len(head) < eoa_at + 8:
            return
        eoa = int.from_bytes(head[eoa_at:eoa_at + 8], 'little')
        # HDF5 stores the end of allocation counted from the file's start where a
        # userblock sits (the base); the smaller reading is the one always safe.
        self.end = min(eoa, eoa + self.base)
        self.supported = eoa != UNDEFINED and self.end <= INT64_MAX


class Vectors:
    """Vectors read from a group: ``names`` (link names, in the order read), ``values``
    (all vectors concatenated, one numpy type), ``lengths`` (elements per vector),
    ``fast`` / ``slow`` (datasets read by the decoder / through h5py)."""

    def __init__(self, names, values, lengths, fast, slow):
        self.names = names
        self.values = values
        self.lengths = lengths
        self.fast = fast
        self.slow = slow


def group_links(group):
    """(names, addresses) of a group's links; address -1 for links that are not hard
    links.  Names (str) in the library's native order (by name for old-style groups)."""
    names, addresses = [], []
    HARD = h5l.TYPE_HARD

    def visit(name, info):
        names.append(name.decode('utf-8', 'surrogateescape'))
        # An address no file can have (a damaged link) is left to h5py, like soft links.
        addresses.append(info.u if info.type == HARD and 0 <= info.u <= INT64_MAX else -1)
    group.id.links.iterate(visit, info=True)
    return names, np.array(addresses, np.int64)


def read_vectors(path, h5file, group, names=None, addresses=None, report=None,
                 describe=None):
    """Read every dataset of ``group`` (an h5py Group of ``h5file``, the file at
    ``path``) as a flat vector, or the links ``names`` with their ``addresses``.
    ``describe(k)`` names dataset k in messages (default: its HDF5 path).  A member that
    is a group, text or a multi-dimensional array is an InputError.  ``report(done,
    total)`` is called as datasets are read."""
    if names is None:
        names, addresses = group_links(group)
    n = len(names)
    if describe is None:
        prefix = '%s %s/' % (os.path.basename(path), group.name.rstrip('/'))

        def describe(k):
            return prefix + names[k]
    geometry = FileGeometry(path, h5file)
    if geometry.supported and n:
        info = _decode_headers(path, geometry, np.asarray(addresses, np.int64))
    else:
        info = dict(code=np.full(n, -1, np.int64), count=np.zeros(n, np.int64))
    decoded = info['code'] >= 0
    lengths = info['count'].copy()
    # Members the decoder could not read: through h5py, one at a time.
    slow_values = {}
    for k in np.flatnonzero(~decoded).tolist():
        a = _read_one(group, names[k], describe(k))
        slow_values[k] = a
        lengths[k] = a.size
    present = np.unique(info['code'][decoded & (lengths > 0)])
    dtype = _common_type([TYPES[c] for c in present.tolist()]
                         + [a.dtype for a in slow_values.values() if a.size])
    ends = np.cumsum(lengths)
    starts = ends - lengths
    values = np.empty(int(ends[-1]) if n else 0, dtype)
    fast = np.flatnonzero(decoded & (lengths > 0))
    if report is not None:
        report(n - fast.size, n)
    if fast.size:
        _gather(path, info, fast, starts, values, report, n - fast.size, n)
    for k, a in slow_values.items():
        values[starts[k]:ends[k]] = a
    return Vectors(names, values, lengths, int(np.count_nonzero(decoded)), len(slow_values))


# What h5py raises for an object it cannot open or a type numpy has no equivalent of
# (a datatype of 3 or 16 bytes: TypeError).
UNREADABLE = (KeyError, OSError, RuntimeError, ValueError, TypeError, OverflowError)


def _read_one(group, name, label):
    try:
        obj = group.get(name)
        if obj is None and group.id.links.get_info(_encode(name)).type == h5l.TYPE_HARD:
            # The link is there, its object will not open: h5py says why.
            obj = group[name]
        dtype = obj.dtype if isinstance(obj, h5py.Dataset) else None
    except UNREADABLE as e:
        raise InputError('%s cannot be read, its HDF5 object header is damaged: %s'
                         % (label, hdf5_reason(e)))
    if dtype is None:
        raise InputError('%s is not a dataset (%s), not a vector of region ids'
                         % (label, 'a group' if isinstance(obj, h5py.Group)
                            else 'a dangling link'))
    if dtype.kind not in 'iuf':
        raise InputError('%s holds %s, not numbers' % (label, _type_name(dtype)))
    return dataset_vector(obj, label)


def _encode(name):
    return name.encode('utf-8', 'surrogateescape')


def hdf5_reason(e):
    """The HDF5 library's reason in an h5py exception ('invalid datatype size' of
    'Unable to synchronously open object (invalid datatype size)')."""
    text = str(e.args[0]) if e.args else str(e)
    found = re.search(r'\(([^()]*)\)\W*$', text)
    return found.group(1) if found and not found.group(1).startswith('return value') \
        else text


def _type_name(dtype):
    if dtype.kind in 'SUO':
        return 'text' if h5py.check_string_dtype(dtype) is not None or dtype.kind in 'SU' \
            else 'variable-length data'
    if dtype.kind == 'b':
        return 'true/false values'
    return str(dtype)


def _common_type(dtypes):
    dtypes = {np.dtype(d).newbyteorder('=') for d in dtypes}
    if not dtypes:
        return np.dtype(np.uint32)
    if len(dtypes) == 1:
        return dtypes.pop()
    if all(d.kind in 'iu' for d in dtypes):
        if all(d.kind == 'u' for d in dtypes):
            return np.dtype(np.uint64)
        return np.dtype(np.int64)
    return np.dtype(np.float64)


def dataset_vector(ds, label):
    """One dataset as a flat numpy vector, or InputError naming it (``label``): for
    per-object vectors such as /axons/class, stored 1-D or as a 1 x N / N x 1 matrix."""
    if ds.shape is None:
        return np.zeros(0, ds.dtype if ds.dtype.kind in 'iuf' else np.float64)
    if len(ds.shape) > 1 and sum(d > 1 for d in ds.shape) > 1:
        raise InputError('%s is a %s array, not a vector'
                         % (label, ' x '.join(map(str, ds.shape))))
    try:
        return np.asarray(ds[()]).reshape(-1)
    except (MemoryError,) + UNREADABLE as e:
        raise InputError('%s cannot be read (damaged or truncated?): %s'
                         % (label, hdf5_reason(e) if not isinstance(e, MemoryError)
                            else 'too large for memory'))


# ---------------------------------------------------------------------------------------
# Object headers, decoded for all datasets at once

def _blocks(starts, ends):
    """Split rows (sorted by start) into runs read with one pread each: a run ends where
    the next row would make it longer than BLOCK.  [(first row, stop row)]."""
    runs = []
    n = starts.size
    i = 0
    while i < n:
        limit = starts[i] + BLOCK
        # rows whose end stays within the block (at least one row per run)
        j = int(np.searchsorted(ends[i:], limit, side='right')) + i
        j = max(j, i + 1)
        # ends are not sorted in general; searchsorted needs them sorted within a run,
        # which holds for the cumulative maximum used by the callers.
        runs.append((i, j))
        i = j
    return runs


def _pread_run(fd, start, size, path):
    buf = bytearray(size)
    view = memoryview(buf)
    done = 0
    while done < size:
        got = os.preadv(fd, [view[done:]], start + done)
        if got <= 0:
            raise InputError('%s is truncated: it ends before byte %d that its HDF5'
                             ' metadata points to' % (path, start + done), path)
        done += got
    return np.frombuffer(buf, np.uint8)


def _u(buf, pos, at, width):
    """Little-endian unsigned integers of ``width`` bytes at ``buf[pos + at]``."""
    where = pos + at
    out = buf[where].astype(np.uint64)
    for b in range(1, width):
        out |= buf[where + b].astype(np.uint64) << np.uint64(8 * b)
    return out


def _decode_headers(path, geometry, addresses, matrix_rows=None):
    """Per dataset: ``code`` (index into TYPES, -1 where h5py must read it), ``count``
    (elements), ``offset`` (absolute file offset of its contiguous data) and ``nbytes``.
    With ``matrix_rows``, 2-D datasets of that many rows (as h5py sees them) are decoded
    too, and only those: vectors are left to h5py (read_matrices)."""
    n = addresses.size
    out = dict(code=np.full(n, -1, np.int64), count=np.zeros(n, np.int64),
               offset=np.zeros(n, np.int64), nbytes=np.zeros(n, np.int64))
    size = os.path.getsize(path)
    end = geometry.end
    # Headers that start past the end of allocation are h5py's (it refuses them).
    hard = np.flatnonzero((addresses >= 0) & (addresses < end - geometry.base))
    if hard.size == 0:
        return out
    absolute = addresses[hard] + geometry.base
    order = np.argsort(absolute, kind='stable')
    hard, starts = hard[order], absolute[order]
    # What a header may span: up to the end of allocation (or of the file, if shorter).
    room = np.minimum(end, size) - starts
    ends = starts + np.clip(room, 0, HEADER_WINDOW)
    fd = os.open(path, os.O_RDONLY)
    try:
        for i, j in _blocks(starts, np.maximum.accumulate(ends)):
            lo = int(starts[i])
            hi = int(ends[i:j].max())
            if hi <= lo:
                continue
            # Zeros past the window's end, so a lying field reads zeros, never another
            # block; every field read is then checked to lie inside its header.
            buf = np.concatenate([_pread_run(fd, lo, hi - lo, path),
                                  np.zeros(HEADER_WINDOW, np.uint8)])
            _decode_block(buf, starts[i:j] - lo, room[i:j], hard[i:j], geometry, out,
                          matrix_rows)
    finally:
        os.close(fd)
    code, offset, nbytes = out['code'], out['offset'], out['nbytes']
    out['count'][code < 0] = 0
    beyond = (code >= 0) & (nbytes > 0) & (offset + nbytes > size)
    if beyond.any():
        k = int(np.argmax(beyond))
        raise InputError('%s is truncated: the data of a dataset ends at byte %d, the file'
                         ' at %d' % (path, offset[k] + nbytes[k], size), path)
    return out


def _decode_block(buf, pos, room, rows, geometry, out, matrix_rows=None):
    """Decode the version 1 object headers at ``buf[pos]`` of datasets ``rows``, each
    with ``room`` bytes before the end of allocation (``matrix_rows``: _decode_headers)."""
    W = HEADER_WINDOW
    good = buf[pos] == 1                                 # version 1 object header
    nmsg = _u(buf, pos, 2, 2).astype(np.int64)
    hsize = _u(buf, pos, 8, 4).astype(np.int64)
    good &= 16 + hsize <= room                           # the header is in the file
    limit = 16 + np.minimum(hsize, W - 16)
    cursor = np.full(pos.size, 16, np.int64)
    found = {kind: (np.full(pos.size, -1, np.int64), np.zeros(pos.size, np.int64))
             for kind in (1, 3, 8)}                      # message: (body at, body size)
    most = int(nmsg[good].max()) if good.any() else 0
    for step in range(most):
        live = good & (step < nmsg)
        good[live & (cursor + 8 > limit)] = False        # messages past the window
        r = np.flatnonzero(live & good)
        if not r.size:
            break
        c = cursor[r]
        p = pos[r]
        mtype = _u(buf, p, c, 2).astype(np.int64)
        msize = _u(buf, p, c + 2, 2).astype(np.int64)
        shared = (buf[p + c + 4] & 0x02) != 0
        for kind, (at, length) in found.items():
            hit = mtype == kind
            at[r[hit]] = c[hit] + 8
            length[r[hit]] = msize[hit]
        # A header continuation, a filter pipeline, or a dataspace or datatype shared
        # with other objects (the message then only points to it): h5py reads those.
        good[r[(mtype == 0x10) | (mtype == 0x0B) | (shared & ((mtype == 1) | (mtype == 3)))]] \
            = False
        cursor[r] = c + 8 + msize
        good[r[c + 8 + msize > limit[r]]] = False
    (space_at, space_len), (type_at, type_len), (layout_at, layout_len) = \
        found[1], found[3], found[8]
    good &= (space_at >= 0) & (type_at >= 0) & (layout_at >= 0)

    # Dataspace: version 1 (dims at +8) or 2 (dims at +4; type 0 scalar, 1 simple,
    # 2 null).  Scalars go through h5py; so does a rank above HDF5's or dimensions
    # outside the message.
    r = np.flatnonzero(good)
    p = pos[r]
    sp = space_at[r]
    sversion = buf[p + sp]
    rank = buf[p + sp + 1].astype(np.int64)
    stype = np.where(sversion == 2, buf[p + sp + 3], np.where(rank == 0, 0, 1))
    dims_at = sp + np.where(sversion == 2, 4, 8)
    fits = (rank <= MAX_RANK) & (dims_at + 8 * rank <= sp + space_len[r])
    good[r[((sversion != 1) & (sversion != 2)) | (stype == 0) | (stype > 2) | ~fits]] = False
    rank = np.where(fits, rank, 0)
    elements = np.ones(r.size, np.int64)
    larger = np.zeros(r.size, np.int64)                  # dimensions longer than 1
    # Products are checked in floating point: a lying dimension must not wrap around.
    bound = np.ones(r.size, np.float64)
    first = np.zeros(r.size, np.int64)                  # the first dimension
    for d in range(int(rank.max()) if r.size else 0):
        has = (d < rank) & (stype == 1)
        dim = np.where(has, _u(buf, p, dims_at + 8 * d, 8), np.uint64(1))
        sane = dim <= np.uint64(INT64_MAX)
        dim = np.where(sane, dim, 0).astype(np.int64)
        good[r[~sane]] = False
        bound *= dim
        elements *= dim
        larger += dim > 1
        if d == 0:
            first = dim
    elements[stype == 2] = 0
    if matrix_rows is None:
        # Not a vector (a 3 x k matrix of skeleton nodes): h5py reads it and names it.
        good[r[(larger > 1) | (bound > geometry.end)]] = False
    else:
        good[r[(rank != 2) | (stype != 1) | (first != matrix_rows)
               | (bound > geometry.end)]] = False

    # Datatype: little-endian fixed-point (1-8 bytes) or IEEE floating-point (4, 8).
    tp = type_at[r]
    tclass = buf[p + tp] & 0x0F
    bits = buf[p + tp + 1]
    tsize = _u(buf, p, tp + 4, 4).astype(np.int64)
    little = (bits & 0x01) == 0
    signed = (bits & 0x08) != 0
    # Every bit used (offset 0, precision = size): no padding bits to mask.
    full = (_u(buf, p, tp + 8, 2).astype(np.int64) == 0) & \
        (_u(buf, p, tp + 10, 2).astype(np.int64) == 8 * tsize)
    log2 = np.select([tsize == 1, tsize == 2, tsize == 4, tsize == 8], [0, 1, 2, 3], -1)
    fixed = (tclass == 0) & (log2 >= 0) & little & full & (type_len[r] >= FIXED_TYPE_BYTES)
    # IEEE binary32 / binary64: exponent and mantissa where IEEE puts them.
    layout = np.stack([buf[p + tp + 12 + k] for k in range(4)], axis=1).astype(np.int64)
    bias = _u(buf, p, tp + 16, 4).astype(np.int64)
    ieee32 = (tsize == 4) & np.all(layout == (23, 8, 0, 23), axis=1) & (bias == 127)
    ieee64 = (tsize == 8) & np.all(layout == (52, 11, 0, 52), axis=1) & (bias == 1023)
    floating = (tclass == 1) & (ieee32 | ieee64) & ((bits & 0x41) == 0) & full & \
        (type_len[r] >= FLOAT_TYPE_BYTES)
    codes = np.where(fixed, log2 + 4 * signed, np.where(floating, 8 + (tsize == 8), -1))
    itemsize = np.where(codes >= 0, tsize, 0)

    # Layout: version 3 or 4, contiguous, with its data's address and size, the data
    # inside the allocated file (past its end HDF5 reads zeros, not what lies there).
    lp = layout_at[r]
    contiguous = np.isin(buf[p + lp], (3, 4)) & (buf[p + lp + 1] == 1) & \
        (layout_len[r] >= LAYOUT_BYTES)
    address = _u(buf, p, lp + 2, 8)
    size_field = _u(buf, p, lp + 10, 8)
    defined = address != np.uint64(UNDEFINED)
    empty = elements == 0
    room = np.uint64(geometry.end - geometry.base)
    inside = (address <= room) & (size_field <= room - np.minimum(address, room))
    size_field = np.where(inside, size_field, 0).astype(np.int64)
    bad = (codes < 0) | ~contiguous | (~defined & ~empty)    # never written: fill value
    bad |= defined & (~inside | (size_field != elements * itemsize))
    sel = good[r] & ~bad
    keep = rows[r[sel]]
    out['code'][keep] = codes[sel]
    out['count'][keep] = elements[sel]
    out['offset'][keep] = np.where(defined[sel], address[sel].astype(np.int64)
                                   + geometry.base, -1)
    out['nbytes'][keep] = np.where(defined[sel], size_field[sel], 0)


def _gather(path, info, rows, starts, values, report, done, total):
    """Copy the data of the decoded datasets ``rows`` into ``values`` at ``starts``."""
    offset, count, code = info['offset'], info['count'], info['code']
    order = rows[np.argsort(offset[rows], kind='stable')]
    begin = offset[order]
    end = begin + info['nbytes'][order]
    fd = os.open(path, os.O_RDONLY)
    try:
        for i, j in _blocks(begin, np.maximum.accumulate(end)):
            run = order[i:j]
            lo, hi = int(begin[i]), int(end[i:j].max())
            buf = _pread_run(fd, lo, hi - lo, path)
            itemsize = np.array([TYPES[c].itemsize for c in range(len(TYPES))])[code[run]]
            residue = (offset[run] - lo) % itemsize
            # Rows of one type and one alignment within the block gather together.
            key = code[run] * 8 + residue
            for k in np.unique(key).tolist():
                members = run[key == k]
                dt, r0 = TYPES[k // 8], k % 8
                usable = (buf.size - r0) // dt.itemsize
                source = buf[r0:r0 + usable * dt.itemsize].view(dt)
                first = (offset[members] - lo - r0) // dt.itemsize
                lens = count[members]
                within = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(
                    np.cumsum(lens) - lens, lens)
                values[np.repeat(starts[members], lens) + within] = \
                    source[np.repeat(first, lens) + within]
            done += run.size
            if report is not None:
                report(done, total)
    finally:
        os.close(fd)

