# stageflow-verify. Every target bootstraps .venv from requirements.lock on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HYPOTHESIS_PROFILE ?= ci
export HYPOTHESIS_PROFILE

.PHONY: verify test typecheck lint bench venv

venv: $(STAMP)

# The stamp is newer than requirements.lock once that exact set is installed.
$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

verify: $(STAMP)
	$(PY) -m core.verify $(if $(CHECKS),--checks '$(CHECKS)')

test: $(STAMP)
	$(PY) -m pytest -n 2 tests

typecheck: $(STAMP)
	$(PY) -m mypy

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	HYPOTHESIS_PROFILE=dev $(PY) -m tests.bench
