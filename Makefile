# One command to run, one to test. uv is used if present, otherwise bootstrapped into .tools/.
SHELL := /bin/bash
PORT ?= 8000
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen
PYTEST_ARGS ?=

.PHONY: help install run test lint fmt check migrate seed

help:
	@echo "make run    - install, migrate, seed demo data, serve http://localhost:$(PORT) (SQLite)"
	@echo "make test   - the test suite (DATABASE_URL=postgres://... runs it on PostgreSQL)"
	@echo "make lint   - ruff check and format check"
	@echo "make fmt    - format and autofix"

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

install: $(UV)
	$(UV) sync --frozen

migrate: install
	$(RUN) python manage.py migrate --noinput

seed: migrate
	$(RUN) python manage.py seed_data

run: seed
	$(RUN) python manage.py runserver 127.0.0.1:$(PORT)

check: install
	$(RUN) python manage.py check

test: check
	$(RUN) pytest $(PYTEST_ARGS)

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

fmt: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .
