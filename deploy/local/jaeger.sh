#!/usr/bin/env bash
# Jaeger v2 (an OpenTelemetry-collector-based all-in-one, in-memory storage) for development:
# the services export OTLP to it and its query API finds a record's trace. Built once from the
# Go module proxy into the cache (deploy/local/go_build.sh), like Kafka's jars.
#
#   deploy/local/jaeger.sh fetch            build + cache the binary (once; Go builds take minutes)
#   deploy/local/jaeger.sh start            start, wait until it answers; prints the exports
#   deploy/local/jaeger.sh stop             stop (traces are in memory: they go with it)
#   deploy/local/jaeger.sh status           exit 0 when running, 3 when not
#
# Environment (all optional):
#   MLC_CACHE_DIR          binary cache root          (default ~/.cache/ml-connector)
#   MLC_STATE_DIR          runtime state root         (default <repo>/.local/state)
#   MLC_JAEGER_VERSION     Go module version           (default v1.75.0, Jaeger v2's cmd/jaeger)
#   MLC_JAEGER_OTLP_PORT   OTLP/HTTP receiver         (default 4318; OTLP/gRPC on port-1)
#   MLC_JAEGER_UI_PORT     query API (and UI)         (default 16686; its gRPC API on port-1)
#   MLC_JAEGER_START_TIMEOUT  seconds to wait         (default 30)
#
# The Go module carries no built UI (Jaeger releases add it): port MLC_JAEGER_UI_PORT serves
# the query API (/api/traces/<id>, /api/v3/traces/<id>) and a placeholder page.
# Messages go to stderr; `start` prints `export OTEL_EXPORTER_OTLP_ENDPOINT=…` and
# `export MLC_JAEGER_URL=…` on stdout, so `eval "$(deploy/local/jaeger.sh start)"` works.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT

readonly VERSION="${MLC_JAEGER_VERSION:-v1.75.0}"
readonly BIN="${MLC_CACHE_DIR:-${HOME}/.cache/ml-connector}/bin/jaeger-${VERSION}/jaeger"
readonly STATE_DIR="${MLC_STATE_DIR:-${REPO_ROOT}/.local/state}/jaeger"
readonly CONFIG="${STATE_DIR}/config.yaml"
readonly LOG_FILE="${STATE_DIR}/jaeger.log"
readonly PID_FILE="${STATE_DIR}/jaeger.pid"
readonly HOST="127.0.0.1"
readonly OTLP_PORT="${MLC_JAEGER_OTLP_PORT:-4318}"
readonly UI_PORT="${MLC_JAEGER_UI_PORT:-16686}"
readonly START_TIMEOUT="${MLC_JAEGER_START_TIMEOUT:-30}"

log() { printf 'jaeger: %s\n' "$*" >&2; }
die() { printf 'jaeger: ERROR: %s\n' "$*" >&2; exit 1; }

cmd_fetch() {
  if [[ -x "${BIN}" ]]; then
    log "Jaeger ${VERSION} already built: ${BIN}"
    return 0
  fi
  "${SCRIPT_DIR}/go_build.sh" github.com/jaegertracing/jaeger "${VERSION}" ./cmd/jaeger "${BIN}"
}

# Only the OTLP receiver and the query service, on loopback and on our ports; the all-in-one
# default also opens Jaeger's legacy receivers, Zipkin, sampling and admin ports we don't use.
write_config() {
  mkdir -p "${STATE_DIR}"
  cat >"${CONFIG}" <<YAML
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    # On by default: the query service traces itself to localhost:4317, someone else's port.
    enable_tracing: false
    http:
      endpoint: ${HOST}:${UI_PORT}
    grpc:
      endpoint: ${HOST}:$((UI_PORT - 1))
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${HOST}:$((OTLP_PORT - 1))
      http:
        endpoint: ${HOST}:${OTLP_PORT}
processors:
  batch:
    timeout: 1s
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
YAML
}

read_pid() { [[ -f "${PID_FILE}" ]] && cat "${PID_FILE}"; }

# Our Jaeger only: a stale pid file must never make us signal a process that reused the pid.
is_running() {
  local pid args
  pid="$(read_pid)" || return 1
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  args="$(ps -ww -p "${pid}" -o args= 2>/dev/null)" || return 1
  [[ "${args}" == *"${BIN}"* && "${args}" == *"${CONFIG}"* ]]
}

answers() {
  curl -fsS -o /dev/null "http://${HOST}:${UI_PORT}/api/services" 2>/dev/null
}

print_env() {
  printf 'export OTEL_EXPORTER_OTLP_ENDPOINT=http://%s:%s\n' "${HOST}" "${OTLP_PORT}"
  printf 'export MLC_JAEGER_URL=http://%s:%s\n' "${HOST}" "${UI_PORT}"
}

cmd_start() {
  if is_running; then
    log "already running (pid $(read_pid)) on ${HOST}:${UI_PORT}"
    print_env
    return 0
  fi
  command -v curl >/dev/null 2>&1 || die "curl is needed to check that Jaeger answers"
  cmd_fetch
  write_config
  log "starting Jaeger ${VERSION}: OTLP/HTTP ${HOST}:${OTLP_PORT}, query ${HOST}:${UI_PORT}"
  nohup "${BIN}" --config "${CONFIG}" >>"${LOG_FILE}" 2>&1 &
  echo $! >"${PID_FILE}"
  local waited=0
  until answers; do
    is_running || { tail -n 30 "${LOG_FILE}" >&2; die "Jaeger exited at start (log above: ${LOG_FILE})"; }
    ((waited >= START_TIMEOUT)) && { tail -n 30 "${LOG_FILE}" >&2; die "no answer in ${START_TIMEOUT}s"; }
    sleep 1
    waited=$((waited + 1))
  done
  log "ready in ${waited}s (log ${LOG_FILE})"
  print_env
}

cmd_stop() {
  if ! is_running; then
    rm -f "${PID_FILE}"
    return 0
  fi
  local pid waited=0
  pid="$(read_pid)"
  kill -TERM "${pid}"
  while kill -0 "${pid}" 2>/dev/null && ((waited < 20)); do
    sleep 0.5
    waited=$((waited + 1))
  done
  kill -0 "${pid}" 2>/dev/null && kill -KILL "${pid}"
  rm -f "${PID_FILE}"
  log "stopped"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) is_running || exit 3 ;;
  *)
    sed -n '6,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
