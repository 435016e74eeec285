"""Energy, carbon and water of running N accelerators for a while.

Power model (per device; ``u`` = utilization, ``i`` = idle fraction of TDP)::

    P_device = TDP x (i + (1 - i) x u)          u = 1 -> TDP;  u = 0 -> idle draw
    E_IT     = n_devices x P_device x duration   energy of the accelerators (hosts not counted)
    E        = E_IT x PUE                        facility energy (cooling, power delivery)

Then::

    operational carbon = E x grid carbon intensity
    embodied carbon    = n_devices x device embodied kgCO2e x duration / lifetime   (where sourced)
    water              = WUE x E_IT (on site)  +  grid water intensity x E (off site, where sourced)

``idle_fraction`` defaults to :data:`IDLE_FRACTION` = 0.1, an assumption (an idle H100 SXM
draws about 70 W of its 700 W TDP as reported by nvidia-smi); pass your own. Without ``pue``
or ``datacenter`` the industry-average PUE (Infra.PUE.Typical) applies, and without ``grid``
the U.S. average grid.
"""

from __future__ import annotations

from .. import inputs
from ..errors import ValidationError
from ..infra import DatacenterSpec, Datacenters, Embodied, Grids, pue_profile, wue_profile
from ..units import magnitude
from ..zoo import Hardware
from .result import Result

IDLE_FRACTION = 0.1
HOURS_PER_YEAR = 8766.0  # 365.25 days


class SustainabilityResult(Result):
    """What :meth:`SustainabilitySolver.solve` returns. Fields work as attributes and as items."""

    _QUANTITIES = {
        "energy": ("energy_kWh", "kWh"),
        "it_energy": ("it_energy_kWh", "kWh"),
        "device_power": ("device_power_W", "W"),
        "facility_power": ("facility_power_W", "kW", 1e-3),
        "duration": ("duration_h", "hour"),
        "carbon_intensity": ("carbon_g_per_kWh", "gCO2e/kWh"),
        "operational_carbon": ("operational_kg", "kgCO2e"),
        "embodied_carbon": ("embodied_kg", "kgCO2e"),
        "total_carbon": ("total_kg", "kgCO2e"),
        "carbon": ("total_kg", "kgCO2e"),
        "onsite_water": ("onsite_L", "L"),
        "offsite_water": ("offsite_L", "L"),
        "water": ("water_L", "L"),
    }
    _PLAIN = ("hardware", "n_devices", "utilization", "idle_fraction", "pue", "wue", "grid", "datacenter",
              "embodied_sourced", "offsite_water_sourced")

    def __init__(self, raw, kwargs, **plain):
        self.raw = raw
        self._kwargs = kwargs
        for k, v in plain.items():
            setattr(self, k, v)

    def __repr__(self) -> str:
        r = self.raw
        return (f"<SustainabilityResult {self.n_devices} x {self.hardware.key} for {r['duration_h']:.4g} h on "
                f"{self.grid.key} (PUE {self.pue:g}): {r['energy_kWh']:.4g} kWh, {r['operational_kg']:.4g} kgCO2e "
                f"operational + {r['embodied_kg']:.4g} embodied, {r['water_L']:.4g} L water>")


class GridComparison:
    """The same job on several grids: ``results`` in the order given, plus a table."""

    def __init__(self, results):
        self.results = results

    def to_records(self) -> list[dict]:
        return [{"grid": r.grid.key, "carbon_g_per_kWh": r.grid.carbon_g_per_kWh, "year": r.grid.year,
                 "energy_kWh": r.raw["energy_kWh"], "operational_kgCO2e": r.raw["operational_kg"],
                 "total_kgCO2e": r.raw["total_kg"], "water_L": r.raw["water_L"]} for r in self.results]

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.results[key]
        for r in self.results:
            if r.grid.key == key or key in Grids and Grids.get(key) is r.grid:
                return r
        raise KeyError(key)

    def __iter__(self):
        return iter(self.results)

    def __len__(self):
        return len(self.results)

    @property
    def ratio(self) -> float:
        """Highest over lowest operational carbon among the grids compared."""
        c = [r.raw["operational_kg"] for r in self.results]
        return max(c) / min(c) if min(c) > 0 else float("inf")

    def __repr__(self) -> str:
        rows = "\n".join(f"  {d['grid']:<12} {d['carbon_g_per_kWh']:>7.4g} g/kWh  {d['operational_kgCO2e']:>12,.1f} kgCO2e"
                         for d in self.to_records())
        return f"<GridComparison\n{rows}>"


class SustainabilitySolver:
    """Energy (kWh), carbon (kgCO2e) and water (L) of a job (see module docstring for the model)."""

    def solve(self, hardware, n_devices=None, duration=None, utilization=1.0, grid=None, pue=None, datacenter=None,
              wue=None, idle_fraction=None, power=None, tokens=None) -> SustainabilityResult:
        """Footprint of ``n_devices`` accelerators running for ``duration``.

        Parameters
        ----------
        hardware : str, HardwareSpec, NodeSpec, ClusterSpec or DistributedResult
            A node or cluster sets ``n_devices`` to its GPU count. A DistributedResult sets the
            device and ``n_devices``; with ``tokens`` it also sets the duration (time to train).
        n_devices : int, optional
            Devices running (default: 1, or every GPU of a node, cluster or DistributedResult).
        duration : Quantity [time] or number of hours
        utilization : float in [0, 1]
            Average load of the accelerators (1 = at TDP).
        grid : str or GridProfile, optional
            Default: the datacenter's grid, else ``US_Average``.
        pue : number, name (``"Hyperscale"``) or PUEProfile, optional
            Default: the datacenter's, else ``Infra.PUE.Typical``.
        datacenter : str or DatacenterSpec, optional
        wue : number (L/kWh), name or WUEProfile, optional
            Default: the datacenter's, else ``Infra.WUE.Typical``.
        idle_fraction : float in [0, 1], optional
            Idle draw as a fraction of TDP (default :data:`IDLE_FRACTION`).
        power : Quantity [power] or W, optional
            Per-device power at full load, replacing the TDP (needed for devices without one).
        tokens : number, optional
            With a DistributedResult: the training token budget that sets the duration.
        """
        kwargs = dict(hardware=hardware, n_devices=n_devices, duration=duration, utilization=utilization, grid=grid,
                      pue=pue, datacenter=datacenter, wue=wue, idle_fraction=idle_fraction, power=power, tokens=tokens)
        hw, n, duration_h = _resolve_job(hardware, n_devices, duration, tokens)
        u = inputs.fraction(utilization, "utilization")
        idle = IDLE_FRACTION if idle_fraction is None else inputs.fraction(idle_fraction, "idle_fraction")
        dc = datacenter if isinstance(datacenter, DatacenterSpec) or datacenter is None else Datacenters.get(
            datacenter, field="datacenter")
        g = Grids.get(grid, field="grid") if grid is not None else (dc.grid if dc else Grids.get("US_Average"))
        p = pue_profile(pue) if pue is not None else (dc.pue if dc else pue_profile("Typical"))
        w = wue_profile(wue) if wue is not None else (dc.wue if dc else wue_profile("Typical"))
        if power is not None:
            tdp = inputs.positive_float(power, "power", "W")
        elif hw.tdp_w is None:
            raise ValidationError(f"hardware={hw.key!r} has no published TDP; pass power= (per-device W at full load).",
                                  field="power", value=None, allowed="a power in W")
        else:
            tdp = hw.tdp_w
        p_dev = tdp * (idle + (1.0 - idle) * u)
        it_kWh = n * p_dev * duration_h / 1e3
        kWh = it_kWh * p.pue
        op_kg = kWh * g.carbon_g_per_kWh / 1e3
        emb = Embodied.get(hw.key) if hw.key in Embodied else None
        emb_kg = n * emb.kg_co2e * duration_h / (emb.lifetime_years * HOURS_PER_YEAR) if emb else 0.0
        onsite = w.wue_L_per_kWh * it_kWh
        offsite = (g.water_L_per_kWh or 0.0) * kWh
        raw = {"energy_kWh": kWh, "it_energy_kWh": it_kWh, "device_power_W": p_dev,
               "facility_power_W": n * p_dev * p.pue, "duration_h": duration_h, "carbon_g_per_kWh": g.carbon_g_per_kWh,
               "operational_kg": op_kg, "embodied_kg": emb_kg, "total_kg": op_kg + emb_kg, "onsite_L": onsite,
               "offsite_L": offsite, "water_L": onsite + offsite}
        return SustainabilityResult(raw, kwargs, hardware=hw, n_devices=n, utilization=u, idle_fraction=idle,
                                    pue=p.pue, wue=w.wue_L_per_kWh, grid=g, datacenter=dc, embodied_sourced=emb is not None,
                                    offsite_water_sourced=g.water_L_per_kWh is not None)

    def compare_grids(self, job, grids=None) -> GridComparison:
        """The same job (a SustainabilityResult or a dict of :meth:`solve` arguments) on each grid
        (default: every grid in ``Infra.Grids``)."""
        if isinstance(job, SustainabilityResult):
            kwargs = dict(job._kwargs)
        elif isinstance(job, dict):
            kwargs = dict(job)
        else:
            raise ValidationError(f"job={job!r} is not allowed; job must be a SustainabilityResult or a dict of "
                                  "SustainabilitySolver.solve arguments.", field="job", value=job,
                                  allowed="SustainabilityResult or dict")
        if isinstance(grids, str):
            grids = [grids]
        if grids is not None and (not hasattr(grids, "__iter__") or not list(grids)):
            raise ValidationError(f"grids={grids!r} is not allowed; grids must be a non-empty list of grid names "
                                  "(or None for every grid in Infra.Grids).", field="grids", value=grids,
                                  allowed="a non-empty list of Infra.Grids names")
        names = list(Grids) if grids is None else [Grids.get(g, field="grids") for g in grids]
        kwargs.pop("grid", None)
        return GridComparison([self.solve(grid=g, **kwargs) for g in names])


def _resolve_job(hardware, n_devices, duration, tokens):
    from ..systems.specs import ClusterSpec, NodeSpec
    from .distributed import DistributedResult

    if tokens is not None:
        inputs.positive_float(tokens, "tokens", "token")
        if not isinstance(hardware, DistributedResult):
            raise ValidationError(f"tokens={tokens!r} needs a DistributedResult as hardware= (its step rate turns "
                                  "tokens into a duration); with a device, node or cluster pass duration= instead.",
                                  field="tokens", value=tokens, allowed="tokens only with a DistributedResult")
    if isinstance(hardware, DistributedResult):
        hw, n = hardware.gpu, hardware.n_gpus
        if duration is None and tokens is not None:
            duration_h = hardware.time_to_train(tokens).to("hour").magnitude
            return hw, n, duration_h
    elif isinstance(hardware, ClusterSpec):
        hw, n = hardware.gpu, hardware.n_gpus
    elif isinstance(hardware, NodeSpec):
        hw, n = hardware.gpu, hardware.gpus_per_node
    else:
        from ..systems import Systems

        if isinstance(hardware, str) and hardware not in Hardware and (hardware in Systems.Clusters or hardware in Systems.Nodes):
            return _resolve_job(Systems.get(hardware), n_devices, duration, tokens)
        hw, n = Hardware.get(hardware, field="hardware"), 1
    if n_devices is not None:
        n = inputs.positive_int(n_devices, "n_devices", maximum=100_000_000)
    if duration is None:
        raise ValidationError("duration=None is not allowed; pass duration= (a time quantity or hours), or a "
                              "DistributedResult with tokens=.", field="duration", value=None,
                              allowed="a positive time (quantity) or number of hours")
    duration_h = inputs.positive_float(magnitude(duration, "hour", field="duration"), "duration")
    return hw, n, duration_h


__all__ = ["SustainabilitySolver", "SustainabilityResult", "GridComparison", "IDLE_FRACTION"]
