"""The ``connectome table`` command: the connectome as a table, shown in the log as HTML
and saved as CSV or TSV.

    connectome table SEGMENTATION synapses [of CLASS IDS] [onto CLASS IDS] [type NAMES]
    connectome table SEGMENTATION partners CLASS ID [direction in|out|both]
    connectome table SEGMENTATION matrix FROM TO [of [CLASS] IDS] [onto [CLASS] IDS]
        [by count|asi]
    connectome table SEGMENTATION objects CLASS [IDS|all]
    connectome table SEGMENTATION objects dendrite of neuron IDS
        ... [from FOLDER] [sortBy COLUMN] [top N] [save FILE]

The tables are pipeline/tables.py and pipeline/morphometry.py; this module parses, reads
what the objects table needs from the segmentation and the authors' files (voxel
counts, region positions, skeletons), logs the table and keeps it as the session's last
(session/tables.py) for the panel.  Counts are pipeline/wiring.py's: the same as
``connectome synapses`` draws and ``connectome partners`` logs.
"""

import contextlib
import os

import numpy as np
from chimerax.core.commands import (Annotation, AnnotationError, CmdDesc, EnumOf, ListOf,
                                    next_token, OpenFolderNameArg, PositiveIntArg,
                                    quote_path_if_necessary, register, SaveFileNameArg,
                                    StringArg)

from ..errors import InputError
from ..formats.objectfiles import authors
from ..pipeline import classes as pure_classes
from ..pipeline import morphometry, partners, tables, wiring as pure_wiring
from ..session.maps import SegmentationArg, command_ends
from ..session.storegrid import reads_through_id_map
from ..session.tables import ShownTable, remember_table
from ..session.wiring import segmentation_wiring

KEYWORDS = ('from', 'of', 'onto', 'type', 'direction', 'by', 'save', 'sortby', 'top')


class WordsArg(Annotation):
    """What a kind of table is of: words up to the first keyword (neuron 1, axon
    dendrite, axon all)."""
    name = 'what the table is of, as neuron 1, axon dendrite or axon all'

    @staticmethod
    def parse(text, session):
        words, rest = [], text
        while not command_ends(rest):
            word, _, after = next_token(rest.lstrip())
            if word.lower() in KEYWORDS:
                break
            words.append(word)
            rest = after
        if not words:
            raise AnnotationError('expected %s' % WordsArg.name)
        used = text[:len(text) - len(rest)]
        return words, used.strip(), rest


class PickArg(Annotation):
    """[CLASS] IDS: object ids, with their class (axon 12,40-45) or without."""
    name = 'object ids, as axon 12,40-45 or 12,40-45'

    @staticmethod
    def parse(text, session):
        if command_ends(text):
            raise AnnotationError('expected %s' % PickArg.name)
        word, word_text, rest = next_token(text.lstrip())
        if word.lower() in pure_wiring.CLASSES:
            if command_ends(rest):
                raise AnnotationError('%s needs object ids, as %s 12,40-45' % (word, word))
            ids, ids_text, rest = next_token(rest.lstrip())
            return (word.lower(), ids), '%s %s' % (word_text, ids_text), rest
        return (None, word), word_text, rest


def _ranges(w, name, text):
    """Inclusive id ranges of ``text`` for class ``name``: an id past the largest is an
    error where the files say how many objects there are."""
    if name not in pure_wiring.CLASSES:
        raise InputError('%s is not an object class (%s)' % (name, ', '.join(
            pure_wiring.CLASSES)))
    largest = max(w.largest(name), 1) if w.knows_count(name) else np.iinfo(np.int32).max
    return pure_classes.parse_object_ids(text, largest, pure_wiring.NOUNS[name])


def _pick(w, of, onto, types, source=None, target=None):
    """(mask, words) of the synapses picked by of / onto / type; a side without a class
    is of the matrix's FROM / TO."""
    sides = []
    for value, default, word in ((of, source, 'of'), (onto, target, 'onto')):
        if value is None:
            sides.append(None)
            continue
        name, text = value
        name = name or default
        if name not in pure_wiring.CLASSES:
            raise InputError('%s %s: give the class of the ids (%s axon %s)'
                             % (word, text, word, text))
        sides.append((name, _ranges(w, name, text)))
    mask = partners.select(w, sides[0], sides[1], types)
    words = []
    for value, side, word in ((of, sides[0], 'of'), (onto, sides[1], 'onto')):
        if side is not None:
            words.append('%s %s %s' % (word, side[0], value[1]))
    if types:
        words.append('of type %s' % ','.join(types))
    return mask, ' '.join(words)


def connectome_table(session, segmentation, kind, subject=None, from_=None, of=None,
                     onto=None, type=None, direction='both', by='count', save=None,
                     sort_by=None, top=None):
    """Make, log and keep a table; save it with ``save``.  Returns the Table."""
    from chimerax.core.errors import UserError
    subject = list(subject or [])
    try:
        sw = segmentation_wiring(session, segmentation, from_)
        table = _make(sw, kind, subject, of, onto, type, direction, by)
        if sort_by is not None:
            table = table.sorted_by(sort_by.lower())
        if top is not None:
            table = table.top(top)
        if save is not None:
            table.write(os.path.abspath(os.path.expanduser(save)))
    except InputError as e:
        raise UserError('connectome table: %s' % e)
    for line in sw.notes + list(table.notes):
        session.logger.info(line)
    session.logger.info(table.html(), is_html=True)
    if save is not None:
        session.logger.info('Saved the table (%d rows) to %s' % (table.rows, save))
    seg = sw.models[0].atomspec if sw.models else quote_path_if_necessary(sw.path)
    text = ' '.join(['connectome table', segmentation.atomspec if hasattr(
        segmentation, 'atomspec') else quote_path_if_necessary(sw.path), kind] + subject)
    for word, value in (('of', of), ('onto', onto)):
        if value is not None:
            text += ' %s %s' % (word, ' '.join(v for v in value if v))
    if type:
        text += ' type %s' % ','.join(type)
    if kind == 'partners' and direction != 'both':
        text += ' direction %s' % direction
    if kind == 'matrix' and by != 'count':
        text += ' by %s' % by
    if from_:
        text += ' from %s' % quote_path_if_necessary(from_)
    if sort_by:
        text += ' sortBy %s' % sort_by
    if top:
        text += ' top %d' % top
    remember_table(session, ShownTable(table, seg, text), sw.models)
    return table


def _make(sw, kind, subject, of, onto, types, direction, by):
    w = sw.wiring
    if kind == 'synapses':
        if subject:
            raise InputError('a synapses table takes no %s; pick with of, onto and type'
                             % ' '.join(subject))
        mask, words = _pick(w, of, onto, types)
        index = np.flatnonzero(mask)
        xyz = sw.scene_points(w.position[index]) if index.size else np.zeros((0, 3))
        return tables.synapse_table(w, mask, xyz, words)
    if kind == 'partners':
        if len(subject) != 2:
            raise InputError('a partners table is of one object: partners CLASS ID')
        name = subject[0].lower()
        ranges = _ranges(w, name, subject[1])
        if len(ranges) != 1 or ranges[0][0] != ranges[0][1]:
            raise InputError('give one %s id, not %s' % (name, subject[1]))
        return tables.partner_table(w, name, ranges[0][0], direction)
    if kind == 'matrix':
        if len(subject) != 2:
            raise InputError('a matrix is FROM TO: axon dendrite, axonclass dendriteclass'
                             ' ...')
        source, target = subject[0].lower(), subject[1].lower()
        tables.check_matrix(source, target)
        mask, words = _pick(w, of, onto, types,
                            source if source in pure_wiring.CLASSES else None,
                            target if target in pure_wiring.CLASSES else None)
        return tables.matrix_table(w, source, target, mask, by, words)
    if len(subject) not in (1, 2):
        raise InputError('an objects table is objects CLASS [IDS|all]')
    name = subject[0].lower()
    if name not in pure_wiring.CLASSES:
        raise InputError('%s is not an object class (%s)' % (name, ', '.join(
            pure_wiring.CLASSES)))
    with contextlib.ExitStack() as files:
        sources = _object_sources(sw, files)
        if of is not None and name == 'dendrite' and (of[0] or '') == 'neuron' \
                and len(subject) == 1:
            # The dendrites of some neurons: the files say each dendrite's neuron.
            neurons = _ranges(w, 'neuron', of[1])
            ids = np.flatnonzero(partners.in_ranges(w.dendrite_neuron, neurons)) + 1
            if not ids.size:
                raise InputError('no dendrite is of neuron %s' % of[1])
        elif of is not None or onto is not None or types:
            raise InputError('an objects table picks its objects by id (objects CLASS'
                             ' IDS), or the dendrites of neurons (objects dendrite of'
                             ' neuron IDS)')
        elif len(subject) == 1 or subject[1].lower() == 'all':
            ids = morphometry.all_ids(w, name, sources.per_region(name))
        else:
            ranges = _ranges(w, name, subject[1])
            ids = np.unique(np.concatenate([np.arange(a, b + 1) for a, b in ranges]))
        return morphometry.objects_table(w, name, ids, sources)


def _object_sources(sw, files):
    """morphometry.ObjectSources of a segmentation and its authors' files (opened in
    ``files``, an ExitStack); what is missing is None."""
    cache = {}

    def per_region(name):
        if name not in cache:
            cache[name] = sw.file.read(name)
        return cache[name]
    one = sw.scene_points(np.array([[1, 1, 1], [2, 1, 1], [1, 2, 1], [1, 1, 2]], float))
    opened = {}
    # segments.hdf5 is indexed by region id, the arrays of a store read through an id
    # map by compact value: read together, voxels and boxes would be another region's.
    kinds = ('axons', 'dendrites') if reads_through_id_map(sw.file) else \
        ('segments', 'axons', 'dendrites')
    for kind in kinds:
        try:
            path = sw.authors_file(kind)
        except InputError:
            continue
        opened[kind] = files.enter_context(authors.AuthorsFile(path))
    return morphometry.authors_sources(opened, per_region, (one[1:] - one[0]).T,
                                       sw.scene_points)


def register_table_command(logger):
    desc = CmdDesc(
        required=[('segmentation', SegmentationArg), ('kind', EnumOf(tables.KINDS))],
        optional=[('subject', WordsArg)],
        keyword=[('from', OpenFolderNameArg),
                 ('of', PickArg),
                 ('onto', PickArg),
                 ('type', ListOf(StringArg)),
                 ('direction', EnumOf(('in', 'out', 'both'))),
                 ('by', EnumOf(tables.MATRIX_BY)),
                 ('save', SaveFileNameArg),
                 ('sort_by', StringArg),
                 ('top', PositiveIntArg)],
        synopsis='the connectome as a table: synapses, partners, a connectivity matrix or'
                 ' objects, shown in the log and saved as CSV or TSV')
    register('connectome table', desc, connectome_table, logger=logger)
