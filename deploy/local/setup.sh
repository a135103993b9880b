#!/usr/bin/env bash
# Installs what the Python side needs on a fresh machine: uv (from PyPI, pinned) and the locked
# workspace in .venv, built on the machine's own python3 (no interpreter downloads).
set -euo pipefail
cd "$(dirname "$0")/../.."
UV_VERSION=0.13.9
export UV_PYTHON_DOWNLOADS=never

need_python() {
  command -v python3 >/dev/null || { echo "setup: python3 (3.11+) is required" >&2; exit 1; }
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    { echo "setup: python3 is $(python3 -V); 3.11+ is required" >&2; exit 1; }
}

find_uv() {
  if command -v uv >/dev/null; then command -v uv; return; fi
  local user_uv; user_uv="$(python3 -m site --user-base)/bin/uv"
  if [[ ! -x "$user_uv" ]]; then
    echo "setup: installing uv $UV_VERSION from PyPI" >&2
    python3 -m pip install --quiet --user "uv==$UV_VERSION" >&2 ||
      python3 -m pip install --quiet --user --break-system-packages "uv==$UV_VERSION" >&2
  fi
  echo "$user_uv"
}

need_python
"$(find_uv)" sync --frozen --python python3 --quiet
