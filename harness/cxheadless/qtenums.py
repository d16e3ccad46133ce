"""Give PyQt6 the unscoped enum names ChimeraX's code uses (``Qt.AlignCenter``).

ChimeraX ships its own ``Qt`` shim that, under PyQt6, copies every enum member onto its
enclosing class (``Qt.AlignmentFlag.AlignCenter`` also as ``Qt.AlignCenter``); PyPI's
Qt.py does not, and ChimeraX modules such as open_command/dialog.py fail to import
without it.  Our own code uses the scoped names, which work either way.
"""

import enum


def promote_enums():
    try:
        from PyQt6 import QtCore, QtGui, QtWidgets
    except ImportError:
        return False
    for module in (QtCore, QtGui, QtWidgets):
        for cls in vars(module).values():
            if isinstance(cls, type):
                _promote_class(cls)
    return True


def _promote_class(cls):
    for name, value in list(vars(cls).items()):
        if isinstance(value, type) and issubclass(value, enum.Enum):
            # __members__ includes aliases such as AlignCenter, which iteration skips.
            for member_name, member in value.__members__.items():
                if not hasattr(cls, member_name):
                    try:
                        setattr(cls, member_name, member)
                    except (AttributeError, TypeError):
                        pass
