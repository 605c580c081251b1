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

.PHONY: setup run test test-fast lint bench clean i18n

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

# The interface's translations (locale/): extract every `_()`/`N_()` string from tui/ and cli/
# into the template, merge it into the Chinese catalog (new strings arrive untranslated: fill
# their msgstr in locale/zh/LC_MESSAGES/pathway.po), then compile the .mo that pathway reads.
# tests/test_i18n.py fails until every string is translated and the .mo matches the .po.
i18n: setup
	$(PY) -m babel.messages.frontend extract -F babel.cfg -k N_ --no-location --sort-output --project pathway --copyright-holder pathway -o locale/pathway.pot .
	$(PY) -m babel.messages.frontend update -i locale/pathway.pot -d locale -D pathway -l zh --no-fuzzy-matching --ignore-obsolete
	$(PY) -m babel.messages.frontend compile -d locale -D pathway -l zh --statistics
