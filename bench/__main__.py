"""``make bench``: run every bench/bench_*.py module's ``main(args)`` in turn.

    python -m bench [NAME ...] [--quick]

Each benchmark prints its figures and ratios measured side by side in the same run.
--quick runs them at a small size (to check they work, not to report figures).
"""

import importlib
import os
import sys


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    names = sorted(f[len('bench_'):-3] for f in os.listdir(here)
                   if f.startswith('bench_') and f.endswith('.py'))
    wanted = [a for a in argv if not a.startswith('-')] or names
    flags = [a for a in argv if a.startswith('-')]
    for name in wanted:
        if name not in names:
            raise SystemExit('bench: no benchmark %r (have %s)' % (name, ', '.join(names)))
        print('=== bench %s' % name, flush=True)
        module = importlib.import_module('bench.bench_%s' % name)
        module.main(flags)


if __name__ == '__main__':
    main(sys.argv[1:])
