"""The Connectome toolbar tab: each button, declared as a toolbar provider in
bundle_info.xml, runs the command the panel would run for it.

Buttons know no models, so their commands name none and ``connectome color`` /
``surfaces`` choose the EM map and segmentation themselves, unless the Connectome panel
is open: then its choices are named, so a button acts on what the panel shows.
"""

from chimerax.core.errors import UserError

from ..session.classes import segmentation_classes
from ..session.maps import choose_models
from ..session.settings import connectome_settings
from .panel import ConnectomeTool

# provider name -> command; "surfaces" is made from the panel's checked classes.
BUTTON_COMMANDS = {
    'color axon': 'connectome color attributes axon',
    'color dendrite': 'connectome color attributes dendrite',
    'color spinehead': 'connectome color attributes spinehead',
    'color all': 'connectome color attributes axon,dendrite,spinehead',
    'uncolor': 'connectome uncolor',
    'surfaces': None,
    'panel': 'connectome panel',
}


def button_command(session, name):
    """The command a toolbar button runs."""
    try:
        text = BUTTON_COMMANDS[name]
    except KeyError:
        raise ValueError('chimerax.connectome has no toolbar button %r' % name) from None
    panel = _open_panel(session)
    seg, image = (panel.segmentation, panel.image) if panel else (None, None)
    if name == 'surfaces':
        text = _surfaces_command(session, seg)
    if text.startswith('connectome color') and seg is not None and image is not None:
        text = text.replace('connectome color', 'connectome color %s map %s'
                            % (seg.atomspec, image.atomspec), 1)
    elif text.startswith('connectome surfaces') and seg is not None:
        text = text.replace('connectome surfaces', 'connectome surfaces %s' % seg.atomspec, 1)
    elif text == 'connectome uncolor' and image is not None:
        text += ' %s' % image.atomspec
    return text


def _surfaces_command(session, seg):
    """Surfaces of the classes checked in the panel (remembered when it is closed) that
    the segmentation has, in the panel's surface style."""
    settings = connectome_settings(session)
    classes = settings.checked_classes
    try:
        seg = seg or choose_models(session, 'connectome surfaces', need_image=False)[0]
    except UserError:
        pass        # no segmentation: the command itself will say so
    else:
        have = segmentation_classes(seg)
        classes = [c for c in classes if c in have] or classes
    text = 'connectome surfaces attributes %s' % ','.join(classes)
    if settings.surfaces_each:
        text += ' each true'
    return text


def run_button(session, name):
    from chimerax.core.commands import run
    return run(session, button_command(session, name))


def _open_panel(session):
    for tool in session.tools.find_by_class(ConnectomeTool):
        if tool.tool_window.shown:
            return tool
    return None
