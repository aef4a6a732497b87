# repairline: one command runs the system (make run), one passes the tests (make test).
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
PY := .venv/bin/python
export UV_PYTHON_DOWNLOADS := never
# bytecode compiled once at install, as in the image: no process (a service, an export
# worker, a test's service) compiles the libraries again when it starts
export UV_COMPILE_BYTECODE := 1
export UV_PROJECT_ENVIRONMENT := .venv
# Every target (topics, tests, bench, the services) derives its addresses from the
# same settings that place the broker and the database.
REPAIRLINE_KAFKA_PORT ?= 19092
REPAIRLINE_PG_PORT ?= 15432
export REPAIRLINE_KAFKA_BOOTSTRAP ?= 127.0.0.1:$(REPAIRLINE_KAFKA_PORT)
export REPAIRLINE_PG_DSN ?= postgresql://repairline@127.0.0.1:$(REPAIRLINE_PG_PORT)
INFRA := deploy/local/infra.sh
SERVICES := deploy/local/services.sh

.PHONY: help setup lint format infra-up infra-down topics run stop status test test-unit \
        test-integration test-e2e bench chaos chaos-short schemas docs clean manifests image-steps \
        console-assets console-browser

help:
	@echo "make run        install what is missing, start Kafka, PostgreSQL and the four services"
	@echo "make stop       stop the four services (make infra-down stops Kafka and PostgreSQL)"
	@echo "make test       lint, start the infrastructure, run unit, integration and e2e tests"
	@echo "make bench      replay, export, live path and intake against their baselines; day plans"
	@echo "make chaos      2,000 tickets through two instances of every service under faults"
	@echo "make lint       ruff, import contracts, schema, pack-schema and rules-doc drift"

$(UV):
	python3 -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml */*/pyproject.toml)
	$(UV) sync --frozen --all-packages
	@touch $@

setup: .venv/.synced

lint: setup manifests
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	$(PY) -m repairline_contracts.schemas --check
	$(PY) -m repairline_contracts.asyncapi --check
	$(PY) -m repairline_rules.docgen --check
	$(PY) -m repairline_rules.packschema --check

manifests: setup  # the Dockerfile linted; every overlay rendered and validated offline
	.venv/bin/hadolint deploy/Dockerfile && $(PY) -m deploy.manifests

image-steps: infra-up  # the image's install steps, replayed here, and a service run from them
	$(PY) -m pytest tests/integration/ops/test_image_install.py -q -p no:cacheprovider

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

# The console's browser assets (npm ci from its lock, copied into its static folder) and
# Debian's chromium for its browser tests; both idempotent.
console-assets:
	console/scripts/setup.sh assets

console-browser:
	console/scripts/setup.sh browser

run: infra-up console-assets
	$(SERVICES) start

stop:
	$(SERVICES) stop

status:
	-$(INFRA) status
	-$(SERVICES) status

# Services started by the tests run their simulated clocks on a date whose next three
# days hold a public holiday and a weekend (30 Sep 2026: National Day from 1 Oct, then
# Saturday), unless a test starts them on a date of its own: no test may pass by the
# calendar. `make test TEST_EDGE_DATE=` runs them on today's date instead.
TEST_EDGE_DATE ?= 2026-09-30

# Two pytest workers: most integration and e2e time is spent waiting on the broker.
# First the short fault run, on a broker and database of its own (.local/chaos); then the
# whole suite, whose summary closes the output.
test: lint infra-up console-assets console-browser
	$(CHAOS_SHORT) $(PY) -m bench.chaos
	$(if $(TEST_EDGE_DATE),REPAIRLINE_CLOCK_DATE=$(TEST_EDGE_DATE)) $(PY) -m pytest tests -q -p no:cacheprovider -n 2

test-unit: setup
	$(PY) -m pytest tests/unit -q

test-integration: infra-up
	$(PY) -m pytest tests/integration -q

test-e2e: infra-up console-assets console-browser
	$(PY) -m pytest tests/e2e -q

# Each figure is a ratio against a baseline measured in the same run; the last step
# prints them in one table (docs/benchmarks.md explains each).
BENCH_FILES = replay export dispatch intake live
bench: infra-up
	rm -f $(BENCH_FILES:%=.local/bench/%.json)
	$(PY) -m bench.replay
	$(PY) -m bench.export
	$(PY) -m bench.dispatch
	$(PY) -m bench.intake
	$(PY) -m bench.live
	$(PY) -m bench.report

# Two instances of every service under faults, on a broker and database of its own
# (.local/chaos, ports 29092 and 25432); CHAOS_TICKETS, CHAOS_KILLS to change the size.
chaos: setup
	$(PY) -m bench.chaos

# The short run inside `make test`: 200 tickets, one kill per service, the broker
# restart, the SIGSTOP and the PostgreSQL crash.
CHAOS_SHORT = CHAOS_TICKETS=200 CHAOS_KILLS=1 CHAOS_SPREAD_SECONDS=60
chaos-short: setup
	$(CHAOS_SHORT) $(PY) -m bench.chaos

clean:
	-$(SERVICES) stop
	-$(INFRA) down
	if [ -f .local/pg.place ]; then rm -rf "$$(dirname "$$(cat .local/pg.place)")"; fi
	rm -rf .venv .tools .local
