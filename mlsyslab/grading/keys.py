"""Loader of the answer keys, which live in the course folder (``<course>/keys/<lab>.py``), not in the package.

The keys (hidden test configurations, expected values, usual mistakes) stay with the instructor:
nothing installed with ``mlsyslab`` contains them. The trusted grading process imports a key
**by file path** from the course root it was configured with (``CourseDirectory.root``), never
through ``sys.path``; the sandboxed student kernel sees neither the course folder nor this
process. A key module defines ``CELLS`` (grade_id -> [Item, ...]) or a function
``cells(student)`` returning that mapping (a per-student variant of the lab).

A key's expected values are computed with a fresh solver in the grading process, never read
from the notebook. :func:`get` caches them per (course, lab, student); the grader calls it
before the student's code runs.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from dataclasses import dataclass
from functools import lru_cache

from .rubric import Item


def lab_names(root=None) -> list[str]:
    """The labs a course may define keys for: built-in ones and ``<root>/labs/<name>.py`` (discovered,
    :mod:`mlsyslab.labs.registry`)."""
    from ..labs.registry import names

    return names(root)


#: the checkout's course folder: the default when no course root is given
DEFAULT_ROOT = pathlib.Path(__file__).resolve().parents[2] / "autograder"


@dataclass(frozen=True)
class LabKey:
    name: str
    cells: dict  # grade_id -> tuple[Item, ...]
    expected: dict  # item id -> expected value (float or str)
    mistakes: dict  # item id -> {mistake name: value its formula gives}

    def items(self, grade_id: str) -> tuple:
        return self.cells.get(grade_id, ())

    def points(self, grade_id: str) -> float:
        return float(sum(item.points for item in self.items(grade_id)))


def keys_dir(root=None) -> pathlib.Path:
    """``<root>/keys`` (root: the course folder; default the checkout's ``autograder/``)."""
    return pathlib.Path(root if root is not None else DEFAULT_ROOT).resolve() / "keys"


def available(root=None) -> list[str]:
    """Labs whose key file is present in the course folder ``root``."""
    folder = keys_dir(root)
    return [name for name in lab_names(root) if (folder / f"{name}.py").is_file()]


@lru_cache(maxsize=None)
def _module(path: str):
    """Import the key file at ``path`` under a private module name (not via sys.path)."""
    name = "_mlsyslab_course_keys." + pathlib.Path(path).stem + f"_{abs(hash(path)):x}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=None)
def _get(folder: str, name: str, student) -> LabKey:
    module = _module(str(pathlib.Path(folder) / f"{name}.py"))
    raw = module.cells(student) if callable(getattr(module, "cells", None)) else module.CELLS
    cells = {gid: tuple(items) for gid, items in raw.items()}
    expected, mistakes = {}, {}
    for items in cells.values():
        for item in items:
            assert isinstance(item, Item), (name, item)
            expected[item.id] = item.expected()
            mistakes[item.id] = {m.name: float(m.value()) for m in item.mistakes}
    return LabKey(name, cells, expected, mistakes)


def get(name: str, student: str | None = None, root=None) -> LabKey | None:
    """The key of lab ``name`` for ``student`` with its expected values computed, or None if the
    course folder ``root`` has no key for it."""
    folder = keys_dir(root)
    if name not in lab_names(root) or not (folder / f"{name}.py").is_file():
        return None
    return _get(str(folder), name, student)
