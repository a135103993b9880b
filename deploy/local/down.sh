#!/usr/bin/env bash
# Stops the local infrastructure started by deploy/local/up.sh (and the demo's Jaeger).
#
#   deploy/local/down.sh            stop, keep topics/databases for next time
#   deploy/local/down.sh --purge    stop and delete all state (or MLC_PURGE=1)
#
# Both services are always attempted, so one failing to stop does not leave
# the other running; the exit status is non-zero if either failed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

main() {
  local args=()
  case "${1:-}" in
    --purge) args=(--purge) ;;
    "") ;;
    *)
      echo "usage: $0 [--purge]" >&2
      exit 2
      ;;
  esac
  local failed=0
  "${SCRIPT_DIR}/kafka.sh" stop ${args[@]+"${args[@]}"} || failed=1
  "${SCRIPT_DIR}/postgres.sh" stop ${args[@]+"${args[@]}"} || failed=1
  "${SCRIPT_DIR}/jaeger.sh" stop || failed=1  # MLC_TRACES=jaeger's; nothing when not running
  return "${failed}"
}

main "$@"
