"""Sessions holding every kind of model and colouring the bundle makes (issue 25, item
4): EM maps coloured by class and by a number attribute with the colour key and its
title, synapses as markers and as one instanced model, skeletons as marker sets with
links and as instanced tubes, a segmentation's surfaces (``connectome surfaces``,
``partners ... show surfaces``), the model attributes the commands set and the readout.
Saved, closed and restored, in this process and in a fresh ChimeraX, every model comes
back with its id, name, type, position, geometry and colours, each map with its
per-region colours, the key with its entries.  ChimeraX 1.7.1 alone brought the maps
back grey and the surfaces and instanced models empty."""

import hashlib
import json
import os

import numpy as np
import pytest

from cxrun import REPO, headless
from segfixtures import LogCapture, combined_demo_with_ids

# ChimeraX 1.7.1's session serializer (core/_serialize.pyx) reads numpy's np.bool8 alias;
# not this bundle's code.
pytestmark = pytest.mark.filterwarnings('ignore:`np.bool8` is a deprecated alias')

HERE = os.path.dirname(os.path.abspath(__file__))
SCENE = ('open {root}/image.cmap', 'open {root}/segmentation.cmap', 'open {root}/image.cmap',
         'connectome color #2 axonclass map #1 key true',
         'connectome color #2 spineheadvolume map #3 key true',
         'connectome surfaces #2 where axon=1-3 key true',
         'connectome surfaces #2 where axon=4-6 each true replace false key true',
         'connectome synapses #2',
         'connectome synapses #2 markerLimit 3',
         'connectome skeletons #2 axon 1-3',
         'connectome skeletons #2 axon 1-5 markerLimit 10',
         'connectome skeletons #2 axon 4-6 color axonclass',
         'connectome partners #2 neuron 1 show surfaces,synapses')


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    return combined_demo_with_ids(_process_session, tmp_path_factory.mktemp('sessions'), seed=7)


def digest(a):
    """An array as text that two equal arrays share: dtype, shape and a hash."""
    a = np.ascontiguousarray(a)
    return '%s %s %s' % (a.dtype, list(a.shape), hashlib.sha1(a.tobytes()).hexdigest()[:16])


def describe(session):
    """{model id: what it is and shows} and the readout, as JSON-able text, once a frame
    is drawn, as the app draws one after each command (a map then shows its image)."""
    from chimerax.connectome.session import compat
    from chimerax.core.commands import run
    run(session, 'wait 1', log=False)
    from chimerax.connectome.session.readout import readout_enabled
    from chimerax.core.models import Surface
    from chimerax.map import Volume
    from chimerax.markers import MarkerSet
    models = {}
    for m in session.models.list():
        d = {'name': m.name, 'type': type(m).__name__, 'display': bool(m.display),
             'positions': digest(m.positions.array())}
        if isinstance(m, Volume):
            seg = compat.coloring_segmentation(m)
            d['colored by'] = None if seg is None else seg.id_string
            d['colors'] = None if seg is None else digest(compat.segmentation_rgba(m))
            d['image'] = bool(m.image_shown or m.image_will_show)
        elif isinstance(m, MarkerSet):
            a, b = m.atoms, m.bonds
            # A structure's session keeps coordinates in single precision.
            d.update(coords=digest(a.coords.astype(np.float32)), colors=digest(a.colors), radii=digest(a.radii),
                     ids=digest(a.residues.numbers), links=digest(b.colors))
        elif type(m) is Surface:
            d.update(vertices=digest(m.vertices), triangles=digest(m.triangles),
                     colors=digest(m.colors), vertex_colors=None if m.vertex_colors is None
                     else digest(m.vertex_colors))
        elif type(m).__name__ == 'ColorKeyModel':
            d['key'] = [[digest(np.asarray(rgba)), label] for rgba, label in m.rgbas_and_labels]
        elif type(m).__name__ == 'LabelModel':
            label = m.label
            d['label'] = [label.text, float(label.xpos), float(label.ypos),
                          [int(c) for c in label.color]]
        for name in ('synapse_ids', 'skeleton_ids'):
            if name in vars(m):
                d[name] = digest(vars(m)[name])
        if '_connectome_surfaces' in vars(m):
            d['surfaces'] = sorted(s.id_string for s in m._connectome_surfaces)
        if '_connectome_key' in vars(m):
            d['key of'] = vars(m)['_connectome_key']        # the key it is drawn in
        # 2D labels by name, the way commands address them: ChimeraX restores a
        # session's labels in the order they were named, under new ids where a
        # replaced label's id had been taken by a later one.
        models['label ' + m.label.name if 'label' in d else m.id_string] = d
    return {'models': models, 'readout': readout_enabled(session)}


def differences(after, before):
    """What differs between two descriptions: [(model id, property, before, after)]."""
    found = []
    models = sorted(set(after['models']) | set(before['models']))
    for k in models:
        a, b = after['models'].get(k, {}), before['models'].get(k, {})
        found += [(k, p, b.get(p), a.get(p)) for p in sorted(set(a) | set(b))
                  if a.get(p) != b.get(p)]
    if after['readout'] != before['readout']:
        found.append(('', 'readout', before['readout'], after['readout']))
    return found


def build(run, root):
    for command in SCENE:
        run(command.format(root=root))


@pytest.fixture(scope='module')
def saved(_process_session, demo, tmp_path_factory):
    """The scene built with the app's window (so the readout is on), drawn and saved,
    once for the module: (its description, its picture, the session file)."""
    from chimerax.core.commands import run
    from cxheadless.window import window
    session = _process_session
    run(session, 'close session', log=False)
    with window(session):
        build(lambda text: run(session, text), demo)
    before = describe(session)
    picture = session.main_view.image_rgba(width=200, height=150)
    path = tmp_path_factory.mktemp('saved') / 'scene.cxs'
    with LogCapture(session) as log:
        run(session, 'save %s' % path)
    assert 'will not' not in log.text, log.text
    run(session, 'wait 1; close session', log=False)
    return before, picture, path


def test_the_scene_has_every_kind_of_model(saved):
    """The scene holds what the test means to check (a command that stopped making a
    kind of model would otherwise pass unnoticed)."""
    models = saved[0]['models'].values()
    kinds = {(d['type'], bool(d.get('synapse_ids')), bool(d.get('skeleton_ids')))
             for d in models}
    assert {('MarkerSet', True, False), ('Surface', True, False), ('MarkerSet', False, False),
            ('Surface', False, True), ('Model', False, True), ('ColorKeyModel', False, False),
            ('LabelModel', False, False)} <= kinds
    colored = [d for d in models if d['type'] == 'Volume' and d['colored by']]
    assert len(colored) == 2 and all(d['image'] for d in colored)
    surfaces = [d for d in models if d['type'] == 'Surface' and not d.get('synapse_ids')
                and not d.get('skeleton_ids')]
    assert len(surfaces) >= 3
    assert any(d.get('surfaces') for d in models)
    assert saved[0]['readout']


def test_restored_exactly_in_this_process(session, run, saved):
    before, picture, path = saved
    # As in a new ChimeraX: no readout until the session turns it on.
    if session._connectome_hover_handler is not None:
        session.triggers.remove_handler(session._connectome_hover_handler)
        session._connectome_hover_handler = None
    with LogCapture(session) as log:
        run('open %s' % path)
    assert 'Unable to restore' not in log.text and 'lost' not in log.text, log.text
    after = describe(session)
    assert not differences(after, before), "\n".join(map(str, differences(after, before)))
    assert np.array_equal(session.main_view.image_rgba(width=200, height=150), picture)
    # The surfaces `connectome surfaces` made are still the ones it replaces.
    (previous,) = session.models.list(model_id=(int(after['models']['2']['surfaces'][0]),))
    run(SCENE[5])
    assert previous.deleted


def test_restored_keys_go_with_their_models(session, run, saved):
    """Every key of the scene (the partners', the synapses', the skeletons') is kept
    with the models drawn in its colours: closing them after a restore removes it."""
    from test_keys import key_lines
    before, _, path = saved
    run('open %s' % path)
    owners = {}
    for k, d in before['models'].items():
        if 'key of' in d:
            owners.setdefault(d['key of']['name'], []).append(k)
    assert set(owners) == {'connectome_key', 'connectome_marker_synapses',
                           'connectome_marker_skeletons', 'connectome_marker_surfaces'}, owners
    for name, ids in sorted(owners.items()):
        assert key_lines(session, name)[0], name
        run('close %s' % ' '.join('#' + k for k in ids))
        assert key_lines(session, name) == ([], None), name


def test_restored_exactly_in_a_fresh_chimerax(saved, tmp_path):
    """A new ChimeraX that has run no command of this bundle restores it the same."""
    before, _, path = saved
    out = tmp_path / 'restored.json'
    script = tmp_path / 'restore.py'
    script.write_text(
        'import json, sys\n'
        'sys.path[:0] = [%r, %r]\n'
        'from chimerax.core.commands import run\n'
        'from cxheadless.window import window\n'
        'from test_sessions_models import describe\n'
        'with window(session):\n'
        '    run(session, "open %s")\n'
        'json.dump(describe(session), open(%r, "w"))\n'
        % (HERE, os.path.join(REPO, 'harness'), str(path), str(out)))
    p = headless('--nogui', '--exit', '--script', str(script))
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'Unable to restore' not in p.stdout + p.stderr
    assert not differences(json.loads(out.read_text()), json.loads(json.dumps(before)))


def test_closing_the_segmentation_a_map_is_colored_by_uncolors_it(session, run, demo,
                                                                     tmp_path):
    """The map's colours read the segmentation's voxels: once it closed, every frame
    (and saving a session, which draws its thumbnail) failed.  Closing it removes the
    colouring and its key, logged; the map draws in its own colours and saves."""
    from chimerax.connectome.session import compat
    from chimerax.connectome.session.keys import KEY_LABEL, key_labels
    run('open %s/image.cmap' % demo)
    run('open %s/segmentation.cmap' % demo)
    run('connectome color #2 axonclass map #1 key true')
    image = session.models.list(model_id=(1,))[0]
    assert compat.has_segmentation_colors(image) and key_labels(session, KEY_LABEL)
    with LogCapture(session) as log:
        run('close #2')
    assert 'Removed the coloring of #1 (image.cmap): the segmentation it was colored by,' \
        ' segmentation.cmap, is closed' in log.text, log.text
    assert not compat.has_segmentation_colors(image)
    assert not key_labels(session, KEY_LABEL)
    session.main_view.image_rgba()          # draws
    with LogCapture(session) as log:
        run('save %s' % (tmp_path / 'closed.cxs'))
    assert 'coloring' not in log.text, log.text
    assert (tmp_path / 'closed.cxs').stat().st_size > 0


def test_closing_another_model_keeps_a_coloring(session, run, demo):
    """Only the segmentation a map is coloured by takes the colouring with it."""
    from chimerax.connectome.session import compat
    run('open %s/image.cmap' % demo)
    run('open %s/segmentation.cmap' % demo)
    run('open %s/image.cmap' % demo)
    run('connectome color #2 axonclass map #1')
    run('close #3')
    assert compat.has_segmentation_colors(session.models.list(model_id=(1,))[0])


def test_a_session_without_the_bundle_s_state_does_not_need_the_bundle(session, run, demo):
    """Nothing to keep (maps uncoloured, no synapses or skeletons): the bundle's state is
    left out of the session, which then opens where the bundle is not installed."""
    from chimerax.connectome.session.sessionstate import STATE_TAG
    run('open %s/image.cmap' % demo)
    run('open %s/segmentation.cmap' % demo)
    state = session.get_state_manager(STATE_TAG)
    # The segmentation opened hidden, to show as an image plane: ChimeraX would restore
    # it to show as a surface of its ids, so that is kept ...
    assert state.include_state()
    run('volume #2 show')
    # ... and once shown, ChimeraX keeps its style itself.
    assert not state.include_state()
    run('connectome color #2 axonclass map #1')
    assert state.include_state()
    run('connectome uncolor #1')
    assert state.include_state()        # the segmentation colouring hid, as an image
    run('volume #2 show')
    assert not state.include_state()


def test_a_hidden_image_map_of_another_program_needs_no_state(session, run):
    """Only the maps this bundle opened hidden are kept: a session of ChimeraX's own maps
    still opens where the bundle is not installed."""
    from chimerax.connectome.session.sessionstate import STATE_TAG
    from chimerax.map.volume import volume_from_grid_data
    from chimerax.map_data import ArrayGridData
    run('close session')
    v = volume_from_grid_data(ArrayGridData(np.zeros((8, 8, 8), np.uint8)), session)
    v.display = False
    v.set_display_style('image')
    assert not v.display and v.image_will_show
    assert not session.get_state_manager(STATE_TAG).include_state()
