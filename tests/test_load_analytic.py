"""The fast analytic path agrees with the simulator within the tolerance docs/solvers/load.md states.

Stated range: Poisson arrivals at 10-90 % of the analytic capacity, fixed lengths, the
configurations below (TP 1-4, fp16/fp8) on every engine profile (mixed steps for vLLM V1 and
TensorRT-LLM, prefill-only steps for vLLM V0 and SGLang; their admission rules). Stated
tolerance of the analytic figure against the simulator's (|analytic / simulated - 1|) at 10-80 %:
throughput 5 %, TTFT p50 and mean 30 % (the fast path runs low with mixed steps at 80 %), ITL p50 25 % (its median moves from the plain step to the one
that carries prompts as their share passes one half), E2E p50 and mean 10 %, mean batch 15 %; near
saturation (90 %): throughput 5 %, mean time per output token 15 %, E2E p50 and mean 15 %, TTFT p50 40 %,
mean batch 30 % (the ITL median is not asserted there: about half the intervals carry prompts,
so it sits on the jump between the two modes; nor the TTFT mean, which the rare long seat waits
set: Erlang C's mean against the simulated run's, up to 56 % apart);
capacity 11 % of the simulated saturation throughput. The p99 figures are rough (tens of %) and
not asserted. A subset of the benchmark's grid (benchmarks/bench_load.py prints the whole) keeps
this test short.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlsyslab import LoadSolver, ValidationError

TOL = {"throughput": 0.05, "ttft_p50": 0.30, "ttft_mean": 0.30, "itl_p50": 0.25, "e2e_p50": 0.10, "e2e_mean": 0.10,
       "mean_batch": 0.15}
TOL_90 = {"throughput": 0.05, "ttft_p50": 0.40, "tpot": 0.15, "e2e_p50": 0.15, "e2e_mean": 0.15, "mean_batch": 0.30}
SIM_KEY = {"tpot": "tpot_mean"}
CONFIGS = [
    dict(model="Llama3_8B", hardware="L40S", input_tokens=2000, output_tokens=400),
    dict(model="Llama3_70B", hardware="H100", input_tokens=1024, output_tokens=256, tensor_parallel=4, precision="fp8"),
    dict(model="Llama3_8B", hardware="H100", input_tokens=1024, output_tokens=128),
]
ENGINES = ["vllm", "vllm-v0", "sglang", "trtllm"]


@pytest.fixture(scope="module")
def solver():
    return LoadSolver()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c['model']}-{c['hardware']}")
def test_analytic_agrees_with_simulator(solver, cfg, engine):
    cfg = dict(cfg, engine=engine)
    rhos = np.array([0.1, 0.5, 0.8, 0.9])
    cap = solver.analytic(arrival_rate=1.0, **cfg)["capacity"]
    fast = solver.analytic(arrival_rate=rhos * cap, **cfg)
    for j, rho in enumerate(rhos):
        sim = solver.solve(arrival_rate=rho * cap, n_requests=3000, seed=5, **cfg)
        for key, tol in (TOL if rho < 0.85 else TOL_90).items():
            k = SIM_KEY.get(key, key)
            ref = sim.raw[k] if k in sim.raw else getattr(sim, k)
            assert abs(fast[key][j] / ref - 1) <= tol, (key, rho, fast[key][j], ref)
    saturated = solver.solve(arrival_rate=math.inf, n_requests=3000, **cfg).request_throughput.magnitude
    assert abs(cap / saturated - 1) <= 0.11


def test_analytic_is_vectorised_and_saturates(solver):
    rates = np.linspace(1, 60, 40)
    out = solver.analytic("Llama3_8B", "H100", rates, input_tokens=512, output_tokens=256, sla={"ttft": 200, "itl": 50})
    assert out["throughput"].shape == rates.shape
    cap = out["capacity"]
    tput = out["request_throughput"]
    assert np.all(tput <= np.minimum(rates, cap) * (1 + 1e-12))  # never more than arrives, nor than capacity
    assert np.all(np.diff(out["ttft_p99"][rates < cap]) >= 0)  # tail latency rises with load ...
    assert np.all(np.isinf(out["ttft_p99"][rates >= cap]))  # ... and is unbounded past capacity
    assert np.all(out["goodput"][rates >= cap] == 0)
    assert np.all(out["goodput"] <= tput)


def test_analytic_bad_input(solver):
    with pytest.raises(ValidationError) as info:
        solver.analytic("Llama3_8B", "H100", [1.0, -2.0])
    assert info.value.field == "arrival_rate" and "-2" in str(info.value)
    with pytest.raises(ValidationError) as info:
        solver.analytic("Llama3_8B", "H100", 1.0, sla={"itl": "3 tokens"})
    assert info.value.field == "sla.itl"


# ---------------------------------------------------------------------------- finite runs (n_requests)
# The grid of docs/solvers/load.md ("Agreement with the simulator"): every engine profile, four
# deployments, Poisson loads from 10 % to 150 % (1.0 counts as past) of the fast path's capacity, runs of 2000 requests
# in both. Tolerance: the pooled median |analytic / simulated - 1| per metric must meet the error
# targets issue 21 sets for the simulator against published data (throughput 15 %, TTFT 25 %,
# ITL/TPOT/E2E 15 %): a fast path that stands in for the simulator should not add more error than
# the simulator is allowed (TTFT and E2E: the medians and the means). Per point: throughput within 12 %
# (the run's fill and drain), every other figure within 2x, except the disagreements docs/solvers/load.md
# lists (EXEMPT) and the mean TTFT at and past capacity (within 4x, below).
GRID = {
    "8B-H100": dict(model="Llama3_8B", hardware="H100", input_tokens=1024, output_tokens=256),
    "70B-4xH100": dict(model="Llama3_70B", hardware="H100", tensor_parallel=4, input_tokens=1024, output_tokens=256),
    "70B-4xH200": dict(model="Llama3_70B", hardware="H200", tensor_parallel=4, precision="fp8", input_tokens=467,
                       output_tokens=256),
    "405B-8xH100": dict(model="Llama3_405B", hardware="H100", tensor_parallel=8, precision="fp8", input_tokens=215,
                        output_tokens=122),
}
LOADS = [0.1, 0.5, 0.8, 0.9, 1.0, 1.1, 1.5]
N_RUN = 2000
TARGET = {"throughput": 0.15, "ttft_p50": 0.25, "ttft_mean": 0.25, "itl_p50": 0.15, "tpot": 0.15, "e2e_p50": 0.15,
          "e2e_mean": 0.15}
# (engine, deployment, metric): SGLang with the 70B on 4x H200 at 1.0-1.1x capacity: about half the
# intervals follow a prefill episode and the fast path's median sits on that interval (2.3-2.5x); vLLM V1
# with 1024 seats past capacity: the seats fill halfway through the run, the simulated median request
# waits 0.8-2 s, the fluid queue's about a third of that (docs/solvers/load.md); within 8x. (vLLM V0 with
# the 70B on 4x H200 at 1.1x went this round: its median TTFT 2.2x -> 1.9x the simulated one, once the
# decode step carries vLLM V0's host time per sequence and the median interval is taken at the batch of
# the mean interval.)
EXEMPT = {("sglang", "70B-4xH200", "itl_p50"), ("vllm", "70B-4xH200", "ttft_p50"), ("vllm", "405B-8xH100", "ttft_p50")}


@pytest.fixture(scope="module")
def grid():
    rows = []
    for engine in ENGINES:
        s = LoadSolver(engine=engine)
        for name, cfg in GRID.items():
            cap = s.analytic(arrival_rate=1.0, **cfg)["capacity"]
            fast = s.analytic(arrival_rate=np.array(LOADS) * cap, n_requests=N_RUN, **cfg)
            for j, rho in enumerate(LOADS):
                sim = s.solve(arrival_rate=rho * cap, n_requests=N_RUN, seed=1, **cfg)
                for key in TARGET:
                    k = SIM_KEY.get(key, key)
                    rows.append((engine, name, rho, key, float(fast[key][j]) / float(sim.raw[k])))
    return rows


def test_finite_run_agrees_with_simulator_per_point(grid):
    for engine, name, rho, key, ratio in grid:
        assert math.isfinite(ratio), (engine, name, rho, key)
        if key == "throughput":
            assert abs(ratio - 1) <= 0.12, (engine, name, rho, ratio)
        elif (engine, name, key) in EXEMPT:
            assert 1 / 8 <= ratio <= 8, (engine, name, rho, key, ratio)
        elif key == "ttft_mean" and rho >= 1.0:
            # at and past capacity the mean wait of a finite run carries the random queue's tail (at 1.0x the
            # simulated mean is up to 3x its median), which the fluid queue does not see: within 4x
            assert 1 / 4 <= ratio <= 4, (engine, name, rho, key, ratio)
        else:
            assert 0.5 <= ratio <= 2.0, (engine, name, rho, key, ratio)


@pytest.mark.parametrize("regime", ["below capacity", "past capacity"])
def test_finite_run_agrees_with_simulator_median(grid, regime):
    for key, target in TARGET.items():
        err = [abs(r - 1) for e, n, rho, k, r in grid if k == key and (rho < 1) == (regime == "below capacity")]
        assert len(err) == len(ENGINES) * len(GRID) * sum((x < 1) == (regime == "below capacity") for x in LOADS)
        assert np.median(err) <= target, (regime, key, np.median(err))


def test_finite_run_waits_like_the_fluid_queue():
    """Far past capacity mu (lam = 2 mu, 10 mu), request k waits about k (1/mu - 1/lam) for its seat (the
    fluid queue: arrivals at k / lam, admissions at k / mu); with 16 seats and 1000 requests the seats
    are a small correction, so the median TTFT is (N/2)(1/mu - 1/lam) and the p99 0.99 N (1/mu - 1/lam),
    within the 16 / mu of the seats and the prefill (10 %); the run's throughput is mu (5 %)."""
    s = LoadSolver(engine="vllm-v0")
    kw = dict(input_tokens=256, output_tokens=64, max_num_seqs=16)
    mu = s.analytic("Llama3_8B", "H100", 1.0, **kw)["capacity"]
    n = 1000
    lam = np.array([2.0, 10.0]) * mu
    out = s.analytic("Llama3_8B", "H100", lam, n_requests=n, **kw)
    grow = 1.0 / mu - 1.0 / lam
    assert np.allclose(out["ttft_p50"], 0.5 * n * grow, rtol=0.10)
    assert np.allclose(out["ttft_p99"], 0.99 * n * grow, rtol=0.10)
    # the mean of waits k (1/mu - 1/lam) over k = 0 .. N - 1 is (N - 1) / 2 (1/mu - 1/lam); E2E adds the service
    assert np.allclose(out["ttft_mean"], 0.5 * (n - 1) * grow, rtol=0.10)
    assert np.all(out["e2e_mean"] > out["ttft_mean"] + 63 * out["tpot"] * (1 - 1e-9))
    assert np.allclose(out["request_throughput"], mu, rtol=0.05)
    # goodput: the requests k with k (1/mu - 1/lam) within a 5 s TTFT limit meet it: 5 / (N (1/mu - 1/lam))
    # of them (less the prefill and the seats' head start: 10 %)
    good = s.analytic("Llama3_8B", "H100", lam, n_requests=n, sla={"ttft": "5 s"}, **kw)
    assert np.allclose(good["goodput"] / good["request_throughput"], 5.0 / (n * grow), rtol=0.10)
    # the infinite run stays unbounded past capacity; below it both agree on the latencies
    inf = s.analytic("Llama3_8B", "H100", np.array([0.5 * mu, 2 * mu]), **kw)
    fin = s.analytic("Llama3_8B", "H100", np.array([0.5 * mu, 2 * mu]), n_requests=n, **kw)
    assert math.isinf(inf["ttft_p50"][1]) and math.isfinite(fin["ttft_p50"][1])
    assert fin["ttft_p50"][0] == pytest.approx(inf["ttft_p50"][0], rel=1e-9)
    with pytest.raises(ValidationError) as info:
        s.analytic("Llama3_8B", "H100", 1.0, n_requests=0)
    assert info.value.field == "n_requests"


def test_finite_run_past_a_full_kv_pool_with_a_decaying_reserve():
    """SGLang admits against ``new_token_ratio`` x the running requests' remaining output: 0.7 at the start
    and after every preemption, decaying to 0.098 over 600 decode steps. Past capacity the pool overflows,
    the engine preempts and the ratio starts again, so the running batch stays well below what the
    floor alone admits and arrivals queue. Before the fast path followed the ratio it admitted at the
    floor throughout: at 20 req/s (1.8x capacity) its median TTFT was 0.3 s against the simulator's
    56 s. Now both agree within 2x on the median TTFT and within 10 % on throughput, and the
    fast path's TTFT does not fall as the rate rises."""
    s = LoadSolver(engine="sglang")
    cfg = dict(model="Llama3_70B", hardware="H200", tensor_parallel=4, input_tokens=509, output_tokens=513,
               memory_utilization=0.85)
    rates = np.array([20.0, 32.0, 64.0])
    cap = s.analytic(arrival_rate=1.0, **cfg)["capacity"]
    assert rates.min() > 1.5 * cap
    fast = s.analytic(arrival_rate=rates, n_requests=3200, **cfg)
    for j, rate in enumerate(rates):
        sim = s.solve(arrival_rate=rate, n_requests=3200, seed=0, **cfg)
        assert 0.5 <= fast["ttft_p50"][j] / sim.raw["ttft_p50"] <= 2.0, (rate, fast["ttft_p50"][j], sim.raw["ttft_p50"])
        assert abs(fast["throughput"][j] / sim.raw["throughput"] - 1) <= 0.10, rate
        assert sim.raw["ttft_p50"] > 10.0  # a queue, not the prefill wait alone
    assert np.all(np.diff(fast["ttft_p50"]) > 0)


def test_prefill_episodes_past_capacity_are_the_runs_own(grid):
    """SGLang's seats (thousands) are never the limit of a 2000-request run, so just past capacity its batch
    stays far below the steady state's largest one; the prefill episodes a request waits through are those
    of the run's batch. Priced at the steady state's batch instead, the median TTFT came out 2.2-2.9x the
    simulated one and the median interval up to 5x; now within 15 % and 2x."""
    for name in ("70B-4xH200", "405B-8xH100"):
        for rho in (1.0, 1.1):
            (ttft,) = [r for e, n, x, k, r in grid if (e, n, x, k) == ("sglang", name, rho, "ttft_p50")]
            (itl,) = [r for e, n, x, k, r in grid if (e, n, x, k) == ("sglang", name, rho, "itl_p50")]
            assert abs(ttft - 1) <= 0.15, (name, rho, ttft)
            assert itl <= 2.6, (name, rho, itl)


@pytest.mark.parametrize("engine", ["sglang", "vllm-v0"])
def test_steady_state_near_saturation_matches_a_long_run(engine):
    """The steady state against a run long enough to reach it (20 000 requests). With prefill-only steps a
    prefill episode is a chain of steps: the prompts that came during a decode step, then those that came
    during that prefill, and so on; its later steps hold fewer prompts, so each prompt pays more of a step's
    fixed time than when every prefill held the ``1 + x t_dec`` prompts of the first. Counting them as the
    episode does (SGLang, 70B fp8 on 4x H200, 467 in / 256 out: 1.6 prompts per prefill step, the simulator
    1.6 too) brought the mean time per output token at 90 % of capacity from 0.41x the simulated one to 0.8x;
    TTFT from 0.68x to 0.94x."""
    s = LoadSolver(engine=engine)
    cfg = dict(model="Llama3_70B", hardware="H200", tensor_parallel=4, precision="fp8", input_tokens=467,
               output_tokens=256)
    cap = s.analytic(arrival_rate=1.0, **cfg)["capacity"]
    for rho, tol in ((0.5, 0.05), (0.8, 0.15), (0.9, 0.25)):
        fast = s.analytic(arrival_rate=rho * cap, **cfg)
        sim = s.solve(arrival_rate=rho * cap, n_requests=20000, seed=1, **cfg)
        assert abs(fast["tpot"][0] / sim.raw["tpot_mean"] - 1) <= tol, (rho, fast["tpot"][0], sim.raw["tpot_mean"])
        ttft = (fast["ttft_p50"][0], sim.raw["ttft_p50"])
        assert abs(ttft[0] / ttft[1] - 1) <= 0.15, (rho, ttft)
        assert abs(fast["request_throughput"][0] / sim.request_throughput.magnitude - 1) <= 0.03, rho


def test_multi_step_scheduling_admits_once_per_window():
    """vLLM V0 with ``num_scheduler_steps=10`` and prefill-only steps admits prompts only at a scheduling
    point: one prefill of the prompts that came during the 10 steps, not an episode after every step.
    With that rule the fast path's capacity is within 3 % of the simulated saturation (it was 16 % low:
    21.0 against 25.0 req/s for Llama-3-70B on 4x H100, 224 in / 189 out) and, against a 20 000-request
    run, the mean time per output token within 10 % at 50-90 % of capacity (it was up to 21 % high)."""
    s = LoadSolver(engine="vllm-v0")
    cfg = dict(model="Llama3_70B", hardware="H100", tensor_parallel=4, input_tokens=224, output_tokens=189,
               num_scheduler_steps=10)
    cap = s.analytic(arrival_rate=1.0, **cfg)["capacity"]
    saturated = s.solve(arrival_rate=math.inf, n_requests=3000, **cfg).request_throughput.magnitude
    assert abs(cap / saturated - 1) <= 0.03, (cap, saturated)
    for rho in (0.5, 0.8, 0.9):
        fast = s.analytic(arrival_rate=rho * cap, **cfg)
        sim = s.solve(arrival_rate=rho * cap, n_requests=20000, seed=1, **cfg)
        assert abs(fast["tpot"][0] / sim.raw["tpot_mean"] - 1) <= 0.10, (rho, fast["tpot"][0], sim.raw["tpot_mean"])
        assert abs(fast["itl_p50"][0] / sim.raw["itl_p50"] - 1) <= 0.10, (rho, fast["itl_p50"][0], sim.raw["itl_p50"])


def test_a_run_that_ends_before_its_batch_settles_takes_its_own_steps(grid):
    """Near saturation the steady state's batch takes longer to build than a 2000-request run lasts (the
    simulated SGLang 70B run on 4x H200 at 90 % of capacity averages 481 sequences against the steady
    state's 835); the fast path then prices the run's own mean batch. Its median ITL there went from 3.0x
    the simulated one to 1.7x, and every below-capacity figure of every profile is within 2x."""
    (itl,) = [r for e, n, x, k, r in grid if (e, n, x, k) == ("sglang", "70B-4xH200", 0.9, "itl_p50")]
    assert itl <= 1.8, itl
    below = [(e, n, x, k, r) for e, n, x, k, r in grid if x < 1.0]
    assert below and all(0.5 <= r <= 2.0 for *_, r in below), [b for b in below if not 0.5 <= b[-1] <= 2.0]
