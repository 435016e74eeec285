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


# ---------------------------------------------------------------- the grader's side of the channel
#: what the grader accepts from one captured output (larger: the whole output is refused, 0 for its items)
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_ITEMS = 64
MAX_STR = 200
MAX_UNIT = 40
#: unit strings a quantity answer may carry, when they measure what the item's unit measures (an item
#: adds its own with ``Item(units=(...))``); only these fixed strings are ever parsed, never a student's
UNIT_CANDIDATES = (
    "B", "kB", "MB", "GB", "TB", "PB", "KiB", "MiB", "GiB", "TiB", "bit", "Gbit",
    "s", "ms", "us", "µs", "ns", "min", "h", "day",
    "1/s", "Hz", "token/s", "B/s", "kB/s", "MB/s", "GB/s", "TB/s", "Gbit/s",
    "FLOP", "GFLOP", "TFLOP", "PFLOP", "FLOP/s", "GFLOP/s", "TFLOP/s", "PFLOP/s",
    "W", "kW", "MW", "J", "kJ", "MJ", "Wh", "kWh", "MWh",
    "g", "kg", "t", "percent", "dimensionless",
)


class Invalid(str):
    """A captured answer the grader refused: its one-line reason (scores 0)."""


def _clean(text, limit: int = 40) -> str:
    """A short, printable rendering of untrusted text for a one-line reason."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text)[:limit])


def _json_value(value, depth: int = 0):
    """One captured answer as the grader accepts it: a finite number, a short string, None, or
    ``{"value": number, "unit": short string}``; else :class:`Invalid`."""
    if value is None or (isinstance(value, str) and len(value) <= MAX_STR):
        return value
    if isinstance(value, str):
        return Invalid(f"a string of {len(value)} characters (at most {MAX_STR})")
    if isinstance(value, bool):
        return Invalid(f"{value} is not a number")
    if isinstance(value, int) and abs(value) < 2**63:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else Invalid(f"{value} is not a finite number")
    if isinstance(value, dict) and depth == 0 and set(value) == {"value", "unit"}:
        number, unit = _json_value(value["value"], 1), value["unit"]
        if isinstance(number, Invalid) or isinstance(number, str) or number is None:
            return Invalid("a quantity whose value is not a number")
        if not isinstance(unit, str) or len(unit) > MAX_UNIT:
            return Invalid("a quantity whose unit is not a short string")
        return {"value": number, "unit": unit}
    return Invalid(f"a {type(value).__name__} is not an answer (a number, a short string or a quantity)")


def read_payload(data) -> tuple[dict, str | None]:
    """``({item: value or Invalid}, None)`` from one output's :data:`ANSWERS_MIME` data, or ``({}, reason)``
    when the output as a whole is refused (not JSON, too large, too many items, nested)."""
    if isinstance(data, str):
        if len(data) > MAX_PAYLOAD_BYTES:
            return {}, f"a captured answer output of {len(data)} bytes (at most {MAX_PAYLOAD_BYTES})"
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            return {}, "a captured answer output that is not JSON"
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict) or len(data) > 4:
        return {}, "a captured answer output without its answers"
    answers = data["answers"]
    if len(answers) > MAX_ITEMS:
        return {}, f"a captured answer output with {len(answers)} answers (at most {MAX_ITEMS})"
    size = 0
    out = {}
    for key, value in answers.items():
        if not isinstance(key, str) or len(key) > MAX_STR:
            return {}, "a captured answer output with a malformed name"
        size += len(key) + (len(value) if isinstance(value, str) else 64)
        out[key] = _json_value(value)
    if size > MAX_PAYLOAD_BYTES:
        return {}, f"a captured answer output of about {size} bytes (at most {MAX_PAYLOAD_BYTES})"
    return out, None


_UNIT_TABLES: dict = {}


def allowed_units(unit: str | None, extra: tuple = ()) -> dict:
    """``{unit string: factor to unit}`` for the answers of an item in ``unit``: the candidates of the
    same dimension (both as written here and as Pint writes them), plus ``extra``. Trusted strings only."""
    key = (unit, tuple(extra))
    if key not in _UNIT_TABLES:
        table = {}
        if unit is not None:
            from ..units import get_registry

            ureg = get_registry()
            target = ureg.Unit(unit)
            for candidate in (unit, *extra, *UNIT_CANDIDATES):
                try:
                    u = ureg.Unit(candidate)
                    if u.dimensionality != target.dimensionality:
                        continue
                    factor = float(ureg.Quantity(1.0, u).to(target).magnitude)
                except Exception:  # noqa: BLE001 - a candidate this registry lacks
                    continue
                for spelling in (candidate, str(u), f"{u:~}", f"{u:P}"):
                    table.setdefault(spelling, factor)
        _UNIT_TABLES[key] = table
    return _UNIT_TABLES[key]


def typed_answer(item, value):
    """``value`` (from :func:`read_payload`) as the rubric may judge it for ``item``: None, a float,
    a string (choices), or :class:`Invalid` with the reason. A quantity's unit must be one of
    :func:`allowed_units` of the item, compared as an exact string (never parsed)."""
    if value is None or isinstance(value, Invalid):
        return value
    if isinstance(value, dict):
        table = allowed_units(item.unit, tuple(getattr(item, "units", ()) or ()))
        factor = table.get(value["unit"])
        if item.unit is None:
            return Invalid(f"a quantity in {_clean(value['unit'])!r} where a plain number is asked")
        if factor is None:
            return Invalid(f"the unit {_clean(value['unit'])!r} is not one this answer accepts "
                           f"(e.g. {', '.join(list(table)[:4])})")
        number = value["value"] * factor
        return float(number) if math.isfinite(number) else Invalid("the quantity is not a finite number")
    if isinstance(value, str) and getattr(item, "kind", "number") != "choice":
        return Invalid(f"{_clean(value)!r} is not a number")
    return value
