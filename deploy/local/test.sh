#!/usr/bin/env bash
# `make test`: static checks, then every test tier on a real Kafka broker and PostgreSQL cluster
# started here and removed afterwards (so each run starts clean, as CI does).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.venv/bin

echo "== ruff and mypy"
"$venv/ruff" check .
"$venv/ruff" format --check .
"$venv/mypy" libs/mlc-core/src libs/mlc-ops/src services/*/src cli/src emulators/*/src tools/*/src

echo "== infrastructure"
deploy/local/browser.sh
deploy/local/up.sh
trap 'deploy/local/down.sh --purge' EXIT
export MLC_KAFKA_BOOTSTRAP="127.0.0.1:${MLC_KAFKA_PORT:-19092}"
export MLC_DATABASE_ADMIN_URL="postgresql://mlc_admin@127.0.0.1:${MLC_PG_PORT:-55432}/mlc"

# tests/integration/test_kafka_secure.py starts its own SASL_SSL broker on this port and the next two.
export MLC_KAFKA_SECURE_PORT="${MLC_KAFKA_SECURE_PORT:-19094}"

# `make test` runs every tier but the slow one; `make test-slow` runs the slow tier and the whole
# browser set (MLC_TEST_MARKERS="slow or browser").
echo "== tests (${MLC_TEST_MARKERS:-not slow})"
"$venv/pytest" -m "${MLC_TEST_MARKERS:-not slow}" "$@"
