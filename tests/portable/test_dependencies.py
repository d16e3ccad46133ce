"""What `make install` gives a ChimeraX app user is what the code imports: every
third-party module src/ imports (function-local and optional imports included) is one
the ChimeraX app ships (tests/common/dependencies.py CHIMERAX_SHIPS, with the releases
it was read from) or is pinned in requirements/runtime.txt and declared with the same
pin in bundle_info.xml, whose <Dependencies> are all `devel install .` pip-installs;
runtime.txt and bundle_info.xml name the same packages at the same versions; numba's
imports stay optional."""

import importlib.metadata
import importlib.util
import os

import pytest

import dependencies as deps
from package import REPO, SRC

RUNTIME = os.path.join(REPO, 'requirements', 'runtime.txt')
BUNDLE_INFO = os.path.join(REPO, 'bundle_info.xml')


def test_code_runtime_txt_and_bundle_info_agree():
    found = deps.problems(SRC, RUNTIME, BUNDLE_INFO)
    assert not found, '\n'.join(found)


def test_the_walk_finds_imports_at_any_depth():
    """Lazy imports count: the cluster's distributed, numba's guarded import, the
    chunk files' codecs imported inside functions."""
    imports = deps.third_party_imports(SRC)
    for module in ('numcodecs', 'distributed', 'numba', 'zmesh', 'DracoPy', 'crackle',
                   'compressed_segmentation', 'zstandard', 'h5py', 'numpy'):
        assert module in imports, module
    assert 'chimerax' not in imports and 'os' not in imports
    assert all(guarded for _, _, guarded in imports['numba'])


def test_every_import_names_its_installed_distribution():
    """DISTRIBUTION_OF's names are the distributions that really provide each module
    (importlib.metadata, from the installed packages' own records), for every module
    installed here (.venv-portable has all of runtime.txt)."""
    provided = importlib.metadata.packages_distributions()
    checked = []
    for module in deps.third_party_imports(SRC):
        if module in deps.CHIMERAX_SHIPS and module not in provided:
            continue        # Qt: ChimeraX's own, not in the test environments
        if importlib.util.find_spec(module) is None and module in deps.OPTIONAL:
            continue        # numba, left out of .venv-numpy2
        assert module in provided, '%s is imported by src/ but not installed' % module
        dists = {deps.normalize(d) for d in provided[module]}
        assert deps.distribution(module) in dists, (module, dists)
        checked.append(module)
    assert len(checked) >= 15


def _tree(tmp_path, code, runtime, bundle):
    src = tmp_path / 'src'
    (src / 'formats').mkdir(parents=True)
    (src / 'formats' / 'reader.py').write_text(code)
    (tmp_path / 'runtime.txt').write_text(runtime)
    (tmp_path / 'bundle_info.xml').write_text(
        '<BundleInfo><Dependencies>%s</Dependencies></BundleInfo>' % ''.join(
            '<Dependency name="%s"%s/>' % (n, ' version="%s"' % v if v else '')
            for n, v in bundle))
    return deps.problems(str(src), str(tmp_path / 'runtime.txt'),
                         str(tmp_path / 'bundle_info.xml'))


def test_the_check_finds_what_a_user_would_miss(tmp_path):
    """main before this test: cmapread imported numcodecs at module level, which only
    requirements/test.txt pinned and bundle_info.xml did not declare."""
    code = ('import os\nimport numpy as np\nfrom numcodecs import blosc\n'
            'def f():\n    import crackle\n    from chimerax.core import errors\n'
            'import numba\n')
    bundle = [('ChimeraX-Core', '~=1.7'), ('numpy', ''), ('h5py', ''),
              ('crackle-codec', '==0.55.0'), ('numba', '==0.60.0')]
    found = _tree(tmp_path, code, 'h5py==3.10.0\ncrackle-codec==0.55.0\nnumba==0.60.0\n',
                  bundle)
    assert found == [
        'numba imported at formats/reader.py:7 outside try ... except ImportError: it must'
        ' stay optional (%s)' % deps.OPTIONAL['numba'],
        'numcodecs (imported at formats/reader.py:3) is not pinned in requirements/runtime.txt',
        'numcodecs (imported at formats/reader.py:3) is not declared in bundle_info.xml',
        "h5py: runtime.txt pins '==3.10.0', bundle_info.xml declares ''",
    ]


def test_the_check_finds_disagreements(tmp_path):
    code = ('import numpy\ntry:\n    import numba\nexcept ImportError:\n    numba = None\n'
            'import google_crc32c\n')
    found = _tree(tmp_path, code,
                  '# a comment\nnumba==0.60.0  # why\ngoogle-crc32c==1.9.0\nnumpy==1.26.4\n'
                  'zmesh==1.15.0\n',
                  [('numpy', '>=1.25'), ('numba', '~=0.60'), ('google_crc32c', '==1.9.0'),
                   ('fastremap', '==1.21.0')])
    assert found == [
        "numba: runtime.txt pins '==0.60.0', bundle_info.xml declares '~=0.60'",
        'numpy is pinned in runtime.txt but ChimeraX ships it',
        'zmesh==1.15.0 is pinned in runtime.txt but not declared in bundle_info.xml',
        'fastremap is declared in bundle_info.xml but not pinned in runtime.txt',
        "numpy is declared '>=1.25' in bundle_info.xml: ChimeraX ships it, so it is"
        ' declared unpinned',
    ]


@pytest.mark.parametrize('name, expected', [
    ('DracoPy', 'dracopy'), ('ml_dtypes', 'ml-dtypes'), ('crackle-codec', 'crackle-codec'),
    ('Compressed.Segmentation', 'compressed-segmentation')])
def test_names_compare_as_pep_503_says(name, expected):
    assert deps.normalize(name) == expected
