"""Values a damaged or hostile file gives, refused by name rather than used (issue 26,
items 4-7): an attribute array shorter than the largest region id + 1, a position that is
not finite in the authors' segments.hdf5 or synapses.hdf5 (or in the wiring kept in a
segmentation), and object id 0, which means "in no object" in every command."""

import shutil

import h5py
import numpy as np
import pytest

import segfixtures as sf
from segfixtures import LogCapture, pair  # noqa: F401  (fixtures)
from test_wiring import demo  # noqa: F401  (the demo, its wiring kept by connectome ids)


def user_error(run, command, words):
    from chimerax.core.errors import UserError
    with pytest.raises(UserError) as e:
        run(command)
    assert words in str(e.value), str(e.value)
    return str(e.value)


def damaged_copy(demo, tmp_path):
    folder = tmp_path / 'authors'
    shutil.copytree(demo['folder'], folder)
    return folder


# --- 4: an attribute array shorter than the largest region id + 1 -----------------------

@pytest.fixture
def short_axon(tmp_path):
    """The segfixtures pair with /attributes/axon cut to 10 values (regions 0-9) while
    its maximum_segment_id is far larger, and a number attribute cut the same way."""
    paths = sf.write_pair(tmp_path)
    with h5py.File(paths[1], 'r+') as f:
        whole = f['/attributes/axon'][()]
        del f['/attributes/axon']
        f['/attributes/axon'] = whole[:10]
        volume = f.create_dataset('/attributes/boxvolume', data=np.ones(10, np.float32))
        volume.attrs['kind'] = 'number'
        maximum = int(f['/Chimera/image1'].attrs['maximum_segment_id'])
    assert maximum > 10
    return paths, maximum


@pytest.mark.parametrize('command', [
    'connectome color',                         # ChimeraX reads the classes itself
    'connectome color attributes axon',
    'connectome surfaces attributes axon',
    'connectome at %s' % ','.join(map(str, sf.ijk_to_xyz(sf.box_center_ijk(0)))),
])
def test_short_class_array_is_refused_by_name(session, run, short_axon, command):
    paths, maximum = short_axon
    sf.open_pair(run, paths)
    text = user_error(run, command, 'attribute axon has 10 values (regions 0 to 9) but the'
                      ' largest region id is %d' % maximum)
    assert paths[1] in text


def test_short_number_array_is_refused_by_name(session, run, short_axon):
    paths, maximum = short_axon
    sf.open_pair(run, paths)
    user_error(run, 'connectome color #2 boxvolume', 'attribute boxvolume has 10 values')


def test_short_array_set_on_the_model_is_refused(session, run, pair):
    _, seg = sf.open_pair(run, pair)
    seg.dendrite = np.zeros(5, np.int32)
    user_error(run, 'connectome color attributes dendrite',
               'array set on the model: attribute dendrite has 5 values')


def test_arrays_covering_every_region_still_work(session, run, pair):
    sf.open_pair(run, pair)
    found = run('connectome at %s' % ','.join(map(str, sf.ijk_to_xyz(sf.box_center_ijk(0)))))
    assert found == sf.truth_at(sf.box_center_ijk(0))


# --- 5: a position that is not finite in /segments/position ------------------------------

def test_nan_region_position_is_refused(session, run, demo, tmp_path):
    folder = damaged_copy(demo, tmp_path)
    run('open %s' % demo['image'])
    (seg,) = run('open %s' % demo['seg'])
    regions = np.flatnonzero(sf_values(seg, 'neuron') == 1)
    with h5py.File(folder / 'segments.hdf5', 'r+') as f:
        p = f['/segments/position'][()].astype(np.float64)     # as MATLAB writes it
        p[1, regions[1] - 1] = np.nan
        del f['/segments/position']
        f['/segments/position'] = p
    text = user_error(run, 'connectome show #2 neuron 1 from %s' % folder,
                      '/segments/position of region %d is not a finite position'
                      % regions[1])
    assert str(folder / 'segments.hdf5') in text
    assert len(session.models.scene_root_model.child_models()) == 2     # no surfaces made


def sf_values(seg, name):
    from chimerax.connectome.session.classes import class_values
    return class_values(seg, name)


# --- 6: a position that is not finite in synPosition -------------------------------------

def test_nan_synapse_position_is_refused_by_ids_and_synapses(session, run, demo, tmp_path):
    folder = damaged_copy(demo, tmp_path)
    with h5py.File(folder / 'synapses.hdf5', 'r+') as f:
        p = f['/synapses/synPosition'][()].astype(np.float64)
        p[0, 2] = np.nan
        del f['/synapses/synPosition']
        f['/synapses/synPosition'] = p
    bare = tmp_path / 'bare.cmap'
    shutil.copy(demo['bare'], bare)
    user_error(run, 'connectome ids %s %s' % (bare, folder),
               '/synapses/synPosition: 1 synapse position is not finite (synapse 3 first)')
    with h5py.File(bare, 'r') as f:
        assert 'attributes' not in f         # nothing written
    user_error(run, 'connectome synapses %s from %s' % (bare, folder),
               '1 synapse position is not finite (synapse 3 first)')
    assert not session.models.list()


def test_nan_in_a_kept_wiring_is_refused(session, run, demo, tmp_path):
    seg = tmp_path / 'seg.cmap'
    shutil.copy(demo['seg'], seg)
    with h5py.File(seg, 'r+') as f:
        table = f['/attributes/.connectome/.synapse_values']
        row = table[4]
        row[2] = np.inf
        table[4] = row
    user_error(run, 'connectome synapses %s' % seg,
               'synapse position is not finite (synapse 5 first)')
    assert not session.models.list()
    # Synapses picked without the damaged one are drawn.
    with LogCapture(session) as log:
        run('connectome synapses %s of axon 1' % seg)
    assert 'Drew ' in log.text


# --- 7: id 0 means "in no object" --------------------------------------------------------

@pytest.mark.parametrize('command, words', [
    ('connectome show #2 axon 0', 'axon ids start at 1, not 0'),
    ('connectome show #2 neuron 0', 'neuron ids start at 1, not 0'),
    ('connectome show #2 axon 1-2', 'give one axon id, not 1-2'),
    ('connectome synapses #2 of axon 0', 'axon ids start at 1, not 0'),
    ('connectome synapses #2 onto neuron 0', 'neuron ids start at 1, not 0'),
    ('connectome partners #2 neuron 0', 'neuron ids start at 1, not 0'),
    ('connectome skeletons #2 axon 0', 'axon ids start at 1, not 0'),
    ('connectome surfaces #2 where axon=0', 'axon ids start at 1'),
])
def test_object_id_0_is_refused(session, run, demo, command, words):
    run('open %s' % demo['image'])
    run('open %s' % demo['seg'])
    user_error(run, command, words)
    assert len(session.models.scene_root_model.child_models()) == 2


def test_show_0_is_refused_without_segments_too(session, run, demo):
    """Without the authors' segments.hdf5 show read the voxels and showed every region in
    no axon."""
    run('open %s' % demo['image'])
    (seg,) = run('open %s' % demo['bare'])
    with h5py.File(demo['seg'], 'r') as f:
        seg.axon = f['/attributes/axon'][()]
    user_error(run, 'connectome show #2 axon 0', 'axon ids start at 1, not 0')
