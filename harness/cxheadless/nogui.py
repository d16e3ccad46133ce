"""Stand-in for ``chimerax.core.nogui``, which the ChimeraX==0.1.71 wheel lacks.

A session needs a UI object (``session.ui``) and start-up adds a plain-text log.  This is
the no-window UI of ``chimerax --nogui/--offscreen``: commands run in the calling thread,
the log goes to stdout, status messages to stdout with a STATUS prefix, and offscreen
rendering uses OSMesa.
"""

import sys

from chimerax.core.logger import PlainTextLog

_LEVEL_NAMES = {0: 'INFO', 1: 'WARNING', 2: 'ERROR', 3: 'BUG'}


class NoGuiLog(PlainTextLog):
    """Log to stdout (errors and warnings to stderr) like ``chimerax --nogui``."""

    def log(self, level, msg):
        out = sys.stderr if level >= 1 else sys.stdout
        name = _LEVEL_NAMES.get(level, 'INFO')
        text = msg if msg.endswith('\n') else msg + '\n'
        if name == 'INFO':
            out.write(text)
        else:
            out.write('%s: %s' % (name, text))
        out.flush()
        return True

    def status(self, msg, color, secondary):
        if secondary or not msg:
            return False
        sys.stdout.write('STATUS: %s\n' % msg)
        sys.stdout.flush()
        return True


class UI:
    """The session's user interface when there is no window."""

    _instance = None

    def __new__(cls, session):
        import weakref
        ui = super().__new__(cls)
        ui.is_gui = False
        ui.has_graphics = False
        ui._session = weakref.ref(session)
        ui.stereo = False
        ui.autostart_tools = False
        UI._instance = ui
        return ui

    @classmethod
    def instance(cls):
        return cls._instance

    def initialize_color_output(self, color_output):
        self.color_output = bool(color_output)

    def initialize_offscreen_rendering(self):
        session = self._session()
        from chimerax import graphics
        try:
            context = graphics.OffScreenRenderingContext()
        except Exception as e:
            # No OSMesa: the session still works, it just cannot render images.
            session.logger.info('Offscreen rendering is not available: %s' % e)
            self.has_graphics = False
            return
        # A window's context says whether it is stereo; the offscreen one does not, and
        # `camera ortho` (std_commands/camera.py) reads it.  Offscreen is always mono.
        if not hasattr(context, 'stereo'):
            context.stereo = False
        session.main_view.initialize_rendering(context)
        self.has_graphics = True
        # As ChimeraX's own offscreen mode does: an offscreen QApplication, so Qt widgets
        # (labels, tool panels) can be made without a display.
        try:
            from Qt.QtWidgets import QApplication
        except ImportError:
            return
        self._app = QApplication.instance() or QApplication(['ChimeraX', '-platform', 'offscreen'])

    def splash_info(self, message, splash_step=None, num_splash_steps=None):
        print(message, file=sys.stderr)

    def build(self):
        pass

    def quit(self):
        session = self._session()
        if session is not None:
            session.logger.clear()
        raise SystemExit(0)

    def thread_safe(self, func, *args, **kw):
        func(*args, **kw)

    def event_loop(self):
        pass
