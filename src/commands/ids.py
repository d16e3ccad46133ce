"""The ``connectome ids`` command: object files to per-region attribute arrays under
/attributes of a segmentation file, ready for ``segmentation colors ... byAttribute axon``,
``segmentation surfaces ... where neuron=1`` and ``connectome color``.

    connectome ids SEGMENTATION FOLDER
    connectome ids SEGMENTATION [NAME FILE[:PATH] [via ATTRIBUTE] ...] [variable VAR]
        [conflicts error|first|last|lowest] [padLookups false] [replace false]
        [memoryLimit GB]

SEGMENTATION is a .cmap file or an open segmentation model (#2); for a model opened
from a chunked store (read-only) the arrays go to the store's attribute file
(formats/sidecar.py), made on first use.  FOLDER holds the authors' files (axons.hdf5,
dendrites.hdf5, synapses.hdf5): every attribute they give is written in one step, and
the wiring (each synapse's partners, pipeline/wiring.py) is kept beside them with the
folder, for connectome synapses, partners and skeletons.  With no pairs the command
lists the attributes already in the file.  What each pair reads and
the arrays built are pipeline/objectmap.py, writing them without risking the file
pipeline/attributefile.py and formats/hdf5edit.py; this module parses, reports progress and
applies the new arrays to open models at once.
"""

import os
import time

from numpy import ndarray
from chimerax.core.commands import (Annotation, AnnotationError, BoolArg, Bounded, CmdDesc,
                                    EnumOf, FloatArg, next_token, register, StringArg)

from ..errors import Cancelled, InputError
from ..formats import locks, sidecar, stores
from ..pipeline import attributes, objectmap, wiring
from ..progress import Progress
from ..session import compat
from ..session.classes import forget_classes
from ..session.maps import (command_ends, SegmentationArg, segmentation_file,
                            volume_attribute_names)
from ..session.readout import enable_readout
from ..session.reporting import cancellable, status_reporter
from ..session.storegrid import has_id_map, use_saved_id_map

KEYWORDS = ('variable', 'conflicts', 'replace', 'padlookups', 'memorylimit')


class NameFilePairsArg(Annotation):
    """FOLDER, or NAME FILE[:PATH] [via ATTRIBUTE] ..., up to the first keyword of the
    command.  Parsed to a folder path (str) or a list of objectmap.Request."""
    name = 'a folder of the authors\' files, or attribute name and object file pairs'

    @staticmethod
    def parse(text, session):
        rest = text.lstrip()
        if command_ends(rest):
            raise AnnotationError('expected a folder or attribute name and object file pairs')
        word, word_text, after = next_token(rest)
        folder = os.path.expanduser(word)
        if os.path.isdir(folder) and (command_ends(after) or
                                      next_token(after.lstrip())[0].lower() in KEYWORDS):
            return folder, word_text, after
        pairs = []
        end = 0             # of the text consumed: returned as typed, so the log replays
        rest = text
        while not command_ends(rest):
            word, word_text, after = next_token(rest.lstrip())
            if word.lower() in KEYWORDS and pairs:
                break
            if word.lower() in KEYWORDS:
                raise AnnotationError('expected an attribute name, got keyword %s' % word)
            if command_ends(after):
                raise AnnotationError('attribute %s has no object file' % word)
            path, path_text, rest = next_token(after.lstrip())
            file, inner = split_file_path(os.path.expanduser(path))
            via = None
            if not command_ends(rest) and next_token(rest.lstrip())[0].lower() == 'via':
                _, _, after_via = next_token(rest.lstrip())
                if command_ends(after_via):
                    raise AnnotationError('via needs an attribute (via dendrite)')
                via, _, rest = next_token(after_via.lstrip())
            pairs.append(objectmap.Request(word, file, inner, via))
            end = len(text) - len(rest)
        if not pairs:
            raise AnnotationError('expected a folder or attribute name and object file pairs')
        return pairs, text[:end], text[end:]


def split_file_path(text):
    """FILE:PATH -> (FILE, PATH); a name that exists as a file is never split (nor a
    drive letter), so PATH is what follows the last colon after an existing file."""
    if os.path.exists(text) or ':' not in text:
        return text, None
    head = text
    while ':' in head:
        head, _, _ = head.rpartition(':')
        if os.path.isfile(head):
            return head, text[len(head) + 1:] or None
    return text, None


def connectome_ids(session, segmentation, pairs=None, variable=None, conflicts=None,
                   replace=False, pad_lookups=False,
                   memory_limit=attributes.DEFAULT_MEMORY_LIMIT):
    """Write attribute arrays; returns {name: array} (or, with no pairs, the list of
    (name, length, objects) already in the file)."""
    from chimerax.core.errors import UserError
    try:
        with cancellable():
            return _ids(session, segmentation, pairs, variable, conflicts, replace,
                        pad_lookups, memory_limit)
    except InputError as e:
        raise UserError('connectome ids: %s' % e)
    except Cancelled:
        raise UserError('connectome ids: cancelled before anything was written')


def _ids(session, segmentation, pairs, variable, conflicts, replace, pad_lookups,
         memory_limit):
    file, models = segmentation_file(session, segmentation)
    path = file.path
    if not pairs:
        if file.store is not None and not os.path.exists(path):
            session.logger.info('%s has no attributes yet (their file %s is made by the'
                                ' first connectome ids)' % (file.store.location, path))
            return []
        return _list(session.logger, file)
    file.create()                   # a store's attribute file, on first use
    if not os.path.isfile(path):
        raise InputError('%s: no such file' % path, path)
    # From the first read to the last write: another run must not change the file between.
    with locks.exclusive(path, 'connectome ids'):
        return _write(session, file, models, pairs, variable, conflicts, replace,
                      pad_lookups, memory_limit)


def _write(session, file, models, pairs, variable, conflicts, replace, pad_lookups,
           memory_limit):
    path = file.path
    seg = file.survey()
    log = session.logger
    notes = []
    if isinstance(pairs, str):
        requests, files, missing = objectmap.folder_requests(pairs)
        if missing:
            notes.append('%s has no %s: those attributes are not written'
                         % (pairs, ', '.join('%s file (%s)' % (k, ' or '.join(
                             objectmap.authors.FILE_NAMES[k])) for k in missing)))
    else:
        requests, files = pairs, {}
    names = [r.name for r in requests]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError('attribute %s is given twice' % ', '.join(duplicated))
    seg.check_names(names, replace)
    _check_model_names(session, names, models)
    for r in requests:
        if os.path.exists(r.file) and os.path.samefile(r.file, path):
            raise InputError('the object file for %s is the segmentation file %s itself'
                             % (r.name, path), path)

    reporter = status_reporter(session)
    id_map = _id_map(file, models, seg)
    translation = None if id_map is None else objectmap.IdTranslation.of(id_map)
    before = None if id_map is None else len(id_map)
    maximum_id = seg.stored_maximum if id_map is None else len(id_map) - 1
    if maximum_id is None:
        progress = Progress('maximum region id of %s' % os.path.basename(path),
                            seg.shape[0], 'planes', reporter)
        maximum_id = seg.maximum_id(lambda done, total: progress.advance(done - progress.done))
        progress.finish('Maximum region id of %s is %d (computed from %d planes in %.1f s;'
                        ' stored as maximum_segment_id)'
                        % (os.path.basename(path), maximum_id, seg.shape[0],
                           progress.elapsed()))
    if 'segments' in files and id_map is None:
        note = objectmap.segments_note(files['segments'], maximum_id)
        if note:
            notes.append(note)

    attributes.check_array_size(maximum_id, len(requests), memory_limit, path)
    # Read and check everything before writing anything.
    t0 = time.monotonic()
    progress = Progress('connectome ids: reading', 0, 'datasets', reporter)

    def report(done, total):
        progress.total = total
        progress.advance(done - progress.done)
    result = objectmap.build(requests, maximum_id, conflicts, variable, pad_lookups,
                             existing=file.read,
                             report=report, translation=translation)
    arrays = result.arrays
    kept = None
    if isinstance(pairs, str) and 'synapses' in files:
        # Who connects to whom, kept beside the attributes (pipeline/wiring.py).
        kept = wiring.derive(pairs, per_region=lambda name: arrays[name] if name in arrays
                             else file.read(name),
                             region_values=None if translation is None else
                             lambda ids: translation.translate(ids, pairs, pairs))
    if id_map is not None:
        maximum_id = result.maximum_id
        notes.append(_id_map_note(id_map, before, path))
    read = time.monotonic() - t0
    # Once the first array is written the rest follow, so that the file never holds
    # half of what the run read (and "cancelled before anything was written" stays true).
    written = Progress('connectome ids: writing', len(arrays), 'attributes', reporter,
                       cancel_point=False)
    t1 = time.monotonic()
    if id_map is not None:
        # The map first: arrays indexed by values it does not keep would name no region
        # after a reopen, while a map without the arrays is harmless.  No
        # maximum_segment_id: the map grows as the store is read.
        sidecar.save_ids(path, id_map.ids)
    stored_maximum = seg.stored_maximum is None and id_map is None
    file.write(arrays, maximum_id if stored_maximum else None, result.metadata,
               report=lambda name: written.advance())
    if kept is not None:
        file.write_wiring(kept)
        notes += kept.notes + ['Kept the wiring (%s) in %s, with the folder %s: connectome'
                               ' synapses, partners and skeletons read it'
                               % (kept.describe(), os.path.basename(path), kept.folder)]
    t2 = time.monotonic()
    for line in result.messages + notes:
        log.info(line)
    log.status('')
    log.info('Wrote %d attribute%s to %s in %.1f s (read and built in %.1f s, written in'
             ' %.1f s)' % (len(arrays), '' if len(arrays) == 1 else 's', path, t2 - t0,
                           read, t2 - t1))
    # Through an id map the largest value grows as chunks are read: ChimeraX is not told
    # one (its segmentation code would index past its tables with the values given
    # after); it finds it from the whole volume, which gives every id its value.
    _apply_to_models(session, models, arrays, None if id_map is not None else maximum_id)
    return arrays


def _id_map(file, models, seg):
    """The id map (formats/stores/idmap.py) the segmentation's region ids are read
    through, or None: its store's, open in ChimeraX or (an attribute file named by its
    path) opened here with the map the file keeps."""
    for store in [getattr(m.data, 'store', None) for m in models] + [file.store]:
        if store is not None:
            return store.id_map
    if seg.source is None and file.store is None:
        # A Chimera map combined from such a store keeps its map (formats/sidecar.py).
        saved = sidecar.saved_ids(file.path)
        return None if saved is None else stores.IdMap(saved, where=file.path)
    if seg.source is None or (seg.stored_maximum is not None
                              and sidecar.saved_ids(file.path) is None):
        return None
    store = stores.open_store(seg.source.url, seg.source.format)
    if store.stored_dtype.itemsize == 8:
        use_saved_id_map(store, file.path)
    return store.id_map


def _id_map_note(id_map, before, path):
    """The log line saying how the region ids were read through the id map."""
    added = len(id_map) - before
    grown = ('%d ids the store had not shown yet were given values %d to %d'
             % (added, before, len(id_map) - 1) if added else
             'every id was one the store had shown')
    return ('Region ids above 2^32 read through the store\'s id map: %s; the map (%d ids)'
            ' is kept in %s with the attributes, which are indexed by its values'
            % (grown, len(id_map) - 1, os.path.basename(path)))


def _list(log, file):
    path = file.path
    file.survey()                               # a clear error if it is no segmentation
    listed = file.listing()
    if listed:
        kept = file.wiring()
        lines = ['%s: %d regions, %s' % (d.name, d.length - 1, _counted(file, kept, d))
                 for d in file.describe()]
        log.info('Attributes of %s:\n  %s' % (path, '\n  '.join(lines)))
    else:
        log.info('%s has no attributes (add them with connectome ids %s NAME FILE, or'
                 ' connectome ids %s FOLDER for the authors\' files)'
                 % (path, os.path.basename(path), os.path.basename(path)))
    return listed


def _counted(file, kept, described):
    """What an array holds; a per-region synapse id counted as every command counts
    synapses (pipeline/wiring.py RegionSynapses), when the wiring is kept."""
    if kept is None or described.name not in wiring.SYNAPSE_ATTRIBUTES:
        return described.text
    return wiring.region_synapses(kept, file.read(described.name)).text()


def _check_model_names(session, names, models):
    """ChimeraX's segmentation code uses a model attribute of the attribute's name before
    the file's array, so a name that is already a Volume attribute can never work."""
    reserved = volume_attribute_names(session)
    for name in names:
        taken = name in reserved or any(
            hasattr(m, name) and not isinstance(vars(m).get(name), ndarray) for m in models)
        if taken:
            raise InputError('%r is the name of a ChimeraX map property; segmentation colors'
                             ' would use that instead of the attribute, so choose another name'
                             % name)


def _apply_to_models(session, models, arrays, maximum_id):
    """New arrays take effect on open models at once: set them as model attributes (which
    ChimeraX's segmentation code reads before the file) and drop cached colours."""
    for m in models:
        for name, values in arrays.items():
            if has_id_map(m.data):
                # Its grid answers from the file, as long as its voxels' values go.
                vars(m).pop(name, None)
            else:
                setattr(m, name, values)
            compat.forget_attribute_colors(m, name)
        if maximum_id is not None:
            compat.set_maximum_region_id(m, maximum_id)
        forget_classes(m)
    if models:
        enable_readout(session)
        session.logger.info('Applied to open model%s %s'
                            % ('' if len(models) == 1 else 's',
                               ', '.join('#' + m.id_string for m in models)))


def register_ids_command(logger):
    desc = CmdDesc(
        required=[('segmentation', SegmentationArg)],
        optional=[('pairs', NameFilePairsArg)],
        keyword=[('variable', StringArg),
                 ('conflicts', EnumOf(attributes.CONFLICTS)),
                 ('replace', BoolArg),
                 ('pad_lookups', BoolArg),
                 ('memory_limit', Bounded(FloatArg, 0.001))],
        synopsis='write object ids per region as segmentation attributes')
    register('connectome ids', desc, connectome_ids, logger=logger)
