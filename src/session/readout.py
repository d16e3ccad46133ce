"""Readout under the mouse: hovering over a map plane or a segmentation surface shows,
in the status line, the region id and each class's object id there
(``region 812345  axon 1203  dendrite 0  spinehead 0``), like neuroglancer.  Through a
3-D image there is no one point under the mouse, so only single planes report.

ChimeraX's "identify object" mouse mode, bound to the mouse pause in the graphics
window, picks the object under a paused mouse and fires the session's "mouse hover"
trigger with the pick (mouse_modes/std_modes.py); the atomic bundle adds its chain
readout the same way.  The trigger only exists when there is a graphics window, so
``enable_readout`` does nothing without one.  ``readout_at_window`` does what a hover
at window pixel x,y (from the top left) would, for tests and scripts.  ``objects_at``
is the lookup behind both and behind ``connectome at``: one voxel of the full-resolution
segmentation and one entry of each class's attribute array.
"""

from dataclasses import dataclass

from ..pipeline import classes as pure
from .classes import (attribute_info, category_attributes, class_values, number_attributes,
                      number_values, segmentation_classes)
from .maps import open_volumes
from .storegrid import original_ids

HOVER_TRIGGER = 'mouse hover'


def enable_readout(session):
    """Show the readout on mouse hover from now on (once per session)."""
    if readout_enabled(session):
        return
    if not session.triggers.has_trigger(HOVER_TRIGGER):
        return

    def hover(trigger_name, pick, session=session):
        readout_for_pick(session, pick)
    session._connectome_hover_handler = session.triggers.add_handler(HOVER_TRIGGER, hover)


def readout_enabled(session):
    """Whether the readout shows on mouse hover (enable_readout ran in this session)."""
    return getattr(session, '_connectome_hover_handler', None) is not None


def readout_at_window(session, x, y):
    """Pick at window pixel x,y as a hover does and show the readout; return its text."""
    return readout_for_pick(session, session.main_view.picked_object(x, y))


def readout_for_pick(session, pick):
    """Show the readout for a pick in the status line; return the text (None when the
    pick is not on a map or surface over a segmentation with object classes)."""
    xyz = getattr(pick, 'position', None)
    if xyz is None:
        return None
    seg = _segmentation_under(session, pick, xyz)
    if seg is None:
        return None
    from chimerax.map import PickedMap
    if isinstance(pick, PickedMap) and not hasattr(pick, 'triangle_pick'):
        # An image: only a single plane has one point under the mouse (ChimeraX's own
        # voxel report in Volume.first_intercept has the same condition).
        v = pick.map
        if not (v.rendering_options.image_mode == 'full region' and v.single_plane()):
            return None
    else:
        # A surface lies between the voxels inside and outside its object; half a voxel
        # further along the line of sight is inside.
        direction = session.main_view.camera.view_direction()
        xyz = xyz + 0.5 * min(seg.data.step) * direction
    found = objects_at(seg, xyz)
    if found is None:
        return None
    text = readout_line(seg, found)
    session.logger.status(text)
    return text


def _segmentation_under(session, pick, xyz):
    """The segmentation to read: the picked map if it is one, else the segmentation the
    panel would pair with the picked map, else the one whose grid holds the point."""
    from chimerax.map import PickedMap
    with_classes = [v for v in open_volumes(session) if segmentation_classes(v)]
    if isinstance(pick, PickedMap):
        v = pick.map
        if v in with_classes:
            return v
        same_grid = [s for s in with_classes if tuple(s.data.size) == tuple(v.data.size)]
        return pure.choose_segmentation(same_grid)
    holding = [s for s in with_classes if _holds(s, xyz)]
    return pure.choose_segmentation(holding)


def _holds(seg, xyz):
    ijk = seg.data.xyz_to_ijk(seg.scene_position.inverse() * xyz)
    return all(-0.5 <= c <= n - 0.5 for c, n in zip(ijk, seg.data.size))


def properties_at(seg, region):
    """{attribute: text}: the region's category names and numbers (axonclass
    inhibitory, spineheadvolume 0.0123)."""
    info = attribute_info(seg)
    values = {}
    for name in category_attributes(seg):
        values[name] = class_values(seg, name)
    for name in number_attributes(seg):
        values[name] = number_values(seg, name)
    return pure.property_texts(region, values, info)


@dataclass(frozen=True)
class ObjectsAt:
    """What is at a point of a segmentation: the region id (as the user knows it),
    {class: object id}, and ``value``, the map's voxel value there (the region id, or
    its compact value in a store read through an id map: what attribute arrays are
    indexed by)."""
    region: int
    ids: dict
    value: int = None

    def as_dict(self):
        """{'region': id, class: object id, ...}: what ``connectome at`` returns."""
        return dict({'region': self.region}, **self.ids)


def readout_line(seg, found):
    """``region 812345  axon 1203 ...`` then the region's categories and numbers."""
    value = found.region if found.value is None else found.value
    return pure.readout_text(found.region, found.ids, properties_at(seg, value))


def objects_at(seg, scene_xyz):
    """The ObjectsAt a scene point, or None outside the segmentation's grid.  The voxel
    nearest the point decides."""
    ijk = seg.data.xyz_to_ijk(seg.scene_position.inverse() * scene_xyz)
    ijk = tuple(int(round(float(c))) for c in ijk)
    if any(c < 0 or c >= n for c, n in zip(ijk, seg.data.size)):
        return None
    value = int(seg.data.matrix(ijk, (1, 1, 1))[0, 0, 0])
    arrays = {name: class_values(seg, name) for name in segmentation_classes(seg)}
    return ObjectsAt(int(original_ids(seg.data, value)), pure.object_ids(arrays, value),
                     value)
