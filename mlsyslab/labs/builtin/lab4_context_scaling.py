"""Lab 4: context scaling - linear 2PS vs quadratic attention (seed exercise 3).

Lab 4, context scaling: variants and the visible graded items.

Prefill FLOPs (batch 1): ``F = 2 P S`` (matmuls, linear in S) ``+ 2 L S^2 a`` (causal attention,
quadratic, a = heads x head_dim); the two are equal at ``S* = P / (L a)``. The attention share of
prefill FLOPs is ``2 L S^2 a / F = S / (S + S*)``; the :class:`~mlsyslab.widgets.ContextScaling`
widget in the lab (ideal efficiency) reports the same share at the same context. Decode reads
``W + KV(S)`` each step, linear in S.

A variant: ``model``, ``gpu``, the context ``S`` of exercise 1 and the long context ``S_long`` of
exercise 3.

This module is the lab's one source: the graded items above, ``NOTEBOOK`` (the instructor
notebook's cells, built by ``mlsyslab course build``) below.
"""

from __future__ import annotations

from ...grading.rubric import Item, Mistake
from ..ideal import gpu as _g, model as _m, serving_solver as solver
from ..authoring import HOW_TO, IDEAL_LATENCY_NOTE, IMPORTS, answer, code, md, predict, recorder, reflection, say, tests

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
                 mistakes=(Mistake("forgot_x2", lambda: linear_flops(v, S) / 2, "a multiply-accumulate is 2 FLOPs: 2 P S."),
                           Mistake("one_token", lambda: linear_flops(v, 1),
                                   "that is one token's 2 P; the prefill of S tokens does it for every token: 2 P S."))),
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
                                   "at long context attention matters: include 2 L S^2 a."),
                           Mistake("non_causal", lambda: (linear_flops(v, SL) + 2 * attention_flops(v, SL))
                                   / _g(G).peak_flops["fp16"],
                                   "causal attention computes about half of the S x S scores: 2 L S^2 a, not 4 L S^2 a."),
                           Mistake("milliseconds", lambda: _r(v, SL).ttft_s * 1e3,
                                   "that is in milliseconds; ttft_128k_s is asked in seconds.", credit=0.5))),
            Item("itl_128k_ms", 2, lambda: _r(v, SL).itl_s * 1e3, f"ITL at {SL} tokens (ms)", unit="ms",
                 mistakes=(Mistake("forgot_kv", lambda: m().n_parameters * 2 / _g(G).memory_bandwidth_Bps * 1e3,
                                   "each step also reads the whole KV-cache."),
                           Mistake("forgot_kv_x2", lambda: (m().n_parameters * 2 + _r(v, SL).kv_bytes / 2)
                                   / _g(G).memory_bandwidth_Bps * 1e3, "the KV-cache holds K and V: x2."))),
        ],
    }


#: the Voila explorer of the same topic (labs/explorers/<lab>.ipynb): title, text, widget
EXPLORER = ('Context scaling explorer', """
        "2 FLOPs per parameter per token" ignores attention, which grows with the square of the
        context. Change the context: the readout gives attention's share of prefill FLOPs.
        """,
            'ContextScaling(model="Llama3_8B", hardware="H100", seq_len=8192, efficiency="ideal")')


# ---------------------------------------------------------------- the notebook
TITLE = "Lab 4 - Context scaling: when attention starts to matter"

NOTEBOOK = [
    md("""
    # Lab 4 - Context scaling: when attention starts to matter

    The usual rule of thumb for a transformer forward pass is **2 FLOPs per parameter per token**
    ("2PS"): every weight takes part in one multiply-accumulate per token. It ignores attention,
    whose score and weighted-sum matmuls grow with the *square* of the context. This lab finds
    where that stops being a rounding error.
"""
    + IDEAL_LATENCY_NOTE + HOW_TO),
    code(IMPORTS + """
    solver = ml.ServingSolver(efficiency="ideal")
    model, gpu = ml.Models.get(v.model), ml.Hardware.get(v.gpu)   # your variant
    P, L, a = model.n_parameters, model.layers, model.heads * model.head_dim
    print(lab.describe())
    print(f"P = {P:.4g} parameters, L = {L} layers, a = heads x head_dim = {a}")
    """),
    md(r"""
    ## Exercise 1 - Prefill FLOPs at your context

    For a prompt of $S$ tokens (batch 1), prefill costs

    $$F = \underbrace{2\,P\,S}_{\text{matmuls (linear)}} + \underbrace{2\,L\,S^2\,a}_{\text{causal attention}}$$

    The attention term: per layer, $QK^T$ and $\text{softmax}(QK^T)V$ are each $S \times S \times a$
    multiply-accumulates (2 FLOPs each), and a causal mask keeps about half of them:
    $2 \times 2 \times \tfrac{1}{2}\,S^2 a = 2\,S^2 a$ per layer.
    """),
    say("""
    Your variant: {model.name} on an {gpu.key}, **S = {S} tokens**. **Predict** the share of
    attention in prefill FLOPs at {S} tokens (in %), then compute `flops_linear_8k`,
    `flops_attention_8k` (FLOP) and `attention_fraction_8k` = attention / (linear + attention), a
    fraction between 0 and 1 (the `_8k` names are the same for everyone; they hold your S).
    """),
    predict("cp_frac", "Share of attention in prefill FLOPs at {S} tokens ({model.name}), in %", "percent", 30,
            "(solver.solve(model, gpu, v.S).raw['flops_pre'] - 2 * P * v.S) / solver.solve(model, gpu, v.S).raw['flops_pre'] * ml.Q_(1, '')"),
    answer("ans_flops", """
    flops_linear_8k = None         # FLOP
    flops_attention_8k = None      # FLOP
    attention_fraction_8k = None   # between 0 and 1
    ### BEGIN SOLUTION
    S = v.S
    flops_linear_8k = 2 * P * S
    flops_attention_8k = 2 * L * S**2 * a
    attention_fraction_8k = flops_attention_8k / (flops_linear_8k + flops_attention_8k)
    ### END SOLUTION
    """),
    tests("ex1_flops", 4, recorder("flops_linear_8k", "flops_attention_8k", "attention_fraction_8k")),
    code("""
    if reveal(cp_frac, globals(), "flops_linear_8k", "flops_attention_8k", "attention_fraction_8k"):
        r = solver.solve(model, gpu, v.S)
        compare("prefill FLOPs", None if flops_linear_8k is None or flops_attention_8k is None
                else flops_linear_8k + flops_attention_8k, r.raw["flops_pre"], "TFLOP", 1e12)
    """),
    md(r"""
    ## Exercise 2 - The crossover

    The two terms are equal when $2\,L\,S^2 a = 2\,P\,S$, i.e. at

    $$S^* = \frac{P}{L\,a}$$

    **Predict** $S^*$ for your model, then compute `crossover_tokens`.
    """),
    predict("cp_cross", "Context length where attention FLOPs equal the 2PS FLOPs ({model.name})", "token", 100000,
            "P / (L * a) * ml.Q_(1, 'token')"),
    answer("ans_crossover", """
    crossover_tokens = None   # tokens
    ### BEGIN SOLUTION
    crossover_tokens = P / (L * a)
    ### END SOLUTION
    """),
    tests("ex2_crossover", 2, recorder("crossover_tokens")),
    code("""
    if reveal(cp_cross, globals(), "crossover_tokens"):
        for ctx in sorted({1024, v.S, 32768, round(P / (L * a)), 131072}):
            f = solver.solve(model, gpu, ctx).raw["flops_pre"]
            print(f"S = {ctx:>6}: attention is {1 - 2 * P * ctx / f:5.1%} of prefill FLOPs")
    """),
    code("""
    from mlsyslab.widgets import ContextScaling
    # the lab's solver (ideal) at your S: "the linear model misses" = your attention share of prefill FLOPs
    ContextScaling(model=v.model, hardware=v.gpu, seq_len=v.S, efficiency="ideal")
    """),
    md(r"""
    ## Exercise 3 - Long context
    """),
    say("""
    At **S = {S_long} tokens**, estimate `ttft_128k_s`, the time to first token in seconds
    (compute-bound: F / peak_fp16, with `gpu.peak_flops["fp16"]`), and `itl_128k_ms`, one decode
    step in ms (memory-bound: (W + KV) / BW with KV = 2 L H_kv d_h S b, `gpu.memory_bandwidth_Bps`).
    The `_128k` names are the same for everyone; they hold your S = {S_long}.
    """),
    predict("cp_ttft", "TTFT of a {S_long}-token prompt on one {gpu.key} ({model.name}, fp16)", "s", 3,
            "solver.solve(model, gpu, v.S_long).ttft"),
    answer("ans_long", """
    ttft_128k_s = None   # seconds
    itl_128k_ms = None   # milliseconds
    ### BEGIN SOLUTION
    S = v.S_long
    ttft_128k_s = (2 * P * S + 2 * L * S**2 * a) / gpu.peak_flops["fp16"]
    kv = 2 * L * model.kv_heads * model.head_dim * S * 2
    itl_128k_ms = (P * 2 + kv) / gpu.memory_bandwidth_Bps * 1e3
    ### END SOLUTION
    """),
    tests("ex3_long_context", 4, recorder("ttft_128k_s", "itl_128k_ms")),
    code("""
    if reveal(cp_ttft, globals(), "ttft_128k_s", "itl_128k_ms"):
        r = solver.solve(model, gpu, v.S_long)
        compare(f"TTFT at {v.S_long}", ttft_128k_s, r.ttft_s, "s")
        compare(f"ITL at {v.S_long}", itl_128k_ms, r.itl_s * 1e3, "ms")
        print(f"the linear 2PS model alone would say {2 * P * v.S_long / gpu.peak_flops['fp16']:.2f} s")
    """),
    *reflection("reflect_ex3", 1, """
    **Reflect.** Up to which context is "2 FLOPs per parameter per token" a good TTFT estimate
    for your model (say within 10 %), and how does the answer change for a larger model such as
    Llama-3.1-70B ($P/(L a)$ with $L = 80$, $a = 8192$)?
    """, """
    (Default variant, Llama-3.1-8B.) The attention share is S / (S + S*); it stays under 10 % while S < S*/9, about 6,800 tokens
    for Llama-3.1-8B (S* = 61k). For Llama-3.1-70B, S* = 70.6e9 / (80 x 8192) = 108k tokens, so
    2PS holds longer (to about 12k tokens): bigger models are "more linear" at a given context.
    """),
]
