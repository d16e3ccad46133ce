"""The ``connectome color``, ``connectome uncolor`` and ``connectome surfaces`` commands:
colour an EM map by object class, by named category or by a number per region, remove
that colouring, and show object surfaces.

    connectome color [SEGMENTATION] [map MAP] [attributes axon,dendrite,...]
        [colors lime,red,...] [replace true|false]
    connectome color [SEGMENTATION] CATEGORIES [NAME COLOR ...] [map MAP] [key true]
    connectome color [SEGMENTATION] NUMBERS [palette P] [range LOW,HIGH|full] [key true]
    connectome uncolor [MAPS]
    connectome surfaces [SEGMENTATION] [attributes axon,...] [where axon=12,40-45]
        [each true|false|CLASS] [colors lime,...] [replace true|false] [lod N]
        [meshes true|false] [key true|false]

They run ChimeraX's own ``segmentation colors`` and ``segmentation surfaces`` once per
class, logged, so the log is a script.  Categories (axonclass inhibitory red ...) and
numbers (spineheadvolume) get one colour per region computed here, each category its
chosen colour (else a ColorBrewer set1 colour), numbers a colour ramp (viridis by
default) over a range, set as ChimeraX's own segmentation colouring of the map; ``key
true`` adds ChimeraX's colour key (``key``) with 2D labels, logged commands, naming each
class or category drawn with its count of objects (session/keys.py show_key); for
surfaces a key of 2D labels naming each class drawn and its count of objects, or the
objects themselves when each has its own colour and they are few (show_surfaces_key).
The map is coloured, and its colouring removed, by session/coloring.py, as by every
other command and the panel.
When no models are named they pick the segmentation and EM map as the Connectome panel
does (session/maps.py), which is what lets toolbar buttons, which know no models, run
them.  Class colours not given come from the panel's settings (session/settings.py).
Nothing here reads the volume itself: classes and counts come from the 1-D attribute
arrays, and colouring reads only the planes ChimeraX draws.
"""

import numpy as np
from chimerax.core.commands import (Annotation, AnnotationError, BoolArg, CmdDesc, ColorArg,
                                    ColormapArg, ColormapRangeArg, ListOf, next_token,
                                    NonNegativeIntArg, Or, register, run, StringArg)

from ..pipeline import classes as pure
from ..errors import InputError
from ..session.classes import (check_attribute, check_classes, class_values, number_values,
                               segmentation_classes)
from ..session.coloring import (ClassColor, category_colors, class_colors, color_map,
                                color_text, uncolor_maps)
from ..session.keys import Key, KeyEntry, show_surfaces_key
from ..session.maps import choose_models, command_ends, open_volumes, segmentation_colored
from ..session.meshsurfaces import surfaces_from_meshes
from ..session.readout import enable_readout

COLOR_KEYWORDS = ('map', 'attributes', 'colors', 'replace', 'palette', 'range', 'key')
# viridis, which ChimeraX 1.7 has no palette of: perceptually even, dark to light, and
# never white (a white region would look uncoloured: colours modulate the EM image)
VIRIDIS = '#440154:#3b528b:#21918c:#5ec962:#fde725'


class AttributeColorsArg(Annotation):
    """ATTRIBUTE [NAME COLOR ...]: a category or number attribute and colours for some
    of its categories, up to the next keyword of the command."""
    name = 'an attribute of categories or numbers, then category color pairs'

    @staticmethod
    def parse(text, session):
        if command_ends(text):
            raise AnnotationError('expected an attribute name')
        word, word_text, rest = next_token(text)
        if word.lower() in COLOR_KEYWORDS or word.startswith('#'):
            raise AnnotationError('expected an attribute name')
        pairs, used = [], [word_text]
        while not command_ends(rest):
            name, name_text, after = next_token(rest.lstrip())
            if name.lower() in COLOR_KEYWORDS:
                break
            if command_ends(after):
                raise AnnotationError('category %s has no color' % name)
            color, color_text_, rest = ColorArg.parse(after.lstrip(), session)
            pairs.append((name, color))
            used += [name_text, color_text_]
        return (word, pairs), ' '.join(used), rest


# ---------------------------------------------------------------------------------------
# connectome color / uncolor

def connectome_color(session, segmentation=None, by=None, map=None, attributes=None,
                     colors=None, replace=True, palette=None, range=None, key=False):
    """Colour the EM map by object classes, each class its own colour, or (``by``) by
    the categories or numbers of one attribute; returns the map."""
    from chimerax.core.errors import UserError
    seg, image = choose_models(session, 'connectome color', segmentation, map)
    if image is seg:
        raise UserError('connectome color: map and segmentation are both %s; color an EM'
                        ' map of the same grid size' % seg.atomspec)
    if by is not None:
        if attributes is not None or colors is not None:
            raise UserError('connectome color: give either an attribute of categories or'
                            ' numbers (%s) or attributes and colors, not both' % by[0])
        return _color_by(session, seg, image, by[0], by[1], replace, palette, range, key)
    if palette is not None or range is not None:
        raise UserError('connectome color: palette and range color an attribute of'
                        ' numbers (connectome color %s spineheadvolume palette ...)'
                        % seg.atomspec)
    names = attributes or pure.default_classes(segmentation_classes(seg))
    check_classes('connectome color', seg, names)
    colors_of = class_colors(session, 'connectome color', names, colors)
    # Each class with the number of its objects that have regions (drawn).
    shown = Key(tuple(KeyEntry(colors_of[n], n, _objects_drawn(class_values(seg, n)))
                      for n in names), 'object classes', True) if key else None
    return color_map(session, seg, image, [ClassColor(n, colors_of[n]) for n in names],
                     replace, shown)


def _objects_drawn(values):
    """How many objects the regions' object ids ``values`` name (0: none)."""
    ids = np.unique(np.asarray(values))
    return int(np.count_nonzero(ids))


def _color_by(session, seg, image, name, chosen, replace, palette, value_range, key):
    """Colour by the categories or numbers of one attribute (module docstring)."""
    from chimerax.core.errors import UserError
    command = 'connectome color'
    info = check_attribute(command, seg, name)
    values = class_values(seg, name) if info.kind == 'category' else \
        number_values(seg, name)
    if info.kind == 'category':
        if palette is not None or value_range is not None:
            raise UserError('%s: %s holds categories; palette and range are for numbers'
                            % (command, name))
        categories = {n: (code, count) for n, code, count in info.categories}
        unknown = [n for n, _ in chosen if n not in categories]
        if unknown:
            raise UserError('%s: %s has no category %s; its categories are %s'
                            % (command, name, ', '.join(unknown),
                               ', '.join(n for n, _, _ in info.categories)))
        if chosen:
            picked = [(n, c.uint8x4()) for n, c in chosen]
        else:
            # Every category, each a colour of its attribute's palette in code order.
            picked = list(zip([n for n, _, _ in info.categories],
                              category_colors(len(info.categories), name)))
        rgba = pure.category_rgba(values, {categories[n][0]: c for n, c in picked})
        # A category no region has is not drawn: counted 0, the key leaves it out (a
        # pass over every region, so only when there is a key).
        drawn = set(np.unique(np.asarray(values)).tolist()) if key else None
        entries = [KeyEntry(color_text(c), n, categories[n][1]
                            if drawn is None or categories[n][0] in drawn else 0)
                   for n, c in picked]
        unit = info.objects or 'object'
        text = ', '.join('%s %s (%d %ss)' % (e.label, e.color, categories[e.label][1], unit)
                         for e in entries)
    else:
        if chosen:
            raise UserError('%s: %s holds numbers, not categories; color it with palette'
                            ' and range' % (command, name))
        colormap = _colormap(palette)
        if value_range is None or value_range == 'full':
            lo, hi = (pure.value_range(values) if value_range is None
                      else _full_range(values))
        else:
            lo, hi = (float(x) for x in value_range)
        if not hi > lo:
            raise UserError('%s: range %g,%g is empty' % (command, lo, hi))
        stops = colormap.data_values
        fractions = (stops - stops[0]) / max(float(stops[-1] - stops[0]), 1e-12)
        from chimerax.core.colors import Colormap
        ramp = Colormap(fractions, colormap.colors)
        rgba = pure.number_rgba(values, lo, hi, ramp.interpolated_rgba8)
        steps = 3
        entries = []
        for k in range(steps):
            f = k / (steps - 1)
            c = ramp.interpolated_rgba8([f])[0]
            entries.append(KeyEntry(color_text(c), _number(lo + f * (hi - lo))))
        unit = (' ' + info.unit) if info.unit else ''
        text = 'from %s to %s%s' % (_number(lo), _number(hi), unit)
    title = name + (' (%s)' % info.unit if info.unit else '')
    shown = Key(tuple(entries), title, info.kind == 'category')
    return color_map(session, seg, image, rgba, replace, shown if key else None,
                     'Colored %s by %s of %s: %s' % (image.atomspec, name, seg.atomspec, text))


def _colormap(palette):
    if palette is not None:
        return palette
    from chimerax.core.colors import Color, Colormap
    colors = [Color(c) for c in VIRIDIS.split(':')]
    return Colormap(None, colors)


def _full_range(values):
    v = np.asarray(values, np.float32)
    v = v[~np.isnan(v)]
    return (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)


def _number(v):
    return '%.3g' % v


def connectome_uncolor(session, maps=None):
    """Remove segmentation colouring from maps (default: every map that has it)."""
    maps = [v for v in (open_volumes(session) if maps is None else maps)
            if segmentation_colored(v)]
    uncolor_maps(session, maps)
    if maps:
        session.logger.info('Removed segmentation coloring from %s'
                            % ', '.join('%s (%s)' % (v.atomspec, v.name) for v in maps))
    else:
        session.logger.info('No map has segmentation coloring')
    return maps


# ---------------------------------------------------------------------------------------
# connectome surfaces

def connectome_surfaces(session, segmentation=None, attributes=None, where=None, each=False,
                        colors=None, replace=True, lod=None, meshes=True, key=False):
    """Surfaces of object classes (merged per class in the class colour, or one per
    object), or of the objects ``where`` picks (``axon=12,40-45``); returns them.
    ``each CLASS`` is ``each true attributes CLASS``.  They come from the class's meshes
    (``connectome meshes``) when there are meshes of every object drawn, at level of detail ``lod`` (else one that fits the
    triangle budget of ``graphics quality``), unless ``meshes false``.  ``key true``: a
    key of what is drawn, over every surface open in its colours."""
    from chimerax.core.errors import UserError
    command = 'connectome surfaces'
    if isinstance(each, str):
        if attributes and list(attributes) != [each]:
            raise UserError('%s: each names %s, attributes %s'
                            % (command, each, ','.join(attributes)))
        attributes, each = [each], True
    seg, _ = choose_models(session, command, segmentation, need_image=False)
    ranges = None
    if where is not None:
        name, equals, ids = where.partition('=')
        if not (equals and name.strip() and ids.strip()):
            raise UserError('%s: where needs CLASS=IDS, e.g. where axon=12,40-45, got "%s"'
                            % (command, where))
        if attributes and list(attributes) != [name.strip()]:
            raise UserError('%s: where picks %s objects, attributes names %s'
                            % (command, name.strip(), ','.join(attributes)))
        names = [name.strip()]
        check_classes(command, seg, names)
        # Checked here: ChimeraX's own parser overflows or allocates the whole range.
        largest = int(class_values(seg, names[0]).max())
        try:
            ranges = pure.parse_object_ids(ids, largest, names[0])
        except InputError as e:
            raise UserError('%s: where %s: %s' % (command, where, e))
        where = '%s=%s' % (names[0], pure.format_object_ids(ranges))
    else:
        names = attributes or pure.default_classes(segmentation_classes(seg))
    check_classes(command, seg, names)
    colors_of = class_colors(session, command, names, colors)
    if replace:
        previous = [m for m in getattr(seg, '_connectome_surfaces', []) if not m.deleted]
        if previous:
            # Each with its submodels (a group's surfaces): concise_model_spec names a
            # group without them (#!3), which closed the group and left its surfaces.
            run(session, 'close %s' % ' '.join(m.atomspec for m in previous))
    made, tops, drawn = [], [], []
    root = session.models.scene_root_model
    for name in names:
        surfaces = (surfaces_from_meshes(session, seg, name, ranges, each, colors_of[name],
                                         lod) if meshes else None)
        if surfaces is not None:
            made.extend(surfaces)
            tops.extend(_tops(surfaces, root, tops))
            drawn.append((name, surfaces, bool(each)))
            continue
        condition = 'where %s' % (where or name)
        if each:
            # ChimeraX gives each object its own colour.
            text = 'segmentation surfaces %s %s each %s' % (seg.atomspec, condition, name)
        else:
            text = 'segmentation surfaces %s %s color %s' % (seg.atomspec, condition,
                                                            colors_of[name])
        surfaces = run(session, text)
        made.extend(surfaces)
        tops.extend(_tops(surfaces, root, tops))
        drawn.append((name, surfaces, bool(each)))
    seg._connectome_surfaces = tops
    if key:
        show_surfaces_key(session, drawn)
    enable_readout(session)
    return made


def _tops(surfaces, root, tops):
    """The top-level models of ``surfaces`` not yet in ``tops``."""
    new = []
    for s in surfaces:
        top = s if s.parent is root else s.parent
        if top not in tops and top not in new:
            new.append(top)
    return new


# ---------------------------------------------------------------------------------------

def register_color_command(logger):
    from chimerax.map import MapArg
    desc = CmdDesc(
        optional=[('segmentation', MapArg), ('by', AttributeColorsArg)],
        keyword=[('map', MapArg),
                 ('attributes', ListOf(StringArg)),
                 ('colors', ListOf(ColorArg)),
                 ('replace', BoolArg),
                 ('palette', ColormapArg),
                 ('range', ColormapRangeArg),
                 ('key', BoolArg)],
        synopsis='color an EM map by object class, category or a number per region')
    register('connectome color', desc, connectome_color, logger=logger)


def register_uncolor_command(logger):
    from chimerax.map import MapsArg
    desc = CmdDesc(optional=[('maps', MapsArg)],
                   synopsis='remove segmentation coloring from EM maps')
    register('connectome uncolor', desc, connectome_uncolor, logger=logger)


def register_surfaces_command(logger):
    from chimerax.map import MapArg
    desc = CmdDesc(
        optional=[('segmentation', MapArg)],
        keyword=[('attributes', ListOf(StringArg)),
                 ('where', StringArg),
                 ('each', Or(BoolArg, StringArg)),
                 ('colors', ListOf(ColorArg)),
                 ('replace', BoolArg),
                 ('lod', NonNegativeIntArg),
                 ('meshes', BoolArg),
                 ('key', BoolArg)],
        synopsis='show surfaces of object classes or of objects picked by id')
    register('connectome surfaces', desc, connectome_surfaces, logger=logger)
