# `make train` and `make test` each create .venv when it is missing and reinstall the project
# whenever pyproject.toml or constraints.txt changed (the stamp file below), then run.
# One install serves every target: the tests also smoke-test the sweeps (optuna) and the
# benchmarks (panda-gym), so the dev environment holds those extras too.
#
# PYTHON is the interpreter .venv is made with (make PYTHON=/path/to/python3.11 ...). The
# pinned versions in constraints.txt are for Python 3.11 (PyTorch's CPU build, NumPy,
# PyBullet wheels); another interpreter is refused before anything is installed.
PYTHON ?= python3
SUPPORTED_PYTHON := 3.11
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
PIP_INSTALL := $(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt
EXTRAS := dev,sweep,bench
STAMP := $(VENV)/.installed

.PHONY: train test lint format bench wheel-check clean

train: $(STAMP)
	$(VENV)/bin/robot6 train $(ARGS)

test: $(STAMP)
	$(VENV)/bin/pytest $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(VENV_PYTHON) -m benchmarks $(ARGS)

# What a user of the library gets: the wheel alone, in a fresh venv, used from another folder.
WHEEL_VENV := .wheel-venv
wheel-check: $(STAMP)
	rm -rf dist build $(WHEEL_VENV)
	$(VENV_PYTHON) -m pip wheel --quiet --disable-pip-version-check --no-deps -w dist .
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt dist/*.whl
	cd "$$(mktemp -d)" && $(CURDIR)/$(WHEEL_VENV)/bin/python $(CURDIR)/examples/resumable_sac.py \
		--steps 300 --net-arch 16 \
	&& $(CURDIR)/$(WHEEL_VENV)/bin/robot6 train --episodes 2 --net-arch 16 --batch-size 16 \
		--learning-starts 50 --no-progress \
	&& $(CURDIR)/$(WHEEL_VENV)/bin/robot6 train --resume --episodes 3 --no-progress

$(VENV_PYTHON):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
		echo "robot6-sb3 needs Python $(SUPPORTED_PYTHON) (the versions pinned in constraints.txt are" \
		"built for it), but PYTHON=$(PYTHON) is $$($(PYTHON) --version 2>/dev/null || echo missing)." \
		"Run make with PYTHON=/path/to/python$(SUPPORTED_PYTHON); nothing was installed." >&2; \
		exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(VENV_PYTHON)
	$(PIP_INSTALL) -e '.[$(EXTRAS)]'
	touch $@

clean:
	rm -rf $(VENV) $(WHEEL_VENV) dist build .pytest_cache .ruff_cache
