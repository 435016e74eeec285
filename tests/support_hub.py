"""A real JupyterHub on 127.0.0.1 with Unix users, for tests/test_hub.py.

* :class:`UnixUsers`: creates Unix accounts with a unique prefix (``useradd``, as root), sets
  their passwords, and on :meth:`~UnixUsers.remove` ends their processes (by pid, found through
  their uid) and deletes the accounts with their homes (``userdel -r``).
* :func:`start_hub`: writes a ``jupyterhub_config.py`` that loads the documented example
  ``docs/hub/jupyterhub_config.py`` and overrides only addresses, state paths, user names and a
  test service with an API token; starts ``jupyterhub`` (as root, from the test venv) with
  ``configurable-http-proxy`` from ``.hub/node``; single-user servers run from ``.hub/venv``
  (both installed by ``scripts/ensure_hub.sh``).
* :class:`Hub`: the hub's REST API (start servers, issue user tokens).
* :class:`UserServer`: one user's server through the proxy: its REST API with the user's token,
  and :meth:`~UserServer.sh` / :meth:`~UserServer.run` to run code in a kernel of that server
  (so as that Unix user, through the kernel websocket - what a terminal or notebook does).

Every wait is bounded and raises with the hub log tail.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime
import json
import os
import pathlib
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
HUB_DIR = ROOT / ".hub"
USER_ENV = HUB_DIR / "venv"
CHP = HUB_DIR / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
DOCS_CONFIG = ROOT / "docs" / "hub" / "jupyterhub_config.py"
GUIDE = ROOT / "docs" / "instructors.md"
COURSE_ID = "mlsyslab"
SERVICE = "mlsyslab-test"
START_TIMEOUT_S = 120


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def guide_block(first_line: str, replace: dict) -> str:
    """The ```python block of docs/instructors.md that starts with ``first_line``, with the guide's
    paths replaced by the test's (each must occur): the test runs what the guide says."""
    import re

    for m in re.finditer(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S):
        if m.group(1).startswith(first_line):
            text = m.group(1)
            for old, new in replace.items():
                assert old in text, f"{old!r} is no longer in the guide's block {first_line!r}"
                text = text.replace(old, new)
            return text
    raise AssertionError(f"docs/instructors.md has no python block starting with {first_line!r}")


def check_prerequisites() -> None:
    """Root, the hub user environment and the proxy: ``scripts/ensure_hub.sh`` (run by ``make test``)
    is run again here - it takes a second when nothing changed, and reinstalls mlsyslab into the
    user environment when its sources did, so the users never run a stale copy."""
    problems = []
    if os.geteuid() == 0:
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "ensure_hub.sh")], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env={**os.environ, "VENV_PY": sys.executable})
        if proc.returncode != 0:
            problems.append(f"scripts/ensure_hub.sh failed ({proc.returncode}): {proc.stderr[-2000:]}")
    if os.geteuid() != 0:
        problems.append("the hub test creates Unix users: run it as root")
    if not (USER_ENV / "bin" / "jupyterhub-singleuser").exists():
        problems.append(f"{USER_ENV} has no jupyterhub-singleuser")
    if not CHP.exists():
        problems.append(f"{CHP} is missing")
    if problems:
        raise RuntimeError("; ".join(problems) + ". Run `bash scripts/ensure_hub.sh` (make test does).")


# ---------------------------------------------------------------------------------- Unix users
class UnixUsers:
    """Accounts ``<prefix><name>``; :meth:`remove` undoes everything :meth:`add` did."""

    def __init__(self) -> None:
        self.prefix = "mlh" + secrets.token_hex(3)
        self.created: list[str] = []
        self.passwords: dict[str, str] = {}

    def add(self, name: str) -> str:
        user = f"{self.prefix}{name}"
        subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", user],
                       check=True, capture_output=True, text=True)
        self.created.append(user)
        password = secrets.token_urlsafe(12)
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n", check=True, capture_output=True, text=True)
        self.passwords[user] = password
        return user

    def home(self, user: str) -> pathlib.Path:
        return pathlib.Path(pwd.getpwnam(user).pw_dir)

    def uid(self, user: str) -> int:
        return pwd.getpwnam(user).pw_uid

    def as_user(self, user: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """``command`` in a login-less shell as ``user`` (``runuser``, like ``su user -c``)."""
        return subprocess.run(["runuser", "-u", user, "--", "/bin/sh", "-c", command], capture_output=True,
                              text=True, timeout=timeout, cwd="/", stdin=subprocess.DEVNULL)

    def pids(self) -> list[int]:
        uids = set()
        for user in self.created:
            try:
                uids.add(pwd.getpwnam(user).pw_uid)
            except KeyError:
                pass
        found = []
        for entry in pathlib.Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid in uids:
                        found.append(int(entry.name))
                except OSError:
                    pass
        return found

    def remove(self) -> list[str]:
        """End the users' processes (TERM, then KILL), delete the accounts and homes; returns problems."""
        problems = []
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + 5
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
        for user in self.created:
            proc = subprocess.run(["userdel", "--remove", "--force", user], capture_output=True, text=True)
            if proc.returncode not in (0, 12):  # 12: mail spool missing, home removed all the same
                problems.append(f"userdel {user}: {proc.returncode} {proc.stderr.strip()}")
            subprocess.run(["groupdel", user], capture_output=True)  # if the user group survived
        return problems


# ---------------------------------------------------------------------------------------- hub
@dataclasses.dataclass
class Hub:
    url: str  # the proxy's public address, http://127.0.0.1:PORT
    token: str  # the test service's API token
    proc: subprocess.Popen
    log_path: pathlib.Path
    users: UnixUsers

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no hub log)"

    def api(self, method: str, path: str, body=None, token: str | None = None, ok=(200, 201, 202, 204)):
        return http(method, f"{self.url}/hub/api{path}", body, token or self.token, ok=ok, log=self.log_tail)

    def start_server(self, user: str) -> None:
        self.api("POST", f"/users/{user}/server")

    def wait_ready(self, user: str, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{user}")
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise TimeoutError(f"{user}'s server not ready within {timeout_s} s\n--- hub log ---\n{self.log_tail()}")

    def user_token(self, user: str) -> str:
        """A token of ``user``'s own (as the user would make on the hub's token page)."""
        return self.api("POST", f"/users/{user}/tokens", {"note": "mlsyslab hub test", "expires_in": 3600})["token"]

    def server(self, user: str) -> UserServer:
        return UserServer(self, user, self.user_token(user))


def http(method: str, url: str, body=None, token: str | None = None, ok=(200, 201, 202, 204), log=None,
         form: bool = False, timeout: float = 120):
    """One request; JSON in and out (``form=True``: body form-encoded). Raises on a status not in ``ok``."""
    headers = {"Authorization": f"token {token}"} if token else {}
    data = None
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    elif method in ("POST", "PUT", "PATCH"):
        data = b""
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode(errors="replace")
    if status not in ok:
        raise RuntimeError(f"{method} {url} -> {status}: {text[:2000]}" + (f"\n--- hub log ---\n{log()}" if log else ""))
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return text


def write_config(tmp: pathlib.Path, *, port: int, hub_port: int, api_port: int, token: str, instructors, students,
                 exchange: pathlib.Path, etc_jupyter: pathlib.Path) -> pathlib.Path:
    """The test's jupyterhub_config.py: the documented example, then only what a test must change."""
    state = tmp / "hub-state"
    state.mkdir(mode=0o700)
    cfg = f'''
c = get_config()
load_subconfig({str(DOCS_CONFIG)!r})
# --- the test's overrides: addresses, state paths, users, a service for the REST API
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(state / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{state / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(state / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(state / "jupyterhub.pid")!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.Authenticator.allowed_users = set({list(instructors) + list(students)!r})
c.Authenticator.admin_users = set({list(instructors)!r})
c.JupyterHub.load_groups = {{"instructors": {{"users": {list(instructors)!r}}},
                            "students": {{"users": {list(students)!r}}}}}
c.JupyterHub.services = [{{"name": {SERVICE!r}, "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "mlsyslab-test-role", "services": [{SERVICE!r}],
                             "scopes": ["admin:users", "admin:servers", "tokens", "read:users", "access:servers"]}}]
# on a real hub: /etc/jupyter/nbgrader_config.py, read by every user (here a folder of the test's)
c.Spawner.environment["JUPYTER_CONFIG_PATH"] = {str(etc_jupyter)!r}
'''
    path = tmp / "jupyterhub_config.py"
    path.write_text(cfg)
    (etc_jupyter / "nbgrader_config.py").write_text(
        guide_block("# /etc/jupyter/nbgrader_config.py", {'"/srv/nbgrader/exchange"': repr(str(exchange))}))
    return path


def start_hub(tmp: pathlib.Path, users: UnixUsers, instructors, students) -> Hub:
    """Start the hub in ``tmp`` (which must be reachable by every user: exchange and config live there)."""
    exchange, etc_jupyter = tmp / "exchange", tmp / "etc-jupyter"
    exchange.mkdir()
    os.chmod(exchange, 0o1777)  # nbgrader: world-writable with the sticky bit
    etc_jupyter.mkdir()
    port, hub_port, api_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(32)
    cfg = write_config(tmp, port=port, hub_port=hub_port, api_port=api_port, token=token, instructors=instructors,
                       students=students, exchange=exchange, etc_jupyter=etc_jupyter)
    env = dict(os.environ)
    env["MLSYSLAB_HUB_USER_ENV"] = str(USER_ENV.resolve())
    env["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    log_path = tmp / "hub-state" / "jupyterhub.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(cfg)], cwd=tmp / "hub-state", env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    hub = Hub(f"http://127.0.0.1:{port}", token, proc, log_path, users)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stop_hub(hub)
            raise RuntimeError(f"jupyterhub exited with {proc.returncode}\n--- hub log ---\n{hub.log_tail()}")
        try:
            http("GET", f"{hub.url}/hub/api/", timeout=5)
            return hub
        except (OSError, RuntimeError):
            time.sleep(0.5)
    stop_hub(hub)
    raise TimeoutError(f"jupyterhub did not answer within {START_TIMEOUT_S} s\n--- hub log ---\n{hub.log_tail()}")


def stop_hub(hub: Hub, timeout_s: float = 30) -> None:
    """SIGTERM: the hub stops every user server and the proxy it started; then the group is killed."""
    if hub.proc.poll() is None:
        hub.proc.send_signal(signal.SIGTERM)
        try:
            hub.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            hub.proc.kill()
            hub.proc.wait(timeout=timeout_s)
    try:  # anything left in the hub's session (process group)
        os.killpg(hub.proc.pid, signal.SIGKILL)
    except OSError:
        pass
    # the proxy runs in a session of its own; the hub stops it, else end it by the pid it recorded
    pid_file = hub.log_path.parent / "proxy.pid"
    try:
        pid = int(pid_file.read_text().strip())
        if "configurable-http-proxy" in pathlib.Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


# ------------------------------------------------------------------------------- user servers
@dataclasses.dataclass
class UserServer:
    hub: Hub
    name: str
    token: str
    kernel_id: str | None = None

    @property
    def base(self) -> str:
        return f"{self.hub.url}/user/{self.name}"

    def request(self, method: str, path: str, body=None, form: bool = False, ok=(200, 201, 202, 204), timeout=300):
        return http(method, self.base + path, body, self.token, ok=ok, log=self.hub.log_tail, form=form,
                    timeout=timeout)

    # -- contents API
    def read_notebook(self, path: str) -> dict:
        return self.request("GET", f"/api/contents/{path}?content=1")["content"]

    def write_notebook(self, path: str, nb: dict) -> None:
        self.request("PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json", "content": nb})

    # -- code in a kernel of this server (runs as the server's Unix user)
    def run(self, code: str, timeout_s: float = 300) -> dict:
        """Execute ``code``; returns {"status", "stdout", "stderr", "error"}."""
        if self.kernel_id is None:
            self.kernel_id = self.request("POST", "/api/kernels", {"name": "python3"})["id"]
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, away from Playwright's
            return pool.submit(asyncio.run, self._execute(code, timeout_s)).result(timeout=timeout_s + 30)

    async def _execute(self, code: str, timeout_s: float) -> dict:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        ws_url = self.base.replace("http://", "ws://") + f"/api/kernels/{self.kernel_id}/channels"
        conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {self.token}"},
                                                   request_timeout=60, connect_timeout=60))
        msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
        conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": self.name, "session": session, "msg_type": "execute_request",
                       "version": "5.3", "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out = {"status": None, "stdout": "", "stderr": "", "error": None}
        idle = False
        deadline = time.monotonic() + timeout_s
        try:
            while out["status"] is None or not idle:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"code in {self.name}'s kernel did not finish within {timeout_s} s: {out}")
                raw = await asyncio.wait_for(conn.read_message(), left)
                if raw is None:
                    raise RuntimeError(f"{self.name}'s kernel websocket closed: {out}")
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["header"]["msg_type"], msg["content"]
                if kind == "stream":
                    out[content["name"]] += content["text"]
                elif kind == "error":
                    out["error"] = f"{content['ename']}: {content['evalue']}"
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
                elif kind == "execute_reply":
                    out["status"] = content["status"]
        finally:
            conn.close()
        return out

    def sh(self, command: str, timeout_s: float = 300) -> dict:
        """Run a shell command as this user (from their server's kernel); {"rc", "out", "err"}."""
        code = ("import json, subprocess, os\n"
                f"_p = subprocess.run({command!r}, shell=True, capture_output=True, text=True, timeout={timeout_s},"
                " cwd=os.path.expanduser('~'), stdin=subprocess.DEVNULL)\n"
                "print('@@RESULT@@' + json.dumps({'rc': _p.returncode, 'out': _p.stdout, 'err': _p.stderr}))\n")
        res = self.run(code, timeout_s + 30)
        if res["error"] or "@@RESULT@@" not in res["stdout"]:
            raise RuntimeError(f"running {command!r} as {self.name} failed: {res}")
        return json.loads(res["stdout"].split("@@RESULT@@", 1)[1])

    def shutdown_kernel(self) -> None:
        if self.kernel_id:
            self.request("DELETE", f"/api/kernels/{self.kernel_id}", ok=(204, 404))
            self.kernel_id = None

    # -- nbgrader's Assignments panel (server extension assignment_list)
    def assignments(self, action: str | None = None, lab: str | None = None):
        if action is None:
            return self.request("GET", f"/assignments?course_id={COURSE_ID}")
        return self.request("POST", f"/assignments/{action}", {"course_id": COURSE_ID, "assignment_id": lab},
                            form=True)

    # -- formgrader's REST API (instructor)
    def formgrader(self, method: str, path: str, body=None):
        return self.request(method, f"/formgrader/api/{path}", body)


def copy_course(src: pathlib.Path, dest: pathlib.Path, owner: str) -> None:
    """The course folder (nbgrader_config.py, source/, keys/ ...) without nbgrader's working folders."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("release", "submitted", "autograded", "feedback",
                                                             "gradebook.db", "__pycache__", ".ipynb_checkpoints"))
    subprocess.run(["chown", "-R", f"{owner}:{owner}", str(dest)], check=True)
