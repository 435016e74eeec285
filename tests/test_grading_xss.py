"""No active content from students: feedback HTML and formgrader pages, through the real pipeline.

The corpus (tests/data/xss_vectors.txt: 99 vectors of the OWASP XSS Filter Evasion Cheat Sheet
and PortSwigger's XSS cheat sheet) is injected as a student would, in four submissions of lab 2:

* ``xss-outputs``: every vector as a ``text/html`` and a ``text/markdown`` output and printed;
  image outputs whose metadata (``width``, ``height``, ``alt``, ...) carry vectors (the image
  ``width`` attack that ran in feedback and formgrader); an ``isolated`` HTML output; SVG and
  JavaScript outputs;
* ``xss-markdown``: every vector as a markdown cell; ``javascript:`` markdown links; cell
  attachments (SVG with a script, HTML) linked from markdown;
* ``xss-gradeid``: a cell whose nbgrader ``grade_id`` breaks out of an HTML attribute;
* ``a+b@xss.example`` (an odd id the validator allows): 250 KB of nested ``<div>``, the same with
  stray closing tags, a 3 MB HTML output, 200 KB of crafted markdown, a file ``x.html`` with a
  script beside the notebook, and a 5 s cell (so the autograde button's run can be watched).

They are graded by ``mlsyslab.grading.course.autograde`` (2 sandboxes); one more, submitted
under a folder named ``<img src=x onerror=...>`` (an id the validator refuses), by plain ``nbgrader
autograde``. Then the feedback pages and formgrader (a real Jupyter server) are opened in
chromium: alert/confirm/prompt count into ``window.__pwned``, dialogs are recorded, mouse and focus
events are fired at every element, and no element may carry an event-handler attribute, a
``javascript:``/``data:`` URL (but raster ``<img>``), or be a script without the page's nonce.
Formgrader's autograde button must leave the server answering while it grades.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAB = "lab2_kv_cache"
VECTORS = [line for line in (ROOT / "tests" / "data" / "xss_vectors.txt").read_text(encoding="utf-8").splitlines()
           if line.strip() and not line.startswith("# ")]
BAD_ID = "<img src=x onerror=alert(7)>"  # refused by the student-id rule; graded by plain nbgrader if it gets through
ODD_ID = "a+b@xss.example"
HOSTILE_NAME = "x\" onload=alert(42) <svg onload=alert(43)>.html"  # a file name beside the notebook
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster", "lowsrc", "dynsrc"}


# ------------------------------------------------------------------------------------------ sanitizer
class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def active_parts(fragment: str) -> list:
    """Event handlers, non-allowed tags and non-http(s) URLs in ``fragment`` (empty = inert)."""
    from mlsyslab.grading.sanitize import SAFE_TAGS

    parser = _Tags()
    parser.feed(fragment)
    found = []
    for tag, attrs in parser.tags:
        if tag not in SAFE_TAGS:
            found.append(tag)
        for name, value in attrs:
            clean = re.sub(r"[\x00-\x20\x7f]", "", value or "").lower()
            if name.startswith("on") or name in ("style", "srcdoc"):
                found.append(f"{tag}[{name}]")
            scheme = re.match(r"([a-z][a-z0-9+.-]*):", clean)
            if name in URL_ATTRS and scheme and scheme.group(1) not in ("http", "https"):
                found.append(f"{tag}[{name}={clean[:30]}]")
    return found


def test_corpus_is_cleaned_to_inert_html():
    from mlsyslab.grading.sanitize import clean_html

    assert len(VECTORS) >= 50
    survivors = {v: active_parts(clean_html(v)) for v in VECTORS}
    assert {v: p for v, p in survivors.items() if p} == {}
    # and the same vectors as markdown, rendered by the feedback exporter's filter
    from mlsyslab.grading.webpage import SafeHTMLExporter

    exporter = SafeHTMLExporter()
    render = exporter.environment.filters["markdown2html"]
    for v in VECTORS + ["[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "![i](data:text/html,<script>)"]:
        assert active_parts(render({"resources": {}}, v)) == [], v


def test_kept_formatting_is_kept():
    from mlsyslab.grading.sanitize import clean_html

    out = clean_html('<table class="dataframe"><tr><th>a</th><td colspan="2">1 &lt; 2</td></tr></table>'
                     '<a href="https://example.org/x">link</a><b>bold</b>')
    assert '<td colspan="2">1 &lt; 2</td>' in out and 'href="https://example.org/x"' in out and "<b>bold</b>" in out
    assert 'class="dataframe"' in out


def test_nested_markup_is_refused_before_parsing():
    """250 KB of nested tags (which html5 parsers take quadratic time over) is shown as text, and
    so is the same nesting made of stray closing tags a parser ignores; a flat 250 KB table is cut
    at MAX_HTML_CHARS and cleaned. Times: benchmarks/bench_sanitize.py."""
    from mlsyslab.grading.sanitize import MAX_DEPTH, MAX_HTML_CHARS, MAX_TAGS, clean_html

    for nested in ("<div>" * 50_000, "<div></b>" * 28_000, "<span><i>" * 25_000):
        out = clean_html(nested[:250_000])
        assert out.startswith(f"<p><em>[HTML shown as text: tags nested more than {MAX_DEPTH} deep")
        assert "<div>" not in out and "<span>" not in out and "&lt;" in out
    shallow = "<div>" * MAX_DEPTH + "x"
    assert clean_html(shallow).count("<div>") == MAX_DEPTH
    assert clean_html("<b>x</b>" * (MAX_TAGS // 2 + 1)).startswith(
        f"<p><em>[HTML shown as text: more than {MAX_TAGS} tags")
    out = clean_html("<p>" + "x" * 300_000 + "</p>")
    assert out == "<p>" + "x" * (MAX_HTML_CHARS - 3) + f"</p><p><em>[cut at {MAX_HTML_CHARS} characters]</em></p>"


def test_crafted_markdown_is_shown_as_text():
    """Markdown the parser is quadratic in (delimiter runs, brackets) is never parsed; honest markdown is."""
    from mlsyslab.grading.sanitize import MAX_MARKDOWN_MARKS
    from mlsyslab.grading.webpage import SafeHTMLExporter

    render = SafeHTMLExporter().environment.filters["markdown2html"]
    for crafted in ("*_" * 100_000, "[" * 200_000, "[a](" * 50_000, "`" * 5_000):
        assert render({"resources": {}}, crafted).startswith(
            f"<p><em>[HTML shown as text: more than {MAX_MARKDOWN_MARKS} markdown marks")
    honest = "The **KV cache** holds $2 L H_{kv} d_h$ bytes per token; see [vLLM](https://vllm.ai)."
    out = render({"resources": {}}, honest)
    assert "<strong>KV cache</strong>" in out and 'href="https://vllm.ai"' in out


def test_output_metadata_is_a_typed_allow_list():
    from mlsyslab.grading.sanitize import safe_output

    out = safe_output({"output_type": "display_data",
                       "data": {"image/png": PNG, "text/plain": "p", "image/svg+xml": "<svg onload=alert(1)>",
                                "text/html": "<b onclick=x()>b</b>", "application/javascript": "alert(1)"},
                       "metadata": {"image/png": {"width": "1 onerror=alert(1)", "height": 40, "alt": "x\" onload=1",
                                                  "unconfined": True}, "width": 3, "text/html": {"isolated": True}}})
    assert out["metadata"] == {"image/png": {"height": 40}}
    assert sorted(out["data"]) == ["image/png", "text/html", "text/plain"] and out["data"]["text/html"] == "<b>b</b>"
    for width, kept in ((300, 300), (300.7, 300), (0, None), (10_001, None), (True, None), ("300", None)):
        meta = safe_output({"output_type": "display_data", "data": {"image/jpeg": PNG},
                            "metadata": {"image/jpeg": {"width": width}}})["metadata"]
        assert meta.get("image/jpeg", {}).get("width") == kept, width
    assert safe_output({"output_type": "display_data", "data": {"image/png": "not base64 <script>"}})["data"] == {
        "text/plain": "[output removed: active content]"}
    assert safe_output({"output_type": "weird"}) is None


def test_final_page_keeps_only_the_templates_scripts():
    from mlsyslab.grading.webpage import PLACEHOLDER, final_page

    page = (f'<!DOCTYPE html><html><head><script nonce="{PLACEHOLDER}">ok()</script><script>bad()</script>'
            '<script nonce="N1">guessed()</script>'
            '<meta http-equiv="refresh" content="0;url=javascript:x"></head><body>'
            '<a href="jav&#x09;ascript:x()" onclick="y()">l</a><img src="data:image/png;base64,AAAA">'
            '<img src="data:image/svg+xml;base64,AAAA"><iframe srcdoc="<script>z()</script>"></iframe>'
            '<form action="javascript:x"><button formaction="javascript:x">b</button></form></body></html>')
    out, removed = final_page(page, "N1")
    assert out.index('http-equiv="Content-Security-Policy"') < out.index('<script nonce="N1">ok()')
    assert "bad()" not in out and "guessed()" not in out and "refresh" not in out and PLACEHOLDER not in out and "onclick" not in out and "javascript" not in out.lower()
    assert '<img src="data:image/png;base64,AAAA">' in out and "svg+xml" not in out and "iframe" not in out
    assert "script-src 'nonce-N1'" in html.unescape(out)
    assert "script" in removed and "iframe" in removed


def test_final_page_asks_no_outside_host():
    """nbgrader's feedback template loads MathJax from a CDN: a template script from another host is
    dropped like a student's, its local scripts stay, and the policy lets images, fonts and styles
    come only from the page's own server or data: (no tracking pixel, no CDN stylesheet)."""
    from mlsyslab.grading.webpage import PLACEHOLDER, final_page

    page = (f'<html><head><script nonce="{PLACEHOLDER}" src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/'
            f'MathJax.js"></script><script nonce="{PLACEHOLDER}" src="//cdn.example.org/x.js"></script>'
            f'<script nonce="{PLACEHOLDER}" src="/formgrader/static/local.js"></script></head><body></body></html>')
    out, removed = final_page(page, "N2")
    assert "cdnjs" not in out and "cdn.example.org" not in out and removed.count("script") == 2
    assert '<script nonce="N2" src="/formgrader/static/local.js">' in out
    csp = html.unescape(out).split('content="', 1)[1].split('"', 1)[0]
    for directive in ("img-src", "font-src", "style-src"):
        sources = next(d for d in csp.split("; ") if d.startswith(directive)).split()[1:]
        assert not any(s.rstrip(":") in ("http", "https") or "." in s for s in sources), (directive, sources)


def test_every_page_gets_its_own_nonce():
    """A template is compiled once; each page rendered by one exporter still gets its own nonce on
    every script of the template, and nothing of the template is removed."""
    import nbformat
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    from mlsyslab.grading.webpage import SafeHTMLExporter

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    exporter = SafeHTMLExporter(config=config)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# hi")])
    resources = {"base_url": "", "submission_id": "s1", "notebook_id": "n", "assignment_id": "a", "index": 0,
                 "total": 1, "student": "<b>st</b>", "notebook_path": "p"}
    for nonce in ("first-nonce", "second-nonce"):
        page, _ = exporter.from_notebook_node(nb, dict(resources, csp_nonce=nonce))
        scripts = re.findall(r"<script\b[^>]*>", page)
        assert len(scripts) >= 10 and all(f'nonce="{nonce}"' in tag for tag in scripts), scripts
        assert "&lt;b&gt;st&lt;/b&gt;" in page and "<b>st</b>" not in page


# ------------------------------------------------------------------------------------------ pipeline
OUTPUTS_CELL = r'''
import json
from IPython.display import display
V = json.loads(%s)
PNG = %r
for v in V:
    display({"text/html": v, "text/plain": "html"}, raw=True)
    display({"text/markdown": v, "text/plain": "md"}, raw=True)
    print(v)
    display({"image/png": PNG, "text/plain": "img"}, raw=True,
            metadata={"image/png": {"width": v, "height": v, "alt": v, "unconfined": v}, "width": v, "alt": v})
display({"image/png": PNG}, raw=True, metadata={"image/png": {"width": '1 onerror="alert(11)"'}})
display({"image/png": PNG}, raw=True, metadata={"width": '1 onerror=alert(12)', "height": '1 onload=alert(13)'})
display({"text/html": "<b>iso</b><script>alert(14)</script>"}, raw=True, metadata={"text/html": {"isolated": True}})
display({"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(15)'><script>alert(16)</script></svg>",
         "application/javascript": "alert(17)", "text/plain": "svg"}, raw=True)
'''

BOUNDED_CELL = r'''
import time
from IPython.display import display
display({"text/html": ("<div>" * 50000)[:250000]}, raw=True)
display({"text/html": ("<div></b>" * 28000)[:250000]}, raw=True)
display({"text/html": "<p>" + "x" * 3000000 + "</p>"}, raw=True)
time.sleep(5)
'''


def _notebooks(release):
    import copy

    import nbformat

    def with_cells(*cells):
        nb = copy.deepcopy(release)
        for i, cell in enumerate(cells):
            nb.cells.insert(2 + i, cell)
        return nb

    outputs = with_cells(nbformat.v4.new_code_cell(OUTPUTS_CELL % (repr(json.dumps(VECTORS)), PNG)))
    svg = base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(21)'><script>alert(22)</script>"
                           b"</svg>").decode()
    page = base64.b64encode(b"<script>alert(23)</script>").decode()
    attach = nbformat.v4.new_markdown_cell("![s](attachment:s.svg) [h](attachment:h.html) <img src='attachment:s.svg'>")
    attach["attachments"] = {"s.svg": {"image/svg+xml": svg}, "h.html": {"text/html": page}}
    links = nbformat.v4.new_markdown_cell("[a](javascript:alert(24)) [b](JAVASCRIPT:alert(25)) "
                                          "[c](data:text/html;base64,PHNjcmlwdD5hbGVydCgyNik8L3NjcmlwdD4=) "
                                          "<a href='javascript:alert(27)'>d</a> [e](&#106;avascript:alert(28))")
    markdown = with_cells(attach, links, *[nbformat.v4.new_markdown_cell(v) for v in VECTORS])
    gradeid = nbformat.v4.new_markdown_cell("my answer")
    gradeid.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "task": False, "points": 1,
                                    "schema_version": 3, "grade_id": 'g" autofocus onfocus="alert(31)" x="'}
    gradeid.metadata["tags"] = ['" onmouseover="alert(32)']
    crafted = "*_" * 100_000
    bounded = with_cells(nbformat.v4.new_code_cell(BOUNDED_CELL), nbformat.v4.new_markdown_cell(crafted),
                         nbformat.v4.new_markdown_cell(">" * 100_000))
    return {"xss-outputs": outputs, "xss-markdown": markdown, "xss-gradeid": with_cells(gradeid), ODD_ID: bounded}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    import nbformat

    from mlsyslab.grading import course

    tmp = tmp_path_factory.mktemp("xss")
    home = tmp / "course"
    (home / "source").mkdir(parents=True)
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
    shutil.copytree(ROOT / "autograder" / "source" / LAB, home / "source" / LAB)
    if (ROOT / "autograder" / "keys").is_dir():
        shutil.copytree(ROOT / "autograder" / "keys", home / "keys")
    course.release(course=home, labs_dir=None)
    release = nbformat.read(home / "release" / LAB / f"{LAB}.ipynb", 4)
    notebooks = _notebooks(release)
    subs = tmp / "submissions"
    for student, nb in notebooks.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{LAB}.ipynb")
    course.autograde(subs, tmp / "out", course=home, jobs=2)
    # a student's own HTML file beside the graded notebook (what formgrader's file route serves)
    (home / "autograded" / ODD_ID / LAB / "x.html").write_text("<script>alert(41)</script><b>hi</b>")
    (home / "autograded" / ODD_ID / LAB / HOSTILE_NAME).write_text("<script>alert(43)</script>")
    # plain nbgrader, a folder name that is no valid id
    plain = home / "submitted" / BAD_ID / LAB
    plain.mkdir(parents=True)
    nbformat.write(notebooks["xss-gradeid"], plain / f"{LAB}.ipynb")
    env = dict(os.environ, PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", LAB, f"--student={BAD_ID}"], cwd=home,
                          env=env, capture_output=True, text=True, timeout=900)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", LAB, f"--student={BAD_ID}"], cwd=home,
                   env=env, capture_output=True, text=True, timeout=900)
    return {"home": home, "out": tmp / "out", "students": list(notebooks), "plain": proc}


def _feedback_pages(graded) -> list:
    pages = sorted((graded["out"] / "feedback").glob(f"*/{LAB}.html"))
    pages += sorted((graded["home"] / "feedback").glob(f"*/{LAB}/{LAB}.html"))
    return pages


INIT = """
window.__pwned = 0;
window.__hit = function () { window.__pwned++; };
window.alert = window.confirm = window.prompt = window.print = window.__hit;
"""
PROVOKE = """async () => {
  for (const el of document.querySelectorAll('*')) {
    for (const type of ['mouseover', 'mouseenter', 'mousemove', 'focus', 'focusin', 'animationstart', 'toggle',
                        'load', 'error', 'begin', 'start']) {
      try { el.dispatchEvent(new Event(type, {bubbles: false})); } catch (e) {}
    }
  }
  await new Promise(r => setTimeout(r, 300));
}"""
INSPECT = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const n = a.name.toLowerCase(), v = a.value.replace(/[\\x00-\\x20\\x7f]/g, '').toLowerCase();
      if (n.startsWith('on') || n === 'srcdoc') bad.push(el.tagName + '[' + n + ']');
      const raster = el.tagName === 'IMG' && n === 'src' && /^data:image\\/(png|jpeg|gif|webp);/.test(v);
      if (%s.includes(n) && /^(javascript|vbscript|data|livescript):/.test(v) && !raster)
        bad.push(el.tagName + '[' + n + '=' + v.slice(0, 40) + ']');
    }
    if (['IFRAME', 'FRAME', 'OBJECT', 'EMBED', 'BASE', 'SVG', 'MATH'].includes(el.tagName.toUpperCase()))
      bad.push(el.tagName);
    if (el.tagName === 'SCRIPT' && !el.nonce) bad.push('SCRIPT without nonce: ' + (el.src || el.textContent.slice(0, 40)));
  }
  return bad;
}""" % json.dumps(sorted(URL_ATTRS))


def check_page(page, url: str) -> dict:
    """Open ``url``, provoke every element, return what ran or is active (all must be empty/0)."""
    dialogs, console = page.dialogs, page.csp_messages
    seen, seen_console = len(dialogs), len(console)
    page.goto(url)
    page.wait_for_load_state("load")
    try:
        page.wait_for_load_state("networkidle", timeout=10_000)
    except Exception:  # pages that poll keep the network busy: the load state is enough
        pass
    page.evaluate(PROVOKE)
    return {"url": url, "pwned": page.evaluate("() => window.__pwned"), "dialogs": dialogs[seen:],
            "active": page.evaluate(INSPECT), "still_there": urllib.parse.urlsplit(page.url).path == urllib.parse.urlsplit(url).path,
            "now_at": page.url, "csp_refusals": console[seen_console:],
            "page_scripts_ran": page.evaluate("() => document.documentElement.getAttribute('data-mlsyslab-scripts')")
            == "ran"}


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    from support_browser import CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT_MS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                     timeout=UI_TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()


def _new_page(chromium):
    context = chromium.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    context.add_init_script(INIT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.dialogs, page.csp_messages = [], []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    # a refusal by the page's CSP: one of our own scripts blocked, or something active left by the sanitizer
    page.on("console", lambda m: page.csp_messages.append(m.text) if "Content Security Policy" in m.text else None)
    return context, page


@pytest.mark.nbgrader
@pytest.mark.browser
@pytest.mark.timeout(1200)
def test_feedback_pages_run_nothing(graded, chromium):
    pages = _feedback_pages(graded)
    names = {p.parent.name if p.parent.name != LAB else p.parent.parent.name for p in pages}
    assert set(graded["students"]) <= names, (names, graded["plain"].stderr[-2000:])
    results = []
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert text.index('http-equiv="Content-Security-Policy"') < text.index("<script"), path
        csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1))
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "'nonce-" in script_src and "unsafe-inline" not in script_src and "*" not in script_src
        context, page = _new_page(chromium)
        try:
            results.append(check_page(page, path.as_uri()))
        finally:
            context.close()
    assert [r for r in results if r["pwned"] or r["dialogs"] or r["active"] or r["csp_refusals"] or not r["still_there"]
              or not r["page_scripts_ran"]] == []
    # what the grader stored (formgrader's and any later export's input) is inert already
    import nbformat

    for student in graded["students"]:
        nb = nbformat.read(graded["home"] / "autograded" / student / LAB / f"{LAB}.ipynb", 4)
        for cell in nb.cells:
            assert "attachments" not in cell and (cell.cell_type != "markdown" or active_parts(cell.source) == [])
            for output in cell.get("outputs", []):
                assert active_parts(output.get("data", {}).get("text/html", "")) == [], (student, output)
                assert set(output.get("data", {})) <= {"text/plain", "text/html", "image/png", "image/jpeg",
                                                       "application/vnd.mlsyslab.scores+json",
                                                       "application/vnd.mlsyslab.answers+json"}, (student, output)
                for meta in output.get("metadata", {}).values():
                    assert set(meta) <= {"width", "height"} and all(type(v) is int for v in meta.values()), meta
    by_student = {p.parent.name: p.read_text(encoding="utf-8") for p in pages if p.parent.name != LAB}
    bounded = by_student[ODD_ID]
    assert "HTML shown as text: tags nested more than 64 deep" in bounded and len(bounded) < 2_000_000


def _api(server, method, path, timeout=600):
    req = urllib.request.Request(f"{server.url}{path}", method=method, data=b"" if method == "POST" else None,
                                 headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, dict(resp.headers), resp.read().decode("utf-8", "replace")


def _submission_ids(server):
    """student id -> formgrader submission id, from formgrader's own API."""
    _, _, body = _api(server, "GET", f"/formgrader/api/submitted_notebooks/{LAB}/{LAB}")
    return {r["student"]: r["id"] for r in json.loads(body)}


@contextlib.contextmanager
def _formgrader_page(chromium, server):
    """A fresh browser page logged in to formgrader (the token sets the cookie); closed afterwards."""
    context, page = _new_page(chromium)
    try:
        page.goto(f"{server.url}/formgrader?token={server.token}")
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def formgrader(graded, tmp_path_factory):
    from support_browser import start_jupyter_lab, stop_process

    server = start_jupyter_lab(graded["home"], tmp_path_factory.mktemp("jhome"))
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.mark.nbgrader
@pytest.mark.browser
@pytest.mark.timeout(1200)
def test_formgrader_pages_run_nothing(graded, formgrader, chromium):
    server = formgrader
    ids = _submission_ids(server)
    assert set(graded["students"]) <= set(ids), ids
    q = urllib.parse.quote
    urls = [f"/formgrader/manage_assignments", f"/formgrader/manage_submissions/{LAB}", "/formgrader/gradebook",
            f"/formgrader/gradebook/{LAB}/{LAB}", "/formgrader/manage_students"]
    for student in (ODD_ID, BAD_ID, 'x";alert(51);//'):  # the last: a crafted link to a student page
        urls += [f"/formgrader/manage_students/{q(student, safe='')}",
                 f"/formgrader/manage_students/{q(student, safe='')}/{LAB}"]
    urls += [f"/formgrader/submissions/{sid}/" for sid in ids.values()]
    results = []
    with _formgrader_page(chromium, server) as page:
        for url in urls:
            results.append(check_page(page, server.url + url))
        text = page.evaluate("() => document.body.innerText")
    failed = [r for r in results if r["pwned"] or r["dialogs"] or r["active"] or r["csp_refusals"] or not r["still_there"]
              or not r["page_scripts_ran"]]
    assert failed == [], json.dumps(failed, indent=1)
    assert len(results) == len(urls) >= 15
    # formgrader's HTML carries the CSP header with the page's nonce, and shows ids as text
    status, headers, body = _api(server, "GET", f"/formgrader/submissions/{ids[ODD_ID]}/")
    nonce = re.search(r"'nonce-([^']+)'", headers["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in body and "object-src 'none'" in headers["Content-Security-Policy"]
    assert "a+b@xss.example" in body
    if BAD_ID in ids:  # got through intake: shown escaped
        _, _, page_bad = _api(server, "GET", f"/formgrader/submissions/{ids[BAD_ID]}/")
        assert BAD_ID not in page_bad and html.escape(BAD_ID) in page_bad
    assert text  # the last page rendered


@pytest.mark.nbgrader
@pytest.mark.browser
@pytest.mark.timeout(1200)
def test_formgrader_manual_grading_works_under_the_policy(graded, formgrader, chromium):
    """formgrader's own scripts run under the CSP (nonces, rewritten onclick): a score typed in is saved."""
    server = formgrader
    sid = _submission_ids(server)["xss-markdown"]
    with _formgrader_page(chromium, server) as page:
        page.goto(f"{server.url}/formgrader/submissions/{sid}/")
        page.wait_for_load_state("networkidle")
        box = page.locator("input.score").last
        grade_id = box.get_attribute("id")
        box.fill("0.5")
        box.press("Tab")
        deadline = time.monotonic() + 60
        while True:
            grades = page.context.request.get(f"{server.url}/formgrader/api/grades?submission_id={sid}").json()
            if {g["name"]: g["manual_score"] for g in grades}.get(grade_id) == 0.5:
                break
            assert time.monotonic() < deadline, (grade_id, grades)
            time.sleep(0.3)
        assert not page.locator("a.name-shown").is_visible()
        page.locator("[data-mlsyslab-click=toggle_name]").first.click()  # the rewritten onclick still works
        page.wait_for_function("() => [...document.querySelectorAll('a.name-shown')].some(e => e.offsetParent)")
        assert page.csp_messages == [] and page.evaluate("() => window.__pwned") == 0


@pytest.mark.nbgrader
@pytest.mark.browser
@pytest.mark.timeout(1200)
def test_formgrader_serves_student_files_as_sandboxed_downloads(graded, formgrader, chromium):
    server = formgrader
    sid = _submission_ids(server)[ODD_ID]
    status, headers, _ = _api(server, "GET", f"/formgrader/submissions/{sid}/x.html")
    assert status == 200 and headers["Content-Disposition"].startswith("attachment")
    assert headers["Content-Security-Policy"].startswith("sandbox") and headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = _api(server, "GET", f"/formgrader/submissions/{sid}/{urllib.parse.quote(HOSTILE_NAME)}")
    assert status == 200 and re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+"', headers["Content-Disposition"])
    with _formgrader_page(chromium, server) as page:
        with page.expect_download() as download:
            try:
                page.goto(f"{server.url}/formgrader/submissions/{sid}/x.html")
            except Exception as exc:  # chromium: "Download is starting"
                assert "Download" in str(exc) or "ERR_ABORTED" in str(exc), exc
        assert download.value.suggested_filename == "x.html"
        assert page.evaluate("() => window.__pwned") == 0


@pytest.mark.nbgrader
@pytest.mark.browser
@pytest.mark.timeout(1200)
def test_formgrader_autograde_button_leaves_the_server_answering(graded, formgrader):
    """The button's grading (a notebook with a 5 s cell) runs in a child process: /api/status
    answers meanwhile; an id the rule refuses is refused in one line; the submission is re-graded."""
    server = formgrader
    notebook = graded["home"] / "autograded" / ODD_ID / LAB / f"{LAB}.ipynb"
    before = notebook.stat().st_mtime
    result, answered = {}, []

    def press():
        result["reply"] = _api(server, "POST", f"/formgrader/api/submission/{LAB}/{urllib.parse.quote(ODD_ID)}/autograde",
                               timeout=900)

    thread = threading.Thread(target=press)
    thread.start()
    try:
        while thread.is_alive():
            start = time.monotonic()
            _api(server, "GET", "/api/status", timeout=30)
            if thread.is_alive():
                answered.append(time.monotonic() - start)
            time.sleep(0.5)
    finally:
        thread.join(900)
    reply = json.loads(result["reply"][2])
    assert reply["success"] is True, reply
    assert len(answered) >= 3  # the 5 s cell alone leaves time for several answers
    assert notebook.stat().st_mtime > before
    _, _, body = _api(server, "POST", f"/formgrader/api/submission/{LAB}/{urllib.parse.quote('a;b', safe='')}/autograde")
    refused = json.loads(body)
    assert refused["success"] is False and refused["error"].startswith("refused: student id 'a;b'")
    assert "\n" not in refused["error"]
