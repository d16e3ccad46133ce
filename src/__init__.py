"""ChimeraX-Connectome: EM connectome tiles to multiresolution maps, and segmentations
coloured by object.  The BundleAPI only imports and dispatches; see cmd.py for commands.
"""

from chimerax.core.toolshed import BundleAPI


class _ConnectomeAPI(BundleAPI):

    api_version = 1

    @staticmethod
    def register_command(bi, ci, logger):
        # Called lazily, the first time a command declared in bundle_info.xml is used.
        from . import cmd
        cmd.register_command(ci.name, logger)

    @staticmethod
    def start_tool(session, bi, ti):
        from .tool import show_panel
        return show_panel(session)

    @staticmethod
    def run_provider(session, name, mgr, **kw):
        if mgr == session.open_command:
            from .tilegrid import TilesOpenerInfo
            return TilesOpenerInfo()
        if getattr(mgr, 'name', None) == 'toolbar':
            from .toolbar import run_button
            return run_button(session, name)
        raise ValueError('chimerax.connectome has no provider %r for manager %r' % (name, mgr))


bundle_api = _ConnectomeAPI()
