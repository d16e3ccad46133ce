"""The ``connectome color``, ``connectome uncolor`` and ``connectome surfaces`` commands:
colour an EM map by object class, remove that colouring, and show object surfaces.

    connectome color [SEGMENTATION] [map MAP] [attributes axon,dendrite,...]
        [colors lime,red,...] [replace true|false]
    connectome uncolor [MAPS]
    connectome surfaces [SEGMENTATION] [attributes axon,...] [where axon=12,40-45]
        [each true|false] [colors lime,...] [replace true|false]

They run ChimeraX's own ``segmentation colors`` and ``segmentation surfaces`` once per
class, logged, so the log is a script.  When no models are named they pick the
segmentation and EM map as the Connectome panel does (session/maps.py), which
is what lets toolbar buttons, which know no models, run them.  Class colours not given
come from the panel's settings (session/settings.py).
Nothing here reads the volume itself: classes and counts come from the 1-D attribute
arrays, and colouring reads only the planes ChimeraX draws.
"""

from ..pipeline import classes as pure
from ..errors import InputError
from ..session.classes import check_classes, class_colors, class_values, segmentation_classes
from ..session.maps import choose_models, open_volumes, segmentation_colored
from ..session.readout import enable_readout


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
    names = attributes or pure.default_classes(segmentation_classes(seg))
    check_classes('connectome color', seg, names)
    colors_of = class_colors(session, 'connectome color', names, colors)
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
            % (seg.atomspec, colors_of[name], image.atomspec, name))
    enable_readout(session)
    return image


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
                                                            colors_of[name])
        surfaces = run(session, text)
        made.extend(surfaces)
        for s in surfaces:
            top = s if s.parent is root else s.parent
            if top not in tops:
                tops.append(top)
    seg._connectome_surfaces = tops
    enable_readout(session)
    return made


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
