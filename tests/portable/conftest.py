"""The portable tests: the pure folders (formats, pipeline, demo) and the shared pure
modules, run without ChimeraX (``make test-fast`` runs them in a virtual environment that
has no ChimeraX wheel and no Qt)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'common'))

import package  # noqa: E402

REPO = package.REPO
package.import_from_source()
