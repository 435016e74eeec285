"""Lab 8, batching under load: variants and the visible graded items.

Ideal roofline step times (``ServingSolver(efficiency="ideal")``) and the load simulator
(``LoadSolver(efficiency="ideal")``)::

    T_pre     = max((2 P I + 2 L I^2 a) / peak, (W + I kv) / BW)          one prompt's prefill
    t_dec(B)  = max((2 P B + 4 L c a B) / peak, (W + B c kv) / BW)        one decode step, c = I + O/2
    capacity  = B / (B T_pre + (O - 1) t_dec(B))      requests/s with B seats always full (no chunking)
    KV blocks = floor((0.9 C - W) / (16 kv)),  max concurrency = floor(blocks / ceil((I_long + O_long) / 16))

A variant: ``model`` on ``gpu``; exercise 1 at ``I``/``O`` tokens with ``seats`` = max_num_seqs;
exercise 2 with long requests ``I_long``/``O_long``; exercise 3's SLA ``ttft_ms``/``itl_ms``.
"""

from __future__ import annotations

import math
from functools import lru_cache

from ..grading.rubric import Item, Mistake
from .ideal import gpu as _g, load_solver, model as _m, serving_solver as solver

LAB = "lab8_batching"

POOL = (
    dict(model="Llama3_8B", gpu="H100", I=1024, O=256, seats=64, I_long=16384, O_long=1024, ttft_ms=500, itl_ms=30),
    dict(model="Qwen2_5_7B", gpu="A100", I=1024, O=512, seats=32, I_long=16384, O_long=1024, ttft_ms=500, itl_ms=40),
    dict(model="Llama3_8B", gpu="H200", I=2048, O=256, seats=64, I_long=32768, O_long=2048, ttft_ms=800, itl_ms=30),
    dict(model="Mistral_7B", gpu="H100", I=1024, O=512, seats=48, I_long=16384, O_long=2048, ttft_ms=500, itl_ms=30),
    dict(model="Llama3_2_3B", gpu="L40S", I=1024, O=256, seats=64, I_long=16384, O_long=1024, ttft_ms=500, itl_ms=30),
    dict(model="Qwen2_5_7B", gpu="H100", I=2048, O=512, seats=32, I_long=32768, O_long=1024, ttft_ms=800, itl_ms=25),
)

#: arrival rates of exercise 3, as fractions of the variant's capacity with its seats full
RATE_FRACTIONS = (0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.2)


def context(v) -> dict:
    return dict(model=_m(v.model), gpu=_g(v.gpu), I=v.I, O=v.O, seats=v.seats, I_long=v.I_long, O_long=v.O_long,
                ttft_ms=v.ttft_ms, itl_ms=v.itl_ms, rates=", ".join(f"{r:g}" for r in rates(v)), rate_list=rates(v))


def t_prefill_ms(v) -> float:
    return solver().solve(v.model, v.gpu, v.I, 1).ttft_s * 1e3


def t_decode_ms(v, batch=None) -> float:
    return solver().solve(v.model, v.gpu, v.I + v.O // 2, v.seats if batch is None else batch).itl_s * 1e3


def capacity_req_s(v, *, prefill=True, batch=None) -> float:
    B = v.seats if batch is None else batch
    cycle_ms = (B * t_prefill_ms(v) if prefill else 0.0) + (v.O - 1) * t_decode_ms(v, B)
    return B / cycle_ms * 1e3


def rates(v) -> list:
    """Exercise 3's arrival rates (req/s, one decimal)."""
    cap = capacity_req_s(v)
    return [round(f * cap, 1) for f in RATE_FRACTIONS]


def kv_bytes_per_token(v) -> float:
    m = _m(v.model)
    return 2.0 * m.layers * m.kv_heads * m.head_dim * 2.0


def kv_blocks(v, *, util=0.9, capacity=None) -> int:
    cap = _g(v.gpu).memory_bytes if capacity is None else capacity
    return int((util * cap - _m(v.model).n_parameters * 2.0) // (16 * kv_bytes_per_token(v)))


def max_concurrency(v, **kw) -> int:
    return kv_blocks(v, **kw) // math.ceil((v.I_long + v.O_long) / 16)


@lru_cache(maxsize=None)
def _best_rate(model, gpu, I, O, seats, ttft_ms, itl_ms, rate_list) -> float:
    """Highest rate of ``rate_list`` at which >= 99 % of 2000 requests meet the SLA (0 if none)."""
    best = 0.0
    for rate in rate_list:
        r = load_solver().solve(model, gpu, arrival_rate=rate, input_tokens=I, output_tokens=O, n_requests=2000,
                                seed=0, max_num_seqs=seats, sla={"ttft": ttft_ms, "itl": itl_ms})
        if r.goodput_fraction >= 0.99:
            best = max(best, rate)
    return best


def best_rate(v) -> float:
    return _best_rate(v.model, v.gpu, v.I, v.O, v.seats, v.ttft_ms, v.itl_ms, tuple(rates(v)))


def cells(v) -> dict:
    """grade_id -> [Item] of variant ``v``."""
    G, B = v.gpu, v.seats
    gib = f"{_g(G).memory.capacity.magnitude:g}"
    return {
        "ex1_capacity": [
            Item("t_prefill_ms", 1, lambda: t_prefill_ms(v), f"prefill of one {v.I}-token prompt (ms)", unit="ms",
                 mistakes=(Mistake("forgot_x2", lambda: t_prefill_ms(v) / 2, "a multiply-accumulate is 2 FLOPs."),
                           Mistake("seconds", lambda: t_prefill_ms(v) / 1e3, "the answer is asked in ms.", credit=0.5))),
            Item("t_decode_ms", 1, lambda: t_decode_ms(v), f"one decode step of {B} sequences at {v.I + v.O // 2} "
                 "tokens of context (ms)", unit="ms",
                 mistakes=(Mistake("batch_one", lambda: t_decode_ms(v, 1),
                                   f"the step reads the KV-cache of all {B} sequences, not one."),)),
            Item("capacity_req_s", 2, lambda: capacity_req_s(v), f"requests/s with {B} seats always full", rtol=0.03,
                 mistakes=(Mistake("forgot_prefill", lambda: capacity_req_s(v, prefill=False),
                                   "without chunked prefill, every new request's prefill stalls the whole batch: "
                                   "a cycle of B requests also holds B prefills."),
                           Mistake("tokens_not_requests", lambda: capacity_req_s(v) * v.O,
                                   "that is output tokens/s; requests/s is asked.", credit=0.5))),
        ],
        "ex2_kv_limit": [
            Item("kv_blocks", 1, lambda: kv_blocks(v), "KV blocks of 16 tokens in 90 % of memory beside the weights",
                 rtol=0.0, atol=1.0,
                 mistakes=(Mistake("gb_not_gib", lambda: kv_blocks(v, capacity=float(gib) * 1e9),
                                   f"the {G}'s memory is {gib} GiB (2^30 B), not {gib} GB.", credit=0.5),
                           Mistake("all_memory", lambda: kv_blocks(v, util=1.0),
                                   "vLLM gives the weights and the KV-cache 90 % of memory (gpu_memory_utilization)."))),
            Item("max_concurrency", 2, lambda: max_concurrency(v),
                 f"requests of {v.I_long} + {v.O_long} tokens that fit at once", rtol=0.0, atol=0.0,
                 mistakes=(Mistake("prompt_only", lambda: kv_blocks(v) // math.ceil(v.I_long / 16),
                                   "a request's KV-cache grows while it generates: size it at prompt + output."),
                           Mistake("gb_not_gib", lambda: max_concurrency(v, capacity=float(gib) * 1e9),
                                   f"{gib} GiB is not {gib} GB.", credit=0.5))),
        ],
        "ex3_goodput": [
            Item("best_rate", 3, lambda: best_rate(v),
                 f"highest rate of [{context(v)['rates']}] req/s with >= 99 % of requests meeting the SLA",
                 rtol=0.0, atol=1e-6),
        ],
    }
