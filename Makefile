# `make train` and `make test` each create .venv when it is missing and reinstall the project
# whenever pyproject.toml or constraints.txt changed (the stamp file below), then run.
# One install serves every target: the tests also smoke-test the sweeps (optuna) and the
# benchmarks (panda-gym), so the dev environment holds those extras too.
VENV := .venv
PYTHON := $(VENV)/bin/python
PIP_INSTALL := $(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt
EXTRAS := dev,sweep,bench
STAMP := $(VENV)/.installed

.PHONY: train test lint format bench clean

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
	$(PYTHON) -m benchmarks $(ARGS)

$(PYTHON):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(PYTHON)
	$(PIP_INSTALL) -e '.[$(EXTRAS)]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
