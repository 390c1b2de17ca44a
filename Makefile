# Two entry points (README): `make run` (embedded demo) and `make test` (the whole suite on real services).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/controlhub
export REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_WORKERS ?= 2

.PHONY: run test up down lint services system-deps clean

$(BIN)/python:
	@$(PY) -c 'import ensurepip' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	@touch $@ $(VENV)/.run-deps

## make run: embedded mode (SQLite, in-process tasks), seeded demo, portal on http://127.0.0.1:8000
run: $(VENV)/.run-deps
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py seed_demo
	@echo "Portal: http://127.0.0.1:8000/   API: http://127.0.0.1:8000/v1/   API docs: http://127.0.0.1:8000/v1/docs/"
	$(BIN)/python manage.py runserver 127.0.0.1:8000

## make test: installs what the tests need, makes sure PostgreSQL and Redis run, runs the whole suite
test: $(VENV)/.test-deps system-deps services
	$(BIN)/ruff check .
	DATABASE_URL=$(PG_URL) $(BIN)/python manage.py makemigrations --check --dry-run -v0
	@echo "embedded mode (what make run does): migrate and seed a fresh SQLite database"
	@rm -f var/embedded-check.sqlite3
	DATABASE_URL=sqlite:///var/embedded-check.sqlite3 $(BIN)/python manage.py migrate -v0
	DATABASE_URL=sqlite:///var/embedded-check.sqlite3 $(BIN)/python manage.py seed_demo > /dev/null
	@rm -f var/embedded-check.sqlite3
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

## make up / make down: the whole stack on 127.0.0.1 (gunicorn, Celery worker + beat, provisioning, Kamailio)
up: $(VENV)/.run-deps system-deps
	@bash deploy/stack.sh up

down:
	@bash deploy/stack.sh down

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .

system-deps:
	@bash deploy/system-deps.sh

services:
	@bash deploy/services.sh

clean:
	rm -rf var .pytest_cache
