"""The command text the Connectome panel and toolbar run: one builder per command, so
both write a command the same way and the log reads the same whichever was used.

Models left out (None) are left for the command to choose, as toolbar buttons do when
the panel is closed (session/maps.py choose_models).
"""

PANEL = 'connectome panel'


def color_command(seg, image, classes, colors=None):
    """``connectome color`` of object classes, each its colour if given (colour text)."""
    text = 'connectome color' + _models(seg, image)
    text += ' attributes %s' % ','.join(classes)
    if colors:
        text += ' colors %s' % ','.join(colors)
    return text


def color_by_command(seg, image, attribute, categories=(), key=False):
    """``connectome color`` of an attribute of categories or numbers; ``categories``
    (name, colour text) pairs."""
    text = 'connectome color %s %s' % (seg.atomspec, attribute)
    if categories:
        text += ' ' + ' '.join('%s %s' % pair for pair in categories)
    text += ' map %s' % image.atomspec
    if key:
        text += ' key true'
    return text


def uncolor_command(image=None):
    return 'connectome uncolor' + ('' if image is None else ' %s' % image.atomspec)


def surfaces_command(seg, classes=None, where=None, each=False, colors=None):
    """``connectome surfaces`` of object classes, or of the objects ``where`` picks
    (axon=12,40-45); one surface per object (``each``), else in ``colors`` if given."""
    text = 'connectome surfaces' + ('' if seg is None else ' %s' % seg.atomspec)
    if where is not None:
        text += ' where %s' % where
    else:
        text += ' attributes %s' % ','.join(classes)
    if each:
        text += ' each true'
    elif colors:
        text += ' colors %s' % ','.join(colors)
    return text


def partners_command(seg, name, object_id, show=''):
    """``connectome partners`` of one object, showing ``show`` (surfaces,synapses ...)."""
    text = 'connectome partners %s %s %s' % (seg.atomspec, name, object_id)
    return text + (' show %s' % show if show else '')


def synapses_command(seg, name, object_id):
    """The synapses of one object: an axon's outputs, the others' inputs."""
    side = 'of' if name == 'axon' else 'onto'
    return 'connectome synapses %s %s %s %s' % (seg.atomspec, side, name, object_id)


def skeletons_command(seg, name, object_id):
    return 'connectome skeletons %s %s %s' % (seg.atomspec, name, object_id)


def show_command(seg, name, object_id):
    return 'connectome show %s %s %s' % (seg.atomspec, name, object_id)


def _models(seg, image):
    # Both or neither: a segmentation alone would leave the map to the command, which
    # may pick one the panel does not show.
    if seg is None or image is None:
        return ''
    return ' %s map %s' % (seg.atomspec, image.atomspec)
