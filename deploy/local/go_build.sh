#!/usr/bin/env bash
# Builds one program of a Go module at a pinned version, as that module's own main module, into
# the cache. `go install pkg@version` refuses modules whose go.mod has replace or exclude
# directives (Jaeger's and Compose's do), so this takes the module from the Go module proxy
# (`go mod download`), copies it out of the read-only module cache and builds inside it, with
# the module's own go.mod and go.sum.
#
#   deploy/local/go_build.sh MODULE VERSION PACKAGE OUTPUT
#     e.g. go_build.sh github.com/jaegertracing/jaeger v1.75.0 ./cmd/jaeger ~/.cache/.../jaeger
#
# Messages go to stderr.
set -euo pipefail

readonly MODULE="${1:?MODULE}" VERSION="${2:?VERSION}" PACKAGE="${3:?PACKAGE}" OUTPUT="${4:?OUTPUT}"

command -v go >/dev/null 2>&1 || { echo "go_build: Go is needed to build ${MODULE}" >&2; exit 1; }
work="$(mktemp -d)"
trap 'chmod -R u+w "${work}" 2>/dev/null; rm -rf "${work}"' EXIT

started=${SECONDS}
echo "go_build: ${MODULE}@${VERSION} ${PACKAGE} -> ${OUTPUT} (once; Go builds take minutes)" >&2
src="$(cd "${work}" && go mod download -json "${MODULE}@${VERSION}" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "${src}" && -d "${src}" ]] || { echo "go_build: could not download ${MODULE}@${VERSION}" >&2; exit 1; }
cp -r "${src}" "${work}/src" && chmod -R u+w "${work}/src"
mkdir -p "$(dirname "${OUTPUT}")"
(cd "${work}/src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "${OUTPUT}.partial" "${PACKAGE}") >&2
mv "${OUTPUT}.partial" "${OUTPUT}"
echo "go_build: built ${OUTPUT} in $((SECONDS - started))s" >&2
