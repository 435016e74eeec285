"""Sustainability and cost: the same training job on eight grids, and what tokens cost.

Run: python examples/sustainability.py
"""

import mlsyslab as ml

sus = ml.SustainabilitySolver()

# 1. A hand calculation: 8 H100 at full load for a day in a PUE 1.1 facility.
r = sus.solve("H100", n_devices=8, duration=ml.Q_(24, "hour"), utilization=1.0, pue=1.1, grid="France")
print(f"8 x H100 x 700 W x 24 h x PUE 1.1 = {r.energy.to('kWh').magnitude:.2f} kWh; "
      f"x {r.carbon_intensity:~P} (France) = {r.operational_carbon:.2f~P}")
print(f"Power model: P = TDP x (idle + (1 - idle) x utilization), idle = {r.idle_fraction:.0%} of TDP")

# 2. A training run: Llama-3.1-8B on 1 T tokens on a DGX H100 SuperPOD unit.
train = ml.DistributedSolver().solve("Llama3_8B", "DGX_H100_SU", n_gpus=256, tp=8, microbatches=16, seq_len=8192,
                                     recompute=True)
job = sus.solve(train, tokens=1e12, utilization=0.9, datacenter="Hyperscale_US")
print(f"\nLlama-3.1-8B, 1 T tokens on 256 H100: {job.duration.to('day'):.1f~P}, {job.energy.to('MWh'):.1f~P}, "
      f"PUE {job.pue}, water {job.water.to('m^3'):.0f~P}")
print("Same job, eight grids:")
cmp = sus.compare_grids(job, ["Quebec", "Norway", "France", "California", "US_Average", "Germany", "Poland", "India"])
for rec, res in zip(cmp.to_records(), cmp):
    print(f"  {rec['grid']:<11} {rec['carbon_g_per_kWh']:>6.4g} gCO2e/kWh ({rec['year']}, {res.grid.scope:<9}) "
          f"-> {res.operational_carbon.to('tCO2e'):8.2f~P}")
print(f"  dirtiest / cleanest: x{cmp.ratio:,.0f}")

# 3. Dollars.
cost = ml.CostSolver()
tc = cost.training_cost(train, 1e12)
print(f"\nTraining cost at {tc.price_per_gpu_hour:.2f~P} ({tc.price_source}): {tc.gpu_hours.magnitude:,.0f} GPU-hours "
      f"= ${tc.total_cost.magnitude:,.0f}")
for batch in (1, 16, 64):
    sc = cost.serving_cost("Llama3_8B", "H100", seq_len=2048, batch_size=batch)
    print(f"Serving Llama-3.1-8B on one H100, batch {batch:>2}: {sc.decode_throughput:,.0f~P} -> "
          f"${sc.cost_per_million_tokens.magnitude:.3f} per 1M output tokens")
