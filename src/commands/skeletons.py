"""The ``connectome skeletons`` command: the skeletons of the authors' files (each axon's
and dendrite's ``skeleton/<n>/{nodes, edges}``) in the scene.

    connectome skeletons SEGMENTATION axon|dendrite|neuron IDS|all [from FOLDER]
        [color each|axonclass|dendriteclass|COLOR] [radius R] [markerLimit N]

Nodes are at their voxel positions in scene coordinates (the segmentation's origin and
step); ``neuron IDS`` draws the dendrites of those neurons.  Up to SKELETON_SETS objects
and markerLimit nodes, each skeleton is a marker set of its own (nodes as markers,
edges as links: ``save FILE.cmm`` writes them), under one parent model; more are one
instanced model of tubes, one per edge.  ``color each`` (the default) gives each
object the colour ChimeraX's ``segmentation surfaces ... each`` gives its surface.
"""

import os

import numpy as np

from ..errors import Cancelled, InputError
from ..formats.objectfiles import authors
from ..pipeline import classes as pure
from ..pipeline.partners import in_ranges
from ..progress import Progress
from ..session import compat
from ..session.coloring import color_text, colors_by_category, legend_text
from ..session.keys import LABEL_KEY_PREFIX, Key, KeyEntry, attach_key, show_models_key
from ..session.maps import SegmentationArg
from ..session.markers import MARKER_LIMIT, RadiusArg, marker_set, tube_instances
from ..session.reporting import cancellable, status_reporter
from ..session.wiring import segmentation_wiring

SKELETON_SETS = 200         # objects drawn as marker sets of their own, at most
CLASSES = ('axon', 'dendrite', 'neuron')
LINK_STEPS = 2              # default tube radius, in the smallest voxel step
SKELETON_KEY = LABEL_KEY_PREFIX + 'skeletons'    # the key of the skeletons' colours


def connectome_skeletons(session, segmentation, name, ids, from_=None, color='each',
                         radius=None, marker_limit=MARKER_LIMIT):
    """Draw the skeletons of objects ``ids`` ('12,40-45' or 'all') of class ``name``;
    returns the model made."""
    from chimerax.core.errors import UserError
    command = 'connectome skeletons'
    try:
        with cancellable():
            return _skeletons(session, segmentation, name, ids, from_, color, radius,
                              marker_limit)
    except InputError as e:
        raise UserError('%s: %s' % (command, e))
    except Cancelled:
        raise UserError('%s: cancelled; nothing was drawn' % command)


def _skeletons(session, segmentation, name, ids, folder, color, radius, marker_limit):
    sw = segmentation_wiring(session, segmentation, folder)
    for line in sw.notes:
        session.logger.info(line)
    kind, group = authors.SKELETONS['axon' if name == 'axon' else 'dendrite']
    path = sw.authors_file(kind)
    with authors.AuthorsFile(path) as f:
        f.require(kind, 'skeletons')
        count = f.count(group)
        objects, owner = _objects(sw.wiring, f, name, ids, count)
        progress = Progress('connectome skeletons: reading', len(objects), 'skeletons',
                            status_reporter(session))
        skeletons = f.skeletons(group, objects, lambda done, total: progress.advance(
            done - progress.done))
    part = 'axon' if name == 'axon' else 'dendrite'
    rgba, legend, entries = _colors(sw.wiring, part, objects, owner, color, name)
    r = LINK_STEPS * sw.smallest_step() if radius is None else float(radius)
    nodes = sum(len(s.nodes) for s in skeletons)
    title = '%s %s' % (name, ids) if ids != 'all' else 'every %s' % name
    if len(skeletons) <= SKELETON_SETS and nodes <= marker_limit:
        sets = []
        for s, c in zip(skeletons, rgba):
            xyz = sw.scene_points(s.nodes)
            sets.append(marker_set(session, '%s %d skeleton' % (part, s.id), xyz, c, r,
                                   links=s.edges, link_rgba=c, link_radii=r))
        if len(sets) == 1:
            model = sets[0]
        else:
            from chimerax.core.models import Model
            model = Model('skeletons of %s' % title, session)
            model.add(sets)
        what = 'marker sets' if len(sets) > 1 else 'a marker set'
    else:
        start, end, colors = [], [], []
        for s, c in zip(skeletons, rgba):
            if len(s.edges):
                xyz = sw.scene_points(s.nodes)
                start.append(xyz[s.edges[:, 0]])
                end.append(xyz[s.edges[:, 1]])
                colors.append(np.tile(c, (len(s.edges), 1)))
        if not start:
            raise InputError('the skeletons asked for have no edges')
        model = tube_instances(session, 'skeletons of %s' % title, np.concatenate(start),
                               np.concatenate(end), np.concatenate(colors), r)
        what = 'one instanced model of tubes (more than %d skeletons or markerLimit %d' \
            ' nodes)' % (SKELETON_SETS, marker_limit)
    model.skeleton_ids = np.array(objects)
    session.models.add([model])
    edges = sum(len(s.edges) for s in skeletons)
    session.logger.info('Drew %d %s skeleton%s (%d nodes, %d edges) of %s as %s %s, colored'
                        ' %s' % (len(skeletons), part, '' if len(skeletons) == 1 else 's',
                                 nodes, edges, os.path.basename(path), what, model.atomspec,
                                 legend))
    if entries:
        # One key for every skeleton model open, as for synapses.
        attach_key([model], SKELETON_KEY, Key(entries, '%s skeletons%s' % (
            part, (' by ' + color) if isinstance(color, str) else ''), True))
        show_models_key(session, SKELETON_KEY)
    return model


def _objects(wiring, f, name, ids, count):
    """(object ids of the skeletons to draw, the id each is drawn for: itself, or the
    neuron of a dendrite)."""
    if name == 'neuron':
        # Each dendrite's neuron, as the wiring has it from /dendrites/neuronId.
        neuron_of = np.zeros(count, np.int64)
        values = wiring.dendrite_neuron
        neuron_of[:min(count, values.size)] = values[:count]
        largest = int(neuron_of.max()) if neuron_of.size else 0
        if largest == 0:
            raise InputError('%s gives no dendrite a neuron (/dendrites/neuronId)' % f.name)
        wanted = _ids(ids, largest, 'neuron')
        objects = (np.flatnonzero(in_ranges(neuron_of, wanted)) + 1).tolist()
        if not objects:
            raise InputError('no dendrite of neuron %s in %s' % (ids, f.name))
        return objects, neuron_of[np.array(objects) - 1].tolist()
    if count == 0:
        raise InputError('%s has no %s skeletons' % (f.name, name))
    objects = []
    for first, last in _ids(ids, count, name):
        objects.extend(range(first, last + 1))
    objects = sorted(set(objects))
    return objects, objects


def _ids(text, largest, name):
    if text.lower() == 'all':
        return [(1, largest)]
    return pure.parse_object_ids(text, largest, name)


def _colors(wiring, part, objects, owner, color, name):
    """(one rgba row per skeleton, legend text, KeyEntries: none for one colour each)."""
    n = len(objects)
    if not isinstance(color, str):
        rgba = color.uint8x4()
        return (np.tile(np.asarray(rgba, np.uint8), (n, 1)), color_text(rgba),
                (KeyEntry(color_text(rgba), part, n),))
    if color == 'each':
        # As segmentation surfaces ... each NAME colours object k (row k of as many colours
        # as the largest id + 1).
        table = compat.random_colors(max(owner) + 1, name)
        return table[np.asarray(owner)], 'each %s its own color' % name, ()
    category = {'axonclass': 'axon', 'dendriteclass': 'dendrite'}.get(color)
    if category != part:
        raise InputError('color %s colors %s skeletons; these are %s skeletons'
                         % (color, category or 'no', part))
    _, codes = wiring.object_class(part, objects)
    rgba, entries = colors_by_category(codes, wiring.category_names(color), color)
    return rgba, 'by %s: %s' % (color, legend_text(entries)), entries


def register_skeletons_command(logger):
    from chimerax.core.commands import (CmdDesc, register, ColorArg, EnumOf, Or,
                                        OpenFolderNameArg, PositiveIntArg, StringArg)
    desc = CmdDesc(
        required=[('segmentation', SegmentationArg), ('name', EnumOf(CLASSES)),
                  ('ids', StringArg)],
        keyword=[('from', OpenFolderNameArg),
                 ('color', Or(EnumOf(('each', 'axonclass', 'dendriteclass')), ColorArg)),
                 ('radius', RadiusArg),
                 ('marker_limit', PositiveIntArg)],
        synopsis='show skeletons of axons, dendrites or neurons')
    register('connectome skeletons', desc, connectome_skeletons, logger=logger)
