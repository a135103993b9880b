#!/usr/bin/env bash
# `make demo`: the whole stack on local defaults against the emulators, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/local/up.sh
# The emulators keep their state in memory, so Kafka and PostgreSQL must not outlive them either:
# each demo starts from a clean slate.
trap 'deploy/local/down.sh --purge' EXIT
export MLC_KAFKA_BOOTSTRAP="127.0.0.1:${MLC_KAFKA_PORT:-19092}"
export MLC_DATABASE_ADMIN_URL="postgresql://mlc_admin@127.0.0.1:${MLC_PG_PORT:-55432}/mlc"
export MLC_DATABASE_URL="postgresql://mlc_app@127.0.0.1:${MLC_PG_PORT:-55432}/mlc"
.venv/bin/mlc demo --customers "${MLC_DEMO_CUSTOMERS:-2000}"
