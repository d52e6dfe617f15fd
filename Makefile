# Hookseal: every developer and CI command. `make help` lists them.
# Only python3, make and git are needed: the first target run bootstraps a pinned uv
# into .tools/ and the one project venv into .venv/ (re-runs are no-ops when nothing changed).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hookseal-installed
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

PYPROJECTS := pyproject.toml $(wildcard */pyproject.toml sdk/*/pyproject.toml)

.PHONY: help install demo test lint typecheck pytest generate check-generated check-packages bench docs docs-build screenshots clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install --quiet "uv==$(UV_VERSION)"

uv.lock: $(PYPROJECTS) | $(UV)
	$(UV) lock
	@touch $@

$(STAMP): uv.lock $(PYPROJECTS) | $(UV)
	$(UV) sync --locked --all-packages --all-groups
	@touch $@

install: $(STAMP) ## Build the project venv (.venv) with every package editable and every command in .venv/bin

demo: install ## Run the end-to-end demo (SQLite, temp dir) and exit
	$(BIN)/hookseal-sender demo

lint: install ## ruff
	$(BIN)/ruff check .

typecheck: install ## mypy --strict over every package
	$(BIN)/mypy

pytest: install ## Run the test suite only
	@# The tests start hundreds of Python subprocesses (CLI runs, conformance runs, worker
	@# processes); where the environment sets PYTHONDONTWRITEBYTECODE each of them compiled
	@# every module it imported again (about 3 s of CPU a conformance run). Caches are
	@# written once and reused.
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest

generate: install ## Regenerate every generated file (vectors, models, docs pages)
	$(BIN)/python sdk/vectors/generate.py
	$(BIN)/hookseal-catalog generate-models -o sdk/python/src/hookseal/models
	$(BIN)/python sdk/python/tools/generate_examples.py

check-generated: install ## Fail if a generated file is stale
	$(BIN)/python sdk/vectors/generate.py --check
	$(BIN)/hookseal-catalog generate-models -o sdk/python/src/hookseal/models --check
	$(BIN)/python sdk/python/tools/generate_examples.py --check

check-packages: uv.lock | $(UV) ## Each package installs alone from the lock (throwaway venvs) and its modules and commands import
	$(PYTHON) .ci/check_packages.py --uv $(UV) --python $(PYTHON)

test: lint typecheck check-generated check-packages pytest ## Lint, type-check, check generated files and lone installs, run every test

bench: install ## Run the benchmarks (prints medians and ratios)
	$(BIN)/python sdk/python/bench/bench_verify.py --write
	$(BIN)/python reference_sender/bench/bench_sender.py
	$(BIN)/python reference_sender/bench/bench_tracing.py
	$(BIN)/python reference_sender/bench/bench_levers.py
	$(BIN)/python reference_sender/bench/bench_ordering.py
	$(BIN)/python reference_sender/bench/bench_batches.py
	$(BIN)/python reference_sender/bench/bench_review.py
	$(BIN)/python reference_sender/bench/bench_portal.py
	$(BIN)/python reference_sender/bench/bench_portal_figures.py

docs: install ## Serve the docs site locally on http://127.0.0.1:8000
	$(BIN)/mkdocs serve -a 127.0.0.1:8000

docs-build: install ## Build the docs site strictly into site/
	$(BIN)/mkdocs build --strict

screenshots: install ## Regenerate the portal's screenshots in docs/assets/portal/ from a running portal (headless chromium)
	$(BIN)/python docs/_build/portal_screenshots.py

clean: ## Remove the venv, tool venv and build output
	rm -rf $(VENV) $(TOOLS) site dist build
