"""The serving model against hand calculations written out here.

Every expected figure below is worked out from published numbers (model cards, datasheets)
and the textbook formulas, not captured from the code:

* Llama-3-8B: 8.03e9 parameters, 32 layers, 32 query heads x 128, 8 KV heads (GQA).
* Llama-2-7B: 6.74e9 parameters, 32 layers, 32 heads x 128, 32 KV heads (MHA).
* Mixtral-8x7B: 46.7e9 parameters in all, 12.9e9 active per token (2 of 8 experts).
* H100 SXM: 80 GiB HBM3, 3.35 TB/s, 989.5 TFLOP/s dense fp16 (1979 is with 2:4 sparsity),
  no int4 tensor path; NVLink 4: 900 GB/s per GPU (both directions together).
* H200: 4.8 TB/s.  A100 80GB SXM: 2.039 TB/s, 312 TFLOP/s fp16, 1248 TOPS dense int4.

``efficiency="ideal"`` is the pure roofline, so its figures match the hand formulas exactly.
"""

from __future__ import annotations

import json
import math

import pytest

import mlsyslab
from mlsyslab import MLSysError, OOMError, ServingSolver

GB = 1e9
GiB = 2 ** 30

# Published / datasheet figures used by the hand calculations.
P_LLAMA3_8B = 8.03e9
L, HEADS, KV_HEADS, HEAD_DIM = 32, 32, 8, 128  # Llama-3-8B and Llama-2-7B share L, heads, head_dim
H100_BW = 3.35e12
H200_BW = 4.8e12
H100_FP16 = 989.5e12
H100_CAP = 80 * GiB  # = 85.899e9 B
A100_INT4 = 1248e12
NVLINK_H100 = 900e9


@pytest.fixture(scope="module")
def ideal():
    return ServingSolver(efficiency="ideal")


@pytest.fixture(scope="module")
def calibrated():
    return ServingSolver()


def kv_bytes(layers, kv_heads, head_dim, seq_len, batch, bytes_per_value):
    """KV = 2 (K and V) x layers x kv_heads x head_dim x seq_len x batch x bytes."""
    return 2 * layers * kv_heads * head_dim * seq_len * batch * bytes_per_value


# --------------------------------------------------------------------------- memory


def test_llama3_8b_fp16_weights_are_16_06_GB(ideal):
    r = ideal.solve("Llama3_8B", "H100", seq_len=2048)
    hand = P_LLAMA3_8B * 2  # 16.06e9 B
    assert hand == pytest.approx(16.06e9)
    assert r.model_weights_size.to("B").magnitude == pytest.approx(hand, rel=1e-3)
    assert f"{r.model_weights_size:~.2f}" == "16.06 GB"


def test_kv_cache_2048_tokens_batch_1_is_0_268_GB_with_gqa(ideal):
    r = ideal.solve("Llama3_8B", "H100", seq_len=2048, batch_size=1)
    hand = 2 * 32 * 8 * 128 * 2048 * 2  # = 268 435 456 B
    assert hand == 268_435_456
    assert r.kv_cache_size.to("B").magnitude == pytest.approx(hand, rel=1e-12)
    assert f"{r.kv_cache_size:~.3f}" == "0.268 GB"
    assert r.total_memory_required.to("B").magnitude == pytest.approx(P_LLAMA3_8B * 2 + hand, rel=1e-3)


def test_mha_llama2_7b_kv_is_four_times_gqa_llama3_8b_per_token(ideal):
    gqa = ideal.solve("Llama3_8B", "H100", seq_len=1000)
    mha = ideal.solve("Llama2_7B", "H100", seq_len=1000)
    # 32 KV heads instead of 8, same layers and head_dim: 2*32*32*128*2 = 524 288 B per token.
    assert mha.kv_cache_size.to("B").magnitude == pytest.approx(kv_bytes(L, 32, HEAD_DIM, 1000, 1, 2), rel=1e-12)
    assert mha.kv_cache_size.to("B").magnitude / gqa.kv_cache_size.to("B").magnitude == pytest.approx(4.0)


@pytest.mark.parametrize("precision, bytes_per_weight", [("fp32", 4), ("fp16", 2), ("bf16", 2),
                                                         ("int8", 1), ("fp8", 1), ("int4", 0.5)])
def test_weights_scale_with_bytes_per_value(ideal, precision, bytes_per_weight):
    r = ideal.solve("Llama3_8B", "H100", seq_len=128, precision=precision)
    assert r.model_weights_size.to("B").magnitude == pytest.approx(P_LLAMA3_8B * bytes_per_weight, rel=1e-3)


def test_int8_is_half_and_int4_a_quarter_of_fp16(ideal):
    w = {p: ideal.solve("Llama3_8B", "H100", 128, precision=p).model_weights_size.to("GB").magnitude
         for p in ("fp16", "int8", "int4")}
    assert w["int8"] == pytest.approx(w["fp16"] / 2, rel=1e-12)
    assert w["int4"] == pytest.approx(w["fp16"] / 4, rel=1e-12)
    assert w["int8"] == pytest.approx(8.03, abs=0.005)


def test_weight_only_int4_keeps_fp16_kv(ideal):
    r = ideal.solve("Llama3_8B", "H100", seq_len=2048, precision="int4", kv_precision="fp16")
    assert r.kv_precision == "fp16"
    assert r.kv_cache_size.to("B").magnitude == pytest.approx(kv_bytes(L, KV_HEADS, HEAD_DIM, 2048, 1, 2))
    assert r.model_weights_size.to("B").magnitude == pytest.approx(P_LLAMA3_8B * 0.5, rel=1e-3)
    # Default: the KV-cache follows the weight precision (0.5 B per value for int4).
    r4 = ideal.solve("Llama3_8B", "H100", seq_len=2048, precision="int4")
    assert r4.kv_cache_size.to("B").magnitude == pytest.approx(kv_bytes(L, KV_HEADS, HEAD_DIM, 2048, 1, 0.5))


# --------------------------------------------------------------------------- decode


def test_decode_itl_is_bytes_over_bandwidth_when_memory_bound(ideal):
    r = ideal.solve("Llama3_8B", "H100", seq_len=2048, batch_size=1)
    # Decode at batch 1 does ~2 x 8e9 = 16 GFLOP (16 us at 989.5 TFLOP/s) but reads 16.3 GB.
    hand_bytes = P_LLAMA3_8B * 2 + kv_bytes(L, KV_HEADS, HEAD_DIM, 2048, 1, 2)
    hand_itl = hand_bytes / H100_BW  # 4.87 ms
    assert hand_itl == pytest.approx(4.874e-3, rel=1e-3)
    assert r.decode_bottleneck == "memory"
    assert r.itl.to("s").magnitude == pytest.approx(hand_itl, rel=1e-3)
    assert r.decode_throughput.to("token/s").magnitude == pytest.approx(1 / hand_itl, rel=1e-3)


def test_h200_itl_is_h100_itl_times_bandwidth_ratio(ideal):
    h100 = ideal.solve("Llama3_8B", "H100", seq_len=2048, batch_size=1)
    h200 = ideal.solve("Llama3_8B", "H200", seq_len=2048, batch_size=1)
    # Same bytes moved; only the bandwidth differs: 3.35 vs 4.8 TB/s.
    assert h200.itl.to("s").magnitude == pytest.approx(h100.itl.to("s").magnitude * 3.35 / 4.8, rel=1e-9)


def test_decode_itl_grows_with_batch_through_the_kv_cache(ideal):
    # Memory-bound: ITL(B) = (W + B x KV_seq) / BW, linear in B with slope KV_seq / BW.
    kv_seq = kv_bytes(L, KV_HEADS, HEAD_DIM, 4096, 1, 2)
    for b in (1, 8, 32):
        r = ideal.solve("Llama3_8B", "H100", seq_len=4096, batch_size=b)
        assert r.itl.to("s").magnitude == pytest.approx((P_LLAMA3_8B * 2 + b * kv_seq) / H100_BW, rel=1e-3)


# --------------------------------------------------------------------------- prefill


def prefill_flops(P, layers, attn_dim, S, B):
    """2 x P x S x B (matmuls) + 2 x L x S^2 x (heads x head_dim) x B (causal attention)."""
    return 2 * P * S * B + 2 * layers * S ** 2 * attn_dim * B


def test_prefill_flops_and_ttft_when_compute_bound(ideal):
    S, B = 2048, 1
    r = ideal.solve("Llama3_8B", "H100", seq_len=S, batch_size=B)
    flops = prefill_flops(P_LLAMA3_8B, L, HEADS * HEAD_DIM, S, B)  # 3.40e13 FLOP
    assert flops == pytest.approx(3.399e13, rel=1e-3)
    assert r.prefill_flops.to("FLOP").magnitude == pytest.approx(flops, rel=1e-3)
    assert r.prefill_bottleneck == "compute"  # 34 ms of math vs 4.9 ms of memory traffic
    assert r.ttft.to("s").magnitude == pytest.approx(flops / H100_FP16, rel=1e-3)  # 34.4 ms


def test_ttft_grows_super_linearly_with_sequence_length(ideal):
    t = {S: ideal.solve("Llama3_8B", "H100", seq_len=S).ttft.to("s").magnitude for S in (4096, 8192, 32768)}
    assert t[8192] > 2 * t[4096]
    assert t[32768] > 4 * t[8192]
    # Exactly the quadratic formula: doubling S doubles the matmul term and quadruples attention.
    for S in t:
        assert t[S] == pytest.approx(prefill_flops(P_LLAMA3_8B, L, 4096, S, 1) / H100_FP16, rel=1e-3)


# --------------------------------------------------------------------------- memory wall


def test_oom_flips_at_the_hand_computed_batch(ideal):
    S = 4096
    cap = 80 * 2 ** 30
    assert cap == pytest.approx(85.899e9, rel=1e-5)
    weights = P_LLAMA3_8B * 2
    per_seq = 2 * 32 * 8 * 128 * S * 2  # 0.537 GB per sequence
    b_max = math.floor((cap - weights) / per_seq)
    assert b_max == 130
    fits = ideal.solve("Llama3_8B", "H100", seq_len=S, batch_size=b_max)
    over = ideal.solve("Llama3_8B", "H100", seq_len=S, batch_size=b_max + 1)
    assert fits.feasible is True and fits["feasible"] is True
    assert over.feasible is False
    assert fits.max_batch_size == b_max == ideal.max_batch_size("Llama3_8B", "H100", S)
    assert fits.memory_utilization <= 1 < over.memory_utilization
    # 8.03e9 is rounded to 3 figures: +-0.005e9 params x 2 B = +-1e7 B of slack in the hand figure
    assert over.overflow.to("B").magnitude == pytest.approx(weights + (b_max + 1) * per_seq - cap, abs=1e7)
    assert fits.overflow.to("B").magnitude == 0


def test_strict_raises_oom_error_with_the_figures(ideal):
    S, B = 4096, 131
    need = P_LLAMA3_8B * 2 + 2 * 32 * 8 * 128 * S * 2 * B  # 86.39 GB
    with pytest.raises(OOMError) as info:
        ideal.solve("Llama3_8B", "H100", seq_len=S, batch_size=B, strict=True)
    err = info.value
    assert isinstance(err, MLSysError)
    msg = str(err)
    assert "86.4 GB" in msg  # what is needed
    assert "85.9 GB" in msg and "80 GiB" in msg  # what the H100 holds, in both units
    assert "131" in msg and "130" in msg  # the batch asked for and the largest that fits
    assert err.required_bytes == pytest.approx(need, rel=1e-3)
    assert err.capacity_bytes == H100_CAP
    assert err.overflow_bytes == pytest.approx(need - H100_CAP, rel=1e-2)
    # strict does not raise when it fits
    assert ideal.solve("Llama3_8B", "H100", seq_len=S, batch_size=130, strict=True).feasible


def test_mixtral_fp16_does_not_fit_one_h100(ideal):
    r = ideal.solve("Mixtral_8x7B", "H100", seq_len=1024)
    # 46.7e9 x 2 B = 93.4 GB of weights > 85.9 GB: all experts must be resident.
    assert r.model_weights_size.to("GB").magnitude == pytest.approx(46.7 * 2, rel=0.01)
    assert r.feasible is False


# --------------------------------------------------------------------------- tensor parallelism


def test_tensor_parallel_halves_memory_per_gpu_and_adds_comm(ideal):
    S, B = 2048, 1
    tp1 = ideal.solve("Llama3_8B", "H100", seq_len=S, batch_size=B)
    tp2 = ideal.solve("Llama3_8B", "H100", seq_len=S, batch_size=B, tensor_parallel=2)
    assert tp2.model_weights_size.to("B").magnitude == pytest.approx(P_LLAMA3_8B * 2 / 2, rel=1e-3)
    assert tp2.kv_cache_size.to("B").magnitude == pytest.approx(kv_bytes(L, KV_HEADS / 2, HEAD_DIM, S, B, 2))
    assert tp1.decode_comm_time.magnitude == 0 and tp1.prefill_comm_time.magnitude == 0
    # Two ring all-reduces per layer of B x d x 2 B activations, each 2(t-1)/t x msg over
    # one direction of NVLink (900/2 GB/s); ideal mode has no link latency.
    msg = B * 4096 * 2
    hand_comm = 2 * L * (2 * (2 - 1) / 2 * msg / (NVLINK_H100 / 2))
    assert tp2.decode_comm_time.to("s").magnitude == pytest.approx(hand_comm, rel=1e-6)
    hand_itl = (P_LLAMA3_8B * 2 + kv_bytes(L, KV_HEADS, HEAD_DIM, S, B, 2)) / 2 / H100_BW + hand_comm
    assert tp2.itl.to("s").magnitude == pytest.approx(hand_itl, rel=1e-3)
    assert tp2.itl.to("s").magnitude > tp1.itl.to("s").magnitude / 2


# --------------------------------------------------------------------------- compute precision rule


def test_int4_on_h100_computes_at_fp16_rate_but_a100_uses_int4_peak(ideal):
    """The documented rule: weight-only int4 on a device without an int4 tensor path
    dequantises and multiplies at the fp16 rate; a device with native int4 uses its int4 peak."""
    S = 2048
    flops = prefill_flops(P_LLAMA3_8B, L, 4096, S, 1)
    h100_fp16 = ideal.solve("Llama3_8B", "H100", seq_len=S, precision="fp16")
    h100_int4 = ideal.solve("Llama3_8B", "H100", seq_len=S, precision="int4")
    assert h100_int4.compute_precision == "fp16"
    assert h100_int4.prefill_bottleneck == "compute"
    assert h100_int4.ttft.to("s").magnitude == pytest.approx(flops / H100_FP16, rel=1e-3)
    assert h100_int4.ttft.magnitude == pytest.approx(h100_fp16.ttft.magnitude, rel=1e-12)
    a100_int4 = ideal.solve("Llama3_8B", "A100", seq_len=S, precision="int4")
    assert a100_int4.compute_precision == "int4"
    assert a100_int4.ttft.to("s").magnitude == pytest.approx(flops / A100_INT4, rel=1e-3)


def test_int8_on_h100_uses_the_int8_tensor_path(ideal):
    r = ideal.solve("Llama3_8B", "H100", seq_len=2048, precision="int8")
    assert r.compute_precision == "int8"
    assert r.ttft.to("s").magnitude == pytest.approx(prefill_flops(P_LLAMA3_8B, L, 4096, 2048, 1) / 1979e12, rel=1e-3)


# --------------------------------------------------------------------------- MoE


def test_mixtral_decode_at_batch_1_reads_about_the_active_parameters(ideal):
    r = ideal.solve("Mixtral_8x7B", "H200", seq_len=512, batch_size=1)
    total_w = 46.7e9 * 2
    kv = kv_bytes(32, 8, 128, 512, 1, 2)
    # One token routes to 2 of 8 experts: it reads the shared weights + 2 experts per layer,
    # i.e. the 12.9e9 active parameters, not all 46.7e9.
    decode_weight_bytes = r.decode_bytes.to("B").magnitude - kv
    assert decode_weight_bytes == pytest.approx(12.9e9 * 2, rel=0.01)
    assert decode_weight_bytes < 0.3 * total_w
    assert r.itl.to("s").magnitude == pytest.approx((12.9e9 * 2 + kv) / H200_BW, rel=0.01)
    # A large batch touches (almost) every expert: 8 x (1 - (6/8)^64) ~ 8 experts per layer.
    big = ideal.solve("Mixtral_8x7B", "H200", seq_len=512, batch_size=64)
    assert big.decode_bytes.to("B").magnitude - 64 * kv == pytest.approx(total_w, rel=0.01)


# --------------------------------------------------------------------------- result object


def test_result_item_and_attribute_access_and_to_dict(calibrated):
    r = calibrated.solve(model=mlsyslab.Models.Llama3_8B, hardware=mlsyslab.Hardware.Cloud.H100,
                         seq_len=2048, batch_size=1, precision="fp16")
    for key in ("ttft", "itl", "model_weights_size", "kv_cache_size", "total_memory_required",
                "decode_throughput", "overflow"):
        assert r[key] == getattr(r, key)
        assert r[key].magnitude > 0 or key == "overflow"
    assert r["feasible"] is r.feasible is True
    assert r["memory_utilization"] == r.memory_utilization
    assert r["ttft"].to("ms").magnitude == pytest.approx(r.ttft.to("s").magnitude * 1e3)
    assert "ttft" in r and "nonsense" not in r
    with pytest.raises(KeyError):
        r["nonsense"]
    with pytest.raises(AttributeError):
        r.nonsense
    d = r.to_dict()
    assert d["feasible"] is True
    assert d["ttft [s]"] == pytest.approx(r.ttft.to("s").magnitude)
    assert d["kv_cache_size [GB]"] == pytest.approx(0.268435456)
    assert d["model"] == "Llama3_8B" and d["hardware"] == "H100"  # specs become their zoo names
    assert all(isinstance(v, (int, float, str, bool)) for v in d.values())
    assert json.loads(json.dumps(d)) == d
    assert "OOM" not in repr(r) and "Llama3_8B" in repr(r)
    assert "<table>" in r._repr_html_()


def test_string_and_spec_inputs_agree(ideal):
    a = ideal.solve("llama-3-8b", "h100", 2048)
    b = ideal.solve(mlsyslab.Models.Llama3_8B, mlsyslab.Hardware.Cloud.H100, 2048)
    assert a.to_dict() == b.to_dict()


def test_seq_len_accepts_a_token_quantity(ideal):
    q = mlsyslab.Q_(2048, "token")
    assert ideal.solve("Llama3_8B", "H100", q).ttft == ideal.solve("Llama3_8B", "H100", 2048).ttft


# --------------------------------------------------------------------------- calibrated vs ideal


def test_calibration_constants_are_physical(calibrated):
    cal = calibrated.calibration
    for eta in (cal.eta_compute_16, cal.eta_compute_8, cal.eta_compute_4, cal.eta_memory, cal.eta_network):
        assert 0 < eta <= 1
    assert cal.layer_overhead_prefill_s >= 0 and cal.layer_overhead_decode_s >= 0
    assert calibrated.efficiency == "calibrated"


@pytest.mark.parametrize("model, hw, S, B, prec, tp", [
    ("Llama3_8B", "H100", 2048, 1, "fp16", 1),
    ("Llama3_8B", "A100", 8192, 16, "int4", 1),
    ("Llama3_8B", "H200", 128, 64, "int8", 1),
    ("Llama3_70B", "H100", 4096, 8, "fp16", 4),
    ("Mixtral_8x7B", "MI300X", 1024, 4, "fp16", 1),
    ("Llama2_7B", "L4", 512, 2, "int8", 1),
])
def test_calibrated_is_never_faster_than_ideal(ideal, calibrated, model, hw, S, B, prec, tp):
    i = ideal.solve(model, hw, S, B, prec, tensor_parallel=tp)
    c = calibrated.solve(model, hw, S, B, prec, tensor_parallel=tp)
    assert c.ttft.magnitude >= i.ttft.magnitude
    assert c.itl.magnitude >= i.itl.magnitude
    # memory does not depend on the efficiency mode
    assert c.total_memory_required == i.total_memory_required and c.feasible == i.feasible


def test_results_flag_contexts_beyond_the_models_window():
    """Llama-2 was trained with a 4096-token context (Touvron et al. 2023); Llama-3.1 with 131072."""
    solver = ServingSolver(efficiency="ideal")
    assert solver.solve("Llama2_7B", "H100", seq_len=4096).within_context_window
    assert not solver.solve("Llama2_7B", "H100", seq_len=4097).within_context_window
    assert solver.solve("Llama3_8B", "H100", seq_len=131072)["within_context_window"]
