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
dataset at a time, so the result is the same for every file h5py can read.

Pure: numpy, h5py.  HDF5 calls are made from the calling thread only.
"""

import os

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


class FileGeometry:
    """What the superblock says about addresses: their base and their widths."""

    def __init__(self, path, h5file):
        self.path = path
        self.base = int(h5file.userblock_size)
        with open(path, 'rb') as f:
            f.seek(self.base)
            head = f.read(64)
        self.supported = False
        if len(head) < 16 or head[:8] != b'\x89HDF\r\n\x1a\n':
            return
        version = head[8]
        if version in (0, 1):
            self.size_offsets, self.size_lengths = head[13], head[14]
        elif version in (2, 3):
            self.size_offsets, self.size_lengths = head[9], head[10]
        else:
            return
        self.supported = self.size_offsets == 8 and self.size_lengths == 8


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
        addresses.append(info.u if info.type == HARD else -1)
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
        prefix = group.name.rstrip('/') + '/'

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


def _read_one(group, name, label):
    try:
        obj = group.get(name)
    except (KeyError, OSError, RuntimeError, ValueError) as e:
        raise InputError('%s cannot be read: %s' % (label, e))
    if not isinstance(obj, h5py.Dataset):
        raise InputError('%s is not a dataset (%s), not a vector of region ids'
                         % (label, 'a group' if isinstance(obj, h5py.Group)
                            else 'a dangling link'))
    if obj.dtype.kind not in 'iuf':
        raise InputError('%s holds %s, not numbers' % (label, _type_name(obj.dtype)))
    return dataset_vector(obj, label)


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
    except (OSError, RuntimeError, ValueError) as e:
        raise InputError('%s cannot be read (damaged or truncated?): %s' % (label, e))


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


def _decode_headers(path, geometry, addresses):
    """Per dataset: ``code`` (index into TYPES, -1 where h5py must read it), ``count``
    (elements), ``offset`` (absolute file offset of its contiguous data) and ``nbytes``."""
    n = addresses.size
    out = dict(code=np.full(n, -1, np.int64), count=np.zeros(n, np.int64),
               offset=np.zeros(n, np.int64), nbytes=np.zeros(n, np.int64))
    hard = np.flatnonzero(addresses >= 0)
    if hard.size == 0:
        return out
    size = os.path.getsize(path)
    absolute = addresses[hard] + geometry.base
    order = np.argsort(absolute, kind='stable')
    hard, starts = hard[order], absolute[order]
    ends = np.minimum(starts + HEADER_WINDOW, size)
    fd = os.open(path, os.O_RDONLY)
    try:
        for i, j in _blocks(starts, np.maximum.accumulate(ends)):
            lo = int(starts[i])
            if lo >= size:
                continue
            hi = int(ends[i:j].max())
            # Zeros past the end: windows cut by the end of the file read as zeros.
            buf = np.concatenate([_pread_run(fd, lo, hi - lo, path),
                                  np.zeros(HEADER_WINDOW, np.uint8)])
            _decode_block(buf, starts[i:j] - lo, hard[i:j], geometry.base, out)
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


def _decode_block(buf, pos, rows, base, out):
    """Decode the version 1 object headers at ``buf[pos]`` of datasets ``rows``."""
    W = HEADER_WINDOW
    good = buf[pos] == 1                                 # version 1 object header
    nmsg = _u(buf, pos, 2, 2).astype(np.int64)
    hsize = _u(buf, pos, 8, 4).astype(np.int64)
    limit = 16 + np.minimum(hsize, W - 16)
    cursor = np.full(pos.size, 16, np.int64)
    space_at = np.full(pos.size, -1, np.int64)
    type_at = np.full(pos.size, -1, np.int64)
    layout_at = np.full(pos.size, -1, np.int64)
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
        for kind, where in ((1, space_at), (3, type_at), (8, layout_at)):
            hit = mtype == kind
            where[r[hit]] = c[hit] + 8
        # A header continuation, a filter pipeline, or a dataspace or datatype shared
        # with other objects (the message then only points to it): h5py reads those.
        good[r[(mtype == 0x10) | (mtype == 0x0B) | (shared & ((mtype == 1) | (mtype == 3)))]] \
            = False
        cursor[r] = c + 8 + msize
        good[r[c + 8 + msize > limit[r]]] = False
    good &= (space_at >= 0) & (type_at >= 0) & (layout_at >= 0)

    # Dataspace: version 1 (dims at +8) or 2 (dims at +4; type 0 scalar, 1 simple,
    # 2 null).  Scalars go through h5py.
    r = np.flatnonzero(good)
    p = pos[r]
    sp = space_at[r]
    sversion = buf[p + sp]
    rank = buf[p + sp + 1].astype(np.int64)
    stype = np.where(sversion == 2, buf[p + sp + 3], np.where(rank == 0, 0, 1))
    good[r[((sversion != 1) & (sversion != 2)) | (stype == 0) | (stype > 2)]] = False
    dims_at = sp + np.where(sversion == 2, 4, 8)
    elements = np.ones(r.size, np.int64)
    larger = np.zeros(r.size, np.int64)                  # dimensions longer than 1
    for d in range(int(rank.max()) if r.size else 0):
        has = (d < rank) & (stype == 1)
        dim = np.where(has, _u(buf, p, dims_at + 8 * d, 8).astype(np.int64), 1)
        elements *= dim
        larger += dim > 1
    elements[stype == 2] = 0
    # Not a vector (a 3 x k matrix of skeleton nodes): h5py reads it and names it.
    good[r[larger > 1]] = False

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
    fixed = (tclass == 0) & (log2 >= 0) & little & full
    # IEEE binary32 / binary64: exponent and mantissa where IEEE puts them.
    layout = np.stack([buf[p + tp + 12 + k] for k in range(4)], axis=1).astype(np.int64)
    bias = _u(buf, p, tp + 16, 4).astype(np.int64)
    ieee32 = (tsize == 4) & np.all(layout == (23, 8, 0, 23), axis=1) & (bias == 127)
    ieee64 = (tsize == 8) & np.all(layout == (52, 11, 0, 52), axis=1) & (bias == 1023)
    floating = (tclass == 1) & (ieee32 | ieee64) & ((bits & 0x41) == 0) & full
    codes = np.where(fixed, log2 + 4 * signed, np.where(floating, 8 + (tsize == 8), -1))
    itemsize = np.where(codes >= 0, tsize, 0)

    # Layout: version 3 or 4, contiguous, with its data's address and size.
    lp = layout_at[r]
    contiguous = np.isin(buf[p + lp], (3, 4)) & (buf[p + lp + 1] == 1)
    address = _u(buf, p, lp + 2, 8)
    size_field = _u(buf, p, lp + 10, 8).astype(np.int64)
    defined = address != np.uint64(UNDEFINED)
    empty = elements == 0
    bad = (codes < 0) | ~contiguous | (~defined & ~empty)    # never written: fill value
    bad |= defined & (size_field != elements * itemsize)
    sel = good[r] & ~bad
    keep = rows[r[sel]]
    out['code'][keep] = codes[sel]
    out['count'][keep] = elements[sel]
    out['offset'][keep] = np.where(defined[sel], address[sel].astype(np.int64) + base, -1)
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
