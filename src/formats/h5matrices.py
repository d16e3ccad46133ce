"""Matrices in the subgroups of an HDF5 group, read in bulk: the authors' skeletons
(``/axons/skeleton/<n>/nodes``, ``edges``: MATLAB k x 3 and k x 2 matrices, stored (3, k)
and (2, k) as h5py sees them), 300,000 groups of three datasets, which h5py's Dataset
objects read one by one in most of a minute.  Only finding each dataset's object header
goes through the HDF5 library (the subgroup opened, two links looked up: H5Lvisit over
the whole group is slower still); the headers and the data of contiguous datasets are
then read in large blocks and decoded with numpy by formats/h5vectors.py's decoder (told
to accept 2-D datasets of the expected rows), the rest read through h5py one at a time,
and every skeleton is laid out, checked and returned at once (``SkeletonSet``), without
a Python loop over the objects.  Pure: numpy, h5py.
"""

import os
from typing import NamedTuple

import h5py
import numpy as np
from h5py import h5g, h5l

from ..errors import InputError
from .h5vectors import (INT64_MAX, TYPES, UNREADABLE, FileGeometry, _blocks, _common_type,
                        _decode_headers, _gather, _u, group_links, hdf5_reason)

MEMBERS = {'nodes': 3, 'edges': 2}
# Bytes read of a subgroup's object header, symbol table node (its entries: 40 bytes
# each with 8-byte offsets) and the names of its local heap.
HEADER, SNOD, NAMES, ENTRY = 256, 8 + 4 * 40, 64, 40
CHUNK = 65536               # subgroups decoded at once


class SkeletonSet(NamedTuple):
    """Skeletons of many objects: ``ids`` (n,), ``node_starts`` (n + 1,: the nodes of
    object k are rows node_starts[k]:node_starts[k + 1]), ``nodes`` (N, 3) float64 1-based
    voxel x, y, z, ``edges`` (M, 2) int64 indices into ``nodes`` (self-connections left
    out) and ``edge_owner`` (M,) the index into ``ids`` of each edge's object."""
    ids: np.ndarray
    node_starts: np.ndarray
    nodes: np.ndarray
    edges: np.ndarray
    edge_owner: np.ndarray

    def skeleton(self, k):
        """(nodes, 0-based local edges) of object k (an index into ids)."""
        lo, hi = int(self.node_starts[k]), int(self.node_starts[k + 1])
        return self.nodes[lo:hi], self.edges[self.edge_owner == k] - lo


def _read_at(fd, path, geometry, addresses, width):
    """(n, width) bytes at each file address (relative to the base), read in large
    blocks; zeros past the end of allocation or of the file, and for address -1."""
    n = addresses.size
    out = np.zeros((n, width), np.uint8)
    size = min(os.fstat(fd).st_size, geometry.end)
    absolute = addresses + geometry.base
    ok = np.flatnonzero((addresses >= 0) & (absolute < size))
    if not ok.size:
        return out
    order = ok[np.argsort(absolute[ok], kind='stable')]
    starts = absolute[order]
    ends = np.minimum(starts + width, size)
    for i, j in _blocks(starts, np.maximum.accumulate(ends)):
        lo, hi = int(starts[i]), int(ends[i:j].max())
        # Zeros past the end: a field there reads zero, never another block.
        buf = np.zeros(hi - lo + width, np.uint8)
        view = memoryview(buf)
        done = 0
        while done < hi - lo:
            got = os.preadv(fd, [view[done:hi - lo]], lo + done)
            if got <= 0:
                raise InputError('%s is truncated: it ends before byte %d that its HDF5'
                                 ' metadata points to' % (path, lo + done), path)
            done += got
        out[order[i:j]] = np.lib.stride_tricks.sliding_window_view(buf, width)[
            starts[i:j] - lo]
    return out


def _le(a, at, width):
    """Little-endian unsigned integers of ``width`` bytes at column ``at`` of each row."""
    out = np.zeros(a.shape[0], np.int64)
    for b in reversed(range(width)):
        out = (out << 8) | a[:, at + b].astype(np.int64)
    return out


def _signature(a, text):
    return (a[:, :len(text)] == np.frombuffer(text, np.uint8)[None, :]).all(axis=1)


def _symbol_tables(fd, path, geometry, addresses):
    """Per subgroup header address: the addresses of its ``nodes`` and ``edges``
    datasets, read from the group's symbol table (a version 1 object header with a
    symbol table message; one B-tree leaf; one symbol table node; the local heap of the
    names), -1 where anything is not so plain (the library finds those)."""
    n = addresses.size
    found = {m: np.full(n, -1, np.int64) for m in MEMBERS}
    head = _read_at(fd, path, geometry, addresses, HEADER)
    flat = head.reshape(-1)
    pos = np.arange(n, dtype=np.int64) * HEADER
    good = (head[:, 0] == 1) & (addresses >= 0)
    nmsg = _u(flat, pos, 2, 2).astype(np.int64)
    cursor = np.full(n, 16, np.int64)
    tree = np.full(n, -1, np.int64)
    heap = np.full(n, -1, np.int64)
    for _ in range(int(nmsg[good].max()) if good.any() else 0):
        r = np.flatnonzero(good & (tree < 0) & (cursor + 24 <= HEADER))
        if not r.size:
            break
        kind = _u(flat, pos[r], cursor[r], 2).astype(np.int64)
        size = _u(flat, pos[r], cursor[r] + 2, 2).astype(np.int64)
        hit = r[kind == 0x11]
        tree[hit] = _u(flat, pos[hit], cursor[hit] + 8, 8).astype(np.int64)
        heap[hit] = _u(flat, pos[hit], cursor[hit] + 16, 8).astype(np.int64)
        good[r[kind == 0x10]] = False                   # a continuation: the library's
        cursor[r] += 8 + size
    good &= (tree >= 0) & (heap >= 0) & (tree <= INT64_MAX) & (heap <= INT64_MAX)
    # A B-tree of group nodes with one leaf: its one child is the symbol table node.
    node = _read_at(fd, path, geometry, np.where(good, tree, -1), 40)
    good &= _signature(node, b'TREE') & (node[:, 4] == 0) & (node[:, 5] == 0) & \
        (_le(node, 6, 2) == 1)
    snod = _read_at(fd, path, geometry, np.where(good, _le(node, 32, 8), -1), SNOD)
    count = _le(snod, 6, 2)
    good &= _signature(snod, b'SNOD') & (snod[:, 4] == 1) & (8 + ENTRY * count <= SNOD)
    local = _read_at(fd, path, geometry, np.where(good, heap, -1), 32)
    good &= _signature(local, b'HEAP')
    data_size = np.minimum(_le(local, 8, 8), NAMES)
    data = _read_at(fd, path, geometry, np.where(good, _le(local, 24, 8), -1), NAMES)
    rows = np.arange(n)
    for e in range(int(count[good].max()) if good.any() else 0):
        offset = _le(snod, 8 + ENTRY * e, 8)
        header = _le(snod, 16 + ENTRY * e, 8)
        for member in MEMBERS:
            name = np.frombuffer(member.encode() + b'\0', np.uint8)
            same = good & (e < count) & (offset + name.size <= data_size)
            for k, byte in enumerate(name.tolist()):
                same &= data[rows, np.minimum(offset + k, NAMES - 1)] == byte
            found[member][same] = header[same]
    return found


def _links(path, geometry, group, ids, where):
    """{member: (ids, object header addresses)} of the ``<id>/<member>`` datasets; an id
    with no subgroup is left out, a subgroup without a member is an error.  Read from
    the subgroups' symbol tables where they are plain (``_symbol_tables``), else through
    the library, one subgroup at a time."""
    gid = group.id
    HARD = h5l.TYPE_HARD
    out = {m: ([], []) for m in MEMBERS}
    names, addresses = group_links(group)
    where_is = dict(zip(names, addresses.tolist()))
    asked = np.array([where_is.get(str(i), -1) for i in ids], np.int64)
    plain = {m: np.full(asked.size, -1, np.int64) for m in MEMBERS}
    if geometry.supported and asked.size:
        fd = os.open(path, os.O_RDONLY)
        try:
            for lo in range(0, asked.size, CHUNK):
                part = _symbol_tables(fd, path, geometry, asked[lo:lo + CHUNK])
                for m in MEMBERS:
                    plain[m][lo:lo + CHUNK] = part[m]
        finally:
            os.close(fd)
    both = (plain['nodes'] >= 0) & (plain['edges'] >= 0)
    for k, i in enumerate(ids):
        if both[k]:
            for member, (found, addrs) in out.items():
                found.append(i)
                addrs.append(int(plain[member][k]))
            continue
        name = b'%d' % i
        try:
            sub = h5g.open(gid, name)
        except (KeyError, ValueError, RuntimeError, OSError):
            if gid.links.exists(name):
                raise InputError('%s/%d is not a group of a skeleton\'s datasets' % (where, i))
            continue
        for member, (found, addrs) in out.items():
            try:
                info = sub.links.get_info(member.encode())
            except (KeyError, ValueError, RuntimeError, OSError):
                raise InputError('%s/%d has no dataset %s' % (where, i, member))
            found.append(i)
            addrs.append(info.u if info.type == HARD and 0 <= info.u <= INT64_MAX
                             else -1)
    return out


def _read(path, geometry, group, ids, addresses, member, rows, where):
    """(values, starts, lengths) of datasets ``<id>/<member>``: each the (rows, k) data
    of one dataset, flat, at values[starts[j]:starts[j] + lengths[j]]."""
    n = len(ids)
    if geometry.supported and n:
        info = _decode_headers(path, geometry, addresses, matrix_rows=rows)
    else:
        info = dict(code=np.full(n, -1, np.int64), count=np.zeros(n, np.int64))
    decoded = (info['code'] >= 0) & (info['count'] > 0)
    slow = {}
    for k in np.flatnonzero(~decoded).tolist():
        label = '%s/%d/%s' % (where, ids[k], member)
        try:
            ds = group['%d/%s' % (ids[k], member)]
            a = np.asarray(ds[()]) if isinstance(ds, h5py.Dataset) else None
        except UNREADABLE as e:
            raise InputError('%s cannot be read: %s' % (label, hdf5_reason(e)))
        if a is None or a.dtype.kind not in 'iuf' or a.ndim != 2 or a.shape[0] != rows:
            raise InputError('%s is %s, not %d x k numbers (the MATLAB export stores a k x'
                             ' %d matrix that way)' % (label, 'a group' if a is None else
                                                      ' x '.join(map(str, a.shape)),
                                                      rows, rows))
        slow[k] = a.reshape(-1)
    lengths = np.where(decoded, info['count'], 0)
    for k, a in slow.items():
        lengths[k] = a.size
    ends = np.cumsum(lengths)
    starts = ends - lengths
    present = np.unique(info['code'][decoded])
    dtype = _common_type([TYPES[c] for c in present.tolist()]
                         + [a.dtype for a in slow.values()]) if n else np.dtype(np.float64)
    values = np.empty(int(ends[-1]) if n else 0, dtype)
    fast = np.flatnonzero(decoded)
    if fast.size:
        _gather(path, info, fast, starts, values, None, 0, n)
    for k, a in slow.items():
        values[starts[k]:ends[k]] = a
    return values, starts, lengths


def _rows(values, starts, lengths, rows):
    """The (k, rows) matrices stored (rows, k) at ``starts``, stacked: ((sum k, rows),
    k per matrix)."""
    k = lengths // rows
    total = int(k.sum())
    owner = np.repeat(np.arange(k.size), k)
    local = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
    index = (starts[owner] + local)[:, None] + np.arange(rows)[None, :] * k[owner][:, None]
    return values[index], k


def read_skeletons(path, h5file, group, ids):
    """The SkeletonSet of the skeletons ``ids`` that ``group`` (the authors'
    /axons/skeleton) has, in the order of ``ids``: each ``<id>/nodes`` (3 x k, 1-based
    x, y, z) and ``<id>/edges`` (2 x m, 1-based node indices), checked as
    objectfiles/authors.py ``AuthorsFile.skeletons`` checks one."""
    where = '%s %s' % (os.path.basename(path), group.name.rstrip('/'))
    geometry = FileGeometry(path, h5file)
    links = _links(path, geometry, group, [int(i) for i in ids], where)
    read = {}
    for member, rows in MEMBERS.items():
        found, addresses = links[member]
        values, starts, lengths = _read(path, geometry, group, found,
                                        np.array(addresses, np.int64), member, rows, where)
        read[member] = _rows(values, starts, lengths, rows)
    found = np.array(links['nodes'][0], np.int64)
    (nodes, node_counts), (edges, edge_counts) = read['nodes'], read['edges']
    nodes = nodes.astype(np.float64)
    if not np.isfinite(nodes).all():
        k = int(np.repeat(np.arange(found.size), node_counts)[
            np.flatnonzero(~np.isfinite(nodes).all(axis=1))[0]])
        raise InputError('%s/%d/nodes holds values that are not finite' % (where, found[k]))
    owner = np.repeat(np.arange(found.size), edge_counts)
    if edges.dtype.kind == 'f':
        bad = np.flatnonzero((edges != np.floor(edges)).any(axis=1))
        if bad.size:
            e = edges[bad[0]]
            raise InputError('%s/%d/edges holds %r, not a node index (edges join nodes 1,'
                             ' 2, ...)' % (where, found[owner[bad[0]]],
                                           float(e[e != np.floor(e)][0])))
    edges = edges.astype(np.int64)
    limit = node_counts[owner][:, None]
    bad = np.flatnonzero(((edges < 1) | (edges > limit)).any(axis=1))
    if bad.size:
        e, k = edges[bad[0]], owner[bad[0]]
        raise InputError('%s/%d/edges names node %d; the skeleton has nodes 1 to %d'
                         % (where, found[k], int(e.max() if e.max() > node_counts[k]
                                                 else e.min()), node_counts[k]))
    node_starts = np.r_[0, np.cumsum(node_counts)].astype(np.int64)
    edges = edges - 1 + node_starts[owner][:, None]
    keep = edges[:, 0] != edges[:, 1]
    return SkeletonSet(found, node_starts, nodes, edges[keep], owner[keep])
