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
    fast = ml.LoadSolver().analytic("Llama3_8B", "H100", e.curve["rates"], 512, 256, sla={"ttft": 300, "itl": 40},
                                    max_num_seqs=e.max_num_seqs, chunked_prefill=e.chunked_prefill, engine=e.engine)
    assert e.capacity == pytest.approx(fast["capacity"])
    # latencies in ms; past capacity (unbounded) drawn far above the top so that the clip cuts them there
    off = e.ly.max * 1e3
    assert e.lat_lines.y == pytest.approx(np.minimum(fast["ttft_p50"] * 1e3, off))
    assert e.lat_p99.y == pytest.approx(np.where(np.isfinite(fast["ttft_p99"]), np.minimum(fast["ttft_p99"] * 1e3, off),
                                                 off))
    # the ITL drawn is the one the SLA's ITL limit checks: the mean time per output token
    assert e.lat_itl.y == pytest.approx(np.minimum(fast["tpot"] * 1e3, off))
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
    e.engine = "trtllm"  # the profile shows in the result and the readout
    assert e.result.engine == "trtllm" and "TensorRT-LLM" in e.readout.value


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


def test_view_fits_the_notebook_and_uses_the_shared_ticks(explorer):
    """Figures of 400 px (two in the ~850 px of output), one key under each, round ticks only:
    y ticks are powers of ten (log axis) or 1-2-2.5-5 steps, x ticks inside the range."""
    e = explorer
    for fig in (e.lat_fig, e.good_fig, e.kv_fig):
        assert fig.layout.width == "400px"
    lat_ticks = list(e.lat_axis.tick_values)
    assert all(e.ly.min <= t <= e.ly.max for t in lat_ticks) and len(lat_ticks) >= 2
    assert all(float(np.log10(t)).is_integer() or str(t)[0] in "125" for t in lat_ticks)
    # the widest tick label ('1,000' = 5 characters of 7.2 px) + 8 px + half a line + 6 px clears the axis title
    assert e.lat_fig.fig_margin["left"] >= 5 * 7.2 + 8 + 8 + 6
    assert max(e.lat_x_axis.tick_values) <= e.lx.max and max(e.time_axis.tick_values) <= e.tx.max
    assert "TTFT SLA 300 ms" in e.lat_key.value and "ITL SLA 40.0 ms" in e.lat_key.value  # the SLA given
    assert "capacity " + f"{e.capacity:.3g}" in e.lat_key.value


def test_overloaded_is_said_in_plot_and_text():
    e = LoadExplorer(arrival_rate=5.0)
    assert not e.overloaded and e.lat_note.text == [""] and e.banner.layout.display == "none"
    e.arrival_rate = 1.5 * e.capacity
    assert e.overloaded
    assert e.lat_note.text == ["overloaded"] and e.good_over.text == ["overloaded"]
    assert e.lat_now.colors == ["#D55E00"]  # the arrival-rate line turns vermillion
    assert "Overloaded" in e.banner.value and "role='alert'" in e.banner.value and e.banner.layout.display is None
    assert "(overloaded)" in e._summary()
    e.arrival_rate = 5.0
    assert not e.overloaded and e.lat_note.text == [""] and e.banner.value == ""


def test_weights_that_do_not_fit_show_oom_instead_of_failing():
    """Llama-3-70B in fp16 is 70.6e9 x 2 B = 141 GB of weights; 0.9 x 85.9 GB of one H100 = 77.3 GB."""
    e = LoadExplorer(model="Llama3_70B", hardware="H100", arrival_rate=2.0)
    assert e.oom and e.result is None and e.capacity == 0.0
    for note in (e.lat_note, e.good_note, e.kv_note):
        assert note.text == ["OOM: weights do not fit"]
    assert not e.lat_lines.visible and not e.kv_line.visible
    assert "141 GB" in e.banner.value and "77.3 GB" in e.banner.value and "tensor_parallel=2" in e.banner.value
    assert "OOM: does not fit" in e.readout.value
    e.tensor_parallel = 2  # 70.6 GB per GPU: fits, and the plots come back
    assert not e.oom and e.capacity > 0 and e.lat_lines.visible and e.lat_note.text == [""]
    assert e.banner.value == ""


def test_an_sla_no_request_meets_is_said_in_plot_and_text():
    """A decode step of Llama-3-8B in fp16 reads its 16.06 GB of weights; at the H100's 3.35 TB/s
    that is >= 16.06 / 3350 s = 4.79 ms per output token at any load: a 4 ms ITL SLA is never met."""
    e = LoadExplorer(ttft_sla=50.0, itl_sla=4.0)
    assert float(np.max(e.curve["goodput"])) == 0.0
    assert e.good_note.text == ["no request meets the SLA"]
    assert "no request meets the SLA at any load" in e.readout.value


def test_readout_labels_each_estimate_and_matches_the_labs_run():
    """One number per quantity: the readout's simulated column is the run lab 8's reveal makes
    (same engine, rate, 2000 requests, seed 0), the queueing model's column is labelled as such,
    and the ITL the SLA checks (each request's mean ITL) is shown apart from the all-steps ITL p99."""
    import re

    from mlsyslab.labs.ideal import load_solver

    e = LoadExplorer(model="Llama3_8B", hardware="H100", input_tokens=1024, output_tokens=256, max_num_seqs=64,
                     ttft_sla=500, itl_sla=30, arrival_rate=14.7, efficiency="ideal", engine="vllm-v0",
                     n_requests=2000)
    r = load_solver().solve("Llama3_8B", "H100", arrival_rate=14.7, input_tokens=1024, output_tokens=256,
                            n_requests=2000, seed=0, max_num_seqs=64, sla={"ttft": 500, "itl": 30})
    text = re.sub(r"<[^>]+>", "|", e.readout.value.split("</style>")[-1])
    assert "queueing model" in text and "simulated run (2,000 requests, seed 0)" in text
    row = text[text.index("TTFT p50 / p99"):].split("|")
    cells = [c.strip() for c in row if c.strip()]
    assert cells[2] == f"{r.raw['ttft_p50'] * 1e3:.3g} ms / {r.raw['ttft_p99'] * 1e3:.3g} ms"  # 20.9 ms / 60.5 ms
    tpot = r.requests["tpot"][r.requests["output_tokens"] > 1]
    assert f"{np.percentile(tpot, 99) * 1e3:.3g} ms" in text and "what the ITL limit of the SLA checks" in text
    assert "not what the SLA checks" in text.split("ITL p50 / p99 (all decode steps)")[1][:300]
