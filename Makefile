# paymend-streams: the one command surface. `make help` lists the targets.
# `make run` and `make test` create or update the virtual environment by themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_DIR := .run

.DEFAULT_GOAL := help

.PHONY: help run test lint typecheck fmt stop clean unit integration

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=24'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[local,dev]'
	@touch $(STAMP)

run: $(STAMP) ## Run everything locally: embedded broker, Paymend sandbox, worker, demo traffic (Ctrl-C stops)
	$(BIN)/python -m streams run --run-dir $(RUN_DIR)

test: lint typecheck ## Lint, type-check and run the whole test suite (integration tests included)
	$(BIN)/python -m pytest

unit: $(STAMP) ## Run only the tests that need no broker or sandbox
	$(BIN)/python -m pytest -m 'not integration'

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy --strict on streams and schemas
	$(BIN)/mypy

fmt: $(STAMP) ## Format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

stop: ## Stop what `make run` started (by the pids it recorded)
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m streams stop --run-dir $(RUN_DIR); \
	else echo "nothing to stop"; fi

clean: stop ## Remove the virtual environment and local run state
	rm -rf $(VENV) $(RUN_DIR) .mypy_cache .ruff_cache .pytest_cache
