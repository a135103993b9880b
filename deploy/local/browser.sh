#!/usr/bin/env bash
# The console's browser tests drive Debian's Chromium (Playwright from PyPI talks to it; no
# browser download). Installs the package when it is missing and we are root; otherwise says
# so, and those tests skip with the same message.
set -euo pipefail
if command -v /usr/bin/chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser: installing Debian's chromium for the console's browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "browser: /usr/bin/chromium missing and not root: the console's browser tests will skip" \
       "(install it with: apt-get install chromium)"
fi
