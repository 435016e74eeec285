"""LoadExplorer: its marks are the load solver's numbers; inputs re-solve; bad input is refused.

The expected figures come from LoadSolver itself (checked by hand in tests/test_load.py) and
from the inputs (the SLA lines sit at the SLA given)."""

from __future__ import annotations

import numpy as np
import pytest

import mlsyslab as ml  # noqa: E402
from mlsyslab.widgets import InputError, LoadExplorer  # noqa: E402


@pytest.fixture(scope="module")
def explorer():
    return LoadExplorer(model="Llama3_8B", hardware="H100", arrival_rate=10.0, input_tokens=512, output_tokens=256,
                        ttft_sla=300.0, itl_sla=40.0)


def test_curves_are_the_fast_path(explorer):
    e = explorer
    fast = ml.LoadSolver().analytic("Llama3_8B", "H100", e.curve["rates"], 512, 256, sla={"ttft": 300, "itl": 40})
    assert e.capacity == pytest.approx(fast["capacity"])
    assert e.lat_lines.y[0] == pytest.approx(np.minimum(fast["ttft_p50"] * 1e3, e.ly.max))
    assert e.goodput_line.y == pytest.approx(fast["goodput"])
    assert e.tput_line.y == pytest.approx(fast["request_throughput"])
    assert e.gy.max >= e.tput_line.y.max()  # the data stays inside the plot
    assert e.curve["rates"].max() >= 1.3 * e.capacity * 0.999  # the curve runs past capacity
    assert list(e.sla_lines.y[:, 0]) == [300.0, 40.0]
    assert list(e.lat_now.x) == [10.0, 10.0] and list(e.lat_cap.x) == pytest.approx([e.capacity] * 2)


def test_kv_over_time_is_the_simulated_run(explorer):
    r = explorer.result
    assert isinstance(r, ml.LoadResult) and r.n_requests == explorer.n_requests
    assert explorer.kv_line.y == pytest.approx(r.timeseries["kv_utilization"] * 100)
    assert f"{explorer.capacity:.3g}" in explorer.readout.value.replace(",", "")
    assert explorer.at_rate["request_throughput"] == pytest.approx(10.0)
    assert "data-mode='calibrated'" in explorer.readout.value


def test_inputs_resolve_and_redraw():
    e = LoadExplorer(arrival_rate=5.0)
    assert e.at_rate["ttft_p99"] < 0.1 and "past capacity" not in e.readout.value
    sim_before = e.result.raw["ttft_p99"]
    e.arrival_rate = 1.2 * e.capacity  # past capacity: the queue grows without bound
    assert e.at_rate["ttft_p99"] == float("inf") and "unbounded" in e.readout.value
    assert "past capacity" in e.readout.value
    assert e.result.raw["ttft_p99"] > sim_before  # the simulated run: longer waits too
    cap = e.capacity
    e.max_num_seqs = 16  # fewer seats: less capacity
    assert e.capacity < 0.5 * cap
    e.chunked_prefill = True
    assert e.result.chunked_prefill is True


def test_bad_input_is_refused_and_named():
    e = LoadExplorer()
    with pytest.raises(InputError) as info:
        e.arrival_rate = -3
    assert info.value.field == "arrival_rate" and e.arrival_rate == 10.0
    with pytest.raises(InputError) as info:
        LoadExplorer(ttft_sla="3 GB")
    assert info.value.field == "ttft_sla"
    with pytest.raises(InputError, match="context window"):
        e.input_tokens = 200_000
    assert e.input_tokens == 512
