"""The Connectome settings a user's choices are remembered in, shared by the commands,
the panel and the toolbar: class colours, the classes checked in the panel, the surface
style, the last objects typed in the panel and what its Partners button shows.
"""

from chimerax.core.settings import Settings

from ..pipeline.classes import DEFAULT_CLASSES


class ConnectomeSettings(Settings):
    AUTO_SAVE = {
        'class_colors': {},                 # class -> colour text the user chose
        'checked_classes': list(DEFAULT_CLASSES),
        'surfaces_each': False,             # one surface per object, or merged per class
        'pick_text': '',                    # last "axon=12,40-45" typed in the panel
        'object_text': 'neuron 1',          # last "neuron 1" typed in the panel's wiring row
        'partners_show': 'synapses',        # what the panel's Partners button shows
    }


def connectome_settings(session):
    """The session's Connectome settings (made on first use)."""
    settings = getattr(session, '_connectome_settings', None)
    if settings is None:
        settings = session._connectome_settings = ConnectomeSettings(session, 'Connectome')
    return settings
