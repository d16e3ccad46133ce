"""The Connectome toolbar tab: the providers ChimeraX parsed from bundle_info.xml, handed
to ChimeraX's own toolbar manager (the GUI draws buttons from it), resolve to icons that
exist and to actions that run their command and change the session as the button says."""

import pytest

import segfixtures as sf
from segfixtures import LogCapture, pair, settings  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.chimerax, pytest.mark.usefixtures('window')]

BUTTONS = {'color axon', 'color dendrite', 'color spinehead', 'color all', 'uncolor',
           'surfaces', 'panel'}


@pytest.fixture
def toolbar(session, window):
    """ChimeraX's toolbar manager as the app starts it (with a window), holding every
    toolbar provider of the installed bundles; {display name: (provider name, bundle
    info, icon, description)} of the Connectome tab, read from the manager's table that
    ChimeraX's toolbar draws its buttons from (it has no public accessor)."""
    mgr = session.toolbar
    yield mgr, {display: entry[:4] for sections in mgr._toolbar['Connectome'].values()
                for display, entry in sections.items()}


def test_declared_buttons_have_icons_and_commands(session, toolbar):
    from chimerax.connectome.ui.toolbar import BUTTON_COMMANDS
    bi = session.toolshed.find_bundle('ChimeraX-Connectome', session.logger)
    declared = {name.split('/', 1)[1] for name, kw in bi.providers.items()
                if name.startswith('toolbar/') and 'section' in kw}
    assert declared == BUTTONS == set(BUTTON_COMMANDS)
    mgr, buttons = toolbar
    assert {entry[0] for entry in buttons.values()} == BUTTONS
    from PIL import Image
    for display, (name, info, icon, description) in buttons.items():
        assert info is bi and description, display
        assert icon is not None and icon.endswith('.png'), (display, icon)
        with Image.open(icon) as im:
            assert im.size == (64, 64) and im.mode == 'RGBA', (display, icon)


def _press(session, toolbar, display_name):
    """Run a toolbar button as ChimeraX's toolbar does; return the logged commands."""
    mgr, buttons = toolbar
    name, bi, _, _ = buttons[display_name]
    with LogCapture(session) as log:
        bi.run_provider(session, name, mgr, display_name=display_name)
    return log.commands


def _drawn_classes(session):
    """{box: colour class} on the plane, and what each box should be for given classes."""
    return {box: sf.color_class(rgb) for box, rgb in sf.drawn_colors(session).items()}


def _expected(colors):
    out = {}
    for box in range(len(sf.boxes()) // 2):
        ids = sf.object_ids(box)
        out[box] = next((colors[c] for c in sf.CLASSES if ids[c] and c in colors), 'white')
    return out


def test_buttons_run_their_commands(session, run, pair, toolbar, settings):
    from chimerax.connectome.ui.panel import ConnectomeTool
    sf.open_pair(run, pair)
    for display, colors in (('Axons', {'axon': 'lime'}),
                            ('Dendrites', {'dendrite': 'red'}),
                            ('Spine heads', {'spinehead': 'blue'}),
                            ('All three', {'axon': 'lime', 'dendrite': 'red', 'spinehead': 'blue'})):
        commands = _press(session, toolbar, display)
        assert commands[0] == 'connectome color attributes %s' % ','.join(colors), commands
        assert _drawn_classes(session) == _expected(colors), display

    assert _press(session, toolbar, 'Clear') == ['connectome uncolor']
    assert set(_drawn_classes(session).values()) == {'white'}

    settings.checked_classes = ['dendrite', 'glia', 'spinehead']     # glia: not in #2
    commands = _press(session, toolbar, 'Surfaces')
    assert commands == ['connectome surfaces attributes dendrite,spinehead',
                        'segmentation surfaces #2 where dendrite color red',
                        'segmentation surfaces #2 where spinehead color blue']
    from chimerax.core.models import Surface
    from chimerax.map import VolumeSurface
    made = [s for s in session.models.list(type=Surface) if not isinstance(s, VolumeSurface)]
    assert sorted(tuple(s.color) for s in made) == [(0, 0, 255, 255), (255, 0, 0, 255)]

    assert _press(session, toolbar, 'Panel') == ['connectome panel']
    (panel,) = session.tools.find_by_class(ConnectomeTool)
    assert panel.tool_window.ui_area.isVisible()
    panel.delete()


def test_buttons_act_on_the_panel_choice(session, run, pair, toolbar, settings):
    """With two pairs open and the panel showing the second, buttons colour that one."""
    em1, seg1 = sf.open_pair(run, pair)
    (em2,) = run('open %s' % pair[0])
    (seg2,) = run('open %s' % pair[1])
    run('volume #3,4 hide')
    panel = run('connectome panel')
    try:
        assert (panel.image, panel.segmentation) == (em1, seg1)
        panel.choose(segmentation=seg2, image=em2)
        assert _press(session, toolbar, 'Axons')[0] == 'connectome color #4 map #3 attributes axon'
        from chimerax.connectome.session.maps import segmentation_colored
        assert segmentation_colored(em2) and not segmentation_colored(em1)
        assert _press(session, toolbar, 'Clear') == ['connectome uncolor #3']
        assert not segmentation_colored(em2)
        assert _press(session, toolbar, 'Surfaces')[0] == (
            'connectome surfaces #4 attributes axon,dendrite,spinehead')
    finally:
        panel.delete()
