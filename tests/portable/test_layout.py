"""The architecture the folders show holds in the code: data flows downward only (each
layer imports only the layers below it), there is no import cycle (function-local
imports included, so none can hide one), the pure folders never import ChimeraX, and
private names of other libraries are used in session/compat.py alone."""

import ast
import os
import subprocess
import sys

import pytest

from package import REPO, SRC

PACKAGE = 'chimerax.connectome'
# Layer of each top-level module or folder of src/: a module may import only from lower
# layers, or from its own folder.
LAYERS = {
    'errors': 0,
    'progress': 1, 'blocks': 1, 'parallel': 1,
    'formats': 2,
    'pipeline': 3, 'demo': 3,
    'session': 4,
    'ui': 5,
    'commands': 6,
    '__init__': 7,
}
PURE = ('errors', 'progress', 'blocks', 'parallel', 'formats', 'pipeline', 'demo')


def modules():
    """{dotted name below the package ('' for __init__): path}."""
    found = {}
    for folder, dirs, files in os.walk(SRC):
        dirs[:] = [d for d in dirs if d not in ('__pycache__', 'docs', 'icons')]
        for f in files:
            if f.endswith('.py'):
                rel = os.path.relpath(os.path.join(folder, f), SRC)[:-3].split(os.sep)
                if rel[-1] == '__init__':
                    rel = rel[:-1]
                found['.'.join(rel)] = os.path.join(folder, f)
    return found


def imports(name, path):
    """(imported module, line, is package-internal) for every import statement, at any
    depth; package-internal imports resolved to dotted names below the package."""
    tree = ast.parse(open(path).read(), path)
    is_package = path.endswith('__init__.py')
    here = name.split('.') if name else []
    base = here if is_package else here[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                internal = a.name == PACKAGE or a.name.startswith(PACKAGE + '.')
                target = a.name[len(PACKAGE) + 1:] if internal else a.name
                out.append((target, node.lineno, internal, ()))
        elif isinstance(node, ast.ImportFrom):
            names = tuple(a.name for a in node.names)
            if node.level:
                parts = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                target = '.'.join(parts + (node.module.split('.') if node.module else []))
                out.append((target, node.lineno, True, names))
            else:
                module = node.module or ''
                internal = module == PACKAGE or module.startswith(PACKAGE + '.')
                target = module[len(PACKAGE) + 1:] if internal else module
                out.append((target, node.lineno, internal, names))
    return out


def internal_targets(target, names, known):
    """The package modules an internal import refers to: ``from . import x`` names
    module x when there is one, else an attribute of the module imported from."""
    subs = [(target + '.' + n) if target else n for n in names]
    found = [s for s in subs if s in known]
    if len(found) < len(names):
        found.append(target)
    return found


def import_graph():
    """{module: [(imported package module, line)]}."""
    known = modules()
    return known, {name: [(t, line) for target, line, internal, names in imports(name, path)
                          if internal for t in internal_targets(target, names, known)]
                   for name, path in known.items()}


def upward_imports(edges):
    problems = []
    for name, targets in edges.items():
        for t, line in targets:
            a, b = top(name), top(t)
            if a != b and LAYERS[b] >= LAYERS[a]:
                problems.append('%s:%d imports %s (layer %s from layer %s)'
                                % (name or '__init__', line, t, b, a))
    return problems


def import_cycles(edges):
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = 'open'
        stack.append(node)
        for t, _ in edges.get(node, ()):
            if t == node:
                continue
            if state.get(t) == 'open':
                cycles.append(' -> '.join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[node] = 'done'
    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return cycles


def top(name):
    return name.split('.')[0] if name else '__init__'


@pytest.fixture(scope='module')
def graph():
    return import_graph()


def test_every_folder_has_a_layer(graph):
    known, _ = graph
    assert {top(m) for m in known} == set(LAYERS)


def test_data_flows_downward(graph):
    problems = upward_imports(graph[1])
    assert not problems, '\n'.join(problems)


def test_no_import_cycle(graph):
    cycles = import_cycles(graph[1])
    assert not cycles, '\n'.join(cycles)


def test_the_checks_find_a_cycle_and_an_upward_import(tmp_path, monkeypatch):
    """The two checks above can fail: a formats module importing the session layer in a
    function, which imports it back."""
    src = tmp_path / 'src'
    (src / 'formats').mkdir(parents=True)
    (src / 'session').mkdir()
    for f in ('__init__.py', 'formats/__init__.py', 'session/__init__.py'):
        (src / f).write_text('')
    (src / 'formats' / 'tiles.py').write_text('def f():\n    from ..session import maps\n')
    (src / 'session' / 'maps.py').write_text('from ..formats import tiles\n')
    monkeypatch.setattr(sys.modules[__name__], 'SRC', str(src))
    _, edges = import_graph()
    assert upward_imports(edges) == [
        'formats.tiles:2 imports session.maps (layer session from layer formats)']
    assert import_cycles(edges) == ['formats.tiles -> session.maps -> formats.tiles']


def test_pure_folders_never_import_chimerax(graph):
    known, _ = graph
    problems = []
    for name, path in known.items():
        if top(name) not in PURE:
            continue
        for target, line, internal, _ in imports(name, path):
            if not internal and (target == 'chimerax' or target.startswith('chimerax.')):
                problems.append('%s:%d imports %s' % (name, line, target))
    assert not problems, problems


# Private names of ChimeraX known to be used (through session/compat.py): their text is
# refused anywhere else even where the generic check below cannot see it (a name built at
# run time).
KNOWN_PRIVATE = ('_read_array_header', '_segment_attribute_colors', '_max_segment_id',
                 '_attribute_values', 'SegmentationMapColor', '_random_colors', '_segment_rgba')
COMPAT = 'session.compat'
ATTRIBUTE_FUNCTIONS = ('getattr', 'hasattr', 'setattr', 'delattr')


def _private(name):
    """A single-underscore name (dunders such as __dict__ are Python's protocol)."""
    return name.startswith('_') and not (name.startswith('__') and name.endswith('__'))


def own_private_names(known):
    """Every private name the package itself defines: functions, classes, variables,
    arguments, import aliases, attributes it assigns (``self._x = ...``) and attribute
    names it sets by string (``setattr(obj, '_x', ...)``), in any module."""
    names = set()
    for path in known.values():
        for node in ast.walk(ast.parse(open(path).read(), path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias) and node.asname:
                names.add(node.asname)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == 'setattr' and len(node.args) > 1
                  and isinstance(node.args[1], ast.Constant)):
                names.add(node.args[1].value)
    return {n for n in names if isinstance(n, str) and _private(n)}


def private_uses(known):
    """Uses of another library's private names outside session/compat.py: imports of a
    private module or name, ``x._name`` and ``getattr(x, '_name')`` where the package
    itself defines no ``_name``, and the text of a KNOWN_PRIVATE name."""
    ours = own_private_names(known)
    problems = []
    for name, path in sorted(known.items()):
        if name == COMPAT:
            continue
        for target, line, internal, names in imports(name, path):
            if internal:
                continue
            private = [n for n in names if _private(n)]
            if private or any(_private(p) for p in target.split('.')):
                problems.append('%s:%d imports %s %s' % (name, line, target, private))
        text = open(path).read()
        for node in ast.walk(ast.parse(text, path)):
            used = None
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                used = node.attr
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ATTRIBUTE_FUNCTIONS and len(node.args) > 1
                  and isinstance(node.args[1], ast.Constant)
                  and isinstance(node.args[1].value, str)):
                used = node.args[1].value
            if used is not None and _private(used) and used not in ours:
                problems.append('%s:%d uses %s, a private name the package does not define'
                                % (name, node.lineno, used))
        for private in KNOWN_PRIVATE:
            if private in text:
                problems.append('%s uses %s' % (name, private))
    return problems


def test_private_names_of_libraries_only_in_compat(graph):
    """Every use of another library's private name goes through session/compat.py."""
    known, _ = graph
    problems = private_uses(known)
    assert not problems, '\n'.join(problems)


def test_the_private_name_check_finds_planted_uses(tmp_path):
    """The check above can fail: a session module reaching into a ChimeraX object's
    private attribute, by attribute and by getattr, and importing a private function;
    the package's own private names (assigned, defined, set by setattr) pass, and so
    does the same code in compat."""
    planted = ('from chimerax.segment.segment import _colors\n'
               'class Holder:\n'
               '    def __init__(self):\n'
               '        self._ours = 1\n'
               '        setattr(self, "_also_ours", 2)\n'
               '    def _helper(self, volume):\n'
               '        return (volume._private_thing, getattr(volume, "_hidden"),\n'
               '                self._ours, self._also_ours, self._helper, volume.__dict__)\n')
    known = {}
    for name in ('session.maps', COMPAT):
        path = tmp_path / (name + '.py')
        path.write_text(planted)
        known[name] = str(path)
    assert private_uses(known) == [
        "session.maps:1 imports chimerax.segment.segment ['_colors']",
        'session.maps:7 uses _private_thing, a private name the package does not define',
        'session.maps:7 uses _hidden, a private name the package does not define']


def local_reimports(known):
    """Imports inside a function of a module the file already imports at its top:
    they only hide what the module uses (and could hide a cycle)."""
    problems = []
    for name, path in sorted(known.items()):
        tree = ast.parse(open(path).read(), path)
        at_top = {node.module for node in tree.body
                  if isinstance(node, ast.ImportFrom) and not node.level}
        at_top |= {a.name for node in tree.body if isinstance(node, ast.Import)
                   for a in node.names}
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                modules = ([node.module] if isinstance(node, ast.ImportFrom) and not node.level
                           else [a.name for a in node.names] if isinstance(node, ast.Import)
                           else [])
                problems += ['%s:%d imports %s again in %s' % (name, node.lineno, m,
                                                               function.name)
                             for m in modules if m in at_top]
    return sorted(set(problems))


def test_no_function_imports_what_the_module_imports(graph):
    problems = local_reimports(graph[0])
    assert not problems, '\n'.join(problems)


def test_the_reimport_check_finds_one(tmp_path):
    path = tmp_path / 'color.py'
    path.write_text('from chimerax.core.commands import run\n'
                    'def register(logger):\n'
                    '    from chimerax.core.commands import CmdDesc\n'
                    '    from chimerax.map import Volume\n')
    assert local_reimports({'commands.color': str(path)}) == [
        'commands.color:3 imports chimerax.core.commands again in register']


def places(known, found):
    """'module:line' of every node of src/ for which ``found(node)`` is true."""
    out = []
    for name, path in sorted(known.items()):
        for node in ast.walk(ast.parse(open(path).read(), path)):
            if found(node):
                out.append('%s:%d' % (name, node.lineno))
    return out


def test_one_place_assigns_a_maps_mask_colours(graph):
    """Every colouring of a map by regions goes through session/coloring.py, whose one
    assignment of ``mask_colors`` is in compat (ChimeraX's SegmentationMapColor)."""
    assigned = places(graph[0], lambda node: isinstance(node, ast.Attribute)
                      and node.attr == 'mask_colors' and isinstance(node.ctx, ast.Store))
    assert len(assigned) == 1 and assigned[0].startswith(COMPAT + ':'), assigned
    callers = places(graph[0], lambda node: isinstance(node, ast.Attribute)
                     and node.attr == 'set_segmentation_colors'
                     and isinstance(node.ctx, ast.Load))
    assert callers and all(c.startswith('session.coloring:') for c in callers), callers


def test_one_place_names_a_temporary_file(graph):
    """Outputs are written under a temporary name by formats/locks.py atomic_output
    alone: no other module spells a '.part' name."""
    named = places(graph[0], lambda node: isinstance(node, ast.Constant)
                   and isinstance(node.value, str) and '.part' in node.value
                   and not node.value.lstrip().startswith(('"', "'")) and '\n' not in node.value)
    assert len(set(named)) == 1 and named[0].startswith('formats.locks:'), named


def test_no_module_over_500_lines(graph):
    """A module that long does several jobs: split it by job (issue 21)."""
    long = {name: n for name, path in graph[0].items()
            if (n := len(open(path).read().splitlines())) > 500}
    assert not long, long


def test_pure_modules_import_without_chimerax():
    """Every pure module imports with ``chimerax`` an empty namespace (as in a Python
    without ChimeraX), and imports nothing of ChimeraX."""
    pure = sorted(m for m in modules() if top(m) in PURE)
    script = ('import sys; sys.path.insert(0, %r); import package; package.import_from_source()\n'
              'import importlib\n'
              'for m in %r: importlib.import_module("chimerax.connectome." + m)\n'
              'bad = [m for m in sys.modules if m.startswith("chimerax.")'
              ' and not m.startswith("chimerax.connectome")]\n'
              'assert not bad, bad\n'
              'print(len(%r))\n' % (os.path.join(REPO, 'tests', 'common'), pure, pure))
    p = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert int(p.stdout) == len(pure) > 20


def test_readme_layout_matches_the_tree():
    """README's layout section names every module and folder of src/, and only those."""
    text = open(os.path.join(REPO, 'README.md')).read()
    block = text[text.index('## Layout'):]
    block = block[block.index('```') + 3:]
    block = block[:block.index('```')]
    # Each line: names at the left (until two spaces), a description after.
    named = set()
    for line in block.splitlines():
        words = line.strip().split('  ')[0].split() if line.strip() else []
        named.update(w.strip(',') for w in words if w.endswith(('.py', '/')) or w.endswith('.py,'))
        # Continuation lines list module names inside parentheses or after a colon.
        named.update(w.strip('(),:') for w in line.split() if w.strip('(),:').endswith('.py'))
    modules_in_tree = set()
    folders_in_tree = set()
    for folder, dirs, files in os.walk(SRC):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        rel = os.path.relpath(folder, SRC)
        if rel != '.' and not rel.startswith(('docs', 'icons')):
            folders_in_tree.add(os.path.basename(folder) + '/')
        modules_in_tree.update(f for f in files if f.endswith('.py'))
    missing = (modules_in_tree | folders_in_tree) - named
    assert not missing, 'README layout does not name %s' % sorted(missing)
    listed_modules = {n for n in named if n.endswith('.py')}
    assert not listed_modules - modules_in_tree, sorted(listed_modules - modules_in_tree)
