"""Output of the CLI: aligned plain-text tables for people, JSON for machines."""

from __future__ import annotations

import json
import math
import sys


def fmt_number(value, digits: int = 4) -> str:
    """Compact human form of a number: 1,234,567 / 12.35 / 0.001234 / 1.2e-07."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        mag = abs(value)
        if mag >= 1e5:
            return f"{value:,.0f}"
        if mag >= 1e-3 or mag == 0:
            return f"{value:.{digits}g}"
        return f"{value:.3e}"
    return str(value)


def table(rows: list[list], headers: list[str], align: str | None = None) -> str:
    """Columns padded to their widest cell; ``align`` is one char per column, "l" or "r"."""
    cells = [[fmt_number(c) if not isinstance(c, str) else c for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def pairs(rows: list[tuple]) -> str:
    """A two-column "label  value" listing."""
    width = max(len(k) for k, _ in rows) if rows else 0
    return "\n".join(f"{k:<{width}}  {v if isinstance(v, str) else fmt_number(v)}" for k, v in rows)


def jsonable(obj):
    """Specs become their key, quantities {value, unit}, numpy scalars floats."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "magnitude") and hasattr(obj, "units"):
        return {"value": jsonable(obj.magnitude), "unit": f"{obj.units:~}"}
    if hasattr(obj, "key") and not isinstance(obj, (str, dict)):
        return obj.key
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def emit_json(obj) -> None:
    """``obj`` as indented JSON on stdout (a reader that leaves early is handled by ``cli.main``)."""
    json.dump(jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def result_rows(result) -> list[tuple]:
    """``(name [unit], value)`` for every field of a solver :class:`Result`, for a pairs listing."""
    rows = []
    for k in result.keys():
        try:
            v = result[k]
        except Exception:  # a field the solver could not compute for this input
            continue
        if hasattr(v, "magnitude"):
            rows.append((f"{k} [{v.units:~P}]", fmt_number(float(v.magnitude))))
        elif hasattr(v, "key"):
            rows.append((k, v.key))
        else:
            rows.append((k, v if isinstance(v, str) else fmt_number(v)))
    return rows


__all__ = ["table", "pairs", "jsonable", "emit_json", "fmt_number", "result_rows"]
