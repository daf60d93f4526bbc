# Two commands for a newcomer: `make run` and `make test`.  See README.md.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WEB_PORT ?= 8000
export WEB_PORT
# gunicorn (Procfile) unless DEV_SERVER=1: then runserver, which reloads on code changes.
PROCFILE := $(if $(filter 1 true yes,$(DEV_SERVER)),Procfile.dev,Procfile)

.PHONY: install run test lint check audit schema datadict bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Everything up on embedded defaults: SQLite + filesystem broker unless configured.
run: install
	DJANGO_DEBUG=true $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=true $(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Admin:      http://127.0.0.1:$(WEB_PORT)/admin/"
	@echo "  API docs:   http://127.0.0.1:$(WEB_PORT)/api/v1/docs/  (Redoc: /api/v1/redoc/)"
	@echo "  Health:     http://127.0.0.1:$(WEB_PORT)/health/"
	@echo "  Emails:     written to var/mail/ (one line each below)"
	@echo "  Web server ($(PROCFILE)), Celery worker and beat start below; Ctrl-C stops all three."
	@echo ""
	DJANGO_DEBUG=true $(BIN)/honcho -f $(PROCFILE) start

## The whole suite: PostgreSQL when DATABASE_URL is set, SQLite otherwise.
test: install
	$(BIN)/pytest -n 2 --durations=25

lint: install
	$(BIN)/ruff check .

## The drift gates CI runs: migrations, sync coverage, data dictionary, OpenAPI snapshot.
check: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py sync_report --check > /dev/null
	$(BIN)/python manage.py datadict --check
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file $(VENV)/openapi.yaml
	diff -u openapi.yaml $(VENV)/openapi.yaml || \
		(echo "openapi.yaml is stale: run 'make schema'"; exit 1)

## The live database against the models (run after `migrate`; CI does): exits 1 on any drift.
audit: install
	$(BIN)/python manage.py schema_audit

## Regenerate the committed artefacts after changing models or the API.
schema: install
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file openapi.yaml
datadict: install
	$(BIN)/python manage.py datadict

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache
