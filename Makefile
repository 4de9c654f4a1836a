# Madoguchi: one virtualenv at .venv, everything through make.
#   make demo    install, migrate, load the demo data, serve on http://127.0.0.1:8000
#   make test    the whole suite (SQLite unless DATABASE_URL says otherwise)
#   make check   lint, format and type checks
#   make bench   the benchmarks
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANAGE := $(BIN)/python -m madoguchi
HOST ?= 127.0.0.1
PORT ?= 8000
MAIL_SINK_PORT ?= 1025
PYTEST_ARGS ?= -n 2 --dist loadgroup
DEMO_PASSWORD := madoguchi-demo

.PHONY: help install translations demo test check bench

help:
	@echo "make demo   - set up and serve the demo at http://$(HOST):$(PORT)"
	@echo "make test   - run the test suite (DATABASE_URL selects the database; default SQLite)"
	@echo "make check  - ruff check, ruff format --check, mypy"
	@echo "make bench  - run the benchmarks"

# The stamp is newer than pyproject.toml once the editable install succeeded: re-runs are instant.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Madoguchi needs Python >= 3.11; $(PYTHON) is $$($(PYTHON) --version 2>&1)." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

translations: $(STAMP)
	@$(MANAGE) compile_translations

# The demo's mail (replies and system mail) goes to the sink that `serve --mail-sink` runs.
demo: export EMAIL_HOST := 127.0.0.1
demo: export EMAIL_PORT := $(MAIL_SINK_PORT)
demo: translations
	@mkdir -p var
	$(MANAGE) migrate --noinput
	$(MANAGE) demo_seed --password '$(DEMO_PASSWORD)'
	$(MANAGE) serve --host $(HOST) --port $(PORT) --mail-sink 127.0.0.1:$(MAIL_SINK_PORT)

# pytest exits 5 when it collected no test: that is a failure here, never a green run.
test: translations
	@status=0; $(BIN)/pytest $(PYTEST_ARGS) $(ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing." >&2; exit 1; fi; \
	exit $$status

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy madoguchi

bench: translations
	$(BIN)/python -m benchmarks $(ARGS)
