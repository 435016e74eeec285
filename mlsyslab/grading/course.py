"""The course folder (``autograder/``) driven through the real nbgrader.

* :func:`release`: ``nbgrader generate_assignment`` for every lab, then copy the student
  versions to ``labs/<lab>.ipynb``;
* :func:`autograde`: copy ``<student>/<lab>.ipynb`` submissions into ``submitted/`` (an
  unreadable one is replaced by the blank lab with a note), grade each submission on its own
  (nbgrader's autograde and generate_feedback, in ``jobs`` worker processes,
  :mod:`~mlsyslab.grading.batch`), each kernel in a sandbox (:mod:`~mlsyslab.grading.sandbox`);
  a submission whose grading fails is graded as the blank lab with the reason in its feedback;
  then write ``grades.csv`` (one row per student, lab and graded item, read from the autograded
  notebooks' trusted score outputs, plus one note row per repaired or skipped submission) and
  collect the HTML feedback.

nbgrader runs with the venv's ``bin/`` first on PATH (the gradebook needs ``alembic``) and the
course folder as working directory, reading our ``nbgrader_config.py`` as a plain
``nbgrader autograde`` would.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

from ..errors import MLSysError, ValidationError
from . import intake
from .answers import SCORES_MIME
from ..labs.registry import names as lab_names

ROOT = pathlib.Path(__file__).resolve().parents[2]
COURSE = ROOT / "autograder"
LABS_DIR = ROOT / "labs"


def is_course(path) -> bool:
    """True if ``path`` holds an nbgrader_config.py and a source/ folder."""
    path = pathlib.Path(path)
    return (path / "nbgrader_config.py").is_file() and (path / "source").is_dir()


def find_course(given=None) -> pathlib.Path:
    """``given``, else ``.`` or ``./autograder`` when it is a course, else the checkout's ``autograder/``."""
    candidates = [pathlib.Path(given)] if given else [pathlib.Path.cwd(), pathlib.Path.cwd() / "autograder", COURSE]
    for path in candidates:
        if is_course(path):
            return path.resolve()
    where = str(candidates[0]) if given else str(pathlib.Path.cwd())
    raise ValidationError(f"course={where!r} is not an nbgrader course folder (nbgrader_config.py and source/); "
                          "pass --course DIR, or create one: mlsyslab course init DIR.", field="course", value=where,
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
        raise MLSysError(f"mlsyslab grade needs the 'grading' extra (nbgrader is not installed in {sys.prefix}): "
                         "pip install 'mlsyslab[grading]' (in a checkout: pip install -e '.[grading]').")
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course, env=_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise MLSysError(f"{' '.join(cmd[2:])} failed ({proc.returncode}):\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}")
    return proc


def source_labs(course: pathlib.Path = COURSE) -> list[str]:
    """The labs in ``<course>/source/``; one line naming any folder there that is not a known lab
    (a built-in one or ``<course>/labs/<name>.py``) or lacks its notebook, never a silent skip."""
    course = pathlib.Path(course)
    known = lab_names(course)
    folders = sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [name for name in folders if name not in known]
    if unknown:
        raise ValidationError(f"{course / 'source'}: {', '.join(unknown)} is not a known lab (no labs/{unknown[0]}.py in "
                              f"the course, not built-in); known labs: {', '.join(known)}.", field="lab",
                              value=unknown[0], allowed=", ".join(known))
    missing = [name for name in folders if not (course / "source" / name / f"{name}.ipynb").is_file()]
    if missing:
        raise ValidationError(f"{course / 'source' / missing[0]} has no {missing[0]}.ipynb: run `mlsyslab course build "
                              f"{missing[0]} --course {course}`.", field="lab", value=missing[0],
                              allowed="source/<lab>/<lab>.ipynb")
    if not folders:
        raise ValidationError(f"{course / 'source'} holds no lab: run `mlsyslab course build --course {course}`.",
                              field="course", value=str(course), allowed="source/<lab>/<lab>.ipynb")
    return folders


def release(course: pathlib.Path = COURSE, labs_dir: pathlib.Path | None = LABS_DIR, names=None) -> list[pathlib.Path]:
    """Generate the student version of every lab in ``source/`` (``names``: some of them) and copy it,
    with a course lab's public module (``<lab>_public.py``), into ``labs_dir`` unless None."""
    course = pathlib.Path(course)
    labs = source_labs(course)
    for name in names or ():
        if name not in labs:
            raise ValidationError(f"lab={name!r} is not in {course / 'source'}; labs there: {', '.join(labs)}.",
                                  field="lab", value=name, allowed=", ".join(labs))
    if names:
        labs = list(names)
        for lab in labs:
            nbgrader("generate_assignment", lab, "--force", course=course)
    else:  # every lab in source/, in one nbgrader run
        nbgrader("generate_assignment", "*" if len(labs) > 1 else labs[0], "--force", course=course)
    out = []
    for lab in labs:
        released = course / "release" / lab / f"{lab}.ipynb"
        if labs_dir is not None:
            labs_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(released, labs_dir / f"{lab}.ipynb")
            public = released.with_name(f"{lab}_public.py")
            if public.is_file():
                shutil.copyfile(public, labs_dir / public.name)
        out.append(released)
    return out




def _blank_with_note(course: pathlib.Path, lab: str, reason: str):
    """The released (blank) lab with a first cell saying why it replaced the submission."""
    import nbformat

    nb = nbformat.read(course / "release" / lab / f"{lab}.ipynb", 4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"**Grader's note:** your submission could not be graded ({reason}); the blank lab was graded "
        "in its place (0 points). Ask your instructor."))
    return nb


def _readable(path: pathlib.Path) -> str:
    """'' if ``path`` is a notebook nbgrader can read, else why not (one line)."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # not JSON, not a notebook, wrong schema
        return f"not a readable notebook: {type(exc).__name__}: {str(exc).splitlines()[0][:150] if str(exc) else ''}"
    return ""


def _collect(submissions: pathlib.Path, course: pathlib.Path) -> tuple[dict, dict]:
    """Copy ``<student>/<lab>.ipynb`` into ``submitted/<student>/<lab>/``; ({lab: [students]}, {(lab, student): note}).

    An unreadable notebook is replaced by the blank lab with a note (it scores 0, the reason in its
    feedback); a folder name that cannot be an nbgrader student id is skipped with a note. ``submissions``
    is a folder (checked by :func:`autograde` before anything else)."""
    import nbformat

    labs: dict = {}
    notes: dict = {}
    known = lab_names(course)
    for nb in sorted(submissions.glob("*/*.ipynb")):
        student, lab = nb.parent.name, nb.stem
        if lab not in known:  # said in grades.csv, never skipped silently
            notes[(intake.printable(lab), intake.printable(student))] = (
                f"skipped: {intake.printable(nb.name)} is not a lab of this course (known: {', '.join(known)})")
            continue
        if not intake.valid_student_id(student):
            notes[(lab, intake.printable(student))] = (f"skipped: folder name {intake.printable(student)!r} is not a "
                                                       f"valid student id ({intake.STUDENT_ID_RULE})")
            continue
        dest = course / "submitted" / student / lab
        for old in (dest, course / "autograded" / student / lab, course / "feedback" / student / lab):
            intake.rmtree(old)  # a resubmission is graded afresh
        dest.mkdir(parents=True)
        try:  # a plain file only: not a link (to source/, keys/, another student), a FIFO or a hard link
            (dest / nb.name).write_bytes(intake.read_file(nb, root=submissions))
            problem = _readable(dest / nb.name)
        except intake.Refused as exc:
            problem = f"refused: {exc}"
        if problem:
            nbformat.write(_blank_with_note(course, lab, problem), dest / nb.name)
            notes[(lab, student)] = f"graded as blank: {problem}"
        labs.setdefault(lab, []).append(student)
    if not labs:
        raise ValidationError(f"no <student>/<lab>.ipynb for a known lab under {submissions.resolve()}; labs: "
                              f"{', '.join(known)}.", field="submissions", value=str(submissions),
                              allowed="<student>/<lab>.ipynb files")
    return labs, notes


def require_released(course: pathlib.Path, labs=()) -> None:
    """Refuse, in one line, to autograde before ``release`` made the gradebook and student versions."""
    missing = [lab for lab in labs if not (course / "release" / lab / f"{lab}.ipynb").exists()]
    if not (course / "gradebook.db").exists() or missing:
        what = f"no gradebook in {course}" if not (course / "gradebook.db").exists() else \
            f"{', '.join(missing)} not released in {course}"
        raise MLSysError(f"{what}: run `mlsyslab grade release --course {course}` first "
                         "(it creates the gradebook and the student versions).")


def require_sandbox(sandbox: bool = True) -> None:
    """Check that student kernels can be sandboxed (or set the explicit opt-out when ``sandbox`` is False)."""
    from . import sandbox as sbx

    if not sandbox:
        os.environ[sbx.UNSAFE_ENV] = "1"
    if sbx.unsafe_opt_out():
        print(f"WARNING: sandbox off ({sbx.UNSAFE_ENV}=1 / --no-sandbox): student code runs as "
              f"{os.environ.get('USER', 'this user')}, with this user's files and network.", file=sys.stderr)
        return
    try:
        sbx.check()
    except sbx.SandboxUnavailable as exc:
        raise MLSysError(f"autograde refused: {exc}") from None


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


def autograde(submissions, out_dir, course: pathlib.Path = COURSE, jobs: int = 1, sandbox: bool = True) -> pathlib.Path:
    """Autograde a folder of submissions with ``jobs`` sandboxes at once; returns the CSV path
    (``gradebook.csv``, ``feedback/`` and ``logs/`` beside it)."""
    from . import batch

    submissions, out_dir, course = pathlib.Path(submissions), pathlib.Path(out_dir).resolve(), pathlib.Path(course)
    if importlib.util.find_spec("nbgrader") is None:
        nbgrader("--version", course=course)  # raises the install hint
    require_sandbox(sandbox)
    if not submissions.is_dir():  # the argument the instructor typed is checked before the course's state
        raise ValidationError(f"submissions={str(submissions.resolve())!r} is not a folder of <student>/<lab>.ipynb.",
                              field="submissions", value=str(submissions), allowed="a folder")
    require_released(course)
    labs, notes = _collect(submissions, course)
    require_released(course, labs)
    tasks = [(lab, student) for lab, students in sorted(labs.items()) for student in sorted(students)]
    failed = batch.run(course, tasks, jobs, out_dir / "logs")
    retry = [task for task, error in failed.items() if error]
    for lab, student in retry:  # graded as the blank lab, with the reason in its feedback
        reason = failed[(lab, student)].strip().splitlines()[-1][:200] if failed[(lab, student)].strip() else "error"
        import nbformat

        dest = course / "submitted" / student / lab / f"{lab}.ipynb"
        nbformat.write(_blank_with_note(course, lab, f"grading failed: {reason}"), dest)
        notes[(lab, student)] = f"graded as blank: grading failed: {reason} (log: {out_dir / 'logs'})"
    if retry:
        again = batch.run(course, retry, jobs, out_dir / "logs")
        for task, error in again.items():
            if error:
                notes[task] = f"NOT GRADED: {notes[task]}; grading the blank lab failed too (log: {out_dir / 'logs'})"
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lab", "grade_id", "item", "points", "max_points", "verdict", "feedback"])
        for (lab, student), note in sorted(notes.items()):
            writer.writerow([student, lab, "", "(submission)", 0, "", "note", note])
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
    nbgrader("export", "--to", str(out_dir / "gradebook.csv"), course=course)  # nbgrader's own totals
    return csv_path
