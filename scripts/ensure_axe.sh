#!/usr/bin/env bash
# The accessibility tests (tests/test_widgets_a11y.py) inject axe-core into JupyterLab pages.
# Install it from the committed tests/js/package.json + package-lock.json (npm registry only);
# install node + npm with apt-get when we are root and they are missing.
set -euo pipefail
cd "$(dirname "$0")/../tests/js"
if [ -f node_modules/axe-core/axe.min.js ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "npm missing: installing Debian's nodejs and npm with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends nodejs npm
  else
    echo "npm is not installed and we are not root: the accessibility tests will fail." >&2
    echo "Install it with: sudo apt-get install nodejs npm" >&2
    exit 1
  fi
fi
npm ci --no-audit --no-fund --loglevel=error
