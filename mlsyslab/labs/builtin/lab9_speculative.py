"""Lab 9: speculative decoding (tokens per round, the batch-1 speed-up, when it stops paying) and prefix caching.

Lab 9, speculative decoding and prefix caching: variants and the visible graded items.

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

This module is the lab's one source: the graded items above, ``NOTEBOOK`` (the instructor
notebook's cells, built by ``mlsyslab course build``) below.
"""

from __future__ import annotations

from ...grading.rubric import Item, Mistake
from ..ideal import gpu as _g, model as _m, serving_solver as solver
from ..authoring import HOW_TO, IMPORTS, answer, code, md, predict, recorder, reflection, say, tests

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


def breakeven_batch(v, S=None) -> int:
    """Smallest batch of ``BATCHES`` at which speculation no longer pays (speed-up < 1) at context S3."""
    for b in BATCHES:
        if speedup(v, b, v.S3 if S is None else S) < 1.0:
            return b
    return 0


def _apart(value, expected, rtol=0.02) -> float:
    """``value``, or -1 (no answer gives it) when this mistake gives the right answer for the variant."""
    return -1.0 if abs(value - expected) <= rtol * abs(expected) else value


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
                                   "so the i-th token counts with probability alpha^i."),
                           Mistake("infinite_sum", lambda: 1.0 / (1.0 - v.alpha),
                                   "1 / (1 - alpha) sums infinitely many drafts; a round drafts only k tokens, so the "
                                   "sum stops at alpha^k: (1 - alpha^(k+1)) / (1 - alpha)."))),
        ],
        "ex2_speedup": [
            Item("t_draft_ms", 1, lambda: t_draft_ms(v), f"one draft decode step at {v.S} tokens, batch 1 (ms)",
                 unit="ms",
                 mistakes=(Mistake("target_model", plain,
                                   "that is the target model's step; the draft step reads the small draft model's "
                                   "weights and KV-cache."),
                           Mistake("forgot_kv", lambda: _apart(_m(v.draft).n_parameters * 2.0 / _g(v.gpu).memory_bandwidth_Bps * 1e3,
                                                      t_draft_ms(v)),
                                   "each draft step also reads the draft's KV-cache of S tokens, not only its weights."),
                           Mistake("seconds", lambda: t_draft_ms(v) / 1e3, "the answer is asked in ms, not seconds.",
                                   credit=0.5))),
            Item("t_verify_ms", 1, lambda: t_verify_ms(v), f"one target step verifying {v.k + 1} tokens (ms)",
                 unit="ms",
                 mistakes=(Mistake("k_plus_1_reads", lambda: (v.k + 1) * plain(),
                                   "the verify step reads the weights and the KV-cache once for all k + 1 tokens; "
                                   "only its FLOPs grow (and it stays memory-bound at batch 1)."),
                           Mistake("k_reads", lambda: v.k * plain(),
                                   "the verify step is one pass of the target model over k + 1 tokens: it reads the "
                                   "weights once, not once per drafted token."),
                           Mistake("seconds", lambda: t_verify_ms(v) / 1e3, "the answer is asked in ms, not seconds.",
                                   credit=0.5))),
            Item("speedup_b1", 2, lambda: speedup(v), "ITL without / with speculation, batch 1", rtol=0.02,
                 mistakes=(Mistake("forgot_draft", lambda: E() * plain() / t_verify_ms(v),
                                   "the draft's k decode steps cost time too: a round is k t_draft + t_verify."),
                           Mistake("forgot_E", lambda: plain() / ((v.k * t_draft_ms(v) + t_verify_ms(v)) / (v.k + 1)),
                                   "not every drafted token is accepted: a round yields E tokens, not k + 1."),
                           Mistake("tokens_only", E,
                                   "E tokens per round is not the speed-up: a round costs k t_draft + t_verify, not one "
                                   "plain step; speed-up = E t_plain / (k t_draft + t_verify)."),
                           Mistake("inverted", lambda: 1.0 / speedup(v),
                                   "you inverted it: the speed-up is ITL without / ITL with speculation."))),
        ],
        "ex3_breakeven": [
            Item("breakeven_batch", 3, lambda: breakeven_batch(v),
                 f"smallest batch (power of 2) where speculation stops paying at {v.S3} tokens", rtol=0.0, atol=0.0, kind="integer",
                 solver_allowed=True,   # the exercise sweeps the solver
                 mistakes=(Mistake("last_paying", lambda: breakeven_batch(v) // 2,
                                   "at that batch speculation still pays (speed-up >= 1); the question asks the smallest "
                                   "batch where it stops: the speed-up falls below 1."),
                           Mistake("wrong_context", lambda: breakeven_batch(v, v.S) if breakeven_batch(v, v.S) != breakeven_batch(v) // 2 else -1,
                                   f"that is the break-even at exercise 2's context; this one is at {v.S3} tokens, "
                                   "where the KV-cache reads are smaller."),
                           Mistake("never", lambda: 0,
                                   "speculation does stop paying: as the batch grows, decode becomes compute-bound and "
                                   "the draft's and the rejected tokens' FLOPs are no longer free."))),
        ],
        "ex4_prefix": [
            Item("ttft_cached_ms", 2, lambda: _ttft_ms(v, v.hit),
                 f"TTFT of a {v.S_prompt}-token prompt with {v.hit:.0%} of it cached (ms)", unit="ms",
                 mistakes=(Mistake("linear", lambda: (1.0 - v.hit) * _ttft_ms(v),
                                   "the new tokens still attend to the cached ones: attention is "
                                   "2 L a S_n (2 c + S_n), not a share of the full prompt's."),
                           Mistake("cached_share", lambda: _apart(_ttft_ms(v, 1.0 - v.hit), _ttft_ms(v, v.hit)),
                                   f"the prefill runs the {1 - v.hit:.0%} of the prompt that is not cached, not the "
                                   "cached share."),
                           Mistake("seconds", lambda: _ttft_ms(v, v.hit) / 1e3, "the answer is asked in ms, not seconds.",
                                   credit=0.5))),
            Item("ttft_speedup", 1, lambda: _ttft_ms(v) / _ttft_ms(v, v.hit), "TTFT without / with the prefix cache",
                 rtol=0.02,
                 mistakes=(Mistake("linear", lambda: 1.0 / (1.0 - v.hit),
                                   "1 / (1 - hit) ignores the attention of the new tokens to the cached prefix."),
                           Mistake("inverted", lambda: _ttft_ms(v, v.hit) / _ttft_ms(v),
                                   "you inverted it: the speed-up is TTFT without the cache / TTFT with it, above 1."),
                           Mistake("share_saved", lambda: 1.0 - _ttft_ms(v, v.hit) / _ttft_ms(v),
                                   "that is the share of the time saved; the speed-up is TTFT without / with the cache."))),
        ],
    }


# ---------------------------------------------------------------- the notebook
TITLE = "Lab 9 - Speculative decoding and prefix caching"

NOTEBOOK = [
    md("""
    # Lab 9 - Speculative decoding and prefix caching

    Decode is memory-bound: every step reads all the weights to produce one token per sequence.
    **Speculative decoding** lets a small *draft* model guess the next k tokens, then the big
    *target* model checks all k + 1 positions in **one** step - reading its weights once. When
    the guesses are often right, several tokens come out of one target step. **Prefix caching**
    keeps the KV-cache of a prompt prefix shared by many requests (a system prompt) so that
    prefill only computes the rest. Both save time; you will predict how much, and find where
    speculation stops paying. Figures are the ideal roofline (datasheet peaks, no overheads).
    """ + HOW_TO),
    code(IMPORTS + """
    solver = ml.ServingSolver(efficiency="ideal")
    model, draft, gpu = ml.Models.get(v.model), ml.Models.get(v.draft), ml.Hardware.get(v.gpu)
    print(lab.describe())
    for m in (model, draft):
        print(f"{m.name}: P {m.n_parameters:.4g}, layers {m.layers}, a = heads x head_dim {m.attention_dim}, "
              f"KV per token {m.kv_bytes_per_token(2):.0f} B (fp16)")
    print(gpu.name, "| fp16", f"{gpu.peak_flops['fp16']:.4g} FLOP/s", "| BW", f"{gpu.memory_bandwidth_Bps:.4g} B/s")
    """),
    md(r"""
    ## Exercise 1 - How many tokens per round?

    The draft proposes k tokens; the target accepts each with probability $\alpha$, stops at
    the first rejection, and always adds one token of its own (the correction, or the next token
    when all k were accepted). The i-th drafted token survives with probability $\alpha^i$, so
    the expected number of tokens per round is

    $$E = 1 + \alpha + \alpha^2 + \dots + \alpha^k = \frac{1 - \alpha^{k+1}}{1 - \alpha}$$
    """),
    say("Your draft proposes **k = {k}** tokens, accepted with **alpha = {alpha}**. Compute `tokens_per_round`."),
    predict("cp_tokens", "Expected tokens per round, k = {k}, alpha = {alpha}", "dimensionless", 3.0,
            "solver.solve(model, gpu, v.S, draft_model=draft, speculative_tokens=v.k, "
            "acceptance_rate=v.alpha).tokens_per_step"),
    answer("ans_tokens", """
    tokens_per_round = None   # tokens
    ### BEGIN SOLUTION
    tokens_per_round = (1 - v.alpha ** (v.k + 1)) / (1 - v.alpha)
    ### END SOLUTION
    """),
    tests("ex1_tokens", 2, recorder("tokens_per_round")),
    code("""
    if reveal(cp_tokens, globals(), "tokens_per_round"):
        for a in (0.5, 0.7, v.alpha, 0.9):
            print(f"alpha {a:.2f}: " + ", ".join(f"k={k}: {(1 - a ** (k + 1)) / (1 - a):.2f}" for k in (1, 2, 4, 8)))
    """),
    md(r"""
    ## Exercise 2 - The speed-up at batch 1

    A round costs $k$ decode steps of the draft plus one step of the target over $k+1$ tokens.
    At batch 1 both are memory-bound: a step of $n$ new tokens per sequence at context $S$ takes

    $$t(n) = \max\!\left(\frac{2 P n + 4 L S a n}{\text{peak}},\ \frac{2P + S\,kv}{BW}\right)$$

    (weights and KV-cache are read **once**, whatever $n$). The time per output token becomes
    $(k\,t_{draft} + t_{target}(k+1)) / E$ instead of $t_{target}(1)$.
    """),
    say("""
    Context **S = {S}** tokens, batch 1, fp16. Compute `t_draft_ms` (one decode step of
    {draft.name}), `t_verify_ms` (one step of {model.name} over k + 1 = {k} + 1 tokens) and
    `speedup_b1` = t_target(1) / time per output token with speculation.
    """),
    predict("cp_speedup", "Speed-up of speculative decoding at batch 1 ({model.name} + {draft.name} on {gpu.key})",
            "dimensionless", 2.0,
            "solver.solve(model, gpu, v.S, 1, draft_model=draft, speculative_tokens=v.k, "
            "acceptance_rate=v.alpha).speculative_speedup"),
    answer("ans_speedup", """
    t_draft_ms = None    # ms
    t_verify_ms = None   # ms
    speedup_b1 = None    # dimensionless
    ### BEGIN SOLUTION
    peak, BW, S = gpu.peak_flops["fp16"], gpu.memory_bandwidth_Bps, v.S

    def step_ms(m, n):
        flops = 2 * m.n_parameters * n + 4 * m.layers * S * m.attention_dim * n
        return max(flops / peak, (2 * m.n_parameters + S * m.kv_bytes_per_token(2)) / BW) * 1e3

    t_draft_ms = step_ms(draft, 1)
    t_verify_ms = step_ms(model, v.k + 1)
    speedup_b1 = step_ms(model, 1) / ((v.k * t_draft_ms + t_verify_ms) / tokens_per_round)
    ### END SOLUTION
    """),
    tests("ex2_speedup", 4, recorder("t_draft_ms", "t_verify_ms", "speedup_b1")),
    code("""
    if reveal(cp_speedup, globals(), "t_draft_ms", "t_verify_ms", "speedup_b1"):
        r = solver.solve(model, gpu, v.S, 1, draft_model=draft, speculative_tokens=v.k, acceptance_rate=v.alpha)
        compare("speed-up", speedup_b1, r.speculative_speedup, "x")
        print(f"ITL {r.itl_without_speculation.to('ms'):~.2f} -> {r.itl.to('ms'):~.2f} per token; "
              f"memory {r.total_memory_required:~.1f} (the draft's weights and KV-cache included)")
    """),
    *reflection("reflect_ex2", 1, """
    **Reflect.** Why does verifying k + 1 tokens cost about as much as generating one? Which
    matters more for the speed-up, a faster draft or a higher acceptance rate?
    """, """
    (Default variant.) At batch 1 the target's step is bound by reading 16 GB of weights; 5
    tokens instead of 1 add FLOPs that still take far less time than the reads, so t_verify =
    t_target(1) = 4.8 ms. The draft costs 4 x 0.75 ms = 3.0 ms per round, about 40 % of the round;
    alpha sets E (3.36 at 0.8, 1.94 at 0.5), which multiplies the speed-up directly.
    """),
    md(r"""
    ## Exercise 3 - When does speculation stop paying?

    A batch of $B$ sequences shares each weight read. As $B$ grows the target's step turns
    **compute-bound**, and then verifying $k + 1$ tokens costs about $k + 1$ steps for only $E$
    tokens: the speed-up falls below 1.
    """),
    say("""
    Short requests of **S3 = {S3}** tokens. Using `solver.solve(model, gpu, v.S3, batch, draft_model=draft,
    speculative_tokens=v.k, acceptance_rate=v.alpha).speculative_speedup`, find `breakeven_batch`: the
    smallest batch among 1, 2, 4, ..., 4096 at which the speed-up is below 1.
    """),
    predict("cp_breakeven", "Smallest batch (power of 2) where speculation no longer pays ({S3}-token contexts)",
            "dimensionless", 64,
            "next(b for b in (2 ** i for i in range(13)) if solver.solve(model, gpu, v.S3, b, draft_model=draft, "
            "speculative_tokens=v.k, acceptance_rate=v.alpha).speculative_speedup < 1)"),
    answer("ans_breakeven", """
    breakeven_batch = None   # sequences (an integer batch size)
    ### BEGIN SOLUTION
    for b in (2 ** i for i in range(13)):
        r = solver.solve(model, gpu, v.S3, b, draft_model=draft, speculative_tokens=v.k, acceptance_rate=v.alpha)
        if r.speculative_speedup < 1:
            breakeven_batch = b
            break
    ### END SOLUTION
    """),
    tests("ex3_breakeven", 3, recorder("breakeven_batch")),
    code("""
    if reveal(cp_breakeven, globals(), "breakeven_batch"):
        for b in (1, 8, 32, 64, 128, 256, 512, 1024):
            r = solver.solve(model, gpu, v.S3, b, draft_model=draft, speculative_tokens=v.k, acceptance_rate=v.alpha)
            print(f"batch {b:>5}: speed-up {r.speculative_speedup:5.2f}, decode {r.decode_bottleneck}-bound")
        print(f"ridge point of the {gpu.key}: {gpu.ridge_point('fp16'):.0f} FLOP/byte")
    """),
    *reflection("reflect_ex3", 1, """
    **Reflect.** Relate the break-even batch to the GPU's ridge point. What does this mean for a
    busy server, and how would you decide whether to turn speculation on?
    """, """
    A decode step's arithmetic intensity is about B FLOP/byte at fp16; the verify step's is
    (k+1) B. Once (k+1) B passes the ridge point (295 on an H100) the verify step is
    compute-bound and costs ~k+1 steps, so the speed-up drops below 1 (default variant: at
    batch 256). A busy server at large batch gains nothing: enable speculation at low load
    (or adapt k to the batch), where latency, not throughput, matters.
    """),
    md(r"""
    ## Exercise 4 - Prefix caching

    Many requests start with the same system prompt. If its KV-cache is kept, a prompt of $S$
    tokens with $c$ of them cached computes only $S_n = S - c$ new tokens - but each new token
    still attends to all tokens before it:

    $$F = 2 P S_n + 2 L a S_n (2c + S_n), \qquad \text{TTFT} = \max\!\left(\frac{F}{\text{peak}},
    \frac{2P + S\,kv}{BW}\right)$$
    """),
    say("""
    A prompt of **{S_prompt}** tokens of which **{hit_pct}** ({cached} tokens) is cached. Compute
    `ttft_cached_ms` and `ttft_speedup` = TTFT without the cache / with it ({model.name}, batch 1).
    """),
    predict("cp_prefix", "TTFT speed-up from caching {hit_pct} of a {S_prompt}-token prompt", "dimensionless", 4.0,
            "solver.solve(model, gpu, v.S_prompt).ttft_s / solver.solve(model, gpu, v.S_prompt, "
            "prefix_hit_rate=v.hit).ttft_s"),
    answer("ans_prefix", """
    ttft_cached_ms = None   # ms
    ttft_speedup = None     # dimensionless
    ### BEGIN SOLUTION
    P, L, a, Sp = model.n_parameters, model.layers, model.attention_dim, v.S_prompt
    cached = round(v.hit * Sp)
    Sn = Sp - cached
    mem = (2 * P + Sp * model.kv_bytes_per_token(2)) / gpu.memory_bandwidth_Bps
    ttft_cached_ms = max((2 * P * Sn + 2 * L * a * Sn * (2 * cached + Sn)) / gpu.peak_flops["fp16"], mem) * 1e3
    ttft_plain_ms = max((2 * P * Sp + 2 * L * a * Sp * Sp) / gpu.peak_flops["fp16"], mem) * 1e3
    ttft_speedup = ttft_plain_ms / ttft_cached_ms
    ### END SOLUTION
    """),
    tests("ex4_prefix", 3, recorder("ttft_cached_ms", "ttft_speedup")),
    code("""
    if reveal(cp_prefix, globals(), "ttft_cached_ms", "ttft_speedup"):
        plain, hit = solver.solve(model, gpu, v.S_prompt), solver.solve(model, gpu, v.S_prompt, prefix_hit_rate=v.hit)
        compare("TTFT with the cache", ttft_cached_ms, hit.ttft_s * 1e3, "ms")
        print(f"TTFT {plain.ttft.to('ms'):~.1f} -> {hit.ttft.to('ms'):~.1f}; 1 / (1 - hit) would say "
              f"{1 / (1 - v.hit):.2f}x")
        under_load = ml.LoadSolver(efficiency="ideal", engine="vllm-v0")
        for h in (0.0, v.hit):
            r = under_load.solve(model, gpu, arrival_rate=2.0, input_tokens=v.S_prompt, output_tokens=128,
                                 n_requests=300, prefix_hit_rate=h)
            print(f"under load (2 req/s), hit {h:.0%}: TTFT p50 {r.ttft_p50.to('ms'):~.1f}, p99 {r.ttft_p99.to('ms'):~.1f}")
    """),
    *reflection("reflect_ex4", 1, """
    **Reflect.** Why is the speed-up less than 1 / (1 - hit)? Under load, why can the p99 TTFT
    gain more than the p50?
    """, """
    The new tokens attend to the cached prefix (the 2c term), so attention does not shrink with
    the hit rate; the matmuls do. Under load a request also waits for the prefills of the requests
    ahead of it; shorter prefills shorten that queue, so the tail gains twice.
    """),
]
