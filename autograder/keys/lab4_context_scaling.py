"""Answer key of lab4_context_scaling for one student's variant.

Every graded item of this lab is visible: the key is the items the student's formative
``lab.check()`` uses, :func:`mlsyslab.labs.lab4_context_scaling.cells`, for the variant the student id draws
(:mod:`mlsyslab.labs.variants`). Expected values are recomputed here, in the grading process.
"""

from __future__ import annotations

from mlsyslab.labs.builtin import lab4_context_scaling as lab
from mlsyslab.labs.variants import variant


def cells(student=None) -> dict:
    """grade_id -> [Item] for ``student`` (None: the default variant)."""
    return lab.cells(variant(lab.LAB, student))
