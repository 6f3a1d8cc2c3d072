# Two entry points for a fresh machine: `make repro` (the pipeline) and `make test`.
# Both create or refresh the project's own virtual environment first.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup repro test lint

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

repro: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro

# two workers: the two long end-to-end tests run side by side (tests/conftest.py orders them)
test: setup
	$(VENV)/bin/python -m pytest -n 2 --dist load --maxschedchunk 1

lint: setup
	$(VENV)/bin/ruff check stages koen tests bench
