"""A chunked store (formats/stores/) opened in ChimeraX as one multiresolution volume.

``store_grid`` gives the GridData ChimeraX shows: one ``StoreLevelGrid`` per scale of
the store, gathered in a ``StoreGrid``, ChimeraX's own SubsampledGrid (what its cmap and
Imaris readers return for files with precomputed levels), so a Volume shown at step N
reads the coarsest scale whose factors divide N, and only the chunks of the region
shown.  A segmentation's attributes live in a small file beside the read-only store
(formats/sidecar.py), the grid's ``attribute_file`` (pipeline/attributefile.py):
``find_attribute`` reads it, which is where ChimeraX's ``segmentation colors ...
byAttribute`` looks after the model's own attributes.  The open-command provider is
commands/openstore.py.
"""

from chimerax.core.errors import UserError
from chimerax.map_data import GridData, SubsampledGrid

from ..errors import InputError


class StoreLevelGrid(GridData):
    """GridData over one scale (a formats.stores StoreLevel).  ``log_error`` (the
    session logger's ``error``, set by the opener) is where a block that cannot be read
    is reported, as ChimeraX reports a file it cannot read; the chunks that fail are
    shown as zeros, so the volume stays usable.  Without it the error is a UserError."""

    log_error = None
    _reported = None            # the messages logged, each once

    def __init__(self, level, size, origin, step, name, path, file_type):
        self.level = level
        GridData.__init__(self, size, value_type=level.store.dtype, origin=origin,
                          step=step, name=name, path=path, file_type=file_type,
                          grid_id=str(level.key))

    def read_matrix(self, ijk_origin, ijk_size, ijk_step, progress):
        start = tuple(reversed(ijk_origin))
        stop = tuple(o + s for o, s in zip(start, reversed(ijk_size)))
        step = tuple(reversed(ijk_step))
        if self.log_error is None:
            try:
                return self.level.read(start, stop, step)
            except InputError as e:
                raise UserError(str(e))
        return self.level.read_or_zeros(start, stop, step, self._report)

    def _report(self, message):
        # Once per message: ChimeraX asks again for a region it shows again.
        if self._reported is None:
            self._reported = set()
        if message not in self._reported:
            self._reported.add(message)
            self.log_error('%s (shown as zeros)' % message)


class StoreGrid(SubsampledGrid):
    """The multiresolution grid of a store; ``store``, ``attribute_file`` (an
    AttributeFile of the store, which may not exist yet; None if it has none)."""

    def __init__(self, store, voxel_size, origin, attribute_file=None):
        self.store = store
        self.attribute_file = attribute_file
        path = store.location.text
        levels = []
        for level in store.levels:
            step = tuple(v * f for v, f in zip(voxel_size, reversed(level.factors)))
            levels.append(StoreLevelGrid(level, tuple(reversed(level.shape)), origin, step,
                                         store.name, path, store.format))
        SubsampledGrid.__init__(self, levels[0])
        for level, grid in zip(store.levels[1:], levels[1:]):
            self.add_subsamples(grid, tuple(reversed(level.factors)))

    def find_attribute(self, attribute_name):
        """A segmentation attribute from the store's attribute file, or None."""
        if self.attribute_file is None:
            return None
        return self.attribute_file.find_attribute(attribute_name)


def store_grid(store, voxel_size=None, origin=None, attribute_file=None):
    """The GridData of a store: its own voxel size and origin (x,y,z) unless given;
    ``attribute_file`` an AttributeFile (pipeline/attributefile.py)."""
    return StoreGrid(store, tuple(voxel_size or store.voxel_size),
                     tuple(store.origin if origin is None else origin), attribute_file)
