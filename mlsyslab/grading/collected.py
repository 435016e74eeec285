"""Autograde what ``nbgrader collect LAB`` gathered from a hub's exchange, N sandboxes at once.

On a hub, students submit through nbgrader's exchange and ``nbgrader collect LAB`` copies the
latest submission of each student into ``<course>/submitted/<student>/LAB/`` (with nbgrader's
``timestamp.txt``, used for late penalties, and the secret that names the released feedback).
:func:`autograde_collected` grades those folders in place with the workers of
:mod:`mlsyslab.grading.batch` (each kernel in the bubblewrap sandbox, the gradebook written under
a lock), so::

    nbgrader collect lab2_kv_cache
    mlsyslab grade autograde lab2_kv_cache --jobs 2      # = nbgrader autograde lab2_kv_cache, in parallel

grades them as ``nbgrader autograde lab2_kv_cache --force`` would (each afresh), N at a time.
"""

from __future__ import annotations

import pathlib
import sys

from ..errors import ValidationError


def collected_students(course: pathlib.Path, lab: str) -> list[str]:
    """Students with ``submitted/<student>/<lab>/<lab>.ipynb`` (what ``nbgrader collect`` made) whose id is
    valid (:func:`.intake.valid_student_id`; any other is skipped with one line)."""
    from .intake import STUDENT_ID_RULE, printable, valid_student_id

    out = []
    for path in (pathlib.Path(course) / "submitted").glob(f"*/{lab}/{lab}.ipynb"):
        student = path.parent.parent.name
        if valid_student_id(student):
            out.append(student)
        else:
            print(f"skipped: submitted/{printable(student)!r}: not a valid student id ({STUDENT_ID_RULE})",
                  file=sys.stderr)
    return sorted(out)


def autograde_collected(lab: str, course: pathlib.Path, jobs: int = 1, sandbox: bool = True,
                        log_dir: pathlib.Path | None = None) -> dict:
    """Grade every collected submission of ``lab`` (and write its feedback), ``jobs`` at once;
    returns {student: error message, '' when graded}."""
    from . import batch
    from .course import require_released, require_sandbox

    course = pathlib.Path(course)
    require_sandbox(sandbox)
    require_released(course, [lab])
    students = collected_students(course, lab)
    if not students:
        raise ValidationError(f"lab={lab!r} has no collected submission in {course / 'submitted'}; run "
                              f"`nbgrader collect {lab}` in the course folder first.", field="lab", value=lab,
                              allowed="a lab with submitted/<student>/<lab>/<lab>.ipynb")
    failed = batch.run(course, [(lab, student) for student in students], jobs,
                       pathlib.Path(log_dir or course / "logs"))
    return {student: failed.get((lab, student), "") for student in students}
