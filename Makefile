# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint unit migrate clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(STAMP)

run: $(STAMP)  ## install into .venv and start the gateway on :3000 with SQLite
	$(BIN)/one-api serve

migrate: $(STAMP)  ## create or upgrade the database schema
	$(BIN)/one-api migrate

lint: $(DEV_STAMP)  ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Two pytest-xdist workers, one per core of the CI machine, each with its own databases
# (tests/support/databases.py); 3 were ~8% faster there but slow every request down, which the
# timing-sensitive tests feel. `make test PYTEST_ARGS=` runs the suite in one process.
PYTEST_ARGS ?= -n 2

test: $(DEV_STAMP) lint  ## install dev dependencies, lint, run the whole suite
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## side-by-side benchmark vs LiteLLM (bench/README.md); BENCH_ARGS=--quick for a smoke
	bench/run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
