#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for development, tests and demos.
#
#   deploy/local/postgres.sh start            initdb (first time), start, create role + database
#   deploy/local/postgres.sh stop [--purge]   fast stop; --purge (or MLC_PURGE=1) deletes the cluster
#   deploy/local/postgres.sh status           exit 0 when running, 3 when not
#   deploy/local/postgres.sh restart          fast stop and start again, keeping the data
#
# Result: database "mlc" owned by superuser role "mlc_admin" (the role the
# application's migrations run as; they create the application roles),
# reachable at postgresql://mlc_admin@127.0.0.1:${MLC_PG_PORT:-55432}/mlc.
#
# Environment (all optional):
#   MLC_STATE_DIR    runtime state root (default <repo>/.local/state); the cluster lives in ./postgres
#   MLC_PG_PORT      TCP port on 127.0.0.1 (default 55432)
#   MLC_PG_BINDIR    directory holding initdb/pg_ctl (default: PATH, then /usr/lib/postgresql/*/bin)
#
# Messages go to stderr so callers can keep stdout for machine-readable output.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT

readonly DEFAULT_STATE_ROOT="${REPO_ROOT}/.local/state"
readonly STATE_ROOT="${MLC_STATE_DIR:-${DEFAULT_STATE_ROOT}}"
# Written only when the cluster had to live outside STATE_ROOT (see choose_pg_root).
readonly LOCATION_FILE="${STATE_ROOT}/postgres.location"

readonly HOST="127.0.0.1"
readonly PORT="${MLC_PG_PORT:-55432}"
readonly DB_NAME="mlc"
readonly ADMIN_ROLE="mlc_admin"
# PostgreSQL refuses to run as root, so as root we run it as this OS user.
readonly PG_OS_USER="postgres"
readonly START_TIMEOUT=60

log() { printf 'postgres: %s\n' "$*" >&2; }
die() { printf 'postgres: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '4,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

is_root() { [[ "${EUID}" -eq 0 ]]; }

# --- binaries ------------------------------------------------------------------

# Debian/Ubuntu keep initdb and pg_ctl out of PATH (only psql & co. are
# wrapped), so also look in /usr/lib/postgresql/<version>/bin, newest first.
find_bindir() {
  if [[ -n "${MLC_PG_BINDIR:-}" ]]; then
    [[ -x "${MLC_PG_BINDIR}/initdb" && -x "${MLC_PG_BINDIR}/pg_ctl" ]] || return 1
    echo "${MLC_PG_BINDIR}"
    return 0
  fi
  local candidates=() dir
  if command -v pg_ctl >/dev/null 2>&1; then
    candidates+=("$(dirname "$(command -v pg_ctl)")")
  fi
  while IFS= read -r dir; do
    candidates+=("${dir}")
  done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -Vr)
  for dir in "${candidates[@]}"; do
    if [[ -x "${dir}/initdb" && -x "${dir}/pg_ctl" && -x "${dir}/pg_isready" ]]; then
      echo "${dir}"
      return 0
    fi
  done
  return 1
}

install_postgres() {
  if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
    die "PostgreSQL server binaries (initdb, pg_ctl) not found. Install the PostgreSQL server (Debian/Ubuntu: sudo apt-get install -y postgresql; Fedora: dnf install postgresql-server; macOS: brew install postgresql) or point MLC_PG_BINDIR at its bin directory."
  fi
  log "initdb/pg_ctl not found; installing PostgreSQL with apt-get (one time)..."
  # The package also creates a system 'main' cluster on port 5432; we leave it
  # alone and never use it: our cluster is separate and on its own port.
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
    die "apt-get update failed; install the 'postgresql' package by hand."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2 ||
    die "apt-get install postgresql failed; install it by hand."
}

resolve_bindir() {
  local dir
  if [[ -n "${MLC_PG_BINDIR:-}" ]]; then
    # An explicit choice that is wrong is a mistake to report, not a reason to install.
    BINDIR="$(find_bindir)" || die "MLC_PG_BINDIR=${MLC_PG_BINDIR} does not contain initdb and pg_ctl."
    return 0
  fi
  if ! dir="$(find_bindir)"; then
    install_postgres
    dir="$(find_bindir)" || die "PostgreSQL was installed but initdb/pg_ctl are still not found; set MLC_PG_BINDIR."
  fi
  BINDIR="${dir}"
}

BINDIR=""

# --- running as the cluster's OS user --------------------------------------------

as_pg_user() {
  if is_root; then
    runuser -u "${PG_OS_USER}" -- "$@"
  else
    "$@"
  fi
}

ensure_os_user() {
  is_root || return 0
  id -u "${PG_OS_USER}" >/dev/null 2>&1 && return 0
  # Only for non-Debian installs: the Debian package creates this user.
  log "creating system user '${PG_OS_USER}' to run the cluster"
  useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "${PG_OS_USER}" ||
    die "could not create the '${PG_OS_USER}' OS user; create it or run this script as a non-root user."
}

# --- where the cluster lives -------------------------------------------------------

# Layout of a cluster root: data/ (PGDATA), run/ (unix socket), postgres.log.
existing_pg_root() {
  if [[ -f "${LOCATION_FILE}" ]]; then
    cat "${LOCATION_FILE}"
  else
    echo "${STATE_ROOT}/postgres"
  fi
}

# Unix socket paths are limited to 107 bytes; a deep checkout can exceed it.
socket_path_fits() {
  local sock="$1/run/.s.PGSQL.${PORT}"
  ((${#sock} <= 100))
}

# Can the cluster's OS user create files in $1? (It must also be able to
# traverse every parent: a repo under /root (mode 700) is the usual failure.)
usable_by_pg_user() {
  local dir="$1"
  mkdir -p "${dir}" || return 1
  if is_root; then
    chown "${PG_OS_USER}:" "${dir}" || return 1
  fi
  as_pg_user test -w "${dir}" -a -x "${dir}" 2>/dev/null
}

# Prefer <state>/postgres; fall back to a private dir under /tmp when the OS
# user cannot reach it or the socket path is too long, and record the choice
# so stop/status/--purge find it again.
choose_pg_root() {
  if [[ -f "${LOCATION_FILE}" ]]; then
    PG_ROOT="$(cat "${LOCATION_FILE}")"
    [[ -d "${PG_ROOT}" ]] && return 0
    rm -f "${LOCATION_FILE}"
  fi
  local preferred="${STATE_ROOT}/postgres"
  if socket_path_fits "${preferred}" && usable_by_pg_user "${preferred}"; then
    PG_ROOT="${preferred}"
    return 0
  fi
  rmdir "${preferred}" 2>/dev/null || true
  PG_ROOT="$(mktemp -d /tmp/mlc-postgres.XXXXXX)"
  if is_root; then chown "${PG_OS_USER}:" "${PG_ROOT}"; fi
  mkdir -p "${STATE_ROOT}"
  echo "${PG_ROOT}" >"${LOCATION_FILE}"
  log "'${PG_OS_USER}' cannot use ${preferred} (unreachable directory or too long a socket path); using ${PG_ROOT} instead (recorded in ${LOCATION_FILE})"
}

PG_ROOT=""

set_paths() {
  PGDATA_DIR="${PG_ROOT}/data"
  SOCKET_DIR="${PG_ROOT}/run"
  LOG_FILE="${PG_ROOT}/postgres.log"
}

PGDATA_DIR="" SOCKET_DIR="" LOG_FILE=""

# --- cluster setup ------------------------------------------------------------------

is_initialized() {
  [[ -f "${PGDATA_DIR}/PG_VERSION" ]]
}

write_as_pg_user() {
  as_pg_user tee "$1" >/dev/null
}

init_cluster() {
  log "initializing a new cluster in ${PGDATA_DIR}"
  as_pg_user mkdir -p "${SOCKET_DIR}"
  # C locale + UTF8 works on every machine (no locale packages needed);
  # --no-sync because nobody needs this cluster to survive a power cut.
  as_pg_user "${BINDIR}/initdb" -D "${PGDATA_DIR}" -U postgres -E UTF8 --no-locale \
    --auth=trust --no-sync --no-instructions >"${PG_ROOT}/initdb.log" 2>&1 ||
    { cat "${PG_ROOT}/initdb.log" >&2; die "initdb failed (output above)."; }

  # Throwaway dev/test cluster: trust auth, no passwords. Safe enough only
  # because it listens on 127.0.0.1 alone and its socket dir is private.
  write_as_pg_user "${PGDATA_DIR}/pg_hba.conf" <<'EOF'
# Generated by deploy/local/postgres.sh -- THROWAWAY DEV CLUSTER, trust auth.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
  # Regenerated on every start (write_runtime_conf) so MLC_PG_PORT can change.
  printf "\ninclude_if_exists = 'mlc-local.conf'\n" | as_pg_user tee -a "${PGDATA_DIR}/postgresql.conf" >/dev/null
}

write_runtime_conf() {
  write_as_pg_user "${PGDATA_DIR}/mlc-local.conf" <<EOF
# Generated by deploy/local/postgres.sh on every start.
listen_addresses = '${HOST}'
port = ${PORT}
unix_socket_directories = '${SOCKET_DIR}'
unix_socket_permissions = 0700
max_connections = 200
# Durability off: a throwaway cluster, and tests run much faster without fsync.
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_duration_statement = -1
EOF
}

ensure_database() {
  # psql is a client: fine to run as root, over TCP with trust auth.
  "${BINDIR}/psql" -h "${HOST}" -p "${PORT}" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -q -X >/dev/null <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ADMIN_ROLE}') THEN
    CREATE ROLE ${ADMIN_ROLE} LOGIN SUPERUSER;
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE ${DB_NAME} OWNER ${ADMIN_ROLE}'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${DB_NAME}') \gexec
SQL
}

# --- start / stop / status --------------------------------------------------------

is_running() {
  is_initialized || return 1
  as_pg_user "${BINDIR}/pg_ctl" status -D "${PGDATA_DIR}" >/dev/null 2>&1
}

# The port the cluster was last started with (MLC_PG_PORT may differ now).
running_port() {
  sed -n 's/^port = \([0-9]*\)$/\1/p' "${PGDATA_DIR}/mlc-local.conf" 2>/dev/null || true
}

port_open() {
  (exec 3<>"/dev/tcp/${HOST}/${PORT}") 2>/dev/null
}

show_log_tail() {
  [[ -f "${LOG_FILE}" ]] || return 0
  printf -- '--- last 30 lines of %s ---\n' "${LOG_FILE}" >&2
  tail -n 30 "${LOG_FILE}" >&2
  printf -- '---\n' >&2
}

wait_until_ready() {
  local deadline=$((SECONDS + START_TIMEOUT))
  until "${BINDIR}/pg_isready" -q -h "${HOST}" -p "${PORT}" -t 2; do
    if ((SECONDS >= deadline)); then
      show_log_tail
      die "PostgreSQL did not accept connections on ${HOST}:${PORT} within ${START_TIMEOUT}s."
    fi
    sleep 0.5
  done
}

start_server() {
  log "starting on ${HOST}:${PORT}, log ${LOG_FILE}"
  as_pg_user "${BINDIR}/pg_ctl" start -D "${PGDATA_DIR}" -l "${LOG_FILE}" -w -t "${START_TIMEOUT}" >/dev/null ||
    { show_log_tail; die "pg_ctl start failed."; }
}

cmd_start() {
  resolve_bindir
  ensure_os_user
  choose_pg_root
  set_paths
  if is_running; then
    local actual
    actual="$(running_port)"
    [[ "${actual}" == "${PORT}" ]] ||
      die "already running on port ${actual:-?}, not MLC_PG_PORT=${PORT}; run '$0 stop' first to switch ports."
    log "already running on ${HOST}:${PORT} (data ${PGDATA_DIR})"
  else
    if port_open; then
      die "port ${HOST}:${PORT} is already in use by another process; set MLC_PG_PORT to a free port."
    fi
    is_initialized || init_cluster
    write_runtime_conf
    start_server
  fi
  wait_until_ready
  ensure_database || die "could not create role ${ADMIN_ROLE} / database ${DB_NAME}."
  log "ready: postgresql://${ADMIN_ROLE}@${HOST}:${PORT}/${DB_NAME}"
}

# Deletes the cluster, the location record, and the default parent dirs when
# they end up empty, so that a purge leaves nothing behind.
purge_state() {
  rm -rf "${PG_ROOT}"
  rm -f "${LOCATION_FILE}"
  log "removed ${PG_ROOT}"
  rmdir "${STATE_ROOT}" 2>/dev/null || true
  if [[ "${STATE_ROOT}" == "${DEFAULT_STATE_ROOT}" ]]; then
    rmdir "${REPO_ROOT}/.local" 2>/dev/null || true
  fi
}

cmd_stop() {
  local purge="${MLC_PURGE:-0}"
  case "${1:-}" in
    --purge) purge=1 ;;
    "") ;;
    *) usage ;;
  esac
  PG_ROOT="$(existing_pg_root)"
  set_paths
  if is_initialized; then
    BINDIR="$(find_bindir)" || die "a cluster exists in ${PG_ROOT} but initdb/pg_ctl are not found; set MLC_PG_BINDIR."
    if is_running; then
      log "stopping"
      as_pg_user "${BINDIR}/pg_ctl" stop -D "${PGDATA_DIR}" -m fast -w -t "${START_TIMEOUT}" >/dev/null ||
        die "pg_ctl stop failed; see ${LOG_FILE}."
      log "stopped"
    else
      log "not running"
    fi
  else
    log "not running (no cluster in ${PG_ROOT})"
  fi
  if [[ "${purge}" == "1" ]]; then
    purge_state
  fi
}

cmd_status() {
  PG_ROOT="$(existing_pg_root)"
  set_paths
  if is_initialized && BINDIR="$(find_bindir)" && is_running; then
    echo "postgres: running on ${HOST}:$(running_port), data ${PGDATA_DIR}"
  else
    echo "postgres: not running"
    return 3
  fi
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "${cmd}" in
    start) cmd_start ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status ;;
    restart) cmd_stop && cmd_start ;;
    *) usage ;;
  esac
}

main "$@"
