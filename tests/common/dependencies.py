"""What the bundle's code imports and what it declares it needs, read from the files
themselves (both test layers use this: tests/portable/test_dependencies.py checks the
files agree, tests/chimerax/test_bundle.py that `devel build` puts the declarations in
the wheel).

A ChimeraX app user gets the bundle with `make install` (`devel install .`), which
pip-installs only what bundle_info.xml's <Dependencies> list; the tests' environments get
requirements/runtime.txt's pins.  So every third-party module src/ imports must be either
one the ChimeraX app itself ships (CHIMERAX_SHIPS) or pinned in runtime.txt and declared
in bundle_info.xml with that same pin."""

import ast
import os
import re
import sys
import xml.etree.ElementTree as ET

# The modules every ChimeraX app from 1.7 to 1.12 ships to its bundles, with the
# distribution each comes from.  Read from RBVI/ChimeraX's own pins (prereqs/pips/
# app_requirements.txt at tags v1.7, v1.7.1, v1.8; pyproject.toml's `wheel` list at
# v1.9, v1.10, v1.10.1, v1.11 and the development tree that becomes 1.12), which all
# say Python 3.11:
#   numpy   1.25.1 (1.7), 1.26.4 (1.8 - 1.12)
#   scipy   1.11.1 (1.7), 1.13.0 (1.8), 1.14.0 (1.9 - 1.12)
#   psutil  5.9.5 (1.7) - 7.0.0 (1.10 - 1.12)
#   lz4     4.3.2 - 4.4.4;  msgpack 1.0.4 - 1.1.1;  imagecodecs 2023.9.18 - 2024.6.1
#   Qt      ChimeraX's own Qt shim (prereqs/qtshim, package `Qt`, the `qtshim`
#           distribution since 1.10) over its PyQt6: the app's UI bundle imports it.
# The bundle need not pin these (and must not: pip would replace ChimeraX's own copy,
# which its compiled modules are built against); bundle_info.xml may name them
# unpinned, as it does numpy and scipy.  Not listed: PyTables (`tables`), which
# ChimeraX 1.7 and 1.8 leave out on Apple Silicon (`platform_machine != 'arm64'`), and
# packaging and pybind11, not in every release's list.  h5py is not shipped by any.
CHIMERAX_SHIPS = {
    'numpy': 'numpy',
    'scipy': 'scipy',
    'psutil': 'psutil',
    'lz4': 'lz4',
    'msgpack': 'msgpack',
    'imagecodecs': 'imagecodecs',
    'Qt': 'qtshim',
}

# Import names whose distribution is named otherwise (everything else: the same name,
# compared as PEP 503 normalizes it).  tests/portable/test_dependencies.py checks each
# against the installed distributions' own metadata.
DISTRIBUTION_OF = {
    'crackle': 'crackle-codec',
    'google_crc32c': 'google-crc32c',
    'compressed_segmentation': 'compressed-segmentation',
    'Qt': 'qtshim',
}

# Imports the code must keep optional (inside ``try`` ... ``except ImportError``), with
# why: the bundle still works, on another path, where the package cannot be installed.
OPTIONAL = {
    'numba': 'no wheel yet for a new Python or numpy: pipeline/pyramid.py takes its '
             'numpy path',
}

# The bundle's own package and ChimeraX's (both `chimerax.*`).
OWN = ('chimerax',)


def normalize(name):
    """A distribution name as PEP 503 compares them: DracoPy -> dracopy, ml_dtypes ->
    ml-dtypes."""
    return re.sub(r'[-_.]+', '-', name).lower()


def distribution(module):
    """The (normalized) distribution that provides top-level module ``module``."""
    return normalize(DISTRIBUTION_OF.get(module, module))


def python_files(src):
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in ('__pycache__', 'docs', 'icons'))
        for f in sorted(files):
            if f.endswith('.py'):
                yield os.path.join(folder, f)


def _guarded(node, parents):
    """Whether an import node sits in the body of a ``try`` that catches ImportError
    (or ModuleNotFoundError, or everything)."""
    child = node
    for parent in parents:
        if isinstance(parent, ast.Try) and child in parent.body:
            for h in parent.handlers:
                names = ([h.type] if not isinstance(h.type, ast.Tuple) else h.type.elts) \
                    if h.type is not None else []
                if h.type is None or any(isinstance(n, ast.Name) and n.id in (
                        'ImportError', 'ModuleNotFoundError', 'Exception') for n in names):
                    return True
        child = parent
    return False


def third_party_imports(src):
    """{top-level module: [(path relative to src, line, guarded)]} for every absolute
    import statement under ``src``, at any depth (inside functions, ``try`` and ``if``
    too), leaving out the standard library and ``chimerax``."""
    found = {}
    for path in python_files(src):
        tree = ast.parse(open(path, encoding='utf-8').read(), path)
        parents = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                parents[child] = parent
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            chain, p = [], parents.get(node)
            while p is not None:
                chain.append(p)
                p = parents.get(p)
            for name in names:
                top = name.split('.')[0]
                if top in sys.stdlib_module_names or top in OWN:
                    continue
                found.setdefault(top, []).append(
                    (os.path.relpath(path, src), node.lineno, _guarded(node, chain)))
    return found


def requirement(text):
    """('name', 'spec') of one requirement line: 'numcodecs==0.13.1' -> ('numcodecs',
    '==0.13.1'), whitespace dropped, the name normalized."""
    m = re.match(r'\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$', text)
    if not m:
        raise ValueError('not a requirement: %r' % text)
    return normalize(m.group(1)), re.sub(r'\s+', '', m.group(2))


def runtime_pins(path):
    """{normalized distribution: spec} of a requirements file (comments, blank lines
    and -r includes left out: runtime.txt includes none)."""
    pins = {}
    for line in open(path, encoding='utf-8'):
        line = line.split('#')[0].strip()
        if line and not line.startswith('-'):
            name, spec = requirement(line)
            pins[name] = spec
    return pins


def declared(path):
    """{normalized distribution: spec} of bundle_info.xml's <Dependency> elements,
    leaving out ChimeraX's own bundles (ChimeraX-Core, ChimeraX-Map, ...)."""
    out = {}
    for e in ET.parse(path).getroot().iter('Dependency'):
        name = e.get('name', '')
        if not name.startswith('ChimeraX-'):
            out[normalize(name)] = re.sub(r'\s+', '', e.get('version', ''))
    return out


def shipped_distributions():
    return {normalize(d) for d in CHIMERAX_SHIPS.values()}


def problems(src, runtime_txt, bundle_info):
    """Every way the code, runtime.txt and bundle_info.xml disagree, as sentences (empty
    when they agree)."""
    imports = third_party_imports(src)
    pins = runtime_pins(runtime_txt)
    decl = declared(bundle_info)
    ships = shipped_distributions()
    out = []
    for module, where in sorted(imports.items()):
        if module in CHIMERAX_SHIPS:
            continue
        dist = distribution(module)
        at = '%s:%d' % where[0][:2]
        if dist not in pins:
            out.append('%s (imported at %s) is not pinned in requirements/runtime.txt'
                       % (dist, at))
        if dist not in decl:
            out.append('%s (imported at %s) is not declared in bundle_info.xml' % (dist, at))
        if module in OPTIONAL:
            out.extend('%s imported at %s:%d outside try ... except ImportError: it must'
                       ' stay optional (%s)' % (module, p, line, OPTIONAL[module])
                       for p, line, guarded in where if not guarded)
    for dist, spec in sorted(pins.items()):
        if dist in ships:
            out.append('%s is pinned in runtime.txt but ChimeraX ships it' % dist)
        elif dist not in decl:
            out.append('%s%s is pinned in runtime.txt but not declared in bundle_info.xml'
                       % (dist, spec))
        elif decl[dist] != spec:
            out.append('%s: runtime.txt pins %r, bundle_info.xml declares %r'
                       % (dist, spec, decl[dist]))
    for dist, spec in sorted(decl.items()):
        if dist in ships:
            if spec:
                out.append('%s is declared %r in bundle_info.xml: ChimeraX ships it, so it'
                           ' is declared unpinned' % (dist, spec))
        elif dist not in pins:
            out.append('%s is declared in bundle_info.xml but not pinned in runtime.txt'
                       % dist)
    return out
