"""The lab notebooks: each runs top to bottom headless without errors or stderr (instructor
version with solutions, and the student version as released), the student versions hold no
solution or hidden-test text, and labs/ is what nbgrader generates from autograder/source."""

from __future__ import annotations

import pathlib
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "autograder" / "source").glob("*/*.ipynb"))
LAB_NAMES = [p.stem for p in SOURCES]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def execute(path: pathlib.Path, tmp_path: pathlib.Path, monkeypatch, allow_errors=False):
    monkeypatch.setenv("MLSYSLAB_PREDICTIONS", str(tmp_path / "predictions.jsonl"))
    nb = nbformat.read(path, 4)
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    problems = [(i, o.get("ename") or o.get("text", "")[:300]) for i, c in enumerate(nb.cells) if c.cell_type == "code"
                for o in c.outputs if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]
    return nb, problems


def test_there_are_labs():
    assert len(SOURCES) >= 1
    assert all((ROOT / "labs" / f"{name}.ipynb").exists() for name in LAB_NAMES), "run `mlsyslab grade release`"


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_instructor_version_runs_clean(lab, tmp_path, monkeypatch):
    nb, problems = execute(ROOT / "autograder" / "source" / lab / f"{lab}.ipynb", tmp_path, monkeypatch)
    assert problems == []
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") + "\n"
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Your prediction" in text  # predictions were committed, then revealed
    # every graded item was checked before submission, and the solution checks right
    assert "\u2713 " in text and "\u2717 " not in text and "\n~ " not in text
    plain = [o.get("data", {}).get("text/plain", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    records = [p for p in plain if p.startswith("Recorded for grading:")]
    assert records and all(p.count("\n") == 0 and len(p) < 200 for p in records)  # one short line each
    assert not any("{'answers'" in p for p in plain)
    # text shown as Markdown carries the same words as plain text (feedback and formgrader show that)
    assert not any("IPython.core.display" in p for p in plain)
    for c in nb.cells:
        for o in getattr(c, "outputs", []):
            if "text/markdown" in o.get("data", {}):
                assert o["data"]["text/plain"] == o["data"]["text/markdown"]


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_student_version_runs_clean_unanswered(lab, tmp_path, monkeypatch):
    """Unanswered, every autograder-test cell fails as nbgrader's Validate reads it: one
    NotRightYet line naming its items (nothing else raises, nothing on stderr) - and the run goes on
    to the last cell (run without allow_errors: "Run All" does not stop at the first test cell)."""
    nb, problems = execute(ROOT / "labs" / f"{lab}.ipynb", tmp_path, monkeypatch)
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    graded = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert problems == [(i, "NotRightYet") for i in graded]
    for i in graded:
        error = next(o for o in nb.cells[i].outputs if o.output_type == "error")
        assert len(error["traceback"]) == 1 and error["traceback"][0].startswith("NotRightYet: not right yet: ")
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") + "\n"
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Lock a prediction first" in text  # no reveal without a prediction
    assert "not answered yet" in text  # the checks say so, and nothing else
    assert "\u2713 " not in text


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_student_version_has_no_solutions_or_hidden_tests(lab):
    source = nbformat.read(ROOT / "autograder" / "source" / lab / f"{lab}.ipynb", 4)
    student = nbformat.read(ROOT / "labs" / f"{lab}.ipynb", 4)
    raw = (ROOT / "labs" / f"{lab}.ipynb").read_text(encoding="utf-8")
    for marker in MARKERS:
        assert marker not in raw
    # no source cell holds hidden tests any more: the grader draws them (the lab's hidden(v, rng))
    assert not any("HIDDEN TESTS" in c.source for c in source.cells)
    answers = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert answers and all("YOUR CODE HERE" in c.source or "YOUR ANSWER HERE" in c.source for c in answers)


@pytest.mark.nbgrader
def test_labs_folder_in_sync_with_sources(tmp_path):
    from mlsyslab.grading import course

    home = tmp_path / "autograder"
    home.mkdir()
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
    shutil.copytree(ROOT / "autograder" / "source", home / "source")
    course.release(course=home, labs_dir=tmp_path / "labs")
    for lab in LAB_NAMES:
        fresh = nbformat.read(tmp_path / "labs" / f"{lab}.ipynb", 4)
        committed = nbformat.read(ROOT / "labs" / f"{lab}.ipynb", 4)
        assert [(c.cell_type, c.source) for c in fresh.cells] == [(c.cell_type, c.source) for c in committed.cells], \
            f"labs/{lab}.ipynb is stale: run `mlsyslab grade release`"


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_sources_in_sync_with_definitions(lab):
    from mlsyslab.labs import authoring, registry

    built = authoring.notebook(lab, registry.load(lab))
    committed = nbformat.read(ROOT / "autograder" / "source" / lab / f"{lab}.ipynb", 4)
    assert [(c.cell_type, c.source, c.metadata) for c in built.cells] == \
        [(c.cell_type, c.source, c.metadata) for c in committed.cells], \
        f"autograder/source/{lab} is stale: run `mlsyslab course build` then `mlsyslab grade release`"


def test_at_least_seven_labs_each_prediction_first():
    assert len(LAB_NAMES) >= 7
    for lab in LAB_NAMES:
        nb = nbformat.read(ROOT / "autograder" / "source" / lab / f"{lab}.ipynb", 4)
        kinds = []
        for c in nb.cells:
            meta = c.metadata.get("nbgrader", {})
            if meta.get("grade_id", "").startswith("predict_"):
                kinds.append("predict")
            elif meta.get("grade") and c.cell_type == "code":
                kinds.append("test")
            elif c.cell_type == "code" and "reveal(" in c.source:
                kinds.append("reveal")
        # every graded cell comes after a prediction and before its reveal
        assert kinds and kinds[0] == "predict", (lab, kinds)
        for i, k in enumerate(kinds):
            if k == "test":
                assert "predict" in kinds[:i] and "reveal" in kinds[i:], (lab, kinds)
