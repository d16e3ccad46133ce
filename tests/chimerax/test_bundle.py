"""The bundle as ChimeraX sees it: declared commands register, help is found, the wheel
that `devel build` makes installs and works (the layering of the code itself is checked
in tests/portable/test_layout.py)."""

import email.parser
import os
import shutil
import textwrap

import pytest

import dependencies
from cxrun import REPO, headless

SRC = os.path.join(REPO, 'src')

def declared_commands(bundle_dir=REPO):
    from cxheadless.boot import read_bundle_info
    bb = read_bundle_info(bundle_dir)
    names = []
    for c in bb.chimerax_classifiers:
        parts = [p.strip() for p in c.split(' ::')]
        if parts[1] == 'Command':
            names.append(parts[2])
    return names


CHECK_SCRIPT = textwrap.dedent('''
    # Force ChimeraX's lazy registration of each named command, as typing it would.
    import sys
    from chimerax.core.commands import cli
    failed = []
    for name in [a.replace('_', ' ') for a in sys.argv[1:]]:     # connectome_demo
        try:
            cli.command_function(name)
        except Exception as e:
            failed.append('%s: %s' % (name, e))
    if failed:
        raise SystemExit('\\n'.join(failed))
''')


def test_every_declared_command_registers(session):
    from chimerax.core.commands import cli
    names = declared_commands()
    assert {'connectome demo', 'connectome combine', 'connectome ids'} <= set(names)
    for name in names:
        f = cli.command_function(name)
        assert callable(f), name


def test_declared_command_missing_from_dispatch_fails(tmp_path):
    """The check above can fail: a copy of the bundle declaring one more command."""
    copy = tmp_path / 'bundle'
    shutil.copytree(SRC, copy / 'src', ignore=shutil.ignore_patterns('__pycache__'))
    xml = open(os.path.join(REPO, 'bundle_info.xml')).read()
    extra = ('<ChimeraXClassifier>Command :: connectome bogus :: Volume Data :: '
             'declared but not dispatched</ChimeraXClassifier>\n  </Classifiers>')
    (copy / 'bundle_info.xml').write_text(xml.replace('</Classifiers>', extra, 1))
    script = tmp_path / 'check.py'
    script.write_text(CHECK_SCRIPT)
    env = {'CHIMERAX_HEADLESS_BUNDLE': str(copy)}
    good = headless('--nogui', '--exit', '--script', '%s connectome_demo' % script, env=env)
    assert good.returncode == 0, good.stderr
    bad = headless('--nogui', '--exit', '--script', '%s connectome_bogus' % script, env=env)
    assert bad.returncode != 0
    assert 'connectome bogus' in bad.stderr and 'no registration' in bad.stderr


def test_help_finds_command_page(session, run, monkeypatch):
    opened = []
    import webbrowser
    monkeypatch.setattr(webbrowser, 'open', lambda url, *a, **k: opened.append(url))
    run('help connectome demo')
    assert len(opened) == 1
    if opened[0].startswith('help:'):
        # Without a window ChimeraX hands its help: URL to the web browser; the help viewer
        # resolves it through the toolshed's help directories, as `help help:...` does.
        assert opened[0] == 'help:user/commands/connectome.html#demo', opened
        run('help %s' % opened.pop())
        assert len(opened) == 1
    from urllib.parse import urlparse
    from urllib.request import url2pathname
    u = urlparse(opened[0])
    path = url2pathname(u.path)
    assert os.path.samefile(path, os.path.join(SRC, 'docs', 'user', 'commands', 'connectome.html'))
    assert u.fragment == 'demo'
    assert 'id="demo"' in open(path).read() or 'name="demo"' in open(path).read()


@pytest.mark.slow
def test_devel_build_and_install_make_a_working_bundle(tmp_path):
    """`devel build .` makes a wheel with docs and classifiers; `devel install .` installs it
    where a new ChimeraX process finds it without the source tree."""
    work = tmp_path / 'bundle'
    shutil.copytree(SRC, work / 'src', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(os.path.join(REPO, 'bundle_info.xml'), work)
    home = tmp_path / 'home'
    env = {'CHIMERAX_HEADLESS_HOME': str(home), 'CHIMERAX_HEADLESS_BUNDLE': 'installed'}
    p = headless('--nogui', '--exit', '--cmd', 'devel build . exit true', cwd=work, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    import glob
    import zipfile
    (wheel,) = glob.glob(str(work / 'dist' / '*.whl'))
    names = zipfile.ZipFile(wheel).namelist()
    assert 'chimerax/connectome/docs/user/commands/connectome.html' in names
    meta = zipfile.ZipFile(wheel).read(
        [n for n in names if n.endswith('METADATA')][0]).decode()
    for name in declared_commands():
        assert 'ChimeraX :: Command :: %s ::' % name in meta
    # What `devel install .` (make install) pip-installs: every package bundle_info.xml
    # declares, with its pin (tests/portable/test_dependencies.py checks the declarations
    # cover what src/ imports).  This test installs with noDeps true.
    requires = dict(dependencies.requirement(r) for r in
                    email.parser.Parser().parsestr(meta).get_all('Requires-Dist'))
    wanted = dependencies.declared(os.path.join(REPO, 'bundle_info.xml'))
    assert {d: requires.get(d) for d in wanted} == wanted
    pins = dependencies.runtime_pins(os.path.join(REPO, 'requirements', 'runtime.txt'))
    for name in ('numcodecs', 'zmesh', 'fastremap', 'dracopy', 'crackle-codec', 'h5py'):
        assert requires[name] == pins[name], name
    p = headless('--nogui', '--exit', '--cmd', 'devel install . user true noDeps true exit true',
                 cwd=work, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    shutil.rmtree(work)     # the installed copy must not need the sources
    check = tmp_path / 'check.py'
    check.write_text(CHECK_SCRIPT + textwrap.dedent('''
        import chimerax.connectome as c
        assert '/site-packages/' in c.__file__, c.__file__
    '''))
    p = headless('--nogui', '--exit', '--script', '%s %s' % (check, ' '.join(n.replace(' ', '_') for n in declared_commands())),
                 cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stdout + p.stderr


def test_panel_without_a_window_is_a_user_error(session, run):
    """As in `chimerax --nogui`: no tool panels; the panel's actions are commands."""
    from chimerax.core.errors import UserError
    assert not session.ui.is_gui
    with pytest.raises(UserError, match='connectome panel: needs the ChimeraX window'):
        run('connectome panel')
