# Tenure: two commands on a fresh machine (only Python 3.11 and make needed).
#   make run    bring up the Temporal dev server, the worker and the API
#   make test   run the test suite against real Temporal servers
# Both create .venv and install the project when missing or when pyproject.toml changed.

SHELL  := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

export PIP_NO_INPUT := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help venv run test test-fast test-faults lint format compose-check bench bench-publish postgres clean-venv

help:
	@echo "make run            start Temporal dev server + worker + API (Ctrl-C stops all)"
	@echo "                    other ports: TENURE_TEMPORAL_ADDRESS=127.0.0.1:PORT TENURE_UI_PORT TENURE_API_PORT"
	@echo "make test           run all the tests (PYTEST_ARGS='-k ledger' to select)"
	@echo "make test-fast      run the unit tests only (seconds, no server)"
	@echo "make test-faults    run only the fault tests: kill -9 of the worker, dev server, API mid-burst (~1 min)"
	@echo "                    test groups (pytest markers, set in tests/conftest.py from the fixtures a test uses):"
	@echo "                      unit       no Temporal server, no PostgreSQL (pure code, SQLite, in-process fakes)"
	@echo "                      timeskip   the time-skipping test server (time_env)"
	@echo "                      devserver  the Temporal dev server (dev_env), or server processes of its own"
	@echo "                      postgres   PostgreSQL (runs when TENURE_TEST_POSTGRES_URL is set)"
	@echo "                      faults     kill -9 during a burst of webhooks (tests/test_faults.py; make test runs them too)"
	@echo "                    one group: make test PYTEST_ARGS='-m timeskip'; or PYTEST_ARGS='-m \"not devserver\"'"
	@echo "make lint           the quality gate CI enforces: ruff (lint + format check) and mypy"
	@echo "make format         let ruff format the code and fix what it can"
	@echo "make compose-check  validate docker-compose.yml without a Docker daemon (installs docker-compose 1.29 if missing)"
	@echo "make bench          run the benchmarks: results in bench/results/ (not committed)"
	@echo "make bench-publish  copy the latest run (bench/results/latest.json) into bench/RESULTS.md"
	@echo "make postgres       install (if missing) and start a local PostgreSQL with role/db tenure"

venv: $(STAMP)

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found (need python3.11 or python3 on PATH)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tenure needs Python >= 3.11, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing Tenure and its dependencies into $(VENV) (the first time takes a minute)…"
	$(BIN)/python -m pip install -q -e '.[dev-server,test]'
	@touch $(STAMP)

run: venv
	$(BIN)/python -m starter.supervisor

test: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -m unit $(PYTEST_ARGS)

test-faults: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -m faults $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

compose-check:
	bash scripts/compose_check.sh

bench: venv
	$(BIN)/python -m bench

bench-publish: venv
	$(BIN)/python -m bench publish

postgres:
	bash scripts/postgres.sh

clean-venv:
	rm -rf $(VENV)
