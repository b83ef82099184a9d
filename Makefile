# AML Salvage — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MANAGE := $(PY) manage.py
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
APT_PACKAGES := chromium poppler-utils fonts-dejavu-core
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install system-deps node-deps run test test-postgres test-fast lint bench validate-knowledge createuser clean \
	serve-prod loadtest backup restore

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## install: the set-up alone (virtualenv, Python packages, system packages for PDF and browser tests)
install: $(STAMP) system-deps node-deps

## node-deps: axe-core for the browser test's accessibility check (pinned in tests/browser/package-lock.json)
node-deps:
	@if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then \
	  command -v npm >/dev/null || { echo "Installing Debian package: npm"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }; \
	  npm ci --prefix tests/browser --no-audit --no-fund; \
	fi

## system-deps: Debian packages the suite needs (chromium: browser tests; pdftoppm: PDF previews; postgresql)
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

## run: install, migrate, load the knowledge base and serve on 127.0.0.1:8000 (SQLite)
run: $(STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) validate_knowledge
	$(MANAGE) runserver 127.0.0.1:8000

## test: the whole suite on SQLite, then the tests that use the database again on a throwaway PostgreSQL server
## (creates .venv if missing). Each stage on two cores (pytest-xdist).
test: install
	$(PY) -m pytest -q -n 2
	$(MAKE) --no-print-directory test-postgres

## test-postgres: the tests that use the database (browser tests aside) against a real PostgreSQL started for
## the run; tests/conftest.py deselects the others, which never touch the database and ran on SQLite
test-postgres: $(STAMP)
	tests/postgres/with_postgres.sh $(PY) -m pytest -q -p no:cacheprovider -n 2 -m "not browser" \
	  --ds=aml_salvage.settings.test_postgres

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not browser"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

validate-knowledge: $(STAMP)
	$(MANAGE) validate_knowledge

## bench: issue 15's budgets, each a ratio in one run with a verdict — keystroke to result in chromium, the live
## update as a clinician types against a signed-in form, growth to 100,000 consults, the PDF — plus the engine,
## page weights and the command line as figures; writes bench/results.md and bench/results.json (not part of
## make test). ARGS=--quick for development (a 10,000-consult growth database); ARGS="--only htmx,browser" etc.
bench: $(STAMP) bench-deps
	$(PY) bench/run.py $(ARGS)

.PHONY: bench-deps
## bench-deps: wrk (Debian's), the load generator of make bench, installed if missing
bench-deps:
	@command -v wrk >/dev/null || { echo "Installing Debian package: wrk"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; }

## createuser: create a clinician account in a care team (prompts for the username, team, first and last
## name — printed on consults — and the password; there is no default password). `make createuser
## ARGS=--staff` adds read-only admin access; names by flag: ARGS='--first-name Ada --last-name Lovelace'.
createuser: $(STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) create_clinician $(ARGS)

## serve-prod: production settings under gunicorn on $(BIND) (needs DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS;
## see README, Deploying). Collects static files and migrates first. WORKERS=4 BIND=127.0.0.1:8000 by default.
## gunicorn.conf.py: the knowledge base loaded once in the master; `kill -HUP <master pid>` reloads it.
WORKERS ?= 4
BIND ?= 127.0.0.1:8000
serve-prod: $(STAMP)
	@[ -n "$$DJANGO_SECRET_KEY" ] || { echo "serve-prod: DJANGO_SECRET_KEY is not set (see README, Deploying)." >&2; exit 1; }
	@[ -n "$$DJANGO_ALLOWED_HOSTS" ] || { echo "serve-prod: DJANGO_ALLOWED_HOSTS is not set (see README, Deploying)." >&2; exit 1; }
	DJANGO_SETTINGS_MODULE=aml_salvage.settings.production $(MANAGE) collectstatic --noinput -v0
	@# Two PostgreSQL roles (README, Security and audit): the owner migrates and grants; the app runs as DATABASE_URL's.
	if [ -n "$$MIGRATION_DATABASE_URL" ]; then \
	  DJANGO_SETTINGS_MODULE=aml_salvage.settings.production $(MANAGE) migrate --noinput --database owner && \
	  DJANGO_SETTINGS_MODULE=aml_salvage.settings.production $(MANAGE) grant_runtime_role; \
	else DJANGO_SETTINGS_MODULE=aml_salvage.settings.production $(MANAGE) migrate --noinput; fi
	DJANGO_SETTINGS_MODULE=aml_salvage.settings.production $(VENV)/bin/gunicorn -c gunicorn.conf.py \
	  --workers $(WORKERS) --bind $(BIND)

## loadtest: locust (bench/locustfile.py: typing, saving, listing, printing) against gunicorn + production settings
## on 127.0.0.1: 50 and 200 clinicians and a step ramp, on SQLite then on a throwaway PostgreSQL; writes
## bench/loadtest_results.json (not part of make test; about 12 minutes). ARGS="--duration 30 --ramp 50,200"
loadtest: $(STAMP)
	$(PY) bench/loadtest.py --database sqlite $(ARGS)
	tests/postgres/with_postgres.sh $(PY) bench/loadtest.py --database postgresql $(ARGS)

## backup: OUT=path (default backups/aml-salvage-<time>.<sqlite3|pgdump>) — the database set by the environment
backup: $(STAMP)
	@mkdir -p backups
	@out="$(OUT)"; if [ -z "$$out" ]; then \
	  ext=$$($(MANAGE) shell -v 0 -c "from django.db import connection; print('sqlite3' if connection.vendor == 'sqlite' else 'pgdump')"); \
	  out="backups/aml-salvage-$$(date +%Y%m%d-%H%M%S).$$ext"; fi; \
	$(MANAGE) backup_db "$$out"

## restore: IN=path [ARGS=--force] — into the (empty) database set by the environment; stop the app first
restore: $(STAMP)
	@[ -n "$(IN)" ] || { echo "restore: IN=path/to/backup is required" >&2; exit 1; }
	$(MANAGE) restore_db "$(IN)" $(ARGS)

clean:
	rm -rf $(VENV) staticfiles test-artifacts .pytest_cache
