"""Object classes of an open segmentation (axon, dendrite, spine head ...) as commands and
the panel use them: which classes it has, each class's per-region array, and checks
with messages a user can act on (their colours are in session/coloring.py).

Classes are found where ChimeraX's segmentation code looks for attributes: 1-D integer
arrays in the segmentation's attribute file (``attribute_file_of``: the map itself or a
store's attribute file) and numpy arrays set on the model.  What is read from
the file is kept with the model until ``forget_classes``.
"""

import contextlib

from chimerax.core.errors import UserError
from numpy import integer, issubdtype, ndarray

from ..pipeline import classes as pure
from ..errors import InputError
from ..pipeline.attributefile import AttributeFile, check_covers
from . import compat
from .storegrid import StoreGrid

_CACHE = '_connectome_cache'        # model attribute: what was read from its file


def attribute_file_of(volume):
    """The AttributeFile (pipeline/attributefile.py) that holds an open volume's
    attributes, or None: a store's, declared by its grid (session/storegrid.py; it may
    not exist yet), else the file of a grid ChimeraX's segmentation code looks
    attributes up in (``find_attribute``: a Chimera map or HDF5 file)."""
    data = volume.data
    if isinstance(data, StoreGrid):
        return data.attribute_file
    if hasattr(data, 'find_attribute') and isinstance(data.path, str):
        return AttributeFile(data.path)
    return None


def _existing_attribute_file(seg):
    """The attribute file ChimeraX's lookup reads for this model, if there is one."""
    found = attribute_file_of(seg)
    return found if found is not None and found.exists else None


def segmentation_classes(seg):
    """Object classes of a segmentation model (attributes of object ids, not category
    codes or numbers), in panel order."""
    cache = seg.__dict__.setdefault(_CACHE, {})
    if 'file classes' not in cache:
        found = _existing_attribute_file(seg)
        cache['file classes'] = found.class_names() if found else []
    info = attribute_info(seg)
    on_model = [name for name, value in vars(seg).items()
                if not name.startswith('_') and isinstance(value, ndarray)
                and value.ndim == 1 and issubdtype(value.dtype, integer)]
    names = set(cache['file classes']) | set(on_model)
    return pure.ordered_classes({n for n in names
                                 if n not in info or info[n].kind == 'id'})


def attribute_info(seg):
    """{name: AttributeInfo} of the attributes in the segmentation's file
    (pipeline/attributefile.py: kind 'id', 'category' or 'number', category names ...)."""
    cache = seg.__dict__.setdefault(_CACHE, {})
    if 'info' not in cache:
        found = _existing_attribute_file(seg)
        cache['info'] = found.info() if found else {}
    return cache['info']


def category_attributes(seg):
    """Names of the attributes of category codes (axonclass ...), sorted."""
    return sorted(n for n, i in attribute_info(seg).items() if i.kind == 'category')


def number_attributes(seg):
    """Names of the attributes holding a number per region (spineheadvolume ...)."""
    return sorted(n for n, i in attribute_info(seg).items() if i.kind == 'number')


def check_attribute(command, seg, name):
    """The AttributeInfo of a category or number attribute, or UserError saying what
    there is."""
    info = attribute_info(seg).get(name)
    if info is None or info.kind == 'id':
        have = category_attributes(seg) + number_attributes(seg)
        raise UserError('%s: segmentation %s (%s) has no attribute %s of categories or'
                        ' numbers; it has %s' % (command, seg.atomspec, seg.name, name,
                                                 ', '.join(have) or 'none (connectome ids'
                                                 ' FOLDER writes axonclass, dendriteclass,'
                                                 ' spineheadvolume ...)'))
    return info


def class_values(seg, name):
    """The attribute array of one class (index region id, value object id), read by
    ChimeraX's own lookup; UserError if it does not cover every region (``_covering``)."""
    if name in vars(seg):
        return _covering(seg, name, compat.attribute_values(seg, name), True)
    values = seg.__dict__.setdefault(_CACHE, {}).setdefault('values', {})
    if name not in values:
        try:
            with _as_stored(seg):
                found = compat.attribute_values(seg, name)
        except LookupError as e:        # two arrays of that name in the file
            raise UserError(str(e))
        values[name] = _covering(seg, name, found, False)
    return values[name]


def number_values(seg, name):
    """The float per region of a number attribute: the array set on the model, else the
    file's (ChimeraX's own lookup, seg.data.find_attribute; its segmentation code takes
    integer arrays only); UserError if it does not cover every region."""
    value = vars(seg).get(name)
    if isinstance(value, ndarray):
        return _covering(seg, name, value, True)
    values = seg.__dict__.setdefault(_CACHE, {}).setdefault('values', {})
    if name not in values:
        try:
            with _as_stored(seg):
                found = seg.data.find_attribute(name)
        except LookupError as e:        # two arrays of that name in the file
            raise UserError(str(e))
        if found is None:
            raise UserError('segmentation %s (%s) has no attribute %s'
                            % (seg.atomspec, seg.name, name))
        values[name] = _covering(seg, name, found, False)
    return values[name]


def _as_stored(seg):
    """The file's arrays as they are, no voxel read: for a store read through an id map
    its grid would first give every id of the store its value, which ChimeraX's own
    table sizes need (session/storegrid.py StoreGrid.find_attribute) and our lookups,
    by values read already, do not."""
    data = seg.data
    return data.as_stored() if isinstance(data, StoreGrid) else contextlib.nullcontext()


def _covering(seg, name, values, on_model):
    """``values`` if it has an entry for every region id up to the largest the
    segmentation's file records (``maximum_segment_id``, which connectome ids writes;
    nothing is checked where none is recorded, since finding it reads every voxel), else
    UserError naming the array: past its end ChimeraX's lookup and ours would read "no
    object" for real regions."""
    cache = seg.__dict__.setdefault(_CACHE, {})
    if 'maximum' not in cache:
        found = _existing_attribute_file(seg)
        try:
            cache['maximum'] = found.stored_maximum() if found is not None else None
        except InputError as e:
            raise UserError(str(e))
    found = attribute_file_of(seg)
    where = ('segmentation %s (%s), array set on the model' % (seg.atomspec, seg.name)
             if on_model or found is None else
             'segmentation %s (%s) file %s' % (seg.atomspec, seg.name, found.path))
    try:
        check_covers(name, values, cache['maximum'], where)
    except InputError as e:
        raise UserError(str(e))
    return values


def forget_classes(seg):
    """Read the classes from the file again next time (after `connectome ids` wrote)."""
    seg.__dict__.pop(_CACHE, None)


def check_classes(command, seg, names):
    """UserError unless the segmentation has every class named."""
    have = segmentation_classes(seg)
    if not have:
        raise UserError('%s: segmentation %s (%s) has no object classes; add them with'
                        ' connectome ids' % (command, seg.atomspec, seg.name))
    missing = [n for n in names if n not in have]
    if missing:
        raise UserError('%s: segmentation %s (%s) has no class %s; it has %s'
                        % (command, seg.atomspec, seg.name, ', '.join(missing), ', '.join(have)))
    for name in names:
        try:
            class_values(seg, name)     # read once here, so a damaged array is refused
        except UserError as e:
            raise UserError('%s: %s' % (command, e))
