"""Keys that tell what is on screen (issue 25, item 3), in real ChimeraX on the demo's
files in the authors' layout: a colouring's key names exactly the classes or categories
drawn, each with its count (none counted 0), in white on dark boxes at the window's
edge, never over the data (checked on pixels: no key pixel over a data pixel, also where
the data filled the window); synapse markers get a key of their own; axon classes,
dendrite classes and synapse types each have their own colours, so a scene of partners
never shows one colour with two meanings; a key goes with the models drawn in its
colours."""

import shutil

import numpy as np
import pytest

from segfixtures import LogCapture, combined_demo
from chimerax.connectome.demo import read_authors_truth


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    from chimerax.core.commands import run
    s = _process_session
    root = tmp_path_factory.mktemp('keys')
    data = combined_demo(s, root, seed=7)
    folder = data / 'objects' / 'authors'
    run(s, 'connectome ids %s %s' % (root / 'segmentation.cmap', folder))
    shutil.rmtree(data / 'image')           # only the combined maps are needed
    return dict(root=root, folder=folder, expected=read_authors_truth(data),
                seg=root / 'segmentation.cmap', image=root / 'image.cmap')


@pytest.fixture
def opened(run, demo):
    (image,) = run('open %s' % demo['image'])
    (seg,) = run('open %s' % demo['seg'])
    return image, seg


def key_lines(session, name):
    """[(text, label)] of the 2D labels of a key: its lines name_1, name_2 ... in order."""
    from chimerax.label.label2d import session_labels
    labels = session_labels(session, create=False)
    found = {l.name: l for l in (labels.all_labels if labels else [])}
    lines, k = [], 1
    while '%s_%d' % (name, k) in found:
        lines.append(found['%s_%d' % (name, k)])
        k += 1
    return lines, found.get(name)


def color_key(session):
    from chimerax.color_key.model import ColorKeyModel
    keys = [m for m in session.models.list() if isinstance(m, ColorKeyModel)]
    assert len(keys) == 1
    return keys[0]


def frame(session):
    """The window's picture, rows from the top."""
    return session.main_view.image_rgba()[::-1]


def rgba8(rgba):
    return tuple(int(round(255 * c)) for c in rgba)


def expected_categories(demo, attribute, per_object, names):
    """['name (count)'] of the categories with objects that have regions, in code order,
    from the demo's truth; and the names left out."""
    t = demo['expected']
    regions = set(np.unique(t['objects'][attribute]).tolist())
    counts = np.bincount(t[per_object], minlength=len(t[names]) + 1)
    shown = ['%s (%d)' % (n, counts[code]) for code, n in enumerate(t[names], start=1)
             if counts[code] and code in regions]
    left = [n for code, n in enumerate(t[names], start=1)
            if not (counts[code] and code in regions)]
    return shown, left


@pytest.mark.parametrize('attribute,per_object,names', [
    ('axonclass', 'axon_class', 'axon_classes'),
    ('dendriteclass', 'dendrite_class', 'dendrite_classes')])
def test_category_key_lists_only_what_is_drawn_with_counts(session, run, demo, opened,
                                                           attribute, per_object, names):
    """`connectome color #2 axonclass map #1 key true` listed "inhibitory" with 0 axons,
    `make demo`'s key two dendrite classes with 0."""
    run('connectome color #2 %s map #1 key true' % attribute)
    want, left = expected_categories(demo, attribute, per_object, names)
    lines, title = key_lines(session, 'connectome_key')
    assert [l.text for l in lines] == want
    assert title.text == attribute
    assert not any(l.text.startswith(n + ' (') for n in left for l in lines)
    # ChimeraX's own key: the same entries (its first at the bottom), and a colour each.
    key = color_key(session)
    assert [label for _, label in key.rgbas_and_labels][::-1] == want
    assert len({rgba8(c) for c, _ in key.rgbas_and_labels}) == len(want)
    # Each label beside its colour, the first at the top: the pixels left of each label
    # have the colour of its category in the key.
    assert [l.ypos for l in lines] == sorted((l.ypos for l in lines), reverse=True)
    picture = frame(session)
    h, w = picture.shape[:2]
    for label, (rgba, _) in zip(lines, key.rgbas_and_labels[::-1]):
        y = h - 1 - int((label.ypos + 0.5 * 28 / h) * h)
        x = int((label.xpos - 0.03) * w)
        assert np.abs(picture[y, x, :3].astype(int) - rgba8(rgba)[:3]).max() < 40, label.text
    # Legible on any background: white text on a dark box; the key's own labels, drawn
    # on no box, see-through.
    for label in lines + [title]:
        assert tuple(label.color[:3]) == (255, 255, 255)
        assert label.background is not None and max(label.background[:3]) < 64
        assert label.background[3] > 128
    assert key.label_rgba[3] == 0


def test_the_demo_has_categories_nothing_draws(demo):
    """The case the issue saw: a class with no object, or none with regions."""
    assert expected_categories(demo, 'axonclass', 'axon_class', 'axon_classes')[1]
    assert expected_categories(demo, 'dendriteclass', 'dendrite_class',
                               'dendrite_classes')[1]


def test_class_key_counts_the_objects(session, run, demo, opened):
    run('connectome color #2 map #1 key true')
    objects = demo['expected']['objects']
    want = ['%s (%d)' % (n, np.count_nonzero(np.unique(objects[n])))
            for n in ('axon', 'dendrite', 'spinehead')]
    assert [l.text for l in key_lines(session, 'connectome_key')[0]] == want
    # Replaced by a colouring without a key: key and labels gone.
    with LogCapture(session) as log:
        run('connectome color #2 map #1')
    k = log.commands.index('key delete')
    assert log.commands[k + 1].startswith('2dlabels delete')
    assert key_lines(session, 'connectome_key') == ([], None)


def test_synapse_markers_have_a_key_by_type(session, run, demo):
    t = demo['expected']
    model = run('connectome synapses %s' % demo['seg'])
    lines, title = key_lines(session, 'connectome_marker_synapses')
    assert title.text == 'synapses by type'
    counts = np.bincount(t['synapse_type'], minlength=len(t['synapse_types']) + 1)
    want = ['%s (%d)' % (n, counts[code]) for code, n in enumerate(t['synapse_types'], 1)
            if counts[code]]
    assert [l.text for l in lines] == want
    # Each line on a box of its synapses' colour: the markers' colours, one per type.
    colors = {tuple(c) for c in model.atoms.colors}
    assert {tuple(l.background) for l in lines} == colors
    assert len(colors) == len(want)


def test_skeletons_by_class_have_a_key_below_the_synapses(session, run, demo):
    t = demo['expected']
    run('connectome synapses %s' % demo['seg'])
    model = run('connectome skeletons %s axon all color axonclass' % demo['seg'])
    lines, title = key_lines(session, 'connectome_marker_skeletons')
    assert title.text == 'axon skeletons by axonclass'
    counts = np.bincount(t['axon_class'], minlength=len(t['axon_classes']) + 1)
    assert [l.text for l in lines] == ['%s (%d)' % (n, counts[code]) for code, n in
                                       enumerate(t['axon_classes'], 1) if counts[code]]
    drawn = {tuple(int(v) for v in m.atoms.colors[0]) for m in model.child_models()}
    assert {tuple(int(v) for v in l.background) for l in lines} == drawn
    # Two keys of markers on one side of the window are one above the other.
    synapses, synapse_title = key_lines(session, 'connectome_marker_synapses')
    keys = [synapses + [synapse_title], lines + [title]]
    sides = [{l.xpos < 0.5 for l in k} for k in keys]
    assert all(len(s) == 1 for s in sides)
    if sides[0] == sides[1]:
        assert min(l.ypos for l in keys[0]) > max(l.ypos for l in keys[1])


def test_synapse_types_share_no_colour_with_classes_or_categories(session):
    from chimerax.core.colors import BuiltinColormaps, Color
    from chimerax.connectome.pipeline.classes import CLASS_COLORS, OTHER_COLORS
    from chimerax.connectome.session.coloring import SYNAPSE_TYPE_COLORS, category_colors
    types = {Color(c).uint8x4().tobytes() for c in SYNAPSE_TYPE_COLORS}
    others = {Color(c).uint8x4().tobytes() for c in
              list(CLASS_COLORS.values()) + list(OTHER_COLORS)}
    set1 = len(BuiltinColormaps['set1'].colors)
    others |= {np.asarray(c, np.uint8).tobytes() for c in category_colors(set1)}
    assert len(types) == len(SYNAPSE_TYPE_COLORS) and not types & others


@pytest.mark.parametrize('show', ['surfaces,synapses', 'map,surfaces,synapses'])
def test_partners_scene_gives_no_colour_two_meanings(session, run, demo, opened, show):
    """`partners ... show surfaces,synapses` drew the synapses in their axon's colour, so
    they read as boutons; now by type, with a key each for the partners (map and
    surfaces) and the synapses."""
    image, seg = opened
    with LogCapture(session) as log:
        run('connectome partners #2 neuron 1 show %s' % show)
    synapses = [c for c in log.commands if c.startswith('connectome synapses #2 ')]
    assert synapses and all(c.endswith(' color type') for c in synapses)
    map_lines, map_title = key_lines(session, 'connectome_key')
    assert map_title.text == 'partners of neuron 1' and map_lines
    map_colors = {rgba8(c) for c, label in color_key(session).rgbas_and_labels if label}
    assert len(map_colors) == len(map_lines)            # one meaning per colour
    syn_lines, _ = key_lines(session, 'connectome_marker_synapses')
    syn_colors = {tuple(int(v) for v in l.background) for l in syn_lines}
    assert syn_colors and not map_colors & syn_colors
    # What is drawn has the keys' colours: the surfaces the map's, the markers the
    # synapses'.
    from chimerax.markers import MarkerSet
    markers = [m for m in session.models.list(type=MarkerSet)
               if m.name.startswith('synapses')]
    drawn = {tuple(int(v) for v in c) for m in markers for c in m.atoms.colors}
    assert drawn == syn_colors
    surfaces = [m for c in log.commands if c.startswith('segmentation surfaces')
                for m in run(c, log=False)]
    assert surfaces
    for s in surfaces:
        assert tuple(int(v) for v in s.color) in map_colors
    # The map's counts: each line's partners, together every partner.
    total = sum(int(l.text.rsplit('(', 1)[1].rstrip(')')) for l in map_lines)
    rows = demo['expected']['partners_axon_neuron']
    assert total == len({int(a) for a, p, n in rows if p == 1})


def test_key_sits_off_the_data_where_the_window_has_room(session, run, demo, opened):
    """Keys sat over the EM data; now at the side of the window the data leaves free
    (here the demo's missing tile, at the lower right of the middle plane)."""
    image, seg = opened
    size = tuple(session.main_view.window_size)
    run('windowsize 800 600')               # make demo's
    try:
        _key_off_the_data(session, run, image)
    finally:
        run('windowsize %d %d' % size)


def _key_off_the_data(session, run, image):
    nx, ny, nz = image.data.size
    run('volume #2 hide; volume #1 style image region 0,0,%d,%d,%d,%d step 1 colorMode auto8;'
        ' view; camera ortho' % (nz // 2, nx - 1, ny - 1, nz // 2))
    run('connectome color #2 dendriteclass map #1')
    picture = session.main_view.image_rgba(transparent_background=True)[:, :, 3] > 0
    h, w = picture.shape                    # rows from the bottom
    # The data covers the lower left, where the key always went.
    assert picture[int(0.05 * h):int(0.5 * h), int(0.03 * w):int(0.35 * w)].mean() > 0.3
    run('connectome color #2 dendriteclass map #1 key true')
    key = color_key(session)
    (x, y), (kw, kh) = key.pos, key.size
    under = picture[int(y * h):int((y + kh) * h), int(x * w):int((x + kw) * w)]
    assert under.size and under.mean() < 0.02
    lines, title = key_lines(session, 'connectome_key')
    for label in lines + [title]:
        assert not picture[int(label.ypos * h) + 2, int(label.xpos * w) + 2], label.text


def drawn(session, only):
    """Pixels of a window-sized picture that show the data (keys hidden) or the keys
    (the rest hidden), rows from the bottom."""
    from chimerax.connectome.session import keys
    return keys.drawn_pixels(session, only)


@pytest.fixture
def wide(session):
    """A window the size of the guide's pictures.  ``windowsize`` without a GUI sets the
    size the labels are scaled for but not the size drawn (real ChimeraX offscreen too),
    so the view is resized as the app's window resizes it."""
    view = session.main_view
    size = tuple(view.window_size)
    view.resize(640, 480)
    yield
    view.resize(*size)


def test_key_never_over_the_data_where_no_corner_is_free(session, run, demo, opened, wide):
    """The guide's picture of dendrite classes: the EM plane fills the window's height and
    the key, in the emptier corner, still sat over it.  Now the view makes room (logged
    move and zoom), and no pixel of the key is over a pixel of the data."""
    image, seg = opened
    nx, ny, nz = image.data.size
    # The upper half of the middle plane (the missing tile is in the lower), wider
    # than the window: no corner is free.
    run('volume #2 hide; volume #1 style image region 0,%d,%d,%d,%d,%d step 1;'
        ' camera ortho; wait 1' % (ny // 2, nz // 2, nx - 1, ny - 1, nz // 2))
    session.main_view.image_rgba()        # the plane's new extent, drawn
    run('view; zoom 1.3')
    data = drawn(session, 'data')
    h, w = data.shape
    for x0, x1 in ((0.03, 0.3), (0.7, 0.97)):
        assert data[int(0.1 * h):int(0.45 * h), int(x0 * w):int(x1 * w)].all()
    before = int(data.sum())
    with LogCapture(session) as log:
        run('connectome color #2 dendriteclass map #1 key true')
    assert any(c.startswith('move x ') for c in log.commands), log.commands
    data, keys = drawn(session, 'data'), drawn(session, 'keys')
    assert keys.sum() > 0 and not (data & keys).any()
    # The data is all there, smaller: none of it is cut by the window's edges.
    columns, rows = np.flatnonzero(data.any(axis=0)), np.flatnonzero(data.any(axis=1))
    assert 0 < columns[0] and columns[-1] < w - 1 and 0 < rows[0] and rows[-1] < h - 1
    assert 0 < data.sum() < before
    # A second key of markers on the other side keeps both off the data.
    run('connectome synapses #2')
    data, keys = drawn(session, 'data'), drawn(session, 'keys')
    assert key_lines(session, 'connectome_marker_synapses')[0]
    assert not (data & keys).any()


def test_keys_of_a_3d_scene_never_over_the_data(session, run, demo, opened, wide):
    """A perspective view of surfaces that fills the window, with the partners' key,
    the synapses' and the skeletons': each placed off what is drawn."""
    run('volume #1 hide; segmentation surfaces #2 where neuron=1 color yellow')
    run('view; zoom 1.3')
    data = drawn(session, 'data')
    assert data[:, :int(0.3 * data.shape[1])].any() and \
        data[:, int(0.7 * data.shape[1]):].any()
    run('connectome partners #2 neuron 1 direction in show surfaces,synapses,skeletons')
    data, keys = drawn(session, 'data'), drawn(session, 'keys')
    for name in ('connectome_key', 'connectome_marker_synapses',
                 'connectome_marker_skeletons'):
        assert key_lines(session, name)[0], name
    assert keys.sum() > 0 and not (data & keys).any()


def test_palette_names_are_chimerax_colours(session):
    """pipeline/classes.py measures colour distances without ChimeraX, on its own table
    of the names' sRGB: ChimeraX's colours of those names."""
    from chimerax.core.colors import Color
    from chimerax.connectome.pipeline.classes import NAMED_RGB
    for name, rgb in NAMED_RGB.items():
        assert tuple(Color(name).uint8x4()[:3]) == rgb, name


def test_a_partners_scene_of_axons_dendrites_and_synapses_gives_a_colour_one_meaning(
        session, run, demo, opened):
    """Neuron 1 in yellow with the axons onto it, and axon 5 with the dendrites and
    spine heads it is presynaptic to, as surfaces, skeletons and synapses: axon and
    dendrite classes shared set1, so one colour could mean an axon class and a dendrite
    class.  Every colour on screen now has one meaning, and no two look alike."""
    from chimerax.core.colors import Color
    from chimerax.core.models import Surface
    from chimerax.connectome.pipeline.classes import MIN_DISTANCE, lab
    meanings = {}

    def meaning(color, what):
        rgb = tuple(int(v) for v in Color(color).uint8x4()[:3]) \
            if isinstance(color, str) else tuple(int(v) for v in color[:3])
        meanings.setdefault(rgb, set()).add(what)

    def read_keys():
        """The meaning of each colour the keys name now."""
        nouns = {'axon': 'axon', 'axons': 'axon', 'dendrite': 'dendrite',
                 'dendrites': 'dendrite', 'head': 'spinehead', 'heads': 'spinehead'}
        for rgba, label in color_key(session).rgbas_and_labels:
            if label:
                text = label.rsplit(' (', 1)[0].replace('spine head', 'spine_head')
                category, noun = text.rsplit(' ', 1)
                noun = nouns[noun.replace('spine_', '')]
                meaning(rgba8(rgba), noun if category == 'no class' else category)
        for name in ('connectome_marker_skeletons', 'connectome_marker_synapses'):
            lines, title = key_lines(session, name)
            assert lines, name
            for l in lines:
                text = l.text.rsplit(' (', 1)[0]
                kind = {'no axonclass': 'axon', 'no dendriteclass': 'dendrite'}.get(text, text)
                meaning(l.background, ('synapse', kind) if 'synapses' in name else kind)

    run('segmentation surfaces #2 where neuron=1 color yellow')
    meaning('yellow', 'neuron')
    run('connectome partners #2 neuron 1 show surfaces,skeletons,synapses')
    read_keys()
    run('connectome partners #2 axon 5 show surfaces,skeletons,synapses')
    read_keys()
    # Both kinds of partner are drawn (else the test could not fail) ...
    t = demo['expected']
    shown = set.union(*meanings.values())
    assert shown & set(t['axon_classes']) and shown & set(t['dendrite_classes']), shown
    # ... every surface in a colour a key names ...
    drawn = {tuple(int(v) for v in s.color[:3]) for s in session.models.list(type=Surface)
             if type(s) is Surface and s.triangles is not None and len(s.triangles)}
    assert drawn and drawn <= set(meanings), (drawn, meanings)
    # ... one meaning per colour, and colours that look apart.
    assert all(len(m) == 1 for m in meanings.values()), meanings
    colors = list(meanings)
    for i, a in enumerate(colors):
        for b in colors[i + 1:]:
            d = float(np.linalg.norm(lab(a) - lab(b)))
            assert d >= MIN_DISTANCE, (meanings[a], meanings[b], d)


def key_counts(session, name):
    return [l.text for l in key_lines(session, name)[0]]


def test_keys_go_with_their_models(session, run, demo, opened):
    """A synapse key stayed when its markers were closed.  Now each key goes with the
    last model drawn in its colours, and a key of markers recounts the models left."""
    from chimerax.color_key.model import ColorKeyModel
    t = demo['expected']
    five = run('connectome synapses #2 of axon 5')
    two = run('connectome synapses #2 of axon 2')
    both = key_counts(session, 'connectome_marker_synapses')
    run('close %s' % five.atomspec)
    types = t['synapse_type'][t['synapse_axon'] == 2]
    counts = np.bincount(types, minlength=len(t['synapse_types']) + 1)
    assert key_counts(session, 'connectome_marker_synapses') == [
        '%s (%d)' % (n, counts[c]) for c, n in enumerate(t['synapse_types'], 1) if counts[c]]
    assert key_counts(session, 'connectome_marker_synapses') != both
    run('close %s' % two.atomspec)
    assert key_lines(session, 'connectome_marker_synapses') == ([], None)

    skeletons = run('connectome skeletons #2 axon 1-3 color axonclass')
    assert key_lines(session, 'connectome_marker_skeletons')[0]
    run('close %s' % skeletons.atomspec)
    assert key_lines(session, 'connectome_marker_skeletons') == ([], None)

    run('connectome color #2 axonclass map #1 key true')
    assert key_lines(session, 'connectome_key')[0]
    run('close #1')
    assert key_lines(session, 'connectome_key') == ([], None)
    assert not session.models.list(type=ColorKeyModel)


def test_a_partners_key_goes_with_their_surfaces(session, run, demo, opened):
    from chimerax.core.models import Surface
    before = set(session.models.list())
    run('connectome partners #2 neuron 1 show surfaces')
    assert key_lines(session, 'connectome_key')[0]
    made = [m for m in session.models.list(type=Surface) if m not in before]
    assert made
    run('close %s' % ' '.join(m.atomspec for m in made[:-1]))
    assert key_lines(session, 'connectome_key')[0]          # some partners still drawn
    run('close %s' % made[-1].atomspec)
    assert key_lines(session, 'connectome_key') == ([], None)
