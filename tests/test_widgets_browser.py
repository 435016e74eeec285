"""mlsyslab.widgets in a real JupyterLab 4 (and Notebook 7) driven by headless Debian chromium.

The server and the browser are real (tests/support_browser.py). Each test writes a notebook,
runs all its cells in the page, then acts like a student: drags a slider, types a prediction,
locks and reveals it, and reads the result back from the DOM. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re

import pytest

import mlsyslab as ml

from support_browser import (browser, jupyter_server, open_notebook, page, run_all_cells,  # noqa: F401
                             screenshot, stderr_outputs, wait_for_widgets, write_notebook)

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


def _drag_slider_to_end(page, slider):
    """Drag a noUiSlider handle to the right end of its track (a real mouse drag)."""
    handle = slider.locator(".noUi-handle")
    track = slider.locator(".noUi-target")
    hb, tb = handle.bounding_box(), track.bounding_box()
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(tb["x"] + tb["width"] * 0.6, hb["y"] + hb["height"] / 2, steps=5)
    page.mouse.move(tb["x"] + tb["width"] + 20, hb["y"] + hb["height"] / 2, steps=5)
    page.mouse.up()


def test_serving_explorer_and_checkpoint_in_jupyterlab(page, jupyter_server):
    write_notebook(jupyter_server.root, "explorer.ipynb", EXPLORER_CELLS)
    open_notebook(page, jupyter_server, "explorer.ipynb")
    run_all_cells(page)

    # the bqplot figures were drawn as SVG: memory bar figure + roofline
    wait_for_widgets(page, ".mlsyslab-serving-explorer .bqplot rect.bar", count=3)  # weights / KV / free
    wait_for_widgets(page, ".mlsyslab-roofline .bqplot path.line", count=1)
    assert page.locator(".bqplot").count() >= 2
    assert page.locator(".mlsyslab-roofline .bqplot .dot").count() >= 3  # workload points (+ ridges)
    before = _readout(page)
    assert re.search(r"TTFT\s+[\d.,]+\s*(ms|s)", before), before
    assert "OOM" not in page.locator(".mlsyslab-serving-explorer").inner_text()
    screenshot(page, "widgets-lab-initial")

    # move the batch slider all the way right: 256 requests of 4096 tokens do not fit an H100
    slider = page.locator(".mlsyslab-serving-explorer .widget-slider", has_text="batch_size")
    _drag_slider_to_end(page, slider)
    page.wait_for_function("() => document.querySelector('.mlsyslab-serving-explorer .mlsyslab-oom')"
                           ".innerText.includes('OOM')", timeout=30_000)
    after = _readout(page)
    assert after != before
    assert "batch 256" in after and "OOM" in after
    banner = page.locator(".mlsyslab-oom").inner_text()
    assert "largest batch that fits: 130" in banner  # floor((80 GiB - 16.06 GB) / (4096 x 131072 B))
    kv_bar_fill = page.locator(".mlsyslab-serving-explorer rect.bar").nth(1).evaluate("e => getComputedStyle(e).fill")
    assert kv_bar_fill == "rgb(214, 39, 40)"  # #d62728: the KV segment turned red
    screenshot(page, "widgets-lab-oom")

    # predict, lock, try to edit, reveal
    box = page.locator(".mlsyslab-prediction-checkpoint")
    box.locator("input[type=text]").fill("120 ms")
    box.locator("input[type=text]").press("Enter")
    box.get_by_role("button", name="Lock prediction").click()
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
