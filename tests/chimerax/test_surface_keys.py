"""Keys of object surfaces (issue 25, item 3): ``connectome surfaces ... key true`` and
``connectome show ... key true`` name exactly what they draw, in real ChimeraX on the
demo's files: each class in one colour with its count of objects (counted here from the
demo's truth and the segmentation's voxels, not from what the bundle read), objects in
colours of their own by name when few, else one line naming the class and the count; the
key goes and is recounted with the surfaces (a surface replaced or closed), and comes
back with a session (tests/chimerax/test_sessions_models.py)."""

import numpy as np
import pytest

from segfixtures import LogCapture
from test_keys import demo, key_lines, opened      # noqa: F401 (fixtures)

KEY = 'connectome_marker_surfaces'


def drawn_ids(seg, demo, name, ids=None):
    """The ids of the objects of class ``name`` (of ``ids``, if given) with regions in
    the segmentation's voxels, from the demo's truth."""
    values = np.asarray(demo['expected']['objects'][name])
    regions = np.unique(seg.full_matrix())
    found = np.unique(values[regions[regions < len(values)]])
    found = found[found > 0]
    return found if ids is None else found[np.isin(found, ids)]


def lines_of(session):
    lines, title = key_lines(session, KEY)
    return [l.text for l in lines], title


def assert_on_colours(session, surfaces):
    """Each line of the key on a box of the colour of the surface it names."""
    lines, _ = key_lines(session, KEY)
    assert len(lines) == len(surfaces)
    for label, s in zip(lines, surfaces):
        assert np.abs(np.asarray(label.background[:3], int)
                      - np.asarray(s.color[:3], int)).max() <= 2, (label.text, s.name)


def test_surfaces_of_classes_key_each_class_with_its_objects(session, run, demo, opened):
    image, seg = opened
    surfaces = run('connectome surfaces #2 attributes axon,neuron key true')
    texts, title = lines_of(session)
    assert title.text == 'object surfaces'
    assert texts == ['axon (%d)' % len(drawn_ids(seg, demo, 'axon')),
                     'neuron (%d)' % len(drawn_ids(seg, demo, 'neuron'))]
    assert len(surfaces) == 2
    assert_on_colours(session, surfaces)
    # Legible on any background: black or white text, whichever reads on the box.
    for label in key_lines(session, KEY)[0]:
        assert tuple(label.color[:3]) in ((0, 0, 0), (255, 255, 255))


def test_surfaces_where_ids_key_only_the_objects_drawn(session, run, demo, opened):
    image, seg = opened
    largest = int(np.max(demo['expected']['objects']['axon']))
    # Ids past the last axon are typed but draw nothing: not counted.
    run('connectome surfaces #2 where axon=1-3,%d-%d key true' % (largest - 1, largest))
    want = drawn_ids(seg, demo, 'axon', [1, 2, 3, largest - 1, largest])
    assert lines_of(session)[0] == ['axon (%d)' % len(want)]
    # Replaced: the key names what is drawn now, not what was.
    run('connectome surfaces #2 where neuron=1 key true')
    assert lines_of(session)[0] == ['neuron (1)']


def test_objects_in_their_own_colours_named_when_few_counted_when_many(session, run, demo,
                                                                         opened):
    from chimerax.connectome.session.keys import FEW_OBJECTS
    image, seg = opened
    axons = drawn_ids(seg, demo, 'axon')
    few = axons[:3]
    assert FEW_OBJECTS < len(axons)       # the demo has both cases
    surfaces = run('connectome surfaces #2 where axon=%s each true key true'
                   % ','.join(map(str, few)))
    assert lines_of(session)[0] == ['axon %d' % i for i in few]
    assert_on_colours(session, surfaces)
    assert len({tuple(s.color) for s in surfaces}) == len(few)

    first = surfaces
    surfaces = run('connectome surfaces #2 each axon key true')
    # Replaced with their group: closing only the group left them drawn, and named.
    assert all(s.deleted for s in first)
    assert lines_of(session)[0] == ['axons, each in a colour of its own (%d)' % len(axons)]
    (label,) = key_lines(session, KEY)[0]
    assert max(label.background[:3]) < 64          # a dark box: no colour of its own
    # Closing some recounts the others; closing the last removes the key.
    run('close %s' % ' '.join(s.atomspec for s in surfaces[:3]))
    assert lines_of(session)[0] == ['axons, each in a colour of its own (%d)'
                                    % (len(axons) - 3)]
    run('close %s' % ' '.join(s.atomspec for s in surfaces[3:]))
    assert key_lines(session, KEY) == ([], None)


def test_surfaces_of_two_commands_share_one_key(session, run, demo, opened):
    image, seg = opened
    run('connectome surfaces #2 attributes axon key true')
    run('connectome surfaces #2 each neuron replace false key true')
    texts, _ = lines_of(session)
    assert texts == ['axon (%d)' % len(drawn_ids(seg, demo, 'axon'))] + \
        ['neuron %d' % i for i in drawn_ids(seg, demo, 'neuron')]


def test_no_key_unless_asked(session, run, demo, opened):
    with LogCapture(session) as log:
        run('connectome surfaces #2 attributes axon')
    assert key_lines(session, KEY) == ([], None)
    assert not any(c.startswith('2dlabels') for c in log.commands)


def test_show_keys_the_object_it_shows(session, run, demo, opened):
    surfaces = run('connectome show #2 neuron 1 map #1 key true')
    assert surfaces
    assert lines_of(session)[0] == ['neuron 1']
    assert_on_colours(session, surfaces)
    run('close %s' % ' '.join(s.atomspec for s in surfaces))
    assert key_lines(session, KEY) == ([], None)


def test_a_surface_of_several_objects_counts_them_by_its_name():
    """A surface of several objects is named '... N CLASSs' by ChimeraX's segmentation
    surfaces and by the meshes' merged surface (session/meshsurfaces.py); one of a
    single object '... CLASS ID'."""
    from types import SimpleNamespace as S
    from chimerax.connectome.session.keys import objects_drawn
    assert objects_drawn(S(name='segmentation.cmap 40 axons'), 'axon') == 40
    assert objects_drawn(S(name='segmentation.cmap axon 40'), 'axon') == 1
    assert objects_drawn(S(name='seg 3 spineheads'), 'spinehead') == 3
    assert objects_drawn(S(name='seg 3 spineheads'), 'head') == 1
