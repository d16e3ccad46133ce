"""The last table ``connectome table`` made in a session, with what the panel needs to
show it and act on its rows: the segmentation as the command named it (to run
``connectome show`` for a row's object) and the command itself (to run it again with
``save FILE``).  A trigger tells the panel a new table is there.
"""

from typing import NamedTuple

TABLE_TRIGGER = 'connectome table'


class ShownTable(NamedTuple):
    """A table (pipeline/tables.py Table), the segmentation's text in the command
    (#2 or a quoted path) and the command that made it, without save."""
    table: object
    segmentation: str
    command: str


def remember_table(session, shown):
    """Keep ``shown`` as the session's last table and tell whoever listens."""
    session._connectome_last_table = shown
    triggers = session.triggers
    if not triggers.has_trigger(TABLE_TRIGGER):
        triggers.add_trigger(TABLE_TRIGGER)
    triggers.activate_trigger(TABLE_TRIGGER, shown)


def last_table(session):
    """The session's last ShownTable, or None (also when the segmentation model it named
    is closed since: a new session)."""
    shown = getattr(session, '_connectome_last_table', None)
    if shown is not None and shown.segmentation.startswith('#'):
        if shown.segmentation not in [m.atomspec for m in session.models.list()]:
            return None
    return shown


def on_table(session, callback):
    """Call ``callback(shown)`` after each new table; returns the handler to remove."""
    triggers = session.triggers
    if not triggers.has_trigger(TABLE_TRIGGER):
        triggers.add_trigger(TABLE_TRIGGER)
    return triggers.add_handler(TABLE_TRIGGER, lambda name, shown: callback(shown))
