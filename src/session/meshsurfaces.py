"""Surfaces from meshes made once (``connectome meshes``, or any neuroglancer dataset's
multi-resolution meshes), in place of surfaces marched from voxels each time.

``mesh_folder`` finds a class's mesh folder beside the segmentation's attribute file;
``mesh_surfaces`` makes one surface model per object from it, named, coloured and grouped
as ChimeraX's own ``segmentation surfaces ... each CLASS`` makes them (the colours of
chimerax.segment's random table for that attribute), at a level of detail given, else the
finest whose triangles over all the objects fit the triangle budget of ``graphics
quality`` (totalAtomTriangles).  A level's triangle count is estimated from the coarsest
level's and the fragments' byte sizes, so only the level drawn is decoded.
"""

import os

from ..errors import InputError
from ..formats.meshes import MeshFolder, is_mesh_folder
from ..pipeline.meshing import default_output
from . import compat
from .classes import attribute_file_of


def mesh_folder(segmentation, class_name):
    """The MeshFolder of a class of an open segmentation model, or None."""
    found = attribute_file_of(segmentation)
    if found is None:
        return None
    path = default_output(found.path, class_name)
    return MeshFolder(path) if os.path.isdir(path) and is_mesh_folder(path) else None


def choose_lod(folder, object_ids, budget):
    """The finest level of detail whose (estimated) triangles over ``object_ids`` fit
    ``budget``; the coarsest when none does."""
    manifests = [folder.manifest(i) for i in object_ids]
    lods = min(m.num_lods for m in manifests)
    coarse = sum(len(folder.triangles(i, lods - 1)[1]) for i in object_ids)
    coarse_bytes = sum(int(m.sizes[lods - 1].sum()) for m in manifests) or 1
    for lod in range(lods):
        level_bytes = sum(int(m.sizes[lod].sum()) for m in manifests)
        if coarse * level_bytes / coarse_bytes <= budget:
            return lod
    return lods - 1


def mesh_surfaces(session, folder, object_ids, name, colors=None, lod=None, title=None):
    """Surface models of ``object_ids`` from a MeshFolder, added to the session (grouped
    when more than one); ``colors`` {id: rgba uint8}, else one colour for all.  Returns
    (surfaces, lod)."""
    from chimerax.core.models import Surface
    from chimerax.surface import calculate_vertex_normals
    missing = [i for i in object_ids if not folder.has(i)]
    if missing:
        raise InputError('%s has no mesh of %s %s' % (folder.path, name,
                                                      ','.join(map(str, missing[:10]))))
    if lod is None:
        lod = choose_lod(folder, object_ids, compat.triangle_budget(session))
    surfaces = []
    for object_id in object_ids:
        vertices, triangles = folder.triangles(object_id, min(lod,
                                                              folder.lod_count(object_id) - 1))
        s = Surface('%s %s %d' % (title, name, object_id) if title else
                    '%s %d' % (name, object_id), session)
        s.clip_cap = True
        normals = calculate_vertex_normals(vertices, triangles)
        s.set_geometry(vertices, normals, triangles)
        if colors is not None:
            s.color = colors[object_id]
        surfaces.append(s)
    if len(surfaces) > 1:
        session.models.add_group(surfaces, name='%s %d surfaces' % (title or name,
                                                                    len(surfaces)))
    elif surfaces:
        session.models.add(surfaces)
    triangles = sum(len(s.triangles) for s in surfaces)
    session.logger.info('Created %d surfaces from meshes in %s, %d triangles, level of'
                        ' detail %d' % (len(surfaces), folder.path, triangles, lod))
    return surfaces, lod


def each_colors(name, values):
    """Colours (uint8 rgba rows, indexed by object id) as ``segmentation surfaces ...
    each NAME`` gives the objects of ``values``, the class's per-region array."""
    return compat.random_colors(int(values.max()) + 1, name)
