# pathway — two commands from a fresh clone:
#   make run    set up (first time) and launch pathway
#   make test   set up (first time) and run the whole test suite (what CI runs)
# For the inner loop: make test-fast skips the tests that train models or start runners.
# Both are idempotent: set-up reruns only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.pathway-installed

# Without an NVIDIA GPU, take torch's CPU build instead of multi-GB CUDA wheels.
# (Where that index is unreachable, pip falls back to the other sources it knows.)
TORCH_CPU_INDEX := --extra-index-url https://download.pytorch.org/whl/cpu --retries 0 --timeout 5
TORCH_SOURCE    := $(if $(shell command -v nvidia-smi 2>/dev/null),,$(TORCH_CPU_INDEX))

.PHONY: setup run test test-fast lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet -c constraints.txt torch $(TORCH_SOURCE)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

run: setup
	$(VENV)/bin/pathway

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

lint: setup
	$(PY) -m ruff check .

bench: setup
	$(PY) bench/startup.py

clean:
	rm -rf $(VENV) build *.egg-info
