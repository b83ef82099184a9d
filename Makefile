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

.PHONY: install system-deps node-deps run test test-postgres test-fast lint bench validate-knowledge createuser clean

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

## test: the whole suite on SQLite, then again on a throwaway PostgreSQL server (creates .venv if missing)
test: install
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory test-postgres

## test-postgres: the suite (browser tests aside) against a real PostgreSQL started for the run
test-postgres: $(STAMP)
	tests/postgres/with_postgres.sh $(PY) -m pytest -q -p no:cacheprovider -m "not browser" \
	  --ds=aml_salvage.settings.test_postgres

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not browser"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

validate-knowledge: $(STAMP)
	$(MANAGE) validate_knowledge

## bench: engine throughput and validation cost (not part of make test)
bench: $(STAMP)
	$(PY) bench/engine_bench.py

## createuser: create a clinician account in a care team (prompts for the password; there is no default
## password). `make createuser ARGS=--staff` adds read-only admin access.
createuser: $(STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) create_clinician $(ARGS)

clean:
	rm -rf $(VENV) staticfiles test-artifacts .pytest_cache
