"""The Connectome panel (Tools > Volume Data > Connectome): colour an EM map by object
class, show object surfaces and pick objects by id without typing commands.

Menus choose the EM map and the segmentation among open volumes; one row per object
class of the segmentation gives a show/hide checkbox, a colour and the object count.
"Color by" picks an attribute of named categories (axonclass) or of numbers
(spineheadvolume): one row per category with its name, colour and object count, or the
range of the numbers, and its button colours the map by them with a key.
The Object row names one object (neuron 1): its partners (a table in the log, and
their synapses, surfaces or skeletons), its synapses, its skeleton, and going to it.
Every button runs a ``connectome`` command with ``run``, written by ui/commands.py as
the toolbar's are, so the log records it and can be replayed as a .cxc script; class
colours, checked classes and the last choices are kept in the settings the commands
share (session/settings.py).  The widgets are laid out by ui/panelwidgets.py.  Nothing
here reads the volume: classes and counts come from the 1-D attribute arrays.
The last ``connectome table`` shows in a sortable table (session/tables.py); a row
double-clicked runs ``connectome show`` for its object, Export runs the table's command
with ``save FILE``.
"""

from chimerax.core.errors import UserError
from chimerax.core.tools import ToolInstance

from ..errors import InputError
from ..pipeline import classes as pure
from ..pipeline.wiring import CLASSES, SYNAPSE_ATTRIBUTES, region_synapses
from ..session.classes import (attribute_info, category_attributes, class_values,
                               number_attributes, number_values, segmentation_classes)
from ..session.coloring import category_colors, color_text
from ..session.maps import open_volumes, segmentation_colored
from ..session.readout import enable_readout
from ..session.settings import connectome_settings
from ..session.wiring import segmentation_wiring
from . import commands
from ..session.tables import last_table, on_table
from .panelwidgets import (PARTNER_SHOWS, SURFACE_CHOICES, add_row, build, clear,
                           fill_table)

TOOL_NAME = 'Connectome'


class ConnectomeTool(ToolInstance):

    SESSION_ENDURING = False
    SESSION_SAVE = False
    help = 'help:user/tools/connectome.html'

    def __init__(self, session, tool_name=TOOL_NAME):
        super().__init__(session, tool_name)
        from chimerax.ui import MainToolWindow
        self.tool_window = MainToolWindow(self)
        self._class_rows = {}           # class -> Row
        self._category_rows = {}        # category of the chosen attribute -> Row
        self._rows_segmentation = ()    # the segmentation the rows were made for; () none yet
        self._table = None              # the last table shown (session/tables.py ShownTable)
        build(self, self.tool_window.ui_area)
        self._refresh_models()
        from chimerax.core.models import ADD_MODELS, REMOVE_MODELS
        t = session.triggers
        self._handlers = [t.add_handler(ADD_MODELS, self._models_changed),
                          t.add_handler(REMOVE_MODELS, self._models_changed),
                         on_table(session, self.show_table)]
        if last_table(session) is not None:
            self.show_table(last_table(session))
        self.tool_window.manage('side')
        enable_readout(session)

    def delete(self):
        for h in self._handlers:
            self.session.triggers.remove_handler(h)
        self._handlers = []
        super().delete()        # closes the tool window too

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
        self.segmentation_chosen()

    def segmentation_chosen(self, *args):
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
        clear(self.classes_grid)
        self._class_rows = {}
        self._rows_segmentation = seg
        names = segmentation_classes(seg) if seg is not None else []
        settings = connectome_settings(self.session)
        colors = pure.class_colors(names, settings.class_colors)
        for row, name in enumerate(names):
            made = add_row(self.classes_grid, row, name, name in settings.checked_classes,
                           colors[name], self._rgba8(colors[name]),
                           self._count_text(seg, name),
                           lambda color, name=name: self.set_class_color(name, color))
            made.check.toggled.connect(lambda on, name=name: self._class_toggled(name, on))
            self._class_rows[name] = made
        if seg is None:
            self.no_classes_label.setText('Open a segmentation (a map of region ids).')
        elif not names:
            self.no_classes_label.setText('%s has no object classes: add them with'
                                          ' connectome ids.' % seg.name)
        self.no_classes_label.setVisible(not names)
        self._show_attribute_menu(seg)

    # -- color by attribute -------------------------------------------------------------

    def _count_text(self, seg, name):
        """'12 objects'; a per-region synapse id counted as every command counts
        synapses (pipeline/wiring.py), when the segmentation keeps its wiring."""
        values = class_values(seg, name)
        if name in SYNAPSE_ATTRIBUTES:
            try:
                w = segmentation_wiring(self.session, seg).wiring
            except InputError:
                w = None
            if w is not None:
                return region_synapses(w, values).text()
        count = pure.object_count(values)
        return '%d object%s' % (count, '' if count == 1 else 's')

    def _show_attribute_menu(self, seg):
        names = (category_attributes(seg) + number_attributes(seg)) if seg is not None else []
        self.by_menu.blockSignals(True)
        self.by_menu.clear()
        for name in names:
            self.by_menu.addItem(name)
        self.by_menu.setCurrentIndex(0 if names else -1)
        self.by_menu.blockSignals(False)
        self.by_widgets.setVisible(bool(names))
        self.attribute_chosen()

    @property
    def attribute_names(self):
        """The attributes the Color by menu offers."""
        return [self.by_menu.itemText(i) for i in range(self.by_menu.count())]

    @property
    def attribute(self):
        return self.by_menu.currentText() or None

    def choose_attribute(self, name):
        self.by_menu.setCurrentIndex(self.attribute_names.index(name))

    def attribute_chosen(self, *args):
        from Qt.QtWidgets import QLabel
        clear(self.by_grid)
        self._category_rows = {}
        seg, name = self.segmentation, self.attribute
        if seg is None or name is None:
            return
        info = attribute_info(seg)[name]
        if info.kind == 'category':
            unit = info.objects or 'object'
            palette = category_colors(len(info.categories), name)
            for row, (category, code, count) in enumerate(info.categories):
                color = color_text(palette[row])
                self._category_rows[category] = add_row(
                    self.by_grid, row, category, count > 0, color, self._rgba8(color),
                    '%d %s%s' % (count, unit, '' if count == 1 else 's'),
                    lambda color, c=category: self.set_category_color(c, color))
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
        return self._category_rows[category].count.text()

    def category_color(self, category):
        return self._category_rows[category].color

    def set_category_checked(self, category, checked):
        self._category_rows[category].check.setChecked(checked)

    def set_category_color(self, category, color):
        self._category_rows[category].set_color(color, self._rgba8(color))

    # -- class rows -------------------------------------------------------------------

    @property
    def class_names(self):
        return list(self._class_rows)

    @property
    def checked_classes(self):
        return [n for n, row in self._class_rows.items() if row.checked]

    def class_color(self, name):
        """The class colour as command text (what the panel's commands name)."""
        return self._class_rows[name].color

    def object_count_text(self, name):
        return self._class_rows[name].count.text()

    def set_class_checked(self, name, checked):
        self._class_rows[name].check.setChecked(checked)

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
        self._class_rows[name].set_color(color, self._rgba8(color))
        settings.class_colors = dict(settings.class_colors, **{name: color})
        self._recolor_if_colored()

    def _rgba8(self, color):
        from chimerax.core.commands import ColorArg
        return ColorArg.parse(color, self.session)[0].uint8x4()

    def _recolor_if_colored(self):
        image = self.image
        if image is not None and segmentation_colored(image):
            self.color_map()

    def surfaces_mode_chosen(self, index):
        connectome_settings(self.session).surfaces_each = SURFACE_CHOICES[index][1]

    # -- actions: each runs one logged command ----------------------------------------

    def color_map_command(self):
        seg, image = self._chosen('color')
        names = self.checked_classes
        if not names:
            return commands.uncolor_command(image)
        return commands.color_command(seg, image, names, [self.class_color(n) for n in names])

    def clear_colors_command(self):
        return commands.uncolor_command(self._chosen('clear colors')[1])

    def _each(self):
        return SURFACE_CHOICES[self.surfaces_menu.currentIndex()][1]

    def surfaces_command(self):
        seg, _ = self._chosen('show surfaces', need_image=False)
        names = self.checked_classes
        if not names:
            self._error('check the classes to show surfaces of')
        return commands.surfaces_command(seg, names, each=self._each(),
                                         colors=[self.class_color(n) for n in names])

    def picked_command(self):
        seg, _ = self._chosen('show objects', need_image=False)
        where = ''.join(self.pick_field.text().split())
        if where.startswith('where'):
            where = where[len('where'):]
        name = where.partition('=')[0]
        if not where:
            self._error('type the objects to show, e.g. axon=12,40-45')
        connectome_settings(self.session).pick_text = self.pick_field.text()
        colors = [self.class_color(name)] if name in self._class_rows else None
        return commands.surfaces_command(seg, where=where, each=self._each(), colors=colors)

    def partners_show_chosen(self, index):
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
        show = PARTNER_SHOWS[self.partners_menu.currentIndex()][1]
        return commands.partners_command(seg, name, object_id, show)

    def synapses_command(self):
        seg, _ = self._chosen('show synapses', need_image=False)
        return commands.synapses_command(seg, *self._object('show its synapses'))

    def skeleton_command(self):
        seg, _ = self._chosen('show skeletons', need_image=False)
        return commands.skeletons_command(seg, *self._object('show its skeleton'))

    def go_command(self):
        seg, _ = self._chosen('go to an object', need_image=False)
        return commands.show_command(seg, *self._object('go to it'))

    def color_by_command(self):
        seg, image = self._chosen('color by an attribute')
        name = self.attribute
        if name is None:
            self._error('%s has no attribute of categories or numbers' % seg.name)
        categories = [(c, row.color) for c, row in self._category_rows.items() if row.checked]
        if self._category_rows and not categories:
            self._error('check the categories to color')
        return commands.color_by_command(seg, image, name, categories,
                                         self.key_check.isChecked())

    def show_partners(self):
        return self._run(self.partners_command())

    def show_synapses(self):
        return self._run(self.synapses_command())

    def show_skeleton(self):
        return self._run(self.skeleton_command())

    def go_to_object(self):
        return self._run(self.go_command())

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

    # -- the last table ------------------------------------------------------------------

    def show_table(self, shown):
        """Show a ShownTable (session/tables.py), or none."""
        self._table = shown
        fill_table(self.table_widget, self.table_label, shown.table if shown else None)
        self.export_button.setEnabled(shown is not None)

    def table_object(self, row, column):
        """(class, id) of the object of a row of the table widget: the object of the
        column double-clicked when it is a class (axon, dendrite ...), else the row's."""
        from Qt.QtCore import Qt
        table = self._table.table
        header = self.table_widget.horizontalHeaderItem(column).text()
        names = list(table.columns)

        def cell(name):
            item = self.table_widget.item(row, names.index(name))
            return item.data(Qt.ItemDataRole.DisplayRole) if item is not None else None
        if header in CLASSES:
            name, value = header, cell(header)
        elif table.id_column in names and (table.object_class in CLASSES
                                           or 'class' in names):
            name = table.object_class if table.object_class in CLASSES else cell('class')
            value = cell(table.id_column)
        else:
            self._error('this row is no object: double-click an axon, dendrite, spine head'
                        ' or neuron id')
        if not isinstance(value, int) or value <= 0:
            self._error('this row has no %s' % name)
        return name, value

    def table_show_command(self, row, column):
        name, value = self.table_object(row, column)
        return 'connectome show %s %s %d' % (self._table.segmentation, name, value)

    def table_row_chosen(self, row, column):
        return self._run(self.table_show_command(row, column))

    def export_command(self, path):
        from chimerax.core.commands import quote_path_if_necessary
        return '%s save %s' % (self._table.command, quote_path_if_necessary(path))

    def export_table(self, path=None):
        """Save the table: runs its command with save FILE (asked for when not given)."""
        if self._table is None:
            self._error('no table to export yet (connectome table ...)')
        if path is None:
            from Qt.QtWidgets import QFileDialog
            path, _ = QFileDialog.getSaveFileName(self.table_widget, 'Export table',
                                                  'table.csv', 'CSV (*.csv);;TSV (*.tsv)')
            if not path:
                return None
        return self._run(self.export_command(path))

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
