"""Autograding of the lab notebooks, with scores computed outside the student's kernel.

Two halves:

* **in the kernel** (untrusted): :func:`record` and :func:`record_call` only *capture* the
  student's answers as a ``display_data`` output of MIME type :data:`ANSWERS_MIME`;
* **in the grading process** (trusted): :class:`~mlsyslab.grading.preprocessors.RescoreAnswers`,
  an nbgrader preprocessor run after execution, recomputes every expected value with a fresh
  solver (the course's ``keys/<lab>.py``, loaded by :mod:`mlsyslab.grading.keys`), scores the captured answers (:mod:`~.rubric`) and
  rewrites each grade cell's outputs to one trusted score plus feedback.

Importing this package is cheap and never imports nbgrader (the kernel side needs neither).
"""

from __future__ import annotations

from .answers import ANSWERS_MIME, SCORES_MIME, record, record_call

__all__ = ["ANSWERS_MIME", "SCORES_MIME", "record", "record_call"]
