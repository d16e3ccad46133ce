"""The Connectome panel in a real headless ChimeraX session with offscreen PyQt6: it lists
the segmentation's classes, its buttons run logged `connectome` commands, and the frame
ChimeraX draws then shows the chosen colours on the right voxels."""

import pytest

import segfixtures as sf
from segfixtures import LogCapture, pair, settings  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.chimerax, pytest.mark.usefixtures('window')]


@pytest.fixture
def panel(session, run, pair, settings):
    sf.open_pair(run, pair)
    p = run('connectome panel')
    yield p
    p.delete()


def test_panel_lists_models_and_classes(session, panel):
    from chimerax.connectome.ui.panel import ConnectomeTool
    assert session.tools.find_by_class(ConnectomeTool) == [panel]
    assert panel.tool_window.ui_area.isVisible()
    assert panel.image.name == 'em.cmap' and panel.segmentation.name == 'segmentation.cmap'
    assert panel.class_names == ['axon', 'dendrite', 'spinehead', 'neuron']
    truth = sf.attribute_arrays()
    for name in panel.class_names:
        n = len(set(truth[name]) - {0})
        assert panel.object_count_text(name) == '%d objects' % n
    assert panel.checked_classes == ['axon', 'dendrite', 'spinehead']
    assert [panel.class_color(n) for n in panel.class_names] == ['lime', 'red', 'blue', 'yellow']


def test_color_button_runs_logged_commands_and_colors_right_voxels(session, panel):
    panel.set_class_checked('spinehead', False)
    panel.set_class_color('dendrite', 'magenta')
    with LogCapture(session) as log:
        panel.color_button.click()
    assert log.commands == [
        'connectome color #2 map #1 attributes axon,dendrite colors lime,magenta',
        'segmentation colors #2 lime map #1 byAttribute axon',
        'segmentation colors #2 magenta map #1 byAttribute dendrite']
    drawn = sf.drawn_colors(session)
    expected = {'axon': 'lime', 'dendrite': 'magenta', 'spinehead': 'white', None: 'white'}
    for box, rgb in drawn.items():
        ids = sf.object_ids(box)
        kind = next((c for c in sf.CLASSES if ids[c]), None)
        assert sf.color_class(rgb) == expected[kind], (box, kind, rgb)

    # Checking a class recolours at once, with one logged command.
    with LogCapture(session) as log:
        panel.set_class_checked('spinehead', True)
    assert log.commands[0] == ('connectome color #2 map #1 attributes axon,dendrite,spinehead'
                               ' colors lime,magenta,blue')
    assert sf.color_class(sf.drawn_colors(session)[2]) == 'blue'     # box 2 is a spine head

    with LogCapture(session) as log:
        panel.clear_button.click()
    assert log.commands == ['connectome uncolor #1']
    assert {sf.color_class(rgb) for rgb in sf.drawn_colors(session).values()} == {'white'}


def _object_surfaces(session):
    from chimerax.core.models import Surface
    from chimerax.map import VolumeSurface
    return [s for s in session.models.list(type=Surface) if not isinstance(s, VolumeSurface)]


def test_surface_and_pick_buttons(session, panel, run):
    panel.set_class_checked('axon', False)
    panel.set_class_checked('spinehead', False)
    with LogCapture(session) as log:
        panel.surfaces_button.click()
    assert log.commands == ['connectome surfaces #2 attributes dendrite colors red',
                            'segmentation surfaces #2 where dendrite color red']
    (surface,) = _object_surfaces(session)
    assert tuple(surface.color) == (255, 0, 0, 255)
    _assert_surface_covers(surface, [b for b, _ in sf.boxes() if sf.object_ids(b)['dendrite']])

    panel.pick_field.setText('axon = 1201, 1203')
    panel.surfaces_menu.setCurrentIndex(1)          # one per object
    with LogCapture(session) as log:
        panel.pick_button.click()
    assert log.commands == ['connectome surfaces #2 where axon=1201,1203 each true',
                            'close #3',
                            'segmentation surfaces #2 where axon=1201,1203 each axon']
    surfaces = _object_surfaces(session)
    assert sorted(s.name for s in surfaces) == ['segmentation.cmap axon 1201',
                                                'segmentation.cmap axon 1203']
    for s in surfaces:
        oid = int(s.name.split()[-1])
        _assert_surface_covers(s, [b for b, _ in sf.boxes() if sf.object_ids(b)['axon'] == oid])


def _assert_surface_covers(surface, boxes):
    """The surface lies on exactly the given boxes (vertices near each, none elsewhere)."""
    import numpy as np
    ijk = (surface.scene_position * surface.vertices - np.array(sf.ORIGIN)) / np.array(sf.STEP)
    box_of_vertex = set()
    nx, ny, _ = (s // sf.BLOCK for s in sf.SIZE)
    for i, j, k in np.floor(ijk / sf.BLOCK).astype(int):
        box_of_vertex.add(k * nx * ny + j * nx + i)
    assert box_of_vertex == set(boxes)


def test_settings_persist_colours_and_choices(session, run, pair, settings):
    sf.open_pair(run, pair)
    panel = run('connectome panel')
    panel.set_class_color('axon', '#123456')
    panel.set_class_checked('neuron', True)
    panel.surfaces_menu.setCurrentIndex(1)
    # What a new ChimeraX would read from the settings file.
    from chimerax.connectome.session.settings import ConnectomeSettings
    saved = ConnectomeSettings(session, 'Connectome')
    assert saved.class_colors == {'axon': '#123456'}
    assert saved.checked_classes == ['axon', 'dendrite', 'spinehead', 'neuron']
    assert saved.surfaces_each is True
    # A new panel starts from them, and so do commands that name no colours.
    panel.delete()
    panel = run('connectome panel')
    try:
        assert panel.class_color('axon') == '#123456'
        assert panel.checked_classes == ['axon', 'dendrite', 'spinehead', 'neuron']
        assert panel.surfaces_menu.currentIndex() == 1
        run('connectome color attributes axon')
        drawn = sf.drawn_colors(session)[0]
        assert all(abs(a - b) <= 2 for a, b in zip(drawn, (0x12, 0x34, 0x56))), drawn
    finally:
        panel.delete()


def test_panel_follows_opened_and_closed_models(session, run, pair, settings):
    p = run('connectome panel')
    try:
        assert p.segmentation is None and p.class_names == []
        assert p.no_classes_label.text().startswith('Open a segmentation')
        sf.open_pair(run, pair)
        assert (p.image.name, p.segmentation.name) == ('em.cmap', 'segmentation.cmap')
        assert p.class_names == ['axon', 'dendrite', 'spinehead', 'neuron']
        run('close #2')
        assert p.segmentation is None and p.class_names == []
        from chimerax.core.errors import UserError
        with pytest.raises(UserError, match='choose an EM map and a segmentation'):
            p.color_map()
    finally:
        p.delete()


def test_panel_widget_renders(session, panel, tmp_path):
    """The panel draws offscreen at a usable size, with the class colour swatches."""
    widget = panel.tool_window.ui_area
    widget.adjustSize()
    image = widget.grab().toImage()
    assert image.width() > 200 and image.height() > 150
    swatch = panel._class_rows['dendrite'].swatch
    centre = swatch.mapTo(widget, swatch.rect().center())
    c = image.pixelColor(centre)
    # Red, as the widget style draws a red button face.
    assert c.red() > 200 and c.green() < c.red() - 100 and c.blue() < c.red() - 100, c.name()


def test_help_button_finds_panel_page(session, panel, monkeypatch):
    import os
    import webbrowser
    from urllib.parse import urlparse
    from urllib.request import url2pathname
    from cxrun import REPO
    opened = []
    monkeypatch.setattr(webbrowser, 'open', lambda url, *a, **k: opened.append(url))
    panel.display_help()
    (url,) = opened
    page = url2pathname(urlparse(url).path)
    tools = os.path.join(REPO, 'src', 'docs', 'user', 'tools')
    assert os.path.samefile(page, os.path.join(tools, 'connectome.html'))
    import re
    for src in re.findall(r'src="([^"]+)"', open(page).read()):
        assert os.path.exists(os.path.join(tools, src)), src


def test_panel_reads_no_full_volume(session, run, pair, settings, monkeypatch):
    """At full scale a segmentation is terabytes: listing classes, counting objects,
    coloring a plane and the readout read its 1-D arrays and single planes only."""
    em, seg = sf.open_pair(run, pair)
    nx, ny, nz = seg.data.size
    reads = []

    def plane_or_less(ijk_origin=(0, 0, 0), ijk_size=None, ijk_step=(1, 1, 1), *a, **k):
        size = tuple(ijk_size or seg.data.size)
        reads.append(size)
        assert size[0] * size[1] * size[2] <= nx * ny, size
        return real_matrix(ijk_origin, size, ijk_step, *a, **k)
    real_matrix = seg.data.matrix
    monkeypatch.setattr(seg.data, 'matrix', plane_or_less)
    monkeypatch.setattr(seg.data, 'full_matrix', None)   # a call would fail
    seg.data.clear_cache()
    panel = run('connectome panel')
    try:
        panel.color_map()
        sf.drawn_colors(session)
        run('connectome at %g,%g,%g' % sf.ijk_to_xyz(sf.box_center_ijk(3)))
        panel.clear_colors()
    finally:
        panel.delete()
    assert (nx, ny, 1) in reads and (1, 1, 1) in reads      # the plane drawn, the voxel read


def test_color_and_surfaces_commands_options_and_errors(session, run, pair, settings):
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='connectome color: no segmentation is open'):
        run('connectome color')
    em, seg = sf.open_pair(run, pair)
    run('connectome color attributes axon')
    run('connectome color #2 map #1 attributes dendrite colors magenta replace false')
    drawn = {box: sf.color_class(rgb) for box, rgb in sf.drawn_colors(session).items()}
    assert drawn[0] == 'lime' and drawn[1] == 'magenta' and drawn[2] == 'white'
    for text, message in (
            ('connectome color attributes axon,glia',
             'connectome color: segmentation #2 \\(segmentation.cmap\\) has no class glia;'
             ' it has axon, dendrite, spinehead, neuron'),
            ('connectome color attributes axon,dendrite colors red',
             'connectome color: 1 colors for 2 classes'),
            ('connectome color #2 map #2', 'map and segmentation are both #2'),
            ('connectome surfaces where axon', 'where needs CLASS=IDS'),
            ('connectome surfaces attributes dendrite where axon=3',
             'where picks axon objects, attributes names dendrite')):
        with pytest.raises(UserError, match=message):
            run(text)
    run('close #1')
    with pytest.raises(UserError, match='no EM map of the same grid size as segmentation #2'):
        run('connectome color')
    run('connectome uncolor')      # nothing coloured: says so, no error


def test_segmentation_without_classes(session, run, tmp_path, settings):
    from chimerax.core.errors import UserError
    sf.open_pair(run, sf.write_pair(tmp_path, attributes=()))
    panel = run('connectome panel')
    try:
        assert panel.segmentation.name == 'segmentation.cmap' and panel.class_names == []
        assert panel.no_classes_label.text() == (
            'segmentation.cmap has no object classes: add them with connectome ids.')
        with pytest.raises(UserError, match='connectome surfaces: segmentation #2'
                           ' \\(segmentation.cmap\\) has no object classes'):
            run('connectome surfaces')
    finally:
        panel.delete()


def test_help_page_names_every_control(session, panel):
    """Each button, menu label and checkbox the panel always has is named in bold on its
    help page (the class and category rows are the segmentation's, and are described
    there as rows)."""
    import os
    import re
    from Qt.QtWidgets import QCheckBox, QLabel, QPushButton
    from cxrun import REPO
    page = open(os.path.join(REPO, 'src', 'docs', 'user', 'tools', 'connectome.html')).read()
    named = set(re.sub(r'\s+', ' ', m) for m in re.findall(r'<b>([^<]+)</b>', page))
    rows = (panel.classes_area, panel.by_area)
    area = panel.tool_window.ui_area
    controls = [w.text() for kind in (QPushButton, QLabel, QCheckBox)
                for w in area.findChildren(kind)
                if w is not panel.no_classes_label and not any(r.isAncestorOf(w) for r in rows)]
    assert {'Color map', 'Partners', 'Key', 'Color by', 'EM map'} <= set(controls)
    missing = sorted(set(controls) - named)
    assert not missing, 'not on the panel help page: %s' % ', '.join(missing)
