"""Many points and lines in the scene, made fast: ChimeraX marker sets built in bulk
(synapses, skeleton nodes and links, saved by ``save FILE.cmm``), and for counts where
markers are too slow one instanced model of spheres (every synapse of the dataset) or
of tubes (thousands of skeletons).

A ChimeraX marker is an atom of a MarkerSet (a Structure) in its own residue, whose
number is the marker's id in .cmm files. ``MarkerSet.create_marker`` looks up the
residue numbers every time; making the atoms and residues here and setting coordinates,
colours and radii for all at once is several times faster, yet a dataset's every synapse
as markers still takes seconds and most of a gigabyte (docs/performance.md). The
instanced models take a fraction of either: one sphere (or cylinder) drawn once per
instance, with as many triangles per sphere as ChimeraX gives the atoms of a structure
that size (its level of detail, which ``graphics quality`` sets), so both draw about 5
million triangles.  The instanced models are plain Surfaces that save their geometry,
instances and colours in ChimeraX sessions (SESSION_SAVE_DRAWING), so a session restores
them without this bundle.
"""

import math

import numpy as np
from chimerax.core.commands import Annotation, AnnotationError, FloatArg

from . import compat

# Beyond this many markers, one instanced model instead of a marker set.
MARKER_LIMIT = 100_000


class RadiusArg(Annotation):
    """A marker or tube radius: a positive, finite number.  ChimeraX's PositiveFloatArg
    lets nan and inf through, and the atoms' radii refuse 0 with a traceback."""
    name = 'a radius (a number > 0)'

    @staticmethod
    def parse(text, session):
        value, used, rest = FloatArg.parse(text, session)
        if not (math.isfinite(value) and value > 0):
            raise AnnotationError('the radius must be a positive number, not %s' % used)
        return value, used, rest


def marker_set(session, name, xyz, rgba, radii, ids=None, links=None, link_rgba=None,
               link_radii=None):
    """A MarkerSet (not yet added to the session) with one marker per row of ``xyz``
    (scene coordinates), ``rgba`` (n x 4 uint8), ``radii`` (n), marker ids ``ids``
    (default 1..n), and ``links`` ((m, 2) 0-based marker indices) with their colours
    and radii."""
    from chimerax.atomic import Atoms, Bonds, Element
    from chimerax.markers import MarkerSet
    xyz = np.asarray(xyz, np.float64).reshape(-1, 3)
    n = len(xyz)
    ids = np.arange(1, n + 1) if ids is None else np.asarray(ids)
    ms = MarkerSet(session, name)
    element = Element.get_element('H')      # what create_marker gives markers
    new_atom, new_residue = ms.new_atom, ms.new_residue
    members = []
    for k in ids.tolist():
        a = new_atom('M', element)
        new_residue('mark', 'M', int(k)).add_atom(a)
        members.append(a)
    atoms = Atoms(members)
    atoms.coords = xyz
    atoms.colors = _rgba(rgba, n)
    atoms.radii = np.broadcast_to(np.asarray(radii, np.float32), (n,)).copy()
    # Ball style, as create_marker sets: sphere style would hide the links.
    atoms.draw_modes = np.full(n, atoms.BALL_STYLE, np.uint8)
    atoms.serial_numbers = ids.astype(np.int32)
    if links is not None and len(links):
        links = np.asarray(links, np.int64).reshape(-1, 2)
        new_bond = ms.new_bond
        bonds = Bonds([new_bond(members[i], members[j]) for i, j in links.tolist()])
        bonds.colors = _rgba(link_rgba if link_rgba is not None else (255, 255, 0, 255),
                             len(bonds))
        bonds.radii = np.broadcast_to(np.asarray(
            link_radii if link_radii is not None else 1.0, np.float32), (len(bonds),)).copy()
        bonds.halfbonds = np.zeros(len(bonds), bool)
    return ms


def _rgba(rgba, n):
    rgba = np.asarray(rgba, np.uint8)
    return np.ascontiguousarray(np.broadcast_to(rgba.reshape(-1, 4) if rgba.ndim > 1
                                                else rgba, (n, 4)))


def sphere_instances(session, name, xyz, rgba, radii):
    """One model drawing a sphere at each row of ``xyz`` (scene coordinates) with its
    colour and radius: the same sphere geometry, drawn once per instance."""
    from chimerax.core.models import Surface
    from chimerax.geometry import Places
    from chimerax.surface import sphere_geometry2
    xyz = np.asarray(xyz, np.float32).reshape(-1, 3)
    n = len(xyz)
    model = Surface(name, session)
    va, na, ta = sphere_geometry2(compat.atom_sphere_triangles(session, n))
    model.set_geometry(va, na, ta)
    shift_and_scale = np.empty((n, 4), np.float32)
    shift_and_scale[:, :3] = xyz
    shift_and_scale[:, 3] = np.broadcast_to(np.asarray(radii, np.float32), (n,))
    model.positions = Places(shift_and_scale=shift_and_scale)
    model.colors = _rgba(rgba, n)
    model.SESSION_SAVE_DRAWING = True
    return model


def tube_instances(session, name, start, end, rgba, radius):
    """One model drawing a tube (an open cylinder) from each row of ``start`` to the same
    row of ``end`` (scene coordinates), with its colour; ``radius`` one or per tube."""
    from chimerax.core.models import Surface
    from chimerax.geometry import Places, cylinder_rotations
    from chimerax.surface import cylinder_geometry
    start = np.ascontiguousarray(start, np.float32).reshape(-1, 3)
    end = np.ascontiguousarray(end, np.float32).reshape(-1, 3)
    n = len(start)
    radii = np.ascontiguousarray(np.broadcast_to(np.asarray(radius, np.float32), (n,)))
    model = Surface(name, session)
    va, na, ta = cylinder_geometry(nc=8, nz=2, caps=False)
    model.set_geometry(va, na, ta)
    rot44 = np.empty((n, 4, 4), np.float32)
    cylinder_rotations(start, end, radii, rot44)
    rot44[:, 3, :3] = 0.5 * (start + end)
    model.positions = Places(opengl_array=rot44)
    model.colors = _rgba(rgba, n)
    model.SESSION_SAVE_DRAWING = True
    return model
