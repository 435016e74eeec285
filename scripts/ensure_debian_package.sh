#!/usr/bin/env bash
# Install a Debian package with apt-get when its command is missing and we are root.
#
#   bash scripts/ensure_debian_package.sh COMMAND PACKAGE "what fails without it"
#
# Used by `make test` for chromium (browser tests drive Debian's chromium through Playwright;
# Playwright's own browser download is not reachable) and bubblewrap (autograding sandboxes each
# student's kernel with bwrap; docs/instructors.md, "Sandbox").
set -euo pipefail
cmd="$1" package="$2" without="$3"
if command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/bin/$cmd" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "$cmd missing: installing Debian's $package with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "$package"
else
  echo "$cmd is not installed and we are not root: $without." >&2
  echo "Install it with: sudo apt-get install $package" >&2
  exit 1
fi
