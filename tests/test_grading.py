"""End-to-end grading through the real nbgrader: release, then autograde four submissions per lab.

Scores are read back from nbgrader's own gradebook (what formgrader shows) and from
``nbgrader export``: the solution gets every autograded point, the blank release 0, the
plausible wrong answers the partial credit worked out by hand in tests/support_grading.py, and
the tampered submission (patched builtins/numpy/pytest/solver, forged record and outputs,
sys.exit, os._exit) 0 on every autograded cell.
"""

from __future__ import annotations

import csv
import pathlib
import shutil
import subprocess
import sys

import nbformat
import pytest

from support_grading import LABS as LAB_CASES
from support_grading import tampered, with_answers

pytestmark = [pytest.mark.nbgrader, pytest.mark.timeout(900)]

ROOT = pathlib.Path(__file__).resolve().parent.parent
STUDENTS = ("solution", "blank", "wrong", "tampered")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from mlsyslab.grading import course

    tmp = tmp_path_factory.mktemp("grading")
    home = tmp / "autograder"
    home.mkdir()
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
    shutil.copytree(ROOT / "autograder" / "source", home / "source")
    course.release(course=home, labs_dir=None)
    labs = course.source_labs(home)
    subs = tmp / "submissions"
    for lab in labs:
        source = nbformat.read(home / "source" / lab / f"{lab}.ipynb", 4)
        release = nbformat.read(home / "release" / lab / f"{lab}.ipynb", 4)
        case = LAB_CASES[lab]
        notebooks = {"solution": source, "blank": release, "wrong": with_answers(release, case["wrong"]),
                     "tampered": tampered(release, case["tamper"])}
        for student, nb in notebooks.items():
            (subs / student).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, subs / student / f"{lab}.ipynb")
    csv_path = course.autograde(subs, tmp / "out", course=home)
    return {"home": home, "labs": labs, "csv": csv_path, "out": tmp / "out"}


def gradebook_scores(home, lab, student) -> dict:
    """{grade cell: (score, max_score, cell_type)} from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{home / 'gradebook.db'}", course_id="mlsyslab") as gb:
        nb = gb.find_submission_notebook(lab, lab, student)
        return {g.name: (g.score, g.max_score, g.cell_type) for g in nb.grades}


def autograded_cells(scores) -> dict:
    return {name: v for name, v in scores.items() if v[2] == "code"}


def test_every_lab_has_cases(graded):
    assert graded["labs"], "no lab in autograder/source"
    assert set(graded["labs"]) <= set(LAB_CASES), "add wrong/tampered cases for every lab to support_grading.py"


def test_solution_gets_every_autograded_point(graded):
    for lab in graded["labs"]:
        cells = autograded_cells(gradebook_scores(graded["home"], lab, "solution"))
        assert cells, lab
        for name, (score, max_score, _) in cells.items():
            assert score == pytest.approx(max_score), (lab, name, score, max_score)


def test_blank_release_scores_zero(graded):
    for lab in graded["labs"]:
        for name, (score, _, _) in gradebook_scores(graded["home"], lab, "blank").items():
            assert score == 0, (lab, name, score)


def test_wrong_answers_get_documented_partial_credit(graded):
    for lab in graded["labs"]:
        cells = autograded_cells(gradebook_scores(graded["home"], lab, "wrong"))
        for name, expected in LAB_CASES[lab]["wrong_expect"].items():
            assert cells[name][0] == pytest.approx(expected), (lab, name, cells[name], expected)


def test_tampered_submission_scores_zero(graded):
    for lab in graded["labs"]:
        cells = autograded_cells(gradebook_scores(graded["home"], lab, "tampered"))
        for name, (score, max_score, _) in cells.items():
            assert score == 0, (lab, name, score, max_score)


def test_feedback_names_the_usual_mistakes(graded):
    rows = list(csv.DictReader(open(graded["csv"], encoding="utf-8")))
    for lab in graded["labs"]:
        text = " ".join(r["feedback"] for r in rows if r["student"] == "wrong" and r["lab"] == lab)
        for phrase in LAB_CASES[lab]["wrong_feedback"]:
            assert phrase in text, (lab, phrase, text)
        html = graded["out"] / "feedback" / "wrong" / f"{lab}.html"
        assert "Trusted score" in html.read_text(encoding="utf-8")


def test_csv_items_add_up_to_gradebook(graded):
    rows = list(csv.DictReader(open(graded["csv"], encoding="utf-8")))
    for lab in graded["labs"]:
        for student in STUDENTS:
            cells = autograded_cells(gradebook_scores(graded["home"], lab, student))
            for name, (score, _, _) in cells.items():
                items = [float(r["points"]) for r in rows if (r["student"], r["lab"], r["grade_id"]) == (student, lab, name)]
                total = sum(float(r["max_points"]) for r in rows if (r["student"], r["lab"], r["grade_id"]) == (student, lab, name))
                assert items, (student, lab, name)
                assert score == pytest.approx(sum(items) * cells[name][1] / total), (student, lab, name)


def test_nbgrader_export_totals(graded, tmp_path):
    out = tmp_path / "grades.csv"
    subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", str(out)], cwd=graded["home"], check=True,
                   capture_output=True, timeout=120)
    rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(open(out, encoding="utf-8"))}
    for lab in graded["labs"]:
        auto_max = sum(v[1] for v in autograded_cells(gradebook_scores(graded["home"], lab, "solution")).values())
        # the solution's reflections still await a human, so its total is the autograded maximum
        assert float(rows[(lab, "solution")]["score"]) == pytest.approx(auto_max)
        assert float(rows[(lab, "blank")]["score"]) == 0
        assert float(rows[(lab, "tampered")]["score"]) == 0
        assert float(rows[(lab, "wrong")]["score"]) == pytest.approx(sum(LAB_CASES[lab]["wrong_expect"].values()))
