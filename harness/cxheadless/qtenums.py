"""Give PyQt6 the unscoped enum names ChimeraX's code uses (``Qt.AlignCenter``), and
the ``Qt`` module the helpers of ChimeraX's shim that its code calls.

ChimeraX ships its own ``Qt`` shim that, under PyQt6, copies every enum member onto its
enclosing class (``Qt.AlignmentFlag.AlignCenter`` also as ``Qt.AlignCenter``); PyPI's
Qt.py does not, and ChimeraX modules such as open_command/dialog.py fail to import
without it.  Our own code uses the scoped names, which work either way.  The shim also
defines ``qt_image_bytes`` and ``qt_object_is_deleted`` (its PyQt6 branch, RBVI/ChimeraX
Qt/__init__.py); graphics/drawing.py's ``qimage_to_numpy`` needs the first to turn text
drawn by Qt into textures (2D labels, the colour key).
"""

import enum


def promote_enums():
    try:
        from PyQt6 import QtCore, QtGui, QtWidgets
    except ImportError:
        return False
    add_shim_helpers()
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


def add_shim_helpers():
    try:
        import Qt
    except ImportError:
        return
    if not hasattr(Qt, 'qt_image_bytes'):
        Qt.qt_image_bytes = lambda qimage: qimage.bits().asstring(qimage.sizeInBytes())
    if not hasattr(Qt, 'qt_object_is_deleted'):
        def qt_object_is_deleted(obj):
            from PyQt6 import sip
            return sip.isdeleted(obj)
        Qt.qt_object_is_deleted = qt_object_is_deleted
