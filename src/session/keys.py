"""Keys that tell what the colours on screen mean: ChimeraX's colour key with 2D labels
for a coloured map (``show_key``), keys of 2D labels only for markers and skeletons
(``show_label_key``), where each goes, and which models each describes.

Keys name exactly what is drawn: an entry per colour, with its count (KeyEntry.count),
none for a category nothing has.  White labels on a dark box (coloured boxes with black
or white text, whichever reads, for markers), so a key reads on any background.  A key
never sits over the data: it goes in a corner of the window where an offscreen picture
shows nothing drawn; where no corner is free, the view is moved and, if need be, zoomed
out (logged ``move x`` and ``zoom``, as a user makes room for a key by hand) until the
data leaves the key's side of the window (``_place``).

Each key belongs to the models drawn in its colours (``attach_key``: the coloured map,
the partners' surfaces, each synapse or skeleton model with its part of the entries),
kept with them in sessions (session/sessionstate.py) and updated when they close
(``models_closed``): a key of markers recounts the models left, any key goes with its
last model.

Object surfaces (``connectome surfaces ... key true``, ``connectome show ... key true``)
have a key of 2D labels too (``show_surfaces_key``): each class drawn in one colour with
its count of objects; objects in their own colours each by name when few, else one line
naming the class and the count (a swatch per object would be a key nobody reads).
"""

import re
from dataclasses import dataclass

import numpy as np
from chimerax.core.commands import StringArg, run

KEY_LABEL = 'connectome_key'        # the 2D label naming what the colour key shows
LABEL_KEY_PREFIX = 'connectome_marker_'     # keys of 2D labels only, for markers
KEY_ATTRIBUTE = '_connectome_key'   # model attribute: the key it is drawn in the colours of
# Keys: white text on a dark, slightly see-through box reads on any background.
KEY_TEXT = 'white'
KEY_BOX = '#202020d8'
KEY_X, KEY_Y = 0.03, 0.05         # the key's lower left corner, in window fractions
KEY_WIDTH = 0.04                    # its colour boxes' width
KEY_FONT = 16                       # points, of the key's labels and title
KEY_ROW = 0.06                      # the height of a category's box
GAP = 0.02                          # between a key and the data, in window fractions
LEAST_ZOOM = 0.3                    # making room never shrinks the data more than this
PICTURE_WIDTH = 400                 # pixels of the pictures a key's place is chosen on
SURFACE_KEY = LABEL_KEY_PREFIX + 'surfaces'     # the key of object surfaces' colours
FEW_OBJECTS = 8     # objects in colours of their own named one by one, up to this many


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


# ---------------------------------------------------------------------------------------
# ChimeraX's colour key, for a coloured map

def show_key(session, key, owners=(), make_room=True, log=True):
    """ChimeraX's colour key (the colours, in a column at a lower corner of the window)
    with its labels and a title as 2D labels beside and above it, white on a dark box,
    replacing the previous ones (logged commands); it belongs to ``owners`` (the models
    drawn in its colours).  Entries counted 0 are left out: nothing on screen has their
    colour."""
    shown = [e for e in key.entries if e.count is None or e.count > 0] or \
        [KeyEntry(KEY_BOX[:7], 'nothing drawn')]
    remove_key(session, log=log)
    attach_key(owners, KEY_LABEL, key)
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
    x0, y0 = _place(session, width, top, KEY_Y, make_room, log)
    run(session, 'key %s pos %.3f,%.3f size %.2f,%.2f colorTreatment %s labelSide'
        ' right/bottom justification left fontSize %d labelColor #ffffff00'
        % (pairs, x0, y0, KEY_WIDTH, height,
           'distinct' if key.distinct else 'blended', KEY_FONT), log=log)
    for k, (e, f) in enumerate(zip(shown, fractions), start=1):
        _key_text(session, '%s_%d' % (KEY_LABEL, k), e.text, x0 + KEY_WIDTH + 0.01,
                  y0 + f * height - line / 2, log)
    _key_text(session, KEY_LABEL, key.title, x0, y0 + top - line, log)


def remove_key(session, log=True):
    """Remove the colour key and the 2D labels ``show_key`` made (logged commands): they
    describe a colouring that is gone or replaced."""
    _disown(session, KEY_LABEL)
    labels = key_labels(session, KEY_LABEL)
    if not labels:
        return
    run(session, 'key delete', log=log)
    run(session, '2dlabels delete %s' % ' '.join(l.drawing.atomspec for l in labels),
        log=log)


# ---------------------------------------------------------------------------------------
# keys of 2D labels, for markers

def show_label_key(session, name, title, entries, top=0.92, make_room=True, log=True):
    """A key of 2D labels only, at the window's upper left or right, where it covers
    nothing (``name`` starts with LABEL_KEY_PREFIX): ``title``, then one line per entry
    counted more than 0, on a box of the entry's colour in black or white text,
    whichever reads on it; replaces the key of that name (logged commands).  For
    markers, whose colours ChimeraX's one colour key (the map's) cannot also show."""
    remove_label_key(session, name, log)
    line = _label_height(session) + 0.005
    shown = [e for e in entries if e.count is None or e.count > 0]
    width = _text_width(session, [title] + [e.text for e in shown])
    height = (len(shown) + 1) * line
    # From the top down, below the other keys on its side, not over them.
    x, y = _place(session, width, height, -(top + line), make_room, log)
    top = y + height - line
    _key_text(session, name, title, x, top, log)
    for k, e in enumerate(shown, start=1):
        run(session, '2dlabels create %s_%d text %s xpos %.3f ypos %.3f size %d color %s'
            ' bgColor %s' % (name, k, StringArg.unparse(e.text), x,
                                      max(top - k * line, 0.0), KEY_FONT,
                                      _text_on(e.color), e.color), log=log)


def remove_label_key(session, name, log=True):
    labels = key_labels(session, name)
    if labels:
        run(session, '2dlabels delete %s' % ' '.join(l.drawing.atomspec for l in labels),
            log=log)


def _text_on(color):
    """Black or white, whichever reads on ``color`` (command text)."""
    from chimerax.core.colors import Color, contrast_with
    return 'black' if contrast_with(Color(color).rgba[:3])[0] < 0.5 else 'white'


def _text_width(session, texts):
    """About the width of the widest of ``texts`` in a 2D label (window fraction)."""
    w = session.main_view.window_size[0] or 800
    return (max(len(t) for t in texts) * 0.6 * KEY_FONT * 96 / 72 + 12) / w


def _key_text(session, name, text, x, y, log=True):
    # No margin: ChimeraX 1.7.1's sessions do not keep a 2D label's margin, so a key
    # with one came back shifted.
    run(session, '2dlabels create %s text %s xpos %.3f ypos %.3f size %d color %s'
        ' bgColor %s' % (name, StringArg.unparse(text), x, max(y, 0.0), KEY_FONT,
                                  KEY_TEXT, KEY_BOX), log=log)


def _label_height(session):
    """A 2D label's height as a fraction of the window's (a line of KEY_FONT points at
    the screen's 96 dots per inch, and a gap between lines)."""
    h = session.main_view.window_size[1] or 600
    return (KEY_FONT * 96 / 72 * 1.2 + 6) / h


def _all_labels(session):
    try:
        from chimerax.label.label2d import session_labels
    except ImportError:
        return []
    labels = session_labels(session, create=False)
    return [l for l in labels.all_labels if not l.drawing.deleted] if labels else []


def key_labels(session, name):
    """The 2D labels of the key named ``name`` (its title ``name``, its lines
    ``name_1`` ...), title first."""
    found = [l for l in _all_labels(session)
             if l.name == name or (l.name.startswith(name + '_')
                                   and l.name[len(name) + 1:].isdigit())]
    return sorted(found, key=lambda l: (l.name != name, len(l.name), l.name))


# ---------------------------------------------------------------------------------------
# where a key goes

def _place(session, width, height, anchor, make_room=True, log=True):
    """The lower left corner (window fractions) of a key ``width`` x ``height``: at the
    window's left or right side (first the side that has other keys, so they stack in
    one column), from ``anchor`` up (its bottom edge) or, negative, down (-its top edge)
    to the first place no other key is; the first place that covers no data, else the
    first, with room made there: the view moved and zoomed out (logged commands) so that
    the data leaves that side of the window (``make_room``).  The first place when
    ChimeraX cannot draw pictures to look at."""
    sides = [KEY_X, max(1 - KEY_X - width, KEY_X)]
    keys = drawn_pixels(session, 'keys')
    if keys is None:
        return sides[0], (anchor if anchor >= 0 else -anchor - height)
    w = keys.shape[1]
    if keys[:, w // 2:].sum() > keys[:, :w // 2].sum():
        sides.reverse()
    places = [p for p in (_free_height(keys, x, width, height, anchor) for x in sides)
              if p is not None] or \
        [(sides[0], anchor if anchor >= 0 else -anchor - height)]
    data = drawn_pixels(session, 'data')
    for p in places:
        if not _covered(data, p, width, height):
            return p
    best = places[0]
    if make_room:
        for _ in range(3):      # a perspective view shrinks about its centre only nearly
            if not _make_room(session, data, keys, best, width, log):
                break
            data = drawn_pixels(session, 'data')
        if _covered(data, best, width, height):
            session.logger.info('The key covers part of the data: the data reaches too'
                                ' far beyond the window to make room beside it')
    return best


def _free_height(keys, x, width, height, anchor):
    """(x, y) of the first place from ``anchor`` (as _place) where a key ``width`` x
    ``height`` covers no other key, or None."""
    step = 0.01
    if anchor >= 0:
        ys = np.arange(anchor, 1 - height + 1e-9, step)
    else:
        ys = np.arange(-anchor - height, -1e-9, -step)
    for y in ys:
        if not _covered(keys, (x, y), width, height, margin=0.005):
            return x, float(y)
    return None


def _make_room(session, data, keys, corner, width, log):
    """Move (and zoom) the view so that the columns of ``data`` leave the key's side and
    those of the other ``keys``; False when they do already or cannot."""
    left = corner[0] < 0.5
    w = data.shape[1]
    columns = np.flatnonzero(data.any(axis=0))
    if not columns.size:
        return False
    lo, hi = GAP, 1 - GAP               # where the data may lie
    # Beside the other keys: each run of columns they take, by the side it starts on.
    taken = np.flatnonzero(keys.any(axis=0))
    spans = np.split(taken, np.flatnonzero(np.diff(taken) > 1) + 1) if taken.size else []
    for span in spans:
        if span[0] < w / 2:
            lo = max(lo, (span[-1] + 1) / w + GAP)
        else:
            hi = min(hi, span[0] / w - GAP)
    if left:
        lo = max(lo, corner[0] + width + GAP)
    else:
        hi = min(hi, corner[0] - GAP)
    a, b = columns[0] / w, (columns[-1] + 1) / w
    if a >= lo and b <= hi:
        return False
    # Data cut by the window's edge reaches further: its bounds, projected.
    if columns[0] == 0 or columns[-1] == w - 1:
        pa, pb = _projected_columns(session)
        a = min(a, pa) if columns[0] == 0 else a
        b = max(b, pb) if columns[-1] == w - 1 else b
    factor = min(1.0, (hi - lo) / (b - a))
    if factor < LEAST_ZOOM:
        return False
    a, b = 0.5 + factor * (a - 0.5), 0.5 + factor * (b - 0.5)     # zoomed about the centre
    shift = lo - a if a < lo else (hi - b if b > hi else 0.0)
    view = session.main_view
    if factor < 0.999:
        run(session, 'zoom %.4g' % factor, log=log)
    if shift:
        run(session, 'move x %.4g' % (shift * view.window_size[0] * view.pixel_size()),
            log=log)
    return True


def _projected_columns(session):
    """(left, right) window fractions of the displayed scene's bounding box as the
    camera projects it."""
    view = session.main_view
    bounds = view.drawing_bounds()
    if bounds is None:
        return 0.0, 1.0
    box = np.array([[x, y, z] for x in (bounds.xyz_min[0], bounds.xyz_max[0])
                    for y in (bounds.xyz_min[1], bounds.xyz_max[1])
                    for z in (bounds.xyz_min[2], bounds.xyz_max[2])])
    camera = view.camera
    p = camera.position.inverse() * box
    if hasattr(camera, 'field_width'):
        x = 0.5 + p[:, 0] / camera.field_width
    else:
        depth = np.maximum(-p[:, 2], 1e-6)
        x = 0.5 + p[:, 0] / (2 * np.tan(np.radians(camera.field_of_view) / 2) * depth)
    return float(x.min()), float(x.max())


def drawn_pixels(session, only=None):
    """Which pixels of a picture of the window show something (rows from the bottom):
    everything, only the ``'data'`` (overlays hidden) or only the ``'keys'`` (2D labels,
    colour keys: the rest hidden); None without graphics."""
    view = session.main_view
    overlays = _overlay_models(session)
    hidden = [m for m in (overlays if only == 'data' else
                          [m for m in session.models.scene_root_model.child_models()
                           if m not in overlays and not _holds(m, overlays)]
                          if only == 'keys' else []) if m.display]
    for m in hidden:
        m.display = False
    try:
        picture = view.image_rgba(width=min(view.window_size[0], PICTURE_WIDTH) or None,
                                  transparent_background=True)
    except RuntimeError:
        picture = None          # ChimeraX without graphics (--nogui, not offscreen)
    finally:
        for m in hidden:
            m.display = True
    return None if picture is None else picture[:, :, 3] > 0


def _overlay_models(session):
    """The models drawn over the scene, not in it: 2D labels and arrows, colour keys."""
    from chimerax.color_key.model import ColorKeyModel
    from chimerax.label.arrows import ArrowModel
    from chimerax.label.label2d import LabelModel
    return [m for m in session.models.list()
            if isinstance(m, (LabelModel, ArrowModel, ColorKeyModel))]


def _holds(model, overlays):
    return any(o.parent is model for o in overlays)


def _covered(drawn, corner, width, height, margin=0.0):
    """How many pixels of ``drawn`` a key at ``corner`` covers (with ``margin`` around)."""
    h, w = drawn.shape
    x, y = corner[0] - margin, corner[1] - margin
    width, height = width + 2 * margin, height + 2 * margin
    return int(drawn[max(int(y * h), 0):int((y + height) * h) + 1,
                     max(int(x * w), 0):int((x + width) * w) + 1].sum())


# ---------------------------------------------------------------------------------------
# the models a key belongs to

def attach_key(models, name, key):
    """Record that ``models`` are drawn in the colours of key ``name``: ``key``, or for
    a key of markers the part of it they draw (entries summed over the models)."""
    state = {'name': name, 'title': key.title, 'distinct': key.distinct,
             'entries': [[e.color, e.label, e.count] for e in key.entries]}
    for m in models:
        setattr(m, KEY_ATTRIBUTE, state)


def _owners(session, name):
    return [m for m in session.models.list()
            if not m.deleted and (vars(m).get(KEY_ATTRIBUTE) or {}).get('name') == name]


def _disown(session, name):
    for m in _owners(session, name):
        del m.__dict__[KEY_ATTRIBUTE]


def models_key(session, name):
    """The Key of the open models drawn in the colours of key ``name``: their titles,
    their entries with counts summed; None if no model is."""
    titles, counts, distinct = [], {}, True
    for m in _owners(session, name):
        state = vars(m)[KEY_ATTRIBUTE]
        if state['title'] not in titles:
            titles.append(state['title'])
        distinct = distinct and state['distinct']
        for color, label, count in state['entries']:
            known = counts.get((label, color), 0)
            counts[(label, color)] = None if count is None or known is None \
                else known + count
    if not titles:
        return None
    return Key(tuple(KeyEntry(c, label, n) for (label, c), n in counts.items()),
               ', '.join(titles), distinct)


def show_models_key(session, name, make_room=True, log=True):
    """Show the key of 2D labels ``name`` of the models drawn in its colours
    (models_key), or remove it if none is open."""
    key = models_key(session, name)
    if key is None:
        remove_label_key(session, name, log)
    else:
        show_label_key(session, name, key.title, key.entries, make_room=make_room, log=log)


def models_closed(session, closed):
    """Update the keys of closed models: a key of markers recounts the models left; a
    key with no model left goes (not logged: the close is)."""
    _models_left(session, {(vars(m).get(KEY_ATTRIBUTE) or {}).get('name')
                           for m in closed} - {None})


def models_uncolored(session, models):
    """Models no longer drawn in the colours of their keys leave them; the keys are
    updated as when the models close."""
    names = set()
    for m in models:
        state = vars(m).pop(KEY_ATTRIBUTE, None)
        if state:
            names.add(state.get('name'))
    _models_left(session, names - {None})


def _models_left(session, names):
    for name in sorted(names):
        if not key_labels(session, name):
            continue            # gone with them (close session)
        if name == KEY_LABEL:
            if not _owners(session, name):
                remove_key(session, log=False)
        else:
            show_models_key(session, name, make_room=False, log=False)


# ---------------------------------------------------------------------------------------
# the key of object surfaces

def show_surfaces_key(session, drawn, title='object surfaces', log=True):
    """The key of object surfaces (SURFACE_KEY), over every surface model open in its
    colours: ``drawn`` [(class name, surfaces, each)] just made, ``each`` when each
    object has a colour of its own.  A surface in one colour counts the objects it
    draws (``objects_drawn``); objects in their own colours are named one by one in
    them when all of those just drawn are FEW_OBJECTS or fewer, else counted on one line
    naming their class (no colour of its own: a dark box)."""
    from chimerax.core.colors import hex_color
    own = sum(len(surfaces) for _, surfaces, each in drawn if each)
    for name, surfaces, each in drawn:
        for s in surfaces:
            if not each:
                entry = KeyEntry(hex_color(s.color), name, objects_drawn(s, name))
            elif own <= FEW_OBJECTS:
                entry = KeyEntry(hex_color(s.color), '%s %s' % (name, s.name.split()[-1]))
            else:
                entry = KeyEntry(KEY_BOX[:7], '%ss, each in a colour of its own' % name, 1)
            attach_key([s], SURFACE_KEY, Key((entry,), title, True))
    show_models_key(session, SURFACE_KEY, log=log)


def objects_drawn(surface, name):
    """How many objects of class ``name`` a surface draws: N of one named '... N
    NAMEs' (as ChimeraX's ``segmentation surfaces`` and session/meshsurfaces.py name a
    surface of several objects), else one."""
    found = re.search(r' (\d+) %ss$' % re.escape(name), surface.name)
    return int(found.group(1)) if found else 1
