"""``chimerax-headless``: the ``chimerax`` executable's scripting flags over a real session.

    chimerax-headless [--nogui] [--offscreen] [--exit] [--silent] [--safemode]
                      [--cmd "CMD; CMD"]... [--script "FILE.py ARGS" | FILE.cxc]...
                      [FILE ...]

As in ChimeraX: --cmd commands run first, then --script scripts (``runscript``, so a
Python script's sys.argv is [FILE, ARGS...]), then each FILE is opened.  --offscreen
renders with OSMesa (without it there is no OpenGL, as with ``chimerax --nogui``).
Without --exit, commands are then read from standard input until end of file.
A command that fails ends the process with status 1 and the error on stderr.
"""

import sys


USAGE = __doc__.split('\n\n')[1]


def parse_args(argv):
    opts = {'offscreen': False, 'exit': False, 'silent': False, 'safemode': False,
            'commands': [], 'scripts': [], 'files': [], 'debug': False}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ('--nogui', '--gui'):
            pass
        elif a == '--offscreen':
            opts['offscreen'] = True
        elif a == '--exit':
            opts['exit'] = True
        elif a == '--silent':
            opts['silent'] = True
        elif a == '--debug':
            opts['debug'] = True
        elif a == '--safemode':
            opts['safemode'] = True
        elif a in ('--cmd', '--script'):
            if i + 1 >= len(argv):
                raise SystemExit('chimerax-headless: %s needs an argument\n%s' % (a, USAGE))
            opts['commands' if a == '--cmd' else 'scripts'].append(argv[i + 1])
            i += 1
        elif a.startswith('--cmd=') or a.startswith('--script='):
            key, value = a[2:].split('=', 1)
            opts['commands' if key == 'cmd' else 'scripts'].append(value)
        elif a in ('-h', '--help'):
            print(USAGE)
            raise SystemExit(0)
        elif a.startswith('--'):
            raise SystemExit('chimerax-headless: unknown option %s\n%s' % (a, USAGE))
        else:
            opts['files'].append(a)
        i += 1
    return opts


def _run_or_report(session, text):
    """Run one command line; on failure print the error to stderr and return False."""
    from chimerax.core.commands import run
    from chimerax.core.errors import UserError, CancelOperation
    try:
        with session.in_script:
            run(session, text)
    except (UserError, CancelOperation) as e:
        print('ERROR: %s' % e, file=sys.stderr)
        return False
    except SystemExit:
        raise
    except Exception:
        import traceback
        traceback.print_exc()
        return False
    return True


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    opts = parse_args(argv)
    from .boot import start_session, SOURCE_BUNDLE
    # --safemode: like ChimeraX's, no third-party bundle code runs (what `devel install` wants).
    session = start_session(offscreen=opts['offscreen'], silent=opts['silent'],
                            source_bundle=None if opts['safemode'] else SOURCE_BUNDLE)
    steps = list(opts['commands'])
    steps += ['runscript %s' % s for s in opts['scripts']]
    from chimerax.core.commands import StringArg
    steps += ['open %s' % StringArg.unparse(f) for f in opts['files']]
    try:
        for text in steps:
            if not _run_or_report(session, text):
                return 1
        if not opts['exit']:
            ok = True
            for line in sys.stdin:
                line = line.strip()
                if line and not line.startswith('#'):
                    ok = _run_or_report(session, line) and ok
            return 0 if ok else 1
    except SystemExit as e:
        # `exit` / `quit` commands, and scripts that call sys.exit.
        # As Python does: a message (not a number) goes to stderr, with status 1.
        code = e.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            return 1
        return 0 if code is None else code
    return 0


if __name__ == '__main__':
    sys.exit(main())
