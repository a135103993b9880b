#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) for development,
# tests and demos, run straight from jars that Maven resolves from Maven Central.
#
#   deploy/local/kafka.sh fetch            resolve + cache the jars (once)
#   deploy/local/kafka.sh start            format (first time) and start, wait until it answers
#   deploy/local/kafka.sh stop [--purge]   stop; --purge (or MLC_PURGE=1) deletes its state
#   deploy/local/kafka.sh status           exit 0 when running, 3 when not
#   deploy/local/kafka.sh restart          stop and start again, keeping topics and offsets
#
# Environment (all optional):
#   MLC_CACHE_DIR              jar cache root       (default ~/.cache/ml-connector)
#   MLC_STATE_DIR              runtime state root   (default <repo>/.local/state)
#   MLC_KAFKA_PORT             client listener      (default 19092)
#   MLC_KAFKA_CONTROLLER_PORT  KRaft controller     (default 19093)
#   MLC_KAFKA_VERSION          Kafka release        (default 4.2.0, the pin in kafka/pom.xml)
#   MLC_KAFKA_HEAP             JVM heap             (default 512m)
#   MLC_KAFKA_START_TIMEOUT    seconds to wait      (default 60)
#   MLC_KAFKA_SECURE=1         a SASL_SSL broker instead (state in <state>/kafka-secure):
#                              SCRAM-SHA-512 on MLC_KAFKA_PORT, mTLS on MLC_KAFKA_MTLS_PORT
#                              (default port+2), the StandardAuthorizer with one principal per
#                              service (cli/src/mlc_cli/kafka_access.py); certificates, keys and
#                              passwords are generated into <state>/kafka-secure/secrets
#
# Messages go to stderr so callers can keep stdout for machine-readable output.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
readonly POM="${SCRIPT_DIR}/kafka/pom.xml"

readonly KAFKA_VERSION="${MLC_KAFKA_VERSION:-4.2.0}"
readonly CACHE_ROOT="${MLC_CACHE_DIR:-${HOME}/.cache/ml-connector}"
readonly KAFKA_HOME="${CACHE_ROOT}/kafka-${KAFKA_VERSION}"
readonly LIBS_DIR="${KAFKA_HOME}/libs"
readonly FETCH_MARKER="${KAFKA_HOME}/.fetched"

readonly DEFAULT_STATE_ROOT="${REPO_ROOT}/.local/state"
readonly STATE_ROOT="${MLC_STATE_DIR:-${DEFAULT_STATE_ROOT}}"
readonly SECURE="${MLC_KAFKA_SECURE:-0}"
if [[ "${SECURE}" == "1" ]]; then
  readonly STATE_DIR="${STATE_ROOT}/kafka-secure"
else
  readonly STATE_DIR="${STATE_ROOT}/kafka"
fi
readonly SECRETS_DIR="${STATE_DIR}/secrets"
readonly ADMIN_CONFIG="${STATE_DIR}/admin.properties"
readonly PYTHON="${REPO_ROOT}/.venv/bin/python"
readonly DATA_DIR="${STATE_DIR}/data"
readonly SERVER_CONFIG="${STATE_DIR}/server.properties"
readonly LOG4J_CONFIG="${STATE_DIR}/log4j2.properties"
readonly TOOLS_LOG4J_CONFIG="${STATE_DIR}/tools-log4j2.properties"
readonly LOG_FILE="${STATE_DIR}/kafka.log"
readonly PID_FILE="${STATE_DIR}/kafka.pid"

readonly PORT="${MLC_KAFKA_PORT:-19092}"
readonly CONTROLLER_PORT="${MLC_KAFKA_CONTROLLER_PORT:-19093}"
readonly MTLS_PORT="${MLC_KAFKA_MTLS_PORT:-$((PORT + 2))}"
if [[ "${SECURE}" == "1" ]]; then
  readonly PROBE_PORT="${MTLS_PORT}" PORTS="${PORT} ${MTLS_PORT} ${CONTROLLER_PORT}"
else
  readonly PROBE_PORT="${PORT}" PORTS="${PORT} ${CONTROLLER_PORT}"
fi
readonly HOST="127.0.0.1"
readonly HEAP="${MLC_KAFKA_HEAP:-512m}"
readonly START_TIMEOUT="${MLC_KAFKA_START_TIMEOUT:-60}"
readonly STOP_TIMEOUT=30

log() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '5,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# --- prerequisites -----------------------------------------------------------

# Kafka 4.x brokers need Java 17+ (clients/tools run on 11, the server does not).
require_java() {
  command -v java >/dev/null 2>&1 ||
    die "java not found on PATH. Install a JDK/JRE 17 or newer (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless)."
  local version major
  # First line looks like: openjdk version "17.0.15" 2025-04-15  (or "1.8.0_392" for Java 8).
  version="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  major="${version%%.*}"
  [[ "${major}" == "1" ]] && major="$(cut -d. -f2 <<<"${version}")"
  [[ "${major}" =~ ^[0-9]+$ ]] || die "could not parse the Java version from 'java -version' (got '${version}')."
  ((major >= 17)) ||
    die "Java ${version} found, Kafka ${KAFKA_VERSION} needs Java 17 or newer (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless)."
}

require_maven() {
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found on PATH; it is needed once to download Kafka from Maven Central. Install Maven 3.6.3+ (Debian/Ubuntu: apt-get install -y maven)."
}

# --- fetch -------------------------------------------------------------------

# The marker stores the POM checksum + version, so editing the pin re-fetches.
fetch_fingerprint() {
  printf '%s %s\n' "${KAFKA_VERSION}" "$(sha256sum "${POM}" | cut -d' ' -f1)"
}

is_fetched() {
  [[ -f "${FETCH_MARKER}" ]] && [[ "$(cat "${FETCH_MARKER}")" == "$(fetch_fingerprint)" ]]
}

cmd_fetch() {
  if is_fetched; then
    log "Kafka ${KAFKA_VERSION} already cached in ${LIBS_DIR}"
    return 0
  fi
  require_java
  require_maven
  log "resolving Kafka ${KAFKA_VERSION} and its runtime dependencies with Maven (first run downloads ~45 MB)..."
  mkdir -p "${KAFKA_HOME}"
  # Copy into a temp dir and swap it in, so an interrupted fetch never leaves a
  # half-filled libs/ that would later fail with ClassNotFoundException.
  local tmp
  tmp="$(mktemp -d "${KAFKA_HOME}/libs.tmp.XXXXXX")"
  # sed strips the ANSI colour resets that Debian's Maven prints even with -q.
  if ! mvn -B -q -Dstyle.color=never -f "${POM}" \
    -Dkafka.version="${KAFKA_VERSION}" \
    dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="${tmp}" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g' >&2; then
    rm -rf "${tmp}"
    die "Maven could not resolve org.apache.kafka:kafka_2.13:${KAFKA_VERSION} (see the Maven output above; is Maven Central reachable?)."
  fi
  compgen -G "${tmp}/kafka_2.13-${KAFKA_VERSION}.jar" >/dev/null ||
    { rm -rf "${tmp}"; die "Maven finished but kafka_2.13-${KAFKA_VERSION}.jar is missing from the result."; }
  rm -rf "${LIBS_DIR}"
  mv "${tmp}" "${LIBS_DIR}"
  fetch_fingerprint >"${FETCH_MARKER}"
  log "cached $(find "${LIBS_DIR}" -name '*.jar' | wc -l) jars in ${LIBS_DIR}"
}

# --- process helpers -----------------------------------------------------------

# Runs a Kafka command line class (StorageTool, org.apache.kafka.tools.*) with
# WARN-level logging to stderr; their INFO output would drown the result.
kafka_java() {
  local log_config=()
  [[ -f "${TOOLS_LOG4J_CONFIG}" ]] && log_config=(-Dlog4j2.configurationFile="${TOOLS_LOG4J_CONFIG}")
  java ${log_config[@]+"${log_config[@]}"} -cp "${LIBS_DIR}/*" "$@"
}

read_pid() {
  [[ -f "${PID_FILE}" ]] && cat "${PID_FILE}"
}

# True only if the pid file points at *our* broker: a stale pid file must never
# make us report "running" or signal some unrelated process that reused the pid.
is_running() {
  local pid args
  pid="$(read_pid)" || return 1
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  process_alive "${pid}" || return 1
  # -ww: never truncate the command line (the config path is at its end).
  args="$(ps -ww -p "${pid}" -o args= 2>/dev/null)" || return 1
  [[ "${args}" == *kafka.Kafka* && "${args}" == *"${SERVER_CONFIG}"* ]]
}

# Like `kill -0`, but a zombie (exited, not yet reaped by its new parent) counts
# as gone; otherwise stop could wait forever on a PID 1 that reaps lazily.
process_alive() {
  local stat
  stat="$(ps -p "$1" -o stat= 2>/dev/null)" || return 1
  [[ -n "${stat}" && "${stat}" != Z* ]]
}

port_open() {
  # bash's /dev/tcp: a cheap pre-check that needs no JVM start.
  (exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null
}

# A real protocol round trip (ApiVersions + Metadata), not just an open socket:
# the broker listed itself, i.e. it has joined the KRaft quorum and is serving.
broker_answers() {
  port_open "${PROBE_PORT}" || return 1
  local out security=()
  [[ "${SECURE}" == "1" ]] && security=(--command-config "${ADMIN_CONFIG}")
  # Captured rather than piped into `grep -q`: with pipefail, grep exiting
  # early would turn a successful probe into a SIGPIPE failure.
  out="$(timeout 20 java -Dlog4j2.configurationFile="${TOOLS_LOG4J_CONFIG}" -cp "${LIBS_DIR}/*" \
    org.apache.kafka.tools.BrokerApiVersionsCommand ${security[@]+"${security[@]}"} \
    --bootstrap-server "${HOST}:${PROBE_PORT}" 2>/dev/null)" || return 1
  grep -q "^${HOST}:${PROBE_PORT} (id: 1 " <<<"${out}"
}

# 1-based byte offset in LOG_FILE where the current start attempt's output begins.
LOG_OFFSET=1

show_log_tail() {
  [[ -f "${LOG_FILE}" ]] || return 0
  printf -- '--- last 40 lines of %s (this start attempt) ---\n' "${LOG_FILE}" >&2
  tail -c "+${LOG_OFFSET}" "${LOG_FILE}" | tail -n 40 >&2
  printf -- '---\n' >&2
}

# --- configuration -------------------------------------------------------------

write_server_config() {
  cat <<EOF
# Generated by deploy/local/kafka.sh for Kafka ${KAFKA_VERSION}.
# Single node: this process is both the KRaft controller and the broker, so
# every replication factor / ISR is 1.
process.roles=broker,controller
node.id=1
# Dynamic KRaft quorum (formatted with --standalone): bootstrap servers, not
# the static controller.quorum.voters.
controller.quorum.bootstrap.servers=${HOST}:${CONTROLLER_PORT}
controller.listener.names=CONTROLLER
log.dirs=${DATA_DIR}
$(if [[ "${SECURE}" == "1" ]]; then write_secure_listeners; else write_plain_listeners; fi)

# The application creates its topics explicitly; a typo must fail, not
# silently create a topic.
auto.create.topics.enable=false
num.partitions=6
default.replication.factor=1
min.insync.replicas=1

# Internal topics: RF 1 on one node. Fewer partitions than the default 50 keeps
# the first consumer group / transaction coordinator lookup fast.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests start consumers one after another; do not wait 3 s for more members.
group.initial.rebalance.delay.ms=0
EOF
}

write_plain_listeners() {
  cat <<EOF
listeners=PLAINTEXT://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
EOF
}

# Clients: SCRAM-SHA-512 over TLS on PORT, or mTLS (client certificate) on MTLS_PORT. The
# controller and inter-broker traffic use mTLS as the principal "broker", the only super user;
# every other principal gets exactly its ACLs (deny by default).
write_secure_listeners() {
  cat <<EOF
listeners=SASL_SSL://${HOST}:${PORT},SSL://${HOST}:${MTLS_PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
advertised.listeners=SASL_SSL://${HOST}:${PORT},SSL://${HOST}:${MTLS_PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
listener.security.protocol.map=SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:SSL
inter.broker.listener.name=SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=${SECRETS_DIR}/broker.keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=${SECRETS_DIR}/ca.pem
ssl.client.auth=required
listener.name.sasl_ssl.ssl.client.auth=none
# A certificate's "CN=mlc-mapper" is the principal "mlc-mapper", as its SCRAM user is.
ssl.principal.mapping.rules=RULE:^CN=([^,]+)\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:broker
allow.everyone.if.no.acl.found=false
EOF
}

write_admin_config() {
  cat >"${ADMIN_CONFIG}" <<EOF
# The broker's own identity over mTLS, for kafka.sh's probes and ACL grants.
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=${SECRETS_DIR}/broker.keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=${SECRETS_DIR}/ca.pem
EOF
}

# Certificates and SCRAM passwords (once); prints the storage tool's --add-scram values.
secure_material() {
  [[ -x "${PYTHON}" ]] || die "${PYTHON} missing: run deploy/local/setup.sh first (the secure broker's certificates come from the cryptography package)."
  "${PYTHON}" "${SCRIPT_DIR}/kafka_secure.py" material "${SECRETS_DIR}"
}

grant_acls() {
  [[ -f "${STATE_DIR}/acls.granted" ]] && return 0
  log "granting each service principal its ACLs"
  MLC_KAFKA_BOOTSTRAP="${HOST}:${MTLS_PORT}" MLC_KAFKA_SECURITY_PROTOCOL=SSL \
    MLC_KAFKA_CA_FILE="${SECRETS_DIR}/ca.pem" MLC_KAFKA_CERT_FILE="${SECRETS_DIR}/broker.pem" \
    MLC_KAFKA_KEY_FILE="${SECRETS_DIR}/broker.key" \
    "${REPO_ROOT}/.venv/bin/mlc" kafka acls --apply >&2 || die "granting the ACLs failed."
  touch "${STATE_DIR}/acls.granted"
}

write_log4j_config() {
  cat >"${LOG4J_CONFIG}" <<'EOF'
# Generated by deploy/local/kafka.sh: everything to stdout, which kafka.sh
# redirects to kafka.log in the state dir.
status = warn
name = mlc-local-kafka
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
# Per-request logging is only noise for a dev broker.
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  cat >"${TOOLS_LOG4J_CONFIG}" <<'EOF'
# Generated by deploy/local/kafka.sh for command line tools: warnings only, to stderr.
status = warn
name = mlc-local-kafka-tools
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
EOF
}

# The KRaft log records the controller endpoint and metadata.version at format
# time, so a state dir formatted for other ports or another Kafka release cannot
# simply be restarted with new ones.
ensure_config() {
  local wanted
  wanted="$(write_server_config)"
  if [[ -f "${SERVER_CONFIG}" ]] && [[ "$(cat "${SERVER_CONFIG}")" != "${wanted}" ]]; then
    die "${STATE_DIR} was formatted with different settings (Kafka version, ports or paths changed). Run '$0 stop --purge' to start from scratch."
  fi
  printf '%s\n' "${wanted}" >"${SERVER_CONFIG}"
  write_log4j_config
  if [[ "${SECURE}" == "1" ]]; then write_admin_config; fi
}

is_formatted() {
  [[ -f "${DATA_DIR}/meta.properties" ]]
}

format_storage() {
  local cluster_id
  cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid)"
  log "formatting new KRaft storage in ${DATA_DIR} (cluster id ${cluster_id})"
  local scram=() lines line
  if [[ "${SECURE}" == "1" ]]; then
    lines="$(secure_material)" || die "generating the secure broker's certificates failed."
    while IFS= read -r line; do scram+=(--add-scram "${line}"); done <<<"${lines}"
  fi
  # --standalone: this node alone is the initial (dynamic) controller quorum.
  kafka_java kafka.tools.StorageTool format ${scram[@]+"${scram[@]}"} \
    --config "${SERVER_CONFIG}" --cluster-id "${cluster_id}" --standalone >>"${LOG_FILE}" 2>&1 ||
    { show_log_tail; die "formatting the Kafka storage failed."; }
}

# --- start / stop / status ---------------------------------------------------

launch_broker() {
  local heap_opts=(-Xms256m "-Xmx${HEAP}")
  # Remember where this run's output starts, so a failure shows only its own log.
  LOG_OFFSET=$(($(stat -c %s "${LOG_FILE}" 2>/dev/null || echo 0) + 1))
  # nohup + own log file: the broker must outlive the shell that started it.
  # log4j2's own shutdown hook is off so the broker's shutdown hook can still
  # log while it closes down (otherwise log4j stops first and swallows it).
  nohup java "${heap_opts[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="${LOG4J_CONFIG}" -Dlog4j2.shutdownHookEnabled=false \
    -cp "${LIBS_DIR}/*" kafka.Kafka "${SERVER_CONFIG}" \
    >>"${LOG_FILE}" 2>&1 </dev/null &
  echo "$!" >"${PID_FILE}"
}

wait_until_ready() {
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! is_running; then
      show_log_tail
      die "the broker exited during startup (full log: ${LOG_FILE})."
    fi
    broker_answers && return 0
    sleep 1
  done
  show_log_tail
  die "the broker did not answer on ${HOST}:${PORT} within ${START_TIMEOUT}s (full log: ${LOG_FILE}); it is still running, stop it with '$0 stop'."
}

check_ports_free() {
  local p
  for p in ${PORTS}; do
    if port_open "${p}"; then
      die "port ${HOST}:${p} is already in use by another process; set MLC_KAFKA_PORT / MLC_KAFKA_CONTROLLER_PORT to free ports."
    fi
  done
}

cmd_start() {
  if is_running; then
    log "already running (pid $(read_pid)) on ${HOST}:${PORT}"
    return 0
  fi
  require_java
  is_fetched || cmd_fetch
  check_ports_free
  mkdir -p "${STATE_DIR}"
  ensure_config
  is_formatted || format_storage
  local started=${SECONDS}
  log "starting broker on ${HOST}:${PORT} (controller ${HOST}:${CONTROLLER_PORT}), log ${LOG_FILE}"
  launch_broker
  wait_until_ready
  if [[ "${SECURE}" == "1" ]]; then grant_acls; fi
  log "ready after $((SECONDS - started))s (pid $(read_pid))"
}

# Removes the state dir and, when they end up empty, the default parents we
# created (<repo>/.local/state, <repo>/.local) so a purge leaves nothing behind.
purge_state() {
  rm -rf "${STATE_DIR}"
  log "removed ${STATE_DIR}"
  rmdir "${STATE_ROOT}" 2>/dev/null || true
  if [[ "${STATE_ROOT}" == "${DEFAULT_STATE_ROOT}" ]]; then
    rmdir "${REPO_ROOT}/.local" 2>/dev/null || true
  fi
}

# The JVM's main thread can already be a zombie while its other threads are
# still exiting and holding the listeners; "stopped" means the ports are free.
wait_ports_closed() {
  local deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    port_open "${PORT}" || port_open "${CONTROLLER_PORT}" || port_open "${MTLS_PORT}" || return 0
    sleep 0.2
  done
  log "warning: ${HOST}:${PORT} or :${CONTROLLER_PORT} still accepts connections after the broker stopped"
}

stop_broker() {
  local pid
  pid="$(read_pid)"
  log "stopping broker (pid ${pid})"
  # SIGTERM runs Kafka's shutdown hook (controlled shutdown, flush, clean
  # shutdown marker so the next start skips log recovery).
  kill -TERM "${pid}" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while ((SECONDS < deadline)) && process_alive "${pid}"; do
    sleep 0.5
  done
  if process_alive "${pid}"; then
    log "still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)) && process_alive "${pid}"; do sleep 0.2; done
    process_alive "${pid}" && die "broker (pid ${pid}) survived SIGKILL."
  fi
  wait_ports_closed
  log "stopped"
}

cmd_stop() {
  local purge="${MLC_PURGE:-0}"
  case "${1:-}" in
    --purge) purge=1 ;;
    "") ;;
    *) usage ;;
  esac
  if is_running; then
    stop_broker
  else
    log "not running"
  fi
  rm -f "${PID_FILE}"
  if [[ "${purge}" == "1" ]]; then
    purge_state
  fi
}

cmd_status() {
  if is_running; then
    echo "kafka: running (pid $(read_pid)) on ${HOST}:${PORT}, state ${STATE_DIR}"
  else
    echo "kafka: not running"
    return 3
  fi
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "${cmd}" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status ;;
    restart) cmd_stop && cmd_start ;;
    *) usage ;;
  esac
}

main "$@"
