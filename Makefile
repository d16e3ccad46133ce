# ChimeraX-Connectome. On a fresh machine: `make demo`, then `make test`.
# Targets that run ChimeraX use bin/chimerax-headless (real ChimeraX code from UCSF's
# PyPI library wheel, in .venv); `make install` / `make wheel` use your ChimeraX app.

PYTHON   ?= python3
CHIMERAX ?= chimerax
VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
# The portable tests run in a second environment with no ChimeraX wheel and no Qt, which
# proves the pure folders need neither.
PORTABLE := .venv-portable
PPY      := $(PORTABLE)/bin/python
PSTAMP   := $(PORTABLE)/.installed
# A third, for the ChimeraX to come (newer Python, numpy 2): today's numpy 2, h5py and
# hdf5plugin, and no numba; `make test-numpy2` runs the portable tests there.
NUMPY2   := .venv-numpy2
# Its Python (a newer one if there is: make test-numpy2 NUMPY2_PYTHON=python3.13).
NUMPY2_PYTHON ?= $(PYTHON)
NPY      := $(NUMPY2)/bin/python
NSTAMP   := $(NUMPY2)/.installed
# Igneous, the baseline of bench/bench_meshes.py, pins DracoPy 1.x: an environment of its
# own, made by `make venv-igneous` (and `make bench`).
IGNEOUS  := .venv-igneous
ISTAMP   := $(IGNEOUS)/.installed
HEADLESS := bin/chimerax-headless --nogui --offscreen --exit
DEMO_DIR ?= demo-output

.PHONY: venv venv-portable venv-numpy2 venv-igneous test test-fast test-numpy2 test-chimerax demo bench figures install wheel clean distclean

venv: $(STAMP)

venv-portable: $(PSTAMP)

venv-numpy2: $(NSTAMP)

venv-igneous: $(ISTAMP)

$(STAMP): requirements/headless.txt requirements/science.txt requirements/runtime.txt requirements/test.txt requirements/test-nodeps.txt requirements/chimerax.txt
	scripts/system-packages.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check pip==24.0
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/headless.txt -r requirements/runtime.txt -r requirements/test.txt
	# The wheel's own dependency list does not build here; headless.txt pins what it needs.
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements/chimerax.txt -r requirements/test-nodeps.txt
	touch $@

$(PSTAMP): requirements/portable.txt requirements/science.txt requirements/runtime.txt requirements/test.txt requirements/test-nodeps.txt
	test -x $(PPY) || $(PYTHON) -m venv $(PORTABLE)
	$(PPY) -m pip install -q --disable-pip-version-check pip==24.0
	$(PPY) -m pip install -q --disable-pip-version-check -r requirements/portable.txt
	$(PPY) -m pip install -q --disable-pip-version-check --no-deps -r requirements/test-nodeps.txt
	touch $@

$(NSTAMP): requirements/portable-numpy2.txt
	test -x $(NPY) || $(NUMPY2_PYTHON) -m venv $(NUMPY2)
	$(NPY) -m pip install -q --disable-pip-version-check pip==24.0
	$(NPY) -m pip install -q --disable-pip-version-check -r requirements/portable-numpy2.txt
	touch $@

$(ISTAMP): requirements/igneous.txt
	test -x $(IGNEOUS)/bin/python || $(PYTHON) -m venv $(IGNEOUS)
	$(IGNEOUS)/bin/python -m pip install -q --disable-pip-version-check pip==24.0
	$(IGNEOUS)/bin/python -m pip install -q --disable-pip-version-check -r requirements/igneous.txt
	touch $@

# Both layers: the portable tests (plain Python), then the tests on real ChimeraX.
test: test-fast test-chimerax

# The portable tests only: pure folders, no ChimeraX wheel, no Qt.
test-fast: venv-portable venv-igneous
	CONNECTOME_IGNEOUS_PYTHON=$(CURDIR)/$(IGNEOUS)/bin/python $(PPY) -m pytest tests/portable

# The portable tests again with numpy 2 and without numba (not part of `make test`).
test-numpy2: venv-numpy2
	$(NPY) -m pytest tests/portable

test-chimerax: venv venv-igneous
	CONNECTOME_IGNEOUS_PYTHON=$(CURDIR)/$(IGNEOUS)/bin/python $(PY) -m pytest tests/chimerax

demo: venv
	$(HEADLESS) --script "scripts/demo.py $(DEMO_DIR)"

bench: venv venv-igneous
	$(PY) -m bench

# Every picture in docs/ (and the panel's beside its help page), drawn by running
# docs/guide.md's commands and docs/movies/*.cxc on the guide's demo data in $(DEMO_DIR)/guide.
figures: venv
	$(HEADLESS) --script "scripts/figures.py $(DEMO_DIR)/guide"

# With the ChimeraX desktop app (set CHIMERAX=/path/to/ChimeraX if it is not on PATH).
install:
	$(CHIMERAX) --nogui --exit --cmd "devel install . exit true"

wheel:
	$(CHIMERAX) --nogui --exit --cmd "devel build . exit true"

clean:
	rm -rf build dist *.egg-info src/__pycache__ tests/__pycache__ .pytest_cache $(DEMO_DIR)

distclean: clean
	rm -rf $(VENV) $(PORTABLE) $(NUMPY2) $(IGNEOUS)
