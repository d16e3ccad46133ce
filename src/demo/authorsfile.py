"""Files in the authors' layout (Motta et al. 2019), written as their MATLAB export
(h5create / h5write) writes them: contiguous datasets, vectors 1-D, a MATLAB k x 3 matrix
stored (3, k), categorical codes with one attribute per category name.  The demo's
objects/authors/ files and the benchmark's are written here; the layout is read, and
described, by formats/objectfiles/authors.py, which never writes it, so a wrong belief
about the layout cannot be written and read back the same way unnoticed (the tests also
read files made with plain h5py).  Pure: numpy, h5py.
"""

from typing import NamedTuple

import numpy as np
from h5py import h5d, h5g, h5p, h5s, h5t


class Skeleton(NamedTuple):
    """One object's skeleton: nodes (k, 3) 1-based voxel x, y, z; edges (m, 2) 1-based
    node indices; region_ids (k,): the region at each node (the authors' segIds)."""
    nodes: np.ndarray
    edges: np.ndarray
    region_ids: np.ndarray


def write_info(f, text):
    f.attrs['info'] = text


def write_categorical(f, path, codes, names):
    """A uint8 dataset of codes with one attribute per category name (code 1, 2, ...)."""
    ds = f.create_dataset(path, data=np.asarray(codes, np.uint8))
    for code, name in enumerate(names, start=1):
        ds.attrs[name.lower()] = np.uint8(code)
    return ds


def write_matrix(f, path, rows, dtype=np.uint32):
    """A MATLAB k x n matrix (``rows``: k rows of n values) as HDF5 shape (n, k)."""
    rows = np.asarray(rows, dtype)
    return f.create_dataset(path, data=np.ascontiguousarray(rows.T))


def write_vectors(f, path, vectors, dtype=np.uint32):
    """A group of one 1-D dataset per object, named 1..N, through the low-level API
    (far faster than h5py's Datasets: the benchmark writes 1.6 million)."""
    group = f.require_group(path)
    gid = group.id
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_layout(h5d.CONTIGUOUS)
    dtype = np.dtype(dtype)
    ftype = h5t.py_create(dtype)
    for k, v in enumerate(vectors, start=1):
        v = np.ascontiguousarray(v, dtype)
        space = h5s.create_simple((v.size,))
        ds = h5d.create(gid, str(k).encode(), ftype, space, dcpl=dcpl)
        if v.size:
            ds.write(h5s.ALL, h5s.ALL, v)
    return group


def write_skeletons(f, path, skeletons):
    """/…/skeleton/<n>/ groups: nodes (3 x k, 1-based x,y,z), edges (2 x m, 1-based node
    indices; a self-connection when there are none, as the authors' export does) and
    segIds (k).  ``skeletons``: a Skeleton per object."""
    group = f.require_group(path)
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_layout(h5d.CONTIGUOUS)
    ftype = h5t.py_create(np.dtype(np.uint32))
    for k, skeleton in enumerate(skeletons, start=1):
        sub = h5g.create(group.id, str(k).encode())
        edges = np.asarray(skeleton.edges, np.uint32).reshape(-1, 2)
        if not edges.size:
            edges = np.ones((1, 2), np.uint32)
        for name, data in ((b'nodes', np.asarray(skeleton.nodes, np.uint32).reshape(-1, 3).T),
                           (b'edges', edges.T),
                           (b'segIds', np.asarray(skeleton.region_ids, np.uint32).reshape(-1))):
            data = np.ascontiguousarray(data)
            ds = h5d.create(sub, name, ftype, h5s.create_simple(data.shape), dcpl=dcpl)
            if data.size:
                ds.write(h5s.ALL, h5s.ALL, data)
    return group
