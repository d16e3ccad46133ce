"""The ``connectome synapses`` and ``connectome partners`` commands: the synapses of the
authors' files as ChimeraX markers, and who connects to whom.

    connectome synapses SEGMENTATION [from FOLDER] [of axon IDS]
        [onto dendrite|spinehead|neuron IDS] [type NAMES] [color type|axonclass|
        dendriteclass|COLOR] [radius R] [sizeBy asiarea] [markerLimit N]
    connectome partners SEGMENTATION CLASS ID [from FOLDER] [direction in|out|both]
        [minSynapses N] [show map,surfaces,skeletons,synapses]

SEGMENTATION is a .cmap file or an open segmentation (#2) whose wiring ``connectome ids
SEGMENTATION FOLDER`` kept (pipeline/wiring.py); ``from FOLDER`` reads another folder of
the authors' files instead.  Synapses are markers at synPosition, in scene coordinates
(the segmentation's origin and step), one marker set whose marker ids are the synapse
ids, so ``save FILE.cmm`` writes them; beyond markerLimit (100,000) they are one
instanced model of spheres instead (session/markers.py says why).  By type, synapses
take colours no class or category has, and a key of 2D labels names the colours of
every synapse model open, with counts.  ``partners`` logs a
table, one line per partner with its synapse count, grouped by the partners' class, and
shows the partners with logged commands (``connectome color``'s per-region colouring,
``segmentation surfaces``, ``connectome skeletons``, ``connectome synapses``).
"""

from typing import NamedTuple

import numpy as np
from chimerax.core.commands import (Annotation, AnnotationError, CmdDesc, ColorArg, EnumOf,
                                    ListOf, next_token, OpenFolderNameArg, PositiveIntArg,
                                    quote_path_if_necessary, register, run, StringArg)

from ..errors import InputError
from ..pipeline import classes as pure
from ..pipeline import partners, wiring as pure_wiring
from ..session.classes import class_values
from ..session.coloring import (SYNAPSE_TYPE, category_palette, color_map, color_text,
                                colors_by_category, legend_text)
from ..session.keys import (KEY_LABEL, LABEL_KEY_PREFIX, Key, KeyEntry, attach_key,
                            show_key, show_models_key)
from ..session.maps import SegmentationArg, choose_models, command_ends
from ..session.markers import MARKER_LIMIT, RadiusArg, marker_set, sphere_instances
from ..session.wiring import segmentation_wiring

SHOW = ('map', 'surfaces', 'skeletons', 'synapses')
SYNAPSE_KEY = LABEL_KEY_PREFIX + 'synapses'      # the key of the synapses' colours
RADIUS_STEPS = 8            # default synapse radius, in the smallest voxel step


class ObjectsArg(Annotation):
    """CLASS IDS: a partner class and object ids (12,40-45)."""
    name = 'a class and object ids, as neuron 3 or axon 12,40-45'

    @staticmethod
    def parse(text, session):
        if command_ends(text):
            raise AnnotationError('expected a class (axon, dendrite, spinehead, neuron)')
        word, word_text, rest = next_token(text)
        if command_ends(rest):
            raise AnnotationError('%s needs object ids, as %s 12,40-45' % (word, word))
        ids, ids_text, rest = next_token(rest.lstrip())
        return (word.lower(), ids), '%s %s' % (word_text, ids_text), rest


class ColorByArg(Annotation):
    """A synapse category (type, axonclass, dendriteclass) or a colour."""
    name = 'type, axonclass, dendriteclass or a color'

    @staticmethod
    def parse(text, session):
        word, word_text, rest = next_token(text)
        if word.lower() in pure_wiring.CATEGORIES:
            return word.lower(), word_text, rest
        return ColorArg.parse(text, session)


def _user_error(command, e):
    from chimerax.core.errors import UserError
    return UserError('%s: %s' % (command, e))


def ranges_of(wiring, side):
    """(class, ranges) of an ObjectsArg value, checked against the wiring: an id past
    the largest is an error where the files say how many objects there are, and
    otherwise (spine heads) an object on no synapse."""
    name, text = side
    if name not in pure_wiring.CLASSES:
        raise InputError('%s is not a partner class (%s)' % (name, ', '.join(
            pure_wiring.CLASSES)))
    largest = max(wiring.largest(name), 1) if wiring.knows_count(name) else \
        np.iinfo(np.int32).max
    return name, pure.parse_object_ids(text, largest, name)


def ids_text(ids):
    """Sorted object ids as 12,40-45."""
    ids = sorted(set(int(i) for i in ids))
    ranges = []
    for i in ids:
        if ranges and i == ranges[-1][1] + 1:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    return pure.format_object_ids([tuple(r) for r in ranges])


# ---------------------------------------------------------------------------------------
# connectome synapses

def connectome_synapses(session, segmentation, from_=None, of=None, onto=None, type=None,
                        color='type', radius=None, size_by=None, marker_limit=MARKER_LIMIT):
    """Draw the synapses picked; returns the model (a MarkerSet, or the instanced model
    beyond ``marker_limit``)."""
    command = 'connectome synapses'
    try:
        sw = segmentation_wiring(session, segmentation, from_)
        w = sw.wiring
        picked = partners.select(
            w, ranges_of(w, of) if of else None, ranges_of(w, onto) if onto else None, type)
        if not w.has_positions():
            raise InputError('the synapses have no positions (synapses.hdf5 has no'
                             ' /synapses/synPosition)')
        index = np.flatnonzero(picked)
        # A wiring kept by an earlier version may hold what ids now refuses.
        pure_wiring.check_positions(w.position[index], 'the wiring of %s' % sw.path,
                                    index + 1)
    except InputError as e:
        raise _user_error(command, e)
    for line in sw.notes:
        session.logger.info(line)
    what = describe_pick(of, onto, type)
    if not index.size:
        session.logger.info('No synapse of the %d is %s: nothing drawn' % (w.count, what))
        return None
    xyz = sw.scene_points(w.position[index])
    rgba, key = synapse_colors(w, index, color)
    r = RADIUS_STEPS * sw.smallest_step() if radius is None else float(radius)
    radii, size_note = synapse_radii(w, index, r, size_by)
    name = 'synapses' + (' ' + what if what else '')
    if index.size <= marker_limit:
        model = marker_set(session, name, xyz, rgba, radii, ids=index + 1)
        kind = 'markers'
    else:
        model = sphere_instances(session, name, xyz, rgba, radii)
        kind = 'one instanced model (more than markerLimit %d: markers are slow at this' \
            ' count)' % marker_limit
    model.synapse_ids = index + 1
    attach_key([model], SYNAPSE_KEY, key)
    session.models.add([model])
    legend = ('by %s: %s' % (color, legend_text(key.entries) or 'no synapses')
              if isinstance(color, str) else key.entries[0].color)
    session.logger.info('Drew %d of %s%s as %s %s, colored %s%s'
                        % (index.size, pure_wiring.counted(w.count, 'synapse'),
                           (' ' + what) if what else '', kind, model.atomspec, legend,
                           size_note))
    # One key for every synapse model open: each colour drawn, with its synapses.
    show_models_key(session, SYNAPSE_KEY)
    return model


def describe_pick(of, onto, types):
    parts = []
    if of:
        parts.append('of %s %s' % of)
    if onto:
        parts.append('onto %s %s' % onto)
    if types:
        parts.append('of type %s' % ','.join(types))
    return ' '.join(parts)


def synapse_colors(w, index, color):
    """(n x 4 uint8, Key) for synapses ``index``: by a category (types in their own
    colours, axon and dendrite classes in those of the objects' classes), or one
    colour."""
    n = index.size
    if not isinstance(color, str):
        rgba = color.uint8x4()
        return (np.tile(np.asarray(rgba, np.uint8), (n, 1)),
                Key((KeyEntry(color_text(rgba), 'synapse', n),), 'synapses', True))
    rgba, entries = colors_by_category(w.codes(color)[index], w.category_names(color),
                                       SYNAPSE_TYPE if color == 'type' else color)
    return rgba, Key(entries, 'synapses by %s' % color, True)


def synapse_radii(w, index, radius, size_by):
    """(radii, log text): ``radius`` each, or with sizeBy asiarea the radius of a disc
    whose area is the synapse's ASI area, scaled so the median synapse has ``radius``;
    those without an ASI area get half of it."""
    if size_by is None:
        return np.full(index.size, radius, np.float32), ''
    asi = w.asiarea[index].astype(np.float64)
    known = np.isfinite(asi) & (asi > 0)
    radii = np.full(index.size, 0.5 * radius, np.float32)
    if known.any():
        median = float(np.median(asi[known]))
        radii[known] = radius * np.sqrt(asi[known] / median)
        text = ', sized by ASI area (radius %.3g for the median %.3g um^2' % (radius, median)
    else:
        text = ', sized by ASI area (none has one'
    missing = int(np.count_nonzero(~known))
    if missing:
        text += '; %d without an ASI area at radius %.3g' % (missing, 0.5 * radius)
    return radii, text + ')'


# ---------------------------------------------------------------------------------------
# connectome partners

def connectome_partners(session, segmentation, objects, from_=None, direction='both',
                        min_synapses=1, show=None):
    """Log the partners of one object with their synapse counts; returns the
    PartnerTable (pipeline/partners.py)."""
    command = 'connectome partners'
    try:
        sw = segmentation_wiring(session, segmentation, from_)
        w = sw.wiring
        name, ranges = ranges_of(w, objects)
        if len(ranges) != 1 or ranges[0][0] != ranges[0][1]:
            raise InputError('give one %s id, not %s' % objects)
        table = partners.partners(w, name, ranges[0][0], direction, min_synapses)
    except InputError as e:
        raise _user_error(command, e)
    for line in sw.notes:
        session.logger.info(line)
    session.logger.info('\n'.join(table.lines()))
    if show:
        _show_partners(session, segmentation, sw, table, show, from_)
    return table


def _show_partners(session, segmentation, sw, table, show, folder):
    from chimerax.core.errors import UserError
    command = 'connectome partners'
    seg_spec = segmentation.atomspec if hasattr(segmentation, 'atomspec') else \
        quote_path_if_necessary(sw.path)
    source = ' from %s' % quote_path_if_necessary(folder) if folder else ''
    if ('map' in show or 'surfaces' in show) and not sw.models:
        raise UserError('%s: show map and surfaces need the segmentation open (open %s)'
                        % (command, sw.path))
    found = table.partner_ids()
    if not found:
        session.logger.info('%s: no partners to show' % command)
        return
    w = sw.wiring
    groups = []
    for partner, ids in found.items():
        category, codes = w.object_class(partner, ids)
        palette = category_palette(w.category_names(category) if category else [],
                                   category or partner)
        by_code = {}
        for i, c in zip(ids, codes.tolist()):
            by_code.setdefault(c, []).append(i)
        names = dict((code, n) for n, code in (w.category_names(category) if category
                                               else []))
        for code in sorted(by_code):
            groups.append(PartnerGroup(partner, by_code[code],
                                       np.asarray(palette.get(code, palette[0])),
                                       names.get(code, 'no class')))
    key = _partners_key(groups, 'partners of %s %d' % (table.name, table.id))
    if 'map' in show:
        _color_partners_on_map(session, sw.models[0], groups, key)
    elif 'surfaces' in show:
        show_key(session, key)
    if 'surfaces' in show:
        seg = sw.models[0]
        for g in groups:
            surfaces = run(session, 'segmentation surfaces %s where %s=%s color %s'
                           % (seg.atomspec, g.partner, ids_text(g.ids), color_text(g.rgba)))
            attach_key(surfaces or (), KEY_LABEL, key)     # the key goes with them
    for partner, ids in found.items():
        category = w.object_class(partner, ids)[0] or ''
        if 'skeletons' in show and partner in ('axon', 'dendrite'):
            run(session, 'connectome skeletons %s %s %s%s%s'
                % (seg_spec, partner, ids_text(ids), source,
                   (' color ' + category) if category else ''))
        if 'synapses' in show:
            me = '%s %d' % (table.name, table.id)
            pick = ('of %s %s onto %s' % (partner, ids_text(ids), me)) if partner == 'axon' \
                else ('of %s onto %s %s' % (me, partner, ids_text(ids)))
            # By type, in colours no class has: in an axon's colour a synapse would
            # read as its bouton.
            run(session, 'connectome synapses %s%s %s color type'
                % (seg_spec, source, pick))


class PartnerGroup(NamedTuple):
    """Partners of one class and one category, shown in that category's colour."""
    partner: str            # the partners' class: axon
    ids: list               # their object ids
    rgba: np.ndarray        # uint8 colour
    category: str           # the name of their category: excitatory, or 'no class'


def _partners_key(groups, title):
    """The key of the partners' colours: the partners of each colour and their count."""
    counts = {}
    for g in groups:
        label = '%s %s' % (g.category, pure_wiring.NOUNS.get(g.partner, g.partner))
        counts[(label, color_text(g.rgba))] = counts.get((label, color_text(g.rgba)), 0) \
            + len(g.ids)
    return Key(tuple(KeyEntry(c, label, n) for (label, c), n in counts.items()), title, True)


def _color_partners_on_map(session, seg, groups, key):
    """Colour the partners' regions on the EM map, each in its category's colour, the
    way ``connectome color`` colours categories (session/coloring.py), with ``key``."""
    _, image = choose_models(session, 'connectome partners', seg, None)
    rgba = None
    for g in groups:
        values = class_values(seg, g.partner)
        if rgba is None:
            rgba = np.full((len(values), 4), 255, np.uint8)
        rgba[np.isin(values, g.ids) & (values > 0)] = g.rgba
    color_map(session, seg, image, rgba, key=key,
              message='Colored the partners on %s by their class' % image.atomspec)


# ---------------------------------------------------------------------------------------

def register_synapses_command(logger):
    desc = CmdDesc(
        required=[('segmentation', SegmentationArg)],
        keyword=[('from', OpenFolderNameArg),
                 ('of', ObjectsArg),
                 ('onto', ObjectsArg),
                 ('type', ListOf(StringArg)),
                 ('color', ColorByArg),
                 ('radius', RadiusArg),
                 ('size_by', EnumOf(('asiarea',))),
                 ('marker_limit', PositiveIntArg)],
        synopsis='show synapses as markers, picked by their partners and type')
    register('connectome synapses', desc, connectome_synapses, logger=logger)


def register_partners_command(logger):
    desc = CmdDesc(
        required=[('segmentation', SegmentationArg), ('objects', ObjectsArg)],
        keyword=[('from', OpenFolderNameArg),
                 ('direction', EnumOf(('in', 'out', 'both'))),
                 ('min_synapses', PositiveIntArg),
                 ('show', ListOf(EnumOf(SHOW)))],
        synopsis='list the synaptic partners of an object with their synapse counts')
    register('connectome partners', desc, connectome_partners, logger=logger)
