"""The ``connectome color``, ``connectome uncolor`` and ``connectome surfaces`` commands:
colour an EM map by object class, remove that colouring, and show object surfaces.

    connectome color [SEGMENTATION] [map MAP] [attributes axon,dendrite,...]
        [colors lime,red,...] [replace true|false]
    connectome uncolor [MAPS]
    connectome surfaces [SEGMENTATION] [attributes axon,...] [where axon=12,40-45]
        [each true|false] [colors lime,...] [replace true|false]

They run ChimeraX's own ``segmentation colors`` and ``segmentation surfaces`` once per
class, logged, so the log is a script.  When no models are named they pick the
segmentation and EM map as the Connectome panel does (objectclasses.choose_...), which
is what lets toolbar buttons, which know no models, run them.  Class colours not given
come from the panel's settings, kept here because commands and panel share them.
Nothing here reads the volume itself: classes and counts come from the 1-D attribute
arrays, and colouring reads only the planes ChimeraX draws.
"""

from chimerax.core.settings import Settings

from . import objectclasses


class _ConnectomeSettings(Settings):
    AUTO_SAVE = {
        'class_colors': {},                 # class -> colour text the user chose
        'checked_classes': list(objectclasses.DEFAULT_CLASSES),
        'surfaces_each': False,             # one surface per object, or merged per class
        'pick_text': '',                    # last "axon=12,40-45" typed in the panel
    }


_settings = None


def connectome_settings(session):
    global _settings
    if _settings is None:
        _settings = _ConnectomeSettings(session, 'Connectome')
    return _settings


# ---------------------------------------------------------------------------------------
# Which models: open volumes, their object classes, the default EM map / segmentation.

def open_volumes(session):
    from chimerax.map import Volume
    return sorted(session.models.list(type=Volume), key=lambda v: v.id)


def segmentation_classes(seg):
    """Object classes of a segmentation model, in panel order: 1-D integer arrays in its
    file plus numpy arrays set on the model (as `connectome ids` does); the same two
    places ChimeraX's segmentation code looks (segment.py _attribute_values)."""
    from numpy import ndarray, integer, issubdtype
    cache = seg.__dict__.setdefault('_connectome_cache', {})
    if 'file classes' not in cache:
        path = getattr(seg.data, 'path', None)
        in_file = (hasattr(seg.data, 'find_attribute') and isinstance(path, str))
        cache['file classes'] = objectclasses.file_attribute_names(path) if in_file else []
    on_model = [name for name, value in vars(seg).items()
                if not name.startswith('_') and isinstance(value, ndarray)
                and value.ndim == 1 and issubdtype(value.dtype, integer)]
    return objectclasses.ordered_classes(set(cache['file classes']) | set(on_model))


def class_values(seg, name):
    """The attribute array of one class (index region id, value object id), read by
    ChimeraX's own lookup; arrays read from the file are kept with the model."""
    from chimerax.segment.segment import _attribute_values
    if name in vars(seg):
        return _attribute_values(seg, name)
    values = seg.__dict__.setdefault('_connectome_cache', {}).setdefault('values', {})
    if name not in values:
        try:
            values[name] = _attribute_values(seg, name)
        except LookupError as e:        # two arrays of that name in the file
            from chimerax.core.errors import UserError
            raise UserError(str(e))
    return values[name]


def choose_models(session, command, segmentation=None, image=None, need_image=True):
    """(segmentation, image): the given models, else the panel's defaults."""
    from chimerax.core.errors import UserError
    volumes = open_volumes(session)
    if segmentation is None:
        if image is not None:       # one that can colour the given map
            volumes = [v for v in volumes if v is not image
                       and tuple(v.data.size) == tuple(image.data.size)]
        segmentation = objectclasses.choose_segmentation(
            volumes, has_attributes=lambda v: bool(segmentation_classes(v)))
        if segmentation is None:
            raise UserError('%s: no segmentation is open (a map of integer region ids)' % command)
    if image is None and need_image:
        image = objectclasses.choose_image(volumes, segmentation)
        if image is None:
            raise UserError('%s: no EM map of the same grid size as segmentation %s (%s) is open'
                            % (command, segmentation.atomspec, segmentation.name))
    return segmentation, image


def _check_classes(command, seg, names):
    from chimerax.core.errors import UserError
    have = segmentation_classes(seg)
    if not have:
        raise UserError('%s: segmentation %s (%s) has no object classes; add them with'
                        ' connectome ids' % (command, seg.atomspec, seg.name))
    missing = [n for n in names if n not in have]
    if missing:
        raise UserError('%s: segmentation %s (%s) has no class %s; it has %s'
                        % (command, seg.atomspec, seg.name, ', '.join(missing), ', '.join(have)))


def _class_colors(session, command, names, colors):
    """Colour text per class: the given Colors, else the panel's, else the defaults."""
    from chimerax.core.errors import UserError
    if colors is None:
        chosen = connectome_settings(session).class_colors
        return objectclasses.class_colors(names, chosen)
    if len(colors) != len(names):
        raise UserError('%s: %d colors for %d classes (%s)'
                        % (command, len(colors), len(names), ','.join(names)))
    return {n: color_text(c.uint8x4()) for n, c in zip(names, colors)}


def color_text(rgba8):
    """A colour as command text: ChimeraX's name for it if one word ('lime'), else hex,
    so that colours stay valid in a comma-separated list."""
    from chimerax.core.colors import color_name, hex_color
    name = color_name(rgba8)
    return name if ' ' not in name else hex_color(rgba8)


# ---------------------------------------------------------------------------------------
# connectome color / uncolor

def connectome_color(session, segmentation=None, map=None, attributes=None, colors=None,
                     replace=True):
    """Colour the EM map by object classes, each class its own colour; returns the map."""
    from chimerax.core.commands import run
    from chimerax.core.errors import UserError
    seg, image = choose_models(session, 'connectome color', segmentation, map)
    if image is seg:
        raise UserError('connectome color: map and segmentation are both %s; color an EM'
                        ' map of the same grid size' % seg.atomspec)
    names = attributes or objectclasses.default_classes(segmentation_classes(seg))
    _check_classes('connectome color', seg, names)
    class_colors = _class_colors(session, 'connectome color', names, colors)
    if replace and segmentation_colored(image):
        run(session, 'connectome uncolor %s' % image.atomspec)
    # Segmentation colours modulate image-style display only, and a shown segmentation
    # hides the plane it colours.
    if seg.display:
        run(session, 'volume %s hide' % seg.atomspec)
    if not (image.display and image.image_shown):
        run(session, 'volume %s show style image' % image.atomspec)
    for name in names:
        run(session, 'segmentation colors %s %s map %s byAttribute %s'
            % (seg.atomspec, class_colors[name], image.atomspec, name))
    _enable_readout(session)
    return image


def segmentation_colored(volume):
    from chimerax.segment.segment import SegmentationMapColor
    return isinstance(volume.mask_colors, SegmentationMapColor)


def connectome_uncolor(session, maps=None):
    """Remove segmentation colouring from maps (default: every map that has it).
    ChimeraX has no command for this; the map redraws when its mask colours change."""
    maps = [v for v in (open_volumes(session) if maps is None else maps)
            if segmentation_colored(v)]
    for v in maps:
        v.mask_colors = None
    if maps:
        session.logger.info('Removed segmentation coloring from %s'
                            % ', '.join('%s (%s)' % (v.atomspec, v.name) for v in maps))
    else:
        session.logger.info('No map has segmentation coloring')
    return maps


# ---------------------------------------------------------------------------------------
# connectome surfaces

def connectome_surfaces(session, segmentation=None, attributes=None, where=None, each=False,
                        colors=None, replace=True):
    """Surfaces of object classes (merged per class in the class colour, or one per
    object), or of the objects ``where`` picks (``axon=12,40-45``); returns them."""
    from chimerax.core.commands import run, concise_model_spec
    from chimerax.core.errors import UserError
    command = 'connectome surfaces'
    seg, _ = choose_models(session, command, segmentation, need_image=False)
    if where is not None:
        name, equals, ids = where.partition('=')
        if not (equals and name.strip() and ids.strip()):
            raise UserError('%s: where needs CLASS=IDS, e.g. where axon=12,40-45, got "%s"'
                            % (command, where))
        if attributes and list(attributes) != [name.strip()]:
            raise UserError('%s: where picks %s objects, attributes names %s'
                            % (command, name.strip(), ','.join(attributes)))
        names = [name.strip()]
        where = '%s=%s' % (names[0], ids.strip())
    else:
        names = attributes or objectclasses.default_classes(segmentation_classes(seg))
    _check_classes(command, seg, names)
    class_colors = _class_colors(session, command, names, colors)
    if replace:
        previous = [m for m in getattr(seg, '_connectome_surfaces', []) if not m.deleted]
        if previous:
            run(session, 'close %s' % concise_model_spec(session, previous))
    made, tops = [], []
    root = session.models.scene_root_model
    for name in names:
        condition = 'where %s' % (where or name)
        if each:
            # ChimeraX gives each object its own colour.
            text = 'segmentation surfaces %s %s each %s' % (seg.atomspec, condition, name)
        else:
            text = 'segmentation surfaces %s %s color %s' % (seg.atomspec, condition,
                                                            class_colors[name])
        surfaces = run(session, text)
        made.extend(surfaces)
        for s in surfaces:
            top = s if s.parent is root else s.parent
            if top not in tops:
                tops.append(top)
    seg._connectome_surfaces = tops
    _enable_readout(session)
    return made


def _enable_readout(session):
    from .mousemode import enable_readout
    enable_readout(session)


# ---------------------------------------------------------------------------------------

def register_color_command(logger):
    from chimerax.core.commands import CmdDesc, register, BoolArg, ListOf, ColorArg, StringArg
    from chimerax.map import MapArg
    desc = CmdDesc(
        optional=[('segmentation', MapArg)],
        keyword=[('map', MapArg),
                 ('attributes', ListOf(StringArg)),
                 ('colors', ListOf(ColorArg)),
                 ('replace', BoolArg)],
        synopsis='color an EM map by object class (axon, dendrite, spinehead, ...)')
    register('connectome color', desc, connectome_color, logger=logger)


def register_uncolor_command(logger):
    from chimerax.core.commands import CmdDesc, register
    from chimerax.map import MapsArg
    desc = CmdDesc(optional=[('maps', MapsArg)],
                   synopsis='remove segmentation coloring from EM maps')
    register('connectome uncolor', desc, connectome_uncolor, logger=logger)


def register_surfaces_command(logger):
    from chimerax.core.commands import CmdDesc, register, BoolArg, ListOf, ColorArg, StringArg
    from chimerax.map import MapArg
    desc = CmdDesc(
        optional=[('segmentation', MapArg)],
        keyword=[('attributes', ListOf(StringArg)),
                 ('where', StringArg),
                 ('each', BoolArg),
                 ('colors', ListOf(ColorArg)),
                 ('replace', BoolArg)],
        synopsis='show surfaces of object classes or of objects picked by id')
    register('connectome surfaces', desc, connectome_surfaces, logger=logger)
