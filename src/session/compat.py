"""Every use of a ChimeraX internal, in one place.

These are names ChimeraX 1.7.1 has but does not document as API; each function says what
it relies on, and tests/chimerax/test_compat.py checks each assumption against the real
code, so an upgrade that breaks one fails there first.  The pure folders use no library
internals (h5py 3.11 and later lock direct chunk reads and writes themselves, and .npy
headers are read through numpy's public functions).
"""

import numpy as np


def attribute_values(segmentation, name):
    """The per-region array ``name`` exactly as ``segmentation colors ... byAttribute``
    reads it: a numpy array set on the model first, else the file's array of that name
    (chimerax.segment.segment._attribute_values).  LookupError if the file has two."""
    from chimerax.segment.segment import _attribute_values
    return _attribute_values(segmentation, name)


def has_segmentation_colors(volume):
    """Whether a map is coloured by ``segmentation colors ... map``: its mask colours are
    then a chimerax.segment.segment.SegmentationMapColor."""
    from chimerax.segment.segment import SegmentationMapColor
    return isinstance(volume.mask_colors, SegmentationMapColor)


def forget_attribute_colors(segmentation, name):
    """Drop the colours ChimeraX cached for attribute ``name`` of a segmentation model
    (the model dict ``_segment_attribute_colors``), so new values get new colours."""
    colors = getattr(segmentation, '_segment_attribute_colors', None)
    if isinstance(colors, dict):
        colors.pop(name, None)


def set_maximum_region_id(segmentation, maximum):
    """Tell ChimeraX's segmentation code the largest region id of a model (the model
    attribute ``_max_segment_id``), which it otherwise finds by reading the whole
    full-resolution volume.  A value ChimeraX already has is kept."""
    if not hasattr(segmentation, '_max_segment_id'):
        segmentation._max_segment_id = maximum


def set_segmentation_colors(volume, segmentation, rgba):
    """Colour an EM map by per-region colours (``rgba``: uint8, one row per region id)
    the way ``segmentation colors ... map`` does: its mask colours become a
    chimerax.segment.segment.SegmentationMapColor, which modulates every plane drawn.
    ``rgba`` None removes the colouring (ChimeraX has no command for it): a map whose
    mask colours are None draws its own colours again.  The one place a map's mask
    colours are assigned."""
    if rgba is None:
        colors = None
    else:
        colors = _covering_map_color()(segmentation, rgba)
    volume.mask_colors = colors


_COVERING = []


def _covering_map_color():
    """ChimeraX's SegmentationMapColor, drawing a region value past the end of its
    table uncoloured (white, as region 0), where ChimeraX's indices_to_colors reads
    past the table (garbage colours): a store read through an id map gives values to
    ids as its chunks are read, after the table was made (formats/stores/idmap.py)."""
    if not _COVERING:
        from chimerax.map import indices_to_colors
        from chimerax.segment.segment import SegmentationMapColor

        class CoveringMapColor(SegmentationMapColor):
            def __call__(self, color_plane, region):
                ids = self._segmentation.region_matrix(region).reshape(
                    color_plane.shape[:-1])
                rgba, rgb = self._segment_rgba, self._segment_rgb
                top = int(ids.max()) if ids.size else 0
                if top >= len(rgba):
                    rgba = np.full((top + 1, 4), 255, np.uint8)
                    rgba[:len(self._segment_rgba)] = self._segment_rgba
                    rgb = rgba[:, :3].copy()
                colors = rgba if color_plane.shape[-1] == 4 else rgb
                indices_to_colors(ids, colors, color_plane, modulate=True)
        _COVERING.append(CoveringMapColor)
    return _COVERING[0]


def segmentation_rgba(volume):
    """The per-region colours a map is coloured by (SegmentationMapColor._segment_rgba),
    or None."""
    colors = volume.mask_colors
    return getattr(colors, '_segment_rgba', None) if has_segmentation_colors(volume) else None


def coloring_segmentation(volume):
    """The segmentation model whose regions a map is coloured by
    (SegmentationMapColor._segmentation), or None."""
    return volume.mask_colors._segmentation if has_segmentation_colors(volume) else None


def random_colors(count, seed):
    """``count`` colours (uint8 rows) as ChimeraX's ``segmentation surfaces ... each
    NAME`` gives objects 0..count-1 (chimerax.segment.segment._random_colors, seeded by
    the attribute name), so a skeleton takes the colour of its object's surface."""
    from chimerax.segment.segment import _random_colors
    return _random_colors(count, seed=seed)


def atom_sphere_triangles(session, count):
    """Triangles per sphere ChimeraX draws the atoms of a structure of ``count`` atoms
    with: its level of detail (chimerax.atomic.structure.level_of_detail, which
    ``graphics quality`` sets; about 5 million triangles in all), so instanced spheres
    cost what as many markers would."""
    from chimerax.atomic.structure import level_of_detail
    return level_of_detail(session).atom_sphere_triangles(count)


def register_map_file_type(name, description, open_function):
    """Let ChimeraX's map code open volumes of file type ``name`` with
    ``open_function(path) -> [GridData]`` (an OSError when it cannot): an entry of
    chimerax.map_data.fileformats.file_formats, the table a session restore looks each
    volume's ``file_type`` up in (map/session.py open_data), whose MapFileFormat finds its
    open function as a module of chimerax.map_data.  No suffixes or prefixes, so opening
    files is unchanged; a type ChimeraX already knows is left as it is."""
    from chimerax.map_data import fileformats
    if any(f.name == name for f in fileformats.file_formats):
        return

    class _Reopened(fileformats.MapFileFormat):
        @property
        def open_func(self):
            return open_function
    fileformats.file_formats.append(_Reopened(description, name, [], [],
                                              allow_directory=True, check_path=False))


def wrap_map_opener(name, wrap):
    """Let ``wrap(open_function)`` stand in for the open function of ChimeraX's map file
    type ``name`` (an entry of chimerax.map_data.fileformats.file_formats, whose
    MapFileFormat.open_func imports the reader module named like the type; map_data
    open_file looks the entry up at every open and passes ``log`` to a function whose
    arguments name it).  Suffixes, prefixes and saving are the entry's own.  Once per
    process: an entry already wrapped is left as it is."""
    from chimerax.map_data import fileformats
    for index, entry in enumerate(fileformats.file_formats):
        if entry.name == name and not getattr(entry, 'connectome_wrapped', False):
            fileformats.file_formats[index] = _wrapped_format(entry, wrap)


def _wrapped_format(entry, wrap):
    # A function of its own, so each wrapper keeps its own entry.
    class _Wrapped(type(entry)):
        connectome_wrapped = True

        @property
        def open_func(self):
            return wrap(entry.open_func)
    wrapped = _Wrapped.__new__(_Wrapped)
    wrapped.__dict__.update(vars(entry))
    return wrapped


def triangle_budget(session):
    """The triangles ChimeraX allows what it draws of many objects: the total
    ``graphics quality totalAtomTriangles`` sets (chimerax.atomic.structure.level_of_detail
    ``total_atom_triangles``, 5 million unless changed); surfaces from meshes use it to
    pick their level of detail."""
    from chimerax.atomic.structure import level_of_detail
    return int(level_of_detail(session).total_atom_triangles)


def set_geometry_bounds(drawing):
    """Give a drawing whose geometry was just set its bounds, computed by ChimeraX's C++
    ``chimerax.geometry.point_bounds`` (API), in the cache ``Drawing.geometry_bounds``
    fills (``_cached_geometry_bounds``; setting vertices or the triangle mask clears it):
    the same Bounds ``geometry_bounds`` computes with numpy's min and max over axis 0,
    which is far slower on many vertices (ChimeraX asks for them when models are added,
    to frame the view).  Only for a drawing with no triangle mask."""
    from chimerax.geometry import point_bounds
    if drawing.vertices is not None and len(drawing.vertices):
        drawing._cached_geometry_bounds = point_bounds(drawing.vertices)
