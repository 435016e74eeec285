"""Voila explorers (labs/explorers/<lab>.ipynb): widgets only, short text, in sync with
their lab's EXPLORER (mlsyslab/labs/builtin/<lab>.py), linked from their lab; they run headless clean and Voila renders them
(real Jupyter server + Voila extension + headless chromium, tests/support_browser.py)."""

from __future__ import annotations

import pathlib
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from support_browser import browser, jupyter_server, page, screenshot, voila_url, wait_for_widgets  # noqa: F401

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXPLORERS = sorted((ROOT / "labs" / "explorers").glob("*.ipynb"))


def test_one_explorer_per_lab_topic_with_a_widget_linked_from_the_lab():
    from mlsyslab.labs import authoring, registry

    with_explorer = sorted(n for n in registry.names() if getattr(registry.load(n), "EXPLORER", None))
    assert [p.stem for p in EXPLORERS] == with_explorer and len(EXPLORERS) >= 5
    for path in EXPLORERS:
        nb = nbformat.read(path, 4)
        assert [(c.cell_type, c.source) for c in nb.cells] == \
            [(c.cell_type, c.source) for c in authoring.explorer(path.stem, registry.load(path.stem)).cells], \
            f"{path.name} is stale: run mlsyslab course build"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert len(code) == 1 and code[0].metadata["jupyter"]["source_hidden"]  # nothing to edit
        words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
        assert words < 120, (path.name, words)  # short text
        lab = nbformat.read(ROOT / "labs" / f"{path.stem}.ipynb", 4)
        assert f"](explorers/{path.name})" in lab.cells[0].source and "not a Voila page" in lab.cells[0].source


@pytest.mark.parametrize("path", EXPLORERS, ids=[p.stem for p in EXPLORERS])
def test_explorer_runs_clean_and_shows_only_widgets(path, tmp_path):
    nb = nbformat.read(path, 4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs and all(o.output_type in ("display_data", "execute_result") for o in outputs), outputs
    assert all("application/vnd.jupyter.widget-view+json" in o.data for o in outputs)


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_voila_renders_the_explorers(page, jupyter_server):  # noqa: F811
    """Two explorers in Voila: the widget and its readout (with the solver mode) are drawn, no code
    cell and no error is shown; the lab 4 readout gives lab 4's 11.8 % at 8192 tokens."""
    folder = jupyter_server.root / "explorers"
    folder.mkdir(exist_ok=True)
    for name, widget, expect in (("lab4_context_scaling", ".mlsyslab-context-scaling", "11.8% of the prefill FLOPs"),
                                 ("lab2_kv_cache", ".mlsyslab-readout", "First OOM: batch 131")):
        shutil.copy(ROOT / "labs" / "explorers" / f"{name}.ipynb", folder)
        page.goto(voila_url(jupyter_server, f"explorers/{name}.ipynb"))
        wait_for_widgets(page, f"{widget} .mlsyslab-mode", count=1, timeout_ms=120_000)
        body = page.locator("body").inner_text()
        assert expect in body and "ideal roofline" in body
        assert "Traceback" not in body and "Error" not in body
        assert page.locator(".jp-CodeMirrorEditor, .cm-editor").count() == 0  # no code shown
        assert "from mlsyslab.widgets import" not in body
        screenshot(page, f"explorer-voila-{name}")
