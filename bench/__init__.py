"""Benchmarks (``make bench``).  Importing this package makes ``chimerax.connectome``
importable from src/ and ChimeraX's own modules from the library wheel, without a session."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get('CONNECTOME_BENCH_DATA', os.path.join(REPO, 'bench-data'))
sys.path.insert(0, os.path.join(REPO, 'harness'))

from cxheadless import boot  # noqa: E402

boot.prepare_chimerax_package(REPO)
