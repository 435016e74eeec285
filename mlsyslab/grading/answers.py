"""Kernel side of grading: capture the student's answers, judge nothing.

A grade cell of a lab calls::

    record(globals(), "kv_bytes_per_token", "max_batch")          # variables, by name
    record_call("kv_fn_70b", globals(), "kv_cache_bytes", m, 8192, 4, 1)   # a function's result

Each call emits one ``display_data`` output of MIME type :data:`ANSWERS_MIME` whose payload is
``{"answers": {item: value}}`` with values made JSON-safe here (numbers, strings, ``None``,
Pint quantities as ``{"value": v, "unit": "..."}``). Nothing here compares or scores: the kernel
is the student's and may be patched; the score is computed by the grading process
(:mod:`mlsyslab.grading.preprocessors`) from this payload alone.
"""

from __future__ import annotations

import json
import math
import numbers

ANSWERS_MIME = "application/vnd.mlsyslab.answers+json"
SCORES_MIME = "application/vnd.mlsyslab.scores+json"


def to_json_value(value):
    """A JSON-safe copy of one answer: float, str, None or ``{"value", "unit"}`` for quantities."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if hasattr(value, "magnitude") and hasattr(value, "units"):  # a Pint quantity
        return {"value": to_json_value(value.magnitude), "unit": str(value.units)}
    if isinstance(value, numbers.Number) or hasattr(value, "item"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return repr(value)[:200]
        return number if math.isfinite(number) else repr(number)
    return repr(value)[:200]


class Recorded(dict):
    """The payload ``{"answers": {...}}``; as a cell's last value it displays nothing (the
    capture's own one line, "Recorded for grading: a, b.", is the cell's only output)."""

    def _ipython_display_(self):
        return None


def _emit(answers: dict) -> dict:
    payload = Recorded(answers={k: to_json_value(v) for k, v in answers.items()})
    missing = [k for k, v in payload["answers"].items() if v is None]
    shown = f"Recorded for grading: {', '.join(payload['answers'])}."
    if missing:
        shown += f" Not answered yet: {', '.join(missing)}."
    try:
        from IPython.display import display
    except ImportError:  # plain Python: nothing to display
        return payload
    display({ANSWERS_MIME: json.loads(json.dumps(payload)), "text/plain": shown}, raw=True)
    return payload


def record(namespace: dict, *names: str) -> dict:
    """Capture the variables ``names`` of ``namespace`` (a missing one is recorded as ``None``)."""
    return _emit({name: namespace.get(name) for name in names})


def record_call(item: str, namespace: dict, function: str, *args, **kwargs) -> dict:
    """Capture ``namespace[function](*args, **kwargs)`` as answer ``item`` (``None`` if it fails)."""
    fn = namespace.get(function)
    try:
        value = fn(*args, **kwargs) if callable(fn) else None
    except Exception as exc:  # the student's function raised: record that, do not stop the cell
        value = f"error: {type(exc).__name__}: {exc}"[:200]
    return _emit({item: value})
