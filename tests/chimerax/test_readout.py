"""Which region and objects are at a point: `connectome at` returns the ground truth,
and a hover over a map plane or segmentation surface (ChimeraX's own picking, offscreen)
shows it in the status line.  First the pure parts (pipeline/classes.py)."""

import types

import h5py
import numpy as np
import pytest

import segfixtures as sf
from segfixtures import LogCapture, pair  # noqa: F401  (fixtures)
from chimerax.connectome.pipeline import classes as oc
from chimerax.connectome.pipeline.attributefile import AttributeFile


# -- pure -------------------------------------------------------------------------------

def test_readout_text_and_object_ids():
    arrays = {'spinehead': np.array([0, 0, 5]), 'axon': np.array([0, 1203, 0, 9]),
              'glia': np.array([0, 0, 0])}
    ids = oc.object_ids(arrays, 2)
    assert ids == {'spinehead': 5, 'axon': 0, 'glia': 0}
    assert oc.object_ids(arrays, 3) == {'spinehead': 0, 'axon': 9, 'glia': 0}   # past the end: 0
    assert oc.readout_text(812345, {'dendrite': 0, 'axon': 1203, 'spinehead': 0}) == (
        'region 812345  axon 1203  dendrite 0  spinehead 0')


def test_class_colors_defaults_choices_and_distinct_others():
    names = ['axon', 'dendrite', 'spinehead', 'neuron', 'glia', 'synapse']
    colors = oc.class_colors(names, {'dendrite': '#ff8000', 'glia': 'magenta'})
    assert colors == {'axon': 'lime', 'dendrite': '#ff8000', 'spinehead': 'blue',
                      'neuron': 'yellow', 'glia': 'magenta', 'synapse': 'cyan'}
    many = oc.class_colors(['c%d' % i for i in range(len(oc.OTHER_COLORS))])
    assert len(set(many.values())) == len(oc.OTHER_COLORS)
    assert oc.ordered_classes(['zeta', 'spinehead', 'alpha', 'axon']) == [
        'axon', 'spinehead', 'alpha', 'zeta']
    assert oc.default_classes(['neuron', 'spinehead', 'axon']) == ['axon', 'spinehead']
    assert oc.default_classes(['neuron', 'glia']) == ['neuron', 'glia']


def test_object_count_counts_distinct_nonzero_ids():
    assert oc.object_count(np.array([0, 5, 5, 7, 0, 9, 7], np.int32)) == 3
    assert oc.object_count(np.zeros(4, np.int32)) == 0
    assert oc.object_count(np.array([0, 2**30, 7, 7, -2], np.int32)) == 3     # sparse ids


def test_file_attribute_names_lists_1d_integer_arrays_only(tmp_path):
    path = tmp_path / 'seg.cmap'
    with h5py.File(path, 'w') as f:
        f.create_dataset('Chimera/image1/data_zyx', data=np.zeros((2, 3, 4), np.uint32))
        f.create_dataset('attributes/axon', data=np.zeros(10, np.int32))
        f.create_dataset('attributes/neuron', data=np.zeros(10, np.uint16))
        f.create_dataset('attributes/volume_nm3', data=np.zeros(10, np.float32))
        f['Chimera/image1'].attrs['maximum_segment_id'] = 9
    assert AttributeFile(str(path)).class_names() == ['axon', 'neuron']
    text = tmp_path / 'not.hdf5'
    text.write_text('no')
    assert AttributeFile(str(text)).class_names() == []


def _volume(size, dtype):
    return types.SimpleNamespace(data=types.SimpleNamespace(size=size, value_type=np.dtype(dtype)))


def test_choose_segmentation_and_image():
    em = _volume((40, 30, 20), np.uint8)
    seg = _volume((40, 30, 20), np.uint32)
    other = _volume((10, 10, 10), np.float32)
    seg_with_classes = _volume((10, 10, 10), np.uint8)
    assert oc.choose_segmentation([em, other, seg]) is seg
    assert oc.choose_segmentation([em, other]) is None          # bytes are EM images
    assert oc.choose_segmentation([em, seg, seg_with_classes],
                                  has_attributes=lambda v: v is seg_with_classes) is seg_with_classes
    assert oc.choose_image([seg, other, em], seg) is em
    assert oc.choose_image([seg, other], seg) is None
    assert oc.choose_image([seg, em], None) is None


# -- in ChimeraX ------------------------------------------------------------------------

def _all_boxes_and_walls():
    """Box centres in both layers, and points on walls and at corners."""
    ijks = [sf.box_center_ijk(b) for b, _ in sf.boxes()]
    ijks += [(0, 0, 0), (8, 4, 4), (12, 16, 4), (47, 39, 15), (9, 9, 9)]
    return ijks


def test_connectome_at_returns_ground_truth(session, run, pair):
    sf.open_pair(run, pair)
    for ijk in _all_boxes_and_walls():
        xyz = sf.ijk_to_xyz(ijk)
        found = run('connectome at %g,%g,%g' % xyz)
        assert found == sf.truth_at(ijk), ijk
    # Half a voxel off a voxel centre still reads that voxel.
    i, j, k = sf.box_center_ijk(5)
    x, y, z = sf.ijk_to_xyz((i + 0.45, j - 0.45, k + 0.45))
    assert run('connectome at %g,%g,%g segmentation #2' % (x, y, z))['region'] == sf.region_id(5)


def test_connectome_at_logs_one_line_and_follows_moved_models(session, run, pair):
    sf.open_pair(run, pair)
    ijk = sf.box_center_ijk(8)
    xyz = sf.ijk_to_xyz(ijk)
    with LogCapture(session) as log:
        run('connectome at %g,%g,%g' % xyz)
    t = sf.truth_at(ijk)
    assert log.text.splitlines()[-1] == (
        'At %g,%g,%g in #2 (segmentation.cmap): region %d  axon %d  dendrite 0  spinehead 0'
        '  neuron %d' % (xyz + (t['region'], t['axon'], t['neuron'])))
    # Scene coordinates: move the segmentation and the same point is another voxel.
    run('move x %g models #2' % (sf.BLOCK * sf.STEP[0]))
    assert run('connectome at %g,%g,%g' % xyz)['region'] == sf.region_id(7)


def test_connectome_at_errors(session, run, pair):
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='connectome at: no segmentation is open'):
        run('connectome at 1,2,3')
    sf.open_pair(run, pair)
    with pytest.raises(UserError, match='connectome at: point 0,0,0 is outside segmentation #2'):
        run('connectome at 0,0,0')


def test_classes_set_on_the_model_are_read_too(session, run, pair):
    """`connectome ids` may set attribute arrays on the open model; they count as classes."""
    _, seg = sf.open_pair(run, pair)
    glia = np.zeros(sf.region_id(len(sf.boxes()) - 1) + 1, np.int32)
    glia[sf.region_id(3)] = 77
    seg.glia = glia
    found = run('connectome at %g,%g,%g' % sf.ijk_to_xyz(sf.box_center_ijk(3)))
    assert found == dict(sf.truth_at(sf.box_center_ijk(3)), glia=77)


def test_readout_on_plane_under_window_point(session, run, pair):
    from chimerax.connectome.session.readout import readout_at_window
    sf.open_pair(run, pair)
    session.main_view.image_rgba()            # lay out the frame picking works on
    with LogCapture(session) as log:
        for box in (0, 1, 2, 3, 9, 29):
            ijk = sf.box_center_ijk(box, k=sf.PLANE)
            t = sf.truth_at(ijk)
            x, y = sf.window_xy(session, sf.ijk_to_xyz(ijk))
            text = readout_at_window(session, x, y)
            expected = oc.readout_text(t['region'], {k: v for k, v in t.items() if k != 'region'})
            assert text == expected, box
    assert log.statuses[-1] == expected
    assert readout_at_window(session, 0, 0) is None            # background: no readout
    # Through a 3-D image no single voxel is under the mouse.
    run('volume #1 region all')
    session.main_view.image_rgba()
    assert session.main_view.picked_object(x, y) is not None
    assert readout_at_window(session, x, y) is None


def test_readout_on_segmentation_surface(session, run, pair):
    """Looking down z at dendrite surfaces: over a top-layer dendrite box the readout is
    that box; where the top box is no dendrite the mouse is on the one below."""
    from chimerax.connectome.session.readout import readout_at_window
    sf.open_pair(run, pair)
    run('connectome surfaces attributes dendrite; volume #1 hide; view')
    session.main_view.image_rgba()
    layer = len(sf.boxes()) // 2
    for column in (1, 3, 5, 9):
        top = column + layer
        seen = top if sf.object_ids(top)['dendrite'] else column
        assert sf.object_ids(seen)['dendrite']
        x, y = sf.window_xy(session, sf.ijk_to_xyz(sf.box_center_ijk(top)))
        t = sf.truth_at(sf.box_center_ijk(seen))
        assert readout_at_window(session, x, y) == (
            'region %d  axon 0  dendrite %d  spinehead 0  neuron %d'
            % (sf.region_id(seen), t['dendrite'], t['neuron'])), column
    # Between the surfaces: nothing picked.
    x, y = sf.window_xy(session, sf.ijk_to_xyz((8, 8, 12)))
    assert readout_at_window(session, x, y) is None


def test_hover_shows_readout_in_status_line(session, run, pair, window):
    """ChimeraX's "identify object" mouse mode, paused over a plane, fires "mouse hover"
    with its pick; the readout follows in the status line."""
    from chimerax.connectome.session import readout
    sf.open_pair(run, pair)
    readout.enable_readout(session)
    readout.enable_readout(session)                # once only
    try:
        session.main_view.image_rgba()
        ijk = sf.box_center_ijk(12, k=sf.PLANE)
        with LogCapture(session) as log:
            window.hover_mode.pause(sf.window_xy(session, sf.ijk_to_xyz(ijk)))
        t = sf.truth_at(ijk)
        assert log.statuses == ['region %d  axon %d  dendrite 0  spinehead 0  neuron %d'
                                % (t['region'], t['axon'], t['neuron'])]
        assert window.popup.shown, 'the mouse mode showed its own balloon too'
    finally:
        handler = getattr(session, '_connectome_hover_handler', None)
        if handler is not None:
            session.triggers.remove_handler(handler)
            session._connectome_hover_handler = None
