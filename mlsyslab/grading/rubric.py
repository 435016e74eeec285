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

from dataclasses import dataclass, field
from typing import Callable

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
    kind: str = "number"  # or "integer" (whole numbers only) or "choice"
    mistakes: tuple = field(default_factory=tuple)
    #: unit strings a quantity answer may carry besides the usual ones of ``unit``'s dimension
    #: (:func:`mlsyslab.grading.answers.allowed_units`; compared exactly, never parsed)
    units: tuple = ()
    #: the exercise asks the student to run the solver for this answer: graded from a second
    #: sandboxed run with the solvers (docs/instructors.md, "Oracle-free grading")
    solver_allowed: bool = False


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


# the tolerance logic has one source, the verdict function of the labs' checks (lab.check, Validate)
from ..labs.checks import CLOSE as NEAR, as_number as _as_number, close as _close, judge, norm as _norm  # noqa: E402,F401


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
        v = judge(item, answer, expected, mistake_values)  # a wrong option a usual misconception leads to: its hint
        if v.grade == "mistake":
            return result(v.mistake.credit, "mistake", f"`{item.id}`: " + v.message.split("Hint: ", 1)[-1])
        return result(0.0, "wrong", f"`{item.id}` = {answer!r:.40} is not the right choice; re-read the comparison above.")

    v = judge(item, answer, expected, mistake_values)
    fraction = {"correct": 1.0, "close": 0.5}.get(v.grade, v.mistake.credit if v.grade == "mistake" else 0.0)
    feedback = {"correct": "Correct" + v.message[len("right"):], "close": f"`{item.id}` is {v.message} Half credit.",
                "mistake": f"`{item.id}`: " + v.message.split("Hint: ", 1)[-1]}.get(v.grade, f"`{item.id}`: {v.message}")
    return result(fraction, v.grade, feedback)
