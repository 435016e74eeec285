"""Typed specs for the infrastructure zoo: grids, facility efficiency, racks, datacenters, prices.

Figures are plain floats in the units named in each field; the quantity properties convert.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..units import quantity
from ..zoo.specs import Source, _Sourced


@dataclass(frozen=True, eq=False)
class GridProfile(_Sourced):
    """An electricity grid's average carbon intensity.

    Parameters
    ----------
    carbon_g_per_kWh : float
        Grams CO2e per kWh delivered (annual average for ``year``).
    scope : str
        ``"lifecycle"`` (includes construction, fuel supply, methane) or ``"direct"`` (combustion
        at the plant only) - sources differ and the notes say which.
    water_L_per_kWh : float | None
        Off-site water consumed generating one kWh (power-plant cooling, hydro evaporation),
        where a source gives it.
    """

    key: str
    name: str
    carbon_g_per_kWh: float
    year: int
    source: Source
    scope: str = "lifecycle"
    water_L_per_kWh: float | None = None
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    @property
    def carbon_intensity(self):
        return quantity(self.carbon_g_per_kWh, "gCO2e/kWh")

    @property
    def water_intensity(self):
        return None if self.water_L_per_kWh is None else quantity(self.water_L_per_kWh, "L/kWh")

    def __repr__(self) -> str:
        return f"<Grid {self.key}: {self.carbon_g_per_kWh:g} gCO2e/kWh ({self.scope}, {self.year})>"


@dataclass(frozen=True, eq=False)
class PUEProfile(_Sourced):
    """Power usage effectiveness: facility energy / IT energy (>= 1)."""

    key: str
    name: str
    pue: float
    year: int
    source: Source
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    def __float__(self) -> float:
        return float(self.pue)

    def __repr__(self) -> str:
        return f"<PUE {self.key}: {self.pue:g} ({self.year})>"


@dataclass(frozen=True, eq=False)
class WUEProfile(_Sourced):
    """Water usage effectiveness: litres of on-site water per kWh of IT energy."""

    key: str
    name: str
    wue_L_per_kWh: float
    year: int
    source: Source
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    @property
    def wue(self):
        return quantity(self.wue_L_per_kWh, "L/kWh")

    def __float__(self) -> float:
        return float(self.wue_L_per_kWh)

    def __repr__(self) -> str:
        return f"<WUE {self.key}: {self.wue_L_per_kWh:g} L/kWh ({self.year})>"


@dataclass(frozen=True, eq=False)
class RackSpec(_Sourced):
    """A rack power budget (kW of IT load one rack is built to deliver and cool)."""

    key: str
    name: str
    power_kw: float
    source: Source
    cooling: str = "air"
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    @property
    def power(self):
        return quantity(self.power_kw, "kW")

    def __repr__(self) -> str:
        return f"<Rack {self.key}: {self.power_kw:g} kW ({self.cooling})>"


@dataclass(frozen=True, eq=False)
class DatacenterSpec(_Sourced):
    """A site: the grid it draws from, its PUE and WUE, and its rack budget."""

    key: str
    name: str
    grid: GridProfile
    pue: PUEProfile
    wue: WUEProfile
    rack: RackSpec
    source: Source
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    def __repr__(self) -> str:
        return (f"<Datacenter {self.key}: grid {self.grid.key} ({self.grid.carbon_g_per_kWh:g} g/kWh), "
                f"PUE {self.pue.pue:g}, WUE {self.wue.wue_L_per_kWh:g} L/kWh, racks {self.rack.power_kw:g} kW>")


@dataclass(frozen=True, eq=False)
class EmbodiedCarbon(_Sourced):
    """Manufacturing (embodied) emissions of one device, amortised over ``lifetime_years``."""

    key: str
    name: str
    hardware: str
    kg_co2e: float
    lifetime_years: float
    source: Source
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    def __repr__(self) -> str:
        return f"<Embodied {self.key}: {self.kg_co2e:g} kgCO2e over {self.lifetime_years:g} years>"


@dataclass(frozen=True, eq=False)
class GPUPrice(_Sourced):
    """An on-demand list price: ``instance_price_per_hour`` for ``gpus`` GPUs of ``hardware``."""

    key: str
    name: str
    hardware: str
    provider: str
    instance: str
    gpus: int
    instance_price_per_hour: float
    date: str
    source: Source
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    @property
    def per_gpu_hour_usd(self) -> float:
        return self.instance_price_per_hour / self.gpus

    @property
    def per_gpu_hour(self):
        return quantity(self.per_gpu_hour_usd, "USD/hour")

    def __repr__(self) -> str:
        return (f"<Price {self.key}: {self.provider} {self.instance} ${self.instance_price_per_hour:g}/h for "
                f"{self.gpus} x {self.hardware} = ${self.per_gpu_hour_usd:.3g}/GPU-h ({self.date})>")
