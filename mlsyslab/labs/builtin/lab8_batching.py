"""Lab 8: batching under load - capacity from step time and seats, the KV-block limit, goodput under an SLA.

Lab 8, batching under load: variants and the visible graded items.

Ideal roofline step times (``ServingSolver(efficiency="ideal")``) and the load simulator
(``LoadSolver(efficiency="ideal")``)::

    T_pre     = max((2 P I + 2 L I^2 a) / peak, (W + I kv) / BW)          one prompt's prefill
    t_dec(B)  = max((2 P B + 4 L c a B) / peak, (W + B c kv) / BW)        one decode step, c = I + O/2
    capacity  = B / (B T_pre + (O - 1) t_dec(B))      requests/s with B seats always full (no chunking)
    KV blocks = floor((0.9 C - W) / (16 kv)),  max concurrency = floor(blocks / ceil((I_long + O_long) / 16))

A variant: ``model`` on ``gpu``; exercise 1 at ``I``/``O`` tokens with ``seats`` = max_num_seqs;
exercise 2 with long requests ``I_long``/``O_long``; exercise 3's SLA ``ttft_ms``/``itl_ms``.

This module is the lab's one source: the graded items above, ``NOTEBOOK`` (the instructor
notebook's cells, built by ``mlsyslab course build``) below.
"""

from __future__ import annotations

import math
from functools import lru_cache

from ...grading.rubric import Item, Mistake
from ..ideal import gpu as _g, load_solver, model as _m, serving_solver as solver
from ..authoring import HOW_TO, IMPORTS, answer, code, md, predict, recorder, reflection, say, tests

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


def _rate_below(v, limit) -> float:
    """The highest of the exercise's rates at or below ``limit`` (0 if none)."""
    return max([r for r in rates(v) if r <= limit + 1e-9], default=0.0)


def _unless(value, expected) -> float:
    """``value``, or -1 (no answer gives it) when this mistake gives the right answer for the variant."""
    return -1.0 if value == expected else value


def _next_rate(v, rate) -> float:
    """The exercise's rate just above ``rate`` (``rate`` itself when it is the highest)."""
    return min([r for r in rates(v) if r > rate], default=rate)


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
                                   f"the step reads the KV-cache of all {B} sequences, not one."),
                           Mistake("prompt_context", lambda: solver().solve(v.model, v.gpu, v.I, B).itl_s * 1e3,
                                   "the context grows while the answer is generated: on average I + O/2 tokens, "
                                   "not the prompt's I."),
                           Mistake("seconds", lambda: t_decode_ms(v) / 1e3, "the answer is asked in ms.", credit=0.5))),
            Item("capacity_req_s", 2, lambda: capacity_req_s(v), f"requests/s with {B} seats always full", rtol=0.03,
                 mistakes=(Mistake("forgot_prefill", lambda: capacity_req_s(v, prefill=False),
                                   "without chunked prefill, every new request's prefill stalls the whole batch: "
                                   "a cycle of B requests also holds B prefills."),
                           Mistake("tokens_not_requests", lambda: capacity_req_s(v) * v.O,
                                   "that is output tokens/s; requests/s is asked.", credit=0.5))),
        ],
        "ex2_kv_limit": [
            Item("kv_blocks", 1, lambda: kv_blocks(v), "KV blocks of 16 tokens in 90 % of memory beside the weights",
                 rtol=0.0, atol=1.0, kind="integer",
                 mistakes=(Mistake("gb_not_gib", lambda: kv_blocks(v, capacity=float(gib) * 1e9),
                                   f"the {G}'s memory is {gib} GiB (2^30 B), not {gib} GB.", credit=0.5),
                           Mistake("all_memory", lambda: kv_blocks(v, util=1.0),
                                   "vLLM gives the weights and the KV-cache 90 % of memory (gpu_memory_utilization)."))),
            Item("max_concurrency", 2, lambda: max_concurrency(v),
                 f"requests of {v.I_long} + {v.O_long} tokens that fit at once", rtol=0.0, atol=0.0, kind="integer",
                 mistakes=(Mistake("prompt_only", lambda: kv_blocks(v) // math.ceil(v.I_long / 16),
                                   "a request's KV-cache grows while it generates: size it at prompt + output."),
                           Mistake("gb_not_gib", lambda: max_concurrency(v, capacity=float(gib) * 1e9),
                                   f"the {G}'s memory is {gib} GiB (2^30 B), not {gib} GB (1e9 B).", credit=0.5))),
        ],
        "ex3_goodput": [
            Item("best_rate", 3, lambda: best_rate(v),
                 f"highest rate of [{context(v)['rates']}] req/s with >= 99 % of requests meeting the SLA",
                 rtol=0.0, atol=1e-6, solver_allowed=True,   # the exercise runs the simulator
                 mistakes=(Mistake("highest_below_capacity", lambda: _unless(_rate_below(v, capacity_req_s(v)), best_rate(v)),
                                   "the SLA binds before the capacity: near capacity requests queue and their TTFT "
                                   "(p99) grows past the limit; pick the highest rate whose run meets it."),
                           Mistake("above_capacity", lambda: max(rates(v)),
                                   "above the capacity the queue grows without bound: TTFT keeps rising and the "
                                   "goodput falls."),
                           Mistake("one_step_too_far", lambda: _unless(_next_rate(v, best_rate(v)), best_rate(v)),
                                   "at that rate fewer than 99 % of the requests meet the SLA in the simulation: "
                                   "read its goodput, not the mean latency."))),
        ],
    }


#: the Voila explorer of the same topic (labs/explorers/<lab>.ipynb): title, text, widget
EXPLORER = ('Serving under load explorer', """
        A server with continuous batching under a stream of requests: raise the arrival rate and
        watch p99 TTFT explode at the capacity line, goodput fall under the SLA, the KV-cache fill.
        """,
            'LoadExplorer(model="Llama3_8B", hardware="H100", input_tokens=1024, output_tokens=256, '
            'max_num_seqs=64, arrival_rate=15, ttft_sla=500, itl_sla=30, efficiency="ideal", engine="vllm-v0")')


# ---------------------------------------------------------------- the notebook
TITLE = "Lab 8 - Batching under load"

NOTEBOOK = [
    md("""
    # Lab 8 - Batching under load

    Labs 2-5 served one static batch. A real server sees a **stream** of requests and serves it
    with **continuous batching** (Orca, vLLM): at every forward pass (a *step*) it admits waiting
    requests, runs their prefill, and advances every running request by one token. How many
    requests per second can it take? Where does the tail latency explode? How many requests per
    second meet an SLA (the *goodput*)? Here you derive the answers by hand and check them with
    `ml.LoadSolver`, a request-level simulator of such a server (ideal roofline step times:
    datasheet peaks, no overheads, as in labs 3-5).
    """ + HOW_TO),
    code(IMPORTS + """
    solver = ml.ServingSolver(efficiency="ideal")   # step times: the ideal roofline
    load = ml.LoadSolver(efficiency="ideal", engine="vllm-v0")  # the server under load (vLLM V0's scheduler), same step times
    model, gpu = ml.Models.get(v.model), ml.Hardware.get(v.gpu)
    print(lab.describe())
    print(model.name, "| P", f"{model.n_parameters:.4g}", "| layers", model.layers, "| a = heads x head_dim",
          model.attention_dim, "| kv_heads", model.kv_heads, "| head_dim", model.head_dim)
    print(gpu.name, "| fp16", f"{gpu.peak_flops['fp16']:.4g} FLOP/s", "| BW", f"{gpu.memory_bandwidth_Bps:.4g} B/s",
          "| memory", f"{gpu.memory_bytes:.4g} B")
    """),
    md(r"""
    ## Exercise 1 - Capacity from the step time

    With the queue never empty, $B$ requests run at once (vLLM's *max_num_seqs*; your `v.seats`). Each needs one
    prefill and $O - 1$ decode steps. Without chunked prefill (vLLM's classic scheduler) a
    step that admits a request is a **prefill-only** step: every running request waits for it.
    So while one batch of $B$ requests passes through, the server spends $B$ prefills plus
    $O - 1$ decode steps of the whole batch:

    $$X = \frac{B}{B\,T_{pre} + (O-1)\,t_{dec}(B)} \quad \text{requests/s}$$

    with $T_{pre} = \max\!\left(\frac{2 P I + 2 L I^2 a}{\text{peak}}, \frac{W + I\,kv}{BW}\right)$ for one
    $I$-token prompt, and one decode step of $B$ sequences at the mean context $c = I + O/2$:
    $t_{dec}(B) = \max\!\left(\frac{2 P B + 4 L c a B}{\text{peak}}, \frac{W + B\,c\,kv}{BW}\right)$
    ($W = 2P$ bytes, $kv = 2 L H_{kv} d_h \cdot 2$ bytes per token, fp16).
    """),
    say("""
    Your server: {model.name} on one {gpu.name}, prompts of **I = {I}** tokens, **O = {O}** output
    tokens, at most **B = {seats}** requests at once. Compute `t_prefill_ms`, `t_decode_ms` (at
    context I + O // 2) and `capacity_req_s`.
    """),
    predict("cp_capacity", "Requests per second {gpu.key} sustains ({model.name}, {I} in / {O} out, {seats} seats)",
            "1/s", 10.0,
            "load.solve(model, gpu, arrival_rate=math.inf, input_tokens=v.I, output_tokens=v.O, "
            "max_num_seqs=v.seats, n_requests=10 * v.seats).request_throughput"),
    answer("ans_capacity", """
    t_prefill_ms = None     # ms, one prompt
    t_decode_ms = None      # ms, one step of B sequences at context I + O // 2
    capacity_req_s = None   # requests per second
    ### BEGIN SOLUTION
    P, L, a = model.n_parameters, model.layers, model.attention_dim
    W, kv = 2 * P, 2 * L * model.kv_heads * model.head_dim * 2
    peak, BW = gpu.peak_flops["fp16"], gpu.memory_bandwidth_Bps
    I, O, B = v.I, v.O, v.seats
    c = I + O // 2
    t_prefill_ms = max((2 * P * I + 2 * L * I**2 * a) / peak, (W + I * kv) / BW) * 1e3
    t_decode_ms = max((2 * P * B + 4 * L * c * a * B) / peak, (W + B * c * kv) / BW) * 1e3
    capacity_req_s = B / (B * t_prefill_ms + (O - 1) * t_decode_ms) * 1e3
    ### END SOLUTION
    """),
    tests("ex1_capacity", 4, recorder("t_prefill_ms", "t_decode_ms", "capacity_req_s")),
    md("**Reveal.** All requests arrive at once and the simulator serves them with the seats full:"),
    code("""
    if reveal(cp_capacity, globals(), "t_prefill_ms", "t_decode_ms", "capacity_req_s"):
        r = load.solve(model, gpu, arrival_rate=math.inf, input_tokens=v.I, output_tokens=v.O, max_num_seqs=v.seats,
                       n_requests=10 * v.seats)
        compare("capacity", capacity_req_s, r.request_throughput.magnitude, "req/s")
        print(f"mean batch {r.mean_batch:.0f}, output {r.throughput:~.0f}; "
              f"prefill share of the time: {v.seats * t_prefill_ms / (v.seats * t_prefill_ms + (v.O - 1) * t_decode_ms):.0%}")
    """),
    *reflection("reflect_ex1", 1, """
    **Reflect.** Which term of the cycle dominates for your variant, the prefills or the decode
    steps? What would doubling $B$ (*max_num_seqs*) do to the capacity, and why is it less than 2x?
    """, """
    (Default variant.) 64 prefills of 16.9 ms = 1.08 s against 255 decode steps of 7.7 ms = 1.96 s:
    decode dominates but prefill is a third of the time. Doubling B doubles the requests per cycle
    and the prefill time, but a decode step of 128 sequences is longer (more KV-cache read), so
    the capacity grows by less than 2x.
    """),
    md(r"""
    ## Exercise 2 - When the KV-cache, not the seats, is the limit

    A paged KV-cache (vLLM) is cut into **blocks of 16 tokens**. The server gives the weights and
    the cache 90 % of the memory (`gpu_memory_utilization = 0.9`), so

    $$\text{blocks} = \left\lfloor \frac{0.9\,C - W}{16 \cdot kv} \right\rfloor, \qquad
    \text{max concurrency} = \left\lfloor \frac{\text{blocks}}{\lceil (I + O)/16 \rceil} \right\rfloor$$

    for requests that hold $I + O$ tokens when they finish ($C$ = `gpu.memory_bytes`).
    """),
    say("""
    Long requests: **{I_long} + {O_long}** tokens. Compute `kv_blocks` and `max_concurrency`
    (requests that fit at once, ignoring the 1 % of blocks vLLM keeps free).
    """),
    predict("cp_kv", "Requests of {I_long} + {O_long} tokens that fit at once on one {gpu.key} ({model.name})",
            "dimensionless", 50,
            "load.solve(model, gpu, arrival_rate=1.0, input_tokens=v.I_long, output_tokens=v.O_long, "
            "n_requests=1).kv_blocks // -(-(v.I_long + v.O_long) // 16)"),
    answer("ans_kv", """
    kv_blocks = None         # blocks of 16 tokens (an integer)
    max_concurrency = None   # requests (an integer)
    ### BEGIN SOLUTION
    kv_blocks = math.floor((0.9 * gpu.memory_bytes - W) / (16 * kv))
    max_concurrency = kv_blocks // math.ceil((v.I_long + v.O_long) / 16)
    ### END SOLUTION
    """),
    tests("ex2_kv_limit", 3, recorder("kv_blocks", "max_concurrency")),
    code("""
    if reveal(cp_kv, globals(), "kv_blocks", "max_concurrency"):
        r = load.solve(model, gpu, arrival_rate=math.inf, input_tokens=v.I_long, output_tokens=v.O_long,
                       n_requests=4 * max(max_concurrency or 1, 1))
        compare("KV blocks", kv_blocks, r.kv_blocks, "blocks")
        print(f"simulated with everything queued: mean batch {r.mean_batch:.1f} (seats: 256), KV-cache peak "
              f"{r.peak_kv_utilization:.0%}, {r.preemptions} preemptions (a request evicted, to be recomputed, "
              "when the blocks run out)")
    """),
    *reflection("reflect_ex2", 1, """
    **Reflect.** Compare the simulated mean batch with your max concurrency. What are the
    preemptions, and why do they happen although every request fits on its own? What would an
    fp8 KV-cache change?
    """, """
    (Default variant.) The batch settles at the 26 requests the blocks hold at full length. A
    request is admitted as soon as its prompt fits, and it grows while it generates: when the
    free blocks run out the newest request is preempted (its blocks freed, to be prefilled
    again later), which wastes its prefill. An fp8 cache halves kv, doubling the blocks and the
    concurrency.
    """),
    md(r"""
    ## Exercise 3 - Goodput under an SLA: where does the tail explode?

    Requests now arrive at random (Poisson) at rate $\lambda$. Below the capacity the server
    keeps up and a request waits at most a step or two; near it the queue, and with it the
    **p99 TTFT**, grows without bound. *Goodput* counts the requests per second that meet the
    SLA, request by request: its TTFT within the TTFT limit **and** its mean time per output
    token (its mean ITL, TPOT) within the ITL limit. "99 % meet the SLA" is then the same as the
    p99 over requests of each within its limit (the reveal shows both p99s, from the same run).
    """),
    say("""
    Your SLA: TTFT <= **{ttft_ms} ms**, ITL <= **{itl_ms} ms**, with the seats and lengths of
    exercise 1. Among the rates **[{rates}]** req/s (`lab_rates` below), find `best_rate`: the
    highest at which at least 99 % of 2000 requests meet the SLA. Simulate with
    `load.solve(model, gpu, arrival_rate=rate, input_tokens=v.I, output_tokens=v.O, n_requests=2000,
    seed=0, max_num_seqs=v.seats, sla={{"ttft": v.ttft_ms, "itl": v.itl_ms}})` and read `goodput_fraction`.
    """),
    code("""
    lab_rates = lab.context["rate_list"]   # 30 % ... 120 % of your variant's capacity with the seats full
    lab_rates
    """),
    predict("cp_goodput", "Highest of [{rates}] req/s at which 99 % of requests meet the SLA", "1/s", 10.0,
            "max([0.0] + [r for r in lab_rates if load.solve(model, gpu, arrival_rate=r, input_tokens=v.I, "
            "output_tokens=v.O, n_requests=2000, seed=0, max_num_seqs=v.seats, "
            "sla={'ttft': v.ttft_ms, 'itl': v.itl_ms}).goodput_fraction >= 0.99]) / ml.Q_(1, 's')"),
    answer("ans_goodput", """
    best_rate = None   # req/s, one of lab_rates
    ### BEGIN SOLUTION
    best_rate = 0.0
    my_sla = {"ttft": v.ttft_ms, "itl": v.itl_ms}
    for rate in lab_rates:
        r = load.solve(model, gpu, arrival_rate=rate, input_tokens=v.I, output_tokens=v.O,
                       n_requests=2000, seed=0, max_num_seqs=v.seats, sla=my_sla)
        if r.goodput_fraction >= 0.99:
            best_rate = max(best_rate, rate)
    ### END SOLUTION
    """),
    tests("ex3_goodput", 3, recorder("best_rate")),
    code("""
    if reveal(cp_goodput, globals(), "best_rate"):
        import numpy as np
        print(f"Simulated runs of 2000 requests, seed 0 (as in your answer). A request meets the SLA when its TTFT "
              f"<= {v.ttft_ms} ms and its mean ITL (time per output token) <= {v.itl_ms} ms; p99 over the requests:")
        for rate in lab_rates:
            r = load.solve(model, gpu, arrival_rate=rate, input_tokens=v.I, output_tokens=v.O, n_requests=2000, seed=0,
                           max_num_seqs=v.seats, sla={"ttft": v.ttft_ms, "itl": v.itl_ms})
            tpot = r.requests["tpot"][r.requests["output_tokens"] > 1]
            print(f"{rate:6.1f} req/s: TTFT p99 {r.ttft_p99.to('ms').magnitude:8.1f} ms, mean ITL p99 "
                  f"{np.percentile(tpot, 99) * 1e3:5.1f} ms -> {r.goodput_fraction:6.1%} of requests meet the SLA "
                  f"(goodput {r.goodput.magnitude:.2f} req/s)")
    """),
    code("""
    from mlsyslab.widgets import LoadExplorer
    # the lab's solver (ideal, vLLM V0's scheduler) and your variant: its simulated run (2000 requests, seed 0) is
    # the reveal's at the same rate; its queueing-model column is the fast path's estimate of the same quantities
    LoadExplorer(model=v.model, hardware=v.gpu, input_tokens=v.I, output_tokens=v.O, max_num_seqs=v.seats,
                 ttft_sla=v.ttft_ms, itl_sla=v.itl_ms, arrival_rate=lab_rates[2], efficiency="ideal",
                 engine="vllm-v0", n_requests=2000)
    """),
    *reflection("reflect_ex3", 1, """
    **Reflect.** Which limit of the SLA binds first for your variant, TTFT or ITL, and how far
    below the capacity is your `best_rate`? What would chunked prefill change (try
    `chunked_prefill=True`)?
    """, """
    (Default variant.) TTFT binds: the mean time per token stays near 10-11 ms, far under 30 ms,
    while the p99 TTFT goes from 65 ms at 80 % of capacity to 0.4 s at 90 % and 1.7 s at 100 %, as
    the seats fill and requests queue. So the SLA caps the useful load at 90 % of capacity (18.9
    of 21.1 req/s). Chunked prefill mixes prompt chunks into decode steps: a prompt no longer
    stalls every running request, the ITL tail shrinks and the capacity rises a little.
    """),
]
