"""Importing ``chimerax.connectome`` from src/ where ChimeraX is absent (the portable
tests, and scripts they run): ``chimerax`` becomes an empty namespace package and
``chimerax.connectome`` is loaded from src/, so any import of ChimeraX itself fails, as
it must in the pure folders.  The ChimeraX tests import it through the harness instead.
"""

import importlib.util
import os
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(REPO, 'src')


def import_from_source(src=SRC):
    """Make ``import chimerax.connectome`` load src/ (once; a no-op when a ChimeraX
    session, or the harness, has already made it importable)."""
    if 'chimerax' in sys.modules:
        return
    namespace = types.ModuleType('chimerax')
    namespace.__path__ = []
    sys.modules['chimerax'] = namespace
    spec = importlib.util.spec_from_file_location(
        'chimerax.connectome', os.path.join(src, '__init__.py'),
        submodule_search_locations=[src])
    module = importlib.util.module_from_spec(spec)
    sys.modules['chimerax.connectome'] = module
    namespace.connectome = module
    spec.loader.exec_module(module)
