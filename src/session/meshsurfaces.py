"""Surfaces from meshes made once (``connectome meshes``, or any neuroglancer dataset's
multi-resolution meshes), in place of surfaces marched from voxels each time.

``mesh_folder`` finds a class's mesh folder beside the segmentation's attribute file;
``surfaces_from_meshes`` (``connectome surfaces``, ``connectome show``) and
``open_mesh_folder`` (``open DIR format precomputedmesh``) use ``mesh_surfaces``,
which makes one surface model per object, named, coloured and grouped
as ChimeraX's own ``segmentation surfaces ... each CLASS`` makes them (the colours of
chimerax.segment's random table for that attribute), at a level of detail given, else the
finest whose triangles over all the objects fit the triangle budget of ``graphics
quality`` (totalAtomTriangles).  A level's triangle count is estimated from its bytes and
its triangles per byte on a few objects, so only the level drawn is decoded in full.
"""

import os

import numpy as np

from ..errors import InputError
from ..formats.meshes import MeshFolder, default_output, is_mesh_folder
from . import compat
from .classes import attribute_file_of, class_values


def mesh_folder(segmentation, class_name):
    """The MeshFolder of a class of an open segmentation model, or None."""
    found = attribute_file_of(segmentation)
    if found is None:
        return None
    path = default_output(found.path, class_name)
    return MeshFolder(path) if os.path.isdir(path) and is_mesh_folder(path) else None


def choose_lod(folder, object_ids, budget, sample=8, decoded=None):
    """The finest level of detail whose (estimated) triangles over ``object_ids`` fit
    ``budget``; the coarsest when none does.  A level's triangles are its bytes of Draco
    times its triangles per byte, measured on ``sample`` objects of all sizes (each level
    has its own: Draco packs the regular full-resolution surface far tighter).  The
    levels decoded go into ``decoded`` ({(id, lod): (vertices, triangles)}) if given."""
    manifests = folder.manifests(object_ids)
    lods = min(m.num_lods for m in manifests)
    order = np.argsort([int(m.sizes[0].sum()) for m in manifests])
    measured = order[np.unique(np.linspace(0, len(order) - 1, min(sample, len(order)))
                               .round().astype(int))]
    for lod in range(lods):
        level_bytes = sum(int(m.sizes[lod].sum()) for m in manifests)
        some = sum(int(manifests[k].sizes[lod].sum()) for k in measured) or 1
        ids = [object_ids[k] for k in measured]
        read = folder.levels(ids, lod)
        if decoded is not None:
            decoded.update(((i, lod), r) for i, r in zip(ids, read))
        triangles = sum(len(t) for _, t in read)
        if triangles * level_bytes / some <= budget:
            return lod
    return lods - 1


def _levels(folder, object_ids, lod, decoded):
    """folder.levels(object_ids, lod), taking those already in ``decoded``."""
    read = dict(zip([i for i in object_ids if (i, lod) not in decoded],
                    folder.levels([i for i in object_ids if (i, lod) not in decoded], lod)))
    return [decoded[i, lod] if (i, lod) in decoded else read[i] for i in object_ids]


def mesh_surfaces(session, folder, object_ids, name, colors=None, lod=None, title=None,
                  add=True):
    """Surface models of ``object_ids`` from a MeshFolder, grouped when more than one
    (``title NAME ID`` each, ``title N surfaces`` the group); ``colors`` indexed by id
    (rgba uint8), else ChimeraX's default.  Added to the session unless ``add`` is
    false.  Returns (top-level models, surfaces, lod)."""
    missing = [i for i in object_ids if not folder.has(i)]
    if missing:
        raise InputError('%s has no mesh of %s %s' % (folder.path, name,
                                                      ','.join(map(str, missing[:10]))))
    decoded = {}
    if lod is None:
        lod = choose_lod(folder, object_ids, compat.triangle_budget(session), decoded=decoded)
    levels = _levels(folder, object_ids, lod, decoded)
    tops, surfaces = surface_models(session, object_ids, levels, name, colors, title, add)
    triangles = sum(len(s.triangles) for s in surfaces)
    session.logger.info('Created %d surfaces from meshes in %s, %d triangles, level of'
                        ' detail %d' % (len(surfaces), folder.path, triangles, lod))
    return tops, surfaces, lod


def surface_models(session, object_ids, levels, name, colors=None, title=None, add=True):
    """(top-level models, surfaces): one surface model per object of ``object_ids``
    from its (vertices, triangles) in ``levels``, as ``mesh_surfaces`` describes (the
    part after reading; bench meshshow times it alone)."""
    from chimerax.core.models import Model, Surface
    from chimerax.surface import calculate_vertex_normals
    surfaces = []
    for object_id, (vertices, triangles) in zip(object_ids, levels):
        s = Surface(' '.join(t for t in (title, name, str(object_id)) if t), session)
        s.clip_cap = True
        normals = calculate_vertex_normals(vertices, triangles)
        s.set_geometry(vertices, normals, triangles)
        compat.set_geometry_bounds(s)
        if colors is not None:
            s.color = colors[object_id]
        surfaces.append(s)
    tops = surfaces
    if len(surfaces) > 1:
        group_name = '%s %d surfaces' % (title or name, len(surfaces))
        if add:
            session.models.add_group(surfaces, name=group_name)
            tops = [surfaces[0].parent]
        else:
            tops = [Model(group_name, session)]
            tops[0].add(surfaces)
    elif surfaces and add:
        session.models.add(surfaces)
    return tops, surfaces


def id_colors(object_ids):
    """A colour per object of any dataset (ids up to 2**64): random, from the id."""
    return {i: np.append(np.random.default_rng(i).integers(50, 255, 3), 255).astype(np.uint8)
            for i in object_ids}


def open_mesh_folder(session, path, ids=None, lod=None):
    """``open PATH format precomputedmesh``: surfaces of the objects ``ids`` (all when
    None) of any multi-resolution mesh folder.  Returns (models, status line)."""
    folder = MeshFolder(path)
    object_ids = folder.ids() if ids is None else list(ids)
    if not object_ids:
        raise InputError('%s has no object meshes (no ID.index files)' % path)
    tops, surfaces, lod = mesh_surfaces(session, folder, object_ids, '', id_colors(object_ids),
                                        lod, title=os.path.basename(os.path.normpath(path)),
                                        add=False)
    return tops, 'Opened %d meshes from %s at level of detail %d' % (len(surfaces), path, lod)


def each_colors(name, values):
    """Colours (uint8 rgba rows, indexed by object id) as ``segmentation surfaces ...
    each NAME`` gives the objects of ``values``, the class's per-region array."""
    return compat.random_colors(int(values.max()) + 1, name)


def surfaces_from_meshes(session, seg, name, ranges, each, color, lod):
    """The surfaces of a class's objects from its meshes, one per object (``each``: in
    the colours ChimeraX's ``segmentation surfaces ... each`` gives; else ``color``) of
    those in ``ranges`` or all, or (neither) one surface of all in ``color``; None when
    there are no meshes of all of them."""
    from chimerax.core.colors import Color
    folder = mesh_folder(seg, name)
    if folder is None:
        return None
    values = class_values(seg, name)
    present = np.unique(values[values > 0])
    if ranges is not None:
        present = present[np.any([(present >= a) & (present <= b) for a, b in ranges], 0)]
    if not present.size:
        return None
    missing = np.setdiff1d(present, folder.ids())
    if missing.size:
        session.logger.info('%s has no mesh of %d of the %s drawn (%s...): their surfaces'
                            ' are marched from the voxels' % (folder.path, missing.size,
                                                              name, missing[0]))
        return None
    rgba = (each_colors(name, values) if each else
            {int(i): Color(color).uint8x4() for i in present})
    if each or ranges is not None:
        return mesh_surfaces(session, folder, [int(i) for i in present], name, rgba, lod,
                             title=seg.name)[1]
    return [merged_surface(session, folder, [int(i) for i in present], name,
                           Color(color).uint8x4(), lod, seg.name)]


def merged_surface(session, folder, object_ids, name, rgba, lod, title):
    """One surface model of all ``object_ids`` in one colour, as ``segmentation surfaces
    ... where CLASS`` makes one per class (``title N CLASSs``), added to the session."""
    from chimerax.core.models import Surface
    from chimerax.surface import calculate_vertex_normals
    decoded = {}
    if lod is None:
        lod = choose_lod(folder, object_ids, compat.triangle_budget(session), decoded=decoded)
    vertices, triangles, count = [], [], 0
    for v, t in _levels(folder, object_ids, lod, decoded):
        vertices.append(v)
        triangles.append(t + count)
        count += len(v)
    v, t = np.concatenate(vertices), np.concatenate(triangles).astype(np.int32)
    s = Surface('%s %d %ss' % (title, len(object_ids), name), session)
    s.clip_cap = True
    s.set_geometry(v, calculate_vertex_normals(v, t), t)
    compat.set_geometry_bounds(s)
    s.color = rgba
    session.models.add([s])
    session.logger.info('Created 1 surface of %d objects from meshes in %s, %d triangles,'
                        ' level of detail %d' % (len(object_ids), folder.path, len(t), lod))
    return s
