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
categories and of synapse types, and colours as command text; the keys that name them
are session/keys.py.

A key's entries are one per colour drawn, with its count (KeyEntry.count), none for a
category nothing has (``colors_by_category``).  One palette per meaning, so that two meanings
never share a colour in one scene: object classes, axon classes, dendrite classes and
synapse types each have their own (pipeline/classes.py CLASS_COLORS, CATEGORY_COLORS),
other attributes' categories ColorBrewer set1 (``category_colors``).
"""

from dataclasses import dataclass

from chimerax.core.commands import run
from chimerax.core.errors import UserError
import numpy as np

from ..pipeline import classes as pure
from . import compat
from .keys import KeyEntry, remove_key, show_key
from .maps import segmentation_colored
from .readout import enable_readout
from .settings import connectome_settings

# Objects of no category (code 0, or a code without a name) of an attribute without a
# class of its own: grey.
NO_CATEGORY_RGBA = np.array(pure.rgb(pure.NO_CATEGORY) + (255,), np.uint8)
SYNAPSE_TYPE = pure.SYNAPSE_TYPE        # the meaning of synapses' colours by type
SYNAPSE_TYPE_COLORS = pure.CATEGORY_COLORS[SYNAPSE_TYPE]


@dataclass(frozen=True)
class ClassColor:
    """One class coloured by ChimeraX's ``segmentation colors ... byAttribute``."""
    name: str           # the class attribute: axon
    color: str          # command text: lime, #00ff80


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
        show_key(session, key, owners=[image])
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


def category_colors(count, attribute=None):
    """The default colours of ``count`` categories of ``attribute`` in code order (uint8
    rows): the attribute's own palette (pipeline/classes.py CATEGORY_COLORS: axon
    classes, dendrite classes, synapse types, each in colours no other meaning has),
    else those of ColorBrewer's set1."""
    from chimerax.core.colors import BuiltinColormaps, Color
    own = pure.category_colors(attribute, count)
    if own is not None:
        return [np.array(Color(c).uint8x4(), np.uint8) for c in own]
    set1 = (BuiltinColormaps['set1'].colors * 255).round().astype('uint8')
    return [set1[k % len(set1)] for k in range(count)]


def no_category_rgba(attribute=None):
    """The colour (uint8) of objects of no category of ``attribute``: that of the class
    its categories divide (an axon of no axon class is drawn as an axon), else grey."""
    from chimerax.core.colors import Color
    return np.array(Color(pure.no_category_color(attribute)).uint8x4(), np.uint8)


def category_palette(names, attribute=None):
    """{code: rgba8} of categories [(name, code)] of ``attribute`` in code order, with
    their default colours (category_colors), and code 0 (no category) in
    no_category_rgba's."""
    palette = {code: c for (_, code), c in zip(names, category_colors(len(names), attribute))}
    palette.setdefault(0, no_category_rgba(attribute))
    return palette


def colors_by_category(codes, names, attribute=None):
    """(n x 4 uint8, KeyEntries) for objects of category ``codes``, ``names`` [(name,
    code)] of ``attribute``: each category its default colour (category_palette), the
    others no_category_rgba's; one entry per colour drawn, with its count (none for a
    category no object has)."""
    palette = category_palette(names, attribute)
    none = palette.pop(0)
    codes = np.asarray(codes, np.int64)
    size = max(list(palette) + [int(codes.max()) if codes.size else 0]) + 1
    table = np.tile(none, (size, 1))
    for code, c in palette.items():
        table[code] = c
    counts = np.bincount(codes, minlength=size)
    entries = [KeyEntry(color_text(palette[code]), name, int(counts[code]))
               for name, code in names if counts[code]]
    others = int(codes.size - sum(counts[code] for code in palette))
    if others:
        # Named for the attribute: a key of several (skeletons of axons and dendrites)
        # has several, in the colours of their classes.
        entries.append(KeyEntry(color_text(none), 'no %s' % attribute if attribute
                                else 'none', others))
    return table[codes], tuple(entries)


def legend_text(entries):
    """Key entries as log text: ``inhibitory #4daf4a (12), none #a0a0a0 (3)``."""
    return ', '.join('%s %s (%d)' % (e.label, e.color, e.count) for e in entries)
