"""The demo generator (demo/) and the MAT writer (formats/matfile.py): the synthetic dataset matches its ground truth.

The tiles are stitched here in numpy and the region ids mapped through truth.hdf5's
per-class arrays; the resulting voxel sets must be the objects (samples inside them,
synapse partners touching, cells split only by the edge of the imaged region), and each
object file, in each of its three formats, must say exactly what truth says.
"""

import csv
import os
import subprocess
from concurrent.futures import Future

import h5py
import hdf5storage
import numpy as np
import pytest
from scipy import ndimage

from chimerax.connectome import demo as synthetic
from chimerax.connectome.demo import generator
from chimerax.connectome.formats import matfile as matlab
from chimerax.connectome.errors import InputError

CLASSES = synthetic.CLASSES
SIX = ndimage.generate_binary_structure(3, 1)


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp('synthetic') / 'small'
    lines = []
    summary = synthetic.generate_dataset(folder, 'small', seed=0,
                                         report=lambda m, final: lines.append((m, final)))
    return dict(folder=folder, summary=summary, lines=lines,
                truth=synthetic.read_truth(folder))


def stitch(folder, kind, truth):
    t = truth['tile_size']
    gx, gy, gz = truth['grid_shape']
    volume = np.zeros((gz * t, gy * t, gx * t), np.uint8 if kind == 'image' else np.uint32)
    for z, y, x in np.ndindex(gz, gy, gx):
        path = os.path.join(folder, kind, 'x%dy%dz%d.hdf5' % (x, y, z))
        if os.path.exists(path):
            with h5py.File(path, 'r') as f:
                volume[z * t:(z + 1) * t, y * t:(y + 1) * t, x * t:(x + 1) * t] = f['data'][()]
    return volume


@pytest.fixture(scope='module')
def volumes(small):
    truth = small['truth']
    image = stitch(small['folder'], 'image', truth)
    seg = stitch(small['folder'], 'segmentation', truth)
    (x0, y0, z0), (x1, y1, z1) = truth['extent']
    (nx0, ny0, _), (nx1, ny1, _) = truth['notch']
    z, y, x = np.ogrid[:seg.shape[0], :seg.shape[1], :seg.shape[2]]
    imaged = ((z >= z0) & (z < z1) & (y >= y0) & (y < y1) & (x >= x0) & (x < x1)
              & ~((x >= nx0) & (x < nx1) & (y >= ny0) & (y < ny1)))
    labels = {name: truth[name][seg] for name in CLASSES}
    return dict(image=image, seg=seg, imaged=imaged, labels=labels,
                border=imaged & ~ndimage.binary_erosion(imaged))


# ----------------------------------------------------------------------------
# Files and layout

def test_tiles_are_named_shaped_and_stored_like_the_originals(small):
    truth, folder = small['truth'], small['folder']
    t = truth['tile_size']
    layout = synthetic.dataset_layout('small')
    present = {synthetic.tile_name(p) for p in layout.present}
    absent = {tuple(p) for p in truth['absent_tiles']}
    assert absent == set(layout.absent) and absent
    gx, gy, gz = truth['grid_shape']
    assert len(present) + len(absent) == gx * gy * gz
    for kind in ('image', 'segmentation'):
        assert set(os.listdir(os.path.join(folder, kind))) == present
    for name in present:
        with h5py.File(os.path.join(folder, 'image', name), 'r') as f:
            assert list(f) == ['data']
            d = f['data']
            assert d.shape == (t, t, t) and d.dtype == np.uint8
            assert d.chunks is None and d.compression is None
        with h5py.File(os.path.join(folder, 'segmentation', name), 'r') as f:
            assert list(f) == ['data']
            d = f['data']
            assert d.shape == (t, t, t) and d.dtype == np.uint32
            assert d.chunks == (min(64, t),) * 3
            assert d.compression == 'gzip' and d.compression_opts == 4
    assert os.path.isfile(os.path.join(folder, 'README.txt'))


def test_imaged_region_is_not_a_box_and_zero_outside(small, volumes):
    truth = small['truth']
    t = truth['tile_size']
    start, stop = np.array(truth['extent'])
    # Like the original: starts inside the first tile, ends inside the last.
    assert np.all(start > 0) and np.all(stop % t != 0)
    assert np.all(stop <= np.array(truth['grid_shape']) * t)
    imaged = volumes['imaged']
    assert np.array_equal(volumes['image'] > 0, imaged)
    assert not volumes['seg'][~imaged].any()
    for x, y, z in truth['absent_tiles']:
        assert not imaged[z * t:(z + 1) * t, y * t:(y + 1) * t, x * t:(x + 1) * t].any()
    # Most of the imaged region is segmented (cells or glia), not all of it.
    fraction = np.count_nonzero(volumes['seg'][imaged]) / np.count_nonzero(imaged)
    assert 0.6 < fraction < 0.99


def test_layouts_of_all_sizes():
    for size, p in synthetic.SIZES.items():
        layout = synthetic.dataset_layout(size)
        t = layout.tile_size
        assert layout.absent and layout.present
        (x0, y0, _z0), (x1, y1, _z1) = layout.extent
        # A soma, with room around it, fits in the imaged region.
        assert 2 * p.soma_radius + 200 < min(x1 - x0, y1 - y0) * synthetic.VOXEL_SIZE[0]
    segmentation_bytes = {size: len(synthetic.dataset_layout(size).present)
                          * synthetic.dataset_layout(size).tile_size ** 3 * 4
                          for size in synthetic.SIZES}
    assert 0.4e9 < segmentation_bytes['medium'] < 0.8e9
    assert segmentation_bytes['large'] >= 2e9


# ----------------------------------------------------------------------------
# Regions and objects against the voxels

def test_region_ids_are_those_in_the_segmentation(small, volumes):
    truth = small['truth']
    present = np.unique(volumes['seg'])
    assert present[0] == 0
    assert np.array_equal(present[1:], truth['region_ids'])
    assert truth['maximum_region_id'] == present[-1]
    for name in CLASSES:
        assert len(truth[name]) == truth['maximum_region_id'] + 1
        assert truth[name].dtype == np.int32
    n = len(truth['region_ids'])
    assert 1000 < n < 10000                     # a few thousand regions
    # Numbered with gaps and not in spatial order, like a real segmentation.
    assert truth['maximum_region_id'] > 2 * n
    _, first = np.unique(volumes['seg'].ravel(), return_index=True)
    in_raster_order = volumes['seg'].ravel()[np.sort(first[1:])].astype(np.int64)
    rising = np.mean(np.diff(in_raster_order) > 0)
    assert 0.3 < rising < 0.7


def test_every_region_is_in_one_cell_and_classes_nest(small):
    truth = small['truth']
    regions = truth['region_ids']
    glia = truth['glia_region_ids']
    assert len(glia) and np.all(np.isin(glia, regions))
    in_any = np.zeros(truth['maximum_region_id'] + 1, bool)
    for name in CLASSES:
        a = truth[name]
        assert not a[glia].any(), name
        assert set(np.flatnonzero(a)) <= set(regions), name
        in_any |= a > 0
        # An object is part of one cell.
        for k in range(1, a.max() + 1):
            assert len(np.unique(truth['cell'][a == k])) == 1, (name, k)
        assert set(np.unique(a)) == set(range(a.max() + 1)), name    # ids 1..n, all used
    # Cells and glia are all segmented regions; glia are in no class.
    assert set(np.flatnonzero(in_any)) == set(regions) - set(glia)
    assert np.all(truth['cell'][regions] > 0)
    # A spine head is not dendrite; a bouton is axon; a postsynapse is a head or shaft.
    assert not np.any((truth['spinehead'] > 0) & (truth['dendrite'] > 0))
    assert np.all(truth['axon'][truth['presynapse'] > 0] > 0)
    post = truth['postsynapse'] > 0
    assert np.all((truth['spinehead'][post] > 0) | (truth['dendrite'][post] > 0))
    # Every spine head and dendrite of a neuron is in that neuron.
    neuron_cells = set(truth['cell'][truth['neuron'] > 0])
    for name in ('spinehead', 'dendrite'):
        of_neurons = np.isin(truth['cell'], list(neuron_cells)) & (truth[name] > 0)
        assert np.all(truth['neuron'][of_neurons] > 0)


def test_objects_are_the_voxel_sets_truth_describes(small, volumes):
    truth = small['truth']
    for name in CLASSES:
        labels = volumes['labels'][name]
        count = truth[name].max()
        assert count > 0, name
        voxels = np.bincount(labels.ravel(), minlength=count + 1)[1:]
        assert np.all(voxels > 0), name
        samples = truth['samples'][name]
        assert len(np.unique(samples[:, 0])) >= 0.8 * count, name
        for obj, x, y, z in samples:
            star = labels[z - 1:z + 2, y - 1:y + 2, x - 1:x + 2][SIX]
            assert np.all(star == obj), (name, obj, x, y, z)
    # Axons cross the volume and dendrite fragments enter it: each reaches its edge.
    border = volumes['border']
    axons = set(range(1, truth['axon'].max() + 1))
    assert axons <= set(np.unique(volumes['labels']['axon'][border]))
    fragments = set(np.unique(truth['dendrite'][truth['neuron'] == 0])) - {0}
    assert fragments and fragments <= set(np.unique(volumes['labels']['dendrite'][border]))
    # A neuron is one piece (its soma is inside the volume).
    for k in range(1, truth['neuron'].max() + 1):
        parts, n = ndimage.label(volumes['labels']['neuron'] == k, np.ones((3, 3, 3)))
        sizes = np.bincount(parts.ravel())[1:]
        assert sizes.max() > 0.95 * sizes.sum()


def test_synapse_partners_touch(small, volumes):
    truth = small['truth']
    synapses = truth['synapses']
    pre, post = volumes['labels']['presynapse'], volumes['labels']['postsynapse']
    assert len(synapses) == truth['presynapse'].max() == truth['postsynapse'].max() > 0
    for row in synapses:
        k = row['presynapse']
        assert row['postsynapse'] == k
        bouton = pre == k
        assert np.any(post[ndimage.binary_dilation(bouton, SIX)] == k)
        axon = volumes['labels']['axon'][bouton]
        assert np.all(axon == row['axon'])
        if row['kind'] == 1:
            assert np.all(volumes['labels']['spinehead'][post == k] == row['spinehead'])
        z, y, x = row['z'], row['y'], row['x']
        near = (slice(z - 2, z + 3), slice(y - 3, y + 4), slice(x - 3, x + 4))
        assert np.any(pre[near] == k) and np.any(post[near] == k)


def test_image_looks_like_em(small, volumes):
    truth, image, seg = small['truth'], volumes['image'], volumes['seg']
    cell = truth['cell'][seg]
    boundary = np.zeros(cell.shape, bool)
    for axis in range(3):
        differ = np.diff(cell, axis=axis) != 0
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        boundary[tuple(lo)] |= differ
        boundary[tuple(hi)] |= differ
    imaged = volumes['imaged']
    interior = ndimage.binary_erosion(~boundary, np.ones((3, 3, 3)), iterations=2)
    cytoplasm = image[interior & (cell > 0) & imaged].mean()
    membrane = image[boundary & (cell > 0) & imaged].mean()
    space = image[(seg == 0) & imaged].mean()
    assert membrane < cytoplasm - 40
    assert space < cytoplasm - 40
    # Noise: neighbouring cytoplasm voxels differ.
    assert image[interior & imaged].std() > 5


# ----------------------------------------------------------------------------
# Object files

def read_hdf5(path, name):
    """Per-class object lists (ids 1..N in order): /region_ids with /lengths."""
    with h5py.File(path, 'r') as f:
        assert sorted(f) == ['lengths', 'region_ids']
        ids = f['region_ids'][()]
        return np.split(ids, np.cumsum(f['lengths'][()])[:-1])


def struct_field(value, field):
    """A struct array's field as one array per element.  hdf5storage gives a 1 x N struct
    array object fields, but a 1 x 1 struct numeric fields of the value's shape."""
    column = value[field]
    if column.dtype == object:
        return [np.asarray(v) for v in column.ravel()]
    return list(column.reshape((value.size,) + column.shape[value.ndim:]))


def read_mat(path, name):
    value = hdf5storage.loadmat(str(path))[synthetic.FILE_STEMS[name]]
    assert value.shape[0] == 1
    for v in value[0]:
        assert v.dtype == np.float64 and v.ndim == 2 and v.shape[1] == 1
    return [v.ravel() for v in value[0]]


def read_csv(path, name):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['region_id', 'object_id']
    pairs = np.array(rows[1:], np.int64).reshape(-1, 2)
    return [pairs[pairs[:, 1] == k, 0] for k in range(1, pairs[:, 1].max() + 1)]


def per_region(objects, size):
    a = np.zeros(size, np.int32)
    for k, regions in enumerate(objects, start=1):
        regions = np.asarray(regions).astype(np.int64)
        assert len(regions) and not a[regions].any()       # no region in two objects
        a[regions] = k
    return a


@pytest.mark.parametrize('reader,suffix', [(read_hdf5, '.hdf5'), (read_mat, '.mat'),
                                           (read_csv, '.csv')])
def test_object_files_say_what_truth_says(small, reader, suffix):
    truth = small['truth']
    size = truth['maximum_region_id'] + 1
    for name in CLASSES:
        path = small['folder'] / 'objects' / (synthetic.FILE_STEMS[name] + suffix)
        objects = reader(path, name)
        assert len(objects) == truth[name].max(), name
        assert np.array_equal(per_region(objects, size), truth[name]), name


def test_mat_files_are_matlab_v73(small):
    for name in CLASSES:
        path = small['folder'] / 'objects' / (synthetic.FILE_STEMS[name] + '.mat')
        with open(path, 'rb') as f:
            header = f.read(128)
        assert header.startswith(b'MATLAB 7.3 MAT-file') and header[124:128] == b'\x00\x02IM'
        with h5py.File(path, 'r') as f:
            assert f.userblock_size == 512
            stem = synthetic.FILE_STEMS[name]
            assert f[stem].attrs['MATLAB_class'] == b'cell'
    other = small['folder'] / 'objects' / 'other-layouts'
    dendrites = hdf5storage.loadmat(str(other / 'dendrites-struct.mat'))['dendrites']
    assert dendrites.dtype.names[0] == 'segIds'
    assert [np.asarray(v).item() for v in struct_field(dendrites, 'id')] == list(
        range(1, dendrites.size + 1))
    neurons = hdf5storage.loadmat(str(other / 'neurons-struct.mat'))['neurons']
    soma = struct_field(neurons, 'somaPosition')[0].ravel().astype(int) - 1
    x, y, z = soma
    seg = stitch(small['folder'], 'segmentation', small['truth'])
    assert small['truth']['neuron'][seg[z, y, x]] == 1


def test_matlab_writer_round_trip(tmp_path):
    path = tmp_path / 'v.mat'
    m = np.arange(6.0).reshape(2, 3)
    matlab.write_mat(path, {
        'c': matlab.Cell([np.array([1.0, 2.0, 3.0]), np.zeros(0), m]),
        's': matlab.StructArray([{'segIds': np.array([4.0]), 'n': 1.0},
                                 {'segIds': np.array([5.0, 6.0]), 'n': 2.0}]),
        'one': matlab.StructArray([{'segIds': np.array([7.0, 8.0])}]),
        'm': m, 'u': np.arange(3, dtype=np.uint32), 'flag': np.array([True, False]),
    })
    d = hdf5storage.loadmat(str(path))
    assert d['c'].shape == (1, 3)
    assert np.array_equal(d['c'][0, 0], [[1.0], [2.0], [3.0]])
    # An empty column is 0 x 1; hdf5storage 0.1 reads an empty's dimensions reversed (its
    # issue 114), 0.2 (the numpy 2 venv) as MATLAB does.
    assert d['c'][0, 1].shape == ((1, 0) if hdf5storage.__version__.startswith('0.1.')
                                  else (0, 1))
    assert np.array_equal(d['c'][0, 2], m)
    assert np.array_equal(d['m'], m)
    assert d['u'].dtype == np.uint32 and np.array_equal(d['u'], [[0], [1], [2]])
    assert d['flag'].dtype == np.bool_ and np.array_equal(d['flag'].ravel(), [True, False])
    assert d['s'].shape == (1, 2)
    assert np.array_equal(struct_field(d['s'], 'segIds')[1].ravel(), [5.0, 6.0])
    assert np.asarray(struct_field(d['s'], 'n')[1]).item() == 2.0
    assert np.array_equal(struct_field(d['one'], 'segIds')[0].ravel(), [7.0, 8.0])
    with h5py.File(path, 'r') as f:
        # MATLAB's transposition: a 2 x 3 array is stored 3 x 2.
        assert f['m'].shape == (3, 2)
        assert f['#refs#/a'].attrs['MATLAB_class'] == b'canonical empty'
        empty = f[f['c'][1, 0]]
        assert empty.attrs['MATLAB_empty'] == 1 and empty[()].tolist() == [0, 1]


# ----------------------------------------------------------------------------
# Determinism, folders, progress

def test_same_seed_same_dataset_other_seed_differs(small, tmp_path):
    again = tmp_path / 'again'
    synthetic.generate_dataset(again, 'small', seed=0)
    truth = small['truth']
    for kind in ('image', 'segmentation'):
        assert np.array_equal(stitch(again, kind, truth), stitch(small['folder'], kind, truth))
    other_truth = synthetic.read_truth(again)
    for name in CLASSES + ('region_ids', 'cell', 'synapses'):
        assert np.array_equal(other_truth[name], truth[name]), name
    for stem in sorted(os.listdir(small['folder'] / 'objects')):
        if stem.endswith('.csv'):
            assert ((again / 'objects' / stem).read_text()
                    == (small['folder'] / 'objects' / stem).read_text())
    other = tmp_path / 'other'
    synthetic.generate_dataset(other, 'small', seed=1)
    assert not np.array_equal(stitch(other, 'segmentation', truth),
                              stitch(small['folder'], 'segmentation', truth))
    assert synthetic.read_truth(other)['maximum_region_id'] != truth['maximum_region_id']


def test_the_order_tiles_finish_in_changes_nothing(small, tmp_path, monkeypatch):
    """Tiles finish in whatever order the threads take: here in the reverse of the order
    they were given (a stand-in pool that runs each job when submitted and hands them
    back last first), which must write the same dataset as the run in the fixture."""
    class Pool:
        def __init__(self, *args, **kw):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, function, *args):
            future = Future()
            future.set_result(function(*args))
            future.order = next(counter)
            return future

    def last_first(futures, return_when=None):
        latest = max(futures, key=lambda f: f.order)
        return {latest}, set(futures) - {latest}
    counter = iter(range(10 ** 6))
    monkeypatch.setattr(generator, 'ThreadPoolExecutor', Pool)
    monkeypatch.setattr(generator, 'wait', last_first)
    monkeypatch.setattr(generator, 'available_cores', lambda: 4)
    again = tmp_path / 'again'
    synthetic.generate_dataset(again, 'small', seed=0)
    for name in ('truth.hdf5', os.path.join('objects', 'authors', 'segments.hdf5')):
        with h5py.File(small['folder'] / name, 'r') as a, h5py.File(again / name, 'r') as b:
            names = []
            a.visit(names.append)
            for key in names:
                if isinstance(a[key], h5py.Dataset):
                    x, y = a[key][()], b[key][()]
                    assert np.array_equal(x, y, equal_nan=np.asarray(x).dtype.kind == 'f'), \
                        (name, key)


def test_summary_and_progress(small):
    summary, truth, folder = small['summary'], small['truth'], small['folder']
    assert summary.tiles == len(os.listdir(folder / 'segmentation'))
    assert summary.absent_tiles == len(truth['absent_tiles'])
    assert summary.regions == len(truth['region_ids'])
    assert summary.maximum_region_id == truth['maximum_region_id']
    assert summary.objects == {name: int(truth[name].max()) for name in CLASSES}
    assert summary.synapses == len(truth['synapses'])
    on_disk = sum(os.path.getsize(os.path.join(d, f))
                  for d, _, files in os.walk(folder) for f in files)
    assert summary.bytes == on_disk
    assert summary.seconds > 0
    lines = small['lines']
    assert lines[-1] == (summary.message, True)
    assert all(not final and 'tiles' in m for m, final in lines[:-1])
    assert str(folder) in summary.message and '%d regions' % summary.regions in (
        summary.message)


def test_existing_folder_needs_replace(tmp_path):
    folder = tmp_path / 'data'
    folder.mkdir()
    (folder / 'keep.txt').write_text('mine')
    with pytest.raises(InputError) as e:
        synthetic.generate_dataset(folder, 'small')
    assert str(folder) in str(e.value) and 'replace' in str(e.value)
    assert os.listdir(folder) == ['keep.txt']
    synthetic.generate_dataset(folder, 'small', seed=2, replace=True)
    assert not (folder / 'keep.txt').exists()
    assert synthetic.read_truth(folder)['seed'] == 2
    assert os.listdir(tmp_path) == ['data']             # nothing left beside it
    empty = tmp_path / 'empty'
    empty.mkdir()
    synthetic.generate_dataset(empty, 'small')
    assert (empty / 'truth.hdf5').is_file()


class Interrupted(Exception):
    pass


def test_interrupted_run_leaves_nothing(tmp_path):
    def report(message, final):
        raise Interrupted(message)
    with pytest.raises(Interrupted):
        synthetic.generate_dataset(tmp_path / 'new', 'small', report=report)
    assert os.listdir(tmp_path) == []
    kept = tmp_path / 'kept'
    kept.mkdir()
    (kept / 'old.txt').write_text('old')
    with pytest.raises(Interrupted):
        synthetic.generate_dataset(kept, 'small', report=report, replace=True)
    assert os.listdir(tmp_path) == ['kept'] and os.listdir(kept) == ['old.txt']


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError, match='size'):
        synthetic.generate_dataset(tmp_path / 'a', 'huge')
    with pytest.raises(InputError, match='seed'):
        synthetic.generate_dataset(tmp_path / 'a', 'small', seed=-1)
    (tmp_path / 'file').write_text('x')
    with pytest.raises(InputError, match='not a folder'):
        synthetic.generate_dataset(tmp_path / 'file', 'small')
    with pytest.raises(InputError, match='truth.hdf5'):
        synthetic.read_truth(tmp_path)


def test_folders_like_a_leftover_are_kept(tmp_path):
    """Only what a run of this bundle made and recorded is cleared, never a user's folder
    that looks like it."""
    dead = subprocess.Popen(['true'])
    dead.wait()
    mine = ['.data.partial-%d-abc' % dead.pid, '.data.old-%d-2019' % dead.pid,
            '.data.2019.backup']
    for name in mine:
        (tmp_path / name).mkdir()
        (tmp_path / name / 'notes.txt').write_text('mine')
    lines = []
    synthetic.generate_dataset(tmp_path / 'data', 'small',
                               report=lambda m, final: lines.append(m))
    assert not [m for m in lines if m.startswith('Removed')]
    assert sorted(os.listdir(tmp_path)) == sorted(mine + ['data'])
