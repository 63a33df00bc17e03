# `make train` and `make test` each create .venv when it is missing and reinstall the project
# whenever pyproject.toml or constraints.txt changed (the stamp files below), then run.
VENV := .venv
PYTHON := $(VENV)/bin/python
PIP_INSTALL := $(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: train test lint format bench clean

train: $(DEV_STAMP)
	$(VENV)/bin/robot6 train $(ARGS)

test: $(DEV_STAMP)
	$(VENV)/bin/pytest $(ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(BENCH_STAMP)
	$(PYTHON) -m benchmarks $(ARGS)

$(PYTHON):
	python3 -m venv $(VENV)

$(DEV_STAMP): pyproject.toml constraints.txt | $(PYTHON)
	$(PIP_INSTALL) -e '.[dev,sweep]'
	touch $@

$(BENCH_STAMP): pyproject.toml constraints.txt | $(PYTHON)
	$(PIP_INSTALL) -e '.[dev,sweep,bench]'
	touch $@ $(DEV_STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
