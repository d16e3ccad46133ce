"""Which open maps a command or the panel works on: the open volumes, the segmentation and
EM map chosen when none are named (as the panel chooses them, so toolbar buttons that
name no models work), the command argument naming a segmentation (a file or a model)
and where the arguments of a command end, the attribute file behind a segmentation and
whether a map is coloured by one.
"""

import os

from chimerax.core.commands import Annotation, AnnotationError, next_token, OpenFileNameArg
from chimerax.core.errors import UserError
import numpy as np

from ..errors import InputError
from ..pipeline import classes as pure
from ..pipeline.attributefile import AttributeFile
from . import compat
from .classes import attribute_file_of, segmentation_classes


def command_ends(text):
    """Whether the rest of a command line holds no more arguments: it is empty or the
    next is the ``;`` that starts another command.  For hand-written Annotations, which
    ChimeraX hands the whole rest of the line."""
    return text.lstrip()[:1] in ('', ';')


class SegmentationArg(Annotation):
    """A .cmap file name, or an atom spec naming one open volume (#2)."""
    name = 'a segmentation .cmap file or one open map (#N)'

    @staticmethod
    def parse(text, session):
        if command_ends(text):
            # Not OpenFileNameArg's "Expected a file name": a model is as good.
            raise AnnotationError('Expected %s' % SegmentationArg.name)
        if text.lstrip().startswith('#'):
            # The model spec alone: an atom spec would read a following /folder as a
            # chain of the model ("#2 /data/authors").
            from chimerax.map import MapArg
            stripped = text.lstrip()
            token, _, _ = next_token(stripped)
            value, used, _ = MapArg.parse(token, session)
            end = len(text) - len(stripped) + len(token)
            return value, text[:end], text[end:]
        return OpenFileNameArg.parse(text, session)


def open_volumes(session):
    """Open volumes, first opened first."""
    from chimerax.map import Volume
    return sorted(session.models.list(type=Volume), key=lambda v: v.id)


def choose_models(session, command, segmentation=None, image=None, need_image=True):
    """(segmentation, image): the given models, else the panel's defaults."""
    volumes = open_volumes(session)
    if segmentation is None:
        if image is not None:       # one that can colour the given map
            volumes = [v for v in volumes if v is not image
                       and tuple(v.data.size) == tuple(image.data.size)]
        segmentation = pure.choose_segmentation(
            volumes, has_attributes=lambda v: bool(segmentation_classes(v)))
        if segmentation is None:
            raise UserError('%s: no segmentation is open (a map of integer region ids)' % command)
    if image is None and need_image:
        image = pure.choose_image(volumes, segmentation)
        if image is None:
            raise UserError('%s: no EM map of the same grid size as segmentation %s (%s) is open'
                            % (command, segmentation.atomspec, segmentation.name))
    return segmentation, image


def segmentation_colored(volume):
    """Whether a map is coloured by a segmentation (``segmentation colors ... map``)."""
    return compat.has_segmentation_colors(volume)


def segmentation_file(session, segmentation):
    """(AttributeFile, open segmentation models reading that file) for a .cmap path (or a
    store's attribute file) or an open segmentation model: for a model opened from a
    store, the store's attribute file, which may not exist yet."""
    from chimerax.map import Volume
    if isinstance(segmentation, Volume):
        found = attribute_file_of(segmentation)
        if found is None:
            raise InputError('model #%s (%s) was not opened from a Chimera map (.cmap) file'
                             ' or a store' % (segmentation.id_string, segmentation.name))
    else:
        found = AttributeFile(os.path.abspath(segmentation))
    models = [v for v in open_volumes(session)
              if (f := attribute_file_of(v)) is not None and f.same_file(found)]
    return found, models


_volume_names = None


def volume_attribute_names(session):
    """Every attribute a Volume model has, instance attributes included (``data``,
    ``region``, ``path`` ...): ChimeraX's segmentation code uses a model attribute of an
    attribute's name before the file's array, so none of these can name a class.  Found
    on a small Volume made for the purpose (and deleted), once per process."""
    global _volume_names
    if _volume_names is None:
        from chimerax.map_data import ArrayGridData
        from chimerax.map.volume import Volume
        v = Volume(session, ArrayGridData(np.zeros((2, 2, 2), np.uint32)))
        try:
            _volume_names = frozenset(dir(v))
        finally:
            v.delete()
    return _volume_names
