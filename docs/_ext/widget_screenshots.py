"""Screenshots of every widget, in JupyterLab's light and dark themes, for docs/widgets.md.

At each build (``builder-inited``) the widgets are rendered the way a student sees them: a real
JupyterLab server (``tests/support_browser.py``), one notebook with a cell per widget, headless
Debian chromium (``/usr/bin/chromium``, as in the browser tests), 1280 px wide with the file
browser open (about 850 px of output). Each cell's output is saved as
``docs/_static/widgets/<name>-<light|dark>.png`` (git-ignored: generated, like the API pages).

The rendering takes about a minute, so it is skipped when the PNGs are there and neither the
widget sources nor this file changed since they were taken (a hash in ``stamp.txt``).
"""

from __future__ import annotations

import hashlib
import pathlib
import sys
import tempfile

from sphinx.util import logging

DOCS = pathlib.Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
OUT = DOCS / "_static" / "widgets"

#: (file name, what the cell displays): every widget at representative settings.
WIDGETS = [
    ("serving-explorer", "mw.ServingExplorer(model='Llama3_8B', hardware='H100', seq_len=4096, batch_size=8)"),
    ("serving-explorer-oom", "mw.ServingExplorer(model='Llama3_8B', hardware='H100', seq_len=4096, batch_size=256)"),
    ("memory-wall", "mw.MemoryWall(model='Llama3_8B', hardware='H100', seq_len=4096, batch_size=8)"),
    ("roofline-plot", "mw.RooflinePlot(hardware=['H100', 'A100', 'L4'], workloads=['Llama3_8B', 'ResNet50'])"),
    ("context-scaling", "mw.ContextScaling(model='Llama3_8B', hardware='H100')"),
    ("context-scaling-oom", "mw.ContextScaling(model='Llama3_70B', hardware='H100', precision='fp16')"),
    ("hardware-comparison", "mw.HardwareComparison(precisions=['fp16', 'fp8'], seq_len=4096, batch_size=8)"),
    ("load-explorer", "mw.LoadExplorer()"),
    ("prediction-checkpoint", "cp = mw.PredictionCheckpoint('TTFT of Llama-3-8B on one H100 for a 4096-token "
     "prompt?', answer=lambda: ml.ServingSolver().solve('Llama3_8B', 'H100', 4096).ttft, unit='ms', key='docs', "
     "path='', tolerance_pct=25, explanation='Prefill is compute-bound: about 2 x P x S FLOPs at the fp16 peak.')\n"
     "cp.predict('120 ms').reveal()\ncp"),
    ("pickers", "ipywidgets.VBox([mw.ModelPicker().view, mw.HardwarePicker(value='H100').view, "
     "mw.PrecisionPicker().view])"),
]
THEMES = (("light", "JupyterLab Light"), ("dark", "JupyterLab Dark"))


def widgets_present():
    """The entries of :data:`WIDGETS` whose class exists (LoadExplorer is newer than the rest)."""
    import mlsyslab.widgets as mw

    return [(n, c) for n, c in WIDGETS if c.startswith(("cp =", "ipywidgets")) or hasattr(mw, c[3:].split("(")[0])]


def _stamp(entries) -> str:
    h = hashlib.sha256()
    for path in sorted((ROOT / "mlsyslab" / "widgets").glob("*.py")) + [pathlib.Path(__file__)]:
        h.update(path.name.encode() + path.read_bytes())
    h.update(repr(entries).encode())
    return h.hexdigest()


def up_to_date(entries) -> bool:
    stamp = OUT / "stamp.txt"
    return (stamp.exists() and stamp.read_text().strip() == _stamp(entries)
            and all((OUT / f"{n}-{t}.png").exists() for n, _ in entries for t, _ in THEMES))


def take_screenshots(entries, out=OUT) -> list[pathlib.Path]:
    """Render ``entries`` in JupyterLab + chromium and save each output, light and dark."""
    sys.path.insert(0, str(ROOT / "tests"))
    from playwright.sync_api import sync_playwright
    from support_browser import (CHROMIUM, CHROMIUM_ARGS, RENDER_WHOLE, WIDGETS_PREAMBLE, open_notebook, run_all_cells,
                                 start_jupyter_lab, stop_process, write_notebook)

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="mlsyslab-shots-") as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "root").mkdir()
        server = start_jupyter_lab(tmp / "root", tmp / "home",
                                   settings=RENDER_WHOLE)
        try:
            write_notebook(server.root, "widgets.ipynb", [WIDGETS_PREAMBLE] + [code for _, code in entries])
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1280, "height": 2400})
                page.set_default_timeout(120_000)
                open_notebook(page, server, "widgets.ipynb")
                run_all_cells(page, timeout_ms=180_000)
                page.wait_for_function("() => document.querySelectorAll('.bqplot.figure text').length > 20")
                errors = page.eval_on_selector_all(
                    ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                    "e => e.map(x => x.innerText)")
                if errors:
                    raise RuntimeError(f"a widget cell wrote to stderr: {errors[0][:2000]}")
                page.mouse.move(0, 0)  # no hover state in the pictures
                for theme, name in THEMES:
                    page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme', "
                                  f"{{theme: '{name}'}})")
                    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === "
                                           f"'{'true' if theme == 'light' else 'false'}'")
                    page.wait_for_timeout(1500)
                    cells = page.locator(".jp-Notebook .jp-CodeCell")
                    for i, (file, _) in enumerate(entries, start=1):
                        target = cells.nth(i).locator(".jp-OutputArea-output").first
                        target.scroll_into_view_if_needed()
                        path = out / f"{file}-{theme}.png"
                        target.screenshot(path=str(path), animations="disabled")
                        written.append(path)
                browser.close()
        finally:
            stop_process(server.process)
    return written


def generate(app):
    entries = widgets_present()
    if up_to_date(entries):
        return
    log = logging.getLogger(__name__)
    log.info("widget screenshots: rendering %d widgets in JupyterLab + chromium (light and dark)", len(entries))
    take_screenshots(entries)
    (OUT / "stamp.txt").write_text(_stamp(entries) + "\n")


def setup(app):
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
