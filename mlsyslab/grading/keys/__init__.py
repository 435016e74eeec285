"""Answer keys of the labs: for each grade cell, the items it captures and how to score them.

A key's expected values are computed with a fresh solver in the grading process, never read
from the notebook. :func:`precompute_all` evaluates every key once, before any student code
runs (called by :class:`~mlsyslab.grading.preprocessors.TrustedExecute`), so that student code
executed later cannot influence them even if it edits files on disk.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache

from ..rubric import Item

#: notebook / assignment name -> module defining ``CELLS`` (grade_id -> [Item, ...])
LABS = {
    "lab1_roofline": "mlsyslab.grading.keys.lab1_roofline",
    "lab2_kv_cache": "mlsyslab.grading.keys.lab2_kv_cache",
    "lab3_quantization": "mlsyslab.grading.keys.lab3_quantization",
    "lab4_context_scaling": "mlsyslab.grading.keys.lab4_context_scaling",
    "lab5_hardware_sla": "mlsyslab.grading.keys.lab5_hardware_sla",
    "lab6_distributed": "mlsyslab.grading.keys.lab6_distributed",
    "lab7_sustainability": "mlsyslab.grading.keys.lab7_sustainability",
}


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


def available() -> list[str]:
    """Labs whose key module is present in this build."""
    out = []
    for name, module in LABS.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        out.append(name)
    return out


@lru_cache(maxsize=None)
def get(name: str) -> LabKey | None:
    """The key of lab ``name`` with its expected values computed, or None if not a lab."""
    if name not in LABS:
        return None
    module = importlib.import_module(LABS[name])
    cells = {gid: tuple(items) for gid, items in module.CELLS.items()}
    expected, mistakes = {}, {}
    for items in cells.values():
        for item in items:
            assert isinstance(item, Item)
            expected[item.id] = item.expected()
            mistakes[item.id] = {m.name: float(m.value()) for m in item.mistakes}
    return LabKey(name, cells, expected, mistakes)


def precompute_all() -> None:
    for name in available():
        get(name)
