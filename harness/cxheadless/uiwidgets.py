"""Stand-in for ``chimerax.ui.widgets``: the ColorButton a tool panel uses for a colour
swatch, with the API of ChimeraX 1.7.1's (``ColorButton(max_size=, has_alpha_channel=)``,
a ``color`` property holding RGBA 8-bit values, a ``color_changed`` signal emitting them
when the user picks a colour).  Real Qt (PyQt6 through ``Qt``); written here because the
library wheel has no chimerax.ui.
"""

import numpy as np
from Qt.QtCore import Signal
from Qt.QtGui import QColor
from Qt.QtWidgets import QColorDialog, QPushButton


def _rgba8(color):
    if isinstance(color, QColor):
        return np.array([color.red(), color.green(), color.blue(), color.alpha()], np.uint8)
    from chimerax.core.colors import BuiltinColors, Color
    if isinstance(color, str):
        color = BuiltinColors[color]
    if isinstance(color, Color):
        return color.uint8x4()
    color = list(color)
    if len(color) == 3:
        color.append(255 if isinstance(color[0], (int, np.integer)) else 1.0)
    if isinstance(color[0], (int, np.integer)):
        return np.array(color, np.uint8)
    return np.array([min(255, max(0, int(c * 255 + 0.5))) for c in color], np.uint8)


class ColorButton(QPushButton):

    color_changed = Signal(np.ndarray)

    def __init__(self, *args, max_size=None, has_alpha_channel=False, **kw):
        super().__init__(*args)
        if max_size is not None:
            self.setMaximumSize(*max_size)
        self._has_alpha_channel = has_alpha_channel
        self._color = None
        self.clicked.connect(self.show_color_chooser)

    def get_color(self):
        return self._color

    def set_color(self, color):
        rgba = _rgba8(color)
        self._color = rgba
        # A border too: without one Qt's offscreen style blends the face with a gradient,
        # unlike the app's flat swatches.
        self.setStyleSheet('background-color: #%02x%02x%02x; border: 1px solid #606060'
                           % tuple(rgba[:3]))

    color = property(get_color, set_color)

    def show_color_chooser(self):
        dialog = QColorDialog(self)
        if self._color is not None:
            dialog.setCurrentColor(QColor(*(int(c) for c in self._color)))
        dialog.currentColorChanged.connect(self._chosen)
        dialog.show()
        self._dialog = dialog

    def _chosen(self, color):
        self.set_color(color)
        self.color_changed.emit(self._color)
