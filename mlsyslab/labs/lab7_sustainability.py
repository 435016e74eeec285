"""Visible graded items of lab 7, sustainability (8 H100s for 24 hours; ``SustainabilitySolver``).

    P_device = TDP x (i + (1 - i) x u)        i = idle fraction (0.1), u = utilization
    E        = n x P_device x hours x PUE     (kWh; PUE 1.58, the industry average)
    CO2      = E x grid intensity             (kg = kWh x g/kWh / 1000)

One variant (``POOL`` has the default only): the lab's figures are fixed.
"""

from __future__ import annotations

from .. import SustainabilitySolver
from ..infra import Grids
from ..grading.rubric import Item, Mistake
from .variants import one_variant

SOLVER = SustainabilitySolver()
JOB = dict(hardware="H100", n_devices=8, duration=24)


def _r(**kw):
    return SOLVER.solve(**{**JOB, **kw})


LAB = "lab7_sustainability"
ITEMS = {
    "ex1_energy": [
        Item("energy_kwh", 2, lambda: _r(utilization=1.0).raw["energy_kWh"], "facility energy at full load (kWh)",
             unit="kWh",
             mistakes=(Mistake("forgot_pue", lambda: _r(utilization=1.0).raw["it_energy_kWh"],
                               "the facility draws PUE x the IT power (cooling, power delivery): x 1.58."),
                       Mistake("wh_not_kwh", lambda: _r(utilization=1.0).raw["energy_kWh"] * 1000,
                               "W x h gives Wh; divide by 1000 for kWh.", credit=0.5))),
        Item("energy_kwh_u50", 2, lambda: _r(utilization=0.5).raw["energy_kWh"], "facility energy at 50 % utilization (kWh)",
             unit="kWh",
             mistakes=(Mistake("linear_power", lambda: _r(utilization=1.0).raw["energy_kWh"] * 0.5,
                               "an idle GPU still draws power: P = TDP x (i + (1 - i) u), not TDP x u."),)),
    ],
    "ex2_grids": [
        Item("carbon_france_kg", 1, lambda: _r(utilization=1.0, grid="France").raw["operational_kg"],
             "operational carbon on the French grid (kg CO2e)", unit="kg",
             mistakes=(Mistake("grams", lambda: _r(utilization=1.0, grid="France").raw["operational_kg"] * 1000,
                               "kWh x g/kWh gives grams; divide by 1000 for kg.", credit=0.5),)),
        Item("carbon_poland_kg", 1, lambda: _r(utilization=1.0, grid="Poland").raw["operational_kg"],
             "operational carbon on the Polish grid (kg CO2e)", unit="kg",
             mistakes=(Mistake("grams", lambda: _r(utilization=1.0, grid="Poland").raw["operational_kg"] * 1000,
                               "kWh x g/kWh gives grams; divide by 1000 for kg.", credit=0.5),)),
        Item("poland_over_france", 1, lambda: Grids.get("Poland").carbon_g_per_kWh / Grids.get("France").carbon_g_per_kWh,
             "carbon ratio Poland / France for the same job", rtol=0.01),
    ],
    "ex3_shift": [
        Item("kg_saved_moving", 2, lambda: _r(utilization=1.0, grid="Poland").raw["operational_kg"]
             - _r(utilization=1.0, grid="Norway").raw["operational_kg"],
             "kg CO2e saved by running the job in Norway instead of Poland", unit="kg"),
    ],
}

# one variant: every student gets the same numbers (the answers are named after them)
POOL, context, cells = one_variant(ITEMS)
