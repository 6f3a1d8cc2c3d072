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
# where pip takes torch from: empty for PyPI (a CUDA build on Linux x86_64 machines, the CPU
# wheel on this project's machines, which keep it on disk), or a PyTorch index for another
# build, e.g. make setup TORCH_INDEX=https://download.pytorch.org/whl/cu126
TORCH_INDEX ?=

# pip takes torch (its CPU wheel lies on this machine's disk, where uv does not look); uv, already
# satisfied on torch, installs the rest: about 2 min in all instead of pip's 3.5 (bench/install.py).
# Bytecode is compiled at install, so no stage process compiles a library.
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCH)
	$(VENV)/bin/python -m pip install --quiet '$(UV)'
	$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python --compile-bytecode -e '.[dev]'
	touch $(STAMP)

repro: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro

# two workers: the two long end-to-end tests run side by side (tests/conftest.py orders them)
test: setup
	$(VENV)/bin/python -m pytest -n 2 --dist load --maxschedchunk 1 --durations 20

lint: setup
	$(VENV)/bin/ruff check stages koen tests bench
