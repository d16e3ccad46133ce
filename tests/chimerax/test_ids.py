"""`connectome ids` in real ChimeraX: the demo's object files (every format) become the
generator's ground-truth arrays, ChimeraX's own segmentation commands use them, bad input
leaves the segmentation file as it was."""

import hashlib
import shutil

import h5py
import numpy as np
import pytest

from chimerax.connectome.demo import CLASSES, generate_dataset, read_truth

STEMS = {'axon': 'axons', 'dendrite': 'dendrites', 'spinehead': 'spineheads',
         'neuron': 'neurons', 'presynapse': 'presynapses', 'postsynapse': 'postsynapses'}
LIME = (0, 255, 0, 255)


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    """A small demo dataset and its segmentation / EM maps combined by the real command."""
    from chimerax.core.commands import run
    session = _process_session
    root = tmp_path_factory.mktemp('ids')
    data = root / 'data'
    generate_dataset(data, size='small', seed=3)
    run(session, 'close session')
    for kind in ('segmentation', 'image'):
        run(session, 'connectome combine %s output %s missing zero voxelSize 11.24,11.24,28'
            ' open false' % (data / kind, root / (kind + '.cmap')))
    return dict(root=root, data=data, truth=read_truth(data),
                seg=root / 'segmentation.cmap', image=root / 'image.cmap')


def digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def fresh_copy(demo, tmp_path):
    path = tmp_path / 'seg.cmap'
    shutil.copy(demo['seg'], path)
    return path


def pairs(demo, suffix, classes=CLASSES):
    return ' '.join('%s %s' % (c, demo['data'] / 'objects' / (STEMS[c] + suffix))
                    for c in classes)


@pytest.mark.parametrize('suffix', ['.hdf5', '.mat', '.csv'])
def test_each_format_gives_the_truth(session, run, demo, tmp_path, suffix):
    seg = fresh_copy(demo, tmp_path)
    voxels = h5py.File(seg, 'r')['Chimera/image1/data_zyx'][()]
    arrays = run('connectome ids %s %s' % (seg, pairs(demo, suffix)))
    truth = demo['truth']
    with h5py.File(seg, 'r') as f:
        assert sorted(f['attributes']) == sorted(CLASSES)
        for c in CLASSES:
            written = f['attributes'][c]
            assert written.dtype == np.int32
            assert np.array_equal(written[()], truth[c]), c
            assert np.array_equal(arrays[c], truth[c])
        assert np.array_equal(f['Chimera/image1/data_zyx'][()], voxels)
    # ChimeraX's own reader finds each array by name, exactly once.
    v = run('open %s' % seg)[0]
    for c in CLASSES:
        assert np.array_equal(v.data.find_attribute(c), truth[c])


def test_log_lines_and_listing(session, run, demo, tmp_path):
    seg = fresh_copy(demo, tmp_path)
    from chimerax.core.logger import StringPlainTextLog
    silent = session.silent         # the test session drops info messages
    session.silent = False
    try:
        with StringPlainTextLog(session.logger) as log:
            run('connectome ids %s %s' % (seg, pairs(demo, '.hdf5', ['axon', 'spinehead'])))
            run('connectome ids %s' % seg)
            text = log.getvalue()
    finally:
        session.silent = silent
    truth = demo['truth']
    n_axons = len(np.unique(truth['axon'][truth['axon'] > 0]))
    assigned = int(np.count_nonzero(truth['axon']))
    assert ('axon: %d objects, %d regions assigned, %d regions in no object'
            % (n_axons, assigned, truth['maximum_region_id'] - assigned)) in text
    assert 'spinehead: ' in text and 'Attributes of %s' % seg in text
    assert 'axon: %d regions, %d objects' % (truth['maximum_region_id'], n_axons) in text


def test_open_model_colours_exactly_the_axon_voxels(session, run, demo, tmp_path):
    """After ids on the open model, `segmentation colors ... byAttribute axon` colours
    the voxels of axon regions, and only those (ChimeraX's own colour mapping)."""
    seg = fresh_copy(demo, tmp_path)
    em = run('open %s' % demo['image'])[0]
    sv = run('open %s' % seg)[0]
    # Colour once by axon from a stale attribute, then let ids replace it on the model.
    stale = np.zeros(demo['truth']['maximum_region_id'] + 1, np.int32)
    stale[1] = 1
    sv.axon = stale
    run('segmentation colors #2 lime map #1 byAttribute axon')
    run('connectome ids #2 %s' % pairs(demo, '.mat', ['axon', 'neuron']))
    run('segmentation colors #2 lime map #1 byAttribute axon')
    colors = em.mask_colors._segment_rgba           # per region id, as ChimeraX made it
    labels = sv.full_matrix()
    is_axon = demo['truth']['axon'][labels] > 0
    voxel_colors = colors[labels]
    lime = np.all(voxel_colors == LIME, axis=-1)
    assert is_axon.any() and (~is_axon).any()
    assert np.array_equal(lime, is_axon)
    # The same mapping colours a rendered plane: the map's colouring callback modulates
    # plane colours by these per-region colours.
    k = labels.shape[0] // 2
    plane = np.full((1,) + labels.shape[1:] + (4,), 200, np.uint8)
    region = ((0, 0, k), (labels.shape[2] - 1, labels.shape[1] - 1, k), (1, 1, 1))
    em.mask_colors(plane, region)
    plane = plane[0]
    axon_px = plane[is_axon[k]]
    other_px = plane[~is_axon[k] & (labels[k] > 0)]
    assert np.all(axon_px[:, 1] > 150) and np.all(axon_px[:, [0, 2]] < 10)
    assert np.all(other_px[:, 0] > 150)


def test_surfaces_where_neuron_1(session, run, demo, tmp_path):
    seg = fresh_copy(demo, tmp_path)
    run('connectome ids %s %s' % (seg, pairs(demo, '.csv', ['neuron'])))
    sv = run('open %s' % seg)[0]
    surfaces = run('segmentation surfaces #1 where neuron=1')
    assert len(surfaces) == 1
    s = surfaces[0]
    truth = demo['truth']['neuron']
    # Vertices lie on the boundary of neuron 1's regions: step half a voxel inward.
    points = s.vertices - 0.5 * min(sv.data.step) * s.normals
    ijk = np.rint(sv.data.xyz_to_ijk(points)).astype(int)
    labels = sv.full_matrix()
    inside = labels[ijk[:, 2], ijk[:, 1], ijk[:, 0]]
    assert np.mean(truth[inside] == 1) > 0.95
    assert len(s.vertices) > 100
    # Neuron 1 and the whole neuron class are different surfaces.
    every = run('segmentation surfaces #1 where neuron')
    assert len(every[0].vertices) > len(s.vertices) or len(np.unique(truth)) == 2


def test_existing_attribute_needs_replace(session, run, demo, tmp_path):
    from chimerax.core.errors import UserError
    seg = fresh_copy(demo, tmp_path)
    run('connectome ids %s %s' % (seg, pairs(demo, '.hdf5', ['axon'])))
    before = digest(seg)
    with pytest.raises(UserError, match='already has attribute axon.*replace true'):
        run('connectome ids %s %s' % (seg, pairs(demo, '.csv', ['axon'])))
    assert digest(seg) == before
    run('connectome ids %s %s replace true' % (seg, pairs(demo, '.csv', ['axon'])))
    assert np.array_equal(h5py.File(seg, 'r')['attributes/axon'][()], demo['truth']['axon'])


def _write_csv(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize('case', ['too large', 'negative', 'conflict', 'unreadable',
                                  'not integer', 'names a node', 'map property',
                                  'not a segmentation', 'several variables'])
def test_bad_input_names_the_file_and_changes_nothing(session, run, demo, tmp_path, case):
    from chimerax.core.errors import UserError
    seg = fresh_copy(demo, tmp_path)
    name = 'axon'
    maximum = demo['truth']['maximum_region_id']
    if case == 'too large':
        objects = _write_csv(tmp_path / 'big.csv', 'region_id,object_id\n5,1\n%d,2\n'
                             % (maximum + 1))
        words = ['big.csv', 'larger than', str(maximum)]
    elif case == 'negative':
        objects = _write_csv(tmp_path / 'neg.csv', 'region_id,object_id\n5,1\n-3,2\n')
        words = ['neg.csv', 'negative']
    elif case == 'conflict':
        objects = _write_csv(tmp_path / 'twice.csv', 'region_id,object_id\n5,1\n5,2\n7,2\n')
        words = ['twice.csv', 'region 5 in objects 1, 2', 'conflicts first or last']
    elif case == 'unreadable':
        objects = tmp_path / 'broken.hdf5'
        objects.write_bytes(open(demo['data'] / 'objects' / 'axons.hdf5', 'rb').read()[:600])
        words = ['broken.hdf5']
    elif case == 'not integer':
        objects = _write_csv(tmp_path / 'frac.csv', 'region_id,object_id\n5.5,1\n7,2\n')
        words = ['frac.csv']
    elif case == 'names a node':
        objects = demo['data'] / 'objects' / 'axons.hdf5'
        name = 'data_zyx'
        words = [str(seg), "'data_zyx' already names"]
    elif case == 'map property':
        objects = demo['data'] / 'objects' / 'axons.hdf5'
        name = 'surfaces'
        words = ["'surfaces'", 'map property']
    elif case == 'not a segmentation':
        from chimerax.map_data import ArrayGridData
        from chimerax.map_data.cmap.write_cmap import write_grid_as_chimera_map
        seg = tmp_path / 'density.cmap'         # a density map: float values
        write_grid_as_chimera_map(ArrayGridData(np.full((4, 5, 6), 0.5, np.float32)),
                                  str(seg), options={})
        objects = demo['data'] / 'objects' / 'axons.hdf5'
        words = [str(seg), 'not a segmentation']
    else:
        objects = tmp_path / 'two.hdf5'
        with h5py.File(objects, 'w') as f:
            f['a'] = np.arange(1, 10)
            f['b'] = np.arange(1, 10)
            f['c/x'] = np.arange(1, 5)
        words = ['two.hdf5']
    before = digest(seg)
    objects_before = digest(objects)
    with pytest.raises(UserError) as e:
        run('connectome ids %s %s %s' % (seg, name, objects))
    text = str(e.value)
    for w in words:
        assert w in text, text
    assert digest(seg) == before
    assert digest(objects) == objects_before


def test_attribute_file_of_a_map_model(session, run, demo, tmp_path):
    """The attribute file of an opened Chimera map is the map itself; a map ChimeraX
    looks up no attributes in has none, and naming it is an error a user can act on."""
    from chimerax.core.errors import UserError
    from chimerax.map import volume_from_grid_data
    from chimerax.map_data import ArrayGridData
    from chimerax.connectome.session.classes import attribute_file_of
    from chimerax.connectome.session.maps import segmentation_file
    seg = fresh_copy(demo, tmp_path)
    (v,) = run('open %s' % seg)
    found = attribute_file_of(v)
    assert found.path == str(seg) and found.exists and found.store is None
    file, models = segmentation_file(session, str(seg))
    assert file.same_file(found) and models == [v]
    plain = volume_from_grid_data(ArrayGridData(np.zeros((4, 4, 4), np.uint32)), session)
    assert attribute_file_of(plain) is None
    with pytest.raises(UserError, match='was not opened from a Chimera map'):
        run('connectome ids #%s' % plain.id_string)
