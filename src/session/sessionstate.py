"""What a ChimeraX session would lose of this bundle's scene, kept by the bundle.

ChimeraX 1.7.1 saves a volume without its mask colours, so an EM map coloured by the
regions of a segmentation (``connectome color``, ``partners ... show map``, ChimeraX's
own ``segmentation colors ... map``) came back grey; it saves a plain Surface model
without its triangles unless the model asks (SESSION_SAVE_DRAWING), so the surfaces
``segmentation surfaces`` makes came back empty; and it knows nothing of the arrays
the bundle's commands set on their models or of the readout under the mouse; nor does
it keep the style a hidden map will show in, so a segmentation that opened hidden as an
image plane (session/initialdisplay.py) would come back as a surface of its ids.
``register_session_state`` (run at ChimeraX's start, BundleAPI.initialize) adds a
state manager, ConnectomeState, that saves per coloured map its segmentation and
per-region colours (the session file is compressed as a whole), the model
attributes in KEPT_ATTRIBUTES (among them which models each key belongs to) and the
hidden maps that show as images, and restores them; and, before each save, asks those
surfaces to save their triangles (ChimeraX restores them itself).  The keys themselves
are ChimeraX's colour key and 2D labels, which ChimeraX keeps.  A session with none
of this holds no state of the bundle, so it still opens where the bundle is not
installed.  What cannot come back is named in a warning at save.

ChimeraX runs ``register_session_state`` at every start, so this module imports only
what is light; the colouring and the readout (and the readers behind them) are imported
when a session is saved or restored.
"""

from chimerax.core.state import StateManager

from . import compat

STATE_TAG = 'connectome'
# Model attributes the bundle's commands set and read later: the synapse and skeleton
# ids of synapses and skeletons drawn (commands/wiring.py, commands/skeletons.py), a
# segmentation's surfaces made by ``connectome surfaces``, which replacing closes
# (commands/color.py), and the key a model is drawn in the colours of, which goes or
# is recounted when the model closes (session/keys.py KEY_ATTRIBUTE).
KEPT_ATTRIBUTES = ('synapse_ids', 'skeleton_ids', '_connectome_surfaces', '_connectome_key')


def register_session_state(session):
    """Save and restore, in this session's ChimeraX sessions, what ChimeraX would lose."""
    session.add_state_manager(STATE_TAG, ConnectomeState(session))
    session.triggers.add_handler('begin save session', _before_save)
    session.triggers.add_handler('remove models', lambda trigger, closed:
                                 _models_closed(session, closed))


def _models_closed(session, closed):
    """Keys go, or are recounted, with the models drawn in their colours; a map coloured
    by a segmentation that closed loses that colouring, and the key of it."""
    from .keys import models_closed, models_uncolored
    models_closed(session, closed)
    models_uncolored(session, _uncolor_orphans(session, closed))


def _uncolor_orphans(session, closed):
    """Remove the colouring of each open map coloured by a segmentation among ``closed``:
    its colours read that segmentation's voxels, so the map could not be drawn again
    (ChimeraX's own ``segmentation colors ... map`` leaves it so, and every later frame,
    and saving a session, fails).  Logged; returns the maps uncoloured."""
    from chimerax.map import Volume
    from .coloring import set_map_colors
    gone = set(closed)
    orphans = [v for v in session.models.list(type=Volume)
               if v not in gone and not v.deleted
               and (seg := compat.coloring_segmentation(v)) is not None
               and (seg in gone or seg.deleted)]
    for v in orphans:
        seg = compat.coloring_segmentation(v)
        set_map_colors(v, None, None)
        session.logger.info('Removed the coloring of #%s (%s): the segmentation it was'
                            ' colored by, %s, is closed' % (v.id_string, v.name, seg.name))
    return orphans


class ConnectomeState(StateManager):
    """The session state of the bundle: map colourings, model attributes, the readout.
    It holds nothing itself; each save reads the scene."""

    VERSION = 1

    def __init__(self, session):
        self.session = session

    def include_state(self):
        return bool(_colorings(self.session) or _kept_attributes(self.session)
                    or _hidden_images(self.session))

    def take_snapshot(self, session, flags):
        from .readout import readout_enabled
        return {'version': self.VERSION,
                'colorings': [[v, seg, rgba] for v, seg, rgba in _colorings(session)],
                'attributes': _kept_attributes(session),
                'hidden images': _hidden_images(session),
                'readout': readout_enabled(session)}

    @staticmethod
    def restore_snapshot(session, data):
        from .coloring import set_map_colors
        from .readout import enable_readout
        for v, seg, rgba in data['colorings']:
            if v is None or seg is None:
                # The map or its segmentation was not reopened (warned of already).
                session.logger.warning(
                    'Session restore: the coloring of %s by a segmentation that was not'
                    ' reopened is lost' % ('a map' if v is None else '#%s (%s)'
                                           % (v.id_string, v.name)))
                continue
            set_map_colors(v, seg, rgba)
        for model, name, value in data['attributes']:
            if model is not None:
                setattr(model, name, value)
        for v in data.get('hidden images', ()):
            if v is not None and not v.display:
                v.set_display_style('image')
        if data['readout']:
            enable_readout(session)
        return ConnectomeState(session)

    def reset_state(self, session):
        pass        # the state is the scene's, closed with it


def _colorings(session):
    """(map, segmentation, per-region rgba) of each open map coloured by a segmentation
    that is open too."""
    from chimerax.map import Volume
    found = []
    for v in session.models.list(type=Volume):
        seg = compat.coloring_segmentation(v)
        if seg is not None and not seg.deleted:
            found.append((v, seg, compat.segmentation_rgba(v)))
    return found


def _hidden_images(session):
    """The hidden maps this bundle opened (session/initialdisplay.py) that will show in
    image style when shown; other maps are ChimeraX's to restore, so a session of them
    alone does not need the bundle."""
    from chimerax.map import Volume
    return [v for v in session.models.list(type=Volume)
            if not v.display and v.image_will_show
            and getattr(v.data, 'connectome_initial_display', False)]


def _kept_attributes(session):
    """[model, attribute, value] of each KEPT_ATTRIBUTES a model has; models in a value
    (a list of surfaces) that are closed are left out."""
    kept = []
    for m in session.models.list():
        for name in KEPT_ATTRIBUTES:
            value = vars(m).get(name)
            if value is None:
                continue
            if isinstance(value, list):
                value = [s for s in value if not s.deleted]
            kept.append([m, name, value])
    return kept


def _before_save(trigger_name, session):
    """Ask the surfaces ChimeraX would save empty to save their triangles.  (A colouring
    whose segmentation closed is gone already: _uncolor_orphans.)"""
    for m in session.models.list():
        if _saved_empty(m):
            m.SESSION_SAVE_DRAWING = True


def _saved_empty(model):
    """Whether ChimeraX would save a model without its triangles though nothing
    recomputes them at restore: a plain Surface (as ``segmentation surfaces`` makes),
    on its own or under plain models, that has triangles and does not save them."""
    from chimerax.core.models import Model, Surface
    if type(model) is not Surface or model.SESSION_SAVE_DRAWING:
        return False
    if model.triangles is None or len(model.triangles) == 0:
        return False
    parent = model.parent
    while parent is not None:
        if type(parent) not in (Model, Surface):
            return False
        parent = parent.parent
    return True
