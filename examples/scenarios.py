"""Scenarios and scorecards: is a deployment feasible, does it meet its SLA, what does it cost?

Run: .venv/bin/python examples/scenarios.py   (a few seconds; no network)

The seed's three levels, for three workloads:
1. feasibility - does it fit in memory, and by how much;
2. performance - each SLA limit, predicted vs limit, with its margin;
3. macro - cost, energy and carbon.
"""

import mlsyslab as ml

# 1. A chat service on one H100: Llama-3.1-8B, 4K context, 16 concurrent requests.
chat = ml.Scenario(
    "Llama3_8B", "H100",
    sla=ml.SLA(ttft=2000, itl=50, throughput="500 tokens/s", max_memory_utilization=0.9,
               cost_per_million_tokens=1.50),          # ms, ms, tokens/s, fraction, USD
    seq_len=4096, batch_size=16, grid="Quebec")
card = chat.evaluate()
print(card, "\n")

# The SLA margin is (limit - predicted) / limit; check one by hand from the scorecard's figures.
ttft = card.performance["ttft"]                # a Pint quantity
print(f"TTFT {ttft.to('ms'):~.1f}: margin to the 2 s limit = {(2000 - ttft.to('ms').magnitude) / 2000:+.1%}\n")

# 2. The same model at 70B does not fit on one H100: strict mode raises OOMError with the figures.
big = ml.Scenario("Llama3_70B", "H100", seq_len=4096, batch_size=16)
try:
    big.evaluate(strict=True)
except ml.OOMError as exc:
    print("OOMError:", exc, "\n")

# ... with 4-way tensor parallelism it fits; strict mode now names the SLA limit it misses.
tp4 = ml.Scenario("Llama3_70B", "H100", sla=ml.SLA(ttft="1 s", itl="30 ms"), seq_len=4096, batch_size=16,
                  tensor_parallel=4)
try:
    tp4.evaluate(strict=True)
    print("Llama3_70B on 4 x H100 meets its SLA\n")
except ml.SLAViolation as exc:
    print(f"SLAViolation ({exc.metric}: predicted {exc.predicted:~.1f}, limit {exc.limit:~.1f}):\n  {exc}\n")

# 3. Training on a DGX H100 SuperPOD unit, with a token budget: time, cost and carbon of the run.
train = ml.Scenario("Llama3_70B", "DGX_H100_SU", kind="training", tensor_parallel=8, pipeline_parallel=4,
                    global_batch_size=1024, seq_len=4096, zero_stage=1, recompute=True, tokens=1.5e12,
                    grid="US_Average", sla=ml.SLA(step_time="40 s", time_to_train="90 days"))
print(train.evaluate().text(), "\n")

# 4. A whole study from a config file (one that ships with the package): every field is checked before
#    anything is solved.
cfg = ml.SimulationConfig.from_file(ml.examples.path("serving_sla.yaml"))
for c in cfg.run():
    print(f"{c.name:<20} {'PASS' if c.passed else 'violates ' + ', '.join(v.metric for v in c.violations)}")
