"""The app window, emulated offscreen: what a session of the ChimeraX app has and the
library wheel's no-window session lacks, for tests and scripts that use tool panels,
toolbar buttons and mouse hover.  ``window(session)`` is a context: inside it

- ``session.ui.is_gui`` is True, as in the app (tool panels check it);
- ``session.ui`` answers the main-window questions ChimeraX's mouse modes ask
  (``main_window``, ``activeWindow``, ``topLevelAt``, ``activePopupWidget``), with a
  graphics window whose balloon popup records what it shows;
- the GUI-only managers of the bundles (the toolbar: ``session.toolbar``) are started by
  their bundles' own ``init_manager``, as ChimeraX's start-up does with a window;
- ChimeraX's own "identify object" mouse mode exists (``hover_mode``): its ``pause``
  picks under the mouse and fires the session's "mouse hover" trigger.

Two panels of the app are not emulated, as they need the whole GUI bundle: the Volume
Viewer that opening a map shows (it is not shown) and the Help Viewer (help goes to the
web browser, as without a window).  Leaving restores the no-window session.
"""

import contextlib
import types


class _Popup:
    def __init__(self):
        self.shown = []

    def show_text(self, text, position):
        self.shown.append(text)

    def hide(self):
        pass


@contextlib.contextmanager
def window(session):
    ui = session.ui
    saved = {name: ui.__dict__.get(name) for name in
             ('is_gui', 'main_window', 'activeWindow', 'topLevelAt', 'activePopupWidget',
              'remove_tool', 'set_tool_shown')}
    main = types.SimpleNamespace(graphics_window=types.SimpleNamespace(popup=_Popup()))
    ui.is_gui = True
    ui.main_window = main
    ui.activeWindow = lambda: main
    ui.topLevelAt = lambda position: main
    ui.activePopupWidget = lambda: None
    # What ToolInstance.delete and display ask of the app's UI for a tool's windows.
    ui.remove_tool = lambda tool: _tool_windows(tool, lambda w: w.destroy())
    ui.set_tool_shown = lambda tool, show: _tool_windows(
        tool, lambda w: setattr(w, 'shown', show))
    from chimerax.map import volume
    from chimerax import help_viewer
    show_volume_dialog, show_url = volume.show_volume_dialog, help_viewer.show_url
    volume.show_volume_dialog = lambda session: None
    help_viewer.show_url = _browser_show_url(show_url)
    started = _start_gui_managers(session)
    hover_mode = getattr(ui, '_hover_mode', None)
    if hover_mode is None:
        # Made once, as the app makes its mouse modes once: it adds the session's
        # "mouse hover" trigger, which then stays.
        from chimerax.mouse_modes.std_modes import ObjectIdMouseMode
        hover_mode = ui._hover_mode = ObjectIdMouseMode(session)
    try:
        yield types.SimpleNamespace(session=session, hover_mode=hover_mode,
                                    popup=main.graphics_window.popup)
    finally:
        volume.show_volume_dialog, help_viewer.show_url = show_volume_dialog, show_url
        for name, manager in started:
            session.toolshed._manager_instances.pop(name, None)
            if getattr(session, name, None) is manager:
                delattr(session, name)
        for name, value in saved.items():
            if value is None:
                ui.__dict__.pop(name, None)
            else:
                setattr(ui, name, value)


def _tool_windows(tool, action):
    window = getattr(tool, 'tool_window', None)
    if window is not None and window.tool_instance is not None:
        action(window)


def _browser_show_url(show_url):
    """help_viewer.show_url as without a window: to the web browser."""
    def show(session, url, **kw):
        ui = session.ui
        ui.is_gui = False
        try:
            return show_url(session, url, **kw)
        finally:
            ui.is_gui = True
    return show


def _start_gui_managers(session):
    """Start the managers ChimeraX starts only with a window; [(name, manager)].  These
    are the ones not started yet (the toolshed drops the guiOnly flag when it skips
    them at start-up)."""
    started = []
    for bi in session.toolshed.bundle_info(session.logger, installed=True, available=False):
        for name in bi.managers:
            if name not in session.toolshed._manager_instances:
                bi.init_manager(session, name)
                started.append((name, session.toolshed._manager_instances.get(name)))
    return started
