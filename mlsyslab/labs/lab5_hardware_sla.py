"""Visible graded items of lab 5, choosing hardware under an SLA (Llama-3.1-8B, fp16, 2048-token contexts;
``ServingSolver("ideal")`` and ``CostSolver`` with its sourced GPU-hour prices).

    TTFT (one prompt) = (2 P S + 2 L S^2 a) / peak        (compute-bound)
    ITL (batch B)     = (W + B x KV_seq) / BW             (memory-bound)
    max batch         = floor((BW x ITL_target - W) / KV_seq), and within memory
    $ per 1M tokens   = price per hour / (B / ITL x 3600) x 1e6

One variant (``POOL`` has the default only): the lab's figures are fixed.
"""

from __future__ import annotations

from functools import lru_cache

from .. import CostSolver, ServingSolver
from ..zoo import Hardware, Models
from ..grading.rubric import Item, Mistake

SOLVER = ServingSolver(efficiency="ideal")
M, S, ITL_TARGET = "Llama3_8B", 2048, 0.020


@lru_cache(maxsize=None)
def max_batch_under_sla(gpu):
    """Largest batch whose ITL meets the target and whose memory fits (0 if none)."""
    best, b = 0, 1
    while b < 100_000:
        r = SOLVER.solve(M, gpu, S, b)
        if r.itl_s > ITL_TARGET or not r.feasible:
            break
        best, b = b, b + 1
    return best


def _by_hand_batch(gpu, capacity_gb=False, weights=True):
    m, hw = Models.get(M), Hardware.get(gpu)
    kv_seq = 2 * m.layers * m.kv_heads * m.head_dim * 2 * S
    w = m.n_parameters * 2 if weights else 0.0
    return max(int((hw.memory_bandwidth_Bps * ITL_TARGET - w) // kv_seq), 0)


def _cost(gpu):
    return CostSolver().serving_cost(M, gpu, seq_len=S, batch_size=max_batch_under_sla(gpu),
                                     efficiency="ideal").raw["per_million"]


def _ttft_ms(gpu):
    return SOLVER.solve(M, gpu, S, 1).ttft_s * 1e3


LAB = "lab5_hardware_sla"
POOL = (dict(),)


def context(v) -> dict:
    return {}


def cells(v) -> dict:
    """grade_id -> [Item] (the same for every student)."""
    return ITEMS


ITEMS = {
    "ex1_ttft": [
        Item("ttft_h100_ms", 1, lambda: _ttft_ms("H100"), "TTFT of one 2048-token prompt on an H100 (ms)", unit="ms",
             mistakes=(Mistake("memory_time", lambda: SOLVER.solve(M, "H100", S, 1).raw["t_pre_memory"] * 1e3,
                               "prefill of 2048 tokens is compute-bound: use FLOPs / peak, not bytes / bandwidth."),
                       Mistake("forgot_x2", lambda: _ttft_ms("H100") / 2, "a multiply-accumulate is 2 FLOPs."))),
        Item("ttft_l4_ms", 1, lambda: _ttft_ms("L4"), "the same on an L4 (ms)", unit="ms"),
    ],
    "ex2_batch": [
        Item("max_batch_h100", 2, lambda: max_batch_under_sla("H100"), "largest batch with ITL <= 20 ms on an H100",
             rtol=0.0, atol=1.0,
             mistakes=(Mistake("forgot_weights", lambda: _by_hand_batch("H100", weights=False),
                               "each decode step reads all the weights too: BW x ITL - W is left for the KV-cache."),)),
        Item("max_batch_a100", 2, lambda: max_batch_under_sla("A100"), "the same on an A100", rtol=0.0, atol=1.0,
             mistakes=(Mistake("forgot_weights", lambda: _by_hand_batch("A100", weights=False),
                               "each decode step reads all the weights too: BW x ITL - W is left for the KV-cache."),)),
        Item("max_batch_l4", 1, lambda: max_batch_under_sla("L4"), "the same on an L4", rtol=0.0, atol=0.0),
    ],
    "ex3_cost": [
        Item("cost_h100", 2, lambda: _cost("H100"), "$ per 1M output tokens on an H100 at that batch", unit="USD",
             rtol=0.03,
             mistakes=(Mistake("batch_1", lambda: CostSolver().serving_cost(M, "H100", seq_len=S, batch_size=1,
                                                                            efficiency="ideal").raw["per_million"],
                               "at batch B the GPU produces B tokens per ITL: throughput = B / ITL."),)),
        Item("cost_a100", 1, lambda: _cost("A100"), "$ per 1M output tokens on an A100 at that batch", unit="USD",
             rtol=0.03),
        Item("cheapest", 1, lambda: min(("H100", "A100"), key=_cost), "cheaper per token under the SLA: H100 or A100",
             kind="choice"),
    ],
}
