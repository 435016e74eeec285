#!/usr/bin/env bash
# Autograding runs each student's kernel in a bubblewrap sandbox (docs/instructors.md, "Sandbox").
# Install Debian's bubblewrap with apt-get when we are root and it is missing.
set -euo pipefail
if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "bwrap missing: installing Debian's bubblewrap with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends bubblewrap
else
  echo "bubblewrap (bwrap) is not installed and we are not root: autograding will refuse to run." >&2
  echo "Install it with: sudo apt-get install bubblewrap" >&2
  exit 1
fi
