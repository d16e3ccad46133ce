"""Colouring an EM map by the regions of a segmentation: the one way ``connectome color``,
``connectome uncolor``, ``connectome partners ... show map`` and ``connectome show`` do
it (and so the panel and the toolbar, which run them), and the colours they use.

``color_map`` hides the segmentation, shows the map in image style, replaces the
colouring the map has (or adds to it), sets the new colours, shows or removes the colour
key and switches on the readout under the mouse.  The colours are either classes
(``ClassColor``), each run as ChimeraX's own ``segmentation colors ... map ...
byAttribute`` so the log is a script, or one colour per region id (a table): this
module is the only place a map's colours are set or removed.  Also here: the colour of
each class (given, chosen in the panel, or the default), the default colours of
categories, colours as command text, and ChimeraX's colour key with its title.
"""

from dataclasses import dataclass

from chimerax.core.commands import StringArg, run
from chimerax.core.errors import UserError
import numpy as np

from ..pipeline import classes as pure
from . import compat
from .maps import segmentation_colored
from .readout import enable_readout
from .settings import connectome_settings

KEY_LABEL = 'connectome_key'        # the 2D label naming what the colour key shows
# Objects of no category (code 0, or a code without a name): grey.
NO_CATEGORY_RGBA = np.array([160, 160, 160, 255], np.uint8)


@dataclass(frozen=True)
class ClassColor:
    """One class coloured by ChimeraX's ``segmentation colors ... byAttribute``."""
    name: str           # the class attribute: axon
    color: str          # command text: lime, #00ff80


@dataclass(frozen=True)
class KeyEntry:
    color: str          # command text
    label: str


@dataclass(frozen=True)
class Key:
    """What the colour key shows: entries bottom to top as given, under a title;
    ``distinct`` for categories (boxes), else numbers along a ramp."""
    entries: tuple
    title: str
    distinct: bool


def color_map(session, seg, image, colors, replace=True, key=None, message=None):
    """Colour ``image`` by the regions of ``seg``: ``colors`` is a numpy table of one
    uint8 RGBA row per region id (white leaves a region as it is), or ClassColors.
    ``replace`` false adds to the colouring the map has; ``key`` (a Key) shows the
    colour key, else replacing removes the old one; ``message`` is logged once the
    colours are set.  Returns the map."""
    table = colors.astype(np.uint8) if isinstance(colors, np.ndarray) else None
    if table is not None:
        table[0] = 255          # region 0 is no region
        base = compat.segmentation_rgba(image) if not replace else None
        if base is not None and len(base) == len(table):
            # On top of the colouring there is, where this one colours.
            mine = (table[:, :3] != 255).any(axis=1)
            blended = base.copy()
            blended[mine] = table[mine]
            table = blended
    if replace:
        if table is None and segmentation_colored(image):
            # ChimeraX's segmentation colors adds to a map's colouring: remove it first.
            run(session, 'connectome uncolor %s' % image.atomspec)
        if key is None:
            remove_key(session)
    show_image(session, seg, image)
    if table is None:
        for c in colors:
            run(session, 'segmentation colors %s %s map %s byAttribute %s'
                % (seg.atomspec, c.color, image.atomspec, c.name))
    else:
        compat.set_segmentation_colors(image, seg, table)
    if message:
        session.logger.info(message)
    warn_if_colors_skipped(session, image)
    if key is not None:
        show_key(session, key)
    enable_readout(session)
    return image


def warn_if_colors_skipped(session, image):
    """Warn when ``image``'s rendering options make ChimeraX skip its segmentation
    colours: it applies them only where it colours the planes itself, not with the
    colormap on the GPU (``colormapOnGpu true``, which the ray-casting ``projectionMode
    rays`` of ChimeraX 1.9 and later uses), where the map is drawn uncoloured, silently."""
    options = image.rendering_options
    skipped = [o for o, on in (('colormapOnGpu true', options.colormap_on_gpu),
                               ('projectionMode rays', options.projection_mode == 'rays'))
               if on]
    if skipped:
        session.logger.warning(
            '%s is coloured by regions, but ChimeraX does not draw segmentation colours'
            ' with %s; to see them: volume %s colormapOnGpu false projectionMode auto'
            % (image.atomspec, ' and '.join(skipped), image.atomspec))


def uncolor_maps(session, maps):
    """Remove the segmentation colouring of each map (ChimeraX has no command for it;
    the map redraws when its mask colours change) and the colour key."""
    for v in maps:
        compat.set_segmentation_colors(v, None, None)
    remove_key(session)


def set_map_colors(image, seg, rgba):
    """Set a map's per-region colours (``rgba`` as color_map takes a table) as they
    are, or remove them (``rgba`` None), with no command, key or readout: a session
    restoring the colouring it saved, or one that can no longer be drawn."""
    compat.set_segmentation_colors(image, seg, rgba)


def show_image(session, seg, image, options=''):
    """Hide the segmentation, whose planes would hide the map's, and show the map in
    image style, the only style segmentation colours modulate (logged commands).  With
    ``options`` (region, step) the map is shown with them even when shown already."""
    if seg.display:
        run(session, 'volume %s hide' % seg.atomspec)
    if image is not None and (options or not (image.display and image.image_shown)):
        run(session, 'volume %s show style image%s'
            % (image.atomspec, (' ' + options) if options else ''))


# ---------------------------------------------------------------------------------------
# the colour key

def show_key(session, key):
    """ChimeraX's colour key and a 2D label title above it, replacing the previous ones
    (logged commands)."""
    entries = list(key.entries)
    if len(entries) < 2:
        entries.append(KeyEntry('white', 'none'))
    if key.distinct:
        entries = entries[::-1]         # the key lists its first entry at the bottom
    pairs = ' '.join(StringArg.unparse('%s:%s' % (e.color, e.label)) for e in entries)
    if key.distinct:
        # Categories: a vertical column of boxes, each name to its right.
        height = min(0.06 * len(entries), 0.6)
        run(session, 'key %s pos 0.03,0.05 size 0.04,%.2f colorTreatment distinct'
            ' labelSide right/bottom justification left fontSize 16' % (pairs, height))
        top = 0.05 + height + 0.02
    else:
        run(session, 'key %s pos 0.08,0.08 size 0.5,0.04 colorTreatment blended'
            ' labelSide right/bottom fontSize 14' % pairs)
        top = 0.14
    text = StringArg.unparse(key.title)
    if _key_label(session) is not None:
        run(session, '2dlabels change %s text %s ypos %.2f' % (KEY_LABEL, text, top))
    else:
        run(session, '2dlabels create %s text %s xpos 0.03 ypos %.2f size 16 color white'
            % (KEY_LABEL, text, top))


def remove_key(session):
    """Remove the colour key and title ``show_key`` made (logged commands): they
    describe a colouring that is gone or replaced."""
    label = _key_label(session)
    if label is None:
        return
    run(session, 'key delete')
    run(session, '2dlabels delete %s' % label.drawing.atomspec)


def _key_label(session):
    try:
        from chimerax.label import find_label
    except ImportError:
        return None
    return find_label(session, KEY_LABEL)


# ---------------------------------------------------------------------------------------
# colours

def class_colors(session, command, names, colors=None):
    """{class: colour text}: the given Colors, else the panel's choice, else the defaults."""
    if colors is None:
        return pure.class_colors(names, connectome_settings(session).class_colors)
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


def category_colors(count):
    """The default colours of ``count`` categories in code order (uint8 rows): those of
    ColorBrewer's set1, as ``connectome color`` gives the categories of an attribute."""
    from chimerax.core.colors import BuiltinColormaps
    set1 = (BuiltinColormaps['set1'].colors * 255).round().astype('uint8')
    return [set1[k % len(set1)] for k in range(count)]


def category_palette(names):
    """{code: rgba8} of categories [(name, code)] in code order, with the default
    colours (category_colors)."""
    return {code: c for (_, code), c in zip(names, category_colors(len(names)))}


def colors_by_category(codes, names):
    """(n x 4 uint8, legend text) for objects of category ``codes``, ``names`` [(name,
    code)]: each category its default colour, the others NO_CATEGORY_RGBA; the legend
    lists the categories present with their colours and counts (``inhibitory #4daf4a
    (12), none #a0a0a0 (3)``)."""
    palette = category_palette(names)
    codes = np.asarray(codes, np.int64)
    size = max(list(palette) + [int(codes.max()) if codes.size else 0]) + 1
    table = np.tile(NO_CATEGORY_RGBA, (size, 1))
    for code, c in palette.items():
        table[code] = c
    counts = np.bincount(codes, minlength=size)
    parts = ['%s %s (%d)' % (name, color_text(palette[code]), counts[code])
             for name, code in names if counts[code]]
    others = int(codes.size - sum(counts[code] for code in palette))
    if others:
        parts.append('none %s (%d)' % (color_text(NO_CATEGORY_RGBA), others))
    return table[codes], ', '.join(parts)
