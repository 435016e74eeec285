"""Lab 1: roofline hello world - memory- vs compute-bound, the ridge point.

Visible graded items of lab 1, roofline hello world (ResNet-50 on an H100, fp16; ``mlsyslab.Engine``).

    ridge R = peak / BW            intensity I = F / M          bound = compute if I >= R
    F = B x flops_per_inference    M = P x b + B x activation_bytes_fp32 x b / 4
    latency = max(F / peak, M / BW)

One variant (``POOL`` has the default only): the lab's figures are fixed.

This module is the lab's one source: the graded items above, ``NOTEBOOK`` (the instructor
notebook's cells, built by ``mlsyslab course build``) below.
"""

from __future__ import annotations

import math

from ... import Engine, roofline
from ...zoo import Hardware, Models
from ...grading.rubric import Item, Mistake
from ..variants import one_variant
from ..authoring import HOW_TO, IMPORTS, answer, code, md, predict, recorder, reflection, tests

M, GPU = "ResNet50", "H100"


def _r(batch):
    return Engine.solve(M, GPU, batch_size=batch, precision="fp16", efficiency="ideal")


def _intensity_by_hand(batch=1, b=2.0, activations=True):
    m = Models.get(M)
    bytes_moved = m.n_parameters * b + (batch * m.activation_bytes_fp32 * b / 4 if activations else 0.0)
    return batch * m.flops_per_inference / bytes_moved


def _first_compute_bound_batch():
    return next(b for b in range(1, 100_000) if _r(b).bound == "compute")


def _crossover_without_activations():
    m, hw = Models.get(M), Hardware.get(GPU)
    ridge = hw.peak_flops["fp16"] / hw.memory_bandwidth_Bps
    return next(b for b in range(1, 100_000) if b * m.flops_per_inference / (m.n_parameters * 2) >= ridge)


def _latency_by_hand_us(b=2.0, activations=True, scale=1e6):
    hw, m = Hardware.get(GPU), Models.get(M)
    t_mem = (m.n_parameters * b + (m.activation_bytes_fp32 * b / 4 if activations else 0.0)) / hw.memory_bandwidth_Bps
    return max(m.flops_per_inference / hw.peak_flops["fp16"], t_mem) * scale


def _ridge():
    hw = Hardware.get(GPU)
    return hw.peak_flops["fp16"] / hw.memory_bandwidth_Bps


def _other(choice):
    return "compute" if choice == "memory" else "memory"


LAB = "lab1_roofline"
ITEMS = {
    "ex1_ridge": [
        Item("ridge_h100", 2, lambda: roofline(GPU, "fp16").ridge_point.to("FLOP/B").magnitude,
             "ridge point of the H100 at fp16 (FLOP/byte)", unit="FLOP/B",
             mistakes=(Mistake("sparse_peak", lambda: 2 * Hardware.get(GPU).peak_flops["fp16"] / Hardware.get(GPU).memory_bandwidth_Bps,
                               "you used the 2:4-sparse peak (1979 TFLOP/s); the dense fp16 peak is 989.5 TFLOP/s."),
                       Mistake("inverted", lambda: Hardware.get(GPU).memory_bandwidth_Bps / Hardware.get(GPU).peak_flops["fp16"],
                               "the ridge is peak / bandwidth (FLOP per byte), not bandwidth / peak."))),
    ],
    "ex2_batch1": [
        Item("intensity_b1", 2, lambda: _r(1).raw["intensity"], "arithmetic intensity at batch 1 (FLOP/byte)",
             unit="FLOP/B",
             mistakes=(Mistake("forgot_activations", lambda: _intensity_by_hand(activations=False),
                               "the activations are read and written too: M = P b + B x activation bytes."),
                       Mistake("fp32_bytes", lambda: _intensity_by_hand(b=4.0),
                               "fp16 is 2 bytes per value, not 4 (fp32)."))),
        Item("bound_b1", 1, lambda: _r(1).bound, '"memory" or "compute"', kind="choice",
             mistakes=(Mistake("above_ridge", lambda: _other(_r(1).bound),
                               "compare the intensity with the ridge point: below the ridge the bandwidth is the roof "
                               "(memory-bound), above it the peak FLOP/s (compute-bound)."),)),
        Item("latency_b1_us", 1, lambda: _r(1).raw["latency"] * 1e6, "latency at batch 1 (microseconds)", unit="us",
             mistakes=(Mistake("compute_time", lambda: _r(1).raw["t_compute"] * 1e6,
                               "at batch 1 the memory time is the larger: latency = max(F/peak, M/BW)."),
                       Mistake("forgot_activations", lambda: _latency_by_hand_us(activations=False),
                               "the memory time moves the activations too: M = P b + B x activation bytes."),
                       Mistake("fp32_bytes", lambda: _latency_by_hand_us(b=4.0),
                               "fp16 moves 2 bytes per value, not 4 (fp32): the memory time is half that."),
                       Mistake("seconds", lambda: _r(1).raw["latency"],
                               "that is the latency in seconds; the answer is asked in microseconds (x 1e6)."))),
    ],
    "ex3_crossover": [
        Item("crossover_batch", 2, _first_compute_bound_batch, "smallest batch that is compute-bound",
             rtol=0.0, atol=0.0, kind="integer",
             mistakes=(Mistake("forgot_activations", _crossover_without_activations,
                               "activations grow with the batch and keep the intensity below F1/(A b/4); "
                               "solve B F1 / (P b + B A b/4) >= R."),
                       Mistake("linear_from_batch1", lambda: math.ceil(_ridge() / _intensity_by_hand(1)),
                               "the intensity does not grow linearly from its batch-1 value: the activation bytes "
                               "grow with B too, so solve B F1 / (P b + B A b/4) >= R for B."))),
    ],
}

# one variant: every student gets the same numbers (the answers are named after them)
POOL, context, cells = one_variant(ITEMS)


#: the Voila explorer of the same topic (labs/explorers/<lab>.ipynb): title, text, widget
EXPLORER = ('Roofline explorer', """
        Where does a model sit on a GPU's roofline? Pick devices and workloads: a point left of
        the ridge is memory-bound (bytes limit it), right of it compute-bound (FLOPs limit it).
        """,
            'RooflinePlot(hardware=["H100", "A100", "L4"], workloads=["ResNet50", "Llama3_8B", "BERT_Base"])')


# ---------------------------------------------------------------- the notebook
TITLE = "Lab 1 - Roofline hello world"

NOTEBOOK = [
    md("""
    # Lab 1 - Roofline hello world

    Every kernel is limited either by how fast the chip can **compute** (peak FLOP/s) or by how
    fast it can **move bytes** from memory (bandwidth, B/s). The roofline model says which:

    $$\\text{attainable FLOP/s} = \\min(\\text{peak},\\; BW \\times I), \\qquad I = \\frac{F}{M}\\ \\text{(FLOP per byte moved)}$$

    and the time of one pass is $\\max(F / \\text{peak},\\; M / BW)$.
    """ + HOW_TO),
    code(IMPORTS + """
    gpu, model = ml.Hardware.H100, ml.Models.ResNet50
    print(gpu.name, "| dense fp16 peak", f"{gpu.peak_flops['fp16']:.4g} FLOP/s", "| HBM bandwidth",
          f"{gpu.memory_bandwidth_Bps:.4g} B/s")
    print(model.name, "| parameters", f"{model.n_parameters:.4g}", "| FLOPs per image", f"{model.flops_per_inference:.4g}",
          "| activation bytes per image (fp32)", f"{model.activation_bytes_fp32:.4g}")
    """),
    md(r"""
    ## Exercise 1 - The ridge point

    The *ridge point* $R = \text{peak} / BW$ is the intensity at which the two roofs meet: below
    it a kernel is memory-bound, above it compute-bound. Use the **dense** fp16 peak
    (`gpu.peak_flops["fp16"]`; datasheets also print a 2:4-sparse figure twice as large).
    **Predict**, then compute `ridge_h100` in FLOP/byte.
    """),
    predict("cp_ridge", "Ridge point of the H100 at fp16", "FLOP/B", 100, 'ml.roofline("H100").ridge_point'),
    answer("ans_ridge", """
    ridge_h100 = None   # FLOP per byte
    ### BEGIN SOLUTION
    ridge_h100 = gpu.peak_flops["fp16"] / gpu.memory_bandwidth_Bps
    ### END SOLUTION
    """),
    tests("ex1_ridge", 2, recorder("ridge_h100")),
    code("""
    if reveal(cp_ridge, globals(), "ridge_h100"):
        for name in ("A100", "H100", "H200", "MI300X", "L4", "T4"):
            try:
                print(f"{name:>7}: ridge {ml.roofline(name).ridge_point:~.0f}")
            except ml.MLSysError as exc:
                print(name, exc)
    """),
    md(r"""
    ## Exercise 2 - ResNet-50 at batch 1

    One fp16 inference of a batch of $B$ images moves the weights once and each image's
    activations:

    $$F = B \times F_1, \qquad M = P \times b + B \times A_{fp32} \times \frac{b}{4}$$

    with $F_1$ = `model.flops_per_inference` (FLOPs = 2 x multiply-accumulates),
    $A_{fp32}$ = `model.activation_bytes_fp32` and $b$ = 2 bytes. At $B = 1$ compute
    `intensity_b1` (FLOP/byte), `bound_b1` (`"memory"` or `"compute"`) and `latency_b1_us`,
    the roofline latency in **microseconds**.

    This is a lower bound at datasheet peaks: it assumes every layer overlaps compute and memory
    traffic perfectly. A measured batch-1 ResNet-50 inference is many times slower, because each
    of its ~50 layers pays a kernel launch and few of them reach the peak.
    """),
    predict("cp_b1", "Latency of one ResNet-50 image on an H100 (fp16, batch 1)", "us", 10,
            'ml.Engine.solve("ResNet50", "H100", batch_size=1).latency'),
    answer("ans_batch1", """
    intensity_b1 = None    # FLOP per byte
    bound_b1 = None        # "memory" or "compute"
    latency_b1_us = None   # microseconds
    ### BEGIN SOLUTION
    F = model.flops_per_inference
    M = model.n_parameters * 2 + model.activation_bytes_fp32 * 2 / 4
    intensity_b1 = F / M
    bound_b1 = "compute" if intensity_b1 >= ridge_h100 else "memory"
    latency_b1_us = max(F / gpu.peak_flops["fp16"], M / gpu.memory_bandwidth_Bps) * 1e6
    ### END SOLUTION
    """),
    tests("ex2_batch1", 4, recorder("intensity_b1", "bound_b1", "latency_b1_us")),
    code("""
    if reveal(cp_b1, globals(), "intensity_b1", "bound_b1", "latency_b1_us"):
        r = ml.Engine.solve("ResNet50", "H100", batch_size=1)
        print(r)
        compare("intensity", intensity_b1, r.raw["intensity"], "FLOP/B")
    """),
    md(r"""
    ## Exercise 3 - How big a batch to become compute-bound?

    Batching reuses the weights: $I(B) = \dfrac{B F_1}{P b + B A_{fp32} b/4}$ grows with $B$ but
    saturates at $F_1 / (A_{fp32} b / 4)$. **Predict**, then compute `crossover_batch`, the
    smallest whole batch with $I(B) \ge R$.
    """),
    predict("cp_cross", "Smallest ResNet-50 batch that is compute-bound on an H100 (fp16)", "dimensionless", 32,
            'next(b for b in range(1, 10000) if ml.Engine.solve("ResNet50", "H100", batch_size=b).bound == "compute")'),
    answer("ans_crossover", """
    crossover_batch = None   # images (an integer)
    ### BEGIN SOLUTION
    A = model.activation_bytes_fp32 * 2 / 4
    W = model.n_parameters * 2
    crossover_batch = math.ceil(ridge_h100 * W / (model.flops_per_inference - ridge_h100 * A))
    ### END SOLUTION
    """),
    tests("ex3_crossover", 2, recorder("crossover_batch")),
    code("""
    if reveal(cp_cross, globals(), "crossover_batch"):
        for b in (1, 4, 8, 9, 10, 16, 64, 256):
            r = ml.Engine.solve("ResNet50", "H100", batch_size=b)
            print(f"batch {b:>3}: I = {r.raw['intensity']:6.1f} FLOP/B -> {r.bound}-bound, "
                  f"{r.raw['throughput']:9,.0f} images/s, MFU {r.utilization:.0%}")
    """),
    code("""
    from mlsyslab.widgets import RooflinePlot
    RooflinePlot(hardware=["H100", "A100"], workloads=["ResNet50", "Llama3_8B"])
    """),
    *reflection("reflect_ex3", 1, """
    **Reflect.** Why does batching move ResNet-50 across the ridge while a single decode step of
    an LLM (the Llama3_8B decode point in the plot above; labs 2 and 3 come back to it) stays
    memory-bound at any realistic batch?
    """, """
    Batching shares each weight read among B images, so intensity grows until activations
    dominate; ResNet-50's activations are small next to its 8 GFLOPs per image, so the ceiling
    (about 365 FLOP/B) clears the ridge (295). An LLM decode step also reads each sequence's
    KV-cache, which grows with the batch, and does only 2 FLOPs per parameter per token, so its
    intensity stays far below the ridge.
    """),
]
