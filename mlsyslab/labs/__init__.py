"""The labs' student-side framework: per-student variants and formative checks.

* :func:`open_lab` (a lab's setup cell) -> :class:`~mlsyslab.labs.lab.Lab`: the student's variant
  (:mod:`~mlsyslab.labs.variants`), text rendered with its numbers, ``lab.check(...)``
  (:mod:`~mlsyslab.labs.checks`);
* :func:`set_student` for a local Jupyter without a hub;
* one module per lab, the lab's one source (:mod:`~mlsyslab.labs.registry` finds it: built-in
  ``mlsyslab.labs.builtin.<lab>`` through the entry-point group ``mlsyslab.labs``, a course's own
  ``<course>/labs/<lab>.py``), defines (see docs/labs.md, "Writing a lab"):

  - ``TITLE`` and ``NOTEBOOK``: the instructor notebook's cells (:mod:`~mlsyslab.labs.authoring`);
  - ``POOL``: tuple of dicts of parameters, ``POOL[0]`` the default variant;
  - ``context(v)``: names the lab's text templates use (``{model.name}``, ``{S:,}``);
  - ``cells(v)``: grade_id -> [``Item``] of the **visible** graded items, expected values and
    usual mistakes for variant ``v``;
  - optionally ``functions(v)``: graded function name -> [(Item, args)] on visible configurations;
  - optionally ``hidden(v, rng)``: grade_id -> [(Item, function name, args)] on configurations the
    grader draws with ``rng`` (seeded from the course secret, never in a released notebook).

Nothing here imports ipywidgets or nbgrader.
"""

from __future__ import annotations

from .variants import set_student, student_id, variant


def __getattr__(name):
    if name == "LABS":  # the built-in labs' names, discovered (mlsyslab.labs.registry)
        from .registry import builtin

        return tuple(builtin())
    raise AttributeError(f"module 'mlsyslab.labs' has no attribute {name!r}")


def open_lab(name: str, *, variants: bool = True, seed: str = "", student: str | None = None):
    """The lab ``name`` for the current student (``student``: override the id, for instructors).

    ``variants`` / ``seed`` are the course's settings, baked into the released notebook; the
    environment variables ``MLSYSLAB_VARIANTS`` / ``MLSYSLAB_COURSE_SEED`` win when set. A course's
    own lab is read from ``<name>_public.py`` beside the notebook (the release puts it there).
    """
    import os

    from . import grading_mode

    if grading_mode.active():  # the grader's oracle-free run: the public view it wrote, no checks
        return grading_mode.graded_lab(name)
    from .lab import Lab
    from .registry import use_public

    use_public(name, os.getcwd())

    return Lab(name, variants_on=variants, seed=seed, student=student)


__all__ = ["LABS", "open_lab", "set_student", "student_id", "variant"]
