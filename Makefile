# repairline: one command runs the system (make run), one passes the tests (make test).
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
PY := .venv/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
INFRA := deploy/local/infra.sh
SERVICES := deploy/local/services.sh

.PHONY: help setup lint format infra-up infra-down topics run stop status test test-unit \
        test-integration test-e2e bench schemas docs clean

help:
	@echo "make run        install what is missing, start Kafka, PostgreSQL and the four services"
	@echo "make stop       stop the four services (make infra-down stops Kafka and PostgreSQL)"
	@echo "make test       lint, start the infrastructure, run unit, integration and e2e tests"
	@echo "make bench      replay and export throughput against raw Kafka consumption"
	@echo "make lint       ruff, import contracts, schema and rules-doc drift"

$(UV):
	python3 -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml */*/pyproject.toml)
	$(UV) sync --frozen --all-packages
	@touch $@

setup: .venv/.synced

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	$(PY) -m repairline_contracts.schemas --check
	$(PY) -m repairline_contracts.asyncapi --check
	$(PY) -m repairline_rules.docgen --check

format: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

schemas: setup
	$(PY) -m repairline_contracts.schemas
	$(PY) -m repairline_contracts.asyncapi

docs: setup
	$(PY) -m repairline_rules.docgen

infra-up: setup
	$(INFRA) up
	$(PY) -m repairline_platform.admin topics

infra-down:
	$(INFRA) down

run: infra-up
	$(SERVICES) start

stop:
	$(SERVICES) stop

status:
	-$(INFRA) status
	-$(SERVICES) status

test: lint infra-up
	$(PY) -m pytest tests -q -p no:cacheprovider

test-unit: setup
	$(PY) -m pytest tests/unit -q

test-integration: infra-up
	$(PY) -m pytest tests/integration -q

test-e2e: infra-up
	$(PY) -m pytest tests/e2e -q

bench: infra-up
	$(PY) -m bench.replay
	$(PY) -m bench.export

clean:
	-$(SERVICES) stop
	-$(INFRA) down
	rm -rf .venv .tools .local
