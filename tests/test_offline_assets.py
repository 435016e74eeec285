"""No request leaves the machine: Voila (every explorer, the tree and error pages) and JupyterLab with
mlsyslab's widgets, served as ``mlsyslab lab`` serves them (:data:`mlsyslab.labs.offline.SERVER_ARGS`),
by a plain ``jupyter lab`` of an environment set up by ``binder/postBuild`` (``offline.install``), and
by the standalone Voila (``python -m mlsyslab.labs.offline NOTEBOOK``), in headless chromium with every
request to another host recorded and refused; the widgets' Font Awesome icons still render, with the
icon font loaded from the local server. Before the ``mlsyslab`` Voila template, each Voila page asked
cdn.jsdelivr.net for two Font Awesome 5 stylesheets (the tree and error pages for Font Awesome 4.5).

Font Awesome 5's codepoints, from its cheatsheet (fontawesome.com/v5/cheatsheet): lock U+F023, eye
U+F06E (the PredictionCheckpoint's Lock and Reveal buttons, ``icon="lock"``/``"eye"``).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from mlsyslab.labs import offline

from support_browser import (UI_TIMEOUT_MS, browser, free_port, open_notebook, run_all_cells,  # noqa: F401
                             start_jupyter_lab, stop_process, voila_url, wait_for_widgets, write_notebook)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXPLORERS = sorted((ROOT / "labs" / "explorers").glob("*.ipynb"))
FA_CODEPOINTS = {"lock": 0xF023, "eye": 0xF06E}
CHECKPOINT_CELLS = ["from mlsyslab.widgets import PredictionCheckpoint",
                    "PredictionCheckpoint('TTFT?', answer=lambda: 1.0, unit='ms', key='offline-icons', "
                    "path='predictions.jsonl')"]


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory(prefix="mlsyslab-offline-") as tmp:
        tmp = pathlib.Path(tmp)
        root, home = tmp / "root", tmp / "home"
        (root / "explorers").mkdir(parents=True)
        for nb in EXPLORERS:
            shutil.copy(nb, root / "explorers" / nb.name)
        write_notebook(root, "checkpoint.ipynb", CHECKPOINT_CELLS)
        s = start_jupyter_lab(root, home, extra_args=offline.SERVER_ARGS)
        try:
            yield s
        finally:
            stop_process(s.process)


def _offline_page(browser, url):  # noqa: F811
    """A page whose every request off the server at ``url`` is recorded (``page.outside``) and refused;
    ``page.fonts``: the font files it loaded (url, status)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside, fonts = [], []

    def route(r):
        if r.request.url.startswith(url + "/") or r.request.url.startswith(("data:", "blob:")):
            return r.continue_()
        outside.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    p = context.new_page()
    p.set_default_timeout(UI_TIMEOUT_MS)
    p.on("websocket", lambda ws: None if ws.url.startswith(url.replace("http", "ws", 1) + "/") else outside.append(ws.url))
    p.on("response", lambda resp: fonts.append((resp.url, resp.status))
         if resp.request.resource_type == "font" else None)
    p.outside, p.fonts = outside, fonts
    return p


@pytest.fixture
def offline_page(browser, server):  # noqa: F811
    p = _offline_page(browser, server.url)
    try:
        yield p
    finally:
        p.context.close()


def _icons(page) -> dict:
    """icon name -> (codepoint of its ::before, its font-family, is a 900-weight Font Awesome 5 Free face loaded)."""
    return page.evaluate("""async () => {
        await document.fonts.ready;
        const out = {};
        for (const name of ['lock', 'eye']) {
            const el = document.querySelector(`.mlsyslab-prediction-checkpoint i.fa-${name}`);
            if (!el) { out[name] = null; continue; }
            const style = getComputedStyle(el, '::before');
            const content = style.content.replace(/^["']|["']$/g, '');
            out[name] = [content.codePointAt(0), style.fontFamily, style.fontWeight];
        }
        out.loaded = [...document.fonts].filter(f => f.family.includes('Font Awesome 5 Free') && f.status === 'loaded')
                                      .map(f => f.weight);
        return out;
    }""")


def _assert_icons_render(page, server) -> None:
    wait_for_widgets(page, ".mlsyslab-prediction-checkpoint i.fa-eye")
    page.wait_for_function("() => [...document.fonts].some(f => f.family.includes('Font Awesome 5 Free')"
                           " && f.status === 'loaded')", timeout=UI_TIMEOUT_MS)
    icons = _icons(page)
    for name, codepoint in FA_CODEPOINTS.items():
        assert icons[name] is not None, f"no fa-{name} icon"
        assert icons[name][0] == codepoint, (name, hex(icons[name][0] or 0))
        assert "Font Awesome 5 Free" in icons[name][1], icons[name]
    assert "900" in icons["loaded"], icons  # solid icons (lock, eye) are the 900 face
    local = [url for url, status in page.fonts if url.startswith(server.url + "/") and status == 200]
    assert local, f"no font loaded from the local server: {page.fonts}"


def test_voila_explorers_make_no_outside_request(server, offline_page):
    page = offline_page
    assert len(EXPLORERS) >= 6, EXPLORERS  # labs/explorers: one per lab topic
    for nb in EXPLORERS:
        page.goto(voila_url(server, f"explorers/{nb.name}"))
        wait_for_widgets(page, ".jupyter-widgets", timeout_ms=90_000)
        page.wait_for_load_state("networkidle")
        assert page.outside == [], f"{nb.name}: {page.outside}"
        config = json.loads(page.locator("#jupyter-config-data").text_content())
        assert config["fullMathjaxUrl"] == "null"  # MathJax: JupyterLab's bundled copy, not a CDN's


def test_voila_icons_render_from_the_local_server(server, offline_page):
    page = offline_page
    page.goto(voila_url(server, "checkpoint.ipynb"))
    _assert_icons_render(page, server)
    assert page.outside == []


def test_voila_tree_and_error_pages_make_no_outside_request(server, offline_page):
    page = offline_page
    page.goto(f"{server.url}/voila/tree?token={server.token}")
    page.wait_for_selector("text=explorers", timeout=UI_TIMEOUT_MS)  # the folder, listed by the tree page
    page.wait_for_load_state("networkidle")
    response = page.goto(f"{server.url}/voila/render/no-such-lab.ipynb?token={server.token}")
    assert response.status == 404
    page.wait_for_load_state("networkidle")
    assert page.outside == []


@pytest.mark.parametrize("flavour", ["lab", "notebook"])  # JupyterLab 4, Notebook 7
def test_jupyterlab_with_widgets_makes_no_outside_request(server, offline_page, flavour):
    page = offline_page
    open_notebook(page, server, "checkpoint.ipynb", flavour=flavour)
    run_all_cells(page)
    _assert_icons_render(page, server)
    page.wait_for_load_state("networkidle")
    assert page.outside == []


def _assert_voila_page_offline(page, url) -> None:
    page.goto(url)
    wait_for_widgets(page, ".jupyter-widgets", timeout_ms=90_000)
    page.wait_for_load_state("networkidle")
    assert page.outside == []
    assert json.loads(page.locator("#jupyter-config-data").text_content())["fullMathjaxUrl"] == "null"


def test_installed_config_serves_voila_offline_without_arguments(browser, tmp_path, monkeypatch):  # noqa: F811
    """binder/postBuild's ``python -m mlsyslab.labs.offline --install``: a plain ``jupyter lab`` of that
    environment (no mlsyslab arguments, as repo2docker starts it) serves Voila with no outside request."""
    config = offline.install(tmp_path / "prefix")
    assert config == tmp_path / "prefix" / "etc" / "jupyter" / "jupyter_server_config.d" / "mlsyslab-offline.json"
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(config.parent.parent))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(ROOT / "labs" / "explorers" / "lab2_kv_cache.ipynb", root)
    server = start_jupyter_lab(root, tmp_path / "home")
    try:
        page = _offline_page(browser, server.url)
        _assert_voila_page_offline(page, voila_url(server, "lab2_kv_cache.ipynb"))
        page.context.close()
    finally:
        stop_process(server.process)


def test_standalone_voila_command_makes_no_outside_request(browser, tmp_path):  # noqa: F811
    """``python -m mlsyslab.labs.offline NOTEBOOK [voila options]``: the standalone Voila."""
    port = free_port()
    shutil.copy(ROOT / "labs" / "explorers" / "lab2_kv_cache.ipynb", tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_PATH"}
    with open(tmp_path / "voila.log", "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "mlsyslab.labs.offline", "lab2_kv_cache.ipynb", "--no-browser",
                                 f"--port={port}", "--Voila.ip=127.0.0.1"], cwd=tmp_path, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url + "/voila/static/voila.js", timeout=5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "voila.log").read_text()[-3000:]
                time.sleep(0.5)
        page = _offline_page(browser, url)
        _assert_voila_page_offline(page, url + "/")
        page.context.close()
    finally:
        stop_process(proc)
