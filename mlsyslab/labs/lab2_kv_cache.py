"""Lab 2, the KV-cache memory wall: variants and the visible graded items.

Formulas (``ServingSolver(efficiency="ideal")`` gives the same)::

    KV per token    = 2 (K and V) x L x H_kv x d_h x b_kv
    KV per sequence = KV per token x S
    W               = P x b_w                     (fp16: b = 2 B)
    max batch       = floor((C - W) / KV per sequence)

A variant: a grouped-query-attention ``model`` on one ``gpu``, a context ``S`` (exercise 1), a
long context ``S_long`` (exercise 2) and a multi-head-attention model ``mha`` (exercise 3).
"""

from __future__ import annotations

import math

from ..grading.rubric import Item, Mistake
from .ideal import gpu as _g, model as _m, serving_solver as solver

LAB = "lab2_kv_cache"

POOL = (
    dict(model="Llama3_8B", gpu="H100", S=4096, S_long=32768, mha="Llama2_7B"),   # the default
    dict(model="Qwen2_5_7B", gpu="A100", S=4096, S_long=32768, mha="Llama2_13B"),
    dict(model="Llama3_2_3B", gpu="L40S", S=4096, S_long=16384, mha="Phi3_Mini"),
    dict(model="Llama3_70B", gpu="MI300X", S=4096, S_long=32768, mha="Llama2_13B"),
    dict(model="Llama3_2_1B", gpu="L4", S=2048, S_long=65536, mha="Phi3_Mini"),
    dict(model="Qwen2_5_7B", gpu="H200", S=2048, S_long=131072, mha="Llama2_13B"),
)


def context(v) -> dict:
    """Names for the lab's text: model, gpu, mha (zoo entries), S, S_long, cap_gib."""
    gpu = _g(v.gpu)
    return dict(model=_m(v.model), gpu=gpu, mha=_m(v.mha), S=v.S, S_long=v.S_long,
                cap=f"{gpu.memory.capacity.magnitude:g}")


def kv_per_token(name, *, factor=2.0, heads=None, bytes_per_value=2.0):
    m = _m(name)
    return factor * m.layers * (m.kv_heads if heads is None else heads) * m.head_dim * bytes_per_value


def max_batch(name, gpu, seq_len, *, capacity=None, kv_token=None, subtract_weights=True):
    m = _m(name)
    cap = _g(gpu).memory_bytes if capacity is None else capacity
    spare = cap - (m.n_parameters * 2.0 if subtract_weights else 0.0)
    per_seq = (kv_per_token(name) if kv_token is None else kv_token) * seq_len
    return math.floor(spare / per_seq)


def _gb_capacity(gpu) -> float:
    """The GiB figure read as GB: 80 GiB taken as 80e9 B."""
    return float(_g(gpu).memory.capacity.magnitude) * 1e9


def _kv_token_mistakes(name):
    m = _m(name)
    return (
        Mistake("forgot_kv_x2", lambda: kv_per_token(name, factor=1.0),
                "you stored only K or only V: the cache holds both, a factor of 2 (K and V)."),
        Mistake("heads_not_kv_heads", lambda: kv_per_token(name, heads=m.heads),
                f"you used the {m.heads} query heads; with grouped-query attention only the "
                f"{m.kv_heads} KV heads are cached (kv_heads)."),
        Mistake("bits_not_bytes", lambda: kv_per_token(name, bytes_per_value=16.0),
                "you multiplied by 16 bits; fp16 is 2 bytes per value (bits vs bytes)."),
    )


def _batch_mistakes(name, gpu, seq_len):
    m, g = _m(name), _g(gpu)
    cap = f"{g.memory.capacity.magnitude:g}"
    return (
        Mistake("gb_not_gib", lambda: max_batch(name, gpu, seq_len, capacity=_gb_capacity(gpu)),
                f"you took {cap} GB = {cap}e9 B; the {g.key}'s HBM is {cap} GiB = {g.memory_bytes / 1e9:.1f}e9 B "
                "(GiB vs GB).", credit=0.5),
        Mistake("forgot_kv_x2", lambda: max_batch(name, gpu, seq_len, kv_token=kv_per_token(name, factor=1.0)),
                "your KV per sequence misses the factor 2 for K and V."),
        Mistake("heads_not_kv_heads", lambda: max_batch(name, gpu, seq_len, kv_token=kv_per_token(name, heads=m.heads)),
                "you cached all query heads; only kv_heads are stored (GQA)."),
        Mistake("forgot_weights", lambda: max_batch(name, gpu, seq_len, subtract_weights=False),
                "the weights occupy memory too: subtract W = P x 2 B before dividing."),
        Mistake("bits_not_bytes", lambda: max_batch(name, gpu, seq_len, kv_token=kv_per_token(name, bytes_per_value=16.0)),
                "bits vs bytes: fp16 is 2 bytes per value, not 16."),
    )


def _solve(name, gpu, seq_len, batch=1, kv_precision=None):
    return solver().solve(name, gpu, seq_len, batch, precision="fp16", kv_precision=kv_precision)


def cells(v) -> dict:
    """grade_id -> [Item] of the visible graded items of variant ``v``."""
    M, G, S, S_long, MHA = v.model, v.gpu, v.S, v.S_long, v.mha
    name = _m(M).name
    return {
        "ex1_kv_per_token": [
            Item("kv_bytes_per_token", 2, lambda: _solve(M, G, S).kv_per_seq_bytes / S,
                 f"KV-cache bytes per token ({name}, fp16)", unit="B", mistakes=_kv_token_mistakes(M)),
        ],
        "ex1_oom_batch": [
            Item("weights_bytes", 1, lambda: _solve(M, G, S).weights_bytes, "weight bytes W = P x 2",
                 unit="B", mistakes=(Mistake("bits_not_bytes", lambda: _m(M).n_parameters * 16,
                                             "bits vs bytes: fp16 is 2 bytes per parameter."),)),
            Item("kv_bytes_per_sequence", 1, lambda: _solve(M, G, S).kv_per_seq_bytes,
                 f"KV bytes of one {S}-token sequence", unit="B",
                 mistakes=tuple(Mistake(m.name, (lambda f=m.value: f() * S), m.message) for m in _kv_token_mistakes(M))),
            Item("max_batch", 2, lambda: solver().max_batch_size(M, G, S),
                 f"largest batch before OOM at {S} tokens", rtol=0.0, atol=1.0, mistakes=_batch_mistakes(M, G, S)),
        ],
        "ex2_context_batch": [
            Item("max_batch_32k", 1, lambda: solver().max_batch_size(M, G, S_long),
                 f"largest batch at {S_long} tokens", rtol=0.0, atol=1.0, mistakes=_batch_mistakes(M, G, S_long)),
            Item("kv_token_capacity", 2,
                 lambda: (_g(G).memory_bytes - _solve(M, G, S).weights_bytes) / (_solve(M, G, S).kv_per_seq_bytes / S),
                 "tokens of KV-cache that fit beside the weights (batch x context)", rtol=0.02,
                 mistakes=(Mistake("gb_not_gib", lambda: (_gb_capacity(G) - _m(M).n_parameters * 2) / kv_per_token(M),
                                   "you took GB (1e9 B) where the HBM is counted in GiB (2^30 B).", credit=0.5),
                           Mistake("forgot_kv_x2", lambda: (_g(G).memory_bytes - _m(M).n_parameters * 2)
                                   / kv_per_token(M, factor=1.0), "the KV per token needs the factor 2 (K and V)."))),
        ],
        "ex3_gqa": [
            Item("gqa_ratio", 1, lambda: _solve(MHA, G, S).kv_per_seq_bytes / _solve(M, G, S).kv_per_seq_bytes,
                 f"KV per token of {_m(MHA).name} (MHA) / {name} (GQA)", rtol=0.01,
                 mistakes=(Mistake("inverted", lambda: _solve(M, G, S).kv_per_seq_bytes / _solve(MHA, G, S).kv_per_seq_bytes,
                                   "you inverted the ratio: MHA over GQA is asked."),)),
            Item("llama2_max_batch", 2, lambda: solver().max_batch_size(MHA, G, S),
                 f"largest {_m(MHA).name} batch at {S} tokens", rtol=0.0, atol=1.0, mistakes=_batch_mistakes(MHA, G, S)),
        ],
    }


def functions(v) -> dict:
    """The graded function, checked on the visible configuration only: the variant's model, S, batch 1, fp16."""
    M, G, S = v.model, v.gpu, v.S
    item = Item("kv_cache_bytes", 1, lambda: _solve(M, G, S).kv_per_seq_bytes,
                f"kv_cache_bytes(model, {S}, 1, 2)", unit="B",
                mistakes=tuple(Mistake(m.name, (lambda f=m.value: f() * S), m.message) for m in _kv_token_mistakes(M)))
    return {"kv_cache_bytes": [(item, (_m(M), S, 1, 2))]}
