"""The Connectome panel (Tools > Volume Data > Connectome): colour an EM map by object
class, show object surfaces and pick objects by id without typing commands.

Menus choose the EM map and the segmentation among open volumes; one row per object
class of the segmentation gives a show/hide checkbox, a colour and the object count.
"Color by" picks an attribute of named categories (axonclass) or of numbers
(spineheadvolume): one row per category with its name, colour and object count, or the
range of the numbers, and its button colours the map by them with a key.
The Object row names one object (neuron 1): its partners (a table in the log, and
their synapses, surfaces or skeletons), its synapses, its skeleton, and going to it.
Every button runs a ``connectome`` command with ``run``, so the log records it and can
be replayed as a .cxc script; class colours, checked classes and the last choices are
kept in the settings the commands share (session/settings.py).  Nothing here reads the
volume: classes and counts come from the 1-D attribute arrays.
"""

from chimerax.core.errors import UserError
from chimerax.core.tools import ToolInstance

from ..pipeline import classes as pure
from ..session.classes import (attribute_info, category_attributes, category_colors,
                               class_values, color_text, number_attributes, number_values,
                               segmentation_classes)
from ..session.maps import open_volumes, segmentation_colored
from ..session.readout import enable_readout
from ..session.settings import connectome_settings

TOOL_NAME = 'Connectome'
SURFACE_CHOICES = (('merged per class', False), ('one per object', True))
# What the Partners button shows besides the table in the log: (menu text, show option)
PARTNER_SHOWS = (('table only', ''), ('and their synapses', 'synapses'),
                 ('and their surfaces', 'surfaces'), ('and their skeletons', 'skeletons'),
                 ('all of these', 'surfaces,skeletons,synapses'))


class ConnectomeTool(ToolInstance):

    SESSION_ENDURING = False
    SESSION_SAVE = False
    help = 'help:user/tools/connectome.html'

    def __init__(self, session, tool_name=TOOL_NAME):
        super().__init__(session, tool_name)
        from chimerax.ui import MainToolWindow
        self.tool_window = MainToolWindow(self)
        self._class_rows = {}           # class -> (checkbox, colour button, count label)
        self._category_rows = {}        # category -> [checkbox, colour button, count, colour]
        self._rows_segmentation = ()    # the segmentation the rows were made for; () none yet
        self._build_ui(self.tool_window.ui_area)
        self._refresh_models()
        from chimerax.core.models import ADD_MODELS, REMOVE_MODELS
        t = session.triggers
        self._handlers = [t.add_handler(ADD_MODELS, self._models_changed),
                          t.add_handler(REMOVE_MODELS, self._models_changed)]
        self.tool_window.manage('side')
        enable_readout(session)

    def delete(self):
        for h in self._handlers:
            self.session.triggers.remove_handler(h)
        self._handlers = []
        super().delete()        # closes the tool window too

    # -- building ---------------------------------------------------------------------

    def _build_ui(self, parent):
        from Qt.QtWidgets import (QVBoxLayout, QFormLayout, QGridLayout, QHBoxLayout,
                                  QComboBox, QPushButton, QLineEdit, QLabel, QWidget)
        settings = connectome_settings(self.session)
        layout = QVBoxLayout(parent)
        layout.setContentsMargins(6, 6, 6, 6)

        menus = QFormLayout()
        self.image_menu = QComboBox()
        self.segmentation_menu = QComboBox()
        self.segmentation_menu.currentIndexChanged.connect(self._segmentation_chosen)
        menus.addRow('EM map', self.image_menu)
        menus.addRow('Segmentation', self.segmentation_menu)
        layout.addLayout(menus)

        self.classes_area = QWidget()
        self.classes_grid = QGridLayout(self.classes_area)
        self.classes_grid.setContentsMargins(0, 4, 0, 4)
        self.no_classes_label = QLabel()
        layout.addWidget(self.classes_area)
        layout.addWidget(self.no_classes_label)

        by = QHBoxLayout()
        by.addWidget(QLabel('Color by'))
        self.by_menu = QComboBox()
        self.by_menu.setToolTip('An attribute of named categories or of numbers')
        self.by_menu.currentIndexChanged.connect(self._attribute_chosen)
        by.addWidget(self.by_menu, 1)
        self.by_area = QWidget()
        self.by_grid = QGridLayout(self.by_area)
        self.by_grid.setContentsMargins(12, 2, 0, 2)
        by_buttons = QHBoxLayout()
        from Qt.QtWidgets import QCheckBox
        self.key_check = QCheckBox('Key')
        self.key_check.setToolTip('Show a color key in the graphics')
        self.key_check.setChecked(True)
        self.by_button = QPushButton('Color by attribute')
        self.by_button.setToolTip('Color the EM map by the chosen categories or numbers')
        self.by_button.clicked.connect(self.color_by)
        by_buttons.addWidget(self.by_button)
        by_buttons.addWidget(self.key_check)
        self.by_widgets = QWidget()
        by_layout = QVBoxLayout(self.by_widgets)
        by_layout.setContentsMargins(0, 0, 0, 0)
        by_layout.addLayout(by)
        by_layout.addWidget(self.by_area)
        by_layout.addLayout(by_buttons)

        buttons = QHBoxLayout()
        self.color_button = QPushButton('Color map')
        self.color_button.setToolTip('Color the EM map by the checked classes')
        self.color_button.clicked.connect(self.color_map)
        self.clear_button = QPushButton('Clear')
        self.clear_button.setToolTip('Remove the segmentation coloring from the EM map')
        self.clear_button.clicked.connect(self.clear_colors)
        buttons.addWidget(self.color_button)
        buttons.addWidget(self.clear_button)
        layout.addLayout(buttons)

        surfaces = QHBoxLayout()
        self.surfaces_button = QPushButton('Surfaces')
        self.surfaces_button.setToolTip('Show surfaces of the checked classes')
        self.surfaces_button.clicked.connect(self.show_surfaces)
        self.surfaces_menu = QComboBox()
        for label, _ in SURFACE_CHOICES:
            self.surfaces_menu.addItem(label)
        self.surfaces_menu.setCurrentIndex(1 if settings.surfaces_each else 0)
        self.surfaces_menu.currentIndexChanged.connect(self._surfaces_mode_chosen)
        surfaces.addWidget(self.surfaces_button)
        surfaces.addWidget(self.surfaces_menu, 1)
        layout.addLayout(surfaces)

        pick = QHBoxLayout()
        pick.addWidget(QLabel('Objects'))
        self.pick_field = QLineEdit(settings.pick_text)
        self.pick_field.setPlaceholderText('axon=12,40-45')
        self.pick_field.setToolTip('Class and object ids: axon=12,40-45')
        self.pick_field.returnPressed.connect(self.show_picked)
        self.pick_button = QPushButton('Show only')
        self.pick_button.setToolTip('Show surfaces of just these objects')
        self.pick_button.clicked.connect(self.show_picked)
        pick.addWidget(self.pick_field, 1)
        pick.addWidget(self.pick_button)
        layout.addLayout(pick)
        layout.addWidget(self.by_widgets)
        layout.addWidget(self._build_wiring(settings))
        layout.addStretch(1)

    def _build_wiring(self, settings):
        """The wiring row: one object (neuron 1), its partners, synapses, skeleton, and
        going to it (connectome partners, synapses, skeletons, show)."""
        from Qt.QtWidgets import (QComboBox, QGridLayout, QLabel, QLineEdit, QPushButton,
                                  QWidget)
        area = QWidget()
        grid = QGridLayout(area)
        grid.setContentsMargins(0, 6, 0, 0)
        grid.addWidget(QLabel('Object'), 0, 0)
        self.object_field = QLineEdit(settings.object_text)
        self.object_field.setPlaceholderText('neuron 1')
        self.object_field.setToolTip('A class and one id: neuron 1, axon 12, dendrite 4')
        grid.addWidget(self.object_field, 0, 1, 1, 2)
        self.partners_button = QPushButton('Partners')
        self.partners_button.setToolTip('List its synaptic partners in the log and show'
                                        ' what the menu says')
        self.partners_button.clicked.connect(self.show_partners)
        self.partners_menu = QComboBox()
        for label, _ in PARTNER_SHOWS:
            self.partners_menu.addItem(label)
        shows = [value for _, value in PARTNER_SHOWS]
        if settings.partners_show in shows:
            self.partners_menu.setCurrentIndex(shows.index(settings.partners_show))
        self.partners_menu.currentIndexChanged.connect(self._partners_show_chosen)
        grid.addWidget(self.partners_button, 1, 0)
        grid.addWidget(self.partners_menu, 1, 1, 1, 2)
        self.synapses_button = QPushButton('Synapses')
        self.synapses_button.setToolTip('Show its synapses as markers, colored by type')
        self.synapses_button.clicked.connect(self.show_synapses)
        self.skeleton_button = QPushButton('Skeleton')
        self.skeleton_button.setToolTip('Show its skeleton (a neuron: its dendrites\')')
        self.skeleton_button.clicked.connect(self.show_skeleton)
        self.go_button = QPushButton('Go to')
        self.go_button.setToolTip('Center the view on it, at full resolution')
        self.go_button.clicked.connect(self.go_to_object)
        grid.addWidget(self.synapses_button, 2, 0)
        grid.addWidget(self.skeleton_button, 2, 1)
        grid.addWidget(self.go_button, 2, 2)
        return area

    # -- models -----------------------------------------------------------------------

    @property
    def segmentation(self):
        return self.segmentation_menu.currentData()

    @property
    def image(self):
        return self.image_menu.currentData()

    def choose(self, segmentation=None, image=None):
        """Choose models in the menus, as a user would."""
        for menu, model in ((self.segmentation_menu, segmentation), (self.image_menu, image)):
            if model is not None:
                menu.setCurrentIndex(menu.findData(model))

    def _models_changed(self, trigger_name, models):
        from chimerax.map import Volume
        if any(isinstance(m, Volume) for m in models):
            self._refresh_models()

    def _refresh_models(self):
        """Fill both menus with the open volumes, keeping current choices that are still
        open, otherwise choosing as the commands do."""
        volumes = [v for v in open_volumes(self.session) if not v.deleted]
        seg, image = self.segmentation, self.image
        if seg not in volumes:
            seg = pure.choose_segmentation(
                volumes, has_attributes=lambda v: bool(segmentation_classes(v)))
        if image not in volumes:
            image = pure.choose_image(volumes, seg)
        for menu, chosen in ((self.segmentation_menu, seg), (self.image_menu, image)):
            menu.blockSignals(True)
            menu.clear()
            for v in volumes:
                menu.addItem('%s %s' % (v.atomspec, v.name), v)
            menu.setCurrentIndex(menu.findData(chosen) if chosen is not None else -1)
            menu.blockSignals(False)
        self._segmentation_chosen()

    def _segmentation_chosen(self, *args):
        seg = self.segmentation
        if seg is self._rows_segmentation:
            return
        image = self.image
        if seg is not None and (image is None or tuple(image.data.size) != tuple(seg.data.size)):
            paired = pure.choose_image([self.image_menu.itemData(i)
                                                 for i in range(self.image_menu.count())], seg)
            if paired is not None:
                self.image_menu.setCurrentIndex(self.image_menu.findData(paired))
        self._show_class_rows(seg)

    def _show_class_rows(self, seg):
        from Qt.QtWidgets import QCheckBox, QLabel
        from Qt.QtCore import Qt
        from chimerax.ui.widgets import ColorButton
        while self.classes_grid.count():
            w = self.classes_grid.takeAt(0).widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        self._class_rows = {}
        self._rows_segmentation = seg
        names = segmentation_classes(seg) if seg is not None else []
        settings = connectome_settings(self.session)
        colors = pure.class_colors(names, settings.class_colors)
        for row, name in enumerate(names):
            check = QCheckBox(name)
            check.setChecked(name in settings.checked_classes)
            check.toggled.connect(lambda on, name=name: self._class_toggled(name, on))
            swatch = ColorButton(max_size=(36, 20), has_alpha_channel=False)
            swatch.color = self._rgba8(colors[name])
            swatch.setToolTip(colors[name])
            swatch.color_changed.connect(
                lambda rgba, name=name: self.set_class_color(name, color_text(rgba)))
            count = pure.object_count(class_values(seg, name))
            label = QLabel('%d object%s' % (count, '' if count == 1 else 's'))
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.classes_grid.addWidget(check, row, 0)
            self.classes_grid.addWidget(swatch, row, 1)
            self.classes_grid.addWidget(label, row, 2)
            self._class_rows[name] = [check, swatch, label, colors[name]]
        if seg is None:
            self.no_classes_label.setText('Open a segmentation (a map of region ids).')
        elif not names:
            self.no_classes_label.setText('%s has no object classes: add them with'
                                          ' connectome ids.' % seg.name)
        self.no_classes_label.setVisible(not names)
        self._show_attribute_menu(seg)

    # -- color by attribute -------------------------------------------------------------

    def _show_attribute_menu(self, seg):
        names = (category_attributes(seg) + number_attributes(seg)) if seg is not None else []
        self.by_menu.blockSignals(True)
        self.by_menu.clear()
        for name in names:
            self.by_menu.addItem(name)
        self.by_menu.setCurrentIndex(0 if names else -1)
        self.by_menu.blockSignals(False)
        self.by_widgets.setVisible(bool(names))
        self._attribute_chosen()

    @property
    def attribute_names(self):
        """The attributes the Color by menu offers."""
        return [self.by_menu.itemText(i) for i in range(self.by_menu.count())]

    @property
    def attribute(self):
        return self.by_menu.currentText() or None

    def choose_attribute(self, name):
        self.by_menu.setCurrentIndex(self.attribute_names.index(name))

    def _attribute_chosen(self, *args):
        from Qt.QtWidgets import QCheckBox, QLabel
        from Qt.QtCore import Qt
        from chimerax.ui.widgets import ColorButton
        while self.by_grid.count():
            w = self.by_grid.takeAt(0).widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        self._category_rows = {}
        seg, name = self.segmentation, self.attribute
        if seg is None or name is None:
            return
        info = attribute_info(seg)[name]
        if info.kind == 'category':
            unit = info.objects or 'object'
            palette = category_colors(len(info.categories))
            for row, (category, code, count) in enumerate(info.categories):
                check = QCheckBox(category)
                check.setChecked(count > 0)
                color = color_text(palette[row])
                swatch = ColorButton(max_size=(36, 20), has_alpha_channel=False)
                swatch.color = self._rgba8(color)
                swatch.setToolTip(color)
                swatch.color_changed.connect(
                    lambda rgba, c=category: self.set_category_color(c, color_text(rgba)))
                label = QLabel('%d %s%s' % (count, unit, '' if count == 1 else 's'))
                label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.by_grid.addWidget(check, row, 0)
                self.by_grid.addWidget(swatch, row, 1)
                self.by_grid.addWidget(label, row, 2)
                self._category_rows[category] = [check, swatch, label, color]
        else:
            values = number_values(seg, name)
            lo, hi = pure.value_range(values)
            unit = (' ' + info.unit) if info.unit else ''
            self.by_grid.addWidget(QLabel('%s to %s%s, colored dark blue to yellow'
                                          % ('%.3g' % lo, '%.3g' % hi, unit)), 0, 0)
        # Widgets added to a panel already shown stay hidden until shown (Qt's rule; the
        # app's event loop would show them a moment later, a grab at once would not).
        for k in range(self.by_grid.count()):
            self.by_grid.itemAt(k).widget().setVisible(True)

    @property
    def category_names(self):
        """The category rows of the chosen attribute, by name."""
        return list(self._category_rows)

    def category_count_text(self, category):
        return self._category_rows[category][2].text()

    def category_color(self, category):
        return self._category_rows[category][3]

    def set_category_checked(self, category, checked):
        self._category_rows[category][0].setChecked(checked)

    def set_category_color(self, category, color):
        row = self._category_rows[category]
        row[1].color = self._rgba8(color)
        row[1].setToolTip(color)
        row[3] = color

    # -- class rows -------------------------------------------------------------------

    @property
    def class_names(self):
        return list(self._class_rows)

    @property
    def checked_classes(self):
        return [n for n, row in self._class_rows.items() if row[0].isChecked()]

    def class_color(self, name):
        """The class colour as command text (what the panel's commands name)."""
        return self._class_rows[name][3]

    def object_count_text(self, name):
        return self._class_rows[name][2].text()

    def set_class_checked(self, name, checked):
        self._class_rows[name][0].setChecked(checked)

    def _class_toggled(self, name, on):
        settings = connectome_settings(self.session)
        checked = set(settings.checked_classes)
        (checked.add if on else checked.discard)(name)
        settings.checked_classes = pure.ordered_classes(checked)
        self._recolor_if_colored()

    def set_class_color(self, name, color):
        """Set a class's colour (colour text such as 'lime' or '#00ff80'), remember it,
        and recolour the map if the panel's classes colour it now."""
        settings = connectome_settings(self.session)
        row = self._class_rows[name]
        row[1].color = self._rgba8(color)
        row[1].setToolTip(color)
        row[3] = color
        settings.class_colors = dict(settings.class_colors, **{name: color})
        self._recolor_if_colored()

    def _rgba8(self, color):
        from chimerax.core.commands import ColorArg
        return ColorArg.parse(color, self.session)[0].uint8x4()

    def _recolor_if_colored(self):
        image = self.image
        if image is not None and segmentation_colored(image):
            self.color_map()

    def _surfaces_mode_chosen(self, index):
        connectome_settings(self.session).surfaces_each = SURFACE_CHOICES[index][1]

    # -- actions: each runs one logged command ----------------------------------------

    def color_map_command(self):
        seg, image = self._chosen('color')
        names = self.checked_classes
        if not names:
            return 'connectome uncolor %s' % image.atomspec
        return ('connectome color %s map %s attributes %s colors %s'
                % (seg.atomspec, image.atomspec, ','.join(names),
                   ','.join(self.class_color(n) for n in names)))

    def clear_colors_command(self):
        return 'connectome uncolor %s' % self._chosen('clear colors')[1].atomspec

    def surfaces_command(self):
        seg, _ = self._chosen('show surfaces', need_image=False)
        names = self.checked_classes
        if not names:
            self._error('check the classes to show surfaces of')
        text = 'connectome surfaces %s attributes %s' % (seg.atomspec, ','.join(names))
        if SURFACE_CHOICES[self.surfaces_menu.currentIndex()][1]:
            text += ' each true'
        else:
            text += ' colors %s' % ','.join(self.class_color(n) for n in names)
        return text

    def picked_command(self):
        seg, _ = self._chosen('show objects', need_image=False)
        where = ''.join(self.pick_field.text().split())
        if where.startswith('where'):
            where = where[len('where'):]
        name = where.partition('=')[0]
        if not where:
            self._error('type the objects to show, e.g. axon=12,40-45')
        connectome_settings(self.session).pick_text = self.pick_field.text()
        text = 'connectome surfaces %s where %s' % (seg.atomspec, where)
        if SURFACE_CHOICES[self.surfaces_menu.currentIndex()][1]:
            text += ' each true'
        elif name in self._class_rows:
            text += ' colors %s' % self.class_color(name)
        return text

    def _partners_show_chosen(self, index):
        connectome_settings(self.session).partners_show = PARTNER_SHOWS[index][1]

    def _object(self, action):
        """(class, id text) typed in the Object field."""
        words = self.object_field.text().replace('=', ' ').split()
        if len(words) != 2 or not words[1].isdigit():
            self._error('type a class and one id to %s, e.g. neuron 1' % action)
        connectome_settings(self.session).object_text = self.object_field.text()
        return words[0], words[1]

    def partners_command(self):
        seg, _ = self._chosen('list partners', need_image=False)
        name, object_id = self._object('list its partners')
        text = 'connectome partners %s %s %s' % (seg.atomspec, name, object_id)
        show = PARTNER_SHOWS[self.partners_menu.currentIndex()][1]
        return text + (' show %s' % show if show else '')

    def synapses_command(self):
        seg, _ = self._chosen('show synapses', need_image=False)
        name, object_id = self._object('show its synapses')
        side = 'of' if name == 'axon' else 'onto'
        return 'connectome synapses %s %s %s %s' % (seg.atomspec, side, name, object_id)

    def skeleton_command(self):
        seg, _ = self._chosen('show skeletons', need_image=False)
        name, object_id = self._object('show its skeleton')
        return 'connectome skeletons %s %s %s' % (seg.atomspec, name, object_id)

    def go_command(self):
        seg, _ = self._chosen('go to an object', need_image=False)
        name, object_id = self._object('go to it')
        return 'connectome show %s %s %s' % (seg.atomspec, name, object_id)

    def show_partners(self):
        return self._run(self.partners_command())

    def show_synapses(self):
        return self._run(self.synapses_command())

    def show_skeleton(self):
        return self._run(self.skeleton_command())

    def go_to_object(self):
        return self._run(self.go_command())

    def color_by_command(self):
        seg, image = self._chosen('color by an attribute')
        name = self.attribute
        if name is None:
            self._error('%s has no attribute of categories or numbers' % seg.name)
        text = 'connectome color %s %s' % (seg.atomspec, name)
        if self._category_rows:
            checked = [c for c, row in self._category_rows.items() if row[0].isChecked()]
            if not checked:
                self._error('check the categories to color')
            text += ' ' + ' '.join('%s %s' % (c, self.category_color(c)) for c in checked)
        text += ' map %s' % image.atomspec
        if self.key_check.isChecked():
            text += ' key true'
        return text

    def color_by(self):
        return self._run(self.color_by_command())

    def color_map(self):
        return self._run(self.color_map_command())

    def clear_colors(self):
        return self._run(self.clear_colors_command())

    def show_surfaces(self):
        return self._run(self.surfaces_command())

    def show_picked(self):
        return self._run(self.picked_command())

    def _run(self, text):
        from chimerax.core.commands import run
        return run(self.session, text)

    def _chosen(self, action, need_image=True):
        seg, image = self.segmentation, self.image
        if seg is None or (need_image and image is None):
            self._error('choose an EM map and a segmentation to %s' % action)
        return seg, image

    def _error(self, message):
        raise UserError('Connectome panel: %s' % message)


def show_panel(session):
    """Show the Connectome panel, making it if needed; return it."""
    if not session.ui.is_gui:
        raise UserError('connectome panel: needs the ChimeraX window (this session has none:'
                        ' started with --nogui); every panel action is a connectome command')
    for tool in session.tools.find_by_class(ConnectomeTool):
        tool.display(True)
        return tool
    return ConnectomeTool(session)
