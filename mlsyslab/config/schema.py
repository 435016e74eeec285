"""The schema of a simulation config: which keys exist and how each value is checked.

Every check takes ``(value, path)`` and returns the normalised value or raises
:class:`~mlsyslab.errors.ValidationError`; :func:`check_scenario` runs all of them and
collects every error with its field path (``scenarios[1].sla.ttft``) instead of stopping
at the first.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from .. import inputs
from ..errors import ValidationError
from ..inputs import did_you_mean
from ..precision import normalize, normalize_scope
from ..scenarios.scenario import KINDS, resolve_system
from ..scenarios.sla import LIMITS, parse_limit, parse_value
from ..zoo import Models


@dataclass(frozen=True)
class FieldError:
    """One problem in a config: where (``scenarios[0].sla.ttft``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _number(value, path, unit=None):
    """Plain number, a Quantity, or a string such as ``"4096 tokens"`` / ``"15e12"``, in ``unit``."""
    from ..units import magnitude

    raw = value
    if isinstance(value, str):
        value = parse_value(value, path)
    if unit is None:
        return value
    try:
        return magnitude(value, unit, field=path)
    except ValidationError as exc:
        raise ValidationError(str(exc).replace(repr(value), repr(raw)), field=path, value=raw,
                              allowed=exc.allowed) from None


def _int(unit=None, maximum=10_000_000):
    def check(value, path):
        return inputs.positive_int(_number(value, path, unit), path, maximum=maximum)
    return check


def _float(unit=None, lo=None, hi=None):
    def check(value, path):
        v = inputs.positive_float(_number(value, path, unit), path)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ValidationError(f"{path}={value!r} is out of range; it must be between {lo} and {hi}.",
                                  field=path, value=value, allowed=f"[{lo}, {hi}]")
        return v
    return check


def _fraction(value, path):
    return inputs.fraction(_number(value, path, ""), path)


def _str(value, path):
    if not isinstance(value, (str, numbers.Number)) or isinstance(value, bool):
        raise ValidationError(f"{path}={value!r} must be a string.", field=path, value=value, allowed="a string")
    return str(value)


def _bool(value, path):
    if not isinstance(value, bool):
        raise ValidationError(f"{path}={value!r} must be true or false.", field=path, value=value, allowed="true/false")
    return value


def _kind(value, path):
    return inputs.choice(value, path, KINDS)


def _model(value, path):
    return Models.get(value, field=path).key


def _system(value, path):
    hw, spec, _ = resolve_system(value, field=path)
    return (spec or hw).key


def _precision(value, path):
    return normalize(value, path)


def _quantized(value, path):
    return normalize_scope(value, path)


def _efficiency(value, path):
    return inputs.choice(value, path, ("calibrated", "ideal"))


def _zero(value, path):
    if isinstance(value, bool) or value not in (0, 1, 2, 3):
        raise ValidationError(f"{path}={value!r} is not a ZeRO stage; use 0, 1, 2 or 3.", field=path, value=value,
                              allowed="0, 1, 2 or 3")
    return int(value)


def _grid(value, path):
    from ..scenarios.macro import resolve_grid

    return resolve_grid(value).key


def _datacenter(value, path):
    from ..scenarios.macro import resolve_datacenter

    return resolve_datacenter(value).key


def check_sla(value, path: str, errors: list) -> dict | None:
    """Check an ``sla`` mapping key by key (unknown limits, units, ranges); append FieldErrors."""
    if not isinstance(value, dict):
        errors.append(FieldError(path, f"must be a mapping of limits ({', '.join(LIMITS)}); got {value!r}."))
        return None
    out, ok = {}, True
    for k, v in value.items():
        p = f"{path}.{k}"
        if k not in LIMITS:
            errors.append(FieldError(p, f"unknown SLA limit {k!r}.{did_you_mean(str(k), LIMITS)} "
                                        f"Limits: {', '.join(LIMITS)}."))
            ok = False
            continue
        try:
            parse_limit(v, k, field=k)
            out[k] = v
        except ValidationError as exc:
            errors.append(FieldError(p, str(exc)))
            ok = False
    return out if ok else None


#: scenario key -> (check, Scenario keyword). Aliases map to the same keyword.
SCENARIO_FIELDS = {
    "name": (_str, "name"),
    "kind": (_kind, "kind"),
    "model": (_model, "workload"),
    "workload": (_model, "workload"),
    "hardware": (_system, "system"),
    "system": (_system, "system"),
    "node": (_system, "system"),
    "cluster": (_system, "system"),
    "seq_len": (_int("token"), "seq_len"),
    "batch_size": (_int(), "batch_size"),
    "precision": (_precision, "precision"),
    "kv_precision": (_precision, "kv_precision"),
    "quantized": (_quantized, "quantized"),
    "tensor_parallel": (_int(maximum=4096), "tensor_parallel"),
    "pipeline_parallel": (_int(maximum=4096), "pipeline_parallel"),
    "data_parallel": (_int(), "data_parallel"),
    "n_gpus": (_int(), "n_gpus"),
    "global_batch_size": (_int(maximum=1e9), "global_batch_size"),
    "microbatches": (_int(), "microbatches"),
    "zero_stage": (_zero, "zero_stage"),
    "recompute": (_bool, "recompute"),
    "tokens": (_float("token"), "tokens"),
    "efficiency": (_efficiency, "efficiency"),
    "grid": (_grid, "grid"),
    "pue": (_float("", 1.0, 5.0), "pue"),
    "datacenter": (_datacenter, "datacenter"),
    "utilization": (_fraction, "utilization"),
    "price_per_device_hour": (_float("USD/hour"), "price_per_device_hour"),
}
SWEEPABLE = tuple(k for k in SCENARIO_FIELDS if k not in ("name", "model", "workload"))
TOP_LEVEL = ("name", "description", "version", "defaults", "scenarios")
EXCLUSIVE = (("model", "workload"), ("hardware", "system", "node", "cluster"))


def check_fields(d: dict, path: str, errors: list, *, allow_sweep: bool = True) -> dict:
    """Check every key of one scenario mapping; append FieldErrors; return ``{keyword: value}``."""
    out = {}
    if not isinstance(d, dict):
        errors.append(FieldError(path, f"must be a mapping of scenario fields; got {type(d).__name__} {d!r}."))
        return out
    for key, value in d.items():
        p = f"{path}.{key}"
        if key == "sweep" and allow_sweep:
            out["sweep"] = check_sweep(value, p, errors)
            continue
        if key == "sla":
            sla = check_sla(value, p, errors)
            if sla is not None:
                out["sla"] = sla
            continue
        if key not in SCENARIO_FIELDS:
            known = list(SCENARIO_FIELDS) + ["sla"] + (["sweep"] if allow_sweep else [])
            errors.append(FieldError(p, f"unknown key {key!r}.{did_you_mean(str(key), known)} "
                                        f"Known keys: {', '.join(known)}."))
            continue
        check, keyword = SCENARIO_FIELDS[key]
        if value is None:
            errors.append(FieldError(p, f"{key} is empty; give a value or remove the key."))
            continue
        try:
            out[keyword] = check(value, key)
        except ValidationError as exc:
            errors.append(FieldError(p, str(exc)))
    for group in EXCLUSIVE:
        present = [k for k in group if k in d]
        if len(present) > 1:
            errors.append(FieldError(f"{path}.{present[1]}", f"give only one of {', '.join(present)}."))
    return out


def check_sweep(value, path: str, errors: list) -> dict:
    """``sweep: {grid: [Quebec, Poland], batch_size: [1, 8]}`` -> checked lists (cartesian product)."""
    if not isinstance(value, dict) or not value:
        errors.append(FieldError(path, "sweep must be a non-empty mapping of field -> list of values."))
        return {}
    out = {}
    for key, values in value.items():
        p = f"{path}.{key}"
        if key not in SWEEPABLE:
            errors.append(FieldError(p, f"{key!r} cannot be swept.{did_you_mean(str(key), SWEEPABLE)} "
                                        f"Sweepable: {', '.join(SWEEPABLE)}."))
            continue
        if not isinstance(values, list) or not values:
            errors.append(FieldError(p, f"must be a non-empty list of values; got {values!r}."))
            continue
        check, keyword = SCENARIO_FIELDS[key]
        ok = []
        for i, v in enumerate(values):
            try:
                ok.append(check(v, key))
            except ValidationError as exc:
                errors.append(FieldError(f"{p}[{i}]", str(exc)))
        out[keyword] = ok
    return out


__all__ = ["FieldError", "SCENARIO_FIELDS", "SWEEPABLE", "TOP_LEVEL", "check_fields", "check_sweep"]
