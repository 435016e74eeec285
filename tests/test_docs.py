"""The documentation site: it builds offline with warnings as errors, its internal links resolve,
its catalogs list the whole zoo, its executed examples match a hand calculation, and it renders
(sortable tables, offline MathJax) in headless chromium.

One full build (about 30-60 s on 2 cores) is shared by every test of this module.
"""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import mlsyslab as ml

BUILD_TIMEOUT_S = 900
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


# --------------------------------------------------------------------------- the build

@pytest.fixture(scope="module")
def site(tmp_path_factory, repo_root, artifacts_dir) -> Path:
    """Build the whole site the way ``make docs`` does (-W --keep-going), into a temporary folder."""
    out = tmp_path_factory.mktemp("docs")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-d", str(out / "doctrees"),
           str(repo_root / "docs"), str(out / "html")]
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    log = proc.stdout + proc.stderr
    (artifacts_dir / "docs-build.log").write_text(log)
    assert proc.returncode == 0, "docs build failed (see test-artifacts/docs-build.log):\n" + log[-6000:]
    return out / "html"


class _Page(HTMLParser):
    """Ids, links and table rows of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table = None
        self._in_body = False
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "link", "script", "img", "iframe", "source"):
                self.links.append(a[key])
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tbody" and self._table:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[self._table].append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@functools.lru_cache(maxsize=None)
def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def text_of(path: Path) -> str:
    """Visible text of a page, whitespace collapsed (tags dropped)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    from html import unescape

    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# --------------------------------------------------------------------------- build and links

@pytest.mark.slow
def test_site_builds_with_every_section(site):
    for page in ("index.html", "getting-started.html", "catalogs.html", "catalog/hardware.html",
                 "catalog/models.html", "solvers.html", "solvers/serving.html", "solvers/roofline.html",
                 "solvers/distributed.html", "solvers/sustainability.html", "solvers/cost.html",
                 "catalog/systems-clusters.html", "catalog/infra-grids.html", "validation.html", "tutorials/llm-serving.html",
                 "glossary.html", "api.html", "api/mlsyslab.html", "api/mlsyslab.solvers.serving.html",
                 "api/mlsyslab.zoo.specs.html", "labs.html", "search.html", "genindex.html"):
        assert (site / page).is_file(), f"{page} missing from the built site"


@pytest.mark.slow
def test_every_docstring_renders_as_restructuredtext(site):
    """The API reference shows a docstring verbatim only when it is not valid reST; none should be."""
    verbatim = (site.parent / "docstrings-verbatim.txt").read_text().strip()
    assert verbatim == "", "docstrings that are not valid reStructuredText:\n" + verbatim


@pytest.mark.slow
def test_every_internal_link_and_anchor_resolves(site):
    broken, checked = [], 0
    pages = [p for p in sorted(site.rglob("*.html")) if "_static" not in p.relative_to(site).parts]
    for page in pages:  # (_static/ holds the theme's Jinja macro files, not pages)
        for link in parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue  # external (Binder, sources): not fetched offline
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            checked += 1
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {link} (no file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in parse(target).ids:
                broken.append(f"{page.relative_to(site)} -> {link} (no anchor)")
    assert checked > 500, f"only {checked} internal links found: the parser is not seeing the pages"
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:50])


@pytest.mark.slow
def test_pages_load_nothing_from_the_network(site):
    """Scripts, stylesheets and MathJax are local: the site renders offline."""
    for page in ("index.html", "catalog/hardware.html", "solvers/serving.html"):
        remote = [link for link in parse(site / page).links
                  if urlsplit(link).scheme and re.search(r"\.(js|css|woff2?)(\?|$)", link)]
        assert not remote, f"{page} loads {remote}"
    assert (site / "_static" / "mathjax" / "tex-chtml.js").stat().st_size > 500_000
    assert 'src="_static/mathjax/tex-chtml.js' in (site / "index.html").read_text() or \
        "mathjax/tex-chtml.js" in (site / "solvers" / "serving.html").read_text()


# --------------------------------------------------------------------------- generated content

@pytest.mark.slow
def test_hardware_catalog_lists_every_device_with_datasheet_figures(site):
    rows = parse(site / "catalog" / "hardware.html").tables["catalog-hardware"]
    assert len(rows) == len(ml.Hardware)
    assert sorted(r[0] for r in rows) == sorted(h.key for h in ml.Hardware)
    h100 = next(r for r in rows if r[0] == "H100")
    # NVIDIA H100 SXM5 datasheet: 80 GB HBM3 (binary: 80 GiB), 3.35 TB/s, 1,979 TFLOP/s fp16 "with
    # sparsity" -> 989.5 dense; 700 W. Ridge point by hand: 989.5e12 / 3.35e12 = 295.4 FLOP/byte.
    assert "80 GiB" in h100 and "3.35" in h100 and "989.5" in h100 and "700" in h100 and "295" in h100
    assert "1,979" in h100  # fp8 dense
    stm32 = next(r for r in rows if r[0] == "STM32H7")
    assert any(c.endswith("KiB") for c in stm32), "a microcontroller's memory keeps its KiB unit"


@pytest.mark.slow
def test_model_catalog_lists_every_model_with_derived_parameters(site):
    rows = parse(site / "catalog" / "models.html").tables["catalog-models"]
    assert len(rows) == len(ml.Models)
    llama = next(r for r in rows if r[0] == "Llama3_8B")
    # Llama-3.1-8B by hand: per layer attention 4096*4096*2 + 2*4096*1024 = 41,943,040; FFN 3*4096*14336
    # = 176,160,768; norms 8,192 -> 218,112,000 x 32 = 6,979,584,000; embeddings 2*128256*4096 =
    # 1,050,673,152; final norm 4,096 -> 8,030,261,248 = 8.03 B.
    assert "8.03" in llama and "GQA (4:1)" in llama
    # KV-cache per token fp16: 2 * 32 layers * 8 KV heads * 128 * 2 B = 131,072 B = 128 KiB.
    assert "128" in llama


@pytest.mark.slow
def test_worked_example_numbers_are_executed_and_match_a_hand_calculation(site):
    text = text_of(site / "solvers" / "serving.html")
    # By hand: W = 8,030,261,248 x 2 B = 16.06 GB; KV(S=2048) = 2*32*8*128*2048*2 B = 268,435,456 B;
    # ITL = (W + KV) / 3.35e12 B/s = 16,328,957,952 / 3.35e12 = 4.874 ms (memory-bound).
    assert "hand: TTFT" in text and "ITL = 4.874 ms" in text
    assert "W = 16.06 GB, KV = 0.268 GB" in text
    # Prefill FLOPs by hand: 2 P S + 2 L S^2 a = 32.89e12 + 1.10e12 = 33.99 TFLOP -> / 989.5e12 = 34.35 ms.
    assert "34.0 TFLOP" in text and "TTFT = 34.35 ms" in text
    assert "memory-bound" in text and "compute-bound" in text
    start = text_of(site / "getting-started.html")
    assert "largest batch that fits:" in start and "TTFT" in start
    assert 'href="https://mybinder.org/v2/gh/' in (site / "getting-started.html").read_text()


@pytest.mark.slow
def test_glossary_defines_the_course_terms(site):
    ids = parse(site / "glossary.html").ids
    for term in ("TTFT", "ITL", "KV-cache", "GQA", "MHA", "roofline", "ridge point", "arithmetic intensity",
                 "MFU", "PUE", "WUE", "carbon intensity", "tensor parallelism", "pipeline parallelism",
                 "data parallelism", "ZeRO", "bubble"):
        assert f"term-{term.lower().replace(' ', '-')}" in {i.lower() for i in ids}, term


@pytest.mark.slow
def test_api_reference_documents_every_public_module(site):
    import pkgutil

    modules = [i.name for i in pkgutil.walk_packages(ml.__path__, "mlsyslab.")
               if not any(p.startswith("_") for p in i.name.split("."))]
    missing = [m for m in modules if not (site / "api" / f"{m}.html").is_file()]
    assert not missing, missing
    serving = parse(site / "api" / "mlsyslab.solvers.serving.html").ids
    assert {"mlsyslab.solvers.serving.ServingSolver", "mlsyslab.solvers.serving.ServingSolver.solve"} <= serving


# --------------------------------------------------------------------------- in a browser

@pytest.fixture(scope="module")
def server(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.mark.slow
@pytest.mark.browser
def test_screenshots_and_sortable_catalog_in_chromium(server, artifacts_dir):
    from playwright.sync_api import sync_playwright

    external = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)

            def offline(route):
                if route.request.url.startswith(server):
                    return route.continue_()
                external.append(route.request.url)
                return route.abort()

            page.route("**/*", offline)

            page.goto(f"{server}/index.html", wait_until="load")
            assert "mlsyslab" in page.title()
            page.screenshot(path=str(artifacts_dir / "docs-home.png"), full_page=True)

            page.goto(f"{server}/catalog/hardware.html", wait_until="load")
            rows = page.locator("#catalog-hardware tbody tr")
            assert rows.count() == len(ml.Hardware)
            page.screenshot(path=str(artifacts_dir / "docs-catalog-hardware.png"))

            # Sort by bandwidth, twice = descending: the first row is the zoo's fastest memory.
            header = page.locator("#catalog-hardware thead th", has_text="Bandwidth")
            header.click()
            header.click()
            assert header.get_attribute("aria-sort") == "descending"
            fastest = max(ml.Hardware, key=lambda h: h.memory_bandwidth_Bps)
            slowest = min(ml.Hardware, key=lambda h: h.memory_bandwidth_Bps)
            assert rows.nth(0).locator("td").first.inner_text().strip() == fastest.key
            assert rows.nth(rows.count() - 1).locator("td").first.inner_text().strip() == slowest.key
            assert rows.count() == len(ml.Hardware)

            # Equations are typeset by the MathJax copy served with the site (no network).
            page.goto(f"{server}/solvers/serving.html", wait_until="load")
            page.wait_for_selector("mjx-container", timeout=30_000)
            assert page.locator("mjx-container").count() >= 8
            page.screenshot(path=str(artifacts_dir / "docs-solver-serving.png"))

            offline_pages_fetched = list(external)
            labs = sorted((Path(__file__).resolve().parent.parent / "labs").glob("*.ipynb"))
            if labs:  # a rendered lab: its Binder button and its executed outputs
                page.goto(f"{server}/labs/{labs[0].stem}.html", wait_until="load")
                assert page.locator("a.launch-binder").count() == 1
                assert page.locator(".cell_output").count() >= 1
                page.screenshot(path=str(artifacts_dir / "docs-lab.png"))
        finally:
            browser.close()
    assert not offline_pages_fetched, f"pages tried to fetch from the network: {offline_pages_fetched}"
    # The one documented exception (docs/README.md): lab pages load the ipywidgets manager from a CDN.
    widget_manager = [u for u in external[len(offline_pages_fetched):]
                      if "require.js" not in u and "@jupyter-widgets/html-manager" not in u]
    assert not widget_manager, f"a lab page fetched more than the widget manager: {widget_manager}"


# --------------------------------------------------------------------------- labs and validation

def _solution_lines(nb: dict) -> list[str]:
    """Non-trivial code lines inside the nbgrader solution regions of an instructor notebook."""
    found = []
    for cell in nb["cells"]:
        inside = False
        for line in "".join(cell["source"]).splitlines():
            s = line.strip()
            if s.startswith("### BEGIN SOLUTION"):
                inside = True
            elif s.startswith("### END SOLUTION"):
                inside = False
            elif inside and len(s) > 12 and not s.startswith("#"):
                found.append(s)
    return found


def test_lab_pages_strip_solutions_and_hidden_tests():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs" / "_ext"))
    from lab_pages import binder_url, student_version

    nb = {"cells": [
        {"cell_type": "code", "source": "x = 1\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\n",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "42"}], "execution_count": 3},
        {"cell_type": "code", "source": "assert x\n### BEGIN HIDDEN TESTS\nassert answer == 42\n### END HIDDEN TESTS",
         "outputs": [], "execution_count": 4},
        {"cell_type": "markdown", "source": "### BEGIN SOLUTION\nBecause of bandwidth.\n### END SOLUTION"},
    ]}
    out = student_version(nb)["cells"]
    assert out[0]["source"] == "x = 1\n# YOUR CODE HERE\nraise NotImplementedError()\n" and out[0]["outputs"] == []
    assert out[1]["source"] == "assert x"
    assert out[2]["source"] == "YOUR ANSWER HERE"
    assert binder_url("o/r", "main", "labs/a b.ipynb") == \
        "https://mybinder.org/v2/gh/o/r/main?urlpath=lab%2Ftree%2Flabs%2Fa%20b.ipynb"


@pytest.mark.slow
def test_every_lab_is_rendered_with_a_binder_button_and_no_solution(site, repo_root):
    import json

    labs = sorted((repo_root / "labs").glob("*.ipynb"))
    for lab in labs:
        page = site / "labs" / f"{lab.stem}.html"
        assert page.is_file(), f"{lab.name} has no page"
        html = page.read_text()
        assert "https://mybinder.org/v2/gh/" in html and f"labs%2F{lab.stem}.ipynb" in html
        assert html.count('class="cell_output') >= 3, f"{lab.name} is rendered without its outputs"
        text = text_of(page)
        source = repo_root / "autograder" / "source" / lab.stem / lab.name
        if source.is_file():
            leaked = [s for s in _solution_lines(json.loads(source.read_text())) if s in text]
            assert not leaked, f"{lab.name}: solution lines on the public page: {leaked[:5]}"
    if not labs:
        assert (site / "labs" / "none.html").is_file()


@pytest.mark.slow
def test_validation_page_is_regenerated_from_the_measurements(site, repo_root):
    if not (repo_root / "docs" / "validation.md").is_file():
        pytest.fail("docs/validation.md is missing")  # owned by the calibration work; listed in the index
    from mlsyslab.calibration.validate import format_markdown, validate

    fresh = format_markdown(validate())
    summary = [line for line in fresh.splitlines() if line.startswith("| calibrated |")]
    assert summary, "format_markdown has no calibrated summary row"
    cells = [c.strip() for c in summary[0].strip("|").split("|")]
    text = text_of(site / "validation.html")
    assert all(c.replace("\\|", "|") in text for c in cells[1:]), (cells, "not on the built page")


@pytest.mark.slow
def test_every_example_script_is_an_executed_tutorial_page(site, repo_root):
    scripts = sorted((repo_root / "examples").glob("*.py"))
    assert scripts, "examples/ has no scripts"
    for script in scripts:
        page = site / "examples" / f"{script.stem}.html"
        assert page.is_file(), f"{script.name} has no page"
        assert 'class="cell_output' in page.read_text(), f"{script.name}: its page shows no output"
    # hello_world by hand: ResNet-50 is 4.09 G MACs = 8.18 GFLOP per image (1 MAC = 2 FLOPs), and the
    # A100's ridge point is 312 TFLOP/s / 2.039 TB/s = 153.0 FLOP/B.
    if (repo_root / "examples" / "hello_world.py").is_file():
        text = text_of(site / "examples" / "hello_world.html")
        assert "8.18 GFLOP per image" in text and "ridge point 153.0 FLOP/B" in text


def test_serving_guide_uses_the_symbols_of_the_code():
    """Every symbol the physics docstring defines appears, as LaTeX, in the guide's symbol table."""
    import mlsyslab.solvers.serving_physics as physics

    symbols_line = re.search(r"Symbols[^:]*:(.*?)\n\n", physics.__doc__, re.S).group(1)
    expected = {"P", "P_a", "L", "d", "a", "H_kv", "d_h", "S", "B", "t", "b_w", "b_kv"}
    defined = set(re.findall(r"\b[A-Za-z](?:_[a-z]+)?\b", symbols_line))
    assert expected <= defined, f"the docstring's symbols changed: {sorted(expected - defined)} gone"
    guide = (Path(__file__).resolve().parent.parent / "docs" / "solvers" / "serving.md").read_text()
    table = guide.split("## Symbols", 1)[1].split("## Equations", 1)[0]
    for s in expected:
        base, _, sub = s.partition("_")
        latex = f"{base}_{{{sub}}}" if len(sub) > 1 else s
        assert f"${latex}" in table or f" {latex}$" in table or f"${latex}$" in table, f"{s} ({latex}) missing"
