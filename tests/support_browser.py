"""Reusable browser-test support: a real JupyterLab server and headless Debian chromium.

Use from a test module::

    from support_browser import jupyter_server, browser, page, write_notebook, open_notebook, ...  # noqa: F401

Fixtures
--------
jupyter_server (module scope)
    Starts ``jupyter lab`` on 127.0.0.1, a free port and a random token, rooted in a fresh
    temporary directory, with isolated config/runtime/IPython dirs; waits (bounded) until
    ``/api/status`` answers; yields a :class:`JupyterServer` (url, token, root); terminates it.
browser (module scope)
    Playwright's sync API driving ``/usr/bin/chromium`` (Playwright's own browser download is
    not used).
page (function scope)
    A fresh page with bounded default timeouts; console errors are collected in
    ``page.console_errors``.

Helpers: :func:`write_notebook`, :func:`open_notebook`, :func:`run_all_cells`,
:func:`kernel_execute`, :func:`voila_url`, :func:`wait_for_widgets`, :func:`scroll_and_wait`, :func:`stderr_outputs`, :func:`screenshot`.
Every wait is bounded; a failing wait raises with the server log tail attached.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

CHROMIUM = os.environ.get("MLSYSLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SERVER_START_TIMEOUT_S = 90
UI_TIMEOUT_MS = 60_000
ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "test-artifacts"


@dataclasses.dataclass
class JupyterServer:
    url: str  # http://127.0.0.1:PORT
    token: str
    root: pathlib.Path
    log_path: pathlib.Path
    process: subprocess.Popen
    data_dir: pathlib.Path | None = None  # its JUPYTER_DATA_DIR (holds the notebook trust database)

    def trust(self, notebook_path) -> None:
        """Sign a notebook as trusted for this server (as ``jupyter trust`` would), so its saved
        outputs and widget state are rendered rather than shown as text."""
        import nbformat
        from nbformat.sign import NotebookNotary

        nb = nbformat.read(notebook_path, as_version=4)
        NotebookNotary(data_dir=str(self.data_dir)).sign(nb)

    def lab_url(self, notebook: str) -> str:
        """A fresh, reset workspace per notebook, so tabs of earlier tests are not restored."""
        workspace = "".join(c if c.isalnum() else "-" for c in notebook)
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={self.token}"

    def notebook7_url(self, notebook: str) -> str:
        return f"{self.url}/notebooks/{notebook}?token={self.token}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, token: str, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError as exc:  # connection refused while starting
            last = exc
        time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer {url}/api/status within {timeout_s} s (last error: {last})")


#: JupyterLab settings that render a notebook whole (no virtual scrolling), so every widget below the
#: fold is in the DOM for measuring, axe audits and screenshots.
RENDER_WHOLE = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}

#: first cell of a notebook of widgets: any warning while they work shows as an error
WIDGETS_PREAMBLE = ("import warnings\nwarnings.simplefilter('error')\nimport ipywidgets\nimport mlsyslab as ml\n"
                    "import mlsyslab.widgets as mw")


def start_jupyter_lab(root: pathlib.Path, home: pathlib.Path, extra_args=(), settings=None) -> JupyterServer:
    """Start ``jupyter lab`` (the venv's) in ``root``; ``home`` holds its config/runtime dirs.

    ``settings``: user settings per plugin, e.g. ``{"@jupyterlab/notebook-extension:tracker":
    {"windowingMode": "none"}}`` (written to the isolated settings dir before the start)."""
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_DATA_DIR", "data"),
                     ("IPYTHONDIR", "ipython"), ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    # never ask about (nor fetch) Jupyter news: no network, no toast over the screenshots
    news = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    for plugin, values in (settings or {}).items():
        package, name = plugin.split(":")
        folder = home / "lab-settings" / package
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    env["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    log_path = home / "jupyter-lab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
           "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands without menus
           "--JupyterNotebookApp.expose_app_in_browser=True",  # the same in Notebook 7 (/notebooks/...)
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *extra_args]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = JupyterServer(f"http://127.0.0.1:{port}", token, root, log_path, proc, data_dir=home / "data")
    try:
        _wait_until_up(server.url, token, proc, SERVER_START_TIMEOUT_S)
    except Exception as exc:
        stop_process(proc)
        raise RuntimeError(f"{exc}\n--- server log ---\n{server.log_tail()}") from None
    return server


def stop_process(proc: subprocess.Popen, timeout_s: float = 15) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)


@pytest.fixture(scope="module")
def jupyter_server():
    with tempfile.TemporaryDirectory(prefix="mlsyslab-lab-") as tmp:
        tmp = pathlib.Path(tmp)
        root, home = tmp / "root", tmp / "home"
        root.mkdir()
        server = start_jupyter_lab(root, home)
        try:
            yield server
        finally:
            stop_process(server.process)
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "jupyter-lab.log").write_text(server.log_tail(400))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=UI_TIMEOUT_MS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, request):
    """A fresh page; at teardown its last state is saved as test-artifacts/<test>-final.png."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    p.set_default_timeout(UI_TIMEOUT_MS)
    p.console_errors = []
    p.on("console", lambda msg: p.console_errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield p
    finally:
        try:
            screenshot(p, f"{request.node.name}-final")
        except Exception:  # the page may already be gone; the test's own error is what matters
            pass
        context.close()


# ----------------------------------------------------------------------------- helpers
def write_notebook(root: pathlib.Path, name: str, cells: list[str]) -> pathlib.Path:
    """Write a code-only notebook (nbformat 4) with the given cell sources."""
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "execution_count": None,
                     "outputs": [], "source": src} for i, src in enumerate(cells)]}
    path = root / name
    path.write_text(json.dumps(nb, indent=1))
    return path


def open_notebook(page, server: JupyterServer, name: str, *, flavour: str = "lab") -> None:
    """Open ``name`` in JupyterLab (``flavour="lab"``) or Notebook 7 (``"notebook"``) and wait
    until its kernel is idle."""
    page.goto(server.lab_url(name) if flavour == "lab" else server.notebook7_url(name))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=UI_TIMEOUT_MS)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                           timeout=UI_TIMEOUT_MS)


def run_all_cells(page, timeout_ms: int = UI_TIMEOUT_MS) -> None:
    """Run every cell (the ``notebook:run-all-cells`` command) and wait until each has run."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        "() => { const p = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];"
        " return p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }", timeout=timeout_ms)


def kernel_execute(page, code: str, timeout_ms: int = UI_TIMEOUT_MS) -> str:
    """Run ``code`` in the open notebook's kernel (not as a cell) and return the reply status."""
    return page.evaluate(
        "([code, ms]) => Promise.race([window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        ".requestExecute({code}).done.then(m => m.content.status),"
        " new Promise((_, no) => setTimeout(() => no(new Error('kernel_execute timed out')), ms))])",
        [code, timeout_ms])


def voila_url(server: JupyterServer, notebook: str) -> str:
    """The notebook rendered by Voila (its server extension runs inside the same Jupyter server)."""
    return f"{server.url}/voila/render/{notebook}?token={server.token}"


def wait_for_widgets(page, selector: str, count: int = 1, timeout_ms: int = UI_TIMEOUT_MS):
    """Wait until at least ``count`` elements match ``selector``; return the locator."""
    page.wait_for_function(f"() => document.querySelectorAll({json.dumps(selector)}).length >= {count}",
                           timeout=timeout_ms)
    return page.locator(selector)


def scroll_and_wait(page, container: str, inner: str, count: int = 1, timeout_ms: int = UI_TIMEOUT_MS):
    """Scroll the first ``container`` into view (JupyterLab 4 skips rendering offscreen cells,
    ``windowingMode: contentVisibility``) and wait until it holds ``count`` ``inner`` elements."""
    page.wait_for_selector(container, state="attached", timeout=timeout_ms)
    page.locator(container).first.scroll_into_view_if_needed(timeout=timeout_ms)
    sel = json.dumps(f"{container} {inner}")
    page.wait_for_function(f"() => document.querySelectorAll({sel}).length >= {count}", timeout=timeout_ms)
    return page.locator(f"{container} {inner}")


def stderr_outputs(page) -> list[str]:
    """Texts of every stderr stream / error output in the notebook (should be empty)."""
    return page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
        " .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']",
        "els => els.map(e => e.textContent)")


def screenshot(page, name: str) -> pathlib.Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
