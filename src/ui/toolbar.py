"""The Connectome toolbar tab: each button, declared as a toolbar provider in
bundle_info.xml, runs the command the panel would run for it, written by the same
builders (ui/commands.py).

Buttons know no models, so their commands name none and ``connectome color`` /
``surfaces`` choose the EM map and segmentation themselves, unless the Connectome panel
is open: then its choices are named, so a button acts on what the panel shows.
"""

from chimerax.core.errors import UserError

from ..session.classes import segmentation_classes
from ..session.maps import choose_models
from ..session.settings import connectome_settings
from .commands import PANEL, color_command, surfaces_command, uncolor_command
from .panel import ConnectomeTool

# provider name -> the command it runs, made from the models the panel shows (None when
# it is closed) and the session.
BUTTON_COMMANDS = {
    'color axon': lambda session, seg, image: color_command(seg, image, ['axon']),
    'color dendrite': lambda session, seg, image: color_command(seg, image, ['dendrite']),
    'color spinehead': lambda session, seg, image: color_command(seg, image, ['spinehead']),
    'color all': lambda session, seg, image: color_command(seg, image,
                                                           ['axon', 'dendrite', 'spinehead']),
    'uncolor': lambda session, seg, image: uncolor_command(image),
    'surfaces': lambda session, seg, image: _surfaces_command(session, seg),
    'panel': lambda session, seg, image: PANEL,
}


def button_command(session, name):
    """The command a toolbar button runs."""
    try:
        make = BUTTON_COMMANDS[name]
    except KeyError:
        raise ValueError('chimerax.connectome has no toolbar button %r' % name) from None
    panel = _open_panel(session)
    seg, image = (panel.segmentation, panel.image) if panel else (None, None)
    return make(session, seg, image)


def _surfaces_command(session, seg):
    """Surfaces of the classes checked in the panel (remembered when it is closed) that
    the segmentation has, in the panel's surface style."""
    settings = connectome_settings(session)
    classes = settings.checked_classes
    try:
        chosen = seg or choose_models(session, 'connectome surfaces', need_image=False)[0]
    except UserError:
        pass        # no segmentation: the command itself will say so
    else:
        have = segmentation_classes(chosen)
        classes = [c for c in classes if c in have] or classes
    return surfaces_command(seg, classes, each=settings.surfaces_each)


def run_button(session, name):
    from chimerax.core.commands import run
    return run(session, button_command(session, name))


def _open_panel(session):
    for tool in session.tools.find_by_class(ConnectomeTool):
        if tool.tool_window.shown:
            return tool
    return None
