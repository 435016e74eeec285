"""Overlap (async) scheduling: the scheduler forms step n+1 while step n runs on the GPU.

SGLang's overlap scheduler (default since v0.4.0), vLLM's async scheduling (default since PR
#27614) and TensorRT-LLM's PyTorch-backend overlap scheduler ("introduces one extra decoding
step", docs/source/features/overlap-scheduler.md) all run one step ahead of the GPU. A request
that arrives while step n runs missed step n+1, which was formed when step n started: it joins
step n+2. Worked by hand, its TTFT grows by exactly one step, the one formed before it arrived;
a request that finds the GPU idle starts at once, as without overlap.
"""

import dataclasses
import math

import pytest

from mlsyslab import LoadSolver
from mlsyslab.calibration import calibrated
from mlsyslab.errors import ValidationError
from mlsyslab.solvers import load_engines

MODEL, HW = "Llama3_8B", "H100"
# Without overlap a Python scheduler also pays its host time per sequence in every step
# (``load_host_overhead_seq_s``, tests/test_load_fit.py); these tests isolate the extra step, so they
# compare the two settings without it.
NO_HOST = dataclasses.replace(calibrated(), load_host_overhead_seq_s=0.0)


def _ttft(solver, **kw):
    return solver.solve(MODEL, HW, input_tokens=512, **kw).requests["ttft"]


@pytest.mark.parametrize("engine", ["sglang", "vllm", "trtllm"])
def test_a_request_arriving_mid_decode_waits_one_more_decode_step(engine):
    # A (512 in, 400 out) decodes alone; B arrives 100.3 ms later, in the middle of one of A's steps.
    # The step B waits for in addition is one of A's lone decode steps: a batch of 1 at A's context,
    # whose duration is A's inter-token interval when it runs alone (its ITL grows by under 0.1 %
    # over these few steps, 512 -> 530 tokens of context).
    s = LoadSolver(NO_HOST, engine=engine)
    kw = dict(arrival_times=[0.0, 0.1003], output_tokens=[400, 10])
    off = _ttft(s, overlap_scheduling=False, **kw)
    on = _ttft(s, overlap_scheduling=True, **kw)
    lone = s.solve(MODEL, HW, arrival_times=[0.0], input_tokens=512, output_tokens=400)
    step = lone.raw["itl_p50"]
    assert on[0] == off[0]  # A found the GPU idle: no extra step
    assert on[1] - off[1] == pytest.approx(step, rel=2e-3)


def test_an_idle_gpu_starts_a_request_at_once():
    # Requests far apart (each ends long before the next arrives): overlap changes nothing.
    s = LoadSolver(engine="sglang")
    kw = dict(arrival_times=[0.0, 5.0, 10.0], output_tokens=64)
    assert list(_ttft(s, overlap_scheduling=True, **kw)) == list(_ttft(s, overlap_scheduling=False, **kw))


def test_closed_loop_next_request_also_waits_one_step():
    # A client sends its next request when the previous one ends, while the other clients' requests
    # keep the GPU busy: the new request misses the step already formed. Decode steps still run back
    # to back, so throughput moves by well under the extra step's share of a request (1 / 128 tokens).
    s = LoadSolver(engine="sglang")
    kw = dict(concurrency=8, n_requests=200, output_tokens=128, seed=1)
    off = s.solve(MODEL, HW, input_tokens=512, overlap_scheduling=False, **kw)
    on = s.solve(MODEL, HW, input_tokens=512, overlap_scheduling=True, **kw)
    extra = on.raw["ttft_p50"] - off.raw["ttft_p50"]
    assert extra == pytest.approx(off.raw["itl_p50"], rel=0.35)
    assert on.raw["throughput"] == pytest.approx(off.raw["throughput"], rel=0.02)


def test_fast_path_adds_the_busy_share_of_a_decode_step():
    # 70B on 4x H200 at 1 req/s of 509 in / 534 out: about 7 requests decode at any time, the GPU is
    # never idle, so the fast path adds one whole mean interval (its "tpot") to the median TTFT.
    s = LoadSolver(NO_HOST, engine="sglang")
    kw = dict(input_tokens=509, output_tokens=534, tensor_parallel=4)
    off = s.analytic("Llama3_70B", "H200", 1.0, overlap_scheduling=False, **kw)
    on = s.analytic("Llama3_70B", "H200", 1.0, overlap_scheduling=True, **kw)
    extra = float(on["ttft_p50"][0] - off["ttft_p50"][0])
    assert extra == pytest.approx(float(off["tpot"][0]), rel=0.05)
    assert float(on["throughput"][0]) == float(off["throughput"][0])


def test_profiles_say_whether_they_overlap_and_cite_it():
    assert {k: p.overlap for k, p in load_engines.PROFILES.items()} == {
        "vllm": True, "vllm-v0": False, "sglang": True, "trtllm": True}
    for p in load_engines.PROFILES.values():
        assert p.sources.get("overlap"), p.name


def test_result_reports_the_setting_used():
    s = LoadSolver(engine="vllm-v0")
    r = s.solve(MODEL, HW, arrival_times=[0.0], input_tokens=128, output_tokens=8)
    assert r.overlap_scheduling is False
    r = s.solve(MODEL, HW, arrival_times=[0.0], input_tokens=128, output_tokens=8, overlap_scheduling=True)
    assert r.overlap_scheduling is True


@pytest.mark.parametrize("bad", ["yes", 1, 0.5])
def test_bad_overlap_value_names_the_field(bad):
    with pytest.raises(ValidationError, match="overlap_scheduling") as e:
        LoadSolver().solve(MODEL, HW, arrival_times=[0.0], input_tokens=128, output_tokens=8, overlap_scheduling=bad)
    assert "True or False" in str(e.value)
    with pytest.raises(ValidationError, match="overlap_scheduling"):
        LoadSolver().analytic(MODEL, HW, 1.0, overlap_scheduling=bad)


def test_no_value_is_lost_at_saturation():
    # A burst (all at t = 0, far more requests than seats): every request is served, none is
    # left waiting unseen, and the TTFTs are finite.
    r = LoadSolver(engine="sglang").solve(MODEL, HW, arrival_rate=math.inf, n_requests=3000, input_tokens=512,
                                          output_tokens=64)
    assert r.n_requests == 3000
    assert math.isfinite(r.raw["ttft_p99"])


def test_cli_takes_and_reports_the_setting(capsys):
    import json

    from mlsyslab.cli import main

    base = ["load", "--model", MODEL, "--hardware", HW, "--rate", "5", "--requests", "50", "--engine", "sglang"]
    assert main(base + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overlap_scheduling"] is True  # SGLang's default
    assert main(base + ["--no-overlap-scheduling", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overlap_scheduling"] is False
    assert main(base + ["--no-overlap-scheduling"]) == 0
    assert "no overlap scheduling" in capsys.readouterr().out
    assert main(base + ["--analytic", "--overlap-scheduling"]) == 0
