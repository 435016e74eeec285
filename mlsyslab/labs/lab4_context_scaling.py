"""Lab 4, context scaling: variants and the visible graded items.

Prefill FLOPs (batch 1): ``F = 2 P S`` (matmuls, linear in S) ``+ 2 L S^2 a`` (causal attention,
quadratic, a = heads x head_dim); the two are equal at ``S* = P / (L a)``. The attention share of
prefill FLOPs is ``2 L S^2 a / F = S / (S + S*)``; the :class:`~mlsyslab.widgets.ContextScaling`
widget in the lab (ideal efficiency) reports the same share at the same context. Decode reads
``W + KV(S)`` each step, linear in S.

A variant: ``model``, ``gpu``, the context ``S`` of exercise 1 and the long context ``S_long`` of
exercise 3.
"""

from __future__ import annotations

from ..grading.rubric import Item, Mistake
from .lab2_kv_cache import _g, _m, solver

LAB = "lab4_context_scaling"

POOL = (
    dict(model="Llama3_8B", gpu="H100", S=8192, S_long=131072),   # the default
    dict(model="Llama3_70B", gpu="MI300X", S=8192, S_long=131072),
    dict(model="Qwen2_5_7B", gpu="H200", S=4096, S_long=131072),
    dict(model="Llama3_2_3B", gpu="H100", S=16384, S_long=131072),
    dict(model="Llama3_8B", gpu="A100", S=32768, S_long=65536),
    dict(model="Llama3_2_1B", gpu="L40S", S=32768, S_long=131072),
)


def context(v) -> dict:
    m = _m(v.model)
    return dict(model=m, gpu=_g(v.gpu), S=v.S, S_long=v.S_long)


def _r(v, S):
    return solver().solve(v.model, v.gpu, S, 1, precision="fp16")


def linear_flops(v, S):
    return 2.0 * _m(v.model).n_active_parameters * S


def attention_flops(v, S):
    return _r(v, S).raw["flops_pre"] - linear_flops(v, S)


def attention_fraction(v, S):
    """Attention share of prefill FLOPs at ``S`` tokens: 2 L S^2 a / (2 P S + 2 L S^2 a)."""
    return attention_flops(v, S) / _r(v, S).raw["flops_pre"]


def cells(v) -> dict:
    """grade_id -> [Item] of variant ``v``."""
    S, SL, G = v.S, v.S_long, v.gpu
    m = lambda: _m(v.model)  # noqa: E731
    return {
        "ex1_flops": [
            Item("flops_linear_8k", 1, lambda: linear_flops(v, S), f"2 P S at {S} tokens (FLOP)", unit="FLOP",
                 mistakes=(Mistake("forgot_x2", lambda: linear_flops(v, S) / 2, "a multiply-accumulate is 2 FLOPs: 2 P S."),)),
            Item("flops_attention_8k", 2, lambda: attention_flops(v, S), f"2 L S^2 a at {S} tokens (FLOP)", unit="FLOP",
                 mistakes=(Mistake("non_causal", lambda: 2 * attention_flops(v, S),
                                   "causal attention computes about half of the S x S scores: 2 L S^2 a, not 4 L S^2 a."),
                           Mistake("forgot_layers", lambda: attention_flops(v, S) / m().layers,
                                   "every layer has its own attention: x L."))),
            Item("attention_fraction_8k", 1, lambda: attention_fraction(v, S),
                 f"attention share of prefill FLOPs at {S} tokens", rtol=0.03,
                 mistakes=(Mistake("over_linear", lambda: attention_flops(v, S) / linear_flops(v, S),
                                   "that is attention / (2 P S); the share is attention / (2 P S + attention)."),
                           Mistake("percent", lambda: 100 * attention_fraction(v, S),
                                   "give a fraction between 0 and 1, not a percentage.", credit=0.5))),
        ],
        "ex2_crossover": [
            Item("crossover_tokens", 2, lambda: S * linear_flops(v, S) / attention_flops(v, S),  # S* = P/(L a), solver FLOPs
                 "context where attention FLOPs equal the linear FLOPs (tokens)", unit="token", rtol=0.01,
                 mistakes=(Mistake("forgot_layers", lambda: m().n_active_parameters / m().attention_dim,
                                   "S* = P / (L a): the attention FLOPs are summed over the L layers."),
                           Mistake("non_causal", lambda: m().n_active_parameters / (2 * m().layers * m().attention_dim),
                                   "with causal attention 2 L S^2 a = 2 P S gives S* = P / (L a)."))),
        ],
        "ex3_long_context": [
            Item("ttft_128k_s", 2, lambda: _r(v, SL).ttft_s, f"TTFT at {SL} tokens (s)", unit="s",
                 mistakes=(Mistake("linear_only", lambda: linear_flops(v, SL) / _g(G).peak_flops["fp16"],
                                   "at long context attention matters: include 2 L S^2 a."),)),
            Item("itl_128k_ms", 2, lambda: _r(v, SL).itl_s * 1e3, f"ITL at {SL} tokens (ms)", unit="ms",
                 mistakes=(Mistake("forgot_kv", lambda: m().n_parameters * 2 / _g(G).memory_bandwidth_Bps * 1e3,
                                   "each step also reads the whole KV-cache."),
                           Mistake("forgot_kv_x2", lambda: (m().n_parameters * 2 + _r(v, SL).kv_bytes / 2)
                                   / _g(G).memory_bandwidth_Bps * 1e3, "the KV-cache holds K and V: x2."))),
        ],
    }
