"""Start a real ChimeraX session from UCSF's PyPI library wheel (ChimeraX==0.1.71).

The wheel carries the real core, graphics, map, cmap and segmentation code but cannot
start a session as shipped (../shared/chimerax-headless.md): its top-level package
imports every bundle at once, it lacks ``chimerax.core.nogui``, and it has no per-bundle
metadata, so the toolshed finds no bundles.  This module fills exactly those gaps and
then lets ChimeraX's own start-up code run: the toolshed parses bundle classifiers,
registers commands lazily, starts the managers (data formats, open, save) and hands
them their providers, just as ``chimerax/core/__main__.py`` does.

Our own bundle is registered from its bundle_info.xml, read by ChimeraX's
``bundle_builder`` (the code ``devel build`` uses), and imported from ``src/``; or, with
``source_bundle=None``, found by the toolshed like any installed bundle wheel.
"""

import os
import sys
import types

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The bundle registered from source: this repository, another checkout (tests), or
# "installed": none from source, only bundle wheels the toolshed finds installed.
SOURCE_BUNDLE = os.environ.get('CHIMERAX_HEADLESS_BUNDLE') or REPO_ROOT
if SOURCE_BUNDLE == 'installed':
    SOURCE_BUNDLE = None


def prepare_chimerax_package(source_bundle=SOURCE_BUNDLE):
    """Make ``import chimerax.X`` work without running the wheel's broken __init__."""
    import collections
    import collections.abc
    # grako (the atom-spec parser) predates Python 3.10.
    for name in ('Mapping', 'MutableMapping', 'Sequence', 'MutableSequence', 'Set',
                 'MutableSet', 'Iterable', 'Callable', 'Hashable'):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    if 'chimerax' not in sys.modules or not hasattr(sys.modules['chimerax'], '_cxheadless'):
        from importlib.machinery import PathFinder
        if PathFinder.find_spec('chimerax') is None:
            raise RuntimeError('The ChimeraX==0.1.71 wheel is not installed in this Python')
        pkg = types.ModuleType('chimerax')
        pkg.__path__ = []
        pkg.__file__ = None
        pkg._cxheadless = True
        sys.modules['chimerax'] = pkg
        refresh_chimerax_path()
    from . import nogui, ui, qtenums
    qtenums.promote_enums()
    sys.modules['chimerax.core.nogui'] = nogui
    if 'chimerax.ui' not in sys.modules:
        sys.modules['chimerax.ui'] = ui
        try:
            from . import uiwidgets
        except ImportError:         # no Qt: no tool panels, as with chimerax --nogui
            pass
        else:
            sys.modules['chimerax.ui.widgets'] = ui.widgets = uiwidgets
    if source_bundle is not None:
        install_source_finder(source_bundle)


def refresh_chimerax_path():
    """Let ``chimerax`` span every ``chimerax`` folder on sys.path.

    In the ChimeraX app ``chimerax`` is a namespace package, so a bundle installed in the
    user's site folder (``devel install``) adds its ``chimerax/<name>`` package beside the
    app's.  The library wheel's ``chimerax/__init__.py`` makes it a regular package; this
    gives it the namespace behaviour back.
    """
    pkg = sys.modules['chimerax']
    for entry in sys.path:
        d = os.path.join(entry or os.getcwd(), 'chimerax')
        if os.path.isdir(d) and d not in pkg.__path__:
            pkg.__path__.append(d)


class _SourceBundleFinder:
    """Import ``chimerax.<package>`` from a bundle's ``src/`` folder, as an editable install would."""

    def __init__(self, package, src_dir):
        self.package = package
        self.src_dir = src_dir

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.package:
            return None
        from importlib.util import spec_from_file_location
        return spec_from_file_location(fullname, os.path.join(self.src_dir, '__init__.py'),
                                       submodule_search_locations=[self.src_dir])


def read_bundle_info(bundle_dir):
    """Parse bundle_info.xml with ChimeraX's own BundleBuilder; return it."""
    from chimerax.bundle_builder.bundle_builder import BundleBuilder

    class _QuietLogger:
        def warning(self, msg):
            print('bundle_info.xml: %s' % msg, file=sys.stderr)
        info = error = status = warning

    return BundleBuilder(_QuietLogger(), bundle_dir)


def install_source_finder(bundle_dir):
    bb = read_bundle_info(bundle_dir)
    for f in sys.meta_path:
        if isinstance(f, _SourceBundleFinder) and f.package == bb.package:
            return bb
    sys.meta_path.insert(0, _SourceBundleFinder(bb.package, os.path.join(bundle_dir, 'src')))
    return bb


class _MetadataDistribution:
    """Just enough of a pkg_resources Distribution for the toolshed's classifier parser."""

    def __init__(self, name, version, summary, classifiers, packages):
        self.project_name = name
        self.version = version
        self.key = name.lower()
        lines = ['Metadata-Version: 2.1', 'Name: %s' % name, 'Version: %s' % version,
                 'Summary: %s' % summary]
        lines += ['Classifier: %s' % c for c in classifiers]
        self._metadata = {'METADATA': '\n'.join(lines) + '\n',
                          'RECORD': ''.join('%s/__init__.py,,\n' % '/'.join(p) for p in packages)}

    def has_metadata(self, name):
        return name in self._metadata

    def get_metadata(self, name):
        return self._metadata[name]

    def get_metadata_lines(self, name):
        return self._metadata[name].splitlines()

    def requires(self):
        return []


def _bundle_infos(logger, source_bundle):
    """BundleInfo for the core bundles the wheel ships, and for our source bundle."""
    from chimerax.core.toolshed.installed import _make_bundle_info
    from .core_bundles import CORE_BUNDLES
    from chimerax.core.buildinfo import version as core_version
    dists = []
    for name, package, classifiers in CORE_BUNDLES:
        bundle_line = 'ChimeraX :: Bundle :: General :: 1,1 :: %s :: :: ' % package
        custom_init = any(c.startswith('CustomInit') for c in classifiers)
        bundle_line += 'true' if custom_init else ''
        lines = [bundle_line] + ['ChimeraX :: ' + c for c in classifiers
                                 if not c.startswith('CustomInit')]
        dists.append(_MetadataDistribution(name, core_version, name, lines,
                                           [tuple(package.split('.'))]))
    if source_bundle is not None:
        bb = read_bundle_info(source_bundle)
        packages = [tuple(bb.package.split('.'))]
        src = os.path.join(source_bundle, 'src')
        for d, dirs, files in os.walk(src):
            dirs[:] = [x for x in dirs if x != '__pycache__']
            if d != src and '__init__.py' in files:
                packages.append(tuple(bb.package.split('.')) +
                                tuple(os.path.relpath(d, src).split(os.sep)))
        dists.append(_MetadataDistribution(bb.name, bb.version, bb.synopsis,
                                           bb.python_classifiers + bb.chimerax_classifiers,
                                           packages))
    infos = []
    for d in dists:
        bi = _make_bundle_info(d, True, logger)
        if bi is None:
            raise RuntimeError('No ChimeraX bundle metadata for %s' % d.project_name)
        infos.append(bi)
    return infos


def _add_bundle_infos(ts, infos, logger):
    """Put the given BundleInfos first in the toolshed's installed list and register them."""
    installed = ts._installed_bundle_info
    have = {bi.name for bi in installed}
    new = [bi for bi in infos if bi.name not in have]
    installed[:0] = new
    for bi in new:
        for p in bi.packages:
            ts._installed_packages[p] = bi
        bi.register(logger)


def set_app_dirs(home):
    """What ChimeraX's start-up sets before anything else: per-user folders and install dirs."""
    import chimerax
    os.makedirs(home, exist_ok=True)
    # Kept under one folder (not ~/.local/share/ChimeraX) so tests and the user's real
    # ChimeraX never share settings or toolshed caches.
    dirs = types.SimpleNamespace(
        appname='ChimeraX', appauthor='UCSF', version='1.7',
        user_data_dir=os.path.join(home, 'data'),
        user_config_dir=os.path.join(home, 'config'),
        user_cache_dir=os.path.join(home, 'cache'),
        user_log_dir=os.path.join(home, 'log'),
        user_state_dir=os.path.join(home, 'state'),
        site_data_dir=os.path.join(home, 'site-data'),
        site_config_dir=os.path.join(home, 'site-config'))
    for p in vars(dirs).values():
        if p.startswith(home):
            os.makedirs(p, exist_ok=True)
    chimerax.app_dirs = dirs
    chimerax.app_dirs_unversioned = dirs
    share = os.path.join(home, 'share')
    os.makedirs(share, exist_ok=True)
    chimerax.app_bin_dir = os.path.dirname(sys.executable)
    chimerax.app_data_dir = share
    chimerax.app_lib_dir = os.path.join(home, 'lib')
    import site
    site.USER_BASE = dirs.user_data_dir
    site.USER_SITE = os.path.join(dirs.user_data_dir, 'lib', 'python%d.%d' % sys.version_info[:2],
                                  'site-packages')
    site.ENABLE_USER_SITE = True


def default_home():
    return os.environ.get('CHIMERAX_HEADLESS_HOME') or os.path.join(REPO_ROOT, '.venv', 'chimerax-home')


_session_started = False


def start_session(*, offscreen=True, source_bundle=SOURCE_BUNDLE, home=None, silent=True,
                  color_output=False):
    """Return a new ChimeraX session with core and connectome commands registered.

    As in ChimeraX there is one session per process: command registration and the
    toolshed are process-wide.  Reuse it and reset it with ``close session``.
    """
    global _session_started
    if _session_started:
        raise RuntimeError('A ChimeraX session was already started in this process')
    _session_started = True
    os.environ.setdefault('PYOPENGL_PLATFORM', 'osmesa')
    os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')
    os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
    prepare_chimerax_package(source_bundle)
    set_app_dirs(home or default_home())

    import builtins
    builtins.__dict__.setdefault('line_profile', lambda f: f)

    from chimerax.core import session as core_session
    sess = core_session.Session('ChimeraX', offscreen_rendering=offscreen, silent=silent)
    from chimerax.core import core_settings
    core_settings.init(sess)
    core_session.register_misc_commands(sess)
    from chimerax.core import attributes
    attributes.RegAttrManager(sess)

    from . import nogui
    sess.logger.add_log(nogui.NoGuiLog())
    sess.ui.initialize_color_output(color_output)

    from chimerax.core import toolshed
    toolshed.init(sess.logger, debug=False, check_available=False, session=sess,
                  rebuild_cache=True)
    ts = toolshed.get_toolshed()
    sess.toolshed = ts
    refresh_chimerax_path()     # the toolshed put the user's site folder on sys.path
    # The toolshed found any installed bundle wheels (ours, when installed); add the core
    # bundles the library wheel ships without metadata, and our source bundle.  A reload
    # (after `devel install` / `toolshed install`) rescans installed wheels only, so add
    # them again then.
    infos = _bundle_infos(sess.logger, source_bundle)
    _add_bundle_infos(ts, infos, sess.logger)
    from chimerax.core.toolshed import TOOLSHED_BUNDLE_INFO_RELOADED
    ts.triggers.add_handler(TOOLSHED_BUNDLE_INFO_RELOADED,
                            lambda *args: _add_bundle_infos(ts, infos, sess.logger))
    ts.bootstrap_bundles(sess, False)
    from chimerax.core import tools, undo
    sess.tools = tools.Tools(sess, first=True)
    sess.undo = undo.Undo(sess, first=True)
    return sess
