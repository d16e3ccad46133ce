"""Bundle metadata for the core bundles the ChimeraX==0.1.71 wheel ships without it.

In the desktop app each bundle is its own installed distribution whose METADATA
classifiers (generated from its bundle_info.xml) tell the toolshed which commands it
registers lazily, which managers it starts and which providers (file formats, open and
save handlers) it offers.  The library wheel is a single distribution, so the toolshed
finds none of that.  Each entry here restores, for one bundle the harness needs, the
classifiers its ChimeraX 1.7.1 bundle_info.xml declares (read from RBVI/ChimeraX at tag
v1.7.1); the bundle's own BundleAPI then does the real work.  Only bundles whose code
is in the wheel and runs without a window are listed.

Each entry: (distribution name, Python package, classifiers without "ChimeraX :: ").
"CustomInit" marks a bundle whose BundleAPI.initialize must run at start-up.
"""


def _formats(category, formats):
    """Data-format provider classifiers: (format name, nicknames, suffixes) each."""
    lines = []
    for name, nicknames, suffixes in formats:
        kw = ' :: category:"%s"' % category
        if nicknames:
            kw += ' :: nicknames:%s' % nicknames
        if suffixes:
            kw += ' :: suffixes:"%s"' % suffixes
        lines.append('Provider :: %s :: data formats%s' % (name, kw))
    return lines


_MAP_FORMATS = [
    ('Chimera map', 'cmap', '.cmap,.cmp'),
    ('MRC density map', 'mrc', '.mrc'),
    ('CCP4 density map', 'ccp4', '.ccp4,.map'),
    ('EMAN HDF map', 'emanhdf', '.hdf,.hdf5,.h5'),
    ('HDF map', 'hdf', ''),
    ('Image stack', 'images', '.tif,.tiff,.png,.pgm'),
    ('ImageJ TIFF map', 'imagejtiff', '.tif,.tiff'),
]

_IMAGE_FORMATS = [
    ('Portable Network Graphics', 'png', '.png'),
    ('Joint Photographic Experts Group image', 'jpeg', '.jpg,.jpeg'),
    ('Tagged Image File format', 'tiff', '.tif,.tiff'),
    ('Portable Pixmap format', 'ppm', '.ppm'),
    ('Bitmap image', 'bmp', '.bmp'),
]

_STD_COMMANDS = [
    'alias', 'camera', 'cd', 'clip', '~clip', 'close', 'cofr', 'color', 'colour',
    'color name', 'color list', 'exit', 'quit', 'graphics', 'hide', '~show', 'lighting',
    'material', 'move', 'perframe', '~perframe', 'pwd', 'rename', 'rock', 'roll',
    'runscript', 'set', 'show', 'stop', 'tile', 'time', 'transparency', 'turn', 'usage',
    'version', 'view', 'wait', 'windowsize', 'wobble', 'zoom',
]

CORE_BUNDLES = [
    ('ChimeraX-Core', 'chimerax.core', []),
    ('ChimeraX-DataFormats', 'chimerax.data_formats', [
        'Manager :: data formats',
    ]),
    ('ChimeraX-OpenCommand', 'chimerax.open_command', [
        'Manager :: open command',
        'InitAfter :: manager :: ChimeraX-DataFormats',
        'Command :: open :: General :: Open/fetch data files',
    ]),
    ('ChimeraX-SaveCommand', 'chimerax.save_command', [
        'Manager :: save command',
        'InitAfter :: manager :: ChimeraX-DataFormats',
        'Command :: save :: General :: Save data files',
    ]),
    ('ChimeraX-CoreFormats', 'chimerax.core_formats', [
        'Provider :: ChimeraX session :: data formats :: category:Session :: nicknames:session'
        ' :: suffixes:.cxs',
        'Provider :: ChimeraX commands :: data formats :: category:"Command script"'
        ' :: nicknames:cmd :: suffixes:.cxc',
        'Provider :: Python :: data formats :: category:"Command script" :: suffixes:.py',
        'Provider :: ChimeraX session :: open command :: want_path:true',
        'Provider :: ChimeraX commands :: open command :: want_path:true',
        'Provider :: Python :: open command',
        'Provider :: ChimeraX session :: save command :: compression_okay:false',
    ]),
    ('ChimeraX-MapData', 'chimerax.map_data',
        _formats('Volume data', _MAP_FORMATS)),
    ('ChimeraX-Map', 'chimerax.map', [
        'CustomInit',
        'Command :: volume :: Volume data :: control volume data display',
        'Command :: measure mapstats :: Volume data :: report map statistics',
    ] + ['Provider :: %s :: open command :: want_path:true :: batch:true' % name
         for name, _, _ in _MAP_FORMATS] + [
        'Provider :: Chimera map :: save command',
        'Provider :: MRC density map :: save command',
    ]),
    ('ChimeraX-Segment', 'chimerax.segment', [
        'Command :: segmentation :: Volume data :: color and surface segmentations',
    ]),
    ('ChimeraX-ImageFormats', 'chimerax.image_formats',
        _formats('Image', _IMAGE_FORMATS) +
        ['Provider :: %s :: save command' % name for name, _, _ in _IMAGE_FORMATS]),
    ('ChimeraX-StdCommands', 'chimerax.std_commands', [
        'CustomInit',
    ] + ['Command :: %s :: General :: %s' % (c, c) for c in _STD_COMMANDS]),
    ('ChimeraX-Movie', 'chimerax.movie', [
        'Command :: movie :: General :: record movies',
    ]),
    ('ChimeraX-Log', 'chimerax.log', [
        'CustomInit',
        'Command :: log :: General :: manipulate the Log tool',
        'Command :: echo :: General :: Log a line of text',
    ]),
    # `help` shows pages with the system web browser when there is no window.
    ('ChimeraX-HelpViewer', 'chimerax.help_viewer', [
        'CustomInit',
        'Command :: help :: Documentation :: Display ChimeraX help',
    ]),
    ('ChimeraX-ListInfo', 'chimerax.list_info', [
        'Command :: info :: General :: Report attributes for models and atomic data',
    ]),
    # Its manager starts only with a window (cxheadless.window).
    ('ChimeraX-Toolbar', 'chimerax.toolbar', [
        'Manager :: toolbar :: guiOnly:true',
    ]),
    # 2D labels (the legend titles of `connectome color ... key true`).
    ('ChimeraX-Label', 'chimerax.label', [
        'CustomInit',
        'Command :: 2dlabels :: General :: add text labels to graphics',
        'Command :: label :: General :: add 3d labels to graphics',
        'Command :: ~label :: General :: remove 3d labels from graphics',
    ]),
    # The colour key (`key`), drawn as a 2D overlay model.
    ('ChimeraX-ColorKey', 'chimerax.color_key', [
        'Command :: key :: Depiction :: add color key to graphics',
    ]),
    # Atomic structures: markers are atoms of a Structure, so the atomic bundle's start-up
    # (session.change_tracker, the pseudobond manager) must run.
    ('ChimeraX-Atomic', 'chimerax.atomic', ['CustomInit']),
    # Marker sets (the synapses and skeletons of `connectome synapses | skeletons`) and
    # their .cmm files (open and save).
    ('ChimeraX-Markers', 'chimerax.markers', [
        'CustomInit',
        'Command :: marker :: General :: Place markers',
    ] + _formats('Generic 3D objects', [('Marker model', 'markers', '.cmm')]) + [
        'Provider :: Marker model :: open command :: want_path:true',
        'Provider :: Marker model :: save command',
    ]),
    # Session files (`save FILE.cxs`): the session names each saved object's class by its
    # bundle (core/session.py, toolshed find_bundle_for_class), so the bundles whose
    # classes a session holds are listed even where they declare nothing else.
    ('ChimeraX-Graphics', 'chimerax.graphics', []),
    ('ChimeraX-Geometry', 'chimerax.geometry', []),
    ('ChimeraX-Surface', 'chimerax.surface', [
        'CustomInit',
    ] + ['Command :: %s :: Surfaces :: %s' % (c, c) for c in (
        'surface dust', 'surface undust', 'surface cap', 'surface style', 'color sample')]),
]
