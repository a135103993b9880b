#!/usr/bin/env bash
# Prints the path of a pinned kustomize, building it once from the Go module proxy into the
# cache (like Kafka's jars). tests/deploy render every overlay with it.
#
#   deploy/local/kustomize.sh            install if missing, print the binary's path
#   deploy/local/kustomize.sh build DIR  install if missing, then `kustomize build DIR`
#
# Environment: MLC_CACHE_DIR (default ~/.cache/ml-connector), MLC_KUSTOMIZE_VERSION.
set -euo pipefail

readonly VERSION="${MLC_KUSTOMIZE_VERSION:-v5.7.1}"
readonly BIN_DIR="${MLC_CACHE_DIR:-${HOME}/.cache/ml-connector}/bin/kustomize-${VERSION}"
readonly BIN="${BIN_DIR}/kustomize"

if [[ ! -x "${BIN}" ]]; then
  command -v go >/dev/null 2>&1 || { echo "kustomize: Go is needed to build it" >&2; exit 1; }
  echo "kustomize: building ${VERSION} (once) into ${BIN_DIR}" >&2
  mkdir -p "${BIN_DIR}"
  (cd /tmp && GOBIN="${BIN_DIR}" GOFLAGS=-mod=mod go install \
    "sigs.k8s.io/kustomize/kustomize/v5@${VERSION}") >&2
fi

if [[ "${1:-}" == "build" ]]; then
  exec "${BIN}" build "${2:?kustomize.sh build DIR}"
fi
echo "${BIN}"
