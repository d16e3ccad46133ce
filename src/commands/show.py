"""The ``connectome show`` command: go to one object.

    connectome show SEGMENTATION CLASS ID [map MAP] [padding N] [color COLOR]
        [maxVoxels N] [from FOLDER] [key true|false]

Finds the object's regions (its attribute array), where they are (``/segments/position``
of the authors' segments.hdf5, one voxel per region; without that file, from the
voxels of a subsampled copy of the segmentation), and the box around them, ``padding``
voxels wider.  Then, as logged commands: the EM map shows the plane through the object's
centre across that box at full resolution, the object's surface is made from the box at
full resolution (``segmentation surfaces ... region ... step 1``; the whole object's
mesh at full resolution instead when ``connectome meshes`` has made the class's), and the
view, tilted from z so that the object's extent shows, is centred on it (``view orient``,
``turn``, ``view``, ``cofr``).  A box of more than maxVoxels voxels is shown
at the smallest step that fits, and the log says so.  ``key true`` names the object in
its colour in the key of object surfaces (session/keys.py show_surfaces_key).
"""

import numpy as np

from ..errors import InputError
from ..formats.objectfiles import authors
from ..pipeline import classes as pure
from ..session.classes import attribute_file_of, check_classes, class_values
from ..session.coloring import class_colors, show_image
from ..session.keys import show_surfaces_key
from ..session.maps import open_volumes
from ..session.meshsurfaces import surfaces_from_meshes
from ..session.wiring import remembered_folder
from .wiring import ObjectsArg

MAX_VOXELS = 256 ** 3           # voxels of the box shown at full resolution, at most
SCAN_VOXELS = 32 ** 3 * 64      # voxels read to find an object without segments.hdf5
TILT = 55                       # degrees the view is tilted from straight down z


def connectome_show(session, segmentation, objects, map=None, padding=32, color=None,
                    max_voxels=MAX_VOXELS, from_=None, key=False):
    """Centre the view on one object and show it; returns its surfaces."""
    from chimerax.core.commands import run, concise_model_spec
    from chimerax.core.errors import UserError
    command = 'connectome show'
    name, text = objects
    check_classes(command, segmentation, [name])
    image = map if map is not None else _image_for(session, segmentation)
    if image is segmentation:
        raise UserError('%s: map and segmentation are both %s; name the EM map of the same'
                        ' grid size' % (command, segmentation.atomspec))
    values = class_values(segmentation, name)
    object_id = _one_id(command, name, text, values)
    regions = np.flatnonzero(values == object_id)
    if not regions.size:
        raise UserError('%s: no region of %s is in %s %d (the largest %s id is %d)'
                        % (command, segmentation.atomspec, name, object_id, name,
                           int(values.max())))
    try:
        low, high, centre, how = _bounds(session, segmentation, values, regions, object_id,
                                         from_)
    except InputError as e:
        raise UserError('%s: %s' % (command, e))
    size = np.asarray(segmentation.data.size)
    low = np.maximum(np.floor(low) - padding, 0).astype(int)
    high = np.minimum(np.ceil(high) + padding, size - 1).astype(int)
    voxels = int(np.prod(high - low + 1))
    step = 1
    while voxels / step ** 3 > max_voxels:
        step *= 2
    box = ','.join(str(v) for v in list(low) + list(high))
    centre_ijk = np.clip(np.rint(centre), low, high).astype(int)
    session.logger.info(
        '%s %d: %d regions around voxel %s (%s); box %s, %d voxels%s'
        % (name, object_id, regions.size, ','.join(map_str(centre_ijk)), how, box, voxels,
           '' if step == 1 else ', shown at step %d (more than maxVoxels %d at full'
           ' resolution)' % (step, max_voxels)))
    # The plane through the object's centre, as wide as the box, at full resolution.
    plane = ','.join(map_str(list(low[:2]) + [centre_ijk[2]] + list(high[:2]) +
                             [centre_ijk[2]]))
    show_image(session, segmentation, image, 'region %s step %d' % (plane, step))
    colour = class_colors(session, command, [name], None if color is None else [color])[name]
    # The whole object at full resolution from its meshes (connectome meshes), else
    # marched from the box's voxels.
    surfaces = surfaces_from_meshes(session, segmentation, name, [(object_id, object_id)],
                                    False, colour, 0)
    if surfaces is None:
        surfaces = run(session, 'segmentation surfaces %s where %s=%d region %s step %d'
                       ' color %s' % (segmentation.atomspec, name, object_id, box, step,
                                      colour))
    if surfaces:
        spec = concise_model_spec(session, surfaces)
        # Obliquely, not straight down z (which shows a neuron as its soma over the EM
        # plane): tilted about the box's longer side across, which stays full length.
        extent = (high - low + 1) * np.asarray(segmentation.data.step)
        run(session, 'view orient; turn %s %d' % (('x', -TILT) if extent[0] >= extent[1]
                                                  else ('y', TILT)))
        run(session, 'view %s pad 0.3' % spec)
        if key:
            show_surfaces_key(session, [(name, surfaces, True)])
    xyz = segmentation.scene_position * segmentation.data.ijk_to_xyz(centre_ijk)
    run(session, 'cofr %s' % ','.join('%.6g' % v for v in xyz))
    return surfaces


def _one_id(command, name, text, values):
    """The one object id typed, checked as every command checks ids (from 1: id 0 means
    "in no object", pipeline/classes.parse_object_ids)."""
    from chimerax.core.errors import UserError
    largest = max(int(values.max()), 1) if len(values) else 1
    try:
        ranges = pure.parse_object_ids(text, largest, name)
    except InputError as e:
        raise UserError('%s: %s' % (command, e))
    if len(ranges) != 1 or ranges[0][0] != ranges[0][1]:
        raise UserError('%s: give one %s id, not %s' % (command, name, text))
    return ranges[0][0]


def map_str(values):
    return [str(int(v)) for v in values]


def _image_for(session, seg):
    """The EM map shown with the segmentation: an open map of the same grid, not a
    segmentation (pipeline/classes.choose_image)."""
    return pure.choose_image(open_volumes(session), seg)


def _bounds(session, seg, values, regions, object_id, folder):
    """(lowest, highest, centre ijk (0-based), how found) of an object's regions."""
    if folder is not None:
        files = authors.find_files(folder)      # given: an error if it is not theirs
    else:
        # The folder connectome ids read, kept in the file that holds the attributes
        # (the map itself, or a store's attribute file).
        found = attribute_file_of(seg)
        folder = remembered_folder(found) if found else None
        try:
            files = authors.find_files(folder) if folder else {}
        except InputError:
            files = {}
    if 'segments' in files:
        with authors.AuthorsFile(files['segments']) as f:
            f.require('segments')
            xyz = f.region_positions(regions) - 1.0
        bad = ~np.isfinite(xyz).all(axis=1)
        if bad.any():
            raise InputError('%s: /segments/position of region %d is not a finite position'
                             ' (%d of the object\'s %d regions are not): the file is'
                             ' damaged' % (files['segments'], int(regions[bad][0]),
                                           int(bad.sum()), regions.size))
        return xyz.min(axis=0), xyz.max(axis=0), xyz.mean(axis=0), \
            'from /segments/position of %s' % files['segments']
    # From the voxels, at the finest step whose copy is small enough to scan.
    size = np.asarray(seg.data.size, np.int64)
    step = 1
    while np.prod(np.ceil(size / step)) > SCAN_VOXELS:
        step *= 2
    m = seg.full_matrix(step=(step, step, step))
    # Region ids past the end of the array are in no object: they all look up the
    # extra last entry, which is False.
    lookup = np.zeros(len(values) + 1, bool)
    lookup[regions] = True
    found = np.argwhere(lookup[np.minimum(m, len(values))])
    if not found.size:
        raise InputError('none of the object\'s regions shows at step %d of %s; give the'
                         ' folder of the authors\' segments.hdf5 with from FOLDER'
                         % (step, seg.atomspec))
    ijk = found[:, ::-1] * step             # z, y, x rows to x, y, z
    return ijk.min(axis=0), ijk.max(axis=0) + step - 1, ijk.mean(axis=0), \
        'from the voxels at step %d' % step


def register_show_command(logger):
    from chimerax.core.commands import (BoolArg, CmdDesc, register, ColorArg, NonNegativeIntArg,
                                        OpenFolderNameArg, PositiveIntArg)
    from chimerax.map import MapArg
    desc = CmdDesc(
        required=[('segmentation', MapArg), ('objects', ObjectsArg)],
        keyword=[('map', MapArg),
                 ('padding', NonNegativeIntArg),
                 ('color', ColorArg),
                 ('max_voxels', PositiveIntArg),
                 ('from', OpenFolderNameArg),
                 ('key', BoolArg)],
        synopsis='center the view on one object and show it at full resolution')
    register('connectome show', desc, connectome_show, logger=logger)
