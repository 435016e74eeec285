"""The course folder (``autograder/``) driven through the real nbgrader CLI.

* :func:`release`: ``nbgrader generate_assignment`` for every lab, then copy the student
  versions to ``labs/<lab>.ipynb``;
* :func:`autograde`: copy ``<student>/<lab>.ipynb`` submissions into ``submitted/``, run one
  ``nbgrader autograde`` and one ``nbgrader generate_feedback`` over all labs and students at
  once, then write ``grades.csv`` (one row per student, lab and graded item, read from the
  autograded notebooks' trusted score outputs) and collect the HTML feedback.

nbgrader runs as a subprocess of the venv (its ``bin/`` is put first on PATH: the gradebook
needs ``alembic``) with ``autograder/`` as working directory, so it reads our
``nbgrader_config.py`` exactly as a plain ``nbgrader autograde`` would.
"""

from __future__ import annotations

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

from ..errors import MLSysError, ValidationError
from .answers import SCORES_MIME
from .keys import LABS

ROOT = pathlib.Path(__file__).resolve().parents[2]
COURSE = ROOT / "autograder"
LABS_DIR = ROOT / "labs"


def find_course(given=None) -> pathlib.Path:
    """``given``, else ``./autograder`` or ``.`` when they hold an nbgrader_config.py, else the checkout's."""
    candidates = [pathlib.Path(given)] if given else [pathlib.Path.cwd() / "autograder", pathlib.Path.cwd(), COURSE]
    for path in candidates:
        if (path / "nbgrader_config.py").exists() and (path / "source").is_dir():
            return path.resolve()
    raise ValidationError(f"course={str(candidates[0])!r} is not an nbgrader course folder (nbgrader_config.py and "
                          "source/); pass --course.", field="course", value=str(candidates[0]),
                          allowed="a folder with nbgrader_config.py and source/<lab>/<lab>.ipynb")


def _env() -> dict:
    env = dict(os.environ)
    venv_bin = str(pathlib.Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(*args: str, course: pathlib.Path = COURSE, check: bool = True, timeout: float = 3600):
    """Run ``nbgrader ARGS`` in the course folder; raise with its log if it fails."""
    import importlib.util

    if importlib.util.find_spec("nbgrader") is None:  # `make install` gives the lab extra only
        raise MLSysError(f"nbgrader is not installed in {sys.prefix}; install the grading extra: "
                         "pip install -e '.[grading]' (make test installs it too).")
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course, env=_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise MLSysError(f"{' '.join(cmd[2:])} failed ({proc.returncode}):\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}")
    return proc


def source_labs(course: pathlib.Path = COURSE) -> list[str]:
    return [lab for lab in LABS if (course / "source" / lab / f"{lab}.ipynb").exists()]


def release(course: pathlib.Path = COURSE, labs_dir: pathlib.Path | None = LABS_DIR) -> list[pathlib.Path]:
    """Generate the student version of every lab (and refresh ``labs_dir`` unless None)."""
    out = []
    labs = source_labs(course)
    nbgrader("generate_assignment", "*" if len(labs) > 1 else labs[0], "--force", course=course)
    for lab in labs:
        released = course / "release" / lab / f"{lab}.ipynb"
        if labs_dir is not None:
            labs_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(released, labs_dir / f"{lab}.ipynb")
        out.append(released)
    return out


def _collect(submissions: pathlib.Path, course: pathlib.Path) -> dict:
    """Copy ``<student>/<lab>.ipynb`` into ``submitted/<student>/<lab>/``; {lab: [students]}."""
    if not submissions.is_dir():
        raise ValidationError(f"submissions={str(submissions)!r} is not a folder of <student>/<lab>.ipynb.",
                              field="submissions", value=str(submissions), allowed="a folder")
    labs: dict = {}
    for nb in sorted(submissions.glob("*/*.ipynb")):
        student, lab = nb.parent.name, nb.stem
        if lab not in LABS:
            continue
        dest = course / "submitted" / student / lab
        for old in (dest, course / "autograded" / student / lab, course / "feedback" / student / lab):
            if old.exists():  # a resubmission is graded afresh; nbgrader skips what is already graded
                shutil.rmtree(old)
        dest.mkdir(parents=True)
        shutil.copyfile(nb, dest / nb.name)
        labs.setdefault(lab, []).append(student)
    if not labs:
        raise ValidationError(f"no <student>/<lab>.ipynb for a known lab under {submissions}; labs: {', '.join(LABS)}.",
                              field="submissions", value=str(submissions), allowed="<student>/<lab>.ipynb files")
    return labs


def item_scores(autograded_nb: pathlib.Path) -> list[dict]:
    """Per-item scores written by RescoreAnswers into an autograded notebook."""
    nb = json.loads(autograded_nb.read_text(encoding="utf-8"))
    rows = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {}).get(SCORES_MIME)
            if data:
                for item in data["items"]:
                    rows.append({"grade_id": data["grade_id"], **item})
    return rows


def autograde(submissions, out_dir, course: pathlib.Path = COURSE) -> pathlib.Path:
    """Autograde a folder of submissions; returns the CSV path (feedback HTML beside it)."""
    submissions, out_dir = pathlib.Path(submissions), pathlib.Path(out_dir)
    labs = _collect(submissions, course)
    # one nbgrader process for every lab and student (kernels start one after the other, but the
    # grader, its imports and the gradebook are set up once); already graded submissions are skipped
    which = "*" if len(labs) > 1 else next(iter(labs))
    nbgrader("autograde", which, course=course)
    nbgrader("generate_feedback", which, course=course)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lab", "grade_id", "item", "points", "max_points", "verdict", "feedback"])
        for lab, students in sorted(labs.items()):
            for student in sorted(students):
                graded = course / "autograded" / student / lab / f"{lab}.ipynb"
                for row in item_scores(graded) if graded.exists() else []:
                    writer.writerow([student, lab, row["grade_id"], row["id"], row["points"], row["max_points"],
                                     row["verdict"], row["feedback"]])
                html = course / "feedback" / student / lab / f"{lab}.html"
                if html.exists():
                    (out_dir / "feedback" / student).mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(html, out_dir / "feedback" / student / f"{lab}.html")
    nbgrader("export", "--to", str((out_dir / "gradebook.csv").resolve()), course=course)  # nbgrader's own totals
    return csv_path
