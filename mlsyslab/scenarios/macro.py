"""Adapters from a scenario to the systems, infrastructure, training, sustainability and cost solvers.

Kept apart from :mod:`.scenario` so that the scenario code reads as "solve, then score"; this
module knows the call signatures of :mod:`mlsyslab.systems`, :mod:`mlsyslab.infra` and the
distributed / sustainability / cost solvers.

Macro figures (see :mod:`.scenario` for the serving and training durations ``T``)::

    energy [kWh]   = devices x P_device x utilization x T x PUE / 3.6e6
    carbon [kg]    = energy x grid intensity [gCO2e/kWh] / 1000
    cost   [USD]   = devices x price per device-hour x T / 3600
"""

from __future__ import annotations

import importlib

from ..errors import UnknownNameError, ValidationError
from .scorecard import PASS, SKIPPED, Level, Metric


def _optional(module: str):
    """Import a sibling solver module if it is part of this build (``None`` otherwise)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module or module.startswith(exc.name)):
            return None
        raise


# ---------------------------------------------------------------- systems and infrastructure
def lookup_system(name: str):
    """A node or cluster of ``mlsyslab.Systems`` called ``name`` (``None`` if absent)."""
    mod = _optional("mlsyslab.systems")
    if mod is None:
        return None
    try:
        found = mod.Systems.get(name)
    except UnknownNameError:
        return None
    return found if hasattr(found, "gpu") else None


def system_suggestions(name: str) -> str:
    from ..inputs import did_you_mean
    from ..zoo import Hardware

    names = list(Hardware.names())
    mod = _optional("mlsyslab.systems")
    if mod is not None:
        names += list(mod.Clusters.names()) + list(mod.Nodes.names())
    return did_you_mean(str(name), names)


def _infra():
    mod = _optional("mlsyslab.infra")
    if mod is None:
        raise ValidationError("grid/datacenter need mlsyslab.infra, which is not part of this build.",
                              field="grid", value=None, allowed="no grid")
    return mod.Infra


def resolve_grid(grid):
    """A grid profile by name (``"Quebec"``) or spec; unknown names raise with suggestions."""
    infra = _infra()
    return infra.Grids.get(grid, field="grid") if hasattr(infra, "Grids") else infra.grid(grid)


def resolve_datacenter(dc):
    infra = _infra()
    return infra.Datacenters.get(dc, field="datacenter")


def grid_names() -> list[str]:
    mod = _optional("mlsyslab.infra")
    return [] if mod is None else list(mod.Infra.Grids.names())


# ---------------------------------------------------------------- training
def solve_training(sc) -> dict:
    """Run :class:`DistributedSolver` and return the figures the scorecard needs."""
    mod = _optional("mlsyslab.solvers.distributed")
    if mod is None:
        raise ValidationError("training scenarios need mlsyslab.solvers.distributed, not part of this build.",
                              field="kind", value="training", allowed="serving or inference")
    system = sc.system_spec if sc.system_spec is not None else sc.hardware
    r = mod.DistributedSolver().solve(
        sc.model, system, n_gpus=sc.n_gpus, dp=sc.data_parallel, tp=sc.tensor_parallel, pp=sc.pipeline_parallel,
        global_batch_size=sc.global_batch_size, microbatches=sc.microbatches, seq_len=sc.seq_len,
        precision=sc.precision, zero_stage=sc.zero_stage, recompute=sc.recompute)
    raw = r.raw
    parts = []
    for key, label in (("weights", "weights per GPU"), ("gradients", "gradients per GPU"),
                       ("optimizer", "optimizer state per GPU"), ("activations", "activations per GPU")):
        for cand in (f"{key}_bytes", f"memory_{key}", key):
            if cand in raw:
                parts.append(Metric(key, raw[cand] / 1e9, "GB", label))
                break
    extra = []
    for key, label, unit, scale in (("compute_time", "compute time", "s", 1), ("comm_time", "communication time", "s", 1),
                                    ("bubble_fraction", "pipeline bubble", "", 1),
                                    ("scaling_efficiency", "scaling efficiency", "", 1), ("mfu", "MFU", "", 1)):
        if key in raw:
            extra.append(Metric(key, raw[key] * scale, unit, label))
    mem = raw.get("memory_per_gpu", raw.get("memory_per_gpu_bytes"))
    return {"result": r, "step_time_s": raw["step_time"], "memory_per_gpu_B": mem,
            "memory_parts": tuple(parts), "extra_metrics": extra}


# ---------------------------------------------------------------- energy, carbon, cost
def device_power_w(sc) -> float | None:
    return sc.hardware.tdp_w


def macro_level(sc, duration_s, result) -> Level:
    """Energy, carbon and cost of the scenario over ``duration_s`` (see module docstring)."""
    if duration_s is None:
        why = {"inference": "no duration for a single inference",
               "training": "give tokens= (training token budget) for energy, carbon and cost"}.get(sc.kind, "")
        return Level("macro", SKIPPED, why or "no duration")
    per = "per 1M tokens" if sc.kind == "serving" else "for the run"
    metrics, notes = [], []
    sus = _optional("mlsyslab.solvers.sustainability")
    if sus is not None:
        try:
            s = sus.SustainabilitySolver().solve(hardware=sc.hardware, n_devices=sc.devices,
                                                 duration=duration_s / 3600, utilization=sc.utilization,
                                                 grid=sc.grid, pue=sc.pue, datacenter=sc.datacenter)
            metrics.append(Metric("energy", s.raw["energy_kwh"] if "energy_kwh" in s.raw else s.energy.to("kWh").magnitude,
                                  "kWh", f"energy {per}"))
            if sc.grid is not None:
                metrics.append(Metric("carbon", s.carbon.to("kgCO2e").magnitude, "kgCO2e", f"carbon {per}"))
        except ValidationError as exc:
            notes.append(str(exc))
    else:
        notes.append("sustainability solver not available")
    cost = _optional("mlsyslab.solvers.cost")
    if cost is not None:
        try:
            if sc.kind == "serving":
                c = cost.CostSolver().serving_cost(result, price_per_hour=sc.price_per_device_hour)
                metrics.append(Metric("cost_per_million_tokens", c.to("USD").magnitude, "USD", "cost per 1M tokens"))
            else:
                c = cost.CostSolver().training_cost(sc.hardware, n_devices=sc.devices, duration=duration_s / 3600,
                                                    price_per_hour=sc.price_per_device_hour)
                metrics.append(Metric("cost", c.to("USD").magnitude, "USD", "training cost"))
        except ValidationError as exc:
            notes.append(str(exc))
    else:
        notes.append("cost solver not available")
    if not metrics:
        return Level("macro", SKIPPED, "; ".join(notes))
    summary = ", ".join(f"{m.label} {m.text()}" for m in metrics)
    return Level("macro", PASS, summary + (f" ({'; '.join(notes)})" if notes else ""), metrics)


__all__ = ["lookup_system", "system_suggestions", "resolve_grid", "resolve_datacenter", "grid_names",
           "solve_training", "macro_level"]
