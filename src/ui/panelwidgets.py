"""The Connectome panel's widgets (ui/panel.py): ``build`` lays them out and connects
them to the tool's methods, as the ``setupUi`` of a Qt Designer form does, ``add_row``
makes the rows of classes and categories (``Row``) and ``fill_table`` shows the last
``connectome table`` in a sortable table widget.
"""

from dataclasses import dataclass

from ..session.coloring import color_text
from ..session.settings import connectome_settings

TABLE_ROWS = 10_000         # rows of a table the panel holds; save writes them all
SURFACE_CHOICES = (('merged per class', False), ('one per object', True))
# What the Partners button shows besides the table in the log: (menu text, show option)
PARTNER_SHOWS = (('table only', ''), ('and their synapses', 'synapses'),
                 ('and their surfaces', 'surfaces'), ('and their skeletons', 'skeletons'),
                 ('all of these', 'surfaces,skeletons,synapses'))


@dataclass
class Row:
    """One class or category row: shown or not, its colour and its object count."""
    check: object           # QCheckBox named after the class or category
    swatch: object          # chimerax.ui.widgets.ColorButton
    count: object           # QLabel: "12 objects"
    color: str              # the colour as command text: lime, #123456

    @property
    def checked(self):
        return self.check.isChecked()

    def set_color(self, color, rgba8):
        """Show colour text ``color`` (uint8 ``rgba8``) on the button and keep it."""
        self.swatch.color = rgba8
        self.swatch.setToolTip(color)
        self.color = color


def add_row(grid, row, name, checked, color, rgba8, count_text, color_chosen):
    """A checkbox, colour button and count in ``row`` of ``grid``; ``color_chosen``
    gets the colour text a user picks."""
    from Qt.QtWidgets import QCheckBox, QLabel
    from Qt.QtCore import Qt
    from chimerax.ui.widgets import ColorButton
    check = QCheckBox(name)
    check.setChecked(checked)
    swatch = ColorButton(max_size=(36, 20), has_alpha_channel=False)
    swatch.color = rgba8
    swatch.setToolTip(color)
    swatch.color_changed.connect(lambda rgba: color_chosen(color_text(rgba)))
    label = QLabel(count_text)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    grid.addWidget(check, row, 0)
    grid.addWidget(swatch, row, 1)
    grid.addWidget(label, row, 2)
    return Row(check, swatch, label, color)


def _button(text, tip, clicked):
    from Qt.QtWidgets import QPushButton
    button = QPushButton(text)
    button.setToolTip(tip)
    button.clicked.connect(clicked)
    return button


def clear(grid):
    """Remove every widget of a grid layout."""
    while grid.count():
        w = grid.takeAt(0).widget()
        if w is not None:
            w.setParent(None)
            w.deleteLater()


def build(tool, parent):
    """The panel's widgets in ``parent``, kept as attributes of the tool."""
    from Qt.QtWidgets import (QVBoxLayout, QFormLayout, QGridLayout, QHBoxLayout,
                              QCheckBox, QComboBox, QLineEdit, QLabel, QWidget)
    settings = connectome_settings(tool.session)
    layout = QVBoxLayout(parent)
    layout.setContentsMargins(6, 6, 6, 6)

    menus = QFormLayout()
    tool.image_menu = QComboBox()
    tool.segmentation_menu = QComboBox()
    tool.segmentation_menu.currentIndexChanged.connect(tool.segmentation_chosen)
    menus.addRow('EM map', tool.image_menu)
    menus.addRow('Segmentation', tool.segmentation_menu)
    layout.addLayout(menus)

    tool.classes_area = QWidget()
    tool.classes_grid = QGridLayout(tool.classes_area)
    tool.classes_grid.setContentsMargins(0, 4, 0, 4)
    tool.no_classes_label = QLabel()
    layout.addWidget(tool.classes_area)
    layout.addWidget(tool.no_classes_label)

    by = QHBoxLayout()
    by.addWidget(QLabel('Color by'))
    tool.by_menu = QComboBox()
    tool.by_menu.setToolTip('An attribute of named categories or of numbers')
    tool.by_menu.currentIndexChanged.connect(tool.attribute_chosen)
    by.addWidget(tool.by_menu, 1)
    tool.by_area = QWidget()
    tool.by_grid = QGridLayout(tool.by_area)
    tool.by_grid.setContentsMargins(12, 2, 0, 2)
    by_buttons = QHBoxLayout()
    tool.key_check = QCheckBox('Key')
    tool.key_check.setToolTip('Show a color key in the graphics')
    tool.key_check.setChecked(True)
    tool.by_button = _button('Color by attribute',
                             'Color the EM map by the chosen categories or numbers',
                             tool.color_by)
    by_buttons.addWidget(tool.by_button)
    by_buttons.addWidget(tool.key_check)
    tool.by_widgets = QWidget()
    by_layout = QVBoxLayout(tool.by_widgets)
    by_layout.setContentsMargins(0, 0, 0, 0)
    by_layout.addLayout(by)
    by_layout.addWidget(tool.by_area)
    by_layout.addLayout(by_buttons)

    buttons = QHBoxLayout()
    tool.color_button = _button('Color map', 'Color the EM map by the checked classes',
                                tool.color_map)
    tool.clear_button = _button('Clear', 'Remove the segmentation coloring from the EM map',
                                tool.clear_colors)
    buttons.addWidget(tool.color_button)
    buttons.addWidget(tool.clear_button)
    layout.addLayout(buttons)

    surfaces = QHBoxLayout()
    tool.surfaces_button = _button('Surfaces', 'Show surfaces of the checked classes',
                                   tool.show_surfaces)
    tool.surfaces_menu = QComboBox()
    for label, _ in SURFACE_CHOICES:
        tool.surfaces_menu.addItem(label)
    tool.surfaces_menu.setCurrentIndex(1 if settings.surfaces_each else 0)
    tool.surfaces_menu.currentIndexChanged.connect(tool.surfaces_mode_chosen)
    surfaces.addWidget(tool.surfaces_button)
    surfaces.addWidget(tool.surfaces_menu, 1)
    layout.addLayout(surfaces)

    pick = QHBoxLayout()
    pick.addWidget(QLabel('Objects'))
    tool.pick_field = QLineEdit(settings.pick_text)
    tool.pick_field.setPlaceholderText('axon=12,40-45')
    tool.pick_field.setToolTip('Class and object ids: axon=12,40-45')
    tool.pick_field.returnPressed.connect(tool.show_picked)
    tool.pick_button = _button('Show only', 'Show surfaces of just these objects',
                               tool.show_picked)
    pick.addWidget(tool.pick_field, 1)
    pick.addWidget(tool.pick_button)
    layout.addLayout(pick)
    layout.addWidget(tool.by_widgets)
    layout.addWidget(_build_wiring(tool, settings))
    layout.addWidget(_build_table(tool))
    layout.addStretch(1)


def _build_wiring(tool, settings):
    """The wiring row: one object (neuron 1), its partners, synapses, skeleton, and
    going to it (connectome partners, synapses, skeletons, show)."""
    from Qt.QtWidgets import QComboBox, QGridLayout, QLabel, QLineEdit, QWidget
    area = QWidget()
    grid = QGridLayout(area)
    grid.setContentsMargins(0, 6, 0, 0)
    grid.addWidget(QLabel('Object'), 0, 0)
    tool.object_field = QLineEdit(settings.object_text)
    tool.object_field.setPlaceholderText('neuron 1')
    tool.object_field.setToolTip('A class and one id: neuron 1, axon 12, dendrite 4')
    grid.addWidget(tool.object_field, 0, 1, 1, 2)
    tool.partners_button = _button('Partners', 'List its synaptic partners in the log and'
                                   ' show what the menu says', tool.show_partners)
    tool.partners_menu = QComboBox()
    for label, _ in PARTNER_SHOWS:
        tool.partners_menu.addItem(label)
    shows = [value for _, value in PARTNER_SHOWS]
    if settings.partners_show in shows:
        tool.partners_menu.setCurrentIndex(shows.index(settings.partners_show))
    tool.partners_menu.currentIndexChanged.connect(tool.partners_show_chosen)
    grid.addWidget(tool.partners_button, 1, 0)
    grid.addWidget(tool.partners_menu, 1, 1, 1, 2)
    tool.synapses_button = _button('Synapses', 'Show its synapses as markers, colored by'
                                   ' type', tool.show_synapses)
    tool.skeleton_button = _button('Skeleton', 'Show its skeleton (a neuron: its'
                                   ' dendrites\')', tool.show_skeleton)
    tool.go_button = _button('Go to', 'Center the view on it, at full resolution',
                             tool.go_to_object)
    grid.addWidget(tool.synapses_button, 2, 0)
    grid.addWidget(tool.skeleton_button, 2, 1)
    grid.addWidget(tool.go_button, 2, 2)
    return area


def _build_table(tool):
    """The last table of connectome table: a label, the sortable table (a row
    double-clicked goes to its object) and the Export button."""
    from Qt.QtWidgets import QHBoxLayout, QLabel, QTableWidget, QVBoxLayout, QWidget
    area = QWidget()
    layout = QVBoxLayout(area)
    layout.setContentsMargins(0, 6, 0, 0)
    head = QHBoxLayout()
    tool.table_label = QLabel('Table')
    tool.table_label.setToolTip('The last table of connectome table')
    tool.table_label.setWordWrap(True)
    tool.export_button = _button('Export...', 'Save the table as CSV or TSV (connectome'
                                 ' table ... save FILE)', tool.export_table)
    tool.export_button.setEnabled(False)
    head.addWidget(tool.table_label, 1)
    head.addWidget(tool.export_button)
    layout.addLayout(head)
    tool.table_widget = QTableWidget()
    tool.table_widget.setSortingEnabled(True)
    tool.table_widget.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    tool.table_widget.setToolTip('Click a header to sort; double-click a row to go to its'
                                 ' object (connectome show)')
    tool.table_widget.cellDoubleClicked.connect(tool.table_row_chosen)
    tool.table_widget.setVisible(False)
    layout.addWidget(tool.table_widget)
    return area


def fill_table(widget, label, table):
    """Show a pipeline/tables.py Table (None: no table): its first TABLE_ROWS rows,
    numbers sorting as numbers; ``label`` says what it is and how many rows it has."""
    from Qt.QtCore import Qt
    from Qt.QtWidgets import QTableWidgetItem
    if table is None:
        widget.clear()
        widget.setRowCount(0)
        widget.setVisible(False)
        label.setText('Table')
        return
    shown = min(table.rows, TABLE_ROWS)
    widget.setSortingEnabled(False)
    widget.clear()
    widget.setColumnCount(len(table.columns))
    widget.setRowCount(shown)
    widget.setHorizontalHeaderLabels(list(table.columns))
    for c, values in enumerate(table.take(slice(0, shown)).values):
        number = values.dtype.kind in 'iuf'
        for r, value in enumerate(values.tolist()):
            item = QTableWidgetItem()
            if number and value == value:
                item.setData(Qt.ItemDataRole.DisplayRole, value)
            elif not number:
                item.setText(str(value))
            widget.setItem(r, c, item)
    widget.setSortingEnabled(True)
    widget.setVisible(True)
    more = '' if shown == table.rows else ' (the first %d here; Export saves all)' % shown
    label.setText('%s: %d rows%s' % (table.title, table.rows, more))
