"""Stand-in for ``chimerax.ui``, the GUI bundle the ChimeraX==0.1.71 wheel does not ship.

Only what a tool panel needs to be built without a main window: MainToolWindow gives a
tool a Qt ``ui_area`` to fill; ``manage`` shows it as a top-level offscreen widget instead
of docking it.  Widgets inside are real Qt (PyQt6 through the ``Qt`` module, as in
ChimeraX), so tests click real buttons and grab real pixels.
"""


class MainToolWindow:

    def __init__(self, tool_instance, *, close_destroys=True, hide_title_bar=False,
                 statusbar=False):
        from Qt.QtWidgets import QWidget
        self.tool_instance = tool_instance
        self.close_destroys = close_destroys
        self.ui_area = QWidget()
        self.ui_area.setWindowTitle(tool_instance.display_name)
        self._placement = None

    def manage(self, placement=None, fixed_size=False, **kw):
        self._placement = placement
        self.ui_area.show()

    @property
    def shown(self):
        return self.ui_area.isVisible()

    @shown.setter
    def shown(self, shown):
        self.ui_area.setVisible(shown)

    @property
    def title(self):
        return self.ui_area.windowTitle()

    @title.setter
    def title(self, title):
        self.ui_area.setWindowTitle(title)

    def status(self, *args, **kw):
        pass

    def cleanup(self):
        pass

    def destroy(self):
        self.cleanup()
        self.ui_area.close()
        self.ui_area.deleteLater()
        self.tool_instance = None

    def fill_context_menu(self, menu, x, y):
        pass


def menu_capitalize(text):
    return text
