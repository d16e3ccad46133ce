"""What the volumes of this bundle record for a session restore that cannot reopen them,
shared by the grids (session/storegrid.py, session/tilegrid.py) and the session code
that registers their reopening (session/sessions.py): the file type of a volume opened
with options a session does not keep, and the warning of one not reopened.
"""

NOT_REOPENED = 'connectome-not-reopened'     # the file type of a volume not reopened


def not_reopened(message, log):
    """The OSError a session restore gets for a volume it cannot reopen, warned of in
    ``log`` first (ChimeraX only prints it); the other models are restored."""
    if log is not None:
        log.warning('Session restore: %s; the other models are restored' % message)
    return OSError(message)
