"""The one exception the pure modules raise for bad input.

Pure modules cannot import ChimeraX, so they raise InputError with a message that names
the file and the problem; the command functions turn it into ChimeraX's UserError, prefixed
with the command name (``connectome combine: tile x2y1z1.hdf5 is uint16, the others uint32``).
"""


class InputError(Exception):
    """Bad input a user can act on.  str(error) is the whole message."""

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


class Cancelled(Exception):
    """Long work stopped at the user's request (Ctrl-C), at a point where it could stop
    cleanly: whatever it was writing has been removed."""
