"""This bundle's volumes in ChimeraX sessions.

ChimeraX saves a volume as its path and file type and, on restore, opens it again
through its own table of map file types (chimerax.map/session.py), which knows no store
or tile set: the restore stopped at the first one and every model was lost.
``register_reopeners`` adds the store formats and tiles to that table
(session/compat.py), run at ChimeraX's start (BundleAPI.initialize), so a session saved
with a store or tile set reopens them where they lie (session/storegrid.py
reopen_store, session/tilegrid.py reopen_tiles); one that cannot be reopened is logged
by ChimeraX and the other models still come back.
"""

from ..formats.stores import FORMATS
from . import compat
from .storegrid import reopen_store
from .tilegrid import reopen_tiles


def register_reopeners():
    """Let ChimeraX's session restore reopen stores and tile sets (once per process)."""
    for format in FORMATS:
        compat.register_map_file_type(format, '%s store (ChimeraX-Connectome)' % format,
                                      _store_reopener(format))
    compat.register_map_file_type('tiles', 'HDF5 tile set (ChimeraX-Connectome)',
                                  reopen_tiles)


def _store_reopener(format):
    # ChimeraX passes ``log`` to an open function that names it (map_data open_file).
    def reopen(path, log=None):
        return reopen_store(path, format, log)
    return reopen
