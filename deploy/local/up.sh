#!/usr/bin/env bash
# Starts the local infrastructure (Kafka + PostgreSQL) for development, tests
# and demos, downloading/installing what is missing on a fresh machine.
#
#   deploy/local/up.sh                    progress on stderr, env on stdout
#   eval "$(deploy/local/up.sh)"          ...and export it into this shell
#
# Idempotent: already running services are left as they are.
# Stop with deploy/local/down.sh [--purge].
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

main() {
  local started=${SECONDS}
  "${SCRIPT_DIR}/kafka.sh" fetch
  "${SCRIPT_DIR}/kafka.sh" start
  "${SCRIPT_DIR}/postgres.sh" start
  printf 'up: infrastructure ready in %ss; environment for the services and tests:\n' \
    "$((SECONDS - started))" >&2
  # stdout carries only the exports, so `eval "$(up.sh)"` works.
  printf 'export MLC_KAFKA_BOOTSTRAP=127.0.0.1:%s\n' "${MLC_KAFKA_PORT:-19092}"
  printf 'export MLC_DATABASE_ADMIN_URL=postgresql://mlc_admin@127.0.0.1:%s/mlc\n' "${MLC_PG_PORT:-55432}"
}

main "$@"
