# AI carbon warehouse: the two commands a new user needs are `make demo` and
# `make test`. Both create the virtual environment when it is missing or when
# requirements.txt changed since it was built.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
REQ_HASH := $(shell sha256sum requirements.txt | cut -c1-16)
STAMP := $(VENV)/.requirements-$(REQ_HASH)

# Everything runs against project-local folders; nothing outside the clone.
export PYTHONPATH := $(CURDIR)
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export AIRFLOW__LOGGING__LOGGING_LEVEL := WARNING
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export AI_CARBON_SOURCES ?= $(CURDIR)/.demo/sources
export AI_CARBON_LANDING ?= $(CURDIR)/landing
export AI_CARBON_WAREHOUSE ?= $(CURDIR)/warehouse/ai_carbon.duckdb
export AI_CARBON_CONFIG ?= $(CURDIR)/config/org.example.yml

# pytest workers for `make test` (pytest-xdist; one test file per worker at a time),
# and sqlfluff's processes (102 s in one, 72 s in two, on the demo project)
PYTEST_WORKERS ?= 2

DEMO_FROM ?= 2025-01
DEMO_TO ?= 2025-12

.PHONY: help venv demo test lint pytest dbt-test airflow-init demo-data sql clean lock bench

help:
	@echo "make demo   - build the environment, run the nightly pipeline on the demo data, show results"
	@echo "make test   - build the environment, run every check (ruff, sqlfluff, pytest, dbt build)"
	@echo "make sql    - open a read-only SQL shell on the published warehouse"
	@echo "make bench  - benchmark the build at scale (ROWS=1000000; a benchmark, not a test)"
	@echo "make clean  - remove generated data (landing, warehouse, demo sources, airflow home)"

# The stamp's name carries the requirements' hash, so a checkout that only
# touches requirements.txt (same content, newer mtime) does not rebuild.
$(STAMP):
	@echo ">> creating $(VENV) from requirements.txt"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	$(BIN)/pip install --quiet -r requirements.txt >> $(VENV)/pip.log 2>&1 || (tail -n 40 $(VENV)/pip.log; exit 1)
	touch $@

venv: $(STAMP)

lock: venv
	$(BIN)/pip freeze --exclude-editable > requirements.txt

airflow-init: venv
	@mkdir -p $(AIRFLOW_HOME)
	@$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/migrate.log; exit 1)
	@$(BIN)/airflow pools set warehouse_writer 1 "DuckDB has one writer: dbt builds run one at a time" > /dev/null
	@$(BIN)/airflow dags reserialize > $(AIRFLOW_HOME)/reserialize.log 2>&1 || (cat $(AIRFLOW_HOME)/reserialize.log; exit 1)

demo-data: venv
	$(BIN)/python -m extractors.demo.generate --out $(AI_CARBON_SOURCES)

demo: demo-data airflow-init
	@echo ">> running ai_carbon_nightly for $(DEMO_FROM)..$(DEMO_TO) through Airflow"
	$(BIN)/airflow dags test ai_carbon_nightly 2026-01-01 \
		-c '{"from_month": "$(DEMO_FROM)", "to_month": "$(DEMO_TO)"}' \
		> $(AIRFLOW_HOME)/demo-run.log 2>&1 \
		|| (tail -n 60 $(AIRFLOW_HOME)/demo-run.log; echo "demo run failed: full log in $(AIRFLOW_HOME)/demo-run.log"; exit 1)
	$(BIN)/python -m transform.summary --year $(firstword $(subst -, ,$(DEMO_TO)))
	@echo ">> the $(firstword $(subst -, ,$(DEMO_TO))) report (one HTML file, opens offline):"
	@$(BIN)/python -m transform.report --year $(firstword $(subst -, ,$(DEMO_TO)))

sql: venv
	$(BIN)/python -m transform.sql

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint venv
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=15
	@echo ">> dbt build + sqlfluff on the demo data"
	$(MAKE) --no-print-directory dbt-test

# dbt build (seeds, models, unit and data tests) on a fresh warehouse from the
# demo data, then sqlfluff over the models with the same landing folder.
dbt-test: venv
	rm -rf $(CURDIR)/.ci-work
	$(BIN)/python -m extractors.demo.generate --out $(CURDIR)/.ci-work/sources > /dev/null
	AI_CARBON_SOURCES=$(CURDIR)/.ci-work/sources AI_CARBON_LANDING=$(CURDIR)/.ci-work/landing \
		$(BIN)/python -m extractors all --from-month $(DEMO_FROM) --to-month $(DEMO_TO) > /dev/null
	cd dbt_project && AI_CARBON_LANDING=$(CURDIR)/.ci-work/landing \
		AI_CARBON_WAREHOUSE=$(CURDIR)/.ci-work/ai_carbon.duckdb \
		$(BIN)/dbt build --profiles-dir . --quiet
	AI_CARBON_LANDING=$(CURDIR)/.ci-work/landing AI_CARBON_WAREHOUSE=$(CURDIR)/.ci-work/ai_carbon.duckdb \
		$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests --disable-progress-bar \
		--processes $(PYTEST_WORKERS)

# A benchmark, not a test: generates ROWS CUR 2.0 line items (cached in
# bench/data/), lands them, times dbt against its limit query, a nightly
# re-delivery, a pandas baseline and the extractors; writes bench/results.json.
# BENCH_PROJECT=HEAD measures the committed dbt project instead of the working tree.
ROWS ?= 1000000
SEED ?= 42
BENCH_PROJECT ?= worktree
bench: venv
	$(BIN)/pip install --quiet -r requirements-bench.txt >> $(VENV)/pip.log 2>&1 || (tail -n 40 $(VENV)/pip.log; exit 1)
	$(BIN)/python bench/run.py --rows $(ROWS) --seed $(SEED) --project $(BENCH_PROJECT)

clean:
	rm -rf landing warehouse .demo .airflow .ci-work dbt_project/target dbt_project/logs reports
