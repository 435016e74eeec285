"""Items of an answer key and how one captured answer is scored (runs in the grading process).

Scoring policy of a numeric item (documented in docs/instructors.md):

* within ``rtol`` of the expected value (relative, plus ``atol``): full points;
* else, if it matches a known mistake (the answer equals what the mistake's formula gives,
  within the same ``rtol``): ``mistake.credit`` x points (0 unless the mistake is one of
  units only, e.g. GiB vs GB) and the mistake's feedback;
* else within ``NEAR`` x ``rtol``: half the points ("close, check your constants");
* else 0. A missing answer (``None``), a string where a number is expected, NaN or inf: 0.

A ``choice`` item compares normalised names (case, spaces, ``-`` and ``_`` ignored).
Feedback never prints the expected value; it says too high / too low and names the mistake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

NEAR = 3.0


@dataclass(frozen=True)
class Mistake:
    """A usual wrong formula: ``value()`` is what it gives; ``message`` explains it."""

    name: str
    value: Callable[[], float]
    message: str
    credit: float = 0.0


@dataclass(frozen=True)
class Item:
    """One graded answer: the variable ``id`` compared with ``expected()`` (in ``unit``)."""

    id: str
    points: float
    expected: Callable[[], object]
    label: str
    unit: str | None = None
    rtol: float = 0.02
    atol: float = 0.0
    kind: str = "number"  # or "choice"
    mistakes: tuple = field(default_factory=tuple)


@dataclass
class ItemScore:
    id: str
    label: str
    points: float
    max_points: float
    verdict: str  # correct, mistake, close, wrong, missing, invalid
    feedback: str
    answer: object = None

    def as_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "points": self.points, "max_points": self.max_points,
                "verdict": self.verdict, "feedback": self.feedback, "answer": self.answer}


def _norm(text) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def _as_number(answer, unit):
    """A float in ``unit`` from a captured JSON value, or a reason string why not."""
    if isinstance(answer, dict) and "value" in answer and "unit" in answer:
        if unit is None:
            return f"a quantity in {answer['unit']} where a plain number is asked"
        try:
            from ..units import quantity

            return float(quantity(float(answer["value"]), str(answer["unit"])).to(unit).magnitude)
        except Exception:  # noqa: BLE001 - any Pint failure means the units do not convert
            return f"a quantity in {answer['unit']!s:.40} that does not convert to {unit}"
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return f"{answer!r:.60} is not a number"
    if not math.isfinite(answer):
        return f"{answer!r} is not a finite number"
    return float(answer)


def _close(value: float, target: float, rtol: float, atol: float) -> bool:
    return abs(value - target) <= rtol * abs(target) + atol


def score_item(item: Item, answer, expected, mistake_values: dict | None = None) -> ItemScore:
    """Score one captured ``answer`` against ``expected`` (already computed by the key).

    ``mistake_values`` maps a mistake's name to the value its formula gives (precomputed by
    the key); missing names are evaluated here.
    """
    def result(fraction, verdict, feedback):
        return ItemScore(item.id, item.label, round(item.points * fraction, 4), item.points, verdict, feedback, answer)

    if answer is None:
        return result(0.0, "missing", f"No answer for `{item.id}`: assign it in your solution cell and run it.")
    if item.kind == "choice":
        if _norm(answer) == _norm(expected):
            return result(1.0, "correct", "Correct.")
        return result(0.0, "wrong", f"`{item.id}` = {answer!r:.40} is not the right choice; re-read the comparison above.")

    value = _as_number(answer, item.unit)
    if isinstance(value, str):
        return result(0.0, "invalid", f"`{item.id}`: {value}.")
    target = float(expected)
    if _close(value, target, item.rtol, item.atol):
        tol = f"±{item.rtol:.0%}" if item.rtol else f"±{item.atol:g}"
        return result(1.0, "correct", f"Correct (within {tol}).")
    for mistake in item.mistakes:
        wrong = float((mistake_values or {}).get(mistake.name, mistake.value()))
        if _close(value, wrong, item.rtol, item.atol) and not _close(wrong, target, item.rtol, item.atol):
            return result(mistake.credit, "mistake", f"`{item.id}`: {mistake.message}")
    direction = "too high" if value > target else "too low"
    if _close(value, target, NEAR * item.rtol, item.atol):
        return result(0.5, "close", f"`{item.id}` is close but {direction} (outside ±{item.rtol:.0%}): "
                                    "check your constants and rounding. Half credit.")
    return result(0.0, "wrong", f"`{item.id}` is {direction}; revisit the formula in the exercise text.")
