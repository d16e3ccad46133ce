"""This bundle's volumes in ChimeraX sessions.

ChimeraX saves a volume as its path and file type and, on restore, opens it again
through its own table of map file types (chimerax.map/session.py), which knows no store
or tile set: the restore stopped at the first one and every model was lost.
``register_reopeners`` adds the store formats and tiles to that table
(session/compat.py), run at ChimeraX's start (BundleAPI.initialize), so a session saved
with a store or tile set reopens them where they lie (session/storegrid.py
reopen_store, session/tilegrid.py reopen_tiles).  A volume opened with options a
session does not keep has the file type reopening.NOT_REOPENED: saving warns, and
restoring names it and brings the other models back.

ChimeraX runs ``register_reopeners`` at every start, so this module imports only what
is light; the readers are imported when a session is saved or restored.
"""

from ..formats.stores.location import FORMATS
from . import compat
from .reopening import NOT_REOPENED, not_reopened


def register_reopeners(session):
    """Let ChimeraX's session restore reopen stores and tile sets (the table is the
    process's: once), and warn when a session saved holds a volume it will not reopen."""
    for format in FORMATS:
        compat.register_map_file_type(format, '%s store (ChimeraX-Connectome)' % format,
                                      _store_reopener(format))
    compat.register_map_file_type('tiles', 'HDF5 tile set (ChimeraX-Connectome)',
                                  _reopen_tiles)
    compat.register_map_file_type(NOT_REOPENED, 'not reopened (ChimeraX-Connectome)',
                                  _refuse)
    session.triggers.add_handler('begin save session', _warn_not_reopened)


# ChimeraX passes ``log`` to an open function that names it (map_data open_file).

def _store_reopener(format):
    # The readers are imported when a session is restored, not at ChimeraX's start.
    def reopen(path, log=None):
        from .storegrid import reopen_store
        return reopen_store(path, format, log)
    return reopen


def _reopen_tiles(path, log=None):
    from .tilegrid import reopen_tiles
    return reopen_tiles(path, log)


def _refuse(path, log=None):
    raise not_reopened('%s was opened with options a ChimeraX session does not keep; open'
                       ' it again as it was opened' % path, log)


def _warn_not_reopened(trigger_name, session):
    from chimerax.map import Volume
    missed = [v for v in session.models.list(type=Volume)
              if v.data.file_type == NOT_REOPENED]
    if missed:
        session.logger.warning(
            'This session will not reopen %s: opened with options a session does not keep'
            ' (a store\'s channel or attributesFile, a tile set\'s open options other than'
            ' the defaults); open %s again after restoring it'
            % (', '.join('#%s (%s)' % (v.id_string, v.data.path) for v in missed),
               'it' if len(missed) == 1 else 'them'))
