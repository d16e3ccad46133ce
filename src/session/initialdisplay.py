"""How a map this bundle wrote looks when it is opened: never an isosurface of its values.

ChimeraX shows a new map as a threshold surface unless its grid says otherwise (the
GridData attributes ``initial_plane_display`` and ``show_on_open`` its own readers set,
read once by chimerax.map open_grids).  A threshold surface of region ids is a block of
white cubes that buries every object surface, and an EM map in surface style refuses the
image levels (``volume #1 level 95,0 level 120,0.9 level 234,1``).  So:

- an image (EM) opens as one plane in image style, the middle z plane, as ChimeraX opens
  an image too large to show whole;
- a segmentation opens hidden, set to that plane in image style for ``volume #N show``;
  its objects are what is looked at (``segmentation surfaces``, ``connectome color``).

The rule applies to Chimera maps carrying the marker combine writes (formats/cmap.py
CONTENT_ATTRIBUTE) and to stores (commands/openstore.py), whatever opens them (``open``,
``connectome combine``); other maps open as ChimeraX decides.  ``register_initial_display``
runs at ChimeraX's start (BundleAPI.initialize), so this module imports only what is
light; the marker is read when a Chimera map is opened.  The same wrap gives such a map's
levels the bundle's plane reading (session/slabreads.py), so a slicing movie
decompresses each chunk once.
"""

import sys
import traceback

from . import compat
from .slabreads import add_slab_reads


def register_initial_display():
    """Make ChimeraX's Chimera map reader apply the rule (the reader table is the
    process's: once)."""
    compat.wrap_map_opener('cmap', _opener_with_initial_display)


def set_initial_display(grid, segmentation):
    """Set a GridData's initial display before ChimeraX makes its volume: a segmentation
    (True) hidden, an image (False) as a plane; None (not known) leaves it as ChimeraX
    decides."""
    if segmentation is None:
        return
    grid.initial_plane_display = True
    grid.connectome_initial_display = True      # sessions keep its style (sessionstate)
    if segmentation:
        grid.show_on_open = False


def _opener_with_initial_display(open_function):
    def open(path, log=None):
        grids = open_function(path)
        try:
            # Lazy: formats/cmap.py imports h5py and Blosc, not wanted at ChimeraX's start.
            from ..formats import cmap
            content = cmap.read_content(path)
            if content is not None:
                for grid in _flat(grids):
                    set_initial_display(grid, content == cmap.SEGMENTATION)
                add_slab_reads(grids, path)
        except Exception:
            # The map opens as ChimeraX would show it; the reason is logged, not lost.
            message = ('ChimeraX-Connectome could not set how %s is shown:\n%s'
                       % (path, traceback.format_exc()))
            if log is not None:
                log.warning(message)
            else:
                sys.stderr.write(message)
        return grids
    return open


def _flat(grids):
    # A reader returns grids, or lists of them for channels and series.
    for g in grids:
        if isinstance(g, (list, tuple)):
            yield from _flat(g)
        else:
            yield g
