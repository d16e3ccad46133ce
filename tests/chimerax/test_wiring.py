"""The connectome in real ChimeraX, on the demo's files in the authors' layout: `connectome
ids SEG FOLDER` keeps the wiring; `connectome synapses` puts markers at the truth's
synapse positions in scene coordinates, coloured by type, filtered as asked, saved and
reopened by ChimeraX's own .cmm writer and reader, drawn at the right pixels, and as one
instanced model beyond markerLimit; `connectome skeletons` gives marker sets (or tubes)
at the truth's nodes and edges; `connectome partners` logs the truth's synapse counts and
shows the partners; `connectome show` centres on an object; `from FOLDER` overrides the
remembered folder; the panel's wiring row runs the same commands."""

import os
import re
import shutil
import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pytest

import killpoints
from segfixtures import LogCapture, combined_demo, settings, window_xy  # noqa: F401
from chimerax.connectome.demo import read_authors_truth, read_truth
from chimerax.connectome.pipeline.attributefile import AttributeFile

from segfixtures import DEMO_VOXEL as VOXEL


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    from chimerax.core.commands import run
    s = _process_session
    root = tmp_path_factory.mktemp('wiring')
    data = combined_demo(s, root, seed=7)
    shutil.copy(root / 'segmentation.cmap', root / 'bare.cmap')
    folder = data / 'objects' / 'authors'
    run(s, 'connectome ids %s %s' % (root / 'segmentation.cmap', folder))
    return dict(root=root, folder=folder, truth=read_truth(data),
                expected=read_authors_truth(data), seg=root / 'segmentation.cmap',
                bare=root / 'bare.cmap', image=root / 'image.cmap')


def scene(voxels):
    """Scene coordinates of 0-based voxel indices x, y, z: combine's origin 0, step VOXEL."""
    return np.asarray(voxels, float) * np.array(VOXEL)


def markers_by_id(model):
    atoms = model.atoms
    return dict(zip(atoms.residues.numbers.tolist(), atoms.scene_coords))


def test_synapse_markers_at_the_truth_in_scene_coordinates(session, run, demo, tmp_path):
    from chimerax.markers import MarkerSet
    t = demo['expected']
    with LogCapture(session) as log:
        model = run('connectome synapses %s' % demo['seg'])
    assert isinstance(model, MarkerSet)
    n = t['synapse_type'].size
    assert 'Drew %d of %d synapses as markers #1, colored by type' % (n, n) in log.text
    placed = markers_by_id(model)
    assert sorted(placed) == list(range(1, n + 1))
    expected = scene(t['synapse_contact'])
    for k in range(1, n + 1):
        assert np.allclose(placed[k], expected[k - 1], atol=1e-3), k
    # Coloured by type: the synapse types' own colours in code order (issue 25: in
    # ColorBrewer set1, as categories of objects, a type read as an axon class).
    from chimerax.core.colors import Color
    from chimerax.connectome.session.coloring import SYNAPSE_TYPE_COLORS
    types = [tuple(Color(c).uint8x4()) for c in SYNAPSE_TYPE_COLORS]
    colors = dict(zip(model.atoms.residues.numbers.tolist(), model.atoms.colors))
    for k in range(1, n + 1):
        assert tuple(colors[k]) == types[t['synapse_type'][k - 1] - 1], k

    # ChimeraX's own marker file: written, every id and position there, and opened again.
    path = tmp_path / 'synapses.cmm'
    run('save %s models %s' % (path, model.atomspec))
    markers = ET.parse(path).getroot().findall('marker')
    assert sorted(int(m.get('id')) for m in markers) == list(range(1, n + 1))
    for m in markers:
        xyz = [float(m.get(c)) for c in 'xyz']
        assert np.allclose(xyz, expected[int(m.get('id')) - 1], rtol=1e-4, atol=0.05)
    run('close')
    (reopened,) = run('open %s' % path)
    again = markers_by_id(reopened)
    for k in range(1, n + 1):
        assert np.allclose(again[k], expected[k - 1], rtol=1e-4, atol=0.05)


def test_filters_pick_what_the_truth_says(session, run, demo):
    t = demo['expected']
    onto = t['synapse_neuron'] == 1
    # Two of the axons onto neuron 1 and one axon that is not.
    axons = sorted(set(t['synapse_axon'][onto].tolist()))[:2] + \
        sorted(set(t['synapse_axon'][~onto].tolist()) - {0})[:1]
    model = run('connectome synapses %s of axon %s onto neuron 1 type primaryspine'
                ' color red radius 40' % (demo['seg'], ','.join(map(str, axons))))
    want = np.flatnonzero(np.isin(t['synapse_axon'], axons) & onto
                          & (t['synapse_type'] == 1)) + 1
    assert want.size
    assert sorted(markers_by_id(model)) == want.tolist()
    assert (model.atoms.colors == (255, 0, 0, 255)).all()
    assert np.allclose(model.atoms.radii, 40)
    mine = [a for a in sorted(set(t['synapse_axon'].tolist()) - {0})
            if not (onto & (t['synapse_axon'] == a)).any()]
    with LogCapture(session) as log:
        assert run('connectome synapses %s of axon %d onto neuron 1' % (demo['seg'],
                                                                        mine[0])) is None
    assert 'No synapse of the %d is of axon %d onto neuron 1: nothing drawn' % (
        t['synapse_type'].size, mine[0]) in log.text
    # Sized by ASI area: radius * sqrt(area / median area); no area: half the radius.
    model = run('connectome synapses %s radius 50 sizeBy asiarea' % demo['seg'])
    asi = t['synapse_asi']
    known = np.isfinite(asi)
    radii = dict(zip(model.atoms.residues.numbers.tolist(), model.atoms.radii))
    median = np.median(asi[known])
    for k in range(1, asi.size + 1):
        want_r = 50 * np.sqrt(asi[k - 1] / median) if known[k - 1] else 25
        assert radii[k] == pytest.approx(want_r, rel=1e-5)
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='connectome synapses: no neuron has id 99'):
        run('connectome synapses %s onto neuron 99' % demo['seg'])
    with pytest.raises(UserError, match='no synapse type spiny; the types are primaryspine'):
        run('connectome synapses %s type spiny' % demo['seg'])
    with pytest.raises(UserError, match='connectome partners: no neuron has id 99'):
        run('connectome partners %s neuron 99' % demo['seg'])
    with pytest.raises(UserError, match='connectome partners: give one axon id, not 1-2'):
        run('connectome partners %s axon 1-2' % demo['seg'])
    with pytest.raises(UserError, match='connectome partners: glia is not a partner class'):
        run('connectome partners %s glia 1' % demo['seg'])
    # The files do not say how many spine heads there are: one past those on synapses
    # may exist, and has no synapses.
    past = int(t['synapse_spinehead'].max()) + 1
    assert not run('connectome partners %s spinehead %d' % (demo['seg'], past)).rows
    assert run('connectome synapses %s onto spinehead %d' % (demo['seg'], past)) is None
    for bad in ('0', '-5', 'nan', 'inf'):
        with pytest.raises(UserError, match='radius must be a positive number, not %s' % bad):
            run('connectome synapses %s radius %s' % (demo['seg'], bad))
        with pytest.raises(UserError, match='radius must be a positive number, not %s' % bad):
            run('connectome skeletons %s axon 1 radius %s' % (demo['seg'], bad))


def test_markers_drawn_at_the_right_pixels(session, run, demo):
    t = demo['expected']
    (seg,) = run('open %s' % demo['seg'])
    run('volume #1 hide')
    model = run('connectome synapses #1 color magenta radius 60')
    run('view; camera ortho; lighting flat; graphics silhouettes false; wait 1')
    rgba = session.main_view.image_rgba()[::-1]      # rows from the top
    h, w = rgba.shape[:2]
    hits = 0
    for xyz in scene(t['synapse_contact']):
        x, y = window_xy(session, xyz)
        if 0 <= x < w and 0 <= y < h:
            r, g, b = (int(c) for c in rgba[y, x, :3])
            assert r > 150 and b > 150 and g < 80, (x, y, (r, g, b))
            hits += 1
    assert hits == t['synapse_type'].size
    # Away from every marker: the black background.
    pixels = np.array([window_xy(session, p) for p in scene(t['synapse_contact'])])
    far = np.array([0, 0])
    for corner in ([2, 2], [w - 3, 2], [2, h - 3], [w - 3, h - 3]):
        if np.min(np.abs(pixels - corner).max(axis=1)) > 40:
            far = corner
            break
    assert tuple(rgba[far[1], far[0], :3]) == (0, 0, 0)
    assert model.display


def test_beyond_the_marker_limit_one_instanced_model(session, run, demo):
    from chimerax.markers import MarkerSet
    t = demo['expected']
    with LogCapture(session) as log:
        model = run('connectome synapses %s markerLimit 3' % demo['seg'])
    assert not isinstance(model, MarkerSet)
    assert 'one instanced model (more than markerLimit 3' in log.text
    positions = model.positions.array()[:, :, 3]
    assert np.allclose(positions, scene(t['synapse_contact']), atol=1e-3)
    assert np.array_equal(model.synapse_ids, np.arange(1, t['synapse_type'].size + 1))


def test_skeletons_at_the_truth_nodes_and_edges(session, run, demo, tmp_path):
    from chimerax.markers import MarkerSet
    t = demo['expected']
    counts = t['axon_skeleton_node_counts']
    nodes = np.split(t['axon_skeleton_nodes'], np.cumsum(counts)[:-1])
    edges = np.split(t['axon_skeleton_edges'],
                     np.cumsum(t['axon_skeleton_edge_counts'])[:-1])
    parent = run('connectome skeletons %s axon all' % demo['seg'])
    sets = [m for m in parent.child_models() if isinstance(m, MarkerSet)]
    assert [m.name for m in sets] == ['axon %d skeleton' % k
                                      for k in range(1, counts.size + 1)]
    for k, m in enumerate(sets):
        placed = markers_by_id(m)
        assert np.allclose([placed[i] for i in sorted(placed)], scene(nodes[k] - 1),
                           atol=1e-3)
        links = {tuple(sorted(int(a.residue.number) for a in b.atoms)) for b in m.bonds}
        assert links == {tuple(sorted(e)) for e in edges[k].tolist()}
    # One skeleton per marker set in ChimeraX's marker file, links included.
    path = tmp_path / 'skeletons.cmm'
    run('save %s' % path)
    written = ET.parse(path).getroot().findall('marker_set')
    assert len(written) == counts.size
    assert sum(len(s.findall('link')) for s in written) == t['axon_skeleton_edges'].shape[0]
    # A neuron's skeleton: its dendrites; with a low markerLimit one model of tubes.
    dendrites = np.flatnonzero(t['dendrite_neuron'] == 1) + 1
    model = run('connectome skeletons %s neuron 1 color red' % demo['seg'])
    if len(dendrites) > 1:
        assert sorted(m.name for m in model.child_models()) == sorted(
            'dendrite %d skeleton' % d for d in dendrites)
    tubes = run('connectome skeletons %s axon 1-5 markerLimit 10' % demo['seg'])
    assert not isinstance(tubes, MarkerSet)
    assert len(tubes.positions) == int(t['axon_skeleton_edge_counts'][:5].sum())
    # Each tube joins two nodes of the truth: its centre is their midpoint.
    first = scene(nodes[0] - 1)
    centres = tubes.positions.array()[:, :, 3]
    e = edges[0] - 1
    assert np.allclose(centres[:len(e)], 0.5 * (first[e[:, 0]] + first[e[:, 1]]), atol=1e-2)


def test_partner_tables_are_the_truth(session, run, demo):
    t = demo['expected']
    for name, key in (('neuron', 'partners_axon_neuron'),
                      ('dendrite', 'partners_axon_dendrite')):
        rows = t[key]
        for object_id in sorted(set(rows[:, 1].tolist())):
            with LogCapture(session) as log:
                run('connectome partners %s %s %d direction in' % (demo['seg'], name,
                                                                   object_id))
            lines = [line.split() for line in log.text.splitlines()
                     if line.startswith('    axon ')]
            got = {int(w[1]): int(w[2]) for w in lines}
            want = {int(a): int(n) for a, p, n in rows if p == object_id}
            assert got == want, (name, object_id)
    axon = int(t['partners_axon_dendrite'][0, 0])
    with LogCapture(session) as log:
        table = run('connectome partners %s axon %d' % (demo['seg'], axon))
    want = {int(p): int(n) for a, p, n in t['partners_axon_dendrite'] if a == axon}
    assert {r.id: r.synapses for r in table.rows} == want
    assert 'axon %d: no inputs' % axon in log.text


def test_partners_shown_with_logged_commands(session, run, demo):
    t = demo['expected']
    (image,) = run('open %s' % demo['image'])
    (seg,) = run('open %s' % demo['seg'])
    rows = t['partners_axon_neuron']
    axons = sorted(int(a) for a, p, n in rows if p == 1)
    with LogCapture(session) as log:
        run('connectome partners #2 neuron 1 show map,surfaces,skeletons,synapses')
    commands = log.commands
    assert commands[0].startswith('connectome partners #2 neuron 1 show')
    assert any(c.startswith('segmentation surfaces #2 where axon=') for c in commands)
    skeletons = [c for c in commands if c.startswith('connectome skeletons #2 axon ')]
    synapses = [c for c in commands if c.startswith('connectome synapses #2 of axon ')]
    assert len(skeletons) == 1 and len(synapses) == 1
    # By type (issue 25): in their axon's colour synapses read as boutons.
    assert synapses[0].endswith('onto neuron 1 color type')
    from chimerax.markers import MarkerSet
    markers = [m for m in session.models.list(type=MarkerSet) if m.name.startswith('synapses')]
    want = np.flatnonzero(np.isin(t['synapse_axon'], axons) & (t['synapse_neuron'] == 1)) + 1
    assert sorted(markers_by_id(markers[0])) == want.tolist()
    from chimerax.connectome.session import compat
    assert compat.has_segmentation_colors(image)


def test_partners_map_colored_as_connectome_color(session, run, demo):
    """`partners ... show map` colours the EM map the one way `connectome color` does:
    the map shown in image style, the segmentation hidden, the colour key of the
    colouring it replaces removed (replaced by the partners' own key, issue 25: every
    colouring has a key); the partners' regions in their category colour."""
    t = demo['expected']
    (image,) = run('open %s' % demo['image'])
    (seg,) = run('open %s' % demo['seg'])
    run('connectome color #2 axonclass key true')
    run('volume #1 style surface')
    run('volume #2 show')
    with LogCapture(session) as log:
        run('connectome partners #2 neuron 1 show map')
    assert 'Colored the partners on #1 by their class' in log.text
    assert log.commands[1:3] == ['volume #2 hide', 'volume #1 show style image']
    k = log.commands.index('key delete')
    assert log.commands[k + 1].startswith('2dlabels delete')
    from chimerax.label.label2d import find_label
    assert find_label(session, 'connectome_key').text == 'partners of neuron 1'
    # Shown in image style (drawn already: the key looked for a place off the data).
    assert image.display and (image.image_will_show or image.image_shown)
    assert not image.surface_shown
    assert not seg.display
    from chimerax.connectome.session import compat
    rgba = compat.segmentation_rgba(image)
    axons = sorted(int(a) for a, p, n in t['partners_axon_neuron'] if p == 1)
    regions = np.flatnonzero(np.isin(t['objects']['axon'], axons))
    assert regions.size and (rgba[regions, :3] != 255).any(axis=1).all()
    assert tuple(rgba[0]) == (255, 255, 255, 255)


def test_show_centres_on_the_object(session, run, demo):
    t = demo['expected']
    (image,) = run('open %s' % demo['image'])
    (seg,) = run('open %s' % demo['seg'])
    regions = np.flatnonzero(t['objects']['neuron'] == 1)
    with h5py.File(demo['folder'] / 'segments.hdf5', 'r') as f:
        xyz = f['/segments/position'][()].T[regions - 1] - 1.0
    with LogCapture(session) as log:
        surfaces = run('connectome show #2 neuron 1 padding 4')
    assert surfaces and all(s.display for s in surfaces)
    centre = scene(xyz.mean(axis=0))
    cofr = session.main_view.center_of_rotation
    assert np.allclose(cofr, scene(np.clip(np.rint(xyz.mean(axis=0)), 0, None)), atol=1e-3)
    assert np.linalg.norm(cofr - centre) < max(VOXEL)
    low = np.maximum(np.floor(xyz.min(axis=0)) - 4, 0)
    assert 'from /segments/position' in log.text
    high = np.minimum(np.ceil(xyz.max(axis=0)) + 4, np.array(image.data.size) - 1)
    centre_k = int(np.rint(xyz.mean(axis=0))[2])
    # The EM plane through the centre, across the box, at full resolution.
    assert tuple(image.region[0]) == (int(low[0]), int(low[1]), centre_k)
    assert tuple(image.region[1]) == (int(high[0]), int(high[1]), centre_k)
    assert tuple(image.region[2]) == (1, 1, 1)
    assert any(c.startswith('segmentation surfaces #2 where neuron=1 region ')
               for c in log.commands)
    # Seen obliquely (issue 25 item 8), not straight down z at the soma.
    direction = session.main_view.camera.view_direction()
    assert 0.3 < abs(direction[2]) < 0.8, direction
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='connectome show: map and segmentation are both #2'):
        run('connectome show #2 neuron 1 map #2')


def test_show_without_segments_finds_the_object_in_the_voxels(session, run, demo, tmp_path):
    """No folder of the authors' files known: the object's box comes from the voxels of
    a subsampled copy of the segmentation."""
    t = demo['expected']
    (seg,) = run('open %s' % demo['bare'])
    labels = seg.full_matrix()
    seg.neuron = t['objects']['neuron'].astype(np.int32)
    mine = np.flatnonzero(seg.neuron == 1)
    with LogCapture(session) as log:
        run('connectome show #1 neuron 1 padding 0')
    found = re.search(r'from the voxels at step (\d+)\); box ([\d,]+),', log.text)
    step = int(found.group(1))
    box = np.array([int(v) for v in found.group(2).split(',')])
    # The object's box at full resolution, which the subsampled copy finds to within a
    # step (its thinnest parts may not show there).
    zyx = np.argwhere(np.isin(labels, mine))
    low, high = zyx.min(axis=0)[::-1], zyx.max(axis=0)[::-1]
    assert step > 1
    assert (np.abs(box[:3] - low) <= 2 * step).all(), (box, low, high)
    assert (np.abs(box[3:] - high) <= 2 * step).all(), (box, low, high)
    # A folder given with from must be the authors'.
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='connectome show: .* holds none of the authors\''
                       ' object files'):
        run('connectome show #1 neuron 1 from %s' % tmp_path)


def test_from_folder_overrides_and_a_segmentation_without_wiring(session, run, demo,
                                                                  tmp_path):
    from chimerax.core.errors import UserError
    t = demo['expected']
    with pytest.raises(UserError, match='has no wiring: run connectome ids bare.cmap FOLDER'):
        run('connectome synapses %s' % demo['bare'])
    folder = tmp_path / 'moved'
    shutil.copytree(demo['folder'], folder)
    with h5py.File(folder / 'synapses.hdf5', 'a') as f:
        p = f['/synapses/synPosition']
        p[0] = p[0] + 2                 # every synapse 2 voxels further along x
    model = run('connectome synapses %s from %s' % (demo['bare'], folder))
    want = scene(t['synapse_contact'] + [2, 0, 0])
    placed = markers_by_id(model)
    assert all(np.allclose(placed[k], want[k - 1], atol=1e-3) for k in placed)
    # The kept wiring is the one connectome ids read; a changed file is noted.
    os.utime(demo['folder'] / 'axons.hdf5')
    with LogCapture(session) as log:
        run('connectome partners %s neuron 1' % demo['seg'])
    assert 'Note: axons.hdf5 changed' in log.text
    assert AttributeFile(demo['seg']).wiring().folder == str(demo['folder'])


def test_find_attribute_still_finds_one_array(session, run, demo):
    (seg,) = run('open %s' % demo['seg'])
    for name in ('axon', 'neuron', 'presynapse'):
        assert np.array_equal(seg.data.find_attribute(name), demo['expected']['objects'][name])
    from chimerax.connectome.session.classes import segmentation_classes
    assert '.synapse_ids' not in segmentation_classes(seg)
    assert all(not n.startswith('.') for n in segmentation_classes(seg))


def test_panel_wiring_row_runs_the_commands(session, run, demo, window, settings):
    (image,) = run('open %s' % demo['image'])
    (seg,) = run('open %s' % demo['seg'])
    panel = run('connectome panel')
    try:
        panel.object_field.setText('neuron 1')
        panel.partners_menu.setCurrentIndex(1)      # and their synapses
        with LogCapture(session) as log:
            panel.partners_button.click()
            panel.synapses_button.click()
            panel.skeleton_button.click()
            panel.go_button.click()
        mine = [c for c in log.commands if c.startswith('connectome ') and ' #2 ' in c]
        assert mine[0] == 'connectome partners #2 neuron 1 show synapses'
        assert 'connectome synapses #2 onto neuron 1' in mine
        assert 'connectome skeletons #2 neuron 1' in mine
        assert mine[-1] == 'connectome show #2 neuron 1'
        panel.object_field.setText('axon')
        from chimerax.core.errors import UserError
        with pytest.raises(UserError, match='type a class and one id'):
            panel.synapses_command()
    finally:
        panel.delete()


def test_kept_wiring_works_when_the_files_are_gone(session, run, demo, tmp_path):
    """Partners and synapses come from the wiring kept in the segmentation; skeletons
    need the files, and the error names the folder it remembers."""
    from chimerax.core.errors import UserError
    t = demo['expected']
    folder = tmp_path / 'authors'
    shutil.copytree(demo['folder'], folder)
    seg = tmp_path / 'seg.cmap'
    shutil.copy(demo['bare'], seg)
    run('connectome ids %s %s' % (seg, folder))
    shutil.rmtree(folder)
    model = run('connectome synapses %s' % seg)
    assert sorted(markers_by_id(model)) == list(range(1, t['synapse_type'].size + 1))
    table = run('connectome partners %s neuron 1 direction in' % seg)
    rows = t['partners_axon_neuron']
    assert {r.id: r.synapses for r in table.rows} == {int(a): int(n) for a, p, n in rows
                                                       if p == 1}
    with pytest.raises(UserError, match='remembers the authors\' files in .*authors, which'
                       ' is gone; give their folder with from FOLDER'):
        run('connectome skeletons %s axon 1' % seg)
    assert run('connectome skeletons %s axon 1 from %s' % (seg, demo['folder'])) is not None


def test_on_a_store_segmentation(session, run, demo, tmp_path):
    """A segmentation opened from a chunked store keeps its wiring in the store's
    attribute file, and its synapses are placed in the store model's scene coordinates."""
    import stores
    with h5py.File(demo['seg'], 'r') as f:
        labels = f['Chimera/image1/data_zyx'][()]
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [], resolution=VOXEL,
                                          chunk=(64, 64, 64),
                                          encoding='compressed_segmentation')
    (sv,) = run('open %s format precomputed' % path)
    run('cd %s' % demo['folder'].parent)      # a relative folder after a model spec
    run('connectome ids %s authors' % sv.atomspec)
    with h5py.File(path + '.attributes.h5', 'r') as f:
        assert '.connectome' in f['attributes']
    t = demo['expected']
    model = run('connectome synapses %s' % sv.atomspec)
    placed = markers_by_id(model)
    want = scene(t['synapse_contact']) + np.array(sv.data.origin)   # the store's
    assert sorted(placed) == list(range(1, len(want) + 1))
    assert all(np.allclose(placed[k], want[k - 1], atol=1e-3) for k in placed)
    table = run('connectome partners %s neuron 1' % sv.atomspec)
    assert {r.id: r.synapses for r in table.rows} == {
        int(a): int(n) for a, p, n in t['partners_axon_neuron'] if p == 1}
    # connectome show finds the remembered folder in the store's attribute file.
    with LogCapture(session) as log:
        run('connectome show %s neuron 1 padding 4' % sv.atomspec)
    assert 'from /segments/position of %s' % (demo['folder'] / 'segments.hdf5') in log.text


def test_ctrl_c_cancels_skeletons(session, run, demo, monkeypatch):
    """Ctrl-C while the skeletons are read stops the command with a message (not a
    traceback) and draws nothing."""
    from chimerax.connectome.formats.objectfiles import authors
    from chimerax.core.errors import UserError
    read = authors.AuthorsFile.skeletons

    def interrupted(self, *args, **kw):
        killpoints.ctrl_c()                         # the user's Ctrl-C, while reading
        return read(self, *args, **kw)
    monkeypatch.setattr(authors.AuthorsFile, 'skeletons', interrupted)
    before = len(session.models.list())
    with killpoints.ctrl_c_enabled(), \
            pytest.raises(UserError, match='connectome skeletons: cancelled; nothing was drawn'):
        run('connectome skeletons %s axon all' % demo['seg'])
    assert len(session.models.list()) == before
