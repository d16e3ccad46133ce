"""Matrices in the subgroups of an HDF5 group, read at the speed of the disk: the
authors' skeletons (``/axons/skeleton/<n>/nodes``, ``edges``: MATLAB k x 3 and k x 2
matrices, stored (3, k) and (2, k) as h5py sees them), 300,000 groups of three datasets
each, which one by one through h5py take most of a minute.  Read as formats/h5vectors.py
reads a group of vectors: the links of the whole group listed in one H5Lvisit, the
object headers and the data of contiguous datasets read in large blocks and decoded with
numpy (h5vectors' decoder, told to accept 2-D datasets of the expected rows), the rest
through h5py one dataset at a time.  Pure: numpy, h5py.
"""

import os

import h5py
import numpy as np
from h5py import h5l

from ..errors import InputError
from .h5vectors import (INT64_MAX, TYPES, UNREADABLE, FileGeometry, _common_type,
                        _decode_headers, _gather, hdf5_reason)


def read_matrices(path, h5file, group, names, members, report=None):
    """{member: {name: (k, rows) array}} of the datasets ``<name>/<member>`` of ``group``
    for each name in ``names`` that has one, ``members`` {member: rows} (the authors'
    skeletons: {'nodes': 3, 'edges': 2}).  A dataset that is not a 2-D array of ``rows``
    rows of numbers is an InputError naming it.  ``report(done, total)``."""
    wanted = {str(n): n for n in names}
    links = {m: ([], []) for m in members}
    HARD = h5l.TYPE_HARD

    def visit(link, info):
        head, _, tail = link.decode('utf-8', 'surrogateescape').rpartition('/')
        if tail in links and head in wanted:
            found, addresses = links[tail]
            found.append(head)
            addresses.append(info.u if info.type == HARD and 0 <= info.u <= INT64_MAX
                             else -1)
    group.id.links.visit(visit, info=True)
    geometry = FileGeometry(path, h5file)
    out = {}
    for member, rows in members.items():
        found, addresses = links[member]
        out[member] = _read(path, geometry, group, found, np.array(addresses, np.int64),
                            member, rows, wanted, report)
    return out


def _read(path, geometry, group, found, addresses, member, rows, wanted, report):
    n = len(found)
    if geometry.supported and n:
        info = _decode_headers(path, geometry, addresses, matrix_rows=rows)
    else:
        info = dict(code=np.full(n, -1, np.int64), count=np.zeros(n, np.int64))
    decoded = (info['code'] >= 0) & (info['count'] > 0)
    lengths = np.where(decoded, info['count'], 0)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    present = np.unique(info['code'][decoded])
    dtype = _common_type([TYPES[c] for c in present.tolist()]) if present.size else \
        np.dtype(np.float64)
    values = np.empty(int(ends[-1]) if n else 0, dtype)
    fast = np.flatnonzero(decoded)
    if fast.size:
        _gather(path, info, fast, starts, values, report, 0, n)
    out = {}
    prefix = '%s %s/' % (os.path.basename(path), group.name.rstrip('/'))
    for k, name in enumerate(found):
        if decoded[k]:
            out[wanted[name]] = values[starts[k]:ends[k]].reshape(rows, -1).T
            continue
        label = '%s%s/%s' % (prefix, name, member)
        try:
            ds = group['%s/%s' % (name, member)]
            a = np.asarray(ds[()]) if isinstance(ds, h5py.Dataset) else None
        except UNREADABLE as e:
            raise InputError('%s cannot be read: %s' % (label, hdf5_reason(e)))
        if a is None or a.dtype.kind not in 'iuf' or a.ndim != 2 or a.shape[0] != rows:
            raise InputError('%s is %s, not %d x k numbers (the MATLAB export stores a k x'
                             ' %d matrix that way)' % (label, 'a group' if a is None else
                                                      ' x '.join(map(str, a.shape)),
                                                      rows, rows))
        out[wanted[name]] = a.T
    return out


def read_skeletons(path, h5file, group, ids, report=None):
    """[(id, nodes (k, 3) float64 1-based voxel x, y, z, edges (m, 2) 0-based node
    indices, self-connections left out)] of the skeletons ``ids`` that ``group`` (the
    authors' /axons/skeleton) has, in the order of ``ids``; checked as
    objectfiles/authors.py ``AuthorsFile.skeletons`` checks one."""
    ids = [int(i) for i in ids]
    read = read_matrices(path, h5file, group, ids, {'nodes': 3, 'edges': 2}, report)
    nodes_of, edges_of = read['nodes'], read['edges']
    out = []
    where = '%s %s' % (os.path.basename(path), group.name.rstrip('/'))
    for i in ids:
        if i not in nodes_of:
            continue
        if i not in edges_of:
            raise InputError('%s/%d has no dataset edges' % (where, i))
        nodes = nodes_of[i].astype(np.float64)
        edges = edges_of[i]
        if not np.isfinite(nodes).all():
            raise InputError('%s/%d/nodes holds values that are not finite' % (where, i))
        if edges.dtype.kind == 'f' and not np.all(edges == np.floor(edges)):
            raise InputError('%s/%d/edges holds %r, not a node index (edges join nodes 1,'
                             ' 2, ...)' % (where, i, float(edges[edges != np.floor(edges)][0])))
        if edges.size and (edges.min() < 1 or edges.max() > len(nodes)):
            raise InputError('%s/%d/edges names node %d; the skeleton has nodes 1 to %d'
                             % (where, i, int(edges.max() if edges.max() > len(nodes)
                                              else edges.min()), len(nodes)))
        edges = edges.astype(np.int64) - 1
        out.append((i, nodes, edges[edges[:, 0] != edges[:, 1]]))
    return out
