"""A scripted student journey through every lab, in JupyterLab + headless chromium, as a student
with a non-default variant (``JUPYTERHUB_USER``, as on the course hub):

1. a wrong answer (one of the item's usual mistakes, for this student's numbers) -> Restart and
   Run All: the check says "not right yet" with that mistake's specific hint, styled (mark, word
   and colour), and ends with one ``NotRightYet`` line (an output: the run goes on); ``nbgrader validate`` on the saved
   notebook fails naming the item;
2. the right answers -> both pass: every verdict is right and Validate says "Success!";
3. Restart and Run All again: the predictions stay locked (read back from the record) and every
   verdict is unchanged; Validate still passes.

Then the lab 8 explorer's link to its lab renders its equations offline (MathJax bundled with
JupyterLab, no CDN) in Voila. One server for all labs, run in sequence; each journey is three
Restart and Run All and three nbgrader validate: all nine and the Voila check in 419 s (about
45 s a lab) on the 2-core machine, server start included; the time is printed.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import nbformat
import pytest

from mlsyslab.labs import checks, offline, registry, variants

from support_browser import UI_TIMEOUT_MS, browser, page, start_jupyter_lab, stop_process  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.nbgrader, pytest.mark.timeout(1500)]

ROOT = pathlib.Path(__file__).resolve().parent.parent
LABS = registry.names()
MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.M)


def _student() -> str:
    """A hub user whose variant is not the default one in every lab that has several."""
    for name in (f"student{i}" for i in range(200)):
        if all(variants.index(lab, len(registry.load(lab).POOL), name) != 0
               for lab in LABS if len(registry.load(lab).POOL) > 1):
            return name
    raise AssertionError("no student id draws a non-default variant in every lab")


STUDENT = _student()


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory(prefix="mlsyslab-journey-") as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTERHUB_USER", STUDENT)
        for name in ("MLSYSLAB_STUDENT_ID", "MLSYSLAB_PREDICTIONS", "MLSYSLAB_VARIANTS", "MLSYSLAB_COURSE_SEED"):
            mp.delenv(name, raising=False)
        tmp = pathlib.Path(tmp)
        root, home = tmp / "root", tmp / "home"
        root.mkdir()
        s = start_jupyter_lab(root, home, extra_args=offline.SERVER_ARGS)
        started = time.monotonic()
        try:
            yield s
        finally:
            stop_process(s.process)
            print(f"\nlab journeys: {time.monotonic() - started:.0f} s")


def _answered(lab: str, wrong: dict | None = None):
    """The released student notebook with the instructor's answers typed in (and ``wrong``:
    name -> value assigned at the end of the answer cell that asks for it)."""
    student = nbformat.read(ROOT / "labs" / f"{lab}.ipynb", 4)
    source = {c.metadata.get("nbgrader", {}).get("grade_id"): c
              for c in nbformat.read(ROOT / "autograder" / "source" / lab / f"{lab}.ipynb", 4).cells}
    for cell in student.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):  # the answers and the reflections, as the student writes them
            cell.source = MARKER.sub("", source[meta["grade_id"]].source)
            for name, value in (wrong or {}).items() if cell.cell_type == "code" else ():
                if re.search(rf"^{name} = None\b", cell.source, re.M):
                    cell.source += f"\n{name} = {value!r}   # a usual mistake"
    return student


def _first_mistake(lab: str):
    """(item, mistake, value): the first graded number of the lab and a usual mistake that fires on it."""
    module = registry.load(lab)
    v = variants.variant(lab, STUDENT)
    for items in module.cells(v).values():
        for item in items:
            expected = item.expected()
            for mistake in item.mistakes:
                value = mistake.value()
                verdict = checks.judge(item, value, expected)
                if verdict.grade == "mistake" and verdict.mistake is mistake:
                    return item, mistake, (int(value) if item.kind == "integer" else value)
    raise AssertionError(f"{lab}: no item with a hint that fires")


def _restart_run_all_save(page) -> None:
    """Restart the kernel, run all cells (a test cell that is not right shows its NotRightYet line and the run goes on), save."""
    page.evaluate("""async () => {
        const app = window.jupyterapp, w = app.shell.currentWidget;
        await w.sessionContext.restartKernel();
        await app.commands.execute('notebook:run-all-cells');
    }""")
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " const busy = [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')].some(e => e.textContent.includes('*'));"
        " return !busy && w.sessionContext.session.kernel.status === 'idle'; }", timeout=UI_TIMEOUT_MS * 3)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")


def _open(page, server, name) -> None:
    page.goto(server.lab_url(name))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=UI_TIMEOUT_MS)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'",
                           timeout=UI_TIMEOUT_MS)


def _validate(path: pathlib.Path) -> str:
    env = dict(os.environ, JUPYTERHUB_USER=STUDENT, PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep
               + os.environ.get("PATH", ""))
    for name in ("MLSYSLAB_STUDENT_ID", "MLSYSLAB_PREDICTIONS"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", path.name], cwd=path.parent, env=env,
                          capture_output=True, text=True, timeout=600)
    return proc.stdout + proc.stderr


def _outputs(path: pathlib.Path):
    """(texts of each code cell's outputs, error lines) of the saved notebook."""
    nb = nbformat.read(path, 4)
    texts, errors = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.outputs:
            if o.output_type == "error":
                errors.append("\n".join(o.traceback))
            texts.append(o.get("text", "") + o.get("data", {}).get("text/plain", ""))
    return "\n".join(texts), errors


@pytest.mark.parametrize("lab", LABS)
def test_student_journey(lab, server, page):  # noqa: F811
    name = f"{lab}.ipynb"
    path = server.root / name
    item, mistake, value = _first_mistake(lab)

    # 1. a usual mistake: the check names it with its hint, Validate fails naming the item
    nbformat.write(_answered(lab, {item.id: value}), path)
    _open(page, server, name)
    _restart_run_all_save(page)
    text, errors = _outputs(path)
    assert f"\u2717 {item.id}: not right yet. Hint: {mistake.message}" in text, text[-2000:]
    # the first failing test cell names the mistaken item; later cells may fail too where their answers
    # are computed from it (the run goes on), each with one NotRightYet line and no traceback
    assert errors and item.id in errors[0], errors
    assert all(e.startswith("NotRightYet: not right yet: ") and "\n" not in e for e in errors), errors
    wrong = page.locator(".mlsyslab-check-wrong").first
    wrong.scroll_into_view_if_needed()
    assert "not right yet" in wrong.text_content() and wrong.evaluate("e => getComputedStyle(e).borderLeftStyle") == "solid"
    report = _validate(path)
    assert "Success!" not in report and item.id in report and "NotRightYet" in report, report[-3000:]

    # 2. the right answers: every check right, Validate passes
    nbformat.write(_answered(lab), path)
    _open(page, server, name)
    _restart_run_all_save(page)
    text, errors = _outputs(path)
    marks = re.findall(r"^([\u2713~\u2717\u00b7]) ", text, flags=re.M)
    assert errors == [] and marks and set(marks) == {"\u2713"}, (errors, text[-2000:])
    if len(registry.load(lab).POOL) > 1:  # the student's own numbers (labs 1, 6, 7 have one set for everyone)
        assert f"variant {variants.variant(lab, STUDENT)['variant']} for student {STUDENT!r}" in text
    assert page.locator(".mlsyslab-check-wrong").count() == 0 and page.locator(".mlsyslab-check-right").count() > 0
    report = _validate(path)
    assert "Success! Your notebook passes all the tests." in report, report[-3000:]

    # 3. restart and run all again: the predictions stay locked, the verdicts are the same
    _restart_run_all_save(page)
    again, errors = _outputs(path)
    assert errors == [] and re.findall(r"^([\u2713~\u2717\u00b7]) .*$", again, flags=re.M) == \
        re.findall(r"^([\u2713~\u2717\u00b7]) .*$", text, flags=re.M)
    predicted = sum(1 for c in nbformat.read(path, 4).cells if "commit(my_guess" in c.source)
    assert again.count("it stays locked") == predicted > 0
    assert "Success! Your notebook passes all the tests." in _validate(path)


def test_voila_typesets_the_labs_math_offline(server, page):  # noqa: F811
    """The lab 8 explorer links to its lab; with every request off the machine refused (offline),
    Voila renders the lab's text ($$...$$) with the MathJax 3 JupyterLab bundles (mjx-container
    elements, page config "null": no CDN MathJax) and asks no other host for anything (the
    mlsyslab Voila template drops the lab template's CDN Font Awesome links; its bundled style
    declares Font Awesome 5 Free from local files)."""
    lab8 = nbformat.read(ROOT / "labs" / "lab8_batching.ipynb", 4)
    lab8.cells = [c for c in lab8.cells if c.cell_type == "markdown"]  # its text and equations
    nbformat.write(lab8, server.root / "lab8_text.ipynb")
    outside = []

    def offline_only(route):
        if route.request.url.startswith(server.url):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", offline_only)
    page.goto(f"{server.url}/voila/render/lab8_text.ipynb?token={server.token}")
    page.wait_for_selector("mjx-container", timeout=UI_TIMEOUT_MS)
    assert page.locator("mjx-container").count() >= 3
    body = page.locator("body").inner_text()
    assert "$$" not in body and "\\frac" not in body
    assert outside == []
    assert page.evaluate("() => [...document.fonts].some(f => f.family.includes('Font Awesome 5 Free'))")
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    assert config["fullMathjaxUrl"] == "null"
