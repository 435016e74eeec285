"""Every widget, at its defaults and at realistic extremes, in a real JupyterLab (light, then dark
theme) driven by headless Debian chromium: no SVG text overlaps another or leaves its figure,
SVG text has WCAG AA contrast, axe-core finds no serious or critical violation, the prediction box
works from the keyboard, and a bad argument shows one line.

One JupyterLab server and one notebook (every widget and state, a cell each) for the module; the
theme is switched once. axe-core comes from tests/js (``scripts/ensure_axe.sh``, run by
``make test``). Screenshots of each state go to test-artifacts/a11y/.
"""

from __future__ import annotations

import json
import pathlib
import re
import tempfile
import time

import pytest

from support_browser import (CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT_MS, ARTIFACTS, open_notebook, run_all_cells,
                             RENDER_WHOLE, WIDGETS_PREAMBLE, start_jupyter_lab, stop_process,
                             write_notebook)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]

AXE = pathlib.Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ARTIFACTS / "a11y"

EVERY_TIER = "['H100', 'RTX4090', 'JetsonAGXOrin', 'A17Pro', 'STM32H7']"
# (state name, the cell that displays it): defaults and the realistic extremes of issue 13.
STATES = [
    ("roofline-default", "mw.RooflinePlot()"),
    ("roofline-every-tier-batch256-128k",
     f"mw.RooflinePlot(hardware={EVERY_TIER[:-1]}, 'B200'], workloads=['Llama3_8B', 'Llama3_70B', 'ResNet50', "
     "'MobileNetV2', 'KWS_DSCNN'], batch_size=256, seq_len=131072)"),
    ("comparison-default", "mw.HardwareComparison()"),
    ("comparison-70b-fp16-fp8-batch256-128k",
     "mw.HardwareComparison(model='Llama3_70B', precisions=['fp16', 'fp8'], batch_size=256, seq_len=131072)"),
    ("comparison-every-tier", f"mw.HardwareComparison(hardware={EVERY_TIER}, model='Llama3_2_1B', batch_size=64)"),
    ("memory-wall-default", "mw.MemoryWall()"),
    ("memory-wall-70b-one-h100", "mw.MemoryWall(model='Llama3_70B', hardware='H100')"),
    ("memory-wall-batch256-128k", "mw.MemoryWall(batch_size=256, seq_len=131072)"),
    ("memory-wall-edge", "mw.MemoryWall(model='Llama3_2_1B', hardware='JetsonOrinNano', precision='int4')"),
    ("memory-wall-workstation", "mw.MemoryWall(model='Mistral_7B', hardware='RTX4090', batch_size=32)"),
    ("context-default", "mw.ContextScaling()"),
    ("context-70b-fp16-one-h100", "mw.ContextScaling(model='Llama3_70B', hardware='H100', precision='fp16')"),
    ("context-batch256-128k", "mw.ContextScaling(batch_size=256, seq_len=131072)"),
    ("context-mobile", "mw.ContextScaling(model='Llama3_2_1B', hardware='A17Pro', precision='int4', seq_len=2048)"),
    ("explorer-default", "mw.ServingExplorer()"),
    ("explorer-batch256-oom", "mw.ServingExplorer(batch_size=256)"),
    ("explorer-70b-one-h100", "mw.ServingExplorer(model='Llama3_70B', hardware='H100', seq_len=131072)"),
    ("explorer-tiny", "mw.ServingExplorer(model='GPT2', hardware='STM32H7', seq_len=128, precision='int8')"),
    ("checkpoint-open", "cp = mw.PredictionCheckpoint('TTFT of Llama-3-8B on one H100 at 4096 tokens?', "
     "answer=lambda: ml.ServingSolver().solve('Llama3_8B', 'H100', 4096).ttft, unit='ms', key='a11y', path='')\ncp"),
    ("checkpoint-revealed", "done = mw.PredictionCheckpoint('ITL of Llama-3-8B on one H100?', answer=lambda: "
     "ml.ServingSolver().solve('Llama3_8B', 'H100', 4096).itl, unit='ms', key='a11y-2', path='', tolerance_pct=25,"
     " explanation='Decode reads every weight once per token.')\ndone.predict('9 ms').reveal()\ndone"),
    ("load-default", "mw.LoadExplorer()"),
    ("load-near-capacity", "mw.LoadExplorer(arrival_rate=22)"),  # 95 % of its 23.1 req/s capacity
    ("load-tight-sla", "mw.LoadExplorer(ttft_sla=60, itl_sla=15, arrival_rate=15)"),
    ("load-kv-full-preemptions", "mw.LoadExplorer(hardware='L40S', input_tokens=2000, output_tokens=400, "
     "arrival_rate=8)"),  # the KV-over-time view: the pool fills, requests are preempted (overloaded too)
    ("load-70b-tp2-overloaded", "mw.LoadExplorer(model='Llama3_70B', hardware='H100', tensor_parallel=2, "
     "arrival_rate=6)"),
    ("load-70b-one-h100-oom", "mw.LoadExplorer(model='Llama3_70B', hardware='H100')"),
    ("pickers", "ipywidgets.VBox([mw.ModelPicker().view, mw.HardwarePicker(value='JetsonOrinNano').view, "
     "mw.PrecisionPicker().view])"),
]
BAD_ARGUMENT = "mw.ServingExplorer(hardware='H10O')"  # the last cell: Run All stops at an error

# Every visible <text> of every bqplot figure, with its box, its fill and the background it sits on.
MEASURE_JS = """
() => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const background = (el) => { let rgb = [255, 255, 255];
    const chain = []; for (let e = el; e; e = e.parentElement) chain.push(e);
    for (const e of chain.reverse()) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) rgb = [0, 1, 2].map(i => c[i] * c[3] + rgb[i] * (1 - c[3])); }
    return rgb; };
  const lum = (rgb) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(rgb[0]) + 0.7152 * f(rgb[1]) + 0.0722 * f(rgb[2]); };
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const figures = [];
  cells.forEach((cell, ci) => cell.querySelectorAll('.jp-OutputArea .bqplot.figure').forEach((fig, fi) => {
    const box = fig.getBoundingClientRect();
    const bg = background(fig);
    const texts = [];
    fig.querySelectorAll('text').forEach(t => {
      const s = t.textContent.trim(); if (!s) return;
      let alpha = 1;
      for (let e = t; e && e !== fig; e = e.parentElement) { const cs = getComputedStyle(e);
        if (cs.display === 'none' || cs.visibility === 'hidden') return; alpha *= parseFloat(cs.opacity); }
      if (alpha === 0) return;
      const r = t.getBoundingClientRect(); if (r.width === 0 || r.height === 0) return;
      const fill = parse(getComputedStyle(t).fill) || [0, 0, 0, 1];
      const a = fill[3] * alpha;
      const fg = [0, 1, 2].map(i => fill[i] * a + bg[i] * (1 - a));
      const [l1, l2] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      texts.push({text: s, left: r.left, top: r.top, right: r.right, bottom: r.bottom,
                  contrast: (l1 + 0.05) / (l2 + 0.05), size: parseFloat(getComputedStyle(t).fontSize)});
    });
    figures.push({cell: ci, figure: fi, box: {left: box.left, top: box.top, right: box.right, bottom: box.bottom},
                  texts});
  }));
  return figures;
}
"""


def text_problems(figures, states):
    """Overlapping pairs, texts leaving their figure, and texts under 4.5:1 contrast."""
    problems = []
    for f in figures:
        name = states[f["cell"] - 1][0] if 0 < f["cell"] <= len(states) else f"cell {f['cell']}"
        where = f"{name} figure {f['figure']}"
        box, texts = f["box"], f["texts"]
        for t in texts:
            if (t["left"] < box["left"] - 0.5 or t["right"] > box["right"] + 0.5 or t["top"] < box["top"] - 0.5
                    or t["bottom"] > box["bottom"] + 0.5):
                problems.append(f"{where}: {t['text']!r} leaves the figure ({t} vs {box})")
            if t["contrast"] < 4.5:
                problems.append(f"{where}: {t['text']!r} has contrast {t['contrast']:.2f}:1 (< 4.5:1)")
        for i, a in enumerate(texts):
            for b in texts[i + 1:]:
                dx = min(a["right"], b["right"]) - max(a["left"], b["left"])
                dy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
                if dx > 1 and dy > 1:
                    problems.append(f"{where}: {a['text']!r} overlaps {b['text']!r} by {dx:.0f}x{dy:.0f} px")
    return problems


def axe_serious(page):
    """axe-core over the widget outputs: violations of impact serious or critical."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run({include: [['.jp-OutputArea-output']]},
                                {resultTypes: ['violations'], runOnly: {type: 'tag',
                                 values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: '
                                                                           + n.failureSummary)}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")], result


@pytest.fixture(scope="module")
def lab():
    """JupyterLab (notebooks rendered whole: windowingMode none) with the notebook of every state
    open and run, in chromium at a laptop's width (1280 px, file browser open)."""
    from playwright.sync_api import sync_playwright

    assert AXE.exists(), f"{AXE} missing: run `bash scripts/ensure_axe.sh` (make test does)"
    with tempfile.TemporaryDirectory(prefix="mlsyslab-a11y-") as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "root").mkdir()
        server = start_jupyter_lab(tmp / "root", tmp / "home",
                                   settings=RENDER_WHOLE)
        try:
            cells = [WIDGETS_PREAMBLE] + [code for _, code in STATES] + [BAD_ARGUMENT]
            write_notebook(server.root, "a11y.ipynb", cells)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                             timeout=UI_TIMEOUT_MS)
                # 1280 px wide (a laptop; the file browser open leaves ~850 px of output), tall enough
                # that a widget's screenshot is not covered by the notebook toolbar
                page = browser.new_page(viewport={"width": 1280, "height": 2000})
                page.set_default_timeout(UI_TIMEOUT_MS)
                open_notebook(page, server, "a11y.ipynb")
                run_all_cells(page, timeout_ms=180_000)
                # roofline, comparison, wall, context, serving explorer, load explorer
                n_figs = 2 * 1 + 3 * 3 + 5 * 2 + 4 * 1 + 4 * 1 + 6 * 3
                page.wait_for_function(f"() => document.querySelectorAll('.bqplot.figure text').length > 0 && "
                                       f"document.querySelectorAll('.bqplot.figure').length >= {n_figs}",
                                       timeout=120_000)
                page.wait_for_timeout(1500)  # the last figures finish their first layout
                yield page, server
                browser.close()
        finally:
            stop_process(server.process)


def _shoot(page, theme):
    SHOTS.mkdir(parents=True, exist_ok=True)
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    for i, (name, _) in enumerate(STATES, start=1):
        out = cells.nth(i).locator(".jp-OutputArea-output").first
        out.scroll_into_view_if_needed()
        out.screenshot(path=str(SHOTS / f"{name}-{theme}.png"))


def _set_theme(page, theme):
    page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: {json.dumps(theme)}}})")
    light = "true" if "Light" in theme else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=30_000)
    page.wait_for_timeout(1000)  # theme CSS applied, figures redrawn


def _drawn(page, deadline_s=60.0):
    """The measured figures once every one shows its texts: after a theme switch bqplot redraws each
    figure, which on a loaded machine takes longer than the settle time; poll until all are back."""
    end = time.monotonic() + deadline_s
    while True:
        figures = page.evaluate(MEASURE_JS)
        if (len(figures) >= 47 and all(len(f["texts"]) >= 4 for f in figures)) or time.monotonic() > end:
            return figures
        page.wait_for_timeout(500)


def _check_text_and_axe(page, theme):
    figures = _drawn(page)
    assert len(figures) >= 47, f"only {len(figures)} figures were drawn"
    assert all(len(f["texts"]) >= 4 for f in figures), [(f["cell"], f["figure"], len(f["texts"])) for f in figures]
    problems = text_problems(figures, STATES)
    serious, everything = axe_serious(page)
    _shoot(page, theme)
    assert problems == [], f"{theme}: {len(problems)} text problems:\n" + "\n".join(problems[:40])
    assert serious == [], f"{theme}: axe-core serious/critical violations:\n" + json.dumps(serious, indent=1)
    return figures, everything


def test_light_theme_no_text_overlap_clipping_or_axe_violation(lab):
    page, _ = lab
    figures, everything = _check_text_and_axe(page, "light")
    print(f"light: {len(figures)} figures, {sum(len(f['texts']) for f in figures)} texts measured; axe (all impacts): "
          f"{[(v['id'], v['impact']) for v in everything]}")


def test_infeasible_states_say_so_in_plot_and_text(lab):
    page, _ = lab
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    index = {name: i for i, (name, _) in enumerate(STATES, start=1)}
    for name, plot_text, readout_text in (
            ("context-70b-fp16-one-h100", "OOM at any seq_len", "Does not fit"),
            ("memory-wall-70b-one-h100", "does not fit", "Does not fit"),
            ("explorer-70b-one-h100", "OOM: +", "OOM"),
            ("explorer-batch256-oom", "OOM: +", "largest batch that fits: 130"),
            ("comparison-70b-fp16-fp8-batch256-128k", "H100 (OOM)", "OOM"),
            ("roofline-every-tier-batch256-128k", "1 OOM", "needs 11.1 TB of 85.9 GB"),
            ("load-70b-one-h100-oom", "OOM: weights do not fit", "OOM: does not fit"),
            ("load-70b-tp2-overloaded", "overloaded", "Overloaded: 6.00 req/s arrive, the capacity is "),
            ("load-kv-full-preemptions", "overloaded", "preemptions")):
        out = cells.nth(index[name]).locator(".jp-OutputArea-output").first
        svg_text = " ".join(out.locator(".bqplot.figure text").all_text_contents())
        assert plot_text in svg_text, (name, svg_text[:500])
        assert readout_text in out.inner_text(), name
        if name == "load-70b-tp2-overloaded":  # the capacity said is below the 6 req/s that arrive
            said = re.search(r"the capacity is ([0-9.]+) req/s", out.inner_text())
            assert said and 0 < float(said.group(1)) < 6.0, out.inner_text()[:500]


def test_prediction_box_by_keyboard_only(lab):
    page, server = lab
    box = page.locator(".mlsyslab-prediction-checkpoint").first
    box.locator("b", has_text="Predict:").click()  # the question text; then only the keyboard
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.matches("
                         "'.mlsyslab-prediction-checkpoint input[type=text]')"):
            break
    else:
        pytest.fail("Tab never reached the prediction box")
    label = page.evaluate("() => { const e = document.activeElement; return (e.labels && e.labels.length ? "
                          "e.labels[0].textContent : e.getAttribute('aria-label')) || ''; }")
    assert "Your prediction" in label
    page.keyboard.type("120 ms")
    page.keyboard.press("Enter")
    try:
        page.wait_for_function("() => document.querySelector('.mlsyslab-prediction-checkpoint .mlsyslab-status')"
                               ".innerText.includes('Locked')", timeout=30_000)
    except Exception:
        status = box.locator(".mlsyslab-status").inner_text()
        value = box.locator("input[type=text]").input_value()
        pytest.fail(f"Enter did not lock: status {status!r}, box {value!r}")
    assert box.locator("input[type=text]").is_disabled()
    # the lock reached the kernel: the checkpoint's own state says so
    from support_browser import kernel_execute
    assert kernel_execute(page, "assert cp.locked and cp.prediction == 120.0, cp") == "ok"


def test_bad_argument_shows_one_line(lab):
    page, _ = lab
    errors = page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
        " .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']", "els => els.map(e => e.innerText)")
    assert len(errors) == 1, errors  # only the bad-argument cell; every widget cell is quiet
    lines = [x for x in errors[0].strip().splitlines() if x.strip()]
    assert lines[0].startswith("InputError: hardware='H10O' is not a known Hardware. Did you mean 'H100'"), lines
    assert len(lines) <= 3 and "traitlets" not in errors[0] and "File " not in errors[0], errors[0]


def test_dark_theme_readable_no_overlap_no_axe_violation(lab):
    page, _ = lab
    _set_theme(page, "JupyterLab Dark")
    try:
        figures, everything = _check_text_and_axe(page, "dark")
        print(f"dark: {len(figures)} figures; axe (all impacts): {[(v['id'], v['impact']) for v in everything]}")
    finally:
        _set_theme(page, "JupyterLab Light")


def test_every_control_is_labelled(lab):
    page, _ = lab
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output input, '
        + '.jp-OutputArea-output select, .jp-OutputArea-output button, .jp-OutputArea-output [role=slider]')]
        .filter(e => !((e.labels && e.labels.length && e.labels[0].textContent.trim())
                       || (e.getAttribute('aria-label') || '').trim() || (e.getAttribute('aria-labelledby'))
                       || (e.tagName === 'BUTTON' && (e.textContent.trim() || e.title))))
        .map(e => e.outerHTML.slice(0, 160))""")
    assert unlabelled == [], unlabelled


def test_the_text_check_catches_overlap_clipping_and_low_contrast():
    """The checker above on boxes measured by hand: '5001000' (two tick labels 2 px apart), a
    label cut at the right edge, grey #aaa on white (2.3:1)."""
    box = {"left": 0, "top": 0, "right": 400, "bottom": 300}

    def t(text, left, right, contrast=7.0):
        return {"text": text, "left": left, "right": right, "top": 280, "bottom": 294, "contrast": contrast}

    figures = [{"cell": 1, "figure": 0, "box": box,
                "texts": [t("500", 100, 121), t("1000", 119, 147), t("Llama3_8B prefill", 350, 460),
                          t("10", 200, 214, contrast=2.32)]}]
    problems = text_problems(figures, STATES)
    assert len(problems) == 3, problems
    assert "'500' overlaps '1000'" in problems[2] and "leaves the figure" in problems[0]
    assert "contrast 2.32:1" in problems[1]
