"""Lab 3: quantization - who gains, weights vs KV, and why prefill gains less (seed exercise 2).

Lab 3, quantization: variants and the visible graded items.

Decode is memory-bound: ``ITL ~ (W + KV) / BW`` with W = P x b_w and KV = 2 L H_kv d_h S B b_kv.
Prefill is compute-bound: ``TTFT ~ (2 P S B + 2 L S^2 a B) / peak(compute precision)``; an
H100/H200 has no int4 tensor path, so int4 weights are dequantised and multiplied at the fp16 rate.

A variant: ``model``, the ``gpu`` timed (no int4 path), exercise 1 at context ``S1`` and batch
``B1``, exercise 2 at ``S2`` x ``B2``, exercise 3 at ``S3`` (batch 1).

This module is the lab's one source: the graded items above, ``NOTEBOOK`` (the instructor
notebook's cells, built by ``mlsyslab course build``) below.
"""

from __future__ import annotations

from ...grading.rubric import Item, Mistake
from ..ideal import gpu as _g, model as _m, serving_solver as solver
from ..authoring import HOW_TO, IDEAL_LATENCY_NOTE, IMPORTS, answer, code, md, predict, recorder, reflection, say, tests

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
                 "GPU whose ITL drops by the most milliseconds with int8", kind="choice",
                 mistakes=(Mistake("largest_ratio", lambda: max(GPUS, key=lambda g: itl_ms(v, g) / itl_ms(v, g, "int8")),
                                   "that GPU has the largest speed-up ratio; the question asks for the most milliseconds "
                                   "saved, (W + KV)/2 / BW: the slowest memory saves the most time."),
                           Mistake("fastest_memory", lambda: max(GPUS, key=lambda g: _g(g).memory_bandwidth_Bps),
                                   "the fastest memory saves the least time: the bytes halved are the same on every GPU, "
                                   "and each byte costs 1/BW."))),
        ],
        "ex2_weights_vs_kv": [
            Item("saved_weights_only_gb", 1, lambda: saved_gb(v, "int8", "fp16"),
                 f"GB saved by int8 weights, fp16 KV ({S2} tokens x {B2})", unit="GB",
                 mistakes=_gib_mistake(lambda: saved_gb(v, "int8", "fp16"))),
            Item("saved_kv_only_gb", 1, lambda: saved_gb(v, "fp16", "int8"),
                 "GB saved by int8 KV, fp16 weights", unit="GB", mistakes=_gib_mistake(lambda: saved_gb(v, "fp16", "int8"))),
            Item("bigger_saving", 1, lambda: "kv" if saved_gb(v, "fp16", "int8") > saved_gb(v, "int8", "fp16") else "weights",
                 'which saves more here: "weights" or "kv"', kind="choice",
                 mistakes=(Mistake("other_term", lambda: "weights" if saved_gb(v, "fp16", "int8") > saved_gb(v, "int8", "fp16")
                                   else "kv",
                                   "compare the two savings in bytes: int8 weights save P x 1 B; an int8 KV-cache saves "
                                   "2 L H_kv d_h x S x B x 1 B, which grows with context and batch."),)),
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
                                   "the KV-cache stays fp16, so the bytes read shrink by less than 4x."),
                           Mistake("int8_2x", lambda: 2.0,
                                   "int4 is half a byte per weight: fp16 to int4 cuts the weight bytes 4x, not 2x "
                                   "(only the fp16 KV-cache keeps the speed-up below 4x)."),
                           Mistake("inverted", lambda: itl_ms(v, G, "int4", "fp16", S3, 1) / itl_ms(v, G, "fp16", None, S3, 1),
                                   "you inverted it: the speed-up is ITL(fp16) / ITL(int4), above 1."))),
        ],
    }


#: the Voila explorer of the same topic (labs/explorers/<lab>.ipynb): title, text, widget
EXPLORER = ('Quantization explorer', """
        Fewer bytes per value speed up what is memory-bound. Compare devices and precisions:
        decode (ITL) gains from int8, prefill (TTFT) only where the silicon has a faster path.
        """,
            'HardwareComparison(hardware=["A100", "H100", "H200", "MI300X"], precisions=["fp16", "int8"], '
            'model="Llama3_8B", seq_len=4096, batch_size=4, efficiency="ideal")')


# ---------------------------------------------------------------- the notebook
TITLE = "Lab 3 - Quantization: who gains, and where"

NOTEBOOK = [
    md("""
    # Lab 3 - Quantization: who gains, and where

    Quantization stores numbers in fewer bytes: fp16 = 2 B, int8/fp8 = 1 B, int4 = 0.5 B per value.
    Fewer bytes help whatever is **memory-bound** (decode reads every weight and the whole
    KV-cache for each new token) and help compute only where the silicon has a faster path for
    the narrower type.
"""
    + IDEAL_LATENCY_NOTE + HOW_TO),
    code(IMPORTS + """
    solver = ml.ServingSolver(efficiency="ideal")
    model, gpu = ml.Models.get(v.model), ml.Hardware.get(v.gpu)   # your variant
    gpus = [ml.Hardware.get(name) for name in ("A100", "H100", "H200", "MI300X")]
    print(lab.describe())
    for g in gpus:
        print(f"{g.key:>7}: {g.memory_bandwidth_Bps / 1e12:.2f} TB/s, fp16 {g.peak_flops['fp16'] / 1e12:.0f} TFLOP/s,"
              f" int8 {g.peak_flops.get('int8', 0) / 1e12:.0f} TOP/s, int4 {g.peak_flops.get('int4', 0) / 1e12:.0f} TOP/s")
    """),
    md(r"""
    ## Exercise 1 - Which GPU gains the most ITL from int8?

    A decode step reads the weights and the whole KV-cache, so at small batch the inter-token
    latency is

    $$\text{ITL} \approx \frac{W + KV}{BW}, \quad W = P\,b_w, \quad KV = 2\,L\,H_{kv}\,d_h\,S\,B\,b_{kv}$$
    """),
    say("""
    Your variant: {model.name}, **{S1} tokens** of context, **batch {B1}**.

    **Predict** the ITL on the {gpu.key} with int8 weights *and* KV-cache. Then compute
    `itl_fp16_ms` and `itl_int8_ms` on the {gpu.key} (in ms), and name `gpu_most_ms_saved`: on
    which of {gpus} does int8 save the most milliseconds per token (one of those names)?
    """),
    predict("cp_itl", "ITL of {model.name} on an {gpu.key} with int8 weights and KV ({S1} tokens, batch {B1})", "ms", 3.0,
            'solver.solve(model, gpu, v.S1, v.B1, precision="int8").itl'),
    answer("ans_itl", """
    itl_fp16_ms = None         # ms
    itl_int8_ms = None         # ms
    gpu_most_ms_saved = None   # "A100", "H100", "H200" or "MI300X"
    ### BEGIN SOLUTION
    def itl_ms(g, b):
        weights = model.n_parameters * b
        kv = 2 * model.layers * model.kv_heads * model.head_dim * v.S1 * v.B1 * b
        return (weights + kv) / g.memory_bandwidth_Bps * 1e3

    itl_fp16_ms, itl_int8_ms = itl_ms(gpu, 2), itl_ms(gpu, 1)
    gpu_most_ms_saved = max(gpus, key=lambda g: itl_ms(g, 2) - itl_ms(g, 1)).key
    ### END SOLUTION
    """),
    tests("ex1_itl", 5, recorder("itl_fp16_ms", "itl_int8_ms", "gpu_most_ms_saved")),
    code("""
    if reveal(cp_itl, globals(), "itl_fp16_ms", "itl_int8_ms", "gpu_most_ms_saved"):
        for g in gpus:
            a, b = (solver.solve(model, g, v.S1, v.B1, precision=p) for p in ("fp16", "int8"))
            print(f"{g.key:>7}: ITL fp16 {a.itl_s * 1e3:6.3f} ms -> int8 {b.itl_s * 1e3:6.3f} ms "
                  f"(saves {(a.itl_s - b.itl_s) * 1e3:.3f} ms, x{a.itl_s / b.itl_s:.2f}, {a.decode_bottleneck}-bound)")
        compare(f"ITL fp16 on {gpu.key}", itl_fp16_ms, solver.solve(model, gpu, v.S1, v.B1).itl_s * 1e3, "ms")
        compare(f"ITL int8 on {gpu.key}", itl_int8_ms, solver.solve(model, gpu, v.S1, v.B1, precision="int8").itl_s * 1e3, "ms")
    """),
    code("""
    from mlsyslab.widgets import HardwareComparison
    # the lab's solver (ideal) and your variant: the same ITL figures as the reveal above
    HardwareComparison(hardware=["A100", "H100", "H200", "MI300X"], precisions=["fp16", "int8"],
                       model=v.model, seq_len=v.S1, batch_size=v.B1, efficiency="ideal")
    """),
    *reflection("reflect_ex1", 1, """
    **Reflect.** Every GPU gets the same *ratio* (about 2x) from int8 at this batch. Why, and
    why does the slowest-memory GPU still save the most milliseconds?
    """, """
    (Default variant.) Decode is memory-bound on all four, so ITL is bytes / bandwidth and halving the bytes halves
    ITL everywhere. The milliseconds saved are (bytes saved) / BW, largest where BW is smallest:
    the A100 (2.0 TB/s) saves 4.5 ms per token, the MI300X (5.3 TB/s) 1.7 ms.
    """),
    md(r"""
    ## Exercise 2 - Weights or KV-cache: which to quantize?

    At long context and large batch the KV-cache outgrows the weights.
    """),
    say("""
    {model.name} on the {gpu.key}, **{S2} tokens, batch {B2}**. Compute, in GB (10^9 bytes), the
    memory saved by int8 **weights only** (KV stays fp16) and by int8 **KV-cache only** (weights
    stay fp16), and say which is bigger: `bigger_saving = "weights"` or `"kv"`.
    """),
    predict("cp_kv", "GB saved by an int8 KV-cache (fp16 weights), {S2} tokens x batch {B2}", "GB", 10,
            '(solver.solve(model, gpu, v.S2, v.B2).total_bytes - solver.solve(model, gpu, v.S2, v.B2, '
            'precision="fp16", kv_precision="int8").total_bytes) * ml.Q_(1, "B")'),
    answer("ans_weights_vs_kv", """
    saved_weights_only_gb = None   # GB
    saved_kv_only_gb = None        # GB
    bigger_saving = None           # "weights" or "kv"
    ### BEGIN SOLUTION
    saved_weights_only_gb = model.n_parameters * (2 - 1) / 1e9
    saved_kv_only_gb = 2 * model.layers * model.kv_heads * model.head_dim * v.S2 * v.B2 * (2 - 1) / 1e9
    bigger_saving = "kv" if saved_kv_only_gb > saved_weights_only_gb else "weights"
    ### END SOLUTION
    """),
    tests("ex2_weights_vs_kv", 3, recorder("saved_weights_only_gb", "saved_kv_only_gb", "bigger_saving")),
    code("""
    if reveal(cp_kv, globals(), "saved_weights_only_gb", "saved_kv_only_gb", "bigger_saving"):
        for w_p, kv_p in (("fp16", "fp16"), ("int8", "fp16"), ("fp16", "int8"), ("int8", "int8")):
            r = solver.solve(model, gpu, v.S2, v.B2, precision=w_p, kv_precision=kv_p)
            print(f"weights {w_p}, KV {kv_p}: weights {r.weights_bytes / 1e9:5.2f} GB + KV {r.kv_bytes / 1e9:5.2f} GB"
                  f" = {r.total_bytes / 1e9:5.2f} GB, ITL {r.itl_s * 1e3:.2f} ms")
    """),
    *reflection("reflect_ex2", 1, """
    **Reflect.** When would weight-only quantization be the better choice?
    """, """
    When the weights dominate memory traffic: short contexts and small batches (Llama-3.1-8B at
    4096 tokens and batch 1: W = 16 GB vs KV = 0.5 GB), or models too large to fit at all in fp16.
    """),
    md(r"""
    ## Exercise 3 - Why prefill gains less

    Prefill processes all $S$ prompt tokens at once; it is **compute-bound**:

    $$\text{TTFT} \approx \frac{2\,P\,S\,B + 2\,L\,S^2\,a\,B}{\text{peak}}, \quad a = H\,d_h$$
    """),
    say("""
    The {gpu.key} has no int4 tensor-core path: int4 weights (AWQ/GPTQ style, KV-cache kept in
    fp16) are dequantised and multiplied at the **fp16** rate ({gpu.peak_flops[fp16]:.4g} FLOP/s
    dense). At **{S3} tokens, batch 1**, compute `ttft_fp16_ms` and `ttft_int4_ms` (ms), and the
    decode speed-up `itl_speedup_int4` = ITL(fp16) / ITL(int4 weights, fp16 KV) at batch 1 and
    {S3} tokens.
    """),
    predict("cp_prefill", "TTFT of {model.name} on an {gpu.key} with int4 weights, {S3} tokens", "ms", 30,
            'solver.solve(model, gpu, v.S3, 1, precision="int4", kv_precision="fp16").ttft'),
    answer("ans_prefill", """
    ttft_fp16_ms = None       # ms
    ttft_int4_ms = None       # ms
    itl_speedup_int4 = None   # ITL(fp16) / ITL(int4), dimensionless
    ### BEGIN SOLUTION
    S, peak = v.S3, gpu.peak_flops["fp16"]
    flops = 2 * model.n_parameters * S + 2 * model.layers * S**2 * model.heads * model.head_dim
    ttft_fp16_ms = flops / peak * 1e3
    ttft_int4_ms = ttft_fp16_ms   # no int4 tensor path: fp16 rate
    kv = 2 * model.layers * model.kv_heads * model.head_dim * S * 2
    itl_speedup_int4 = (model.n_parameters * 2 + kv) / (model.n_parameters * 0.5 + kv)
    ### END SOLUTION
    """),
    tests("ex3_prefill", 5, recorder("ttft_fp16_ms", "ttft_int4_ms", "itl_speedup_int4")),
    code("""
    if reveal(cp_prefill, globals(), "ttft_fp16_ms", "ttft_int4_ms", "itl_speedup_int4"):
        for p in ("fp16", "int8", "int4"):
            r = solver.solve(model, gpu, v.S3, 1, precision=p, kv_precision="fp16")
            print(f"{p:>5} weights: TTFT {r.ttft_s * 1e3:6.1f} ms ({r.prefill_bottleneck}-bound, runs at {r.compute_precision}),"
                  f" ITL {r.itl_s * 1e3:5.2f} ms ({r.decode_bottleneck}-bound)")
    """),
    *reflection("reflect_ex3", 1, """
    **Reflect.** int8 weights *do* speed up prefill on your GPU, int4 weights do not.
    Explain using the compute-precision rule.
    """, """
    (Default variant, Llama-3.1-8B on an H100.) Prefill is compute-bound, so only a faster arithmetic path helps. The H100 has native int8
    tensor cores at twice the fp16 rate, so int8 halves TTFT; it has no int4 path, so int4 weights
    are dequantised to fp16 and TTFT stays 71 ms, while decode, memory-bound, still gains 3.6x.
    """),
]
