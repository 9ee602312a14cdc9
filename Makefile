# Helpdesk bot. `make demo` and `make test` work on a fresh machine (Python 3.11+, pip, make).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo run seed migrate test test-fast lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## The real bot process against the local Bot API emulator, in a terminal chat (no token needed).
demo: install
	$(PY) -m demo

## The bot against Telegram (or TELEGRAM_API_URL); needs BOT_TOKEN in .env or the environment.
run: install
	$(PY) -m bot

migrate: install
	$(PY) -m database migrate

seed: install
	$(PY) -m database seed

## Everything: unit, database (SQLite + PostgreSQL), end-to-end.
test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not e2e"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache data/demo
