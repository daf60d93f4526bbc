# Two commands for a newcomer: `make run` and `make test`.  See README.md.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WEB_PORT ?= 8000
export WEB_PORT
# gunicorn (Procfile) unless DEV_SERVER=1: then runserver, which reloads on code changes.
PROCFILE := $(if $(filter 1 true yes,$(DEV_SERVER)),Procfile.dev,Procfile)
# `make run LLM_FAKE=1`: the local fake LLM server (agents.fake_llm, canned answers, for
# offline demos) runs too, seed_demo points the demo agent at it, and the outbound guard
# allows its loopback port.  Without it, make run starts web, worker and beat as before.
LLM_FAKE_PORT ?= 8765
export LLM_FAKE_PORT
FAKE_LLM := $(filter 1 true yes,$(LLM_FAKE))
PROCESSES := $(if $(FAKE_LLM),web worker beat llm,web worker beat)
ifneq ($(FAKE_LLM),)
LLM_ALLOWED_HOSTS ?= 127.0.0.1:$(LLM_FAKE_PORT)
export LLM_ALLOWED_HOSTS
endif

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
	$(if $(FAKE_LLM),@echo "  Fake LLM:   http://127.0.0.1:$(LLM_FAKE_PORT)/v1 (offline demo answers, not a real model)")
	@echo ""
	DJANGO_DEBUG=true $(BIN)/honcho -f $(PROCFILE) start $(PROCESSES)

## The whole suite: PostgreSQL when DATABASE_URL is set, SQLite otherwise.  worksteal: a
## worker that runs dry takes half of the other's queue (the contract gates' tests differ
## 100-fold in cost: a fixed split can leave one worker idle at the end).  Deeper fuzzing:
## FUZZ_EXAMPLES=<n> FUZZ_SLICE=all (see tests/contract/test_fuzz.py).
test: install
	$(BIN)/pytest -n 2 --dist worksteal --durations=25

lint: install
	$(BIN)/ruff check .

## The drift gates CI runs: migrations, sync coverage, data dictionary, OpenAPI snapshot.
check: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py sync_report --check > /dev/null
	$(BIN)/python manage.py datadict --check
	$(BIN)/python manage.py event_catalogue --check
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
