"""Adapters from a scenario to the systems, infrastructure, training, sustainability and cost solvers.

Kept apart from :mod:`.scenario` so that the scenario code reads as "solve, then score"; this
module knows the call signatures of :mod:`mlsyslab.systems`, :mod:`mlsyslab.infra` and the
distributed / sustainability / cost solvers.

Macro figures (see :mod:`.scenario` for the serving and training durations ``T``)::

    P_device       = TDP x (idle + (1 - idle) x utilization)      (SustainabilitySolver)
    energy [kWh]   = devices x P_device x T x PUE / 3.6e6
    carbon [kg]    = energy x grid intensity [gCO2e/kWh] / 1000
    cost   [USD]   = devices x price per device-hour x T / 3600   (CostSolver.training_cost for training)

``T`` is the time to make 10^6 tokens (serving) or 10^6 inferences (inference), or the time to
train the token budget (training).
"""

from __future__ import annotations

from ..errors import UnknownNameError, ValidationError
from .scorecard import PASS, SKIPPED, Level, Metric


# ---------------------------------------------------------------- systems and infrastructure
def lookup_system(name: str):
    """A node or cluster of ``mlsyslab.Systems`` called ``name`` (``None`` if there is none)."""
    from ..systems import Nodes, Systems

    try:
        found = Systems.get(name)
    except UnknownNameError:
        return None
    if not hasattr(found, "gpu"):
        raise ValidationError(f"{name!r} is a fabric (a link technology), not a device, node or cluster; use e.g. "
                              f"{', '.join(Nodes.names()[:2])}.", field="system", value=name,
                              allowed="a Hardware device or a Systems node/cluster")
    return found


def system_suggestions(name: str) -> str:
    from ..inputs import did_you_mean
    from ..systems import Clusters, Nodes
    from ..zoo import Hardware

    return did_you_mean(str(name), list(Hardware.names()) + list(Clusters.names()) + list(Nodes.names()))


def resolve_grid(grid):
    """A grid profile by name (``"Quebec"``) or spec; unknown names raise with suggestions."""
    from ..infra import Grids

    return Grids.get(grid, field="grid")


def resolve_datacenter(dc):
    from ..infra import Datacenters

    return Datacenters.get(dc, field="datacenter")


# ---------------------------------------------------------------- training
def _q(result, name, unit):
    """A field of a solver result as a float in ``unit`` (``None`` when the result lacks it)."""
    try:
        v = getattr(result, name)
    except AttributeError:
        return None
    if v is None:
        return None
    return float(v.to(unit).magnitude) if hasattr(v, "to") else float(v)


def solve_training(sc) -> dict:
    """Run :class:`DistributedSolver` and return the figures the scorecard needs."""
    from ..solvers.distributed import DistributedSolver

    system = sc.system_spec if sc.system_spec is not None else sc.hardware
    r = DistributedSolver(efficiency=sc.efficiency).solve(
        sc.model, system, n_gpus=sc.n_gpus, dp=sc.data_parallel, tp=sc.tensor_parallel, pp=sc.pipeline_parallel,
        global_batch_size=sc.global_batch_size, microbatch_size=sc.microbatch_size, microbatches=sc.microbatches,
        seq_len=sc.seq_len, precision=sc.precision, zero_stage=sc.zero_stage, recompute=sc.recompute)
    parts = []
    for key in ("weights", "gradients", "optimizer", "activations"):
        v = _q(r, f"{key}_memory", "GB")
        if v is not None:
            parts.append(Metric(f"{key}_memory", v, "GB", f"{key} per GPU"))
    extra = []
    for key, label, unit in (("compute_time", "compute time", "s"), ("comm_time", "communication time", "s"),
                             ("bubble_fraction", "pipeline bubble", ""), ("mfu", "MFU", ""),
                             ("scaling_efficiency", "scaling efficiency", "")):
        v = _q(r, key, unit)
        if v is not None:
            extra.append(Metric(key, float(v), unit, label))
    return {"result": r, "step_time_s": _q(r, "step_time", "s"), "memory_per_gpu_B": _q(r, "memory_per_gpu", "B"),
            "memory_parts": tuple(parts), "extra_metrics": extra}


# ---------------------------------------------------------------- energy, carbon, cost
def _grid_for(sc):
    if sc.grid is not None:
        return sc.grid, ""
    if sc.datacenter is not None:
        return sc.datacenter.grid, ""
    return "US_Average", " (US average grid: no grid given)"


def macro_level(sc, duration_s, result) -> Level:
    """Energy, carbon and cost of the scenario over ``duration_s`` (see module docstring)."""
    if duration_s is None:
        why = {"training": "give tokens= (training token budget) for energy, carbon and cost"}.get(sc.kind, "")
        return Level("macro", SKIPPED, why or "no duration")
    from ..units import quantity

    per = {"serving": "per 1M tokens", "inference": "per 1M inferences"}.get(sc.kind, "for the run")
    metrics, notes = [], []
    grid, grid_note = _grid_for(sc)
    try:
        from ..solvers.sustainability import SustainabilitySolver

        s = SustainabilitySolver().solve(hardware=sc.hardware, n_devices=sc.devices,
                                         duration=quantity(duration_s, "s"), utilization=sc.utilization,
                                         grid=grid, pue=sc.pue, datacenter=sc.datacenter)
        metrics.append(Metric("energy", _q(s, "energy", "kWh"), "kWh", f"energy {per}"))
        carbon = _q(s, "operational_carbon", "kgCO2e")
        if carbon is None:
            carbon = _q(s, "carbon", "kgCO2e")
        metrics.append(Metric("carbon", carbon, "kgCO2e", f"operational carbon {per}{grid_note}"))
        embodied = _q(s, "embodied_carbon", "kgCO2e")
        if embodied:
            metrics.append(Metric("embodied_carbon", embodied, "kgCO2e", f"embodied carbon (amortised) {per}"))
        water = _q(s, "water", "L")
        if water is not None:
            metrics.append(Metric("water", water, "L", f"water {per}"))
    except ValidationError as exc:
        notes.append(f"energy/carbon: {exc}")
    try:
        from ..solvers.cost import CostSolver

        if sc.kind in ("serving", "inference"):
            price = sc.price_per_device_hour
            if price is None:
                entry = CostSolver().price(sc.hardware)
                price, src = entry.per_gpu_hour_usd, f"{entry.provider} {entry.instance}, {entry.date}"
            else:
                src = "given"
            cost = sc.devices * price * duration_s / 3600.0
            metrics.append(Metric("price_per_device_hour", price, "USD/hour", f"price per device-hour ({src})"))
            name = "cost_per_million_tokens" if sc.kind == "serving" else "cost_per_million_inferences"
            metrics.append(Metric(name, cost, "USD", f"cost {per}"))
        else:
            c = CostSolver().training_cost(result, sc.tokens, price_per_gpu_hour=sc.price_per_device_hour)
            metrics.append(Metric("cost", _q(c, "total_cost", "USD"), "USD", "training cost"))
    except ValidationError as exc:
        notes.append(f"cost: {str(exc).replace('price_per_gpu_hour=', 'price_per_device_hour=')}")
    if not metrics:
        return Level("macro", SKIPPED, "; ".join(notes))
    headline = [m.text() for m in metrics if m.name in ("cost_per_million_tokens", "cost_per_million_inferences", "cost",
                                                        "energy", "carbon")]
    summary = f"{per}: " + ", ".join(headline)
    return Level("macro", PASS, summary + (f" ({'; '.join(notes)})" if notes else ""), metrics)


__all__ = ["lookup_system", "system_suggestions", "resolve_grid", "resolve_datacenter",
           "solve_training", "macro_level"]
