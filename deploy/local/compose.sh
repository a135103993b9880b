#!/usr/bin/env bash
# Prints the path of a pinned Docker Compose CLI, building it once from the Go module proxy into
# the cache (like Kafka's jars). It runs standalone (`docker-compose`, no Docker plugin needed)
# and `config` needs no Docker engine: tests/deploy/test_compose.py checks docker-compose.yml
# with it.
#
#   deploy/local/compose.sh              install if missing, print the binary's path
#   deploy/local/compose.sh ARGS...      install if missing, then `docker-compose ARGS...`
#
# Environment: MLC_CACHE_DIR (default ~/.cache/ml-connector), MLC_COMPOSE_VERSION.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly VERSION="${MLC_COMPOSE_VERSION:-v5.6.0}"
readonly BIN="${MLC_CACHE_DIR:-${HOME}/.cache/ml-connector}/bin/compose-${VERSION}/docker-compose"

if [[ ! -x "${BIN}" ]]; then
  "${SCRIPT_DIR}/go_build.sh" github.com/docker/compose/v5 "${VERSION}" ./cmd "${BIN}"
fi

if (($#)); then
  exec "${BIN}" "$@"
fi
echo "${BIN}"
