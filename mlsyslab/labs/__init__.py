"""The labs' student-side framework: per-student variants and formative checks.

* :func:`open_lab` (a lab's setup cell) -> :class:`~mlsyslab.labs.lab.Lab`: the student's variant
  (:mod:`~mlsyslab.labs.variants`), text rendered with its numbers, ``lab.check(...)``
  (:mod:`~mlsyslab.labs.checks`);
* :func:`set_student` for a local Jupyter without a hub;
* one module per lab, ``mlsyslab.labs.<lab>``, defines (see docs/labs.md, "Writing a lab"):

  - ``POOL``: tuple of dicts of parameters, ``POOL[0]`` the default variant;
  - ``context(v)``: names the lab's text templates use (``{model.name}``, ``{S:,}``);
  - ``cells(v)``: grade_id -> [``Item``] of the **visible** graded items, expected values and
    usual mistakes for variant ``v`` (the course's key, ``autograder/keys/<lab>.py``, reuses them
    and adds the hidden configurations, which never ship in this package);
  - optionally ``functions(v)``: graded function name -> [(Item, args)] on visible configurations.

Nothing here imports ipywidgets or nbgrader.
"""

from __future__ import annotations

from .variants import set_student, student_id, variant

LABS = ("lab1_roofline", "lab2_kv_cache", "lab3_quantization", "lab4_context_scaling",
        "lab5_hardware_sla", "lab6_distributed", "lab7_sustainability", "lab8_batching", "lab9_speculative")


def open_lab(name: str, *, variants: bool = True, seed: str = "", student: str | None = None):
    """The lab ``name`` for the current student (``student``: override the id, for instructors).

    ``variants`` / ``seed`` are the course's settings, baked into the released notebook; the
    environment variables ``MLSYSLAB_VARIANTS`` / ``MLSYSLAB_COURSE_SEED`` win when set.
    """
    from .lab import Lab

    return Lab(name, variants_on=variants, seed=seed, student=student)


__all__ = ["LABS", "open_lab", "set_student", "student_id", "variant"]
