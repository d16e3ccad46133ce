"""The ``connectome ids`` command: object files to per-region int32 attribute arrays under
/attributes of a segmentation file, ready for ``segmentation colors ... byAttribute axon``
and ``segmentation surfaces ... where neuron=1``.

    connectome ids SEGMENTATION [NAME FILE [NAME FILE ...]] [variable VAR]
        [conflicts error|first|last] [replace false]

SEGMENTATION is a .cmap file or an open segmentation model (#2); for a model opened
from a chunked store (read-only) the arrays go to the store's attribute file
(formats/sidecar.py), made on first use.  With no NAME FILE pairs the command lists the
attributes already in the file.  Reading is
formats/objectfiles, building the arrays and writing them without risking the file
pipeline/attributes.py and formats/hdf5edit.py; this module parses, reports progress and
applies the new arrays to open models at once.
"""

import os
import time

from chimerax.core.commands import Annotation, AnnotationError, next_token

from ..errors import Cancelled, InputError
from ..formats import locks, sidecar
from ..formats.objectfiles import read_object_file
from ..pipeline import attributes
from ..progress import Progress
from ..session import compat
from ..session.classes import forget_classes
from ..session.maps import segmentation_file, segmentation_store, volume_attribute_names
from ..session.readout import enable_readout
from ..session.reporting import cancellable, status_reporter

KEYWORDS = ('variable', 'conflicts', 'replace', 'memorylimit')


class SegmentationArg(Annotation):
    """A .cmap file name, or an atom spec naming one open volume (#2)."""
    name = 'a segmentation .cmap file or one open map (#N)'

    @staticmethod
    def parse(text, session):
        if text.lstrip().startswith('#'):
            from chimerax.map import MapArg
            return MapArg.parse(text, session)
        from chimerax.core.commands import OpenFileNameArg
        return OpenFileNameArg.parse(text, session)


class NameFilePairsArg(Annotation):
    """NAME FILE [NAME FILE ...], up to the first keyword of the command."""
    name = 'attribute name and object file pairs'

    @staticmethod
    def parse(text, session):
        pairs = []
        end = 0             # of the text consumed: returned as typed, so the log replays
        rest = text
        while rest.strip():
            word, word_text, after = next_token(rest.lstrip())
            if word.lower() in KEYWORDS and pairs:
                break
            if word.lower() in KEYWORDS:
                raise AnnotationError('expected an attribute name, got keyword %s' % word)
            if not after.strip():
                raise AnnotationError('attribute %s has no object file' % word)
            path, path_text, rest = next_token(after.lstrip())
            pairs.append((word, os.path.expanduser(path)))
            end = len(text) - len(rest)
        if not pairs:
            raise AnnotationError('expected attribute name and object file pairs')
        return pairs, text[:end], text[end:]


def connectome_ids(session, segmentation, pairs=None, variable=None, conflicts='error',
                   replace=False, memory_limit=attributes.DEFAULT_MEMORY_LIMIT):
    """Write attribute arrays; returns {name: array} (or, with no pairs, the list of
    (name, length, objects) already in the file)."""
    from chimerax.core.errors import UserError
    try:
        with cancellable():
            return _ids(session, segmentation, pairs or [], variable, conflicts, replace,
                        memory_limit)
    except InputError as e:
        raise UserError('connectome ids: %s' % e)
    except Cancelled:
        raise UserError('connectome ids: cancelled before anything was written')


def _ids(session, segmentation, pairs, variable, conflicts, replace, memory_limit):
    path, models = segmentation_file(session, segmentation)
    store = segmentation_store(segmentation)
    if not pairs:
        if store is not None and not os.path.exists(path):
            session.logger.info('%s has no attributes yet (their file %s is made by the'
                                ' first connectome ids)' % (store.location, path))
            return []
        return _list(session, path)
    if store is not None:
        sidecar.create(path, store)
    if not os.path.isfile(path):
        raise InputError('%s: no such file' % path, path)
    # From the first read to the last write: another run must not change the file between.
    with locks.exclusive(path, 'connectome ids'):
        return _write(session, path, models, pairs, variable, conflicts, replace,
                      memory_limit)


def _list(session, path):
    attributes.SegmentationFile(path)           # a clear error if it is no segmentation
    listed = attributes.list_attributes(path)
    if listed:
        lines = ['%s: %d regions, %d objects' % (name, length - 1, count)
                 for name, length, count in listed]
        session.logger.info('Attributes of %s:\n  %s' % (path, '\n  '.join(lines)))
    else:
        session.logger.info('%s has no attributes (add them with connectome ids %s NAME FILE)'
                            % (path, os.path.basename(path)))
    return listed


def _write(session, path, models, pairs, variable, conflicts, replace, memory_limit):
    seg = attributes.SegmentationFile(path)
    log = session.logger
    names = [name for name, _ in pairs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError('attribute %s is given twice' % ', '.join(duplicated))
    attributes.check_names(seg, names, replace)
    _check_model_names(session, names, models)
    for name, file in pairs:
        if os.path.exists(file) and os.path.samefile(file, path):
            raise InputError('the object file for %s is the segmentation file %s itself'
                             % (name, path), path)

    reporter = status_reporter(session)
    maximum_id = seg.stored_maximum
    if maximum_id is None:
        progress = Progress('maximum region id of %s' % os.path.basename(path),
                            seg.shape[0], 'planes', reporter)
        maximum_id = seg.maximum_id(lambda done, total: progress.advance(done - progress.done))
        progress.finish('Maximum region id of %s is %d (computed from %d planes in %.1f s;'
                        ' stored as maximum_segment_id)'
                        % (os.path.basename(path), maximum_id, seg.shape[0],
                           progress.elapsed()))

    attributes.check_array_size(maximum_id, len(pairs), memory_limit, path)
    # Read and check everything before writing anything.
    arrays, stats = {}, []
    progress = Progress('connectome ids', len(pairs), 'files', reporter)
    for name, file in pairs:
        table = read_object_file(file, variable)
        values, stat = attributes.build_attribute(name, table.regions, table.objects,
                                                  table.count, maximum_id, conflicts, file)
        arrays[name] = values
        stats.append((stat, table.description))
        progress.advance()
    t0 = time.monotonic()
    attributes.write_attributes(path, arrays,
                                maximum_id if seg.stored_maximum is None else None)
    written = time.monotonic() - t0
    for stat, description in stats:
        log.info('%s (from %s)' % (stat.message(), description))
    log.status('')
    log.info('Wrote %d attribute%s to %s in %.1f s'
             % (len(arrays), '' if len(arrays) == 1 else 's', path, written))
    _apply_to_models(session, models, arrays, maximum_id)
    return arrays


def _check_model_names(session, names, models):
    """ChimeraX's segmentation code uses a model attribute of the attribute's name before
    the file's array, so a name that is already a Volume attribute can never work."""
    from numpy import ndarray
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
            setattr(m, name, values)
            compat.forget_attribute_colors(m, name)
        compat.set_maximum_region_id(m, maximum_id)
        forget_classes(m)
    if models:
        enable_readout(session)
        session.logger.info('Applied to open model%s %s'
                            % ('' if len(models) == 1 else 's',
                               ', '.join('#' + m.id_string for m in models)))


def register_ids_command(logger):
    from chimerax.core.commands import (CmdDesc, register, BoolArg, Bounded, EnumOf, FloatArg,
                                        StringArg)
    desc = CmdDesc(
        required=[('segmentation', SegmentationArg)],
        optional=[('pairs', NameFilePairsArg)],
        keyword=[('variable', StringArg),
                 ('conflicts', EnumOf(('error', 'first', 'last'))),
                 ('replace', BoolArg),
                 ('memory_limit', Bounded(FloatArg, 0.001))],
        synopsis='write object ids per region as segmentation attributes')
    register('connectome ids', desc, connectome_ids, logger=logger)
