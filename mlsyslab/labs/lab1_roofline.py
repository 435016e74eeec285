"""Visible graded items of lab 1, roofline hello world (ResNet-50 on an H100, fp16; ``mlsyslab.Engine``).

    ridge R = peak / BW            intensity I = F / M          bound = compute if I >= R
    F = B x flops_per_inference    M = P x b + B x activation_bytes_fp32 x b / 4
    latency = max(F / peak, M / BW)

One variant (``POOL`` has the default only): the lab's figures are fixed.
"""

from __future__ import annotations

from .. import Engine, roofline
from ..zoo import Hardware, Models
from ..grading.rubric import Item, Mistake
from .variants import one_variant

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
        Item("bound_b1", 1, lambda: _r(1).bound, '"memory" or "compute"', kind="choice"),
        Item("latency_b1_us", 1, lambda: _r(1).raw["latency"] * 1e6, "latency at batch 1 (microseconds)", unit="us",
             mistakes=(Mistake("compute_time", lambda: _r(1).raw["t_compute"] * 1e6,
                               "at batch 1 the memory time is the larger: latency = max(F/peak, M/BW)."),)),
    ],
    "ex3_crossover": [
        Item("crossover_batch", 2, _first_compute_bound_batch, "smallest batch that is compute-bound",
             rtol=0.0, atol=0.0,
             mistakes=(Mistake("forgot_activations", _crossover_without_activations,
                               "activations grow with the batch and keep the intensity below F1/(A b/4); "
                               "solve B F1 / (P b + B A b/4) >= R."),)),
    ],
}

# one variant: every student gets the same numbers (the answers are named after them)
POOL, context, cells = one_variant(ITEMS)
