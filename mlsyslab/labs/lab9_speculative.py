"""Lab 9, speculative decoding and prefix caching: variants and the visible graded items.

Ideal roofline (``ServingSolver(efficiency="ideal")``); a decode or verify step of ``B``
sequences at context ``S`` with ``n`` new tokens each::

    t(n) = max((2 P B n + 4 L S a B n) / peak, (W + B S kv) / BW)
    E    = (1 - alpha^(k+1)) / (1 - alpha)               tokens per round (Leviathan et al. 2023)
    speed-up = t_target(1) / ((k t_draft(1) + t_target(k+1)) / E)
    prefix cache: prefill of S_n = S - c tokens after c cached ones:
          F = 2 P S_n + 2 L a S_n (2 c + S_n)

A variant: ``model`` (target) and ``draft`` on ``gpu``; ``k`` drafted tokens at acceptance
``alpha``; exercise 2 at context ``S`` (batch 1); exercise 3 at the short context ``S3``;
exercise 4 a prompt of ``S_prompt`` tokens of which a fraction ``hit`` is cached.
"""

from __future__ import annotations

from ..grading.rubric import Item, Mistake
from .ideal import gpu as _g, model as _m, serving_solver as solver

LAB = "lab9_speculative"

POOL = (
    dict(model="Llama3_8B", draft="Llama3_2_1B", gpu="H100", k=4, alpha=0.8, S=1024, S3=256, S_prompt=8192, hit=0.75),
    dict(model="Llama3_8B", draft="Llama3_2_1B", gpu="A100", k=3, alpha=0.7, S=2048, S3=256, S_prompt=4096, hit=0.5),
    dict(model="Llama3_2_3B", draft="Llama3_2_1B", gpu="H100", k=3, alpha=0.85, S=2048, S3=256, S_prompt=8192,
         hit=0.75),
    dict(model="Llama3_8B", draft="Llama3_2_1B", gpu="H200", k=5, alpha=0.6, S=4096, S3=256, S_prompt=16384, hit=0.9),
    dict(model="Llama3_8B", draft="Llama3_2_3B", gpu="L40S", k=3, alpha=0.85, S=1024, S3=128, S_prompt=8192, hit=0.6),
    dict(model="Llama3_8B", draft="Llama3_2_1B", gpu="MI300X", k=4, alpha=0.75, S=2048, S3=256, S_prompt=8192,
         hit=0.8),
)

#: exercise 3 looks for the break-even batch among these
BATCHES = tuple(2 ** i for i in range(13))  # 1 ... 4096


def context(v) -> dict:
    return dict(model=_m(v.model), draft=_m(v.draft), gpu=_g(v.gpu), k=v.k, alpha=v.alpha, S=v.S, S3=v.S3,
                S_prompt=v.S_prompt, hit=v.hit, hit_pct=f"{v.hit:.0%}", cached=int(round(v.hit * v.S_prompt)))


def tokens_per_round(v, *, k=None) -> float:
    k = v.k if k is None else k
    return (1.0 - v.alpha ** (k + 1)) / (1.0 - v.alpha)


def step_ms(name, gpu, S, batch=1, new_tokens=1) -> float:
    """One decode (new_tokens = 1) or verify step, ideal roofline, ms."""
    m, hw = _m(name), _g(gpu)
    flops = 2 * m.n_active_parameters * batch * new_tokens + 4 * m.layers * S * m.attention_dim * batch * new_tokens
    byts = m.n_parameters * 2.0 + batch * S * m.kv_bytes_per_token(2.0)
    return max(flops / hw.peak_flops["fp16"], byts / hw.memory_bandwidth_Bps) * 1e3


def t_draft_ms(v) -> float:
    return solver().solve(v.draft, v.gpu, v.S, 1).itl_s * 1e3


def t_verify_ms(v) -> float:
    return step_ms(v.model, v.gpu, v.S, 1, v.k + 1)


def speedup(v, batch=1, S=None) -> float:
    S = v.S if S is None else S
    return solver().solve(v.model, v.gpu, S, batch, draft_model=v.draft, speculative_tokens=v.k,
                          acceptance_rate=v.alpha).speculative_speedup


def breakeven_batch(v) -> int:
    """Smallest batch of ``BATCHES`` at which speculation no longer pays (speed-up < 1) at context S3."""
    for b in BATCHES:
        if speedup(v, b, v.S3) < 1.0:
            return b
    return 0


def _ttft_ms(v, hit=0.0) -> float:
    return solver().solve(v.model, v.gpu, v.S_prompt, 1, prefix_hit_rate=hit).ttft_s * 1e3


def cells(v) -> dict:
    """grade_id -> [Item] of variant ``v``."""
    E = lambda: tokens_per_round(v)  # noqa: E731
    plain = lambda: step_ms(v.model, v.gpu, v.S)  # noqa: E731
    return {
        "ex1_tokens": [
            Item("tokens_per_round", 2, E, f"expected tokens per round, k = {v.k}, alpha = {v.alpha}", rtol=0.01,
                 mistakes=(Mistake("k_not_k_plus_1", lambda: tokens_per_round(v, k=v.k - 1),
                                   "the verify step always yields one token of its own: the sum runs to alpha^k "
                                   "(k + 1 terms), so the numerator is 1 - alpha^(k+1)."),
                           Mistake("k_alpha", lambda: v.k * v.alpha,
                                   "k x alpha counts every drafted token as independent; a rejection stops the round, "
                                   "so the i-th token counts with probability alpha^i."))),
        ],
        "ex2_speedup": [
            Item("t_draft_ms", 1, lambda: t_draft_ms(v), f"one draft decode step at {v.S} tokens, batch 1 (ms)",
                 unit="ms"),
            Item("t_verify_ms", 1, lambda: t_verify_ms(v), f"one target step verifying {v.k + 1} tokens (ms)",
                 unit="ms",
                 mistakes=(Mistake("k_plus_1_reads", lambda: (v.k + 1) * plain(),
                                   "the verify step reads the weights and the KV-cache once for all k + 1 tokens; "
                                   "only its FLOPs grow (and it stays memory-bound at batch 1)."),)),
            Item("speedup_b1", 2, lambda: speedup(v), "ITL without / with speculation, batch 1", rtol=0.02,
                 mistakes=(Mistake("forgot_draft", lambda: E() * plain() / t_verify_ms(v),
                                   "the draft's k decode steps cost time too: a round is k t_draft + t_verify."),
                           Mistake("forgot_E", lambda: plain() / ((v.k * t_draft_ms(v) + t_verify_ms(v)) / (v.k + 1)),
                                   "not every drafted token is accepted: a round yields E tokens, not k + 1."))),
        ],
        "ex3_breakeven": [
            Item("breakeven_batch", 3, lambda: breakeven_batch(v),
                 f"smallest batch (power of 2) where speculation stops paying at {v.S3} tokens", rtol=0.0, atol=0.0),
        ],
        "ex4_prefix": [
            Item("ttft_cached_ms", 2, lambda: _ttft_ms(v, v.hit),
                 f"TTFT of a {v.S_prompt}-token prompt with {v.hit:.0%} of it cached (ms)", unit="ms",
                 mistakes=(Mistake("linear", lambda: (1.0 - v.hit) * _ttft_ms(v),
                                   "the new tokens still attend to the cached ones: attention is "
                                   "2 L a S_n (2 c + S_n), not a share of the full prompt's."),)),
            Item("ttft_speedup", 1, lambda: _ttft_ms(v) / _ttft_ms(v, v.hit), "TTFT without / with the prefix cache",
                 rtol=0.02,
                 mistakes=(Mistake("linear", lambda: 1.0 / (1.0 - v.hit),
                                   "1 / (1 - hit) ignores the attention of the new tokens to the cached prefix."),)),
        ],
    }
