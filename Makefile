# cml-fleet — the two commands that matter: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed-stamp
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: install run sso-demo test lint typecheck unit js e2e bench schemas docs lock audit clean

install: $(STAMP)

# Pinned, reproducible: requirements.lock is the exact set (regenerate with `make lock`).
$(STAMP): pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements.lock
	$(PIP) install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: install  ## start on embedded defaults (SQLite, simulated fleet) with a demo fleet
	$(VENV)/bin/cml-fleet serve

sso-demo: install  ## single sign-on on this machine: a test OpenID provider and cml-fleet (notes/SSO.md)
	$(PY) -m tools.sso_demo

lint: install
	$(VENV)/bin/ruff check src tests bench tools
	$(VENV)/bin/ruff format --check src tests bench tools

typecheck: install
	$(VENV)/bin/mypy

unit: install  ## Python tests: unit, integration, contract (PostgreSQL ones skip without a server)
	$(PYTEST) tests --ignore=tests/e2e

js:  ## the dashboard's reducer and formatting, with node's own test runner
	node --test tests/js/

e2e: install  ## real browser tests, in their own pytest run (Playwright's sync API)
	$(PYTEST) tests/e2e

test: lint typecheck unit js e2e  ## the whole suite

bench: install
	$(PY) -m bench

schemas: install  ## re-export the public JSON Schemas after a compatible change
	$(VENV)/bin/cml-fleet schemas export

docs: install  ## regenerate the README's settings table
	$(PY) -m infrastructure.wiring.settings_doc README.md

# Not part of `test`: it needs a vulnerability service. Exit 1 lists known vulnerabilities; when no
# service answers it prints "dependency audit NOT RUN: ..." and exits 0 (see notes/OPERATIONS.md).
audit: install  ## pip-audit the pinned requirements.lock (OSV, then PyPI)
	$(PY) -m tools.dep_audit --lock requirements.lock

lock:  ## re-resolve the pinned set from pyproject.toml in a fresh venv
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
