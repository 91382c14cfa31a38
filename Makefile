# Two commands on a fresh machine with Python >= 3.11, pip and make:
#   make run    start the bot (Discord with TRAINERBOT_DISCORD_TOKEN, else the console)
#   make test   the whole test suite
# Both create .venv and install what they need the first time.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint format clean

help:
	@echo "make run     start trainerbot (Discord if TRAINERBOT_DISCORD_TOKEN is set, else the console)"
	@echo "make test    run the test suite"
	@echo "make test-fast  the contract and unit tests, and every test not slow/engine/subprocess/discord (under a minute)"
	@echo "make lint    ruff, import-linter contracts and mypy"

# The interpreter: refuse politely when it is too old, and make the venv even where the
# distribution's python lacks ensurepip (then through virtualenv from PyPI, installed with
# --target so that a system python marked externally managed (PEP 668) allows it).
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "trainerbot needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	@echo "Creating $(VENV) (first run only)…" >&2
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV) $(VENV).bootstrap; \
		$(PYTHON) -m pip install --quiet --target $(VENV).bootstrap virtualenv && \
		PYTHONPATH=$(VENV).bootstrap $(PYTHON) -m virtualenv --quiet $(VENV) && \
		rm -rf $(VENV).bootstrap; }
	@$(PY) -m pip install --quiet --upgrade pip >&2

# Stamps: reinstall only when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(PY)
	@echo "Installing trainerbot into $(VENV) (the first time, llama.cpp compiles: about 7 minutes on 2 cores)…" >&2
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[local,finetune]' >&2
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	@echo "Installing trainerbot and its test tools into $(VENV) (the first time, llama.cpp compiles: about 7 minutes on 2 cores)…" >&2
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,local,finetune]' >&2
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	@$(BIN)/trainerbot

test: $(VENV)/.installed-dev
	@$(BIN)/pytest

# The markers are registered in pyproject.toml and applied in tests/conftest.py. Bytecode caches
# (gitignored __pycache__) spare a rerun recompiling and re-rewriting every module: a third faster,
# so they are on even where the environment sets PYTHONDONTWRITEBYTECODE.
test-fast: $(VENV)/.installed-dev
	@PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -m "not (slow or engine or subprocess or discord)"

# mypy cannot follow setuptools' editable finder for the renamed src/ folder: give it a
# link named trainerbot (see [tool.mypy] in pyproject.toml).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	@mkdir -p .mypy-path && ln -sfn ../src .mypy-path/trainerbot
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) $(VENV).bootstrap .mypy-path .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
