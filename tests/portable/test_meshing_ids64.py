"""connectome meshes' pipeline on a store of region ids above 2^32 (issue 24, item 2):
the chunks are read as the compact values of the id map the attribute file keeps
(pipeline/meshing_chunks.py Segmentation, formats/stores/idmap.py SavedIdMap), in
every worker process and on a Dask cluster alike, never numbered anew; an id the map
lacks is in no object; the meshes are byte for byte those of the same regions with
small ids.  A store of such ids whose attribute file keeps no map is refused."""

import os

import h5py
import numpy as np
import pytest

from chimerax.connectome.errors import InputError
from chimerax.connectome.formats import sidecar, stores
from chimerax.connectome.formats.stores import IdMap
from chimerax.connectome.pipeline import cluster, meshing
from chimerax.connectome.pipeline.meshing_chunks import Segmentation, segmentation_of
from chimerax.connectome.pipeline.survey import Survey
from test_meshing import ORIGIN, SHAPE, SIDE, STEP, neuropil

BIG = 2 ** 40 + 12345


def files(folder):
    return {n: open(os.path.join(folder, n), 'rb').read() for n in sorted(os.listdir(folder))}


def write_store(path, labels):
    """A precomputed store written by tensorstore (chunks 32 x 32 x 16 x,y,z)."""
    import tensorstore as ts
    t = ts.open({'driver': 'neuroglancer_precomputed',
                 'kvstore': {'driver': 'file', 'path': str(path) + '/'},
                 'multiscale_metadata': {'type': 'segmentation',
                                         'data_type': labels.dtype.name, 'num_channels': 1},
                 'scale_metadata': {'size': list(labels.shape[::-1]), 'resolution': list(STEP),
                                    'voxel_offset': [0, 0, 0], 'encoding': 'raw',
                                    'chunk_size': [32, 32, 16]}}, create=True).result()
    t[..., 0].T.write(labels).result()
    return str(path)


@pytest.fixture(scope='module')
def pair(tmp_path_factory):
    """The neuropil's regions as they are (an HDF5 map) and moved above 2^32 (a store),
    with the store's attribute file keeping a map in an order no reading gives (reversed)
    that names only the regions of an object: the background's ids are not in it."""
    root = tmp_path_factory.mktemp('ids64')
    labels, values = neuropil()
    small = str(root / 'small.h5')
    with h5py.File(small, 'w') as f:
        f.create_dataset('data', data=labels, chunks=(16, 16, 16))
    big = labels.astype(np.uint64)
    big[labels > 0] += np.uint64(BIG)
    store_path = write_store(root / 'big', big)
    store = stores.open_store(store_path)
    assert store.id_map is not None
    attributes = sidecar.create(sidecar.default_path(store), store)
    named = np.flatnonzero(values)[::-1]            # regions of an object, reversed
    ids = np.concatenate([[0], named.astype(np.uint64) + np.uint64(BIG)])
    sidecar.save_ids(attributes, ids)
    compact = np.zeros(len(ids), values.dtype)
    compact[1:] = values[named]
    assert ((labels > 0) & (values[labels] == 0)).any()    # voxel ids the map lacks
    return dict(root=root, labels=labels, values=values, compact=compact,
                small=Segmentation(small, SHAPE, ORIGIN, STEP, dataset='data'),
                attributes=attributes, store=store_path, ids=ids)


def run(seg, values, out, **kw):
    job = meshing.MeshJob(seg, 'neuron', None, out, lods=3, side=SIDE)
    return meshing.make_meshes(job, values, **kw)


def test_the_chunks_read_the_saved_values_and_an_id_not_in_the_map_as_no_object(pair):
    seg = segmentation_of(Survey(pair['attributes']), ORIGIN, STEP)
    assert seg.id_map_file == pair['attributes'] and seg.id_values == len(pair['ids'])
    got = seg.read((0, 0, 0), SHAPE)
    ids = pair['ids']
    labels = pair['labels']
    want = IdMap(ids).known_values(np.where(labels > 0, labels.astype(np.uint64) + np.uint64(BIG),
                                            0))
    want = np.where(want < 0, 0, want).reshape(SHAPE)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.uint32
    # Every region of an object has its saved value; the background's read as 0.
    inside = pair['values'][labels] > 0
    np.testing.assert_array_equal(ids[got[inside]] - np.uint64(BIG), labels[inside])
    assert not got[~inside].any()


def test_meshes_of_ids_above_2_32_are_those_of_small_ids(pair, tmp_path):
    seg = segmentation_of(Survey(pair['attributes']), ORIGIN, STEP)
    run(pair['small'], pair['values'], str(tmp_path / 'small'), workers=2)
    run(seg, pair['compact'], str(tmp_path / 'big'), workers=2)
    made = files(str(tmp_path / 'small'))
    assert len(made) > 3 and files(str(tmp_path / 'big')) == made
    # Object ids, not region ids: the class's (7 and 9 here).
    assert sorted(n for n in made if n.isdigit()) == ['7', '9']
    # A class array shorter than the map (values given after it was written: no
    # object), and a Dask cluster's workers, each reading the map themselves.
    shorter = pair['compact'][:int(np.flatnonzero(pair['compact'])[-1]) + 1]
    run(seg, shorter, str(tmp_path / 'cluster'), scheduler=cluster.Scheduler('local 2'))
    assert files(str(tmp_path / 'cluster')) == made


def test_a_store_above_2_32_whose_attributes_keep_no_map_is_refused(pair, tmp_path):
    import shutil
    store_path = str(tmp_path / 'big')
    shutil.copytree(pair['store'], store_path)
    store = stores.open_store(store_path)
    path = sidecar.create(sidecar.default_path(store), store)
    with pytest.raises(InputError, match='above 2\\^32.*keeps no id map'):
        segmentation_of(Survey(path))


def test_a_saved_map_gives_its_values_and_adds_none():
    from chimerax.connectome.formats.stores.idmap import SavedIdMap
    rng = np.random.default_rng(4)
    ids = np.zeros(5001, np.uint64)
    ids[1:] = rng.choice(2 ** 62, 5000, replace=False).astype(np.uint64) + np.uint64(2 ** 62)
    saved = SavedIdMap(ids, where='x.h5')
    lacking = rng.choice(2 ** 40, 300, replace=False).astype(np.uint64) + np.uint64(1)
    block = np.concatenate([ids, lacking])[rng.integers(0, 5301, (20, 30, 40))]
    want = IdMap(ids).known_values(block).reshape(block.shape)
    got = saved.values(block.copy(), missing=7)
    np.testing.assert_array_equal(got, np.where(want < 0, 7, want))
    assert got.dtype == np.uint32 and (want < 0).any() and len(saved) == 5001
    with pytest.raises(InputError, match='x.h5: a saved id map lists an id twice'):
        SavedIdMap(np.concatenate([ids, ids[-1:]]), where='x.h5')
    with pytest.raises(InputError, match='must start with id 0'):
        SavedIdMap(ids[1:], where='x.h5')


def test_a_map_changed_under_a_run_is_refused_and_its_chunks_not_kept(pair, tmp_path):
    """The chunks depend on the saved map (the work folder's parameters name its digest),
    and a worker finding another map than the run started with refuses to read."""
    import shutil
    store_path = str(tmp_path / 'big')
    shutil.copytree(pair['store'], store_path)
    store = stores.open_store(store_path)
    path = sidecar.create(sidecar.default_path(store), store)
    sidecar.save_ids(path, pair['ids'])
    seg = segmentation_of(Survey(path), ORIGIN, STEP)
    job = meshing.MeshJob(seg, 'neuron', None, str(tmp_path / 'm'), side=SIDE)
    lookup = meshing.lookup_of(pair['compact'], None, seg.id_values)
    assert meshing.parameters_of(job, lookup)['id_map'] == seg.id_map_digest
    other = pair['ids'].copy()
    other[1:] = other[1:][::-1]
    with h5py.File(path, 'a') as f:
        f[sidecar.IDMAP]['id'] = other
    with pytest.raises(InputError, match='no longer keeps the id map'):
        seg.read((0, 0, 0), (8, 8, 8))
    again = segmentation_of(Survey(path), ORIGIN, STEP)
    assert again.id_map_digest != seg.id_map_digest
    assert meshing.parameters_of(meshing.MeshJob(again, 'neuron', None, job.output,
                                                 side=SIDE), lookup) != \
        meshing.parameters_of(job, lookup)
