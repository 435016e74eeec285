#!/usr/bin/env bash
# What the JupyterHub test (tests/test_hub.py, marker `hub`) needs besides the test venv:
#
#   .hub/node   configurable-http-proxy, JupyterHub's proxy, from the npm registry
#   .hub/venv   the students' and instructor's Python environment (the "user image" of a real
#               hub): jupyterhub-singleuser, JupyterLab, nbgrader and mlsyslab installed as a
#               package, in a venv made from a Python that every Unix user can run.
#
# The test venv (.venv) cannot serve as the user environment: its interpreter may live under
# /root (pyenv), which other users cannot enter. When the checkout itself is not reachable by
# other users, .hub is a link to /opt/mlsyslab-hub-<hash of the checkout's path> instead.
# Re-running is cheap: each part is rebuilt only when missing or older than its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV_PY=${VENV_PY:-$ROOT/.venv/bin/python}
HUB=$ROOT/.hub

can_other_read() {  # can an unprivileged user (nobody) reach PATH?
  if [ "$(id -u)" != 0 ]; then return 0; fi
  runuser -u nobody -- test -r "$1" -a -x "$1" 2>/dev/null
}

if [ "$(id -u)" != 0 ]; then
  echo "ensure_hub: not root: the hub test (which creates Unix users) needs root; setting up anyway." >&2
fi

if [ ! -e "$HUB" ]; then
  if can_other_read "$ROOT"; then
    mkdir -p "$HUB"
  else
    OUTSIDE=/opt/mlsyslab-hub-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)  # one per checkout
    echo "ensure_hub: $ROOT is not reachable by other users: the hub environment goes to $OUTSIDE" >&2
    rm -rf "$OUTSIDE"
    mkdir -p "$OUTSIDE"
    ln -s "$OUTSIDE" "$HUB"
  fi
fi
HUB=$(readlink -f "$HUB")  # the real folder: the venv's scripts name their Python by this path
chmod 755 "$HUB"

# --- apt: node/npm, a system Python with venv, and tools to manage users
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_hub: installing $* with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "$@"
  else
    echo "ensure_hub: missing $*; install them (apt-get install $*)" >&2
    exit 1
  fi
}
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
command -v useradd >/dev/null 2>&1 || apt_install passwd
command -v runuser >/dev/null 2>&1 || apt_install util-linux

# --- configurable-http-proxy
CHP=$HUB/node/node_modules/.bin/configurable-http-proxy
if [ ! -x "$CHP" ]; then
  echo "ensure_hub: npm install configurable-http-proxy into $HUB/node" >&2
  npm install --prefix "$HUB/node" --no-audit --no-fund --loglevel=error configurable-http-proxy
fi

# --- the user environment
SYS_PY=${MLSYSLAB_HUB_PYTHON:-}
if [ -z "$SYS_PY" ]; then
  for cand in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3 || true)"; do
    if [ -n "$cand" ] && [ -x "$cand" ] && can_other_read "$(readlink -f "$cand")" \
       && runuser -u nobody -- "$cand" -c "import sys; assert sys.version_info >= (3, 10)" 2>/dev/null; then
      SYS_PY=$cand; break
    fi
  done
fi
if [ -z "$SYS_PY" ]; then
  apt_install python3 python3-venv
  SYS_PY=/usr/bin/python3
fi
"$SYS_PY" -c "import venv, ensurepip" 2>/dev/null || apt_install python3-venv

UV=$HUB/venv
UPIP="$UV/bin/python -m pip --disable-pip-version-check -q"
HUB_VERSION=$("$VENV_PY" -c "import jupyterhub; print(jupyterhub.__version__)")
if [ ! -x "$UV/bin/python" ] || [ pyproject.toml -nt "$UV/.stamp-deps" ] \
   || [ "$(cat "$UV/.jupyterhub-version" 2>/dev/null)" != "$HUB_VERSION" ]; then
  echo "ensure_hub: building the hub user environment $UV (jupyterhub==$HUB_VERSION, mlsyslab[lab,grading])" >&2
  rm -rf "$UV"
  "$SYS_PY" -m venv "$UV"
  $UPIP install --upgrade pip
  $UPIP install "jupyterhub==$HUB_VERSION" ".[lab,grading]"
  echo "$HUB_VERSION" > "$UV/.jupyterhub-version"
  touch "$UV/.stamp-deps" "$UV/.stamp-mlsyslab"
fi
# mlsyslab itself is installed as a package (as in a hub image): refresh it when a source changed
if [ -n "$(find mlsyslab pyproject.toml -type f ! -name '*.pyc' -newer "$UV/.stamp-mlsyslab" -print -quit)" ]; then
  echo "ensure_hub: mlsyslab changed: reinstalling it into $UV" >&2
  $UPIP install --no-deps --force-reinstall .
  touch "$UV/.stamp-mlsyslab"
fi
if [ -n "$(find "$HUB/" ! -perm -a+r -print -quit)" ]; then  # after an install with a strict umask
  chmod -R a+rX "$HUB"
fi
