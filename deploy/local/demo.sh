#!/usr/bin/env bash
# `make demo`: the whole stack on local defaults against the emulators. It loads a generated
# distributor, then shows live changes until Ctrl-C (or `--duration N` after the load), and
# ends with a summary. Extra arguments go to `mlc-dev demo` (see `.venv/bin/mlc-dev demo --help`),
# the development tools' demo (tools/devtools); it prints the exports that point `mlc` at it.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The emulators keep their state in memory, so Kafka and PostgreSQL start empty too: each demo
# begins from a clean slate.
deploy/local/down.sh --purge >/dev/null 2>&1 || true
deploy/local/up.sh
# MLC_TRACES=jaeger: the services' traces also go to a local Jaeger (deploy/local/jaeger.sh,
# built once from the Go module proxy); the summary links the record's trace there.
case "${MLC_TRACES:-}" in
  jaeger)
    jaeger_env="$(deploy/local/jaeger.sh start)"  # exits here if Jaeger cannot start
    eval "${jaeger_env}"
    ;;
  "") ;;
  *) echo "MLC_TRACES=${MLC_TRACES}: only 'jaeger' is known" >&2; exit 2 ;;
esac
export MLC_KAFKA_BOOTSTRAP="127.0.0.1:${MLC_KAFKA_PORT:-19092}"
export MLC_DATABASE_ADMIN_URL="postgresql://mlc_admin@127.0.0.1:${MLC_PG_PORT:-55432}/mlc"
export MLC_DATABASE_URL="postgresql://mlc_app@127.0.0.1:${MLC_PG_PORT:-55432}/mlc"
status=0
.venv/bin/mlc-dev demo --customers "${MLC_DEMO_CUSTOMERS:-2000}" "$@" || status=$?
# Left running on purpose: the summary's exports and `mlc audit trail` command read PostgreSQL.
echo "Kafka and PostgreSQL${MLC_JAEGER_URL:+ (and Jaeger)} are still running for the commands above; \`make down\` removes them."
exit "${status}"
