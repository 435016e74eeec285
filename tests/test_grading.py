"""End-to-end grading through the real nbgrader: release, then autograde four submissions per lab.

Scores are read back from nbgrader's own gradebook (what formgrader shows) and from
``nbgrader export``: the solution gets every autograded point, the blank release 0, the
plausible wrong answers the partial credit worked out by hand in tests/support_grading.py, and
the tampered submission (patched builtins/numpy/pytest/solver, forged record and outputs,
sys.exit, os._exit) 0 on every autograded cell.
"""

from __future__ import annotations

import csv
import os
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from support_grading import LABS as LAB_CASES
from support_grading import tampered, with_answers


ROOT = pathlib.Path(__file__).resolve().parent.parent
STUDENTS = ("solution", "blank", "wrong", "tampered")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    # the hand-worked figures of support_grading.py are the default variant's: variants off for this
    # course (the per-student variant grading is tests/test_variants.py's)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLSYSLAB_VARIANTS", "0")
        return _graded(tmp_path_factory)


def _graded(tmp_path_factory):
    from mlsyslab.grading import course

    tmp = tmp_path_factory.mktemp("grading")
    home = tmp / "autograder"
    home.mkdir()
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
    shutil.copytree(ROOT / "autograder" / "source", home / "source")
    shutil.copytree(ROOT / "autograder" / "keys", home / "keys")
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
    csv_path = course.autograde(subs, tmp / "out", course=home, jobs=2)
    return {"home": home, "labs": labs, "csv": csv_path, "out": tmp / "out"}


def gradebook_scores(home, lab, student) -> dict:
    """{grade cell: (score, max_score, cell_type)} from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{home / 'gradebook.db'}", course_id="mlsyslab") as gb:
        nb = gb.find_submission_notebook(lab, lab, student)
        return {g.name: (g.score, g.max_score, g.cell_type) for g in nb.grades}


def autograded_cells(scores) -> dict:
    return {name: v for name, v in scores.items() if v[2] == "code"}


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
def test_every_lab_has_cases(graded):
    assert graded["labs"], "no lab in autograder/source"
    assert set(graded["labs"]) <= set(LAB_CASES), "add wrong/tampered cases for every lab to support_grading.py"


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
def test_solution_gets_every_autograded_point(graded):
    for lab in graded["labs"]:
        cells = autograded_cells(gradebook_scores(graded["home"], lab, "solution"))
        assert cells, lab
        for name, (score, max_score, _) in cells.items():
            assert score == pytest.approx(max_score), (lab, name, score, max_score)


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
def test_blank_release_scores_zero(graded):
    for lab in graded["labs"]:
        for name, (score, _, _) in gradebook_scores(graded["home"], lab, "blank").items():
            assert score == 0, (lab, name, score)


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
def test_wrong_answers_get_documented_partial_credit(graded):
    for lab in graded["labs"]:
        cells = autograded_cells(gradebook_scores(graded["home"], lab, "wrong"))
        for name, expected in LAB_CASES[lab]["wrong_expect"].items():
            assert cells[name][0] == pytest.approx(expected), (lab, name, cells[name], expected)


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
def test_tampered_submission_scores_zero(graded):
    for lab in graded["labs"]:
        cells = autograded_cells(gradebook_scores(graded["home"], lab, "tampered"))
        for name, (score, max_score, _) in cells.items():
            assert score == 0, (lab, name, score, max_score)


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
def test_feedback_names_the_usual_mistakes(graded):
    rows = list(csv.DictReader(open(graded["csv"], encoding="utf-8")))
    for lab in graded["labs"]:
        text = " ".join(r["feedback"] for r in rows if r["student"] == "wrong" and r["lab"] == lab)
        for phrase in LAB_CASES[lab]["wrong_feedback"]:
            assert phrase in text, (lab, phrase, text)
        html = graded["out"] / "feedback" / "wrong" / f"{lab}.html"
        assert "Trusted score" in html.read_text(encoding="utf-8")


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
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


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
def test_plain_nbgrader_autograde_uses_the_trusted_pipeline(graded):
    """`nbgrader autograde` typed by an instructor in autograder/ (no wrapper) stores trusted scores too."""
    nbgrader = shutil.which("nbgrader")
    assert nbgrader, "the venv's bin/ must be on PATH"
    lab = "lab2_kv_cache" if "lab2_kv_cache" in graded["labs"] else graded["labs"][0]
    for student in ("tampered", "solution"):
        subprocess.run([nbgrader, "autograde", lab, "--student", student, "--force"], cwd=graded["home"],
                       check=True, capture_output=True, timeout=300)
    tampered = autograded_cells(gradebook_scores(graded["home"], lab, "tampered"))
    solution = autograded_cells(gradebook_scores(graded["home"], lab, "solution"))
    assert all(score == 0 for score, _, _ in tampered.values()), tampered
    assert all(score == pytest.approx(max_score) for score, max_score, _ in solution.values()), solution


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
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


# ------------------------------------------------------------------ the trusted half, without nbgrader runs
from mlsyslab.grading.rubric import Item, Mistake, score_item  # noqa: E402

ITEM = Item("x", 2, lambda: 100.0, "x", unit="B", rtol=0.02,
            mistakes=(Mistake("halved", lambda: 50.0, "forgot x2"), Mistake("gib", lambda: 100 / 1.073741824, "GiB", credit=0.5)))


def test_policy_full_partial_and_zero():
    # hand-worked: 101 is within 2 %; 50 is the x2 mistake (0); 93.13 = 100/1.0737 is the unit mistake (half);
    # 95 is outside 2 % but within 3 x 2 % (half, "close"); 80 is wrong (0)
    assert (score_item(ITEM, 101.0, 100.0).points, score_item(ITEM, 101.0, 100.0).verdict) == (2, "correct")
    s = score_item(ITEM, 50.0, 100.0)
    assert (s.points, s.verdict, "forgot x2" in s.feedback) == (0, "mistake", True)
    assert score_item(ITEM, 93.13225746, 100.0).points == 1.0
    assert (score_item(ITEM, 95.0, 100.0).points, score_item(ITEM, 95.0, 100.0).verdict) == (1.0, "close")
    assert score_item(ITEM, 80.0, 100.0).points == 0
    assert "100" not in score_item(ITEM, 80.0, 100.0).feedback  # the expected value is never printed


def test_policy_rejects_non_numbers():
    for bad in (None, "100", "nan", float("nan"), float("inf"), True, [100.0], {"value": 100}):
        assert score_item(ITEM, bad, 100.0).points == 0, bad


def test_quantities_are_converted_in_the_grader():
    assert score_item(ITEM, {"value": 0.1, "unit": "kilobyte"}, 100.0).points == 2   # 0.1 kB = 100 B
    assert score_item(ITEM, {"value": 100.0, "unit": "second"}, 100.0).points == 0   # wrong dimension


def test_choice_items_ignore_case_and_spacing():
    item = Item("gpu", 1, lambda: "H100", "gpu", kind="choice")
    assert score_item(item, " h-100 ", "H100").points == 1
    assert score_item(item, "A100", "H100").points == 0


def test_record_payload_is_plain_json():
    import json

    import numpy as np

    from mlsyslab import Q_
    from mlsyslab.grading import record

    payload = record({"a": np.float32(1.5), "b": Q_(2, "GB"), "c": "kv", "d": np.nan}, "a", "b", "c", "d", "e")
    answers = json.loads(json.dumps(payload))["answers"]
    assert (answers["a"], answers["c"], answers["d"], answers["e"]) == (1.5, "kv", "nan", None)
    assert answers["b"]["value"] == 2.0 and Q_(1, answers["b"]["unit"]) == Q_(1e9, "B")


def test_rescore_replaces_whatever_the_kernel_printed():
    """A grade cell whose kernel output claims full marks (stderr, an error, a forged score) gets
    exactly what its captured answers are worth, as nbgrader's determine_grade reads it."""
    import nbformat
    from nbgrader.utils import determine_grade

    from mlsyslab.grading import ANSWERS_MIME
    from mlsyslab.grading.preprocessors import RescoreAnswers

    cell = nbformat.v4.new_code_cell("record(globals(), 'kv_bytes_per_token')", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "ex1_kv_per_token", "schema_version": 3}})
    cell.outputs = [
        nbformat.v4.new_output("display_data", {ANSWERS_MIME: {"answers": {"kv_bytes_per_token": 65536}}}),
        nbformat.v4.new_output("execute_result", {"text/plain": "2.0"}, execution_count=1),
        nbformat.v4.new_output("stream", name="stderr", text="noise"),
    ]
    other = nbformat.v4.new_code_cell("x = 1")  # an answer captured outside the grade cell is ignored
    other.outputs = [nbformat.v4.new_output("display_data", {ANSWERS_MIME: {"answers": {"kv_bytes_per_token": 131072}}})]
    nb = nbformat.v4.new_notebook(cells=[other, cell])
    nb, _ = RescoreAnswers().preprocess(nb, {"nbgrader": {"notebook": "lab2_kv_cache"}})
    # 65536 = 2 x 32 x 8 x 128 x 2 / 2: the "forgot K and V" mistake -> 0 points, with that feedback
    assert [o.output_type for o in cell.outputs] == ["display_data", "execute_result"]
    assert determine_grade(cell) == (0.0, 2.0)
    assert "K and V" in cell.outputs[0].data["text/plain"]
    # the lab's other test cells are missing from this notebook: a first cell says they score 0
    assert nb.cells[0].cell_type == "markdown" and "ex3_gqa" in nb.cells[0].source and "score 0" in nb.cells[0].source
    cell.outputs = [nbformat.v4.new_output("display_data", {ANSWERS_MIME: {"answers": {"kv_bytes_per_token": 131072}}})]
    nb, _ = RescoreAnswers().preprocess(nbformat.v4.new_notebook(cells=[other, cell]), {"nbgrader": {"notebook": "lab2_kv_cache"}})
    assert determine_grade(cell) == (2.0, 2.0)


def test_keys_compute_without_a_kernel(tmp_path):
    from mlsyslab.grading import keys

    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "course_secret").write_text("55" * 32)
    assert len(keys.lab_names(tmp_path)) >= 9
    key = keys.get("lab2_kv_cache", root=tmp_path)
    # hand calculation: 2 x 32 layers x 8 kv_heads x 128 x 2 B = 131072 B per token; floor((85.899e9 - 16.06e9) / 536.87e6) = 130
    assert key.expected["kv_bytes_per_token"] == 131072
    assert key.expected["max_batch"] == 130
    assert keys.get("no_such_lab", root=tmp_path) is None


def test_cell_points_equal_key_points():
    """Each autograder-test cell is worth exactly the sum of its items (so 'full marks' means all items)."""
    import nbformat

    from mlsyslab.grading import keys

    for path in sorted((ROOT / "autograder" / "source").glob("*/*.ipynb")):
        key = keys.get(path.stem)
        cells = [c for c in nbformat.read(path, 4).cells
                 if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
        assert {c.metadata.nbgrader.grade_id for c in cells} == set(key.cells), path.stem
        for c in cells:
            assert c.metadata.nbgrader.points == key.points(c.metadata.nbgrader.grade_id), (path.stem, c.metadata.nbgrader.grade_id)


def test_grade_cli_reports_a_bad_folder_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mlsyslab", "grade", "autograde", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not a folder of <student>/<lab>.ipynb" in proc.stderr
    assert "Traceback" not in proc.stderr
    helptext = subprocess.run([sys.executable, "-m", "mlsyslab", "grade", "--help"], capture_output=True, text=True,
                              timeout=60).stdout
    assert "release" in helptext and "autograde" in helptext


@pytest.mark.nbgrader
@pytest.mark.timeout(900)
def test_wrapper_writes_nbgrader_export(graded):
    rows = list(csv.DictReader(open(graded["out"] / "gradebook.csv", encoding="utf-8")))
    assert {(r["assignment"], r["student_id"]) for r in rows} >= {(lab, s) for lab in graded["labs"] for s in STUDENTS}


def test_hidden_configurations_are_in_no_notebook_and_not_in_the_package(tmp_path):
    """The hidden calls are drawn by the grader from the course secret: neither the instructor's nor the
    released notebooks nor the package hold them (only the lab's pool of candidates)."""
    import nbformat

    from mlsyslab.grading import keys

    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "course_secret").write_text("66" * 32)
    hidden = [keys.hidden_cell_source(call).splitlines()[-1] for student in ("alice", "bob", "carol")
              for lab in keys.lab_names(tmp_path) for call in keys.get(lab, student, root=tmp_path).hidden]
    assert hidden, "no lab has hidden calls: this check would test nothing"
    notebooks = "\n".join(cell.source for folder in (ROOT / "autograder" / "source", ROOT / "labs")
                          for path in sorted(folder.glob("**/*.ipynb")) for cell in nbformat.read(path, 4).cells)
    pkg_text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "mlsyslab").rglob("*")
                         if p.suffix in (".py", ".json", ".yaml", ".md", ".txt", ".ipynb"))
    assert [line for line in hidden if line in notebooks or line in pkg_text] == []
    assert "### BEGIN HIDDEN TESTS" not in notebooks
    assert not (ROOT / "mlsyslab" / "grading" / "keys").exists()


def _course_without_gradebook(tmp_path):
    home = tmp_path / "course"
    home.mkdir()
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
    shutil.copytree(ROOT / "autograder" / "source" / "lab2_kv_cache", home / "source" / "lab2_kv_cache")
    subs = tmp_path / "subs" / "alice"
    subs.mkdir(parents=True)
    shutil.copy(ROOT / "labs" / "lab2_kv_cache.ipynb", subs)
    return home, tmp_path / "subs"


def test_autograde_before_release_says_what_to_run(tmp_path):
    home, subs = _course_without_gradebook(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "mlsyslab", "grade", "autograde", str(subs), "--course", str(home),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert f"no gradebook in {home.resolve()}: run `mlsyslab grade release --course {home.resolve()}` first" in proc.stderr
    export = subprocess.run([sys.executable, "-m", "mlsyslab", "grade", "export", "--course", str(home), "--to",
                             str(tmp_path / "canvas.csv")], capture_output=True, text=True, timeout=120)
    assert export.returncode == 2 and export.stderr.strip().count("\n") == 0 and "no gradebook in" in export.stderr
    assert not (home / "gradebook.db").exists()


def _path_without_bwrap(tmp_path, fake_bwrap: str | None = None) -> str:
    """PATH with the venv's bin/ and, optionally, a stand-in bwrap (a pod that refuses user namespaces)."""
    venv_bin = str(pathlib.Path(sys.executable).parent)
    if fake_bwrap is None:
        return venv_bin
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "bwrap").write_text(f"#!/bin/sh\necho '{fake_bwrap}' >&2\nexit 1\n")
    (fake / "bwrap").chmod(0o755)
    return f"{fake}{os.pathsep}{venv_bin}"


@pytest.mark.nbgrader
@pytest.mark.parametrize("fake_bwrap, why", [
    (None, "bubblewrap is not installed"),
    ("bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged "
     "user namespaces.", "allow unprivileged user namespaces"),
])
def test_autograde_refuses_without_a_sandbox_in_one_line(tmp_path, fake_bwrap, why):
    home, subs = _course_without_gradebook(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "MLSYSLAB_UNSAFE_NO_SANDBOX"}
    env["PATH"] = _path_without_bwrap(tmp_path, fake_bwrap)
    ours = subprocess.run([sys.executable, "-m", "mlsyslab", "grade", "autograde", str(subs), "--course", str(home)],
                          capture_output=True, text=True, timeout=120, env=env)
    plain = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "lab2_kv_cache"], cwd=home,
                           capture_output=True, text=True, timeout=120, env=env)
    for proc in (ours, plain):
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        line = proc.stderr.strip().splitlines()[-1]
        assert "cannot sandbox student kernels" in line and why in line and "MLSYSLAB_UNSAFE_NO_SANDBOX=1" in line
    assert ours.stderr.strip().count("\n") == 0


def test_no_sandbox_opt_out_is_explicit_and_loud(monkeypatch, capsys):
    from mlsyslab.grading import course, sandbox

    monkeypatch.setenv(sandbox.UNSAFE_ENV, "0")  # restored (removed) after the test
    assert not sandbox.unsafe_opt_out()
    course.require_sandbox(sandbox=True)  # bwrap works here: silent
    assert capsys.readouterr().err == ""
    course.require_sandbox(sandbox=False)  # --no-sandbox: the opt-out, with a warning
    assert sandbox.unsafe_opt_out() and "student code runs as" in capsys.readouterr().err


def test_sandbox_command_hides_the_course_and_limits_the_kernel(tmp_path):
    """The bwrap command line: course folder and grader HOME absent, system read-only, limits set."""
    from mlsyslab.grading import sandbox

    cmd = sandbox.bwrap_command(["python", "-m", "ipykernel_launcher"], str(tmp_path), str(tmp_path / "work"),
                                sandbox.kernel_env("alice", {}), memory_mb=4096, processes=256, file_size_mb=64,
                                cpu_seconds=600, tmp_mb=256, uid=None)
    binds = [cmd[i + 1] for i, a in enumerate(cmd) if a in ("--bind", "--ro-bind")]
    writable = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--bind"]
    assert writable == [str(tmp_path)]
    assert str(ROOT / "autograder") not in binds and os.path.expanduser("~") not in binds
    assert {"--unshare-all", "--die-with-parent", "--new-session", "--clearenv"} <= set(cmd)
    assert "--as=4294967296" in cmd and "--nproc=256" in cmd and "--fsize=67108864" in cmd and "--cpu=600" in cmd
    assert cmd[cmd.index("MLSYSLAB_STUDENT_ID") + 1] == "alice"
