"""Service-level agreements: the limits a scenario's predictions are checked against.

Each limit is a number in its documented default unit, a Pint quantity, or a string that
Pint parses (``"200 ms"``, ``"300 tokens/s"``, ``"$2.50"``). Default units:

======================= ========== ========= =====================================
limit                   unit       kind      meaning
======================= ========== ========= =====================================
ttft                    ms         at most   time to first token (serving)
itl                     ms         at most   inter-token latency (serving)
latency                 ms         at most   one inference (inference)
throughput              token/s    at least  decode tokens/s of the serving group
                        sample/s             (B / ITL), training tokens/s, or
                                             samples/s (inference)
max_memory_utilization  fraction   at most   memory used / capacity, in (0, 1]
cost_per_million_tokens USD        at most   serving cost per 10^6 tokens
step_time               s          at most   one optimizer step (training)
time_to_train           h          at most   the whole token budget (training)
max_cost                USD        at most   training cost
max_carbon              kgCO2e     at most   operational carbon of the training run
======================= ========== ========= =====================================

Margin of a limit (positive = headroom, negative = violated by that fraction)::

    at most:  margin = (limit - predicted) / limit
    at least: margin = (predicted - limit) / limit
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

from ..errors import ValidationError
from ..inputs import did_you_mean
from ..units import get_registry, is_quantity


@dataclass(frozen=True)
class Limit:
    """How one SLA field is read: default unit, direction, and the workloads it applies to."""

    name: str
    unit: str
    direction: str  # "max" (predicted <= limit) or "min" (predicted >= limit)
    kinds: tuple
    label: str


LIMITS = {lim.name: lim for lim in (
    Limit("ttft", "ms", "max", ("serving",), "time to first token"),
    Limit("itl", "ms", "max", ("serving",), "inter-token latency"),
    Limit("latency", "ms", "max", ("inference",), "latency per batch"),
    Limit("throughput", "token/s", "min", ("serving", "inference", "training"), "throughput"),
    Limit("max_memory_utilization", "", "max", ("serving", "inference", "training"), "memory utilization"),
    Limit("cost_per_million_tokens", "USD", "max", ("serving",), "cost per 1M tokens"),
    Limit("step_time", "s", "max", ("training",), "step time"),
    Limit("time_to_train", "h", "max", ("training",), "time to train"),
    Limit("max_cost", "USD", "max", ("training",), "training cost"),
    Limit("max_carbon", "kgCO2e", "max", ("training",), "operational carbon"),
)}

_THROUGHPUT_UNITS = ("token/s", "sample/s", "1/s")


def parse_value(text: str, field: str):
    """``"200 ms"`` -> Quantity; ``"$2.5"`` -> 2.5 USD; ``"0.9"`` -> 0.9 (plain)."""
    s = text.strip()
    m = re.fullmatch(r"\$\s*([-+0-9.eE]+)", s)
    if m:
        s = f"{m.group(1)} USD"
    try:
        return float(s)
    except ValueError:
        pass
    try:
        q = get_registry().Quantity(s)
    except Exception as exc:  # Pint's parser raises many kinds (UndefinedUnitError, ZeroDivisionError, ...)
        raise ValidationError(f"{field}={text!r} is not a number or a quantity Pint understands ({exc}); "
                              f"write e.g. '200 ms' or a plain number.", field=field, value=text,
                              allowed="a number or a quantity string") from None
    if not is_quantity(q):
        return float(q)
    return q


def parse_limit(value, name: str, field: str | None = None):
    """Return ``(magnitude, unit)`` of an SLA limit, checked for dimension and range.

    ``value`` is a number (in the default unit of ``name``), a Quantity or a string.
    Throughput keeps its own unit (``token/s`` or ``sample/s``; ``1/s`` is read as "per
    second" of whatever the workload counts).
    """
    field = field or name
    lim = LIMITS[name]
    raw = value
    if isinstance(value, str):
        value = parse_value(value, field)
    unit = None if name == "throughput" else lim.unit  # throughput: None = the workload's own unit
    if is_quantity(value):
        ureg = get_registry()
        targets = _THROUGHPUT_UNITS if name == "throughput" else (lim.unit,)
        for target in targets:
            if value.dimensionality == ureg.Quantity(1, target).dimensionality:
                unit = None if target == "1/s" else target
                value = value.to(target).magnitude
                break
        else:
            want = " or ".join(str(ureg.Unit(t).dimensionality) if t else "dimensionless" for t in targets)
            example = {"ms": "'200 ms'", "s": "'1.5 s'", "h": "'48 h'", "USD": "'2.5 USD'",
                       "kgCO2e": "'500 kgCO2e'", "": "0.9"}.get(lim.unit, "'300 tokens/s'")
            raise ValidationError(
                f"{field}={raw!r} is in {value.units:~} (dimension {value.dimensionality}); {name} ({lim.label}) needs a quantity of dimension "
                f"{want}, e.g. {example}.", field=field, value=raw, allowed=f"a quantity in {lim.unit or 'fraction'}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{field}={raw!r} is not allowed; {name} must be a number in {lim.unit or 'fraction'} "
                              f"or a quantity.", field=field, value=raw, allowed=f"a number in {lim.unit}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValidationError(f"{field}={raw!r} is not allowed; {name} must be > 0.", field=field, value=raw,
                              allowed="a finite number > 0")
    if name == "max_memory_utilization" and value > 1:
        raise ValidationError(f"{field}={raw!r} is not allowed; {name} is a fraction in (0, 1] (0.9 = 90 %).",
                              field=field, value=raw, allowed="a fraction in (0, 1]")
    return value, unit


class SLA:
    """Limits a :class:`~mlsyslab.scenarios.Scenario` must meet (see module docstring for units).

    Examples
    --------
    >>> SLA(ttft=200, itl=20)                     # milliseconds
    >>> SLA(ttft="0.2 s", throughput="500 tokens/s", max_memory_utilization=0.9)
    """

    def __init__(self, ttft=None, itl=None, latency=None, throughput=None, max_memory_utilization=None,
                 cost_per_million_tokens=None, step_time=None, time_to_train=None, max_cost=None,
                 max_carbon=None):
        given = dict(ttft=ttft, itl=itl, latency=latency, throughput=throughput,
                     max_memory_utilization=max_memory_utilization,
                     cost_per_million_tokens=cost_per_million_tokens, step_time=step_time,
                     time_to_train=time_to_train, max_cost=max_cost, max_carbon=max_carbon)
        self.raw = {}   # name -> value as given
        self.limits = {}  # name -> (magnitude, unit)
        for name, value in given.items():
            if value is not None:
                self.raw[name] = value
                self.limits[name] = parse_limit(value, name)

    @classmethod
    def from_dict(cls, d: dict, path: str = "sla") -> "SLA":
        """Build from a mapping; unknown keys raise with a suggestion."""
        if not isinstance(d, dict):
            raise ValidationError(f"{path}={d!r} must be a mapping of limits ({', '.join(LIMITS)}).",
                                  field=path, value=d, allowed="a mapping")
        for k in d:
            if k not in LIMITS:
                raise ValidationError(f"{path}.{k} is not an SLA limit.{did_you_mean(str(k), LIMITS)} "
                                      f"Limits: {', '.join(LIMITS)}.", field=f"{path}.{k}", value=k,
                                      allowed=", ".join(LIMITS))
        return cls(**d)

    def check_kind(self, kind: str, field: str = "sla") -> None:
        """Reject limits that do not apply to a workload kind (e.g. ``itl`` for training)."""
        for name in self.limits:
            if kind not in LIMITS[name].kinds:
                raise ValidationError(
                    f"{field}.{name} does not apply to a {kind} scenario; it applies to "
                    f"{' and '.join(LIMITS[name].kinds)}.", field=f"{field}.{name}", value=self.raw[name],
                    allowed=", ".join(n for n, lim in LIMITS.items() if kind in lim.kinds))

    def __iter__(self):
        return iter(self.limits.items())

    def __bool__(self) -> bool:
        return bool(self.limits)

    def __repr__(self) -> str:
        parts = [f"{k}={v:g}{' ' + u if u else ''}" for k, (v, u) in self.limits.items()]
        return f"SLA({', '.join(parts)})"


def margin(predicted: float, limit: float, direction: str) -> float:
    """Fractional headroom: (limit - predicted)/limit for "at most", (predicted - limit)/limit for "at least"."""
    return (limit - predicted) / limit if direction == "max" else (predicted - limit) / limit


__all__ = ["SLA", "LIMITS", "Limit", "parse_limit", "parse_value", "margin"]
