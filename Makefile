# cml-fleet — the two commands that matter: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck unit e2e bench schemas clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements.lock
	$(PIP) install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: install  ## start on embedded defaults (SQLite, simulated fleet) with a demo fleet
	$(VENV)/bin/cml-fleet serve

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: install
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest -q -p no:cacheprovider tests --ignore=tests/e2e

e2e: install
	$(PY) -m pytest -q -p no:cacheprovider tests/e2e || [ $$? -eq 5 ]

test: lint typecheck unit e2e  ## the whole suite

bench: install
	$(PY) -m bench

schemas: install  ## re-export the public JSON Schemas after a compatible change
	$(VENV)/bin/cml-fleet schemas export

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
