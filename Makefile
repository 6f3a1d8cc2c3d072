# Two entry points for a fresh machine: `make repro` (the pipeline) and `make test`.
# Both create or refresh the project's own virtual environment first.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup repro test lint

setup: $(STAMP)

# pyproject's torch pin, e.g. "torch==2.13.0"
TORCH := $(shell grep -o '"torch==[^"]*"' pyproject.toml)
ifeq ($(TORCH),)
$(error pyproject.toml pins no torch ("torch==X.Y.Z"): uv would install a CUDA build)
endif
UV := uv==0.13.8
# where pip takes torch from: empty for PyPI (on Linux x86_64 that is a CUDA build of several
# GB), or a PyTorch index for another build: the CPU build with
# make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu, CUDA 12.6 with .../whl/cu126.
# It counts when .venv is installed: give it on the first make (or after rm -rf .venv).
TORCH_INDEX ?=

# pip takes torch (pip follows the machine's own pip configuration, such as a local wheel folder
# in PIP_FIND_LINKS, where uv does not look); uv, already satisfied on torch, installs the rest:
# about 2 min in all instead of pip's 3.5 where bench/install.py measured it.
# Bytecode is compiled at install, so no stage process compiles a library.
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCH)
	$(VENV)/bin/python -m pip install --quiet '$(UV)'
	$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python --compile-bytecode -e '.[dev]'
	touch $(STAMP)

# the pipeline, then its figures against the expected set of the precision it ran in
repro: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro
	$(VENV)/bin/python -m koen.report.regression

# two workers: the two long end-to-end tests run side by side (tests/conftest.py orders them)
test: setup
	$(VENV)/bin/python -m pytest -n 2 --dist load --maxschedchunk 1 --durations 20

lint: setup
	$(VENV)/bin/ruff check stages koen tests bench
