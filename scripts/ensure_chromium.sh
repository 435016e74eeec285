#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (Playwright's own browser download
# is not reachable here). Install it with apt-get when we are root and it is missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium missing: installing Debian's chromium with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends chromium
else
  echo "chromium is not installed and we are not root: browser tests will fail." >&2
  echo "Install it with: sudo apt-get install chromium" >&2
  exit 1
fi
