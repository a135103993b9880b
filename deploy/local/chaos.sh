#!/usr/bin/env bash
# `make chaos`: the fault suite on its own Kafka broker and PostgreSQL cluster, started here and
# removed afterwards (the suite restarts both mid-run, so it never shares them with anything).
#
#   deploy/local/chaos.sh [--scenario all|bounce|noisy] [--quick] [--minutes N] [--seed S]
#   (or: make chaos CHAOS_ARGS=...)
#
# The tables at the end are the result (the bounce suite's, then the noisy neighbour's); the exit
# status is non-zero when a record was lost, duplicated, left stale, a failure never recovered,
# the audit log has a gap, or a healthy tenant's latency broke its bound.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The suite restarts the broker on a busy machine; a slow JVM start is not a failure.
export MLC_KAFKA_START_TIMEOUT="${MLC_KAFKA_START_TIMEOUT:-300}"
deploy/local/up.sh
trap 'deploy/local/down.sh --purge' EXIT
export MLC_KAFKA_BOOTSTRAP="127.0.0.1:${MLC_KAFKA_PORT:-19092}"
export MLC_DATABASE_ADMIN_URL="postgresql://mlc_admin@127.0.0.1:${MLC_PG_PORT:-55432}/mlc"
.venv/bin/python -m chaos "$@"
