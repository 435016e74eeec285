"""Formative checks: tell a student, before submission, whether an answer is right.

``lab.check(globals(), "kv_bytes_per_token")`` (a lab's recording cells call it) prints one line
per item::

    ✓ kv_bytes_per_token: right (within ±2 %).
    ~ max_batch: close (within twice the tolerance) but too high: check your constants and rounding.
    ✗ kv_bytes_per_token: not right yet. Hint: you used the 32 query heads; ...
    · max_batch_32k: not answered yet.

Verdicts (policy, the grader's own is in :mod:`mlsyslab.grading.rubric`):

* **right**: within the item's tolerance (``rtol`` relative plus ``atol``) of the expected value;
* **wrong + hint**: it matches a usual mistake of the item (what the mistake's formula gives);
* **close**: within ``CLOSE`` x the tolerance;
* **wrong**: anything else (a missing, non-numeric or non-finite value says so).

A check never shows the expected value, and checks only the student's own, visible
configuration (a graded function is called on the lab's visible configurations, not on the
grader's hidden ones). It is formative only: the grade comes from the trusted grader.
"""

from __future__ import annotations

import math

from ..grading.answers import to_json_value
from ..grading.rubric import _as_number, _close, _norm

#: "close" means within CLOSE x the item's tolerance
CLOSE = 2.0

MARK = {"right": "\u2713", "close": "~", "wrong": "\u2717", "missing": "\u00b7"}


def verdict(item, answer, expected, mistakes: dict | None = None) -> tuple[str, str]:
    """(``right`` | ``close`` | ``wrong`` | ``missing``, message) for one answer; never the expected value."""
    name = item.id
    if answer is None:
        return "missing", f"{name}: not answered yet (assign it in the cell above and run it)."
    value = to_json_value(answer)
    if item.kind == "choice":
        if _norm(value) == _norm(expected):
            return "right", f"{name}: right."
        return "wrong", f"{name}: not right yet; re-read the comparison in the exercise."
    number = _as_number(value, item.unit)
    if isinstance(number, str):
        return "wrong", f"{name}: {number}" + (f" (answer in {item.unit})." if item.unit else ".")
    target = float(expected)
    tol = f"±{item.rtol * 100:g} %" if item.rtol else f"±{item.atol:g}"
    if _close(number, target, item.rtol, item.atol):
        return "right", f"{name}: right (within {tol})."
    for mistake in item.mistakes:
        wrong = (mistakes or {}).get(mistake.name)
        wrong = float(mistake.value() if wrong is None else wrong)
        if _close(number, wrong, item.rtol, item.atol) and not _close(wrong, target, item.rtol, item.atol):
            return "wrong", f"{name}: not right yet. Hint: {mistake.message}"
    direction = "too high" if number > target else "too low"
    if _close(number, target, CLOSE * item.rtol, CLOSE * item.atol):
        return "close", (f"{name}: close (within twice the tolerance, {tol}) but {direction}: check your constants "
                         "and rounding.")
    if target and math.isfinite(number) and number and (abs(number / target) >= 500 or abs(number / target) <= 1 / 500):
        return "wrong", f"{name}: not right yet, off by orders of magnitude: check the unit asked ({item.unit or 'a number'})."
    return "wrong", f"{name}: not right yet; revisit the formula in the exercise text."


def line(item, answer, expected, mistakes=None) -> str:
    kind, message = verdict(item, answer, expected, mistakes)
    return f"{MARK[kind]} {message}"
