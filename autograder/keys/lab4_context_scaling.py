"""Answer key of lab 4, context scaling (Llama-3.1-8B on an H100, fp16, batch 1).

Prefill FLOPs: ``F = 2 P S`` (matmuls, linear in S) ``+ 2 L S^2 a`` (causal attention, quadratic);
the two are equal at ``S* = P / (L a)``. Decode reads ``W + KV(S)`` each step, linear in S.
"""

from __future__ import annotations

from ... import ServingSolver
from ...zoo import Hardware, Models
from ..rubric import Item, Mistake

SOLVER = ServingSolver(efficiency="ideal")
M = "Llama3_8B"


def _m():
    return Models.get(M)


def _r(S):
    return SOLVER.solve(M, "H100", S, 1, precision="fp16")


def _linear(S):
    return 2.0 * _m().n_active_parameters * S


def _attention(S):
    return _r(S).raw["flops_pre"] - _linear(S)


CELLS = {
    "ex1_flops": [
        Item("flops_linear_8k", 1, lambda: _linear(8192), "2 P S at 8192 tokens (FLOP)", unit="FLOP",
             mistakes=(Mistake("forgot_x2", lambda: _linear(8192) / 2, "a multiply-accumulate is 2 FLOPs: 2 P S."),)),
        Item("flops_attention_8k", 2, lambda: _attention(8192), "2 L S^2 a at 8192 tokens (FLOP)", unit="FLOP",
             mistakes=(Mistake("non_causal", lambda: 2 * _attention(8192),
                               "causal attention computes about half of the S x S scores: 2 L S^2 a, not 4 L S^2 a."),
                       Mistake("forgot_layers", lambda: _attention(8192) / _m().layers, "every layer has its own attention: x L."))),
        Item("attention_fraction_8k", 1, lambda: _attention(8192) / _r(8192).raw["flops_pre"],
             "attention share of prefill FLOPs at 8192 tokens", rtol=0.03),
    ],
    "ex2_crossover": [
        Item("crossover_tokens", 2, lambda: 8192 * _linear(8192) / _attention(8192),  # S* = P / (L a), from the solver's FLOPs
             "context where attention FLOPs equal the linear FLOPs (tokens)", unit="token", rtol=0.01,
             mistakes=(Mistake("forgot_layers", lambda: _m().n_active_parameters / _m().attention_dim,
                               "S* = P / (L a): the attention FLOPs are summed over the L layers."),
                       Mistake("non_causal", lambda: _m().n_active_parameters / (2 * _m().layers * _m().attention_dim),
                               "with causal attention 2 L S^2 a = 2 P S gives S* = P / (L a)."))),
    ],
    "ex3_long_context": [
        Item("ttft_128k_s", 2, lambda: _r(131072).ttft_s, "TTFT at 131072 tokens (s)", unit="s",
             mistakes=(Mistake("linear_only", lambda: _linear(131072) / Hardware.get("H100").peak_flops["fp16"],
                               "at 128k tokens attention dominates: include 2 L S^2 a."),)),
        Item("itl_128k_ms", 2, lambda: _r(131072).itl_s * 1e3, "ITL at 131072 tokens (ms)", unit="ms",
             mistakes=(Mistake("forgot_kv", lambda: _m().n_parameters * 2 / Hardware.get("H100").memory_bandwidth_Bps * 1e3,
                               "each step also reads the whole KV-cache (17 GB at 128k tokens)."),
                       Mistake("forgot_kv_x2", lambda: (_m().n_parameters * 2 + _r(131072).kv_bytes / 2)
                               / Hardware.get("H100").memory_bandwidth_Bps * 1e3, "the KV-cache holds K and V: x2."))),
    ],
}
