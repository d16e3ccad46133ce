"""ChimeraX-Connectome: EM connectome tiles to multiresolution maps, and segmentations
coloured by object.  The BundleAPI only imports and dispatches (commands/ registers the
commands, ui/ the panel and toolbar).  ChimeraX itself is imported only when ChimeraX
asks for ``bundle_api``, so the pure folders (formats, pipeline, demo) work without it.
"""


def _bundle_api():
    from chimerax.core.toolshed import BundleAPI

    class _ConnectomeAPI(BundleAPI):

        api_version = 1

        @staticmethod
        def initialize(session, bi):
            # customInit (bundle_info.xml): a session restored before any command of
            # this bundle ran must already reopen its stores and tile sets, and a map
            # this bundle wrote opens as it is looked at from the first ``open``.
            from .session.sessions import register_reopeners
            from .session.initialdisplay import register_initial_display
            from .session.sessionstate import register_session_state
            register_reopeners(session)
            register_initial_display()
            # ... and bring back what ChimeraX's own session code would lose.
            register_session_state(session)

        @staticmethod
        def get_class(class_name):
            # A session names the classes of its objects; ChimeraX asks the bundle.
            if class_name == 'ConnectomeState':
                from .session.sessionstate import ConnectomeState
                return ConnectomeState
            return None

        @staticmethod
        def register_command(bi, ci, logger):
            # Called lazily, the first time a command declared in bundle_info.xml is used.
            from .commands import register_command
            register_command(ci.name, logger)

        @staticmethod
        def start_tool(session, bi, ti):
            from .ui.panel import show_panel
            return show_panel(session)

        @staticmethod
        def run_provider(session, name, mgr, **kw):
            if mgr is session.open_command:
                from .commands import openstore
                if name in openstore.FORMAT_NAMES:
                    return openstore.StoreOpenerInfo(openstore.FORMAT_NAMES[name])
                if name in openstore.FETCH_NAMES:
                    return openstore.StoreFetcherInfo(name)
                if name == 'Neuroglancer precomputed mesh':
                    from .commands.meshes import MeshOpenerInfo
                    return MeshOpenerInfo()
                from .commands.opentiles import TilesOpenerInfo
                return TilesOpenerInfo()
            if mgr is getattr(session, 'toolbar', None):
                from .ui.toolbar import run_button
                return run_button(session, name)
            raise ValueError('chimerax.connectome has no provider %r for manager %r'
                             % (name, mgr))

    return _ConnectomeAPI()


def __getattr__(name):
    # ChimeraX's toolshed reads the module's bundle_api attribute (PEP 562 makes it lazy).
    if name == 'bundle_api':
        api = globals()['bundle_api'] = _bundle_api()
        return api
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
