"""Release step: bake the course's variant settings into each lab's setup cell.

``autograder/nbgrader_config.py`` appends :class:`BakeCourseSettings` to
``GenerateAssignment.preprocessors``; it rewrites ``open_lab("<lab>", variants=..., seed=...)`` in
the released notebook to the course's switch and seed (``MLSYSLAB_VARIANTS``,
``MLSYSLAB_COURSE_SEED``, exported by ``configure_course``), so the student's kernel on a hub
draws the same variant as the grader. Imports nbconvert: only the release loads this module.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor

from .variants import settings

OPEN_LAB = re.compile(r'open_lab\((?P<lab>"[a-z0-9_]+"), variants=(True|False), seed=(?P<seed>"[^"\n]*"|\'[^\'\n]*\')\)')


def bake(source: str, variants_on: bool, seed: str) -> str:
    """``source`` with every ``open_lab(..., variants=..., seed=...)`` call set to the given settings."""
    seed_literal = '"' + seed.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return OPEN_LAB.sub(lambda m: f"open_lab({m['lab']}, variants={bool(variants_on)}, seed={seed_literal})", source)


class BakeCourseSettings(Preprocessor):
    """Write the course's variant switch and seed into the released lab's ``open_lab`` call."""

    def preprocess(self, nb, resources):
        on, seed = settings()
        for cell in nb.cells:
            if cell.cell_type == "code" and "open_lab(" in cell.source:
                cell.source = bake(cell.source, on, seed)
        return nb, resources
