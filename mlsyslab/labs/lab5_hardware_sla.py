"""Visible graded items of lab 5, choosing hardware under an SLA (Llama-3.1-8B, fp16, 2048-token contexts;
``ServingSolver("ideal")`` and ``CostSolver`` with its sourced GPU-hour prices).

    TTFT (one prompt) = (2 P S + 2 L S^2 a) / peak        (compute-bound)
    ITL (batch B)     = (W + B x KV_seq) / BW             (memory-bound)
    max batch         = floor((BW x ITL_target - W) / KV_seq), and within memory
    $ per 1M tokens   = price per hour / (B / ITL x 3600) x 1e6

A variant changes the model, the context and the ITL target (``POOL``).
"""

from __future__ import annotations

from functools import lru_cache

from .. import CostSolver, ServingSolver
from ..zoo import Hardware, Models
from ..grading.rubric import Item, Mistake

SOLVER = ServingSolver(efficiency="ideal")
LAB = "lab5_hardware_sla"

#: a variant: the ``model``, the context ``S`` and the ITL target ``itl_ms``; the GPUs compared
#: (H100, A100, L4) are the same for everyone (the answers' names say which)
POOL = (
    dict(model="Llama3_8B", S=2048, itl_ms=20),   # the default
    dict(model="Qwen2_5_7B", S=4096, itl_ms=20),
    dict(model="Mistral_7B", S=2048, itl_ms=30),
    dict(model="Llama3_2_3B", S=4096, itl_ms=15),
    dict(model="Llama3_8B", S=4096, itl_ms=25),
    dict(model="Qwen2_5_7B", S=2048, itl_ms=15),
)


def context(v) -> dict:
    return dict(model=Models.get(v.model), S=v.S, itl_ms=v.itl_ms)


@lru_cache(maxsize=None)
def _max_batch(gpu, M, S, target):
    best, b = 0, 1
    while b < 100_000:
        r = SOLVER.solve(M, gpu, S, b)
        if r.itl_s > target or not r.feasible:
            break
        best, b = b, b + 1
    return best


def max_batch_under_sla(v, gpu):
    """Largest batch whose ITL meets the target and whose memory fits (0 if none)."""
    return _max_batch(gpu, v.model, v.S, v.itl_ms / 1e3)


def _by_hand_batch(v, gpu, weights=True):
    m, hw = Models.get(v.model), Hardware.get(gpu)
    kv_seq = 2 * m.layers * m.kv_heads * m.head_dim * 2 * v.S
    w = m.n_parameters * 2 if weights else 0.0
    return max(int((hw.memory_bandwidth_Bps * v.itl_ms / 1e3 - w) // kv_seq), 0)


def _cost(v, gpu):
    return CostSolver().serving_cost(v.model, gpu, seq_len=v.S, batch_size=max(max_batch_under_sla(v, gpu), 1),
                                     efficiency="ideal").raw["per_million"]


def _ttft_ms(v, gpu):
    return SOLVER.solve(v.model, gpu, v.S, 1).ttft_s * 1e3


def cells(v) -> dict:
    """grade_id -> [Item] of variant ``v``."""
    M, S, T = v.model, v.S, v.itl_ms
    return {
        "ex1_ttft": [
            Item("ttft_h100_ms", 1, lambda: _ttft_ms(v, "H100"), f"TTFT of one {S}-token prompt on an H100 (ms)", unit="ms",
                 mistakes=(Mistake("memory_time", lambda: SOLVER.solve(M, "H100", S, 1).raw["t_pre_memory"] * 1e3,
                                   "prefill is compute-bound: use FLOPs / peak, not bytes / bandwidth."),
                           Mistake("forgot_x2", lambda: _ttft_ms(v, "H100") / 2, "a multiply-accumulate is 2 FLOPs."))),
            Item("ttft_l4_ms", 1, lambda: _ttft_ms(v, "L4"), "the same on an L4 (ms)", unit="ms"),
        ],
        "ex2_batch": [
            Item("max_batch_h100", 2, lambda: max_batch_under_sla(v, "H100"), f"largest batch with ITL <= {T} ms on an H100",
                 rtol=0.0, atol=1.0,
                 mistakes=(Mistake("forgot_weights", lambda: _by_hand_batch(v, "H100", weights=False),
                                   "each decode step reads all the weights too: BW x ITL - W is left for the KV-cache."),)),
            Item("max_batch_a100", 2, lambda: max_batch_under_sla(v, "A100"), "the same on an A100", rtol=0.0, atol=1.0,
                 mistakes=(Mistake("forgot_weights", lambda: _by_hand_batch(v, "A100", weights=False),
                                   "each decode step reads all the weights too: BW x ITL - W is left for the KV-cache."),)),
            Item("max_batch_l4", 1, lambda: max_batch_under_sla(v, "L4"), "the same on an L4", rtol=0.0, atol=0.0),
        ],
        "ex3_cost": [
            Item("cost_h100", 2, lambda: _cost(v, "H100"), "$ per 1M output tokens on an H100 at that batch", unit="USD",
                 rtol=0.03,
                 mistakes=(Mistake("batch_1", lambda: CostSolver().serving_cost(M, "H100", seq_len=S, batch_size=1,
                                                                                efficiency="ideal").raw["per_million"],
                                   "at batch B the GPU produces B tokens per ITL: throughput = B / ITL."),)),
            Item("cost_a100", 1, lambda: _cost(v, "A100"), "$ per 1M output tokens on an A100 at that batch", unit="USD",
                 rtol=0.03),
            Item("cheapest", 1, lambda: min(("H100", "A100"), key=lambda g: _cost(v, g)),
                 "cheaper per token under the SLA: H100 or A100", kind="choice"),
        ],
    }
