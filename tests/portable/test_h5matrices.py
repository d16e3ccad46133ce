"""formats/h5matrices.py: the authors' skeletons read in bulk (one H5Lvisit, headers and
data decoded with numpy) are those AuthorsFile.skeletons reads one by one, whatever the
storage (contiguous, chunked and compressed, float nodes), in the order asked, skipping
objects without a skeleton; damaged skeletons are refused naming the dataset."""

import h5py
import numpy as np
import pytest

from chimerax.connectome.demo import authorsfile as layout
from chimerax.connectome.errors import InputError
from chimerax.connectome.formats import h5matrices
from chimerax.connectome.formats.objectfiles.authors import AuthorsFile


def skeletons(n, rng):
    for k in range(n):
        size = int(rng.integers(1, 30))
        nodes = rng.integers(1, 5000, (size, 3))
        edges = np.stack([np.arange(1, size), np.arange(2, size + 1)], axis=1)
        yield layout.Skeleton(nodes, edges, np.arange(1, size + 1))


def make(path, n=200, libver=None):
    rng = np.random.default_rng(3)
    with h5py.File(path, 'w', libver=libver) as f:
        layout.write_skeletons(f, '/axons/skeleton', skeletons(n, rng))
        layout.write_categorical(f, '/axons/class', np.ones(n), ('a',))
        layout.write_vectors(f, '/axons/agglomerate', [np.array([k + 1]) for k in range(n)])
        layout.write_info(f, 'test')
        g = f['/axons/skeleton']
        # Storage the decoder leaves to h5py: chunked and compressed, and float nodes.
        for name, data in (('7/nodes', g['7/nodes'][()]), ('9/edges', g['9/edges'][()])):
            del g[name]
            g.create_dataset(name, data=data, chunks=True, compression='gzip')
        nodes = g['11/nodes'][()].astype(np.float64) + 0.5
        del g['11/nodes']
        g['11/nodes'] = nodes


def bulk(path, ids):
    with h5py.File(path, 'r') as f:
        return h5matrices.read_skeletons(path, f, f['/axons/skeleton'], ids)


def test_bulk_is_one_by_one(tmp_path):
    path = str(tmp_path / 'axons.hdf5')
    make(path)
    ids = [150, 7, 9, 11, 1, 2, 999, 200]
    got = bulk(path, ids)
    assert got.ids.tolist() == [150, 7, 9, 11, 1, 2, 200]
    assert got.nodes.dtype == np.float64
    # All of them too, as the objects table reads them.
    for asked in (got.ids.tolist(), list(range(1, 201))):
        got = bulk(path, asked)
        with AuthorsFile(path) as f:
            want = f.skeletons('/axons/skeleton', asked)
        assert got.ids.tolist() == [w.id for w in want]
        for k, w in enumerate(want):
            nodes, edges = got.skeleton(k)
            assert np.array_equal(nodes, w.nodes)
            assert np.array_equal(edges, w.edges)


def test_new_style_groups_through_the_library(tmp_path):
    """Groups of the newer file format (link messages, version 2 headers) are not
    decoded here: the library finds their datasets, with the same result."""
    path = str(tmp_path / 'axons.hdf5')
    make(path, 50, libver='latest')
    got = bulk(path, range(1, 51))
    with AuthorsFile(path) as f:
        want = f.skeletons('/axons/skeleton', range(1, 51))
    assert got.ids.tolist() == list(range(1, 51))
    for k, w in enumerate(want):
        nodes, edges = got.skeleton(k)
        assert np.array_equal(nodes, w.nodes) and np.array_equal(edges, w.edges)


@pytest.mark.parametrize('damage,message', [
    (lambda g: g['5/edges'].__setitem__((0, 0), 99), 'skeleton/5/edges names node 99'),
    (lambda g: (g.__delitem__('6/edges')), 'skeleton/6 has no dataset edges'),
    (lambda g: (g.__delitem__('4'), g.create_dataset('4', data=[1])),
     'skeleton/4 is not a group'),
    (lambda g: g['3/nodes'].__setitem__((0, 0), 0) or g.__setitem__(
        '3/nodesf', g['3/nodes'][()].astype(float)) or g.__delitem__('3/nodes') or
     g.move('3/nodesf', '3/nodes') or g['3/nodes'].__setitem__((1, 0), np.nan),
     'skeleton/3/nodes holds values that are not finite'),
    (lambda g: (g.__delitem__('8/nodes'), g.create_dataset('8/nodes', data=np.ones((4, 2)))),
     'skeleton/8/nodes is 4 x 2, not 3 x k'),
])
def test_damaged_skeletons_are_refused(tmp_path, damage, message):
    path = str(tmp_path / 'axons.hdf5')
    make(path, 20)
    with h5py.File(path, 'r+') as f:
        damage(f['/axons/skeleton'])
    with pytest.raises(InputError, match=message):
        bulk(path, range(1, 21))


def test_contiguous_matrices_are_decoded_not_read_one_by_one(tmp_path, monkeypatch):
    """Only the datasets the decoder cannot read (chunked, compressed) go through h5py;
    float nodes stored contiguously are decoded; subgroups are found through their
    symbol tables, not opened."""
    path = str(tmp_path / 'axons.hdf5')
    make(path)
    opened = []
    real = h5py.Group.__getitem__

    def getitem(self, name):
        opened.append(name)
        return real(self, name)
    monkeypatch.setattr(h5py.Group, '__getitem__', getitem)
    groups = []
    real_open = h5matrices.h5g.open

    def open_group(*args):
        groups.append(args[1])
        return real_open(*args)
    monkeypatch.setattr(h5matrices.h5g, 'open', open_group)
    assert len(bulk(path, range(1, 201)).ids) == 200
    # The symbol tables are decoded: the library opens no subgroup (asked for one with
    # no skeleton, it looks).
    assert groups == []
    assert len(bulk(path, [5, 201]).ids) == 1 and groups == [b'201']
    assert sorted(n for n in opened if '/' in str(n) and not str(n).startswith('/')) == \
        ['7/nodes', '9/edges']
