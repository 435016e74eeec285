"""The one verdict function: is an answer right, close, a known mistake, wrong or missing?

:func:`judge` decides, for one graded item, what ``lab.check`` prints, what makes nbgrader's
Validate fail (:class:`NotRightYet`) and what the grader's rubric scores
(:func:`mlsyslab.grading.rubric.score_item` maps a :class:`Verdict` to points). Policy (also in
docs/instructors.md):

* **right**: within the item's tolerance (``rtol`` relative plus ``atol``) of the expected value;
* **mistake**: it matches a usual mistake of the item (what the mistake's formula gives), and
  the hint names the misconception;
* **close**: within ``CLOSE`` x ``rtol`` (plus ``atol``): "check your constants and rounding";
* **wrong**: anything else; **missing**: ``None`` or not run; **invalid**: not a number, not a
  whole number where the text asks for an integer (``Item(kind="integer")``), wrong unit.

A verdict never contains the expected value. Lines read like::

    ✓ kv_bytes_per_token: right (within ±2 %).
    ✗ kv_bytes_per_token: not right yet. Hint: you used the 32 query heads; ...

Nothing here imports ipywidgets or nbgrader.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

#: "close" means within CLOSE x the item's relative tolerance (plus its atol)
CLOSE = 3.0

MARK = {"right": "\u2713", "close": "~", "wrong": "\u2717", "missing": "\u00b7"}
WORD = {"right": "right", "close": "close", "wrong": "not right yet", "missing": "not answered"}
#: text and border colours with >= 4.5:1 contrast on white (light theme) and on #111 (dark theme)
COLOR = {"right": ("#1b6e3a", "#7ddc9b"), "close": ("#8a5a00", "#f2c14e"), "wrong": ("#b3261e", "#ff9a8f"),
         "missing": ("#4a4a4a", "#c8c8c8")}


@dataclass(frozen=True)
class Verdict:
    """``kind`` (right | close | wrong | missing) for the student; ``grade`` (correct | mistake |
    close | wrong | missing | invalid) for the rubric; ``message``: one line without the item's name."""

    kind: str
    grade: str
    message: str
    mistake: object = None

    def line(self, name: str) -> str:
        return f"{MARK[self.kind]} {name}: {self.message}"


def norm(text) -> str:
    """A choice compared without case, spaces, ``-`` or ``_``."""
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def as_number(answer, unit):
    """A float in ``unit`` from a captured JSON value (``{"value", "unit"}`` for quantities), or a
    reason string why not."""
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


def close(value: float, target: float, rtol: float, atol: float) -> bool:
    return abs(value - target) <= rtol * abs(target) + atol


def tolerance_text(item) -> str:
    if item.kind == "integer" and not item.rtol:
        return "±1" if item.atol >= 1 else "exactly"
    return f"±{item.rtol * 100:g} %" if item.rtol else f"±{item.atol:g}"


def _json(answer):
    from ..grading.answers import to_json_value

    return to_json_value(answer)


def judge(item, answer, expected, mistakes: dict | None = None) -> Verdict:
    """The verdict on ``answer`` for ``item`` whose expected value is ``expected``; ``mistakes``
    maps a mistake's name to the value its formula gives (missing ones are evaluated here)."""
    if answer is None:
        return Verdict("missing", "missing", "not answered yet (assign it in your answer cell and run it).")
    value = answer if isinstance(answer, dict) else _json(answer)
    if item.kind == "choice":
        if norm(value) == norm(expected):
            return Verdict("right", "correct", "right.")
        for mistake in item.mistakes:  # a wrong choice the usual misconception leads to
            wrong = (mistakes or {}).get(mistake.name)
            if norm(value) == norm(mistake.value() if wrong is None else wrong) != norm(expected):
                return Verdict("wrong", "mistake", f"not right yet. Hint: {mistake.message}", mistake)
        return Verdict("wrong", "wrong", "not right yet; re-read the comparison the exercise asks for.")
    number = as_number(value, item.unit)
    if isinstance(number, str):
        asked = f" (answer in {item.unit})" if item.unit else ""
        return Verdict("wrong", "invalid", f"{number}{asked}.")
    if item.kind == "integer" and not float(number).is_integer():
        return Verdict("wrong", "invalid", f"{number:g} is not a whole number; the text asks for an integer "
                                           "(a count: round down with math.floor).")
    target = float(expected)
    tol = tolerance_text(item)
    if close(number, target, item.rtol, item.atol):
        return Verdict("right", "correct", f"right (within {tol}).")
    for mistake in item.mistakes:
        wrong = (mistakes or {}).get(mistake.name)
        wrong = float(mistake.value() if wrong is None else wrong)
        if close(number, wrong, item.rtol, item.atol) and not close(wrong, target, item.rtol, item.atol):
            return Verdict("wrong", "mistake", f"not right yet. Hint: {mistake.message}", mistake)
    direction = "too high" if number > target else "too low"
    if item.rtol and close(number, target, CLOSE * item.rtol, item.atol):
        return Verdict("close", "close", f"close but {direction} (outside {tol}, within {CLOSE:g} x): check your "
                                         "constants and rounding.")
    if target and number and not 1 / 500 < abs(number / target) < 500:
        return Verdict("wrong", "wrong", f"not right yet: {direction} by orders of magnitude; check the unit "
                                         f"asked ({item.unit or 'a plain number'}).")
    return Verdict("wrong", "wrong", f"not right yet: {direction}; none of the usual mistakes gives this value, so "
                                     "recompute it step by step from the exercise's definitions.")


def verdict(item, answer, expected, mistakes: dict | None = None) -> tuple[str, str]:
    """(``right`` | ``close`` | ``wrong`` | ``missing``, "name: message") for one answer."""
    v = judge(item, answer, expected, mistakes)
    return v.kind, f"{item.id}: {v.message}"


def line(item, answer, expected, mistakes=None) -> str:
    return judge(item, answer, expected, mistakes).line(item.id)


# ---------------------------------------------------------------------- display
class Report(list):
    """The verdict lines of one ``lab.check``: ``[(kind, name, message)]``, displayed as styled HTML
    (mark, colour and word: never colour alone) with a text/plain fallback of the same lines."""

    @property
    def ok(self) -> bool:
        return all(kind == "right" for kind, _, _ in self)

    def text(self) -> str:
        return "\n".join(f"{MARK[kind]} {name}: {message}" for kind, name, message in self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text(), "text/html": self.html()}

    def html(self) -> str:
        rows = []
        for kind, name, message in self:
            rows.append(f"<div class='mlsyslab-check mlsyslab-check-{kind}' role='status'>"
                        f"<span class='mlsyslab-check-mark' aria-hidden='true'>{MARK[kind]}</span> "
                        f"<b>{html.escape(name)}</b>: <span class='mlsyslab-check-word'>{WORD[kind]}</span>"
                        f"<span class='mlsyslab-check-msg'>{html.escape(_rest(kind, message))}</span></div>")
        kinds = {kind for kind, _, _ in self}
        return f"<style>{_css(kinds)}</style>" + "".join(rows)


def _rest(kind: str, message: str) -> str:
    """The message after its leading verdict word (the HTML shows the word in its colour)."""
    for word in ("not right yet", "not answered yet", "right", "close"):
        if message.startswith(word):
            return message[len(word):]
    return " - " + message


def _css(kinds=tuple(COLOR)) -> str:
    out = [".mlsyslab-check{padding:1px 8px;margin:1px 0;border-left:4px solid;"
           "font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,13px)}"]
    for kind, (light, dark) in COLOR.items():
        if kind not in kinds:
            continue
        out.append(f".mlsyslab-check-{kind}{{border-color:{light}}}"
                   f".mlsyslab-check-{kind} .mlsyslab-check-mark,.mlsyslab-check-{kind} .mlsyslab-check-word"
                   f"{{color:{light};font-weight:bold}}"
                   f"[data-jp-theme-light='false'] .mlsyslab-check-{kind}{{border-color:{dark}}}"
                   f"[data-jp-theme-light='false'] .mlsyslab-check-{kind} .mlsyslab-check-mark,"
                   f"[data-jp-theme-light='false'] .mlsyslab-check-{kind} .mlsyslab-check-word{{color:{dark}}}")
    return "".join(out)


CSS = _css()


class NotRightYet(Exception):
    """Raised by a lab's test cell after recording when an item is not right: nbgrader's Validate
    then fails naming the items. IPython shows its one line, not a traceback."""

    def __init__(self, names):
        self.names = list(names)
        super().__init__(f"not right yet: {', '.join(self.names)} (see the lines above); Validate passes once "
                         "every item here is right.")

    def _render_traceback_(self):
        return [f"NotRightYet: {self}"]


# ---------------------------------------------------------------------- numbers
def number_text(x, sig: int = 4) -> str:
    """A number as the widgets write it: ``29,200``, ``104.1``, ``0.0123``, never ``2.92e+04`` in the
    everyday range nor ``-0.0``."""
    if x is None:
        return "-"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0 or abs(x) < 10 ** -(sig + 2):
        return "0"
    if not 1e-4 <= abs(x) < 1e12:
        return f"{x:.{sig - 1}e}"
    digits = sig - 1 - math.floor(math.log10(abs(x)))
    rounded = round(x, digits)
    if rounded == 0:
        return "0"
    if rounded and math.floor(math.log10(abs(rounded))) != math.floor(math.log10(abs(x))):
        digits -= 1
    text = f"{rounded:,.{max(digits, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def pct_text(x: float) -> str:
    """A signed percentage without ``-0 %``: ``+12 %``, ``-3.4 %``, ``0 %``."""
    r = round(float(x), 1)
    if r == 0:
        return "0 %"
    return f"{r:+.0f} %" if abs(r) >= 10 else f"{r:+.1f} %"
