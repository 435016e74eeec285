"""The load model's own constants (mlsyslab/calibration/load_fit.py, load_fitted.json).

The fit itself (a grid replayed on every tuning value, minutes) runs with
``python -m mlsyslab.calibration.load_fit --write``; here: its bookkeeping on errors worked out by
hand, that it never sees a held-out publication, that the shipped file is what a fresh replay of
the tuning publications gives with its constants, and the request-overhead mechanism against a
hand calculation.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from mlsyslab import LoadSolver
from mlsyslab.calibration import IDEAL, LOAD_FITTED_PATH, calibrated, load_fit
from mlsyslab.calibration import load_validate as lv

SHIPPED = json.loads(LOAD_FITTED_PATH.read_text())


def test_shipped_constants_are_the_calibrations_and_inside_the_grid():
    cal = calibrated()
    for name, value in SHIPPED["constants"].items():
        assert getattr(cal, name) == value
        assert value in load_fit.GRID[name], name
    # the serving model keeps its own decode overhead: fitted.json holds no load constant
    assert not any(k.startswith("load_") for k in json.loads((LOAD_FITTED_PATH.parent / "fitted.json").read_text()))


def test_fit_sees_only_tuning_publications():
    data = lv.load_data()
    tuning = {p["id"] for p in data["publications"] if p["split"] == "tuning"}
    sweeps = load_fit.tuning_sweeps()
    assert {s["publication"] for s in sweeps} == tuning and all(s["split"] == "tuning" for s in sweeps)
    assert set(SHIPPED["fit"]["publications"]) == tuning
    assert len(sweeps) < len(data["sweeps"])  # the held-out ones are left out


def test_objective_and_leave_one_out_worked_by_hand(monkeypatch):
    # two publications, two candidate overheads; errors chosen so that the pooled winner differs from
    # the one publication A alone would choose
    table = {
        1.0: {("A", "ttft"): [0.10, -0.30], ("A", "itl"): [0.20], ("B", "ttft"): [0.05], ("B", "itl"): [-0.04, 0.06]},
        2.0: {("A", "ttft"): [0.02, 0.04], ("A", "itl"): [0.01], ("B", "ttft"): [0.40], ("B", "itl"): [0.50, -0.30]},
    }
    monkeypatch.setattr(load_fit, "errors", lambda constants, sweeps: table[constants["x"]])
    monkeypatch.setattr(load_fit, "tuning_sweeps", lambda sweeps=None: [{"publication": "A"}, {"publication": "B"}])
    res = load_fit.fit(grid={"x": (1.0, 2.0)})
    # x = 1: ttft |.| {0.10, 0.30, 0.05} median 0.10; itl {0.20, 0.04, 0.06} median 0.06 -> 0.08
    # x = 2: ttft {0.02, 0.04, 0.40} median 0.04; itl {0.01, 0.50, 0.30} median 0.30 -> 0.17
    assert [row["objective"] for row in res["table"]] == pytest.approx([0.08, 0.17])
    assert res["constants"] == {"x": 1.0} and res["per_metric"] == pytest.approx({"ttft": 0.10, "itl": 0.06})
    # without A, B alone chooses x = 1 (B: 0.05 and 0.05 -> 0.05 vs 0.40 and 0.40); A scored there:
    # ttft {0.10, 0.30} median 0.20, itl 0.20 -> 0.20
    assert res["leave_one_out"]["A"]["constants"] == {"x": 1.0}
    assert res["leave_one_out"]["A"]["objective"] == pytest.approx(0.20)
    # without B, A alone chooses x = 2 (ttft 0.03, itl 0.01 -> 0.02); B scored there: ttft 0.40, itl 0.40
    assert res["leave_one_out"]["B"]["constants"] == {"x": 2.0}
    assert res["leave_one_out"]["B"]["objective"] == pytest.approx(0.40)


@pytest.mark.slow
def test_shipped_medians_are_a_fresh_replay_of_the_tuning_publications():
    """load_fitted.json records the winner's median |error| per metric; replaying the tuning sweeps
    with the shipped constants gives the same figures (the file is not stale)."""
    errs = load_fit.errors(SHIPPED["constants"], load_fit.tuning_sweeps())
    for metric, recorded in SHIPPED["fit"]["median_abs_error"].items():
        pooled = [e for (_, m), v in errs.items() if m == metric for e in v]
        assert float(np.median(np.abs(pooled))) == pytest.approx(recorded, abs=6e-5), metric
    assert load_fit.objective(errs) == pytest.approx(SHIPPED["fit"]["objective"], abs=6e-5)


def test_request_overhead_delays_every_first_token_by_hand():
    """A client's request reaches the scheduler d after it is sent: a lone request's TTFT and E2E grow
    by exactly d, its inter-token intervals do not change; a closed loop of one client loses d per
    request; the fast path adds d to its TTFT."""
    d = 0.030
    base = dataclasses.replace(calibrated(), load_request_overhead_s=0.0)  # vLLM: a Python front end pays it
    late = dataclasses.replace(base, load_request_overhead_s=d)
    kw = dict(input_tokens=512, output_tokens=64, n_requests=5)
    r0 = LoadSolver(base).solve("Llama3_8B", "H100", arrival_rate=0.01, seed=3, **kw)
    r1 = LoadSolver(late).solve("Llama3_8B", "H100", arrival_rate=0.01, seed=3, **kw)
    assert r1.requests["ttft"] == pytest.approx(r0.requests["ttft"] + d, abs=1e-9)
    assert r1.requests["e2e"] == pytest.approx(r0.requests["e2e"] + d, abs=1e-9)
    assert r1.itl_p50.to("s").magnitude == pytest.approx(r0.itl_p50.to("s").magnitude, rel=1e-12)
    # one client, 5 requests back to back: the run lasts 5 d longer (each request waits d once)
    c0 = LoadSolver(base).solve("Llama3_8B", "H100", concurrency=1, **kw)
    c1 = LoadSolver(late).solve("Llama3_8B", "H100", concurrency=1, **kw)
    span = lambda r: float(np.max(r.requests["arrival"] + r.requests["e2e"]) - np.min(r.requests["arrival"]))
    assert span(c1) == pytest.approx(span(c0) + 5 * d, rel=1e-9)
    a0 = LoadSolver(base).analytic("Llama3_8B", "H100", 0.5, 512, 64)
    a1 = LoadSolver(late).analytic("Llama3_8B", "H100", 0.5, 512, 64)
    assert float(a1["ttft_p50"][0]) == pytest.approx(float(a0["ttft_p50"][0]) + d, rel=1e-9)
    assert math.isclose(float(a1["tpot"][0]), float(a0["tpot"][0]), rel_tol=1e-12)


def test_kv_read_efficiency_slows_only_the_kv_reads_by_hand():
    """``load_kv_read_efficiency`` e divides the bandwidth of the KV-cache reads only. Llama-3-8B keeps
    2 (K and V) x 32 layers x 8 KV heads x 128 x 2 bytes = 131 072 bytes per token; on an H100 SXM
    (3.35 TB/s, NVIDIA datasheet) at the calibration's eta_memory, one KV token takes
    131072 / (3.35e12 x eta_memory x e) s; the weights' streaming time does not change."""
    from mlsyslab import zoo
    from mlsyslab.solvers.load_physics import step_cost

    base = calibrated()
    m, hw = zoo.Models["Llama3_8B"], zoo.Hardware["H100"]
    assert hw.memory_bandwidth_Bps == pytest.approx(3.35e12, rel=1e-3)
    for e in (1.0, 0.8):
        cal = dataclasses.replace(base, load_kv_read_efficiency=e)
        c = step_cost(m, hw, 2.0, 2.0, 1e15, 1, cal, kernels=True)
        assert c.kv_bytes_per_token == 131072
        assert c.kv_m == pytest.approx(131072 / (3.35e12 * base.eta_memory * e), rel=1e-3)
        assert c.w_m == pytest.approx(m.n_parameters * 2.0 / (3.35e12 * base.eta_memory), rel=1e-3)
    # ServingSolver's single roofline (kernels=False) keeps the plain bandwidth
    c = step_cost(m, hw, 2.0, 2.0, 1e15, 1, dataclasses.replace(base, load_kv_read_efficiency=0.5))
    assert c.kv_m == pytest.approx(131072 / (3.35e12 * base.eta_memory), rel=1e-3)


def test_host_time_per_sequence_by_hand():
    """``load_host_overhead_seq_s`` h: a Python scheduler that does not overlap the GPU (vLLM V0) spends h of
    host time per running sequence in every decode step, in series with the GPU. A burst of 8 requests of
    512 + 65 tokens on vLLM V0 is one prefill-only step of the 8 prompts (4096 tokens, within its 8192-token
    budget) and 64 decode steps of 8 sequences: every request ends 64 x 8 x h later, its first token does
    not move. With 4-step scheduling the host work of scheduling and input preparation is done once per 4
    steps: 64 x 8 x h / 4. Overlap scheduling (vLLM V1, SGLang >= 0.4), TensorRT-LLM's C++ executor and
    the ideal mode pay none."""
    h = 30e-6
    base = dataclasses.replace(calibrated(), load_host_overhead_seq_s=0.0)
    host = dataclasses.replace(base, load_host_overhead_seq_s=h)
    kw = dict(input_tokens=512, output_tokens=65, n_requests=8, arrival_rate=math.inf, seed=0)

    def run(cal, engine, **extra):
        return LoadSolver(cal, engine=engine).solve("Llama3_8B", "H100", **kw, **extra).requests

    r0, r1 = run(base, "vllm-v0"), run(host, "vllm-v0")
    assert r1["ttft"] == pytest.approx(r0["ttft"], abs=1e-12)
    assert r1["e2e"] == pytest.approx(r0["e2e"] + 64 * 8 * h, abs=1e-9)
    m0, m1 = run(base, "vllm-v0", num_scheduler_steps=4), run(host, "vllm-v0", num_scheduler_steps=4)
    assert m1["e2e"] == pytest.approx(m0["e2e"] + 64 * 8 * h / 4, abs=1e-9)
    for engine, extra in (("vllm", {}), ("sglang", {}), ("trtllm", {"overlap_scheduling": False})):
        assert run(host, engine, **extra)["e2e"] == pytest.approx(run(base, engine, **extra)["e2e"], abs=1e-12), engine
    ideal = dataclasses.replace(IDEAL, load_host_overhead_seq_s=h)
    assert run(ideal, "vllm-v0")["e2e"] == pytest.approx(run("ideal", "vllm-v0")["e2e"], abs=1e-12)
    # the fast path prices the same decode step: at 20 req/s (about 13 sequences decoding) the mean interval
    # grows by what the simulated run's grows (within 25 %), and both stay within 10 % of each other
    rate = dict(arrival_rate=20.0, input_tokens=512, output_tokens=65)
    fast = [float(LoadSolver(c, engine="vllm-v0").analytic("Llama3_8B", "H100", **rate)["tpot"][0])
            for c in (base, host)]
    sim = [LoadSolver(c, engine="vllm-v0").solve("Llama3_8B", "H100", n_requests=2000, seed=1, **rate).raw["tpot_mean"]
           for c in (base, host)]
    assert fast[1] == pytest.approx(sim[1], rel=0.10)
    assert sim[1] - sim[0] > 10 * h and fast[1] - fast[0] == pytest.approx(sim[1] - sim[0], rel=0.25)


def test_host_time_is_reported_where_it_is_charged(capsys):
    """The result, its JSON and the CLI header say the host time charged per sequence per step (the shipped
    calibration's for vLLM V0, a quarter of it with 4-step scheduling, none where the scheduler overlaps)."""
    import json

    from mlsyslab.cli import main

    h = calibrated().load_host_overhead_seq_s
    assert h > 0
    kw = dict(arrival_rate=5.0, n_requests=20, input_tokens=256, output_tokens=16)
    v0 = LoadSolver(engine="vllm-v0")
    assert v0.solve("Llama3_8B", "H100", **kw).host_overhead.to("s").magnitude == pytest.approx(h)
    assert v0.solve("Llama3_8B", "H100", num_scheduler_steps=4, **kw).raw["host_overhead"] == pytest.approx(h / 4)
    assert LoadSolver(engine="vllm").solve("Llama3_8B", "H100", **kw).raw["host_overhead"] == 0.0
    base = ["load", "--model", "Llama3_8B", "--hardware", "H100", "--rate", "5", "--requests", "20"]
    assert main(base + ["--engine", "vllm-v0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["host_overhead_us_per_sequence_step"] == pytest.approx(h * 1e6)
    assert main(base + ["--engine", "vllm-v0"]) == 0
    assert f"{h * 1e6:g} us host time per sequence per step" in capsys.readouterr().out.splitlines()[0]
    assert main(base) == 0
    assert "host time" not in capsys.readouterr().out.splitlines()[0]
