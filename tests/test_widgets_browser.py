"""mlsyslab.widgets in a real JupyterLab 4 (and Notebook 7) driven by headless Debian chromium.

The server and the browser are real (tests/support_browser.py). Each test writes a notebook,
runs all its cells in the page, then acts like a student: types a batch size, types a prediction,
locks and reveals it, and reads the result back from the DOM. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re

import pytest

import mlsyslab as ml

from support_browser import (browser, jupyter_server, kernel_execute, open_notebook, page,  # noqa: F401
                             run_all_cells, screenshot, scroll_and_wait, stderr_outputs, voila_url, wait_for_widgets,
                             write_notebook)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

EXPLORER_CELLS = [
    "import warnings\nwarnings.simplefilter('error')  # any warning while the widgets work would show as an error\n"
    "from mlsyslab.widgets import ServingExplorer, PredictionCheckpoint, RooflinePlot",
    "explorer = ServingExplorer(model='Llama3_8B', hardware='H100', seq_len=4096, batch_size=8)\nexplorer",
    "cp = PredictionCheckpoint('TTFT of the explorer above?', answer=lambda: explorer.result.ttft, unit='ms',\n"
    "                          key='browser-ttft', path='predictions.jsonl', explanation='2PS / peak, plus attention.')\ncp",
    "RooflinePlot(hardware=['H100', 'A100'], workloads=['Llama3_8B', 'ResNet50'])",
]


def _readout(page):
    return page.locator(".mlsyslab-serving-explorer .mlsyslab-readout").inner_text()


def _type_batch(page, scope, value=256):
    """Click the labelled batch_size box, type a value and press Enter, as a student would."""
    box = scope.get_by_label("batch_size").first
    box.scroll_into_view_if_needed()
    box.click()
    box.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def test_serving_explorer_and_checkpoint_in_jupyterlab(page, jupyter_server):
    write_notebook(jupyter_server.root, "explorer.ipynb", EXPLORER_CELLS)
    open_notebook(page, jupyter_server, "explorer.ipynb")
    run_all_cells(page)

    # the bqplot figures were drawn as SVG: memory bar figure + roofline
    wait_for_widgets(page, ".mlsyslab-serving-explorer .bqplot rect.bar", count=3)  # weights / KV / free
    wait_for_widgets(page, ".mlsyslab-roofline .bqplot path.line", count=1)
    assert page.locator(".bqplot").count() >= 2
    dots = page.locator(".mlsyslab-roofline .bqplot .dot")
    assert dots.count() == 2 + 3  # 2 ridges + Llama3_8B prefill, Llama3_8B decode, ResNet50
    dots.nth(4).scroll_into_view_if_needed()
    dots.nth(4).hover(force=True)  # hover tooltip of the ResNet50 point
    page.wait_for_function("() => [...document.querySelectorAll('.bqplot_tooltip_div')]"
                           ".some(e => e.innerText.includes('ResNet50'))", timeout=15_000)
    page.locator(".mlsyslab-serving-explorer").scroll_into_view_if_needed()
    before = _readout(page)
    assert re.search(r"TTFT\s+[\d.,]+\s*(ms|s)", before), before
    assert "OOM" not in page.locator(".mlsyslab-serving-explorer").inner_text()
    screenshot(page, "widgets-lab-initial")

    # type 256 in the batch box: 256 requests of 4096 tokens do not fit an H100
    _type_batch(page, page.locator(".mlsyslab-serving-explorer").first)
    page.wait_for_function("() => document.querySelector('.mlsyslab-serving-explorer .mlsyslab-oom')"
                           ".innerText.includes('OOM')", timeout=30_000)
    after = _readout(page)
    assert after != before
    assert "batch 256" in after and "OOM" in after
    banner = page.locator(".mlsyslab-oom").inner_text()
    assert "largest batch that fits: 130" in banner  # floor((80 GiB - 16.06 GB) / (4096 x 131072 B))
    kv_bar_fill = page.locator(".mlsyslab-serving-explorer rect.bar").nth(1).evaluate("e => getComputedStyle(e).fill")
    assert kv_bar_fill == "rgb(213, 94, 0)"  # #D55E00 (Okabe-Ito vermillion): the KV segment is over capacity
    screenshot(page, "widgets-lab-oom")

    # predict, lock, try to edit, reveal
    box = page.locator(".mlsyslab-prediction-checkpoint")
    box.locator("input[type=text]").fill("120 ms")
    box.locator("input[type=text]").press("Enter")  # Enter locks (so does the Lock prediction button)
    page.wait_for_function("() => document.querySelector('.mlsyslab-status').innerText.includes('Locked')",
                           timeout=30_000)
    assert box.locator("input[type=text]").is_disabled()
    box.get_by_role("button", name="Reveal answer").click()
    page.wait_for_function("() => document.querySelector('.mlsyslab-reveal').innerText.includes('Answer')",
                           timeout=30_000)
    reveal = box.locator(".mlsyslab-reveal").inner_text()
    answer = float(re.search(r"Answer:\s*([\d.,]+)\s*ms", reveal).group(1).replace(",", ""))
    error = float(re.search(r"error\s*([+-][\d.]+)\s*%", reveal).group(1))
    assert error == pytest.approx((120 - answer) / answer * 100, abs=0.1 + abs(error) * 1e-3)
    # the answer is the solver's TTFT for the explorer's state after the drag (batch 256)
    truth_ms = ml.ServingSolver().solve("Llama3_8B", "H100", 4096, 256).ttft.to("ms").magnitude
    assert answer == pytest.approx(truth_ms, rel=1e-3)
    screenshot(page, "widgets-lab-revealed")

    # the prediction was kept next to the notebook, readable by a grader
    events = [json.loads(x) for x in (jupyter_server.root / "predictions.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["lock", "reveal"]
    assert events[0]["prediction"] == 120.0 and events[1]["answer"] == pytest.approx(answer, rel=1e-3)
    assert stderr_outputs(page) == []


ALL_CELLS = [
    "import warnings, traitlets\nwarnings.simplefilter('error')\nimport mlsyslab.widgets as mw",
    "wall = mw.MemoryWall(model='Llama3_8B', hardware='H100', seq_len=4096, batch_size=8)\nwall",
    "mw.ContextScaling(max_seq_len=32768)",
    "mw.HardwareComparison(hardware=['A100', 'H100', 'H200', 'B200', 'MI300X'], precisions=['fp16', 'fp8'])",
    "a = mw.ServingExplorer(hardware='H100')\nb = mw.ServingExplorer(hardware='MI300X')\n"
    "traitlets.link((a, 'batch_size'), (b, 'batch_size'))\nimport ipywidgets\nipywidgets.HBox([a.view, b.view])",
]


def test_every_component_draws_and_follows_the_kernel(page, jupyter_server):
    write_notebook(jupyter_server.root, "all.ipynb", ALL_CELLS)
    open_notebook(page, jupyter_server, "all.ipynb")
    run_all_cells(page)
    # each component drew its bqplot SVG marks (scrolled into view, as a student would)
    scroll_and_wait(page, ".mlsyslab-memory-wall", ".bqplot path.line", count=2 * 3)  # total, weights, capacity
    assert page.locator(".mlsyslab-first-oom-batch").inner_text() == "131"  # hand: floor(69.84e9 / 536.9e6) + 1
    screenshot(page, "widgets-lab-memory-wall")
    scroll_and_wait(page, ".mlsyslab-context-scaling", ".bqplot path.line", count=2)  # full and linear models
    bars = scroll_and_wait(page, ".mlsyslab-hardware-comparison", ".bqplot rect.bar", count=3 * 5 * 2)
    page.wait_for_timeout(500)  # bqplot animates bar heights
    heights = bars.evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    assert min(heights) > 5, heights  # every device x precision has a visible bar
    screenshot(page, "widgets-lab-hardware-comparison")
    scroll_and_wait(page, ".mlsyslab-serving-explorer", ".bqplot rect.bar", count=3)
    assert page.locator(".bqplot").count() >= 8  # 2 (wall) + 1 (context) + 3 (comparison) + 2 (explorers)

    # a trait set in the kernel redraws the page: at 8192 tokens the wall comes at batch 66
    assert kernel_execute(page, "wall.seq_len = 8192") == "ok"
    # (textContent: the wall's cell is scrolled out of view, where JupyterLab skips rendering and innerText is '')
    page.wait_for_function("() => document.querySelector('.mlsyslab-first-oom-batch').textContent === '66'",
                           timeout=30_000)

    # two explorers linked by traitlets.link: a batch typed in A's box moves B
    explorers = page.locator(".mlsyslab-serving-explorer")
    assert explorers.count() == 2
    _type_batch(page, explorers.nth(0))
    page.wait_for_function("() => [...document.querySelectorAll('.mlsyslab-serving-explorer .mlsyslab-readout')]"
                           ".every(e => e.innerText.includes('batch 256'))", timeout=30_000)
    assert "OOM" in explorers.nth(0).inner_text()  # H100: 80 GiB
    assert "OOM" not in explorers.nth(1).inner_text()  # MI300X: 192 GiB holds 256 x 4096 tokens + weights
    screenshot(page, "widgets-lab-linked")
    assert stderr_outputs(page) == []


def test_notebook7_explorer_and_checkpoint(page, jupyter_server):
    # its own key: a prediction locked under 'browser-ttft' by the first test stays locked (read back from the file)
    cells = [c.replace("browser-ttft", "browser-nb7") for c in EXPLORER_CELLS[:3]]
    write_notebook(jupyter_server.root, "nb7.ipynb", cells)
    open_notebook(page, jupyter_server, "nb7.ipynb", flavour="notebook")
    run_all_cells(page)
    wait_for_widgets(page, ".mlsyslab-serving-explorer .bqplot rect.bar", count=3)
    box = page.locator(".mlsyslab-prediction-checkpoint")
    box.locator("input[type=text]").fill("2 s")
    box.get_by_role("button", name="Reveal answer").click()  # reveal locks first
    page.wait_for_function("() => document.querySelector('.mlsyslab-reveal').innerText.includes('Answer')",
                           timeout=30_000)
    assert box.locator("input[type=text]").is_disabled()
    truth_ms = ml.ServingSolver().solve("Llama3_8B", "H100", 4096, 8).ttft.to("ms").magnitude
    error = float(re.search(r"error\s*([+-][\d.]+)\s*%", box.inner_text()).group(1))
    assert error == pytest.approx((2000 - truth_ms) / truth_ms * 100, abs=0.06)
    screenshot(page, "widgets-notebook7")
    assert stderr_outputs(page) == []


def test_voila_renders_and_reacts(page, jupyter_server):
    write_notebook(jupyter_server.root, "voila.ipynb", EXPLORER_CELLS[:2])
    page.goto(voila_url(jupyter_server, "voila.ipynb"))
    wait_for_widgets(page, ".mlsyslab-serving-explorer .bqplot rect.bar", count=3, timeout_ms=90_000)
    readout = page.locator(".mlsyslab-readout")
    assert "of 85.9 GB" in readout.inner_text()
    h200 = ml.Hardware.H200
    page.locator(".mlsyslab-serving-explorer select").nth(1).select_option(label=f"H200: {h200.name}", timeout=15_000)
    page.wait_for_function("() => document.querySelector('.mlsyslab-readout').innerText.includes('of 151 GB')",
                           timeout=30_000)  # H200: 141 GiB = 151.4 GB
    screenshot(page, "widgets-voila")


def test_notebook_saved_with_widget_state_renders_without_running(page, jupyter_server):
    """Executed headless (as nbgrader does) with the widget state stored, then opened: the
    figures and the OOM banner are drawn from the saved state, no cell is run."""
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
        "import mlsyslab.widgets as mw", "mw.ServingExplorer(seq_len=4096, batch_size=200)")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(jupyter_server.root)}}).execute()
    path = jupyter_server.root / "saved.ipynb"
    nbformat.write(nb, path)
    jupyter_server.trust(path)  # the student's own saved notebook is trusted
    page.goto(jupyter_server.lab_url("saved.ipynb"))
    scroll_and_wait(page, ".mlsyslab-serving-explorer", ".bqplot rect.bar", count=3)
    assert "largest batch that fits: 130" in page.locator(".mlsyslab-oom").inner_text()
    assert "batch 200" in page.locator(".mlsyslab-readout").inner_text()
    screenshot(page, "widgets-lab-saved-state")
