# stageflow-verify. Every target bootstraps .venv from requirements.lock on first use, then
# installs this checkout into it editable (one import name, stageflow_verify; the console script
# stageflow-verify), so every target runs the suite as an installed package would.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUITE := $(VENV)/bin/stageflow-verify
STAMP := $(VENV)/.installed
HYPOTHESIS_PROFILE ?= ci
export HYPOTHESIS_PROFILE

# OBSERVE=1: Hypothesis's observability (a JSON line per test case in .hypothesis/observed/),
# each test case filed under its check's name (core/run/observe.py). Hypothesis reads the switch
# when it is imported, so it is an environment variable of the command.
OBSERVE ?=
OBSERVING := $(if $(filter 1,$(OBSERVE)),HYPOTHESIS_EXPERIMENTAL_OBSERVABILITY=1)

# STAGEFLOW=X verifies released stageflow-core X (in .venv-stageflow-X, made on first use);
# SUT=PATH verifies the stageflow package under PATH; verify-all runs MATRIX_VERSIONS side by side
# (empty: every released stageflow-core from 0.5.0 on, as `pip index versions` lists them).
STAGEFLOW ?=
SUT ?=
MATRIX_VERSIONS ?=

.PHONY: verify verify-all test typecheck lint bench venv help

# Bad STAGEFLOW/SUT input stops make while it parses, before anything (even .venv) is made: one
# line, exit 2. core/run/matrix.py needs only the standard library, so the system Python runs it,
# by its path (the suite is not installed yet).
ifneq ($(strip $(STAGEFLOW)$(SUT)),)
ifneq ($(filter verify,$(MAKECMDGOALS)),)
MATRIX_ERROR := $(shell $(PYTHON) core/run/matrix.py check --stageflow '$(STAGEFLOW)' --sut '$(SUT)' 2>&1 >/dev/null)
$(if $(MATRIX_ERROR),$(error $(MATRIX_ERROR)))
endif
endif

# Every other variable a target reads is checked the same way, against the goals given (the
# example database against the profile each goal runs under): core/run/variables.py.
VARIABLES_ERROR := $(shell $(PYTHON) core/run/variables.py --goals '$(or $(MAKECMDGOALS),verify)' \
	HYPOTHESIS_PROFILE='$(HYPOTHESIS_PROFILE)' HYPOTHESIS_DB='$(HYPOTHESIS_DB)' \
	NIGHTLY_MINUTES='$(NIGHTLY_MINUTES)' CONTRACTS_TIMEOUT='$(CONTRACTS_TIMEOUT)' \
	CONTRACTS_TOTAL='$(CONTRACTS_TOTAL)' JOBS='$(JOBS)' MATRIX_VERSIONS='$(MATRIX_VERSIONS)' \
	CHECKS='$(CHECKS)' MUTANTS='$(MUTANTS)' VERIFY_SEED='$(VERIFY_SEED)' \
	MUTATION_SAMPLE='$(MUTATION_SAMPLE)' MUTATION_SEED='$(MUTATION_SEED)' \
	MUTATION_MODULES='$(MUTATION_MODULES)' MUTATION_CATALOG='$(MUTATION_CATALOG)' \
	OBSERVE='$(OBSERVE)' 2>&1 >/dev/null)
$(if $(VARIABLES_ERROR),$(error $(VARIABLES_ERROR)))

# reach measures the stageflow that .venv imports (PYTHONPATH=DIR for a copy); STAGEFLOW= and SUT=
# are verify's, so reach refuses them while make parses: one line, exit 2.
ifneq ($(strip $(STAGEFLOW)$(SUT)),)
ifneq ($(filter reach,$(MAKECMDGOALS)),)
$(error reach: STAGEFLOW= and SUT= are verify's; measure a copy with PYTHONPATH=DIR make reach)
endif
endif

venv: $(STAMP)

# The stamp is newer than requirements.lock and pyproject.toml once that exact set is installed
# and this checkout with it (editable, no dependencies of its own: the lock pins them all).
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# GNU make itself exits 2 whenever a recipe fails: its last line says "Error 1" (something NEW)
# or "Error 2" (bad input). `stageflow-verify matrix verify ...` returns verify's own code.
verify: $(STAMP)
ifeq ($(strip $(STAGEFLOW)$(SUT)),)
	$(OBSERVING) $(SUITE) verify $(if $(CHECKS),--checks '$(CHECKS)')
else
	$(OBSERVING) $(SUITE) matrix verify --stageflow '$(STAGEFLOW)' --sut '$(SUT)' \
		$(if $(CHECKS),--checks '$(CHECKS)')
endif

# verify under coverage.py (branch), over the in-scope modules of core/run/reach_scope.py: the
# table, reports/reach.json, reports/reach.html and reports/reach-html/. Exit codes are verify's.
.PHONY: reach
reach: $(STAMP)
	$(SUITE) reach $(if $(CHECKS),--checks '$(CHECKS)')

verify-all: $(STAMP)
	$(SUITE) matrix all $(MATRIX_VERSIONS) $(if $(CHECKS),--checks '$(CHECKS)')

test: $(STAMP)
	$(PY) -m pytest -n 2 --durations=10 tests

# The README's promises for a user outside a checkout, run as a user would: the wheel in a fresh
# venv, its verify and pytest --stageflow-verify row for row against make verify (reports/
# verify.json when a complete ci verify left one, else run here), -k fork, the README's example.
# Minutes, not a test: CI runs it after make verify (tests/wheel/installed.py).
.PHONY: wheel-check
wheel-check: $(STAMP)
	$(PY) -m tests.wheel --reference reports/verify.json

# mypy cannot see through the editable install's import hook (a meta path finder): it checks
# the folders under the one import name through links in .typecheck/ (pyproject's mypy_path).
TYPECHECK_LINKS := .typecheck/stageflow_verify
typecheck: $(STAMP)
	@mkdir -p $(TYPECHECK_LINKS) && for d in core models properties stateful; do \
		ln -sfn ../../$$d $(TYPECHECK_LINKS)/$$d; done
	$(PY) -m mypy

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The detection bench drives PyPI peers (frontrun, detangle) from a venv of their own, so they
# never enter .venv. If they cannot be installed the stamp stays old and the bench says so.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_PEERS := frontrun==0.7.0 detangle==0.1.0

bench: $(STAMP) $(BENCH_STAMP)
	HYPOTHESIS_PROFILE=dev $(PY) -m tests.bench

$(BENCH_STAMP): requirements.lock
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-c requirements.lock stageflow-core $(BENCH_PEERS) && touch $@ \
		|| echo "bench: could not install $(BENCH_PEERS); the detection table will say so"

# Every planted bug of tests/quality/mutants.py against verify (and the CORE-003-style
# baseline), JOBS at a time; prints the table and `killed K/N`. Then MUTATION_SAMPLE cosmic-ray
# mutants of MUTATION_MODULES (modelled | later | interceptors | all), drawn with MUTATION_SEED,
# each scored by verify; `all` scores every one (nightly). Both halves write reports/mutation.json;
# MUTATION_CATALOG=0 skips the catalog, MUTATION_SAMPLE=0 the generated mutants.
# The default sample fits 30 minutes on 2 cores (README: seconds per mutant as measured).
MUTATION_SAMPLE ?= 120
MUTATION_SEED ?= 15
MUTATION_MODULES ?= modelled
.PHONY: mutation
mutation: $(STAMP)
	$(SUITE) mutation $(if $(JOBS),--jobs $(JOBS)) $(if $(MUTANTS),--only $(MUTANTS)) \
		--sample='$(MUTATION_SAMPLE)' --seed='$(MUTATION_SEED)' --modules='$(MUTATION_MODULES)' \
		$(if $(filter 0,$(MUTATION_CATALOG)),--no-catalog)

# Every check under the nightly profile on every core (pytest-xdist) for NIGHTLY_MINUTES; writes
# reports/nightly.json, .md and .xml (JUnit). HYPOTHESIS_DB=redis://HOST:PORT shares examples.
NIGHTLY_MINUTES ?= 30
.PHONY: nightly modelcheck contracts
nightly: $(STAMP)
	NIGHTLY_STARTED=$$(date +%s.%N) HYPOTHESIS_PROFILE=nightly $(OBSERVING) \
		$(SUITE) nightly --minutes $(NIGHTLY_MINUTES) \
		$(if $(CHECKS),--checks '$(CHECKS)')

# Every schedule of small real-Stageflow scenarios within a preemption bound, and a
# breadth-first walk of the models' own states; writes reports/modelcheck.json.
modelcheck: $(STAMP)
	$(SUITE) modelcheck

# CrossHair on the models' and the checker's contracts, diffbehavior, and the properties under
# the crosshair profile; CONTRACTS_TIMEOUT per condition, CONTRACTS_TOTAL for the whole run.
CONTRACTS_TIMEOUT ?= 2
CONTRACTS_TOTAL ?= 900
contracts: $(STAMP)
	timeout --foreground --kill-after=5 $$(( $(CONTRACTS_TOTAL) + 60 )) $(SUITE) contracts \
		--per-condition-timeout $(CONTRACTS_TIMEOUT) --total-timeout $(CONTRACTS_TOTAL)

# `make help`: the targets, the variables and the exit codes, from the README's own tables (one
# source: the README is what tests/cover/test_bad_input.py holds the variables to).
help:
	@$(PYTHON) core/run/help.py
