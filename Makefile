# mlsyslab: the two commands a newcomer needs are `make lab` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
PY := $(BIN)/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# nbgrader's gradebook runs `alembic`, and our CLI spawns `jupyter`: the venv's bin/ must be on PATH.
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install lab test test-fast bench docs chromium bubblewrap hub axe clean help

help:
	@echo "make lab      create .venv, install, open JupyterLab on labs/"
	@echo "make test     create .venv, install everything (test extras, chromium), run the whole suite"
	@echo "make install  create .venv with the package and the lab extras"
	@echo "make bench    run the timing scripts in benchmarks/"
	@echo "make docs     build the documentation site into docs/_build/html"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.stamp-lab: pyproject.toml | $(PY)
	$(PIP) install -e ".[lab]"
	touch $@

$(VENV)/.stamp-test: pyproject.toml | $(PY)
	$(PIP) install -e ".[test,docs]"
	touch $@

install: $(VENV)/.stamp-lab

lab: $(VENV)/.stamp-lab
	$(BIN)/jupyter lab --notebook-dir=labs $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

chromium:
	@bash scripts/ensure_debian_package.sh chromium chromium "browser tests will fail"

# the accessibility tests inject axe-core (npm, from tests/js/package-lock.json) into JupyterLab
axe:
	@bash scripts/ensure_axe.sh

# autograding sandboxes each student's kernel with bubblewrap (Debian package bubblewrap)
bubblewrap:
	@bash scripts/ensure_debian_package.sh bwrap bubblewrap "autograding will refuse to run"

# the JupyterHub test: configurable-http-proxy (npm) and the hub user environment, in .hub/
hub: $(VENV)/.stamp-test
	@VENV_PY=$(PY) bash scripts/ensure_hub.sh

test: $(VENV)/.stamp-test chromium bubblewrap hub axe
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.stamp-test
	$(PY) -m pytest -m "not browser and not nbgrader and not slow and not hub" $(PYTEST_ARGS)

$(VENV)/.stamp-bench: pyproject.toml | $(PY)
	$(PIP) install -e ".[test,bench]"
	touch $@

bench: $(VENV)/.stamp-bench
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

docs: $(VENV)/.stamp-test chromium  # chromium: the widget screenshots (docs/_ext/widget_screenshots.py)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) .hub .pytest_cache test-artifacts docs/_build
