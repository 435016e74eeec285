"""The load simulator against published concurrency sweeps (mlsyslab/calibration/load_measurements.json).

Checks that every point carries its source, that the replay reproduces the published
figures within the median errors docs/validation.md states (throughput and ITL within the
20 % aim; TTFT is reported as missing it), and that the docs page is current.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsyslab.calibration import load_validate as lv


@pytest.fixture(scope="module")
def report():
    return lv.validate(("calibrated",))


def test_every_sweep_has_a_source_and_a_full_configuration():
    for s in lv.load_sweeps():
        assert s["url"].startswith("https://") and s["source"] and s["table"]
        for key in ("model", "hardware", "precision", "tp", "input", "output"):
            assert s[key], key
        assert s["points"] and all(p["concurrency"] >= 1 and p["throughput"] > 0 for p in s["points"])


def test_throughput_and_itl_within_the_aim(report):
    summary = report["summary"]["calibrated"]
    assert summary["n_throughput"] == 13 and summary["n_itl"] == 8 and summary["n_ttft"] == 13
    assert summary["throughput"] <= 0.20
    assert summary["itl"] <= 0.20
    # TTFT misses the aim (docs/validation.md says so and why); it stays within a factor 2 in median
    assert summary["ttft"] <= 1.0


def test_saturation_is_where_the_measurements_saturate(report):
    # NIM 70B: measured throughput stops growing at 100 clients (917 -> 920 tok/s), because the KV-cache
    # holds ~90 requests of 5500 tokens; the simulator's throughput must also be flat from 100 to 250
    rows = [r for r in report["rows"] if r["sweep"].startswith("nim") and r["metric"] == "throughput"]
    pred = {r["concurrency"]: r["calibrated_pred"] for r in rows}
    assert pred[250] / pred[100] < 1.03
    assert pred[50] / pred[5] > 2.5


def test_validation_page_has_the_load_section(report):
    text = (Path(__file__).resolve().parents[1] / "docs" / "validation.md").read_text()
    s = report["summary"]["calibrated"]
    assert "## Under load" in text
    assert f"| calibrated | {s['throughput'] * 100:.1f} % (n=13) | {s['ttft'] * 100:.1f} % (n=13) |" in text, \
        "docs/validation.md is stale: python -m mlsyslab.calibration.validate --markdown > docs/validation.md"
