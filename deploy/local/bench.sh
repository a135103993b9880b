#!/usr/bin/env bash
# `make bench`: the end-to-end benchmark (bench/run.py) on a Kafka broker and PostgreSQL cluster
# started here and removed afterwards, so every run starts clean. Arguments go to bench/run.py:
#   deploy/local/bench.sh [--scale 1.0] [--quick] [--out docs/bench]
# Honours MLC_STATE_DIR, MLC_KAFKA_PORT, MLC_KAFKA_CONTROLLER_PORT and MLC_PG_PORT like up.sh;
# give it ports of its own if a `make up` stack is running (this one is purged at the end).
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/local/up.sh >/dev/null
trap 'deploy/local/down.sh --purge' EXIT
export MLC_KAFKA_BOOTSTRAP="127.0.0.1:${MLC_KAFKA_PORT:-19092}"
export MLC_DATABASE_ADMIN_URL="postgresql://mlc_admin@127.0.0.1:${MLC_PG_PORT:-55432}/mlc"
MLC_BENCH_COMMAND="make bench" .venv/bin/python -m bench.run "$@"
# The console's pages with 100 tenants and a million audit rows (bench/console_bench.py).
.venv/bin/python -m bench.console_bench ${CONSOLE_BENCH_ARGS:-}
