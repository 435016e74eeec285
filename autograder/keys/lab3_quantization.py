"""Answer key of lab 3, quantization (Llama-3.1-8B; reference: ``ServingSolver("ideal")``).

Decode is memory-bound: ``ITL ~ (W + KV) / BW`` with W = P x b_w and KV = 2 L H_kv d_h S B b_kv.
Prefill is compute-bound: ``TTFT ~ (2 P S B + 2 L S^2 a B) / peak(compute precision)``; an H100
has no int4 tensor path, so int4 weights are dequantised and multiplied at the fp16 rate.
"""

from __future__ import annotations

from ... import ServingSolver
from ...zoo import Hardware, Models
from ..rubric import Item, Mistake

SOLVER = ServingSolver(efficiency="ideal")
M = "Llama3_8B"
GPUS = ("A100", "H100", "H200", "MI300X")


def _itl_ms(gpu, precision="fp16", kv_precision=None, S=4096, B=4):
    return SOLVER.solve(M, gpu, S, B, precision=precision, kv_precision=kv_precision).itl_s * 1e3


def _by_hand_itl_ms(gpu, b=2.0, batch=4, S=4096, kv=True):
    m, hw = Models.get(M), Hardware.get(gpu)
    kv_bytes = 2 * m.layers * m.kv_heads * m.head_dim * b * S * batch if kv else 0.0
    return (m.n_parameters * b + kv_bytes) / hw.memory_bandwidth_Bps * 1e3


def _itl_mistakes(b):
    return (Mistake("forgot_batch", lambda: _by_hand_itl_ms("H100", b, batch=1),
                    "the KV-cache read each step is that of the whole batch: multiply by B (forgot batch)."),
            Mistake("forgot_kv", lambda: _by_hand_itl_ms("H100", b, kv=False),
                    "each decode step reads the KV-cache as well as the weights."),
            Mistake("seconds", lambda: _by_hand_itl_ms("H100", b) / 1e3, "the answer is asked in ms, you gave seconds.",
                    credit=0.5))


def _mem(precision, kv_precision):
    return SOLVER.solve(M, "H100", 32768, 8, precision=precision, kv_precision=kv_precision).total_bytes


def _saved_gb(precision, kv_precision):
    return (_mem("fp16", None) - _mem(precision, kv_precision)) / 1e9


def _gib_mistake(fn):
    return (Mistake("gib_not_gb", lambda: fn() * 1e9 / 2**30, "the answer is asked in GB (1e9 B), you gave GiB (2^30 B).",
                    credit=0.5),
            Mistake("bits", lambda: fn() * 8, "bits vs bytes: int8 saves 1 byte (8 bits) per value.", credit=0.0))


def _ttft_ms(precision, kv_precision=None):
    return SOLVER.solve(M, "H100", 4096, 1, precision=precision, kv_precision=kv_precision).ttft_s * 1e3


def _ttft_linear_only_ms():
    m = Models.get(M)
    return 2 * m.n_parameters * 4096 / Hardware.get("H100").peak_flops["fp16"] * 1e3


CELLS = {
    "ex1_itl": [
        Item("itl_fp16_ms", 2, lambda: _itl_ms("H100"), "ITL on H100, fp16, 4096 tokens, batch 4 (ms)", unit="ms",
             mistakes=_itl_mistakes(2.0)),
        Item("itl_int8_ms", 2, lambda: _itl_ms("H100", "int8"), "ITL on H100, int8 weights and KV (ms)", unit="ms",
             mistakes=_itl_mistakes(1.0)),
        Item("gpu_most_ms_saved", 1, lambda: max(GPUS, key=lambda g: _itl_ms(g) - _itl_ms(g, "int8")),
             "GPU whose ITL drops by the most milliseconds with int8", kind="choice"),
    ],
    "ex2_weights_vs_kv": [
        Item("saved_weights_only_gb", 1, lambda: _saved_gb("int8", "fp16"),
             "GB saved by int8 weights, fp16 KV (32768 tokens x 8)", unit="GB", mistakes=_gib_mistake(lambda: _saved_gb("int8", "fp16"))),
        Item("saved_kv_only_gb", 1, lambda: _saved_gb("fp16", "int8"),
             "GB saved by int8 KV, fp16 weights", unit="GB", mistakes=_gib_mistake(lambda: _saved_gb("fp16", "int8"))),
        Item("bigger_saving", 1, lambda: "kv" if _saved_gb("fp16", "int8") > _saved_gb("int8", "fp16") else "weights",
             'which saves more here: "weights" or "kv"', kind="choice"),
    ],
    "ex3_prefill": [
        Item("ttft_fp16_ms", 2, lambda: _ttft_ms("fp16"), "TTFT on H100, fp16, 4096 tokens (ms)", unit="ms",
             mistakes=(Mistake("forgot_attention", _ttft_linear_only_ms,
                               "you left out the attention FLOPs 2 L S^2 a: at 4096 tokens they add 7 %."),
                       Mistake("forgot_x2", lambda: _ttft_ms("fp16") / 2, "a multiply-accumulate is 2 FLOPs: F = 2 P S + ..."))),
        Item("ttft_int4_ms", 2, lambda: _ttft_ms("int4", "fp16"), "TTFT with int4 weights (ms)", unit="ms",
             mistakes=(Mistake("int4_compute", lambda: _ttft_ms("fp16") / 4,
                               "an H100 has no int4 tensor path: int4 weights are dequantised and multiplied at the fp16 rate."),
                       Mistake("int8_compute", lambda: _ttft_ms("fp16") / 2,
                               "int4 does not run at the int8 rate: it falls back to fp16 on an H100."))),
        Item("itl_speedup_int4", 1, lambda: _itl_ms("H100", "fp16", None, 4096, 1) / _itl_ms("H100", "int4", "fp16", 4096, 1),
             "ITL speed-up of int4 weights (fp16 KV), batch 1", rtol=0.03,
             mistakes=(Mistake("ideal_4x", lambda: 4.0, "the KV-cache stays fp16, so the bytes read shrink by less than 4x."),)),
    ],
}
