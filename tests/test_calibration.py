"""Calibration and validation of the serving model against published measurements.

The reference figures here are independent of the code: the published latencies shipped in
``mlsyslab/calibration/measurements.json`` (each with its source), datasheet numbers and
hand calculations written out below, and synthetic data generated from known constants.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

import mlsyslab
from mlsyslab.calibration import Calibration, IDEAL, calibrated, load_measurements
from mlsyslab.calibration import fit as fitmod
from mlsyslab.calibration.validate import context_tokens, predict_ms, validate
from mlsyslab.precision import PRECISIONS

POINTS = load_measurements()


@pytest.fixture(scope="module")
def report():
    return validate()


# ----------------------------------------------------------------------------- the data

@pytest.mark.parametrize("i", range(len(POINTS)))
def test_every_measurement_is_sourced_and_known_to_the_zoo(i):
    p = POINTS[i]
    assert len(p["source"]) > 20, p
    assert p["url"].startswith("https://"), p
    assert p.get("table"), f"point {i} does not say which table/figure it comes from"
    model = mlsyslab.Models.get(p["model"])  # raises UnknownNameError if the zoo lacks it
    hw = mlsyslab.Hardware.get(p["hardware"])
    assert model.key == p["model"] and hw.key == p["hardware"]
    assert p["metric"] in ("ttft", "itl")
    assert p["precision"] in PRECISIONS and p.get("kv_precision", "fp16") in PRECISIONS
    assert p["ms"] > 0 and p["batch"] >= 1 and p["input"] >= 1
    assert model.heads % p["tp"] == 0
    # a figure converted from throughput must say so
    if "throughput" in p["table"].lower() or "tok/s" in p.get("notes", ""):
        assert "notes" in p and ("1000/" in p["notes"] or "throughput" in p["notes"]), p


def test_measurements_cover_both_metrics_and_several_sources():
    metrics = [p["metric"] for p in POINTS]
    assert metrics.count("ttft") >= 12 and metrics.count("itl") >= 20
    assert len({p["source"] for p in POINTS}) >= 5
    assert len({p["hardware"] for p in POINTS}) >= 4


def test_converted_throughput_points_match_their_published_figure():
    """gpt-fast: Llama-2-7B bf16 on one A100 runs at 104.9 tokens/s (README table) -> 9.533 ms/token."""
    p = next(p for p in POINTS if "gpt-fast" in p["source"] and p["model"] == "Llama2_7B"
             and p["precision"] == "bf16" and p["tp"] == 1)
    assert p["ms"] == pytest.approx(1000 / 104.9, abs=1e-3)


# ----------------------------------------------------------------------------- ideal = roofline

def test_ideal_ttft_is_the_hand_roofline():
    """TensorRT-LLM point: Llama-2-7B fp16 on one A100, batch 1, 2048-token prompt (measured 133 ms).

    Llama-2-7B: P = 6,738,415,616 parameters (HF checkpoint), L = 32, heads x head_dim = 4096,
    32 KV heads of 128. A100 SXM: 312 TFLOP/s dense fp16, 2.039 TB/s.
    """
    P, L, a, S = 6_738_415_616, 32, 4096, 2048
    flops = 2 * P * S + 2 * L * S**2 * a  # matmuls + causal attention
    t_compute = flops / 312e12
    kv = 2 * L * 32 * 128 * S * 2
    t_memory = (P * 2 + kv) / 2.039e12
    hand = max(t_compute, t_memory) * 1e3
    assert hand == pytest.approx(91.99, abs=0.01)
    p = next(p for p in POINTS if p["model"] == "Llama2_7B" and p["hardware"] == "A100" and p["metric"] == "ttft"
             and p["input"] == 2048)
    assert predict_ms(p, IDEAL) == pytest.approx(hand, rel=1e-12)
    # and the measurement is slower than the roofline, as it must be
    assert p["ms"] > hand


def test_ideal_itl_with_tensor_parallelism_is_the_hand_roofline():
    """gpt-fast point: Llama-2-70B bf16 over 8 A100s, batch 1, context 5 + 200/2 = 105 tokens.

    Per GPU: weights P x 2 B / 8; KV 2 x 80 layers x 1 KV head (8 / 8) x 128 x 105 x 2 B.
    Two ring all-reduces per layer of 8192 x 2 B: 2 (8-1)/8 x 16384 B / (600 GB/s / 2),
    no link latency in the ideal mode.
    """
    P = 68_976_648_192
    weights = P * 2 / 8
    kv = 2 * 80 * 1 * 128 * 105 * 2
    t_memory = (weights + kv) / 2.039e12
    t_compute = (2 * P + 4 * 80 * 105 * 8192) / 8 / 312e12
    t_comm = 2 * 80 * (2 * 7 / 8 * 8192 * 2 / (600e9 / 2))
    hand = (max(t_memory, t_compute) + t_comm) * 1e3
    assert hand == pytest.approx(8.4747, abs=1e-3)
    p = next(p for p in POINTS if "gpt-fast" in p["source"] and p["model"] == "Llama2_70B"
             and p["precision"] == "bf16" and p["tp"] == 8)
    assert context_tokens(p) == 105
    assert predict_ms(p, IDEAL) == pytest.approx(hand, rel=1e-12)


def test_ideal_constants_are_exactly_the_roofline():
    assert (IDEAL.eta_compute_16, IDEAL.eta_compute_8, IDEAL.eta_compute_4, IDEAL.eta_memory, IDEAL.eta_network) == (1, 1, 1, 1, 1)
    assert IDEAL.layer_overhead_prefill_s == 0 and IDEAL.layer_overhead_decode_s == 0
    assert IDEAL.token_overhead_decode_s == 0 and IDEAL.link_latency is False


# ----------------------------------------------------------------------------- calibrated vs published

def test_shipped_calibration_reproduces_published_measurements(report):
    s = report["summary"]["calibrated"]
    assert s["n_ttft"] + s["n_itl"] == len(POINTS)
    assert s["ttft"] <= 0.15, f"median |error| TTFT {s['ttft']:.1%}"
    assert s["itl"] <= 0.15, f"median |error| ITL {s['itl']:.1%}"
    # the calibration earns its keep: the bare roofline is far off the same measurements
    assert report["summary"]["ideal"]["ttft"] > 2 * s["ttft"]
    assert report["summary"]["ideal"]["itl"] > 2 * s["itl"]


def test_roofline_is_a_lower_bound_on_every_published_latency(report):
    """No real run beats 100 % of datasheet peaks; nor does the calibrated model undercut the ideal one."""
    for r in report["rows"]:
        assert r["ideal_ms"] < r["measured_ms"], r
        assert r["ideal_ms"] <= r["calibrated_ms"] * (1 + 1e-12), r


def test_shipped_constants_are_physical_and_recorded():
    cal = calibrated()
    for name in ("eta_compute_16", "eta_compute_8", "eta_compute_4", "eta_memory", "eta_network"):
        assert 0 < getattr(cal, name) <= 1, name
    assert cal.layer_overhead_prefill_s >= 0 and cal.layer_overhead_decode_s >= 0 and cal.token_overhead_decode_s >= 0
    assert cal.fit["n_points"] == len(POINTS), "fitted.json is stale: run python -m mlsyslab.calibration.fit --write"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", cal.fit["date"])


def test_fitted_json_medians_match_a_fresh_validation(report):
    fit = calibrated().fit
    s = report["summary"]["calibrated"]
    assert fit["median_abs_error_ttft"] == pytest.approx(s["ttft"], abs=1e-3)
    assert fit["median_abs_error_itl"] == pytest.approx(s["itl"], abs=1e-3)


def test_fast_fit_equation_is_the_solver_equation():
    """The fit rebuilds predictions from ideal pieces; they must equal the solver's own."""
    d = fitmod.design(POINTS)
    for cal in (calibrated(), Calibration("probe", eta_compute_16=0.5, eta_compute_8=0.4, eta_compute_4=0.3, eta_memory=0.6,
                                             eta_network=0.2, layer_overhead_prefill_s=3e-4, layer_overhead_decode_s=1e-4,
                                             token_overhead_decode_s=2e-6, link_latency=True)):
        fast = d.predict(cal.to_json()) * 1e3
        slow = np.array([predict_ms(p, cal) for p in POINTS])
        np.testing.assert_allclose(fast, slow, rtol=1e-12)


def test_shipped_constants_reproduce_a_fresh_fit():
    refit = fitmod.fit(POINTS)
    cal = calibrated()
    for name in fitmod.PARAMS:
        assert getattr(refit, name) == pytest.approx(getattr(cal, name), rel=1e-3), name


# ----------------------------------------------------------------------------- the fit itself

KNOWN = Calibration("known", eta_compute_16=0.62, eta_compute_8=0.47, eta_compute_4=0.47, eta_memory=0.78,
                    eta_network=0.55, layer_overhead_prefill_s=1.2e-4, layer_overhead_decode_s=3.0e-5,
                    token_overhead_decode_s=1.0e-6, link_latency=True)


def _synthetic(cal: Calibration) -> list[dict]:
    return [dict(p, ms=predict_ms(p, cal)) for p in POINTS]


def test_fit_recovers_known_constants_from_synthetic_data():
    got = fitmod.fit(_synthetic(KNOWN))
    for name in fitmod.PARAMS:
        assert getattr(got, name) == pytest.approx(getattr(KNOWN, name), rel=0.03), name
    assert got.fit["median_abs_error_ttft"] < 0.01 and got.fit["median_abs_error_itl"] < 0.01


def test_fit_respects_bounds_when_data_beat_the_roofline():
    """Latencies at half the roofline cannot be explained: efficiencies stop at 1, overheads at 0."""
    pts = [dict(p, ms=predict_ms(p, IDEAL) * 0.5) for p in POINTS]
    got = fitmod.fit(pts)
    for name in ("eta_compute_16", "eta_compute_8", "eta_memory", "eta_network"):
        assert getattr(got, name) == 1.0, name
    assert got.layer_overhead_prefill_s == 0.0 and got.layer_overhead_decode_s == 0.0 and got.token_overhead_decode_s == 0.0


def test_holdout_errors_are_computed_and_recorded():
    """Leave one publication (or one point) out: predicted by constants fitted to the rest."""
    fit = calibrated().fit
    for by in ("source", "point"):
        cv = fitmod.cross_validate(POINTS, by=by)
        assert len(cv["errors"]) == len(POINTS) and not any(math.isnan(e) for e in cv["errors"])
        for m in ("ttft", "itl"):
            assert fit[f"holdout_{by}_median_abs_error_{m}"] == pytest.approx(cv[f"median_abs_error_{m}"], abs=1e-3)
    # one point at a time, points the fit has not seen are still predicted within 20 % (median)
    assert fit["holdout_point_median_abs_error_ttft"] <= 0.20
    assert fit["holdout_point_median_abs_error_itl"] <= 0.20


def test_excluded_points_are_impossible_under_the_roofline():
    """A published figure is only set aside when even 100 % of datasheet peaks cannot reach it."""
    from mlsyslab.calibration import load_excluded

    for p in load_excluded():
        assert len(p["reason"]) > 40 and p["url"].startswith("https://")
        assert predict_ms(p, IDEAL) > p["ms"], p


# ----------------------------------------------------------------------------- entry points

def test_validate_is_exported_lazily():
    assert mlsyslab.validate is validate


def test_cli_validate_json_exits_0_and_parses(repo_root):
    proc = subprocess.run([sys.executable, "-m", "mlsyslab", "validate", "--json"], capture_output=True, text=True,
                          timeout=120, cwd=repo_root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["rows"]) == len(POINTS)
    assert set(data["summary"]) == {"ideal", "calibrated"}
    assert data["summary"]["calibrated"]["itl"] <= 0.15


def test_cli_validate_table_lists_every_point(repo_root):
    proc = subprocess.run([sys.executable, "-m", "mlsyslab", "validate"], capture_output=True, text=True,
                          timeout=120, cwd=repo_root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") >= len(POINTS) + 3
    assert "calibrated: median |error| TTFT" in proc.stdout


def test_docs_page_shows_the_shipped_constants():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "validation.md").read_text()
    cal = calibrated()
    assert f"| `eta_memory` | {cal.eta_memory:.3f} |" in text, "docs/validation.md is stale: regenerate it"
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \| ", line)]
    assert len(rows) == len(POINTS)
