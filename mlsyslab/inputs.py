"""Argument checking at the package boundary.

Every public solver calls these before any physics, so bad input fails early with a
:class:`~mlsyslab.errors.ValidationError` that names the field, the value given and
what is allowed. Functions accept plain numbers, numpy arrays or Pint quantities.
"""

from __future__ import annotations

import difflib
import math
import numbers

import numpy as np

from .errors import ValidationError
from .units import magnitude


def did_you_mean(name: str, choices, n: int = 3) -> str:
    """Return a ``" Did you mean 'x' or 'y'?"`` suffix (empty when nothing is close)."""
    close = difflib.get_close_matches(str(name), list(choices), n=n, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def _reject(field, value, allowed, why=""):
    why = f" ({why})" if why else ""
    raise ValidationError(f"{field}={value!r} is not allowed{why}; {field} must be {allowed}.",
                          field=field, value=value, allowed=allowed)


def positive_int(value, field: str, unit: str | None = None, *, maximum: float | None = None) -> int:
    """A strictly positive integer (``bool`` excluded); quantities in ``unit`` accepted."""
    raw = value
    if unit is not None:
        value = magnitude(value, unit, field=field)
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        _reject(field, raw, "a positive integer", f"got {type(raw).__name__}")
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or value != int(value):
            _reject(field, raw, "a positive integer", "not a whole number")
    value = int(value)
    if value <= 0:
        _reject(field, raw, "a positive integer (>= 1)")
    if maximum is not None and value > maximum:
        _reject(field, raw, f"an integer between 1 and {maximum:.0f}")
    return value


def positive_int_array(value, field: str, unit: str | None = None, *, maximum: float | None = None) -> np.ndarray:
    """Like :func:`positive_int` for an array-like (used by the vectorised sweeps)."""
    raw = value
    if unit is not None:
        value = magnitude(value, unit, field=field)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        _reject(field, raw, "an array of positive integers", "not numeric")
    if arr.dtype.kind not in "iuf":  # bool, str, None/object, complex: not a count
        _reject(field, raw, "an array of positive integers", f"got {arr.dtype} values")
    arr = arr.astype(float)
    if arr.size == 0:
        _reject(field, raw, "a non-empty array of positive integers")
    bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (arr <= 0)
    if maximum is not None:
        bad |= arr > maximum
    if bad.any():
        first = arr[bad].flat[0].item()
        _reject(field, first, "an array of positive integers" + (f" <= {maximum:.0f}" if maximum else ""),
                "first offending element")
    return arr


def positive_float(value, field: str, unit: str | None = None, *, allow_zero: bool = False) -> float:
    """A finite float > 0 (or >= 0 with ``allow_zero``); quantities in ``unit`` accepted."""
    raw = value
    if unit is not None:
        value = magnitude(value, unit, field=field)
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        _reject(field, raw, "a positive number" + (f" (or a quantity in {unit})" if unit else ""),
                f"got {type(raw).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        _reject(field, raw, "a finite number " + (">= 0" if allow_zero else "> 0"))
    return value


def fraction(value, field: str) -> float:
    """A finite float in [0, 1]."""
    raw = value
    value = positive_float(value, field, allow_zero=True)
    if value > 1:
        _reject(field, raw, "a fraction between 0 and 1")
    return value


def choice(value, field: str, allowed) -> str:
    """One of ``allowed`` (case-insensitive); suggests the closest on a miss."""
    allowed = list(allowed)
    if isinstance(value, str):
        low = value.strip().lower()
        for a in allowed:
            if a.lower() == low:
                return a
    hint = did_you_mean(str(value).lower(), allowed) if isinstance(value, str) else ""
    raise ValidationError(
        f"{field}={value!r} is not allowed; {field} must be one of {', '.join(map(repr, allowed))}.{hint}",
        field=field, value=value, allowed=", ".join(allowed))
