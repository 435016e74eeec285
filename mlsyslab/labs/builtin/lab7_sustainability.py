"""Lab 7: sustainability - energy and carbon of the same job on different grids.

Visible graded items of lab 7, sustainability (8 H100s for 24 hours; ``SustainabilitySolver``).

    P_device = TDP x (i + (1 - i) x u)        i = idle fraction (0.1), u = utilization
    E        = n x P_device x hours x PUE     (kWh; PUE 1.58, the industry average)
    CO2      = E x grid intensity             (kg = kWh x g/kWh / 1000)

One variant (``POOL`` has the default only): the lab's figures are fixed.

This module is the lab's one source: the graded items above, ``NOTEBOOK`` (the instructor
notebook's cells, built by ``mlsyslab course build``) below.
"""

from __future__ import annotations

from ... import SustainabilitySolver
from ...infra import Grids
from ...grading.rubric import Item, Mistake
from ..variants import one_variant
from ..authoring import HOW_TO, IMPORTS, answer, code, md, predict, recorder, reflection, tests

SOLVER = SustainabilitySolver()
JOB = dict(hardware="H100", n_devices=8, duration=24)


def _r(**kw):
    return SOLVER.solve(**{**JOB, **kw})


def _kg(grid, pue=True):
    r = _r(utilization=1.0, grid=grid).raw
    return r["operational_kg"] * (1.0 if pue else r["it_energy_kWh"] / r["energy_kWh"])


def _carbon_mistakes(grid):
    return (Mistake("grams", lambda: _kg(grid) * 1000, "kWh x g/kWh gives grams; divide by 1000 for kg.", credit=0.5),
            Mistake("forgot_pue", lambda: _kg(grid, pue=False),
                    "the grid supplies the facility's energy, PUE x the IT energy (x 1.58), not the GPUs' alone."),
            Mistake("tonnes", lambda: _kg(grid) / 1000, "that is in tonnes; the answer is asked in kg (x 1000).",
                    credit=0.5))


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
                               "an idle GPU still draws power: P = TDP x (i + (1 - i) u), not TDP x u."),
                       Mistake("forgot_pue", lambda: _r(utilization=0.5).raw["it_energy_kWh"],
                               "the facility draws PUE x the IT power (cooling, power delivery): x 1.58."),
                       Mistake("full_load", lambda: _r(utilization=1.0).raw["energy_kWh"],
                               "that is the full-load energy; at 50 % utilization each GPU draws TDP x (i + (1 - i) u)."))),
    ],
    "ex2_grids": [
        Item("carbon_france_kg", 1, lambda: _r(utilization=1.0, grid="France").raw["operational_kg"],
             "operational carbon on the French grid (kg CO2e)", unit="kg",
             mistakes=_carbon_mistakes("France")),
        Item("carbon_poland_kg", 1, lambda: _r(utilization=1.0, grid="Poland").raw["operational_kg"],
             "operational carbon on the Polish grid (kg CO2e)", unit="kg",
             mistakes=_carbon_mistakes("Poland")),
        Item("poland_over_france", 1, lambda: Grids.get("Poland").carbon_g_per_kWh / Grids.get("France").carbon_g_per_kWh,
             "carbon ratio Poland / France for the same job", rtol=0.01,
             mistakes=(Mistake("inverted", lambda: Grids.get("France").carbon_g_per_kWh / Grids.get("Poland").carbon_g_per_kWh,
                               "you inverted it: Poland's carbon over France's, how many times more."),
                       Mistake("how_much_more", lambda: Grids.get("Poland").carbon_g_per_kWh
                               / Grids.get("France").carbon_g_per_kWh - 1,
                               "that is how much more (ratio - 1); the question asks how many times as much."))),
    ],
    "ex3_shift": [
        Item("kg_saved_moving", 2, lambda: _r(utilization=1.0, grid="Poland").raw["operational_kg"]
             - _r(utilization=1.0, grid="Norway").raw["operational_kg"],
             "kg CO2e saved by running the job in Norway instead of Poland", unit="kg",
             mistakes=(Mistake("grams", lambda: (_kg("Poland") - _kg("Norway")) * 1000,
                               "kWh x g/kWh gives grams; divide by 1000 for kg.", credit=0.5),
                       Mistake("forgot_pue", lambda: _kg("Poland", pue=False) - _kg("Norway", pue=False),
                               "both grids supply the facility's energy, PUE x the IT energy (x 1.58)."),
                       Mistake("poland_only", lambda: _kg("Poland"),
                               "Norway's grid is not carbon-free: the saving is Poland's emissions minus Norway's."))),
    ],
}

# one variant: every student gets the same numbers (the answers are named after them)
POOL, context, cells = one_variant(ITEMS)


# ---------------------------------------------------------------- the notebook
TITLE = "Lab 7 - Energy and carbon of one job on different grids"

NOTEBOOK = [
    md("""
    # Lab 7 - Energy and carbon of one job on different grids

    The same fine-tuning job - 8 H100s for 24 hours - draws the same energy wherever it runs,
    but its carbon footprint depends on the electricity grid: from under 1 g/kWh (Quebec's
    hydro) and a few tens (Norway, France: hydro, nuclear) to over 600 g/kWh on coal-heavy grids
    (Poland, India). The model:

    $$P_{device} = TDP \\times (i + (1 - i)\\,u), \\qquad E = n \\times P_{device} \\times t \\times PUE, \\qquad CO_2 = E \\times CI_{grid}$$

    with $i$ = 0.1 (an idle H100 draws about 10 % of its 700 W TDP), $u$ the utilization, and a
    PUE (power usage effectiveness: facility power / IT power) of 1.58, the industry average.
    """ + HOW_TO),
    code(IMPORTS + """
    from mlsyslab.infra import Grids
    from mlsyslab.solvers.sustainability import IDLE_FRACTION
    solver = ml.SustainabilitySolver()
    gpu, n, hours, PUE = ml.Hardware.H100, 8, 24, 1.58
    print(f"{gpu.name}: TDP {gpu.tdp_w} W; idle fraction {IDLE_FRACTION}; PUE {PUE}")
    for g in Grids:
        print(f"{g.key:>11}: {g.carbon_g_per_kWh:6.1f} gCO2e/kWh")
    """),
    md(r"""
    ## Exercise 1 - Energy

    Compute `energy_kwh`, the facility energy of the job at full load ($u = 1$), and
    `energy_kwh_u50` at 50 % utilization, in kWh.
    """),
    predict("cp_energy", "Facility energy of 8 H100s for 24 h at full load", "kWh", 100,
            'solver.solve("H100", n_devices=8, duration=24, utilization=1.0).energy'),
    answer("ans_energy", """
    energy_kwh = None       # kWh
    energy_kwh_u50 = None   # kWh
    ### BEGIN SOLUTION
    def energy(u):
        p_device = gpu.tdp_w * (IDLE_FRACTION + (1 - IDLE_FRACTION) * u)   # W
        return n * p_device * hours * PUE / 1000                           # kWh

    energy_kwh, energy_kwh_u50 = energy(1.0), energy(0.5)
    ### END SOLUTION
    """),
    tests("ex1_energy", 4, recorder("energy_kwh", "energy_kwh_u50")),
    code("""
    if reveal(cp_energy, globals(), "energy_kwh", "energy_kwh_u50"):
        for u in (0.0, 0.25, 0.5, 1.0):
            r = solver.solve("H100", n_devices=8, duration=24, utilization=u)
            print(f"u = {u:4.2f}: {r.raw['device_power_W']:5.0f} W per GPU, {r.raw['energy_kWh']:6.1f} kWh")
    """),
    md(r"""
    ## Exercise 2 - The same job on two grids

    Using `Grids.get("France").carbon_g_per_kWh` and `Grids.get("Poland").carbon_g_per_kWh`,
    compute the operational carbon at full load, `carbon_france_kg` and `carbon_poland_kg` (kg
    CO2e), and their ratio `poland_over_france`.
    """),
    predict("cp_ratio", "How many times more CO2 does the job emit in Poland than in France?", "dimensionless", 3,
            'Grids.get("Poland").carbon_g_per_kWh / Grids.get("France").carbon_g_per_kWh'),
    answer("ans_grids", """
    carbon_france_kg = None     # kg CO2e
    carbon_poland_kg = None     # kg CO2e
    poland_over_france = None   # dimensionless
    ### BEGIN SOLUTION
    carbon_france_kg = energy_kwh * Grids.get("France").carbon_g_per_kWh / 1000
    carbon_poland_kg = energy_kwh * Grids.get("Poland").carbon_g_per_kWh / 1000
    poland_over_france = carbon_poland_kg / carbon_france_kg
    ### END SOLUTION
    """),
    tests("ex2_grids", 3, recorder("carbon_france_kg", "carbon_poland_kg", "poland_over_france")),
    code("""
    if reveal(cp_ratio, globals(), "carbon_france_kg", "carbon_poland_kg", "poland_over_france"):
        job = solver.solve("H100", n_devices=8, duration=24, utilization=1.0)
        for r in solver.compare_grids(job):
            print(f"{r.grid.key:>11}: {r.raw['operational_kg']:7.2f} kg CO2e")
    """),
    md(r"""
    ## Exercise 3 - Moving the job

    Compute `kg_saved_moving`, the operational kg CO2e saved by running the full-load job in
    Norway instead of Poland.
    """),
    predict("cp_move", "kg CO2e saved by moving the job from Poland to Norway", "kg", 50,
            '(solver.solve("H100", n_devices=8, duration=24, grid="Poland").raw["operational_kg"] - '
            'solver.solve("H100", n_devices=8, duration=24, grid="Norway").raw["operational_kg"]) * ml.Q_(1, "kg")'),
    answer("ans_shift", """
    kg_saved_moving = None   # kg CO2e
    ### BEGIN SOLUTION
    kg_saved_moving = energy_kwh * (Grids.get("Poland").carbon_g_per_kWh - Grids.get("Norway").carbon_g_per_kWh) / 1000
    ### END SOLUTION
    """),
    tests("ex3_shift", 2, recorder("kg_saved_moving")),
    code("""
    if reveal(cp_move, globals(), "kg_saved_moving"):
        compare("saved", kg_saved_moving, solver.solve("H100", n_devices=8, duration=24, grid="Poland").raw["operational_kg"]
                - solver.solve("H100", n_devices=8, duration=24, grid="Norway").raw["operational_kg"], "kg")
    """),
    *reflection("reflect_ex3", 1, """
    **Reflect.** Moving the job cut its operational carbon by an order of magnitude without
    saving a single kWh. What does the model leave out that would narrow the gap (name two)?
    """, """
    Embodied carbon of the GPUs and servers (manufacturing, amortised over their lifetime) is the
    same everywhere; grid intensity varies by hour and marginal emissions differ from the average;
    the hosts, network and storage draw power too; and moving data or building capacity in clean
    grids has its own cost.
    """),
]
