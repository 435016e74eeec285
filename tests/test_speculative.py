"""Speculative decoding and prefix caching in ServingSolver and LoadSolver, by hand; bad input.

Hand figures (``efficiency="ideal"``, fp16, H100: 989.5 TFLOP/s, 3.35 TB/s):

* Llama-3-8B (target): P = 8.030 B, L = 32, a = 4096, 8 KV heads x 128 -> 131 072 KV bytes/token.
* Llama-3.2-1B (draft): P = 1.236 B, L = 16, 8 KV heads x 64 -> 2 x 16 x 8 x 64 x 2 = 32 768 bytes/token.

Expected accepted tokens per round (Leviathan et al. 2023, eq. 1): E = (1 - alpha^(k+1)) / (1 - alpha).
A round costs k draft decode steps plus one target step that verifies k + 1 tokens per
sequence (the weights and the KV-cache are read once, FLOPs grow k + 1 times).
"""

from __future__ import annotations

import math

import pytest

import mlsyslab as ml
from mlsyslab import LoadSolver, ServingSolver, ValidationError
from mlsyslab.solvers.load_physics import expected_tokens

PEAK, BW = 989.5e12, 3.35e12
P_T, L_T, A_T, KV_T = 8.030261248e9, 32, 4096, 2 * 32 * 8 * 128 * 2.0
P_D, L_D, A_D, KV_D = 1.2358144e9, 16, 2048, 2 * 16 * 8 * 64 * 2.0


def step(P, L, a, kv, B, S, tokens):
    """One decode/verify step of B sequences at context S, ``tokens`` new tokens each (ideal roofline)."""
    return max((2 * P * B * tokens + 4 * L * S * a * B * tokens) / PEAK, (2 * P + B * S * kv) / BW)


def test_expected_tokens_formula():
    assert expected_tokens(0.8, 4) == pytest.approx((1 - 0.8 ** 5) / 0.2)  # 3.3616
    assert expected_tokens(0.8, 4) == pytest.approx(1 + 0.8 + 0.64 + 0.512 + 0.4096)
    assert expected_tokens(0.0, 4) == 1.0  # nothing accepted: only the target's own token
    assert expected_tokens(1.0, 4) == 5.0  # everything accepted: k + 1


@pytest.mark.parametrize("B,alpha,k", [(1, 0.8, 4), (16, 0.6, 3), (256, 0.7, 5)])
def test_speculative_itl_by_hand(B, alpha, k):
    S = 1024
    r = ServingSolver("ideal").solve("Llama3_8B", "H100", S, B, draft_model="Llama3_2_1B", speculative_tokens=k,
                                     acceptance_rate=alpha)
    E = (1 - alpha ** (k + 1)) / (1 - alpha)
    t_round = k * step(P_D, L_D, A_D, KV_D, B, S, 1) + step(P_T, L_T, A_T, KV_T, B, S, k + 1)
    assert r.itl_s == pytest.approx(t_round / E, rel=1e-9)
    assert r.tokens_per_step == pytest.approx(E)
    plain = step(P_T, L_T, A_T, KV_T, B, S, 1)
    assert r.itl_without_speculation.to("s").magnitude == pytest.approx(plain, rel=1e-9)
    assert r.speculative_speedup == pytest.approx(plain / (t_round / E), rel=1e-9)
    # the draft's weights and KV-cache sit beside the target's
    assert r.model_weights_size.to("GB").magnitude == pytest.approx((2 * P_T + 2 * P_D) / 1e9, rel=1e-9)


def test_speculation_pays_at_small_batch_and_stops_paying_when_compute_bound():
    s = ServingSolver("ideal")
    kw = dict(draft_model="Llama3_2_1B", speculative_tokens=4, acceptance_rate=0.8)
    small = s.solve("Llama3_8B", "H100", 1024, 1, **kw)
    assert small.speculative_speedup > 1.8  # memory-bound: verifying 5 tokens costs about one step
    # short contexts, B = 1024: a plain step is already compute-bound (2 P B = 16.4 TFLOP, 16.6 ms, vs
    # 33 GB of weights + KV, 10 ms), so verifying 5 tokens costs ~5x a step and yields E = 3.36 tokens
    big = s.solve("Llama3_8B", "H100", 128, 1024, **kw)
    assert big.decode_bottleneck == "compute"
    assert big.speculative_speedup < 1.0
    none = s.solve("Llama3_8B", "H100", 1024, 1, draft_model="Llama3_2_1B", acceptance_rate=0.0)
    assert none.speculative_speedup < 1.0  # nothing accepted: the draft is pure cost


def test_options_off_leave_serving_unchanged():
    s = ServingSolver()
    a = s.solve("Llama3_8B", "H100", 2048, 8)
    b = s.solve("Llama3_8B", "H100", 2048, 8, prefix_hit_rate=0.0, draft_model=None)
    assert a.to_dict() == b.to_dict()
    assert a.speculative_speedup == 1.0 and a.tokens_per_step == 1.0


def test_prefix_cache_prefill_by_hand():
    # 1536 of 2048 prompt tokens cached: prefill computes 512 tokens that attend to all before them
    S, c = 2048, 1536
    n = S - c
    r = ServingSolver("ideal").solve("Llama3_8B", "H100", S, prefix_hit_rate=0.75)
    F = 2 * P_T * n + 2 * L_T * n * (2 * c + n) * A_T
    M = 2 * P_T + S * KV_T
    assert r.ttft_s == pytest.approx(max(F / PEAK, M / BW), rel=1e-9)
    assert r.itl_s == ServingSolver("ideal").solve("Llama3_8B", "H100", S).itl_s  # decode unchanged


def test_load_solver_speculation_matches_serving_at_low_rate():
    kw = dict(draft_model="Llama3_2_1B", speculative_tokens=4, acceptance_rate=0.7)
    r = LoadSolver().solve("Llama3_8B", "H100", arrival_rate=0.001, input_tokens=512, output_tokens=256, n_requests=20,
                           **kw)
    sv = ServingSolver().solve("Llama3_8B", "H100", 512 + 128, **kw)
    # the load model's decode steps pay its own fixed time per layer (load_fitted.json) instead of the serving
    # fit's: per output token, k draft steps (16 layers) and one verify step (32 layers) over E tokens
    cal = ml.calibration.calibrated()
    E = (1 - 0.7 ** 5) / (1 - 0.7)
    shift = (4 * 16 + 32) * (cal.layer_overhead_decode_s - cal.load_layer_overhead_decode_s) / E
    assert r.itl_p50.to("s").magnitude == pytest.approx(sv.itl_s - shift, rel=5e-3)
    sv0 = ServingSolver().solve("Llama3_8B", "H100", 512, **kw)
    # TTFT: the prefill plus the time vLLM's Python front end takes before the scheduler sees the request
    assert r.ttft_p50.to("s").magnitude == pytest.approx(sv0.ttft_s + cal.load_request_overhead_s, rel=1e-3)


# ---------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs,field,words", [
    (dict(arrival_rate=-2.0), "arrival_rate", ">"),
    (dict(arrival_rate="fast"), "arrival_rate", "arrival_rate"),
    (dict(arrival_rate=2.0, sla={"ttft": "5 GB"}), "sla.ttft", "dimension"),
    (dict(arrival_rate=2.0, sla={"latency": 10}), "sla.latency", "does not apply"),
    (dict(arrival_rate=2.0, input_tokens=130_000, output_tokens=2000), "input_tokens", "context window"),
    (dict(arrival_rate=2.0, draft_model="Llama3_70B"), "draft_model", "smaller"),
    (dict(arrival_rate=2.0, draft_model="Llama3_2_1B", chunked_prefill=True), "chunked_prefill", "not modelled"),
    (dict(arrival_rate=2.0, concurrency=4), "arrival_rate", "exactly one"),
    (dict(arrival_rate=2.0, prefix_hit_rate=1.0), "prefix_hit_rate", "< 1"),
    (dict(arrival_rate=2.0, input_tokens=("unifrom", 3, 9)), "input_tokens[0]", "Did you mean 'uniform'"),
    (dict(arrival_rate=2.0, seed=-1), "seed", "integer"),
    (dict(arrival_times=[1.0, -3.0]), "arrival_times", ">= 0"),
])
def test_load_solver_errors(kwargs, field, words):
    with pytest.raises(ValidationError) as info:
        LoadSolver().solve("Llama3_8B", "H100", n_requests=kwargs.pop("n_requests", None), **kwargs)
    assert info.value.field == field
    assert words in str(info.value)


def test_serving_solver_errors():
    s = ServingSolver()
    with pytest.raises(ValidationError, match="smaller") as info:
        s.solve("Llama3_8B", "H100", 1024, draft_model="Llama3_8B")
    assert info.value.field == "draft_model"
    with pytest.raises(ValidationError, match="Did you mean") as info:
        s.solve("Llama3_8B", "H100", 1024, draft_model="Llama3_2_1")
    with pytest.raises(ValidationError) as info:
        s.solve("Llama3_8B", "H100", 1024, draft_model="Llama3_2_1B", acceptance_rate=1.5)
    assert info.value.field == "acceptance_rate"
    with pytest.raises(ValidationError) as info:
        s.solve("Llama3_8B", "H100", 1024, prefix_hit_rate=-0.1)
    assert info.value.field == "prefix_hit_rate"


def test_request_bigger_than_the_kv_pool_is_refused():
    # Llama-3-8B on an L4 (24 GiB): 0.9 x 25.77 GB - 16.06 GB of weights = 7.13 GB of KV, ~54 400 tokens
    with pytest.raises(ValidationError, match="KV blocks") as info:
        LoadSolver().solve("Llama3_8B", "L4", arrival_rate=1.0, input_tokens=60_000, output_tokens=100)
    assert info.value.field == "input_tokens"
    assert math.isfinite(LoadSolver().solve("Llama3_8B", "L4", arrival_rate=1.0, input_tokens=2000, output_tokens=100,
                                            n_requests=50).ttft_p50.magnitude)
