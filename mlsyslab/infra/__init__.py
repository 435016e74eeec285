"""Infrastructure: grids, facility efficiency (PUE, WUE), racks, datacenters, embodied carbon, prices.

``Infra.Grids.Quebec.carbon_intensity``, ``Infra.PUE.Hyperscale.pue``, ``Infra.WUE.Typical``,
``Infra.Racks.GB200_NVL72``, ``Infra.Datacenters.Typical_US``, ``Infra.Prices.AWS_p5_H100``.
``Infra.datacenter(grid, pue, wue)`` composes a site of your own; ``Infra.prices_for("H100")``
lists the prices known for a device. Figures and sources: :mod:`mlsyslab.infra.data` and
:mod:`mlsyslab.infra.prices`.
"""

from __future__ import annotations

from .. import inputs
from ..zoo import Hardware
from ..zoo.registry import Registry
from ..zoo.specs import Source
from . import data as _data
from . import prices as _prices
from .specs import DatacenterSpec, EmbodiedCarbon, GPUPrice, GridProfile, PUEProfile, RackSpec, WUEProfile

Grids = Registry("Infra.Grids", _data.GRIDS)
PUE = Registry("Infra.PUE", _data.PUE)
WUE = Registry("Infra.WUE", _data.WUE)
Racks = Registry("Infra.Racks", _data.RACKS)
Datacenters = Registry("Infra.Datacenters", _data.DATACENTERS)
Embodied = Registry("Infra.Embodied", _data.EMBODIED)
Prices = Registry("Infra.Prices", _prices.PRICES)


def _profile(value, field, cls, registry, lo, hi):
    """An entry of ``registry``, looked up by name, or a user-given number checked against [lo, hi]."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        return registry.get(value, field=field)
    kind = registry._kind.split(".")[-1]
    v = inputs.positive_float(value, field, allow_zero=(lo == 0))
    if not lo <= v <= hi:
        from ..errors import ValidationError

        raise ValidationError(f"{field}={value!r} is not allowed; {field} must be between {lo} and {hi}.",
                              field=field, value=value, allowed=f"a number in [{lo}, {hi}] or a name in Infra.{kind}")
    key = f"{kind} {v:g}"
    return cls(key, key, v, 0, Source("Given by the user", None, None, None))


def pue_profile(value, field: str = "pue") -> PUEProfile:
    """A PUE entry from a name (``"Hyperscale"``), an entry, or a number in [1, 5]."""
    return _profile(value, field, PUEProfile, PUE, 1.0, 5.0)


def wue_profile(value, field: str = "wue") -> WUEProfile:
    """A WUE entry from a name, an entry, or a number of L/kWh in [0, 20]."""
    return _profile(value, field, WUEProfile, WUE, 0.0, 20.0)


class _Infra:
    """Namespace of the infrastructure zoo (``mlsyslab.Infra``)."""

    Grids, PUE, WUE, Racks, Datacenters, Embodied, Prices = Grids, PUE, WUE, Racks, Datacenters, Embodied, Prices

    def datacenter(self, grid, pue="Typical", wue="Typical", rack="Typical", name: str | None = None) -> DatacenterSpec:
        """Compose a site from a grid, a PUE (name or number), a WUE (name or L/kWh) and a rack budget."""
        g = Grids.get(grid, field="grid")
        p, w, r = pue_profile(pue), wue_profile(wue), Racks.get(rack, field="rack")
        key = name or f"{g.key}_PUE{p.pue:g}"
        return DatacenterSpec(key, key, g, p, w, r, Source("Built with Infra.datacenter()", None, None, None))

    def prices_for(self, hardware) -> list[GPUPrice]:
        """All list prices known for a device (cheapest per GPU-hour first)."""
        hw = Hardware.get(hardware, field="hardware")
        return sorted((p for p in Prices if p.hardware == hw.key), key=lambda p: p.per_gpu_hour_usd)

    def __repr__(self) -> str:
        return (f"<Infra: {len(Grids)} grids, {len(PUE)} PUE, {len(WUE)} WUE, {len(Racks)} racks, "
                f"{len(Datacenters)} datacenters, {len(Prices)} prices>")

    def __dir__(self):
        return ["Grids", "PUE", "WUE", "Racks", "Datacenters", "Embodied", "Prices", "datacenter", "prices_for"]


Infra = _Infra()

__all__ = ["Infra", "Grids", "PUE", "WUE", "Racks", "Datacenters", "Embodied", "Prices", "pue_profile", "wue_profile",
           "GridProfile", "PUEProfile", "WUEProfile", "RackSpec", "DatacenterSpec", "EmbodiedCarbon", "GPUPrice"]
