"""The authors' object files in real ChimeraX: `connectome ids SEG FOLDER` and the pairs
the seed names give the demo's ground truth for every attribute, the neuronId misread is
refused, bad input leaves the segmentation as it was, colouring by category names and
by a number renders the right colours on the right voxels with a key, and the panel
lists the categories by name."""

import hashlib
import os
import shutil

import h5py
import numpy as np
import pytest
from scipy import ndimage

import h5lies
import killpoints
from segfixtures import LogCapture, combined_demo, settings, window_xy  # noqa: F401
from chimerax.connectome.pipeline.attributefile import AttributeFile
from chimerax.connectome.demo import read_authors_truth, read_truth

# What the FOLDER form writes, and their types.
ATTRIBUTES = ('axon', 'dendrite', 'spinehead', 'neuron', 'presynapse', 'postsynapse',
              'axonclass', 'dendriteclass', 'synapsetype', 'spineheadvolume', 'asiarea')
SEED_PAIRS = (('axon', 'axons'), ('dendrite', 'dendrites'), ('spinehead', 'dendrites'),
              ('neuron', 'dendrites'), ('presynapse', 'synapses'),
              ('postsynapse', 'synapses'), ('axonclass', 'axons'),
              ('dendriteclass', 'dendrites'))


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    root = tmp_path_factory.mktemp('authors')
    data = combined_demo(_process_session, root, seed=3)
    return dict(root=root, folder=data / 'objects' / 'authors', truth=read_truth(data),
                expected=read_authors_truth(data), seg=root / 'segmentation.cmap',
                image=root / 'image.cmap')


def digest(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def fresh(demo, tmp_path):
    path = tmp_path / 'seg.cmap'
    shutil.copy(demo['seg'], path)
    return path


def check_written(path, expected, names):
    with h5py.File(path, 'r') as f:
        for name in names:
            written = f['attributes'][name]
            want = expected['objects'][name]
            if want.dtype.kind == 'f':
                assert written.dtype == np.float32
                assert np.array_equal(written[()], want, equal_nan=True), name
            else:
                assert written.dtype == np.int32
                assert np.array_equal(written[()], want), name


def test_folder_form_gives_the_truth(session, run, demo, tmp_path):
    seg = fresh(demo, tmp_path)
    voxels = h5py.File(seg, 'r')['Chimera/image1/data_zyx'][()]
    with LogCapture(session) as log:
        arrays = run('connectome ids %s %s' % (seg, demo['folder']))
    assert sorted(arrays) == sorted(ATTRIBUTES)
    check_written(seg, demo['expected'], ATTRIBUTES)
    with h5py.File(seg, 'r') as f:
        assert np.array_equal(f['Chimera/image1/data_zyx'][()], voxels)
        names = [c.name for c in AttributeFile(seg).info()['dendriteclass'].categories]
        assert names == list(demo['expected']['dendrite_classes'])
    # The log says how many regions are on several synapses.
    assert 'presynapse: ' in log.text and '(the lowest id kept)' in log.text
    # ChimeraX's own reader finds each object array by name, exactly once.
    v = run('open %s' % seg)[0]
    for name in ('axon', 'neuron', 'presynapse', 'axonclass', 'dendriteclass'):
        assert np.array_equal(v.data.find_attribute(name), demo['expected']['objects'][name])


def test_ctrl_c_once_writing_has_begun_writes_everything(session, run, demo, tmp_path,
                                                        monkeypatch):
    """Ctrl-C is a clean stop while the files are read; once the first array is in the
    file the others follow, so the file never holds part of a run."""
    from chimerax.connectome.pipeline import attributefile
    seg = fresh(demo, tmp_path)
    swap = attributefile._swap_in
    interrupted = []

    def swap_in(*args, **kw):
        if not interrupted:
            interrupted.append(True)
            killpoints.ctrl_c()                     # the user's Ctrl-C, while writing
        return swap(*args, **kw)
    monkeypatch.setattr(attributefile, '_swap_in', swap_in)
    with killpoints.ctrl_c_enabled():
        arrays = run('connectome ids %s %s' % (seg, demo['folder']))
    assert interrupted and sorted(arrays) == sorted(ATTRIBUTES)
    check_written(seg, demo['expected'], ATTRIBUTES)
    with h5py.File(seg, 'r') as f:
        assert '.connectome' in f['attributes']


def test_folder_form_on_an_open_model_with_an_absolute_path(session, run, demo, tmp_path):
    """`#2 /abs/folder`: the folder is not read as a chain of model #2."""
    seg = fresh(demo, tmp_path)
    (v,) = run('open %s' % seg)
    assert str(demo['folder']).startswith('/')
    run('connectome ids #%s %s' % (v.id_string, demo['folder']))
    check_written(seg, demo['expected'], ATTRIBUTES)


def test_pairs_the_way_the_seed_names_them(session, run, demo, tmp_path):
    seg = fresh(demo, tmp_path)
    pairs = ' '.join('%s %s' % (name, demo['folder'] / (stem + '.hdf5'))
                     for name, stem in SEED_PAIRS)
    run('connectome ids %s %s' % (seg, pairs))
    check_written(seg, demo['expected'], [n for n, _ in SEED_PAIRS])


def test_file_path_pairs_with_via(session, run, demo, tmp_path):
    seg = fresh(demo, tmp_path)
    d = demo['folder'] / 'dendrites.hdf5'
    run('connectome ids %s dendrite %s:/dendrites/agglomerate neuron %s:/dendrites/neuronId'
        ' via dendrite' % (seg, d, d))
    check_written(seg, demo['expected'], ['dendrite', 'neuron'])


def test_neuron_id_misread_is_refused(session, run, demo, tmp_path):
    from chimerax.core.errors import UserError
    seg = fresh(demo, tmp_path)
    before = digest(seg)
    d = demo['folder'] / 'dendrites.hdf5'
    for command in ('connectome ids %s neuron %s variable /dendrites/neuronId' % (seg, d),
                    'connectome ids %s neuron %s:/dendrites/neuronId' % (seg, d)):
        with pytest.raises(UserError) as e:
            run(command)
        text = str(e.value)
        for w in ('dendrites.hdf5', '/dendrites/neuronId', 'one value per dendrite',
                  'via dendrite'):
            assert w in text, text
    assert digest(seg) == before


@pytest.mark.parametrize('case', ['no files', 'truncated', 'neuronId too short',
                                  'codes without names', 'foreign', 'spine head past int32',
                                  'datatype size 0'])
def test_bad_input_leaves_the_segmentation_as_it_was(session, run, demo, tmp_path, case):
    from chimerax.core.errors import UserError
    seg = fresh(demo, tmp_path)
    folder = tmp_path / 'authors'
    shutil.copytree(demo['folder'], folder)
    if case == 'no files':
        for n in os.listdir(folder):
            os.remove(folder / n)
        words = [str(folder), 'axons.hdf5']
    elif case == 'truncated':
        data = (folder / 'synapses.hdf5').read_bytes()
        (folder / 'synapses.hdf5').write_bytes(data[:len(data) * 2 // 3])
        words = ['synapses.hdf5']
    elif case == 'neuronId too short':
        with h5py.File(folder / 'dendrites.hdf5', 'r+') as f:
            v = f['/dendrites/neuronId'][()]
            del f['/dendrites/neuronId']
            f['/dendrites/neuronId'] = v[:1]
        words = ['dendrites.hdf5 /dendrites/neuronId', 'holds 1 values']
    elif case == 'codes without names':
        with h5py.File(folder / 'axons.hdf5', 'r+') as f:
            for name in list(f['/axons/class'].attrs):
                del f['/axons/class'].attrs[name]
        words = ['axons.hdf5 /axons/class', 'have no name']
    elif case == 'spine head past int32':
        # 2^32 + 3, which int32 would keep as spine head 3
        with h5py.File(folder / 'synapses.hdf5', 'r+') as f:
            n = f['/synapses/type'].shape[0]
            ids = np.zeros(n, np.uint64)
            ids[n // 2] = 4294967299
            if '/synapses/postSpineHeadId' in f:
                del f['/synapses/postSpineHeadId']
            f['/synapses/postSpineHeadId'] = ids
        words = ['synapses.hdf5: /synapses/postSpineHeadId holds 4294967299 at position %d'
                 % (n // 2 + 1)]
    elif case == 'datatype size 0':
        h5lies.lie(str(folder / 'axons.hdf5'), '/axons/agglomerate/2', 'type_size', 0)
        words = ['axons.hdf5 /axons/agglomerate/2 cannot be read', 'invalid datatype size']
    else:
        os.remove(folder / 'axons.hdf5')
        with h5py.File(folder / 'axons.hdf5', 'w') as f:
            f['region_ids'] = np.arange(1, 5)
        words = ['axons.hdf5']
    before = digest(seg)
    with pytest.raises(UserError) as e:
        run('connectome ids %s %s' % (seg, folder))
    for w in words:
        assert w in str(e.value), str(e.value)
    assert digest(seg) == before


def test_fractional_skeleton_edges_are_refused(session, run, demo, tmp_path):
    from chimerax.core.errors import UserError
    seg = fresh(demo, tmp_path)
    folder = tmp_path / 'authors'
    shutil.copytree(demo['folder'], folder)
    run('connectome ids %s %s' % (seg, folder))
    with h5py.File(folder / 'axons.hdf5', 'r+') as f:
        edges = f['/axons/skeleton/1/edges'][()].astype(np.float64)
        edges[:, 0] += 0.5                  # 1.5 -> 2.5 was drawn as node 1 -> 2
        del f['/axons/skeleton/1/edges']
        f['/axons/skeleton/1/edges'] = edges
    with pytest.raises(UserError, match=r'axons.hdf5: /axons/skeleton/1/edges holds '
                                        r'[0-9]+\.5, not a node index'):
        run('connectome skeletons %s axon 1' % seg)


def test_a_hundred_thousand_category_names(session, run, demo, tmp_path):
    # HDF5 attributes must fit in an object header: "object header message is too large"
    seg = fresh(demo, tmp_path)
    run('connectome ids %s axon %s' % (seg, demo['folder'] / 'axons.hdf5'))
    classes = tmp_path / 'classes.h5'
    with h5py.File(demo['folder'] / 'axons.hdf5', 'r') as f:
        count = f['/axons/class'].shape[0]
    with h5py.File(classes, 'w', libver='latest') as f:
        ds = f.create_dataset('/axons/class', data=np.arange(count, dtype=np.uint32) + 1)
        for k in range(1, 100001):
            ds.attrs['class %d' % k] = np.uint32(k)
    with LogCapture(session) as log:
        run('connectome ids %s axonclass %s:/axons/class via axon' % (seg, classes))
    assert 'class 30 1 and 99970 more categories' in log.text and len(log.text) < 5000
    categories = AttributeFile(seg).info()['axonclass'].categories
    assert len(categories) == 100000
    assert categories[count - 1] == ('class %d' % count, count, 1)
    assert categories[count] == ('class %d' % (count + 1), count + 1, 0)


# ---------------------------------------------------------------------------------------
# Colouring by category names and by a number: the right colours on the right voxels

@pytest.fixture
def colored(session, run, demo, tmp_path):
    """The maps with every attribute, one z plane shown where the attribute has most
    regions: (em, seg, labels, plane)."""
    seg_path = fresh(demo, tmp_path)
    run('connectome ids %s %s' % (seg_path, demo['folder']))
    em = run('open %s' % demo['image'])[0]
    seg = run('open %s' % seg_path)[0]
    return em, seg, seg.full_matrix()


def show_plane(run, em, k):
    nx, ny, _ = em.data.size
    # wait 1: one frame drawn, as the app draws after each command; the frame that
    # first draws new image levels can still show the old ones.
    run('volume #2 hide; volume #1 style image region 0,0,%d,%d,%d,%d colorMode auto8'
        ' level 0,0 level 255,1; view; lighting flat; camera ortho; wait 1'
        % (k, nx - 1, ny - 1, k))


def frame(session):
    return session.main_view.image_rgba()[::-1].astype(np.int64)   # top row first


def pixels_of(session, em, mask2d, k, limit=60):
    """Window pixels at voxels inside a 2-D mask of plane k (2 voxels in from its edge),
    on the window."""
    inner = ndimage.binary_erosion(mask2d, iterations=2)
    ys, xs = np.nonzero(inner)
    w, h = session.main_view.window_size
    out = []
    for x, y in list(zip(xs, ys))[::max(1, len(xs) // limit)]:
        xyz = em.data.ijk_to_xyz((x, y, k))
        px, py = window_xy(session, xyz)
        if 0 <= px < w and 0 <= py < h:
            out.append((px, py))
    return out


def expect_modulated(grey, colored, pixels, rgb):
    """Coloured pixels are the uncoloured grey times the colour (ChimeraX modulates)."""
    for px, py in pixels:
        want = grey[py, px, :3] * np.array(rgb) / 255.0
        assert np.all(np.abs(colored[py, px, :3] - want) <= 12), (px, py, colored[py, px],
                                                                   want)


def test_color_by_category_names(session, run, demo, colored):
    em, seg, labels = colored
    codes = demo['expected']['objects']['dendriteclass']
    names = demo['expected']['dendrite_classes']
    # The plane where most categories have voxels well inside them.
    inner = [[ndimage.binary_erosion(codes[labels[z]] == c, iterations=3).any()
              for c in range(1, len(names) + 1)] for z in range(labels.shape[0])]
    k = int(np.argmax([sum(row) for row in inner]))
    show_plane(run, em, k)
    grey = frame(session)
    chosen = {'soma': (255, 0, 0), 'apicaldendrite': (0, 255, 0),
              'otherdendrite': (0, 0, 255), 'smoothdendrite': (255, 255, 0)}
    command = ('connectome color #2 dendriteclass soma red apicaldendrite lime'
               ' otherdendrite blue smoothdendrite yellow')
    run(command)
    image = frame(session)
    plane = codes[labels[k]]
    checked = []
    for name, rgb in list(chosen.items()) + [('proximaldendrite', (255, 255, 255))]:
        code = names.index(name) + 1
        pixels = pixels_of(session, em, plane == code, k)
        expect_modulated(grey, image, pixels, rgb)
        if pixels:
            checked.append(name)
    # Regions in no dendrite keep their grey.
    expect_modulated(grey, image, pixels_of(session, em, (plane == 0) & (labels[k] > 0), k),
                     (255, 255, 255))
    assert len([n for n in checked if n in chosen]) >= 3, checked
    # The key: ChimeraX's colour key model and a 2D label title, drawn in the lower
    # left with the colours.
    with LogCapture(session) as log:
        run(command + ' key true')
    assert any(c.startswith('key ') for c in log.commands)
    assert any(c.startswith('2dlabels create connectome_key text dendriteclass')
               for c in log.commands)
    from chimerax.color_key.model import ColorKeyModel
    assert [m for m in session.models.list() if isinstance(m, ColorKeyModel)]
    image = frame(session)
    w, h = session.main_view.window_size
    corner = image[int(0.5 * h):, :int(0.1 * w), :3]
    for rgb in chosen.values():
        near = np.all(np.abs(corner - np.array(rgb)) < 40, axis=-1)
        assert near.sum() > 20, rgb


def test_color_by_a_number_with_a_ramp(session, run, demo, colored):
    from chimerax.core.colors import Color, Colormap
    from chimerax.connectome.commands.color import VIRIDIS
    em, seg, labels = colored
    volume = demo['expected']['objects']['spineheadvolume']
    per_plane = (~np.isnan(volume[labels])).sum(axis=(1, 2))
    k = int(np.argmax(per_plane))
    show_plane(run, em, k)
    grey = frame(session)
    known = volume[~np.isnan(volume)][1:] if np.isnan(volume[0]) else volume
    lo, hi = (float(v) for v in np.percentile(volume[~np.isnan(volume)], (2, 98)))
    run('connectome color #2 spineheadvolume')
    image = frame(session)
    ramp = Colormap(None, [Color(c) for c in VIRIDIS.split(':')])
    plane = labels[k]
    regions = [r for r in np.unique(plane) if r and not np.isnan(volume[r])]
    assert len(regions) >= 2 and known.size
    checked = 0
    for r in regions:
        f = np.clip((volume[r] - lo) / (hi - lo), 0, 1)
        rgb = ramp.interpolated_rgba8(np.array([f], np.float32))[0][:3]
        pixels = pixels_of(session, em, plane == r, k)
        expect_modulated(grey, image, pixels, rgb)
        checked += len(pixels)
    assert checked > 10
    # Explicit palette and range, logged as given.
    with LogCapture(session) as log:
        run('connectome color #2 spineheadvolume palette ylorrd range 0,0.02')
    assert log.commands[0] == 'connectome color #2 spineheadvolume palette ylorrd range 0,0.02'


def test_at_names_categories_and_numbers(session, run, demo, colored):
    em, seg, labels = colored
    objects = demo['expected']['objects']
    for name, kind in (('dendriteclass', 'category'), ('spineheadvolume', 'number')):
        mask = (objects[name][labels] == 1) if kind == 'category' else \
            ~np.isnan(objects[name][labels])
        z, y, x = np.argwhere(ndimage.binary_erosion(mask, iterations=1))[0]
        region = int(labels[z, y, x])
        with LogCapture(session) as log:
            found = run('connectome at %g,%g,%g' % tuple(seg.data.ijk_to_xyz((x, y, z))))
        assert found['region'] == region
        if kind == 'category':
            assert 'dendriteclass %s' % demo['expected']['dendrite_classes'][0] in log.text
        else:
            assert 'spineheadvolume %.3g' % objects[name][region] in log.text, log.text


def test_color_by_errors(session, run, demo, colored):
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='has no category pyramidal; its categories are soma'):
        run('connectome color #2 dendriteclass pyramidal red')
    with pytest.raises(UserError, match='holds numbers, not categories'):
        run('connectome color #2 asiarea small red')
    with pytest.raises(UserError, match='no attribute axon of categories or numbers'):
        run('connectome color #2 axon')


# ---------------------------------------------------------------------------------------
# The panel

@pytest.mark.usefixtures('window')
def test_panel_lists_categories_by_name(session, run, demo, colored, settings):
    em, seg, labels = colored
    panel = run('connectome panel')
    try:
        assert panel.class_names == ['axon', 'dendrite', 'spinehead', 'neuron',
                                     'postsynapse', 'presynapse']
        assert panel.attribute_names == ['axonclass', 'dendriteclass', 'synapsetype',
                                         'asiarea', 'spineheadvolume']
        panel.choose_attribute('dendriteclass')
        names = list(demo['expected']['dendrite_classes'])
        assert panel.category_names == names
        shown = [panel.by_grid.itemAtPosition(row, 0).widget() for row in range(len(names))]
        assert [w.text() for w in shown] == names and all(w.isVisible() for w in shown)
        # A checkbox, a colour and a count per category, and nothing else (no range line).
        assert panel.by_grid.count() == 3 * len(names)
        counts = np.bincount(demo['expected']['dendrite_class'], minlength=len(names) + 1)
        for code, name in enumerate(names, start=1):
            n = int(counts[code])
            assert panel.category_count_text(name) == '%d dendrite%s' % (n, '' if n == 1
                                                                         else 's')
        assert panel.category_color('soma') == 'royalblue'      # the dendrite classes'
        panel.set_category_color('soma', 'red')
        for name in names:
            panel.set_category_checked(name, name in ('soma', 'apicaldendrite'))
        with LogCapture(session) as log:
            panel.by_button.click()
        assert log.commands[0] == ('connectome color #2 dendriteclass soma red'
                                   ' apicaldendrite darkgreen map #1 key true')
        panel.choose_attribute('spineheadvolume')
        assert panel.category_names == []
        assert panel.by_grid.count() == 1
        assert panel.by_grid.itemAt(0).widget().text().endswith('colored dark blue to yellow')
        with LogCapture(session) as log:
            panel.by_button.click()
        assert log.commands[0] == 'connectome color #2 spineheadvolume map #1 key true'
    finally:
        panel.delete()
