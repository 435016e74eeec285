"""Lab 3, quantization: variants and the visible graded items.

Decode is memory-bound: ``ITL ~ (W + KV) / BW`` with W = P x b_w and KV = 2 L H_kv d_h S B b_kv.
Prefill is compute-bound: ``TTFT ~ (2 P S B + 2 L S^2 a B) / peak(compute precision)``; an
H100/H200 has no int4 tensor path, so int4 weights are dequantised and multiplied at the fp16 rate.

A variant: ``model``, the ``gpu`` timed (no int4 path), exercise 1 at context ``S1`` and batch
``B1``, exercise 2 at ``S2`` x ``B2``, exercise 3 at ``S3`` (batch 1).
"""

from __future__ import annotations

from ..grading.rubric import Item, Mistake
from .lab2_kv_cache import _g, _m, solver

LAB = "lab3_quantization"

#: the GPUs exercise 1 compares (fixed: the choice answer depends on the variant's model and sizes)
GPUS = ("A100", "H100", "H200", "MI300X")

POOL = (
    dict(model="Llama3_8B", gpu="H100", S1=4096, B1=4, S2=32768, B2=8, S3=4096),   # the default
    dict(model="Llama3_2_1B", gpu="H200", S1=8192, B1=2, S2=8192, B2=4, S3=2048),
    dict(model="Qwen2_5_7B", gpu="H100", S1=4096, B1=8, S2=32768, B2=16, S3=8192),
    dict(model="Llama3_2_3B", gpu="H200", S1=8192, B1=4, S2=65536, B2=2, S3=2048),
    dict(model="Llama2_7B", gpu="H100", S1=2048, B1=8, S2=4096, B2=1, S3=4096),
    dict(model="Llama3_8B", gpu="H200", S1=16384, B1=2, S2=16384, B2=2, S3=8192),
)


def context(v) -> dict:
    return dict(model=_m(v.model), gpu=_g(v.gpu), S1=v.S1, B1=v.B1, S2=v.S2, B2=v.B2, S3=v.S3, gpus=", ".join(GPUS))


def itl_ms(v, gpu, precision="fp16", kv_precision=None, S=None, B=None):
    S = v.S1 if S is None else S
    B = v.B1 if B is None else B
    return solver().solve(v.model, gpu, S, B, precision=precision, kv_precision=kv_precision).itl_s * 1e3


def _by_hand_itl_ms(v, b=2.0, batch=None, kv=True):
    m, hw = _m(v.model), _g(v.gpu)
    batch = v.B1 if batch is None else batch
    kv_bytes = 2 * m.layers * m.kv_heads * m.head_dim * b * v.S1 * batch if kv else 0.0
    return (m.n_parameters * b + kv_bytes) / hw.memory_bandwidth_Bps * 1e3


def _itl_mistakes(v, b):
    return (Mistake("forgot_batch", lambda: _by_hand_itl_ms(v, b, batch=1),
                    "the KV-cache read each step is that of the whole batch: multiply by B (forgot batch)."),
            Mistake("forgot_kv", lambda: _by_hand_itl_ms(v, b, kv=False),
                    "each decode step reads the KV-cache as well as the weights."),
            Mistake("seconds", lambda: _by_hand_itl_ms(v, b) / 1e3, "the answer is asked in ms, you gave seconds.",
                    credit=0.5))


def _mem(v, precision, kv_precision):
    return solver().solve(v.model, v.gpu, v.S2, v.B2, precision=precision, kv_precision=kv_precision).total_bytes


def saved_gb(v, precision, kv_precision):
    return (_mem(v, "fp16", None) - _mem(v, precision, kv_precision)) / 1e9


def _gib_mistake(fn):
    return (Mistake("gib_not_gb", lambda: fn() * 1e9 / 2**30, "the answer is asked in GB (1e9 B), you gave GiB (2^30 B).",
                    credit=0.5),
            Mistake("bits", lambda: fn() * 8, "bits vs bytes: int8 saves 1 byte (8 bits) per value.", credit=0.0))


def ttft_ms(v, precision, kv_precision=None):
    return solver().solve(v.model, v.gpu, v.S3, 1, precision=precision, kv_precision=kv_precision).ttft_s * 1e3


def _ttft_linear_only_ms(v):
    return 2 * _m(v.model).n_parameters * v.S3 / _g(v.gpu).peak_flops["fp16"] * 1e3


def cells(v) -> dict:
    """grade_id -> [Item] of variant ``v``."""
    G, S1, B1, S2, B2, S3 = v.gpu, v.S1, v.B1, v.S2, v.B2, v.S3
    return {
        "ex1_itl": [
            Item("itl_fp16_ms", 2, lambda: itl_ms(v, G), f"ITL on {G}, fp16, {S1} tokens, batch {B1} (ms)", unit="ms",
                 mistakes=_itl_mistakes(v, 2.0)),
            Item("itl_int8_ms", 2, lambda: itl_ms(v, G, "int8"), f"ITL on {G}, int8 weights and KV (ms)", unit="ms",
                 mistakes=_itl_mistakes(v, 1.0)),
            Item("gpu_most_ms_saved", 1, lambda: max(GPUS, key=lambda g: itl_ms(v, g) - itl_ms(v, g, "int8")),
                 "GPU whose ITL drops by the most milliseconds with int8", kind="choice"),
        ],
        "ex2_weights_vs_kv": [
            Item("saved_weights_only_gb", 1, lambda: saved_gb(v, "int8", "fp16"),
                 f"GB saved by int8 weights, fp16 KV ({S2} tokens x {B2})", unit="GB",
                 mistakes=_gib_mistake(lambda: saved_gb(v, "int8", "fp16"))),
            Item("saved_kv_only_gb", 1, lambda: saved_gb(v, "fp16", "int8"),
                 "GB saved by int8 KV, fp16 weights", unit="GB", mistakes=_gib_mistake(lambda: saved_gb(v, "fp16", "int8"))),
            Item("bigger_saving", 1, lambda: "kv" if saved_gb(v, "fp16", "int8") > saved_gb(v, "int8", "fp16") else "weights",
                 'which saves more here: "weights" or "kv"', kind="choice"),
        ],
        "ex3_prefill": [
            Item("ttft_fp16_ms", 2, lambda: ttft_ms(v, "fp16"), f"TTFT on {G}, fp16, {S3} tokens (ms)", unit="ms",
                 mistakes=(Mistake("forgot_attention", lambda: _ttft_linear_only_ms(v),
                                   "you left out the attention FLOPs 2 L S^2 a."),
                           Mistake("forgot_x2", lambda: ttft_ms(v, "fp16") / 2,
                                   "a multiply-accumulate is 2 FLOPs: F = 2 P S + ..."))),
            Item("ttft_int4_ms", 2, lambda: ttft_ms(v, "int4", "fp16"), "TTFT with int4 weights (ms)", unit="ms",
                 mistakes=(Mistake("int4_compute", lambda: ttft_ms(v, "fp16") / 4,
                                   f"an {G} has no int4 tensor path: int4 weights are dequantised and multiplied at the "
                                   "fp16 rate."),
                           Mistake("int8_compute", lambda: ttft_ms(v, "fp16") / 2,
                                   f"int4 does not run at the int8 rate: it falls back to fp16 on an {G}."))),
            Item("itl_speedup_int4", 1,
                 lambda: itl_ms(v, G, "fp16", None, S3, 1) / itl_ms(v, G, "int4", "fp16", S3, 1),
                 "ITL speed-up of int4 weights (fp16 KV), batch 1", rtol=0.03,
                 mistakes=(Mistake("ideal_4x", lambda: 4.0,
                                   "the KV-cache stays fp16, so the bytes read shrink by less than 4x."),)),
        ],
    }
