"""The load simulator against hand calculations and queueing laws written out here.

Published figures used (model card, datasheet), as in tests/test_serving.py:

* Llama-3-8B: 32 layers, 32 query heads x 128 (a = 4096), 8 KV heads x 128; its architecture
  gives P = 8.030 B parameters (the model card says 8.03 B).
* H100 SXM: 80 GiB, 3.35 TB/s, 989.5 TFLOP/s dense fp16. A100 40GB: 40 GiB, 1.555 TB/s,
  312 TFLOP/s fp16.

``efficiency="ideal"`` is the pure roofline (no overheads), so its step times are the hand
formulas: prefill of S tokens max((2 P S + 2 L S^2 a) / peak, (2P + S kv) / BW), one decode step
of B sequences at context c each max((2 P B + 4 L c a B) / peak, (2P + B c kv) / BW), with
kv = 2 x L x 8 x 128 x 2 bytes = 131 072 bytes per token.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import mlsyslab as ml
from mlsyslab import LoadSolver, ServingSolver

GiB = 2 ** 30
P = 8.030261248e9  # Llama-3-8B from its architecture (model card: 8.03 B)
L, A = 32, 4096
KV_TOK = 2 * L * 8 * 128 * 2.0
W = 2.0 * P
H100_BW, H100_PEAK, H100_CAP = 3.35e12, 989.5e12, 80 * GiB
A100_40_BW, A100_PEAK, A100_40_CAP = 1.555e12, 312e12, 40 * GiB


def prefill(S, peak, bw):
    return max((2 * P * S + 2 * L * S * S * A) / peak, (W + S * KV_TOK) / bw)


def decode(B, c, peak, bw):
    return max((2 * P * B + 4 * L * c * A * B) / peak, (W + B * c * KV_TOK) / bw)


@pytest.fixture(scope="module")
def ideal():
    # the hand formulas below describe vLLM V0's scheduler (prefill-only steps, 256 seats, 1 % watermark)
    return LoadSolver(efficiency="ideal", engine="vllm-v0")


def test_rate_to_zero_gives_single_request_latencies(ideal):
    # one request at a time: TTFT is the prefill of the prompt alone; each interval is one
    # batch-1 decode step, whose context runs from I to I + O - 2 (median ~ I + O/2)
    I, O = 512, 256
    r = ideal.solve("Llama3_8B", "H100", arrival_rate=0.001, input_tokens=I, output_tokens=O, n_requests=40)
    assert r.ttft_p50.to("s").magnitude == pytest.approx(prefill(I, H100_PEAK, H100_BW), rel=1e-3)
    assert r.itl_p50.to("s").magnitude == pytest.approx(decode(1, I + O / 2, H100_PEAK, H100_BW), rel=2e-3)
    assert r.mean_batch == pytest.approx(1.0, rel=0.01) and r.preemptions == 0
    # E2E of a lone request = prefill + sum of its O - 1 decode steps
    e2e = prefill(I, H100_PEAK, H100_BW) + sum(decode(1, I + j, H100_PEAK, H100_BW) for j in range(O - 1))
    assert r.e2e_p50.to("s").magnitude == pytest.approx(e2e, rel=1e-3)
    # calibrated mode: the same limit is ServingSolver's batch-1 figures, except that a decode step pays
    # the load model's own fixed time per layer (fitted to engines under load) instead of the serving fit's,
    # and the TTFT the time vLLM's Python front end takes before the scheduler sees the request
    cal = LoadSolver().solve("Llama3_8B", "H100", arrival_rate=0.01, input_tokens=I, output_tokens=O, n_requests=40)
    sv = ServingSolver()
    consts = ml.calibration.calibrated()
    assert cal.ttft_p50.to("s").magnitude == pytest.approx(sv.solve("Llama3_8B", "H100", I).ttft_s
                                                           + consts.load_request_overhead_s, rel=1e-3)
    shift = 32 * (consts.layer_overhead_decode_s - consts.load_layer_overhead_decode_s)  # 32 layers
    assert cal.itl_p50.to("s").magnitude == pytest.approx(sv.solve("Llama3_8B", "H100", I + O // 2).itl_s - shift,
                                                          rel=2e-3)


@pytest.fixture(scope="module")
def sweep():
    """Calibrated Llama-3-8B on H100 at rates below and above its capacity (~23 req/s)."""
    s = LoadSolver()
    return {rate: s.solve("Llama3_8B", "H100", arrival_rate=rate, input_tokens=512, output_tokens=256,
                          n_requests=3000, seed=1) for rate in (2.0, 10.0, 18.0, 30.0)}


def test_output_never_exceeds_what_arrives(sweep):
    for rate, r in sweep.items():
        O = 256
        ts, arr = r.timeseries, np.sort(r.requests["arrival"])
        offered = len(arr) * O / (arr[-1] - arr[0])  # output tokens/s the drawn stream asks for
        assert abs(offered / (rate * O) - 1) < 0.06  # (a Poisson stream of 3000 is within a few % of its rate)
        assert r.throughput.magnitude <= offered  # over the run ...
        arrived = np.searchsorted(arr, ts["t"], side="right")
        assert np.all(ts["tokens"] <= arrived * O)  # ... and at every instant


def test_littles_law(sweep):
    # L = lambda x W: mean requests in the system (time series) = request throughput x mean E2E
    for rate, r in sweep.items():
        lhs = r.mean_in_system
        rhs = r.request_throughput.to("1/s").magnitude * r.e2e_mean.to("s").magnitude
        assert lhs == pytest.approx(rhs, rel=0.03), rate


def test_capacity_when_seats_bind(ideal):
    # All 64 x 20 requests arrive at t = 0 and max_num_seqs = 64: cohorts of 64 are prefilled
    # (compute-bound, so 64 prompts cost 64 x one prefill), then decode together O - 1 steps at
    # contexts I .. I + O - 2 and leave together. Output tokens/s = 64 O / (64 T_pre + sum t_dec).
    I, O, B = 512, 256, 64
    t_cycle = B * prefill(I, H100_PEAK, H100_BW) + sum(decode(B, I + j, H100_PEAK, H100_BW) for j in range(O - 1))
    r = ideal.solve("Llama3_8B", "H100", arrival_rate=math.inf, input_tokens=I, output_tokens=O,
                    n_requests=B * 20, max_num_seqs=B)
    assert r.throughput.magnitude == pytest.approx(B * O / t_cycle, rel=1e-3)
    assert r.mean_batch == pytest.approx(B)


def test_capacity_when_kv_blocks_bind(ideal):
    # KV pool (vLLM's rule): floor((0.9 x capacity - weights) / (16 tokens x kv bytes)) blocks;
    # a request of I + O tokens holds ceil((I + O) / 16) blocks at its end, 1 % of blocks are
    # kept free (admission watermark), so at most B_kv = floor(0.99 blocks / per_request) run.
    I, O = 2000, 16
    blocks = int((0.9 * A100_40_CAP - W) // (16 * KV_TOK))
    per_request = math.ceil((I + O) / 16)
    B_kv = (blocks - int(0.01 * blocks)) // per_request
    assert B_kv == 84  # 10 773 blocks of 16 tokens
    t_cycle = (B_kv * prefill(I, A100_PEAK, A100_40_BW)
               + sum(decode(B_kv, I + j, A100_PEAK, A100_40_BW) for j in range(O - 1)))
    r = ideal.solve("Llama3_8B", "A100_40GB", arrival_rate=math.inf, input_tokens=I, output_tokens=O, n_requests=3000)
    assert r.kv_blocks == blocks
    assert r.throughput.magnitude == pytest.approx(B_kv * O / t_cycle, rel=0.01)
    assert r.peak_kv_utilization > 0.97


def test_p99_ttft_grows_without_bound_past_capacity():
    s = LoadSolver()
    kw = dict(input_tokens=512, output_tokens=256, seed=3)
    cap = s.analytic("Llama3_8B", "H100", 1.0, input_tokens=512, output_tokens=256)["capacity"]
    p99 = [s.solve("Llama3_8B", "H100", arrival_rate=f * cap, n_requests=3000, **kw).ttft_p99.magnitude
           for f in (0.3, 0.7, 0.9, 1.1)]
    assert all(b > a for a, b in zip(p99, p99[1:]))  # rises with load
    assert p99[-1] > 50 * p99[0]  # past capacity the queue, not the step, sets TTFT
    # unbounded: past capacity the queue grows with the run, so p99 TTFT keeps growing with it;
    # below capacity it does not
    over = [s.solve("Llama3_8B", "H100", arrival_rate=1.1 * cap, n_requests=n, **kw).ttft_p99.magnitude
            for n in (2000, 4000)]
    under = [s.solve("Llama3_8B", "H100", arrival_rate=0.7 * cap, n_requests=n, **kw).ttft_p99.magnitude
             for n in (2000, 4000)]
    assert over[1] > 1.7 * over[0]
    assert under[1] < 1.3 * under[0]


def test_goodput_counts_requests_meeting_the_sla(sweep):
    s = LoadSolver()
    loose = s.solve("Llama3_8B", "H100", arrival_rate=10.0, input_tokens=512, output_tokens=256, n_requests=3000,
                    seed=1, sla={"ttft": "10 s", "itl": "1 s"})
    assert loose.goodput.magnitude == pytest.approx(loose.request_throughput.magnitude)
    tight = s.solve("Llama3_8B", "H100", arrival_rate=10.0, input_tokens=512, output_tokens=256, n_requests=3000,
                    seed=1, sla=ml.SLA(ttft=30, itl=11))
    req = tight.requests
    ok = (req["ttft"] <= 0.03) & (req["tpot"] <= 0.011)
    assert tight.goodput_fraction == pytest.approx(ok.mean())
    assert 0 < tight.goodput.magnitude < tight.request_throughput.magnitude


def test_result_fields_units_and_timeseries(sweep):
    r = sweep[10.0]
    for key in ("throughput", "request_throughput", "ttft_p50", "ttft_p99", "itl_p50", "itl_p99", "e2e_p50",
                "e2e_p99", "goodput"):
        assert r[key] == getattr(r, key)
    assert r.throughput.units == ml.ureg("token/s").units
    assert r.ttft_p50 <= r.ttft_p99 and r.itl_p50 <= r.itl_p99 and r.e2e_p50 <= r.e2e_p99
    assert 0 < r.kv_utilization < 1 and r.mean_batch > 1
    ts = r.timeseries
    assert len(ts["t"]) == len(ts["queue"]) == len(ts["running"]) == len(ts["kv_utilization"])
    assert np.all(np.diff(ts["t"]) >= 0) and ts["kv_utilization"].max() <= 1.0
    d = r.to_dict()
    assert d["throughput [token/s]"] == pytest.approx(r.throughput.magnitude)
    assert "LoadResult" in repr(r)


def test_same_seed_same_run_and_lengths_from_distributions():
    s = LoadSolver()
    kw = dict(arrival_rate=5.0, input_tokens=("uniform", 100, 900), output_tokens=("exponential", 200),
              n_requests=500, seed=7)
    a, b = s.solve("Llama3_8B", "H100", **kw), s.solve("Llama3_8B", "H100", **kw)
    assert a.to_dict() == b.to_dict()
    inp = a.requests["input_tokens"]
    assert inp.min() >= 100 and inp.max() <= 900 and abs(inp.mean() - 500) < 30
    assert abs(a.requests["output_tokens"].mean() - 200) < 25
    c = s.solve("Llama3_8B", "H100", **(kw | {"seed": 8}))
    assert c.to_dict() != a.to_dict()


def test_arrival_times_and_closed_loop_concurrency(ideal):
    # two requests 10 s apart see an idle server: each TTFT is one prefill
    r = ideal.solve("Llama3_8B", "H100", arrival_times=[0.0, 10.0], input_tokens=512, output_tokens=8)
    assert r.requests["ttft"] == pytest.approx([prefill(512, H100_PEAK, H100_BW)] * 2, rel=1e-3)
    # concurrency 1: requests back to back, never more than one in the system
    c1 = ideal.solve("Llama3_8B", "H100", concurrency=1, input_tokens=512, output_tokens=64, n_requests=20)
    assert c1.timeseries["running"].max() == 1 and c1.timeseries["queue"].max() <= 1
    one = prefill(512, H100_PEAK, H100_BW) + sum(decode(1, 512 + j, H100_PEAK, H100_BW) for j in range(63))
    assert c1.request_throughput.magnitude == pytest.approx(1 / one, rel=1e-3)


def test_chunked_prefill_keeps_decoding_during_prompts():
    s = LoadSolver(engine="vllm-v0")  # prefill-only steps unless chunked_prefill=True
    kw = dict(arrival_rate=8.0, input_tokens=2048, output_tokens=128, n_requests=2000, seed=2)
    plain = s.solve("Llama3_8B", "H100", **kw)
    chunked = s.solve("Llama3_8B", "H100", chunked_prefill=True, max_batched_tokens=512, **kw)
    # a 2048-token prompt stalls every decoding sequence for a whole prefill without chunking; with
    # 512-token chunks the worst interval is one mixed step, so the ITL tail shrinks
    assert chunked.itl_p99 < 0.6 * plain.itl_p99
    assert chunked.request_throughput.magnitude == pytest.approx(plain.request_throughput.magnitude, rel=0.05)


def test_prefix_cache_cuts_ttft_and_frees_kv():
    s = LoadSolver()
    kw = dict(arrival_rate=0.05, input_tokens=2048, output_tokens=16, n_requests=30)
    base = s.solve("Llama3_8B", "H100", **kw)
    hit = s.solve("Llama3_8B", "H100", prefix_hit_rate=0.75, **kw)
    sv = ServingSolver().solve("Llama3_8B", "H100", 2048, prefix_hit_rate=0.75)
    front_end = ml.calibration.calibrated().load_request_overhead_s  # vLLM's HTTP server and tokenizer
    assert hit.ttft_p50.to("s").magnitude == pytest.approx(sv.ttft_s + front_end, rel=1e-3)
    assert hit.ttft_p50 < 0.5 * base.ttft_p50


def test_cli_load(capsys):
    import json

    from mlsyslab.cli import main

    assert main(["load", "--model", "Llama3_8B", "--hardware", "H100", "--rate", "5", "--requests", "200",
                 "--input", "512", "--output", "64", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["n_requests"] == 200 and d["ttft_p50_ms"] > 0 and d["throughput_tokens_per_s"] <= 5 * 64 * 1.2
    assert main(["load", "--model", "Llama3_8B", "--hardware", "H100", "--rate", "5,20", "--analytic"]) == 0
    out = capsys.readouterr().out
    assert "capacity" in out and "TTFT p99 ms" in out
    assert main(["load", "--model", "Llama3_8B", "--hardware", "H100", "--rate", "3", "--ttft-sla", "3 GB"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sla.ttft" in err and "[time]" in err


@pytest.mark.parametrize("options", [{}, {"draft_model": "Llama3_2_1B"}, {"chunked_prefill": True, "prefix_hit_rate": 0.5}],
                         ids=["plain", "speculative", "chunked+prefix"])
def test_preemption_by_recompute_loses_and_duplicates_no_token(ideal, options):
    # 600 requests of 1000 + 1000 tokens at once on a 40 GB A100: prompts are admitted while their blocks fit,
    # then the growing outputs run out of blocks and requests are evicted and recomputed, many times over.
    # Every request still ends with exactly its 1000 tokens, and the KV pool is never over-full.
    r = ideal.solve("Llama3_8B", "A100_40GB", arrival_rate=math.inf, input_tokens=1000, output_tokens=1000,
                    n_requests=600, **options)
    assert r.preemptions > 100
    assert r.timeseries["tokens"][-1] == 600 * 1000
    assert np.all(np.isfinite(r.requests["e2e"])) and r.timeseries["kv_utilization"].max() <= 1.0
