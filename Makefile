# Identity Portal: developer tasks. Needs only Python >= 3.11; `make help` lists the targets.
#
#   make run     install, migrate, create the demo project, serve on http://127.0.0.1:8000
#   make test    unit/integration tests, then browser tests (skipped without /usr/bin/chromium)
#
# Variables: PY (interpreter that creates the venv), VENV, HOST, PORT, PYTEST_ARGS,
# JUNIT_DIR (write unit.xml and e2e.xml there; used by .ci/run).

PY ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=
JUNIT_DIR ?=

PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BASE_URL := http://$(HOST):$(PORT)
junit = $(if $(JUNIT_DIR),--junitxml=$(JUNIT_DIR)/$(1).xml)

.DEFAULT_GOAL := help
.PHONY: help install run test test-unit test-e2e lint format typecheck typecheck-baseline migrate bench \
	worker beat clean

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(PYTHON):
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed, $(PY) is " + sys.version.split()[0] + "; run e.g. make PY=python3.12")'
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	@touch $@

install: ## Create .venv (if missing) and install the project with the dev extra
	@rm -f $(STAMP)
	@$(MAKE) --no-print-directory $(STAMP)

migrate: $(STAMP) ## Apply database migrations (SQLite in var/ unless DATABASE_URL is set)
	@mkdir -p var
	$(PYTHON) manage.py migrate --noinput

run: $(STAMP) migrate ## Install, migrate, seed the demo project, serve on 127.0.0.1:8000
	@APP_BASE_URL=$${APP_BASE_URL:-$(BASE_URL)} $(PYTHON) manage.py seed_demo
	@echo
	@echo "  Identity Portal: sign in at $(BASE_URL)/accounts/login/"
	@echo "  (demo owner owner@demo.test; its password is printed above on first run,"
	@echo "   'make run' again keeps it; '$(PYTHON) manage.py seed_demo --reset-owner-password' makes a new one)"
	@echo
	APP_BASE_URL=$${APP_BASE_URL:-$(BASE_URL)} $(PYTHON) manage.py runserver $(HOST):$(PORT)

test: test-unit test-e2e ## Unit/integration tests, then browser tests

test-unit: $(STAMP) ## Everything but the browser tests
	$(PYTHON) -m pytest --ignore=tests/e2e $(call junit,unit) $(PYTEST_ARGS)

test-e2e: $(STAMP) ## Browser tests (Playwright + /usr/bin/chromium; skipped when it is missing)
	$(PYTHON) -m pytest tests/e2e $(call junit,e2e) $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check + ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(STAMP) ## mypy on the apps; fails on errors not in .ci/mypy-baseline.txt, or fixed ones still listed
	$(PYTHON) .ci/typecheck

typecheck-baseline: $(STAMP) ## Rewrite .ci/mypy-baseline.txt from mypy's current errors (it may only shrink)
	$(PYTHON) .ci/typecheck --update

bench: $(STAMP) ## Run every bench/*.py script (files with a __main__ block; BENCH_ARGS passed on)
	@set -e; found=0; for script in bench/*.py; do \
		grep -q '^if __name__ == "__main__":' "$$script" 2>/dev/null || continue; found=1; \
		echo "== $$script"; $(PYTHON) "$$script" $(BENCH_ARGS); \
	done; [ $$found = 1 ] || echo "No benchmarks yet (bench/*.py)."

worker: $(STAMP) ## Celery worker (needs REDIS_URL)
	$(VENV)/bin/celery -A identity worker --loglevel=INFO

beat: $(STAMP) ## Celery beat scheduler (needs REDIS_URL)
	$(VENV)/bin/celery -A identity beat --loglevel=INFO

clean: ## Remove caches, collected static files and test artifacts (keeps .venv and var/db.sqlite3)
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .mypy_cache staticfiles var/e2e var/junit *.egg-info
