"""Answer key of lab 2, the KV-cache memory wall (Llama-3.1-8B on an 80 GiB H100, fp16).

Reference values come from ``ServingSolver(efficiency="ideal")`` (the hand formula)::

    KV per token    = 2 (K and V) x L x H_kv x d_h x b_kv
    KV per sequence = KV per token x S
    W               = P x b_w
    max batch       = floor((capacity - W) / KV per sequence)
"""

from __future__ import annotations

import math

from ... import ServingSolver
from ...zoo import Hardware, Models
from ..rubric import Item, Mistake

SOLVER = ServingSolver(efficiency="ideal")
S, GB = 4096, 1e9


def _model(name):
    return Models.get(name)


def kv_per_token(name, *, factor=2.0, heads=None, bytes_per_value=2.0):
    m = _model(name)
    return factor * m.layers * (m.kv_heads if heads is None else heads) * m.head_dim * bytes_per_value


def max_batch(name, seq_len, *, capacity=None, kv_token=None, subtract_weights=True):
    m, hw = _model(name), Hardware.get("H100")
    cap = hw.memory_bytes if capacity is None else capacity
    spare = cap - (m.n_parameters * 2.0 if subtract_weights else 0.0)
    per_seq = (kv_per_token(name) if kv_token is None else kv_token) * seq_len
    return math.floor(spare / per_seq)


def _kv_token_mistakes(name):
    m = _model(name)
    return (
        Mistake("forgot_kv_x2", lambda: kv_per_token(name, factor=1.0),
                "you stored only K or only V: the cache holds both, a factor of 2 (K and V)."),
        Mistake("heads_not_kv_heads", lambda: kv_per_token(name, heads=m.heads),
                f"you used the {m.heads} query heads; with grouped-query attention only the "
                f"{m.kv_heads} KV heads are cached (kv_heads)."),
        Mistake("bits_not_bytes", lambda: kv_per_token(name, bytes_per_value=16.0),
                "you multiplied by 16 bits; fp16 is 2 bytes per value (bits vs bytes)."),
    )


def _batch_mistakes(name, seq_len):
    m = _model(name)
    return (
        Mistake("gb_not_gib", lambda: max_batch(name, seq_len, capacity=80e9),
                "you took 80 GB = 80e9 B; the H100's HBM is 80 GiB = 85.9e9 B (GiB vs GB).", credit=0.5),
        Mistake("forgot_kv_x2", lambda: max_batch(name, seq_len, kv_token=kv_per_token(name, factor=1.0)),
                "your KV per sequence misses the factor 2 for K and V."),
        Mistake("heads_not_kv_heads", lambda: max_batch(name, seq_len, kv_token=kv_per_token(name, heads=m.heads)),
                "you cached all query heads; only kv_heads are stored (GQA)."),
        Mistake("forgot_weights", lambda: max_batch(name, seq_len, subtract_weights=False),
                "the weights occupy memory too: subtract W = P x 2 B before dividing."),
        Mistake("bits_not_bytes", lambda: max_batch(name, seq_len, kv_token=kv_per_token(name, bytes_per_value=16.0)),
                "bits vs bytes: fp16 is 2 bytes per value, not 16."),
    )


def _solve(name, seq_len=S, batch=1, kv_precision=None):
    return SOLVER.solve(name, "H100", seq_len, batch, precision="fp16", kv_precision=kv_precision)


CELLS = {
    "ex1_kv_per_token": [
        Item("kv_bytes_per_token", 2, lambda: _solve("Llama3_8B").kv_per_seq_bytes / S,
             "KV-cache bytes per token (Llama-3.1-8B, fp16)", unit="B", mistakes=_kv_token_mistakes("Llama3_8B")),
    ],
    "ex1_oom_batch": [
        Item("weights_bytes", 1, lambda: _solve("Llama3_8B").weights_bytes, "weight bytes W = P x 2",
             unit="B", mistakes=(Mistake("bits_not_bytes", lambda: _model("Llama3_8B").n_parameters * 16,
                                         "bits vs bytes: fp16 is 2 bytes per parameter."),)),
        Item("kv_bytes_per_sequence", 1, lambda: _solve("Llama3_8B").kv_per_seq_bytes,
             "KV bytes of one 4096-token sequence", unit="B",
             mistakes=tuple(Mistake(m.name, (lambda v=m.value: v() * S), m.message) for m in _kv_token_mistakes("Llama3_8B"))),
        Item("max_batch", 2, lambda: SOLVER.max_batch_size("Llama3_8B", "H100", S),
             "largest batch before OOM at 4096 tokens", rtol=0.0, atol=1.0, mistakes=_batch_mistakes("Llama3_8B", S)),
    ],
    "ex1_kv_function": [  # hidden: the student's kv_cache_bytes() at configurations not shown
        Item("kv_fn_llama70b_int8", 1,
             lambda: SOLVER.solve("Llama3_70B", "H100", 8192, 4, precision="fp16", kv_precision="int8").kv_bytes,
             "kv_cache_bytes(Llama3_70B, 8192 tokens, batch 4, 1 byte)", unit="B"),
        Item("kv_fn_llama2_7b", 1, lambda: _solve("Llama2_7B", 1000, 3).kv_bytes,
             "kv_cache_bytes(Llama2_7B, 1000 tokens, batch 3, 2 bytes)", unit="B"),
    ],
    "ex2_context_batch": [
        Item("max_batch_32k", 1, lambda: SOLVER.max_batch_size("Llama3_8B", "H100", 32768),
             "largest batch at 32768 tokens", rtol=0.0, atol=1.0, mistakes=_batch_mistakes("Llama3_8B", 32768)),
        Item("kv_token_capacity", 2,
             lambda: (Hardware.get("H100").memory_bytes - _solve("Llama3_8B").weights_bytes)
             / (_solve("Llama3_8B").kv_per_seq_bytes / S),
             "tokens of KV-cache that fit beside the weights (batch x context)", rtol=0.02,
             mistakes=(Mistake("gb_not_gib", lambda: (80e9 - _model("Llama3_8B").n_parameters * 2) / kv_per_token("Llama3_8B"),
                               "you took 80 GB = 80e9 B; the H100 holds 80 GiB = 85.9e9 B (GiB vs GB).", credit=0.5),
                       Mistake("forgot_kv_x2", lambda: (Hardware.get("H100").memory_bytes - _model("Llama3_8B").n_parameters * 2)
                               / kv_per_token("Llama3_8B", factor=1.0), "the KV per token needs the factor 2 (K and V)."))),
    ],
    "ex3_gqa": [
        Item("gqa_ratio", 1, lambda: _solve("Llama2_7B").kv_per_seq_bytes / _solve("Llama3_8B").kv_per_seq_bytes,
             "KV per token of Llama-2-7B (MHA) / Llama-3.1-8B (GQA)", rtol=0.01,
             mistakes=(Mistake("inverted", lambda: _solve("Llama3_8B").kv_per_seq_bytes / _solve("Llama2_7B").kv_per_seq_bytes,
                               "you inverted the ratio: MHA over GQA is asked."),)),
        Item("llama2_max_batch", 2, lambda: SOLVER.max_batch_size("Llama2_7B", "H100", S),
             "largest Llama-2-7B batch at 4096 tokens", rtol=0.0, atol=1.0, mistakes=_batch_mistakes("Llama2_7B", S)),
    ],
}
