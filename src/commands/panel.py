"""The ``connectome panel`` command: show the Connectome panel (ui/panel.py).

    connectome panel
"""

from ..ui.panel import show_panel


def connectome_panel(session):
    return show_panel(session)


def register_panel_command(logger):
    from chimerax.core.commands import CmdDesc, register
    desc = CmdDesc(synopsis='show the Connectome panel')
    register('connectome panel', desc, connectome_panel, logger=logger)
