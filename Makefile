# Two commands a new user needs: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup:  ## install uv (from PyPI) and the locked Python environment
	@deploy/local/setup.sh

demo: setup  ## start Kafka, PostgreSQL, emulators and the four services; watch records flow
	@deploy/local/demo.sh

test: setup  ## lint, type-check, then all tests on real Kafka and PostgreSQL
	@deploy/local/test.sh

test-slow: setup  ## the slow tier: 2-minute outage, Jaeger traces, bench smoke, every browser test
	@MLC_TEST_MARKERS="slow or browser" deploy/local/test.sh

chaos: setup  ## fault suite: kills, restarts, Zoho/Sage faults; then checks (CHAOS_ARGS=--quick)
	@deploy/local/chaos.sh $(CHAOS_ARGS)

bench: setup  ## end-to-end benchmark into docs/bench (BENCH_ARGS="--quick" or "--scale 0.2")
	@deploy/local/bench.sh $(BENCH_ARGS)

bench-console: setup  ## console page times: 100 tenants, a million audit rows (CONSOLE_BENCH_ARGS)
	@deploy/local/up.sh >/dev/null && MLC_DATABASE_ADMIN_URL="postgresql://mlc_admin@127.0.0.1:$${MLC_PG_PORT:-55432}/mlc" \
	  .venv/bin/python -m bench.console_bench $(CONSOLE_BENCH_ARGS)

lint: setup  ## ruff and mypy only
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && \
	  .venv/bin/mypy libs/mlc-core/src libs/mlc-ops/src services/*/src cli/src emulators/*/src tools/*/src

up:  ## start Kafka and PostgreSQL only
	@deploy/local/up.sh

down:  ## stop Kafka and PostgreSQL and remove their data
	@deploy/local/down.sh --purge

.PHONY: help setup demo test test-slow chaos bench bench-console lint up down
