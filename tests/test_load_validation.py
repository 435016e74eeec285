"""The load solver against published serving benchmarks (mlsyslab/calibration/load_measurements.json).

Fast checks: every sweep is well-formed and sourced; the harness's error for one point equals
the error worked out by hand from a direct LoadSolver run; the summary statistics match a
hand-computed set. Slow checks (the whole replay): the issue-21 targets where they are met,
and for the metrics that miss them the bound measured on the current model (docs/validation.md
says by how much the target is missed); the docs page is current.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlsyslab import zoo
from mlsyslab.calibration import load_validate as lv

OLD = {"nim-benchmarking-guide", "rahman-rtx4090-blog"}  # the load validation's sources before issue 21
PROFILES = {"vllm", "vllm-v0", "sglang", "trtllm"}
METRIC_KEYS = {"throughput", "ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"}


def test_every_sweep_is_sourced_and_fully_configured():
    data = lv.load_data()
    pubs = {p["id"]: p for p in data["publications"]}
    for p in pubs.values():
        assert p["title"] and p["publisher"] and p["date"] and p["split"] in ("tuning", "held-out"), p["id"]
        assert p["split_note"] and p["how"], p["id"]  # who could tune on it, and how it is replayed
        assert any(s["publication"] == p["id"] for s in data["sweeps"]), p["id"]
    for s in data["sweeps"]:
        where = s["id"]
        assert s["publication"] in pubs, where
        assert s["publisher"] and s["source"] and s["table"] and s["date"], where
        assert s["url"].startswith("https://"), where
        assert s["engine"] and s["engine_version"] and s["profile"] in PROFILES, where
        assert s["split"] == pubs[s["publication"]]["split"], where
        assert (s["model"] in zoo.Models or s["model"] in data["models"]) and s["hardware"] in zoo.Hardware, where
        assert s["precision"] in ("fp16", "bf16", "fp8") and s["tp"] in (1, 2, 4, 8), where
        assert s["input"] >= 1 and s["output"] >= 2, where
        assert s["lengths"] in ("fixed", "sharegpt-means", "random-means", "per-request"), where
        assert s["arrival"] in ("closed", "poisson", "burst") and s["points"], where
        for p in s["points"]:
            metrics = set(p) & METRIC_KEYS
            assert metrics and all(p[k] > 0 for k in metrics), where
            assert all(s["stat"][k] in ("mean", "median") for k in metrics - {"throughput"}), where
            if s["arrival"] == "closed":
                assert p["concurrency"] >= 1, where
            elif s["arrival"] == "poisson":
                assert p["rate"] > 0 and p["requests"] >= 1, where
            else:
                assert p["requests"] >= 1 and "rate" not in p and "concurrency" not in p, where
            if s["lengths"] == "per-request":  # the run's own lengths, in order; "input"/"output" are their means
                n = p["requests"]
                assert len(p["input_lens"]) == len(p["output_lens"]) == n, where
                assert min(p["input_lens"]) >= 1 and min(p["output_lens"]) >= 1, where
                assert round(sum(p["input_lens"]) / n) == p["input"], where
                assert round(sum(p["output_lens"]) / n) == p["output"], where
            if p.get("overloaded"):  # only open-loop points can outrun the server
                assert s["arrival"] == "poisson", where


def test_new_publishers_cover_sglang_trtllm_open_loop_and_bursts():
    sweeps = [s for s in lv.load_sweeps() if s["publication"] not in OLD]
    assert len({s["publisher"] for s in sweeps}) >= 3
    assert {"sglang", "trtllm", "vllm", "vllm-v0"} <= {s["profile"] for s in sweeps}
    assert {"poisson", "burst", "closed"} <= {s["arrival"] for s in sweeps}
    held_out = {s["publication"] for s in sweeps if s["split"] == "held-out"}
    assert held_out and not held_out & OLD


def test_extra_models_match_their_published_size():
    # architectures the zoo does not carry (from each model's config.json): the parameter count the
    # zoo's formula gives must match the model card's figure
    for name, m in lv.load_data()["models"].items():
        spec = lv.model_spec(name)
        assert spec.count_parameters() == pytest.approx(m["published_parameters"], rel=0.02), name
    # Qwen3-32B by hand: 64 x (5120 x 8192 x 2 + 2 x 5120 x 1024 + 3 x 5120 x 25600 + 2 x 5120)
    # + 2 x 151936 x 5120 + 5120 = 32.76e9
    assert lv.model_spec("Qwen3_32B").count_parameters() == pytest.approx(32.762e9, rel=1e-3)


def test_harness_error_equals_the_hand_computed_one():
    # TensorRT-LLM v0.14 perf-overview, Llama 3.1 8B, H100 FP8, 128/128: 30000 requests queued at once,
    # 26,933.1886 output tok/s published. Run the solver directly with that configuration and the sweep's
    # engine profile, and work out the error by hand.
    sweep = next(s for s in lv.load_sweeps() if s["id"] == "trtllm-v014-llama3_8b-h100-fp8-tp1-128-128")
    assert sweep["points"] == [{"requests": 30000, "throughput": 26933.1886}]
    from mlsyslab.solvers.load import LoadSolver

    solver = LoadSolver(engine="trtllm") if lv.engine_support() else LoadSolver()
    r = solver.solve("Llama3_8B", "H100", arrival_rate=math.inf, input_tokens=128, output_tokens=128, precision="fp8",
                     tensor_parallel=1, n_requests=30000, seed=0)
    # throughput = all output tokens / (last completion - first arrival)
    span = float((r.requests["arrival"] + r.requests["e2e"]).max() - r.requests["arrival"].min())
    by_hand = 30000 * 128 / span / 26933.1886 - 1.0
    report = lv.validate(sweeps=[sweep])
    (row,) = report["rows"]
    assert row["metric"] == "throughput" and row["measured"] == 26933.1886
    assert row["simulator_error"] == pytest.approx(by_hand, rel=1e-9)
    # the fast path's burst figure is its saturation throughput: capacity (req/s) x 128 output tokens
    a = solver.analytic("Llama3_8B", "H100", 1.0, input_tokens=128, output_tokens=128, precision="fp8")
    assert row["analytic_error"] == pytest.approx(float(a["capacity"]) * 128 / 26933.1886 - 1.0, rel=1e-9)


def test_summary_statistics_by_hand():
    rows = [{"metric": "ttft", "split": "held-out", "publication": "p", "profile": "sglang", "scored": True, "exempt_2x": e,
             "simulator_error": err, "analytic_error": None} for err, e in
            ((0.10, False), (-0.20, False), (0.30, False), (1.50, False), (-0.60, True), (5.0, False))]
    rows.append(dict(rows[0], simulator_error=9.0, scored=False))  # listed, not summarised
    s = lv.summarize(rows)["simulator"]
    st = s["held-out"]["ttft"]
    # |errors| 0.1 0.2 0.3 1.5 0.6 5.0 -> sorted 0.1 0.2 0.3 0.6 1.5 5.0: median 0.45; p90 (linear) 1.5 + 0.5 x 3.5
    assert st["n"] == 6 and st["median"] == pytest.approx(0.45) and st["p90"] == pytest.approx(3.25)
    # off by more than 2x: ratio 2.5 and 6.0 (the 0.4 ratio is exempt: overloaded open-loop latency)
    assert st["off_2x"] == 2
    assert s["all"] == s["held-out"] == s["p"] == s["engine sglang"]
    assert "analytic" in lv.summarize(rows) and lv.summarize(rows)["analytic"] == {}


def test_median_e2e_of_variable_lengths_is_never_scored():
    # the replay runs every request at the mean lengths: its mean E2E stands for the published mean, but a
    # published median E2E of ShareGPT or uniformly drawn lengths is the median request's, not the mean one's
    base = {"lengths": "sharegpt-means", "stat": {"e2e_ms": "median", "ttft_ms": "median"}}
    assert not lv.is_scored(base, "e2e_ms")
    assert lv.is_scored(base, "ttft_ms")
    assert lv.is_scored(dict(base, stat={"e2e_ms": "mean"}), "e2e_ms")
    assert lv.is_scored(dict(base, lengths="fixed"), "e2e_ms")  # fixed lengths: median and mean both scored
    assert not lv.is_scored(dict(base, lengths="random-means"), "e2e_ms")
    assert lv.is_scored(dict(base, scored={"e2e_ms": True}), "e2e_ms")  # a sweep's explicit word wins
    assert not lv.is_scored(dict(base, lengths="fixed", scored={"e2e_ms": False}), "e2e_ms")
    # and in the data: every scored E2E is a mean or comes from fixed lengths
    for s in lv.load_sweeps():
        if any("e2e_ms" in p for p in s["points"]) and lv.is_scored(s, "e2e_ms"):
            assert s["stat"]["e2e_ms"] == "mean" or s["lengths"] == "fixed", s["id"]


def test_harness_e2e_equals_the_hand_computed_one():
    # vLLM CI latency test on H200: a batch of 8 requests of 32 prompt / 128 output tokens, Llama 3.1 8B, mean
    # latency 833.421 ms published. Run the solver directly (burst of 8, the sweep's profile) and average each
    # request's completion time minus its arrival by hand.
    sweep = next(s for s in lv.load_sweeps() if s["id"] == "vllm-ci-h200-latency-llama8b-tp1")
    assert sweep["points"] == [{"requests": 8, "e2e_ms": 833.421}] and sweep["stat"] == {"e2e_ms": "mean"}
    from mlsyslab.solvers.load import LoadSolver

    solver = LoadSolver(engine="vllm") if lv.engine_support() else LoadSolver()
    # benchmark_latency.py calls the engine in-process: no HTTP front end (the sweep states request_overhead 0)
    assert sweep["scheduler"]["request_overhead"] == 0
    r = solver.solve("Llama3_8B", "H200", arrival_rate=math.inf, input_tokens=32, output_tokens=128, precision="bf16",
                     tensor_parallel=1, n_requests=8, seed=0, request_overhead=0)
    e2e = [float(x) for x in r.requests["e2e"]]
    by_hand = 1e3 * sum(e2e) / 8 / 833.421 - 1.0
    (row,) = lv.validate(sweeps=[sweep])["rows"]
    assert row["metric"] == "e2e" and row["scored"] and row["stat"] == "mean"
    assert row["simulator_error"] == pytest.approx(by_hand, rel=1e-9)
    assert row["analytic_error"] is None  # a burst of 8 is not a steady state: the fast path is not compared


def test_fast_path_is_compared_by_the_statistic_the_source_publishes():
    # DataCrunch, SGLang, Llama 3.3 70B bf16 on 4x H200, 300 Poisson arrivals at 1 req/s, 509 / 534 tokens:
    # mean E2E 7,840.6 ms and median TTFT 85.75 ms published. Run the fast path directly (the sweep's
    # profile and memory fraction, a finite run of 300) and work out both errors by hand: the mean E2E
    # against the mean, the median TTFT against the median.
    sweep = next(s for s in lv.load_sweeps() if s["id"] == "datacrunch-sglang-llama3_70b-4xh200-random1024-poisson")
    point = sweep["points"][0]
    assert (point["rate"], point["requests"], point["e2e_ms"], point["ttft_ms"]) == (1.0, 300, 7840.6, 85.75)
    assert sweep["stat"]["e2e_ms"] == "mean" and sweep["stat"]["ttft_ms"] == "median"
    from mlsyslab.solvers.load import LoadSolver

    a = LoadSolver(engine="sglang").analytic("Llama3_70B", "H200", 1.0, input_tokens=509, output_tokens=534,
                                             precision="bf16", tensor_parallel=4, memory_utilization=0.85,
                                             n_requests=300)
    rows = {r["metric"]: r for r in lv.validate(sweeps=[dict(sweep, points=[point])])["rows"]}
    assert rows["e2e"]["scored"] and rows["e2e"]["stat"] == "mean"
    assert rows["e2e"]["analytic_error"] == pytest.approx(1e3 * float(a["e2e_mean"][0]) / 7840.6 - 1.0, rel=1e-9)
    assert rows["ttft"]["analytic_error"] == pytest.approx(1e3 * float(a["ttft_p50"][0]) / 85.75 - 1.0, rel=1e-9)
    # E2E = TTFT + 533 intervals: the mean and the median differ by the TTFT's spread only
    assert float(a["e2e_mean"][0]) - float(a["ttft_mean"][0]) == pytest.approx(
        float(a["e2e_p50"][0]) - float(a["ttft_p50"][0]), rel=1e-6)


@pytest.fixture(scope="module")
def report():
    return lv.validate()


# Issue 21's targets (median |error| over every scored value) where the current model meets them; where it
# misses one, the bound it reaches now (docs/validation.md, "Targets", says the target is missed and by how
# much), so that a regression fails. Measured with the load constants of load_fitted.json (fitted 2026-12-08
# to the tuning publications, KV reads at 0.9, 10 ms behind Python front ends, 30 us of host time per
# sequence and decode step for a Python scheduler without overlap), overlap scheduling by engine version, and
# the data of this file's commit: throughput 9.3 %, TTFT 18.5 %, TPOT 24.4 % (21 of its 67 values are dstack's
# vLLM 0.6.3 on MI300X, off by 73 %), ITL 13.3 %, E2E 9.6 % (251 values, 220 of them Argonne's vLLM batches on
# H100, 8.6 %; its 4 values off by 2x are Mistral 7B at batch 32/64).
TARGET_OR_BOUND = {"throughput": lv.TARGETS["throughput"], "ttft": lv.TARGETS["ttft"], "itl": lv.TARGETS["itl"],
                   "tpot": 0.25, "e2e": lv.TARGETS["e2e"]}
# values off by more than 2x (overloaded open-loop latencies exempt): issue 21 wants none; current counts
OFF_2X_BOUND = {"throughput": 30, "ttft": 36, "tpot": 15, "itl": 16, "e2e": 4}


@pytest.mark.slow
def test_median_errors_meet_the_targets_or_the_measured_bound(report):
    s = report["summary"]["simulator"]["all"]
    for metric, bound in TARGET_OR_BOUND.items():
        assert s[metric]["median"] <= bound, (metric, s[metric])
        assert s[metric]["off_2x"] <= OFF_2X_BOUND[metric], (metric, s[metric])
    assert s["e2e"]["n"] >= 20  # E2E is assessed (GPUStack, DataCrunch, vLLM CI)


@pytest.mark.slow
def test_validation_page_is_current(report):
    text = (Path(__file__).resolve().parents[1] / "docs" / "validation.md").read_text()
    assert "## Under load" in text
    line = next(l for l in lv.summary_table(report).splitlines() if l.startswith("| all | simulator |"))
    assert line in text, "docs/validation.md is stale: python -m mlsyslab.calibration.validate --markdown > docs/validation.md"
    for p in lv.load_data()["publications"]:  # the held-out split, per publication, is on the page
        assert f"| {p['id']} | {p['publisher']} | {p['split']} |" in text, p["id"]


@pytest.mark.slow
def test_cli_validate_load_prints_the_tables(report, monkeypatch, capsys):
    # `mlsyslab validate --load` runs this harness (the replay itself is the fixture's, not redone here)
    monkeypatch.setattr(lv, "validate", lambda **kw: report)
    from mlsyslab.cli import main

    assert main(["validate", "--load"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in lv.summary_table(report).splitlines() if l.startswith("| all | simulator |"))
    assert line in out and "| metric | target (median" in out
