"""Energy, carbon and water of a job. (Implementation in progress; the API below is stable.)"""

from __future__ import annotations

from .result import Result


class SustainabilityResult(Result):
    """energy (kWh), it_energy, carbon (kgCO2e: operational, embodied, total), water (L)."""


class SustainabilitySolver:
    def solve(self, hardware, n_devices=1, duration=None, utilization=1.0, grid="US_Average", pue=None,
              datacenter=None, wue=None, idle_fraction=None) -> SustainabilityResult:
        raise NotImplementedError

    def compare_grids(self, job, grids=None) -> list:
        raise NotImplementedError


__all__ = ["SustainabilitySolver", "SustainabilityResult"]
