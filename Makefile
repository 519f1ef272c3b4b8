# Entry points for people and CI alike (CI runs `make test`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: setup run test check lint format bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/lrs db upgrade
	$(BIN)/lrs courses load
	$(BIN)/lrs credentials demo --port $(PORT)
	$(BIN)/lrs serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest

check: setup
	$(BIN)/ruff format --check lrs connectors courses certificates tests bench
	$(BIN)/ruff check lrs connectors courses certificates tests bench
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format lrs connectors courses certificates tests bench
	$(BIN)/ruff check --fix lrs connectors courses certificates tests bench

bench: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
