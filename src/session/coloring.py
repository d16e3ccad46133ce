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
categories and of synapse types, colours as command text, ChimeraX's colour key with its
title, and the key of 2D labels that names the colours of markers.

Keys tell what is on screen: an entry per colour drawn, with its count (KeyEntry.count),
none for a category nothing has (``colors_by_category``, ``show_key``); white labels on a
dark box, so a key reads on any background, in the corner of the window where it covers
least of what is shown (``_free_place``).  One palette per meaning, so that two meanings
never share a colour in one scene: object classes, axon classes, dendrite classes and
synapse types each have their own (pipeline/classes.py CLASS_COLORS, CATEGORY_COLORS),
other attributes' categories ColorBrewer set1 (``category_colors``).
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
LABEL_KEY_PREFIX = 'connectome_marker_'     # keys of 2D labels only, for markers
# Objects of no category (code 0, or a code without a name) of an attribute without a
# class of its own: grey.
NO_CATEGORY_RGBA = np.array(pure.rgb(pure.NO_CATEGORY) + (255,), np.uint8)
SYNAPSE_TYPE = pure.SYNAPSE_TYPE        # the meaning of synapses' colours by type
SYNAPSE_TYPE_COLORS = pure.CATEGORY_COLORS[SYNAPSE_TYPE]
# Keys: white text on a dark, slightly see-through box reads on any background.
KEY_TEXT = 'white'
KEY_BOX = '#202020d8'


@dataclass(frozen=True)
class ClassColor:
    """One class coloured by ChimeraX's ``segmentation colors ... byAttribute``."""
    name: str           # the class attribute: axon
    color: str          # command text: lime, #00ff80


@dataclass(frozen=True)
class KeyEntry:
    color: str          # command text
    label: str
    count: int = None   # objects (or markers) drawn in this colour; None: not counted

    @property
    def text(self):
        """The label as the key shows it: with its count if counted."""
        return self.label if self.count is None else '%s (%d)' % (self.label, self.count)


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

KEY_X, KEY_Y = 0.03, 0.05         # the key's lower left corner, in window fractions
KEY_WIDTH = 0.04                    # its colour boxes' width
KEY_FONT = 16                       # points, of the key's labels and title
KEY_ROW = 0.06                      # the height of a category's box


def show_key(session, key):
    """ChimeraX's colour key (the colours, in a column at the lower left or right,
    where it covers less of the data) with its labels and a title as 2D labels beside
    and above it, white on a dark box, replacing the previous ones (logged commands).
    Entries counted 0 are left out: nothing on screen has their colour."""
    shown = [e for e in key.entries if e.count is None or e.count > 0] or \
        [KeyEntry(KEY_BOX[:7], 'nothing drawn')]
    remove_key(session)
    # ChimeraX's key needs two colours: one entry is two boxes of its colour.
    boxes = shown if len(shown) > 1 else shown + [KeyEntry(shown[0].color, '')]
    # ChimeraX's key draws its first colour at the bottom: categories are listed from
    # the top, numbers rise from the bottom.
    if key.distinct:
        height = min(KEY_ROW * len(boxes), 0.6)
        fractions = [1 - (k + 0.5) / len(shown) for k in range(len(shown))]
        boxes = boxes[::-1]
    else:
        height = 0.3
        fractions = [k / max(len(shown) - 1, 1) for k in range(len(shown))]
    # The key's own labels are there for its state (and the Color Key tool) but
    # see-through: the 2D labels below read on any background, the key's own labels
    # only on the window's.
    pairs = ' '.join(StringArg.unparse('%s:%s' % (e.color, e.text if e.label else ''))
                     for e in boxes)
    line = _label_height(session)
    top = height + 0.02 + line + (0 if key.distinct else line / 2)    # the title's top
    width = KEY_WIDTH + 0.01 + _text_width(session, [e.text for e in shown] + [key.title])
    x0, y0 = _free_place(session, width, top, [(KEY_X, KEY_Y), (1 - KEY_X - width, KEY_Y)])
    run(session, 'key %s pos %.3f,%.3f size %.2f,%.2f colorTreatment %s labelSide'
        ' right/bottom justification left fontSize %d labelColor #ffffff00'
        % (pairs, x0, y0, KEY_WIDTH, height,
           'distinct' if key.distinct else 'blended', KEY_FONT))
    for k, (e, f) in enumerate(zip(shown, fractions), start=1):
        _key_text(session, '%s_%d' % (KEY_LABEL, k), e.text, x0 + KEY_WIDTH + 0.01,
                  y0 + f * height - line / 2)
    _key_text(session, KEY_LABEL, key.title, x0, y0 + top - line)


def _free_place(session, width, height, corners):
    """The lower left corner (window fractions) of a key ``width`` x ``height``: of
    ``corners``, the one whose place covers least of what the window shows (the data,
    other keys), so that a key sits off the data where the window has room; the first
    when no other fits in the window or ChimeraX cannot draw a picture to look at."""
    corners = [c for c in corners if c[0] >= 0] or corners[:1]     # those that fit
    if len(corners) == 1:
        return corners[0]
    view = session.main_view
    try:
        picture = view.image_rgba(width=min(view.window_size[0], 400) or None,
                                  transparent_background=True)
    except RuntimeError:
        picture = None          # ChimeraX without graphics (--nogui, not offscreen)
    if picture is None:
        return corners[0]
    drawn = picture[:, :, 3] > 0            # rows from the bottom
    h, w = drawn.shape

    def covered(corner):
        x, y = corner
        return int(drawn[max(int(y * h), 0):int((y + height) * h) + 1,
                         max(int(x * w), 0):int((x + width) * w) + 1].sum())
    return min(corners, key=covered)


def _text_width(session, texts):
    """About the width of the widest of ``texts`` in a 2D label (window fraction)."""
    w = session.main_view.window_size[0] or 800
    return (max(len(t) for t in texts) * 0.6 * KEY_FONT * 96 / 72 + 12) / w


def _key_text(session, name, text, x, y):
    # No margin: ChimeraX 1.7.1's sessions do not keep a 2D label's margin, so a key
    # with one came back shifted.
    run(session, '2dlabels create %s text %s xpos %.3f ypos %.3f size %d color %s'
        ' bgColor %s' % (name, StringArg.unparse(text), x, max(y, 0.0), KEY_FONT,
                                  KEY_TEXT, KEY_BOX))


def _label_height(session):
    """A 2D label's height as a fraction of the window's (a line of KEY_FONT points at
    the screen's 96 dots per inch, and a gap between lines)."""
    h = session.main_view.window_size[1] or 600
    return (KEY_FONT * 96 / 72 * 1.2 + 6) / h


def remove_key(session):
    """Remove the colour key and the 2D labels ``show_key`` made (logged commands): they
    describe a colouring that is gone or replaced."""
    labels = key_labels(session, KEY_LABEL)
    if not labels:
        return
    run(session, 'key delete')
    run(session, '2dlabels delete %s' % ' '.join(l.drawing.atomspec for l in labels))


def _all_labels(session):
    try:
        from chimerax.label.label2d import session_labels
    except ImportError:
        return []
    labels = session_labels(session, create=False)
    return labels.all_labels if labels else []


def key_labels(session, name):
    """The 2D labels of the key named ``name`` (its title ``name``, its lines
    ``name_1`` ...), title first."""
    found = [l for l in _all_labels(session)
             if l.name == name or (l.name.startswith(name + '_')
                                   and l.name[len(name) + 1:].isdigit())]
    return sorted(found, key=lambda l: (l.name != name, len(l.name), l.name))


def show_label_key(session, name, title, entries, top=0.92):
    """A key of 2D labels only, at the window's upper left or right, where it covers
    less (``name`` starts with LABEL_KEY_PREFIX): ``title``, then one line per entry
    counted more than 0, on a box of the entry's colour in black or white text,
    whichever reads on it; replaces the key of that name (logged commands).  For
    markers, whose colours ChimeraX's one colour key (the map's) cannot also show."""
    remove_label_key(session, name)
    line = _label_height(session) + 0.005
    shown = [e for e in entries if e.count is None or e.count > 0]
    width = _text_width(session, [title] + [e.text for e in shown])
    height = (len(shown) + 1) * line
    # Below the other keys of 2D labels (synapses, skeletons) on its side, not over them.
    corners = []
    for x in (KEY_X, 1 - KEY_X - width):
        tops = [l.ypos for l in _all_labels(session) if l.name.startswith(LABEL_KEY_PREFIX)
                and (l.xpos < 0.5) == (x < 0.5)]
        corners.append((x, min([top] + [t - line - 0.01 for t in tops]) + line - height))
    x, y = _free_place(session, width, height, corners)
    top = y + height - line
    _key_text(session, name, title, x, top)
    for k, e in enumerate(shown, start=1):
        run(session, '2dlabels create %s_%d text %s xpos %.3f ypos %.3f size %d color %s'
            ' bgColor %s' % (name, k, StringArg.unparse(e.text), x,
                                      max(top - k * line, 0.0), KEY_FONT,
                                      _text_on(e.color), e.color))


def _text_on(color):
    """Black or white, whichever reads on ``color`` (command text)."""
    from chimerax.core.colors import Color, contrast_with
    return 'black' if contrast_with(Color(color).rgba[:3])[0] < 0.5 else 'white'


def remove_label_key(session, name):
    labels = key_labels(session, name)
    if labels:
        run(session, '2dlabels delete %s' % ' '.join(l.drawing.atomspec for l in labels))


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
        entries.append(KeyEntry(color_text(none), 'none', others))
    return table[codes], tuple(entries)


def legend_text(entries):
    """Key entries as log text: ``inhibitory #4daf4a (12), none #a0a0a0 (3)``."""
    return ', '.join('%s %s (%d)' % (e.label, e.color, e.count) for e in entries)
