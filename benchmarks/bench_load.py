"""Speed of the load solver, and how close its fast path is to the simulator.

    python benchmarks/bench_load.py [--quick]

1. Simulator: 10 000 requests (``LoadSolver(engine=...).solve``), median wall time of 3 runs and
   the least CPU time of the process (``time.process_time``: what the solve costs, less moved by
   other jobs on a shared machine), for a few configurations (below capacity, past capacity with
   preemptions, chunked prefill, speculative decoding, random lengths, all queued at large batch,
   long outputs with more seats than the KV pool holds) on each engine profile (``--quick``: the
   default one), and the worst case. Target (issues 14, 21): <= 1 s each.
2. Fast path (``LoadSolver().analytic``): one configuration (one arrival rate), median per
   call; and 1000 arrival rates in one vectorised call. Target: <= 1 ms per configuration.
3. Agreement of the fast path with the simulator (4000 requests) at 10-80 % of capacity over
   the grid of docs/solvers/load.md, per engine profile: median and max |analytic / simulated - 1|.
4. The LoadExplorer widget's update (fast path + plot data), median per update. Target <= 100 ms.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import numpy as np

SIM_CASES = {
    "Llama3_8B H100 512/256, 20 req/s": dict(model="Llama3_8B", hardware="H100", arrival_rate=20.0,
                                              input_tokens=512, output_tokens=256),
    "Llama3_8B L40S 2000/400, 8 req/s (overload, preemptions)": dict(
        model="Llama3_8B", hardware="L40S", arrival_rate=8.0, input_tokens=2000, output_tokens=400),
    "Llama3_8B H100 1024/128 chunked, 20 req/s": dict(model="Llama3_8B", hardware="H100", arrival_rate=20.0,
                                                      input_tokens=1024, output_tokens=128, chunked_prefill=True),
    "Llama3_8B H100 4096/256 chunked, 512-token budget, 3 req/s (worst case)": dict(
        model="Llama3_8B", hardware="H100", arrival_rate=3.0, input_tokens=4096, output_tokens=256,
        chunked_prefill=True, max_batched_tokens=512),
    "Llama3_8B H100 + 1B draft, 15 req/s": dict(model="Llama3_8B", hardware="H100", arrival_rate=15.0,
                                                input_tokens=512, output_tokens=256, draft_model="Llama3_2_1B"),
    "Llama3_70B 4xH100 fp8, random lengths, 5 req/s": dict(
        model="Llama3_70B", hardware="H100", tensor_parallel=4, precision="fp8", arrival_rate=5.0,
        input_tokens=("lognormal", 1000, 0.8), output_tokens=("exponential", 300)),
    "Llama3_8B H100 fp8 128/128, all queued (large batch)": dict(
        model="Llama3_8B", hardware="H100", precision="fp8", arrival_rate=math.inf, input_tokens=128,
        output_tokens=128),
    "Llama3_8B H100 fp8 128/2048, all queued, 2048 seats (was thrash)": dict(
        model="Llama3_8B", hardware="H100", precision="fp8", arrival_rate=math.inf, input_tokens=128,
        output_tokens=2048, max_num_seqs=2048),
}
ENGINES = ("vllm", "vllm-v0", "sglang", "trtllm")

AGREEMENT_GRID = [
    dict(model="Llama3_8B", hardware="H100", input_tokens=512, output_tokens=256),
    dict(model="Llama3_8B", hardware="L40S", input_tokens=2000, output_tokens=400),
    dict(model="Llama3_70B", hardware="H100", input_tokens=1024, output_tokens=256, tensor_parallel=4, precision="fp8"),
    dict(model="Llama3_8B", hardware="A100", input_tokens=128, output_tokens=1024),
    dict(model="Mixtral_8x7B", hardware="H100", input_tokens=512, output_tokens=512, tensor_parallel=2),
    dict(model="Llama3_8B", hardware="H100", input_tokens=1024, output_tokens=128, chunked_prefill=True),
    dict(model="Llama3_8B", hardware="H100", input_tokens=512, output_tokens=256, draft_model="Llama3_2_1B",
         acceptance_rate=0.7),
]
METRICS = ("throughput", "ttft_p50", "ttft_p99", "itl_p50", "itl_p99", "e2e_p50", "mean_batch")


def median_time(fn, repeats):
    return _times(fn, repeats)[0]


def _times(fn, repeats):
    """(median wall time, least CPU time) over ``repeats`` calls after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), min(cpu)


def bench_sim(quick):
    from mlsyslab import LoadSolver

    print("1. simulator, 10 000 requests (target <= 1 s), per engine profile: median wall / least CPU time")
    worst = (0.0, 0.0, "")
    for engine in ENGINES[:1] if quick else ENGINES:
        s = LoadSolver(engine=engine)
        print(f"   engine {engine}")
        for name, kw in SIM_CASES.items():
            t, cpu = _times(lambda: s.solve(n_requests=10_000, **kw), 1 if quick else 3)
            r = s.solve(n_requests=10_000, **kw)
            print(f"   {name:<66} {t:6.3f} s / {cpu:6.3f} s cpu  ({r.preemptions} preemptions, batch "
                  f"{r.mean_batch:.0f}, {r.throughput.magnitude:,.0f} tok/s)")
            worst = max(worst, (t, cpu, f"{engine}: {name}"))
    print(f"   worst: {worst[0]:.3f} s wall / {worst[1]:.3f} s cpu ({worst[2]}); load average now "
          f"{os.getloadavg()[0]:.2f}")


def bench_fast(quick):
    from mlsyslab import LoadSolver

    s = LoadSolver()
    kw = dict(model="Llama3_8B", hardware="H100", input_tokens=512, output_tokens=256)
    one = median_time(lambda: s.analytic(arrival_rate=10.0, **kw), 20 if quick else 200)
    rates = np.linspace(0.5, 30, 1000)
    many = median_time(lambda: s.analytic(arrival_rate=rates, **kw), 5 if quick else 20)
    print("2. fast path (target <= 1 ms per configuration)")
    print(f"   one arrival rate per call               {one * 1e3:7.3f} ms")
    print(f"   1000 arrival rates in one call          {many * 1e3:7.3f} ms  ({many / 1000 * 1e6:.1f} us per rate)")


def bench_agreement(quick):
    for engine in ENGINES[:1] if quick else ENGINES:
        _agreement(quick, engine)


def _agreement(quick, engine):
    from mlsyslab import LoadSolver

    s = LoadSolver(engine=engine)
    errs = {m: [] for m in METRICS}
    cap_err = []
    grid = AGREEMENT_GRID[:3] if quick else AGREEMENT_GRID
    for cfg in grid:
        cap = s.analytic(arrival_rate=1.0, **cfg)["capacity"]
        sat = s.solve(arrival_rate=math.inf, n_requests=3000, **cfg).request_throughput.magnitude
        cap_err.append(cap / sat - 1)
        rhos = np.array([0.1, 0.3, 0.5, 0.7, 0.8])
        fast = s.analytic(arrival_rate=rhos * cap, **cfg)
        for j, rho in enumerate(rhos):
            r = s.solve(arrival_rate=rho * cap, n_requests=4000, **cfg)
            for m in METRICS:
                ref = r.raw[m] if m in r.raw else getattr(r, m)
                errs[m].append(fast[m][j] / ref - 1)
    print(f"3. fast path vs simulator, engine {engine}, {len(grid)} configurations x 5 loads (10-80 % of capacity)")
    print(f"   {'metric':<12} {'median |err|':>12} {'max |err|':>10}")
    for m in METRICS:
        e = np.abs(errs[m])
        print(f"   {m:<12} {np.median(e) * 100:11.1f} % {e.max() * 100:9.1f} %")
    e = np.abs(cap_err)
    print(f"   {'capacity':<12} {np.median(e) * 100:11.1f} % {e.max() * 100:9.1f} %   (vs simulated saturation)")


def bench_widget(quick):
    try:
        from mlsyslab.widgets.load_explorer import LoadExplorer
    except ImportError as exc:  # widgets extra not installed
        print(f"4. LoadExplorer: skipped ({exc})")
        return
    w = LoadExplorer()
    rates = iter(np.linspace(1.0, 30.0, 1000))
    t = median_time(lambda: setattr(w, "arrival_rate", float(next(rates))), 10 if quick else 50)
    print(f"4. LoadExplorer update (fast path + plot data), median {t * 1e3:.1f} ms (target <= 100 ms)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    bench_sim(args.quick)
    bench_fast(args.quick)
    bench_agreement(args.quick)
    bench_widget(args.quick)


if __name__ == "__main__":
    main()
