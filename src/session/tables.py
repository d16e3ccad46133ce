"""The last table ``connectome table`` made in a session, with what the panel needs to
show it and act on its rows: the segmentation as the command named it (to run
``connectome show`` for a row's object) and the command itself (to run it again with
``save FILE``).  A trigger tells the panel a new table is there, or that the table is
gone (its segmentation model closed: the table would name another model by its id).
"""

from typing import NamedTuple

TABLE_TRIGGER = 'connectome table'


class ShownTable(NamedTuple):
    """A table (pipeline/tables.py Table), the segmentation's text in the command
    (#2 or a quoted path) and the command that made it, without save."""
    table: object
    segmentation: str
    command: str


def _trigger(session):
    triggers = session.triggers
    if not triggers.has_trigger(TABLE_TRIGGER):
        triggers.add_trigger(TABLE_TRIGGER)
        from chimerax.core.models import REMOVE_MODELS

        def removed(name, models):
            if any(m in getattr(session, '_connectome_table_models', ()) for m in models):
                session._connectome_last_table = None
                session._connectome_table_models = ()
                triggers.activate_trigger(TABLE_TRIGGER, None)
        triggers.add_handler(REMOVE_MODELS, removed)
    return triggers


def remember_table(session, shown, models=()):
    """Keep ``shown`` as the session's last table, made from the open segmentation
    ``models`` (forgotten when they close), and tell whoever listens."""
    triggers = _trigger(session)
    session._connectome_last_table = shown
    session._connectome_table_models = tuple(models)
    triggers.activate_trigger(TABLE_TRIGGER, shown)


def last_table(session):
    """The session's last ShownTable while the segmentation models it was made from are
    open, or None (a table of a .cmap path, made with no model open, is shown where it
    is made only: after ``close session`` it would be a stale one)."""
    models = getattr(session, '_connectome_table_models', ())
    if not models or any(m.deleted for m in models):
        return None
    return getattr(session, '_connectome_last_table', None)


def on_table(session, callback):
    """Call ``callback(shown)`` after each new table (None when it is gone); returns
    the handler to remove."""
    return _trigger(session).add_handler(TABLE_TRIGGER, lambda name, shown: callback(shown))
