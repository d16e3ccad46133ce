"""The whole pipeline on the demo dataset, in a real headless ChimeraX session: `connectome
demo`, `connectome combine` (image and segmentation), `connectome ids` (every class); the
panel lists the demo's classes with the generator's object counts, its Color button colours
the rendered EM plane right where the ground truth has axons, dendrites and spine heads,
and `connectome at` reports the ground-truth ids."""

import numpy as np
import pytest
from scipy import ndimage

from segfixtures import LogCapture, combined_demo, settings, window_xy  # noqa: F401
from chimerax.connectome.demo import CLASSES, read_truth

pytestmark = [pytest.mark.chimerax, pytest.mark.usefixtures('window')]

STEMS = {'axon': 'axons', 'dendrite': 'dendrites', 'spinehead': 'spineheads',
         'neuron': 'neurons', 'presynapse': 'presynapses', 'postsynapse': 'postsynapses'}
from segfixtures import DEMO_VOXEL as VOXEL


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    from chimerax.core.commands import run
    s = _process_session
    root = tmp_path_factory.mktemp('paneldemo')
    data = combined_demo(s, root, seed=2)
    seg = root / 'segmentation.cmap'
    run(s, 'connectome ids %s %s' % (seg, ' '.join(
        '%s %s' % (c, data / 'objects' / (STEMS[c] + '.hdf5')) for c in CLASSES)))
    return dict(truth=read_truth(data), image=root / 'image.cmap', seg=seg)


@pytest.fixture
def opened(session, run, demo, settings):
    em = run('open %s' % demo['image'])[0]
    seg = run('open %s' % demo['seg'])[0]
    nx, ny, nz = em.data.size
    k = nz // 2
    run('volume #2 hide; volume #1 style image region 0,0,%d,%d,%d,%d colorMode auto8'
        ' level 0,0 level 255,1; view; lighting flat; camera ortho' % (k, nx - 1, ny - 1, k))
    return em, seg, k


def interior(mask, margin=2):
    """Voxels of a 2-D mask at least ``margin`` voxels inside it."""
    return ndimage.binary_erosion(mask, iterations=margin)


def test_panel_lists_the_demo_classes_and_counts(session, run, demo, opened):
    panel = run('connectome panel')
    try:
        assert panel.segmentation is opened[1] and panel.image is opened[0]
        assert panel.class_names == ['axon', 'dendrite', 'spinehead', 'neuron',
                                     'postsynapse', 'presynapse']
        truth = demo['truth']
        for name in panel.class_names:
            n = len(np.unique(truth[name][truth[name] > 0]))
            assert n > 0
            assert panel.object_count_text(name) == ('%d object%s' % (n, '' if n == 1 else 's'))
    finally:
        panel.delete()


def test_color_button_colours_the_truth_voxels(session, run, demo, opened):
    em, seg, k = opened
    panel = run('connectome panel')
    try:
        with LogCapture(session) as log:
            panel.color_button.click()
        assert log.commands[0] == ('connectome color #2 map #1 attributes'
                                   ' axon,dendrite,spinehead colors lime,red,blue')
        assert log.commands[1:] == ['segmentation colors #2 %s map #1 byAttribute %s' % (c, a)
                                    for a, c in (('axon', 'lime'), ('dendrite', 'red'),
                                                 ('spinehead', 'blue'))]
    finally:
        panel.delete()
    rgba = session.main_view.image_rgba()[::-1]
    labels = seg.full_matrix()[k]
    truth = demo['truth']
    channel = {'axon': 1, 'dendrite': 0, 'spinehead': 2}
    rng = np.random.default_rng(0)
    checked = 0
    for name, c in channel.items():
        ys, xs = np.nonzero(interior(truth[name][labels] > 0))
        assert xs.size, name
        for n in rng.choice(xs.size, min(25, xs.size), replace=False):
            x, y = window_xy(session, (xs[n] * VOXEL[0], ys[n] * VOXEL[1], k * VOXEL[2]))
            r = rgba[y, x, :3].astype(int)
            others = [r[i] for i in range(3) if i != c]
            assert r[c] > 10 and r[c] > 3 * max(others), (name, xs[n], ys[n], r)
            checked += 1
    # Regions in none of the three classes keep the EM grey.
    none = np.ones(labels.shape, bool)
    for name in channel:
        none &= truth[name][labels] == 0
    ys, xs = np.nonzero(interior(none & (labels > 0)))
    for n in rng.choice(xs.size, min(25, xs.size), replace=False):
        x, y = window_xy(session, (xs[n] * VOXEL[0], ys[n] * VOXEL[1], k * VOXEL[2]))
        r = rgba[y, x, :3].astype(int)
        assert max(r) - min(r) < 30, (xs[n], ys[n], r)
    assert checked == 75


def test_connectome_at_reports_ground_truth(session, run, demo, opened):
    em, seg, k = opened
    truth = demo['truth']
    labels = seg.full_matrix()
    rng = np.random.default_rng(1)
    for name in CLASSES:
        samples = truth['samples'][name]
        for n in rng.choice(len(samples), min(4, len(samples)), replace=False):
            oid, x, y, z = (int(v) for v in samples[n])
            found = run('connectome at %g,%g,%g' % (x * VOXEL[0], y * VOXEL[1], z * VOXEL[2]))
            region = int(labels[z, y, x])
            assert found['region'] == region
            assert found[name] == oid
            for other in CLASSES:
                assert found[other] == truth[other][region]
