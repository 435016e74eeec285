"""Lab 5: choosing hardware under an SLA - TTFT/ITL targets and $ per 1M tokens.

Visible graded items of lab 5, choosing hardware under an SLA (Llama-3.1-8B, fp16, 2048-token contexts;
``ServingSolver("ideal")`` and ``CostSolver`` with its sourced GPU-hour prices).

    TTFT (one prompt) = (2 P S + 2 L S^2 a) / peak        (compute-bound)
    ITL (batch B)     = (W + B x KV_seq) / BW             (memory-bound)
    max batch         = floor((BW x ITL_target - W) / KV_seq), and within memory
    $ per 1M tokens   = price per hour / (B / ITL x 3600) x 1e6

A variant changes the model, the context and the ITL target (``POOL``).

This module is the lab's one source: the graded items above, ``NOTEBOOK`` (the instructor
notebook's cells, built by ``mlsyslab course build``) below.
"""

from __future__ import annotations

from functools import lru_cache

from ... import CostSolver, ServingSolver
from ...zoo import Hardware, Models
from ...grading.rubric import Item, Mistake
from ..authoring import HOW_TO, IMPORTS, answer, code, md, predict, recorder, reflection, say, tests

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


def _by_hand_batch(v, gpu, weights=True, factor=2):
    m, hw = Models.get(v.model), Hardware.get(gpu)
    kv_seq = factor * m.layers * m.kv_heads * m.head_dim * 2 * v.S
    w = m.n_parameters * 2 if weights else 0.0
    return max(int((hw.memory_bandwidth_Bps * v.itl_ms / 1e3 - w) // kv_seq), 0)


def _memory_limit(v, gpu):
    """The largest batch that fits in memory, ignoring the ITL target."""
    m, hw = Models.get(v.model), Hardware.get(gpu)
    return int((hw.memory_bytes - m.n_parameters * 2) // (2 * m.layers * m.kv_heads * m.head_dim * 2 * v.S))


def _batch_mistakes(v, gpu):
    return (Mistake("forgot_weights", lambda: _by_hand_batch(v, gpu, weights=False),
                    "each decode step reads all the weights too: BW x ITL - W is left for the KV-cache."),
            Mistake("forgot_kv_x2", lambda: _by_hand_batch(v, gpu, factor=1),
                    "the KV-cache of a sequence holds K and V: 2 L H_kv d_h b S, a factor 2."),
            Mistake("memory_limit", lambda: _memory_limit(v, gpu),
                    "that is the memory limit (C - W) / KV per sequence; the ITL target, BW x ITL - W read per step, "
                    "is the tighter limit here."),
            Mistake("at_least_one", lambda: 1 if max_batch_under_sla(v, gpu) == 0 else -1,  # only when none fits
                    f"even batch 1 misses the target on the {gpu}: reading the weights alone takes W / BW, longer "
                    "than the ITL target, so no batch meets it (0)."))


def _cost_mistakes(v, gpu):
    return (Mistake("batch_1", lambda: CostSolver().serving_cost(v.model, gpu, seq_len=v.S, batch_size=1,
                                                                 efficiency="ideal").raw["per_million"],
                    "at batch B the GPU produces B tokens per ITL: throughput = B / ITL."),
            Mistake("per_token", lambda: _cost(v, gpu) / 1e6,
                    "that is the cost of one token; the question asks per 1M output tokens (x 1e6)."))


def _ttft_mistakes(v, gpu):
    return (Mistake("memory_time", lambda: SOLVER.solve(v.model, gpu, v.S, 1).raw["t_pre_memory"] * 1e3,
                    "prefill is compute-bound: use FLOPs / peak, not bytes / bandwidth."),
            Mistake("forgot_x2", lambda: _ttft_ms(v, gpu) / 2, "a multiply-accumulate is 2 FLOPs."))


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
                 mistakes=_ttft_mistakes(v, "H100")),
            Item("ttft_l4_ms", 1, lambda: _ttft_ms(v, "L4"), "the same on an L4 (ms)", unit="ms",
                 mistakes=_ttft_mistakes(v, "L4")),
        ],
        "ex2_batch": [
            Item("max_batch_h100", 2, lambda: max_batch_under_sla(v, "H100"), f"largest batch with ITL <= {T} ms on an H100",
                 rtol=0.0, atol=1.0, kind="integer", mistakes=_batch_mistakes(v, "H100")),
            Item("max_batch_a100", 2, lambda: max_batch_under_sla(v, "A100"), "the same on an A100", rtol=0.0, atol=1.0,
                 kind="integer", mistakes=_batch_mistakes(v, "A100")),
            Item("max_batch_l4", 1, lambda: max_batch_under_sla(v, "L4"), "the same on an L4", rtol=0.0, atol=0.0,
                 kind="integer", mistakes=_batch_mistakes(v, "L4")),
        ],
        "ex3_cost": [
            Item("cost_h100", 2, lambda: _cost(v, "H100"), "$ per 1M output tokens on an H100 at that batch", unit="USD",
                 rtol=0.03, mistakes=_cost_mistakes(v, "H100")),
            Item("cost_a100", 1, lambda: _cost(v, "A100"), "$ per 1M output tokens on an A100 at that batch", unit="USD",
                 rtol=0.03, mistakes=_cost_mistakes(v, "A100")),
            Item("cheapest", 1, lambda: min(("H100", "A100"), key=lambda g: _cost(v, g)),
                 "cheaper per token under the SLA: H100 or A100", kind="choice",
                 mistakes=(Mistake("cheaper_hour", lambda: max(("H100", "A100"), key=lambda g: _cost(v, g)),
                                   "the cheaper GPU-hour is not the cheaper token: cost per token = price per hour / "
                                   "tokens per hour, at each GPU's own SLA batch (B / ITL tokens per second)."),)),
        ],
    }


#: the Voila explorer of the same topic (labs/explorers/<lab>.ipynb): title, text, widget
EXPLORER = ('Serving explorer', """
        Time to first token, time per output token and memory of one model on one device: change
        the model, the device, the context and the batch, and watch which limit binds first.
        """,
            'ServingExplorer(model="Llama3_8B", hardware="H100", seq_len=2048, batch_size=16, efficiency="ideal")')


# ---------------------------------------------------------------- the notebook
TITLE = "Lab 5 - Choosing hardware under an SLA"

NOTEBOOK = [
    md("""
    # Lab 5 - Choosing hardware under an SLA

    A chat service promises a **service-level agreement** (SLA): the first token within 200 ms
    (TTFT) and then a steady stream, at most a few ms between tokens (ITL). Which GPU serves
    your model (fp16, your context length; printed below) within the SLA at the lowest cost per token?
    The answer is rarely "the cheapest GPU per hour": what matters is tokens per dollar *at the
    batch the SLA allows*. All figures here are the ideal roofline (datasheet peaks, no
    overheads): lower bounds on latency, so a real server meets the SLA at a smaller batch.
    """ + HOW_TO),
    code(IMPORTS + """
    solver = ml.ServingSolver(efficiency="ideal")
    costs = ml.CostSolver()
    model, S, ITL_TARGET = ml.Models.get(v.model), v.S, v.itl_ms / 1e3   # your variant; ITL target in seconds
    print(lab.describe())
    for name in ("H100", "A100", "L4"):
        g = ml.Hardware.get(name)
        print(f"{name:>5}: {g.memory.capacity:~.0f}, {g.memory_bandwidth_Bps / 1e12:.3g} TB/s, "
              f"fp16 {g.peak_flops['fp16'] / 1e12:.0f} TFLOP/s, {costs.price_per_gpu_hour(name):~.2f} per GPU")
    """),
    md(r"""
    ## Exercise 1 - Time to first token

    Prefill of one prompt is compute-bound: $\text{TTFT} \approx (2PS + 2LS^2a)/\text{peak}$
    with $a$ = heads x head_dim and the dense fp16 peak.
    """),
    say("""
    Compute `ttft_h100_ms` and `ttft_l4_ms` for one **{S}-token** prompt of {model.name}. Which
    GPUs meet the 200 ms target?
    """),
    predict("cp_ttft", "TTFT of one {S}-token prompt on an L4 ({model.name}, fp16)", "ms", 100,
            'solver.solve(model, "L4", S, 1).ttft'),
    answer("ans_ttft", """
    ttft_h100_ms = None   # ms
    ttft_l4_ms = None     # ms
    ### BEGIN SOLUTION
    flops = 2 * model.n_parameters * S + 2 * model.layers * S**2 * model.heads * model.head_dim
    ttft_h100_ms = flops / ml.Hardware.H100.peak_flops["fp16"] * 1e3
    ttft_l4_ms = flops / ml.Hardware.get("L4").peak_flops["fp16"] * 1e3
    ### END SOLUTION
    """),
    tests("ex1_ttft", 2, recorder("ttft_h100_ms", "ttft_l4_ms")),
    code("""
    if reveal(cp_ttft, globals(), "ttft_h100_ms", "ttft_l4_ms"):
        for name in ("H100", "A100", "L4"):
            r = solver.solve(model, name, S, 1)
            print(f"{name:>5}: TTFT {r.ttft_s * 1e3:6.1f} ms ({r.prefill_bottleneck}-bound) -> "
                  f"{'meets' if r.ttft_s <= 0.2 else 'misses'} 200 ms")
        compare("TTFT on the H100", ttft_h100_ms, solver.solve(model, "H100", S, 1).ttft_s * 1e3, "ms")
    """),
    md(r"""
    ## Exercise 2 - The largest batch within the ITL target

    Decode is memory-bound: each step reads the weights once and every request's KV-cache,

    $$\text{ITL}(B) = \frac{W + B \cdot KV_{seq}}{BW} \le \text{ITL}_{target} \;\Rightarrow\;
      B_{max} = \left\lfloor \frac{BW \cdot \text{ITL}_{target} - W}{KV_{seq}} \right\rfloor$$

    (and the batch must also fit in memory, lab 2; 0 if even one request misses the target).
    """),
    say("""
    Your ITL target is **{itl_ms} ms** (`ITL_TARGET`, in seconds). Compute `max_batch_h100`,
    `max_batch_a100` and `max_batch_l4` at {S} tokens of context.
    """),
    predict("cp_batch", "Largest batch on an H100 with ITL <= {itl_ms} ms ({S}-token contexts)", "dimensionless", 64,
            'max(b for b in range(1, 1000) if solver.solve(model, "H100", S, b).itl_s <= ITL_TARGET)'),
    answer("ans_batch", """
    max_batch_h100 = None   # requests (an integer)
    max_batch_a100 = None   # requests (an integer)
    max_batch_l4 = None     # requests (an integer)
    ### BEGIN SOLUTION
    def max_batch(name):
        g = ml.Hardware.get(name)
        W = model.n_parameters * 2
        kv_seq = 2 * model.layers * model.kv_heads * model.head_dim * 2 * S
        by_itl = math.floor((g.memory_bandwidth_Bps * ITL_TARGET - W) / kv_seq)
        by_memory = math.floor((g.memory_bytes - W) / kv_seq)
        return max(min(by_itl, by_memory), 0)

    max_batch_h100, max_batch_a100, max_batch_l4 = (max_batch(n) for n in ("H100", "A100", "L4"))
    ### END SOLUTION
    """),
    tests("ex2_batch", 5, recorder("max_batch_h100", "max_batch_a100", "max_batch_l4")),
    code("""
    if reveal(cp_batch, globals(), "max_batch_h100", "max_batch_a100", "max_batch_l4"):
        for name in ("H100", "A100", "L4"):
            r = solver.solve(model, name, S, 1)
            print(f"{name:>5}: ITL at batch 1 = {r.itl_s * 1e3:5.1f} ms; memory allows {r.max_batch_size} requests")
        compare("max batch on the H100", max_batch_h100,
                max(b for b in range(1, 1000) if solver.solve(model, "H100", S, b).itl_s <= ITL_TARGET), "requests")
    """),
    md(r"""
    ## Exercise 3 - Dollars per million tokens

    At batch $B$ a GPU emits $B$ tokens every ITL: throughput $= B / \text{ITL}$ tokens/s, so

    $$\$/1\text{M tokens} = \frac{\text{price per GPU-hour}}{3600 \times B / \text{ITL}} \times 10^6$$

    Use `costs.price_per_gpu_hour(name)` (USD/hour, the cheapest sourced on-demand price) and the
    ITL at your batch. Compute `cost_h100`, `cost_a100` (USD per 1M output tokens, at the
    batches of exercise 2) and `cheapest` ("H100" or "A100").
    """),
    predict("cp_cost", "Cost of 1M output tokens on an H100 at the SLA batch ({model.name}, ITL <= {itl_ms} ms)", "USD", 0.5,
            'costs.serving_cost(model, "H100", seq_len=S, batch_size=max(b for b in range(1, 1000) '
            'if solver.solve(model, "H100", S, b).itl_s <= ITL_TARGET), efficiency="ideal").cost_per_million_tokens'),
    answer("ans_cost", """
    cost_h100 = None   # USD per 1M output tokens
    cost_a100 = None
    cheapest = None    # "H100" or "A100"
    ### BEGIN SOLUTION
    def cost_per_million(name, batch):
        g = ml.Hardware.get(name)
        itl = (model.n_parameters * 2 + batch * 2 * model.layers * model.kv_heads * model.head_dim * 2 * S) / g.memory_bandwidth_Bps
        price = costs.price_per_gpu_hour(name).to("USD/hour").magnitude
        return price / (3600 * batch / itl) * 1e6

    cost_h100 = cost_per_million("H100", max_batch_h100)
    cost_a100 = cost_per_million("A100", max_batch_a100)
    cheapest = "H100" if cost_h100 < cost_a100 else "A100"
    ### END SOLUTION
    """),
    tests("ex3_cost", 4, recorder("cost_h100", "cost_a100", "cheapest")),
    code("""
    if reveal(cp_cost, globals(), "cost_h100", "cost_a100", "cheapest"):
        for name, b in (("H100", max_batch_h100 or 1), ("A100", max_batch_a100 or 1)):
            c = costs.serving_cost(model, name, seq_len=S, batch_size=b, efficiency="ideal")
            print(f"{name}: batch {b}, {c.decode_throughput:~.0f}, {c.cost_per_million_tokens:~.4f} per 1M tokens "
                  f"({c.price_source})")
    """),
    code("""
    from mlsyslab.widgets import HardwareComparison
    # the lab's solver (ideal) and your variant
    HardwareComparison(hardware=["H100", "A100", "L4"], precisions=["fp16"], model=v.model, seq_len=S,
                       batch_size=32, efficiency="ideal")
    """),
    *reflection("reflect_ex3", 1, """
    **Reflect.** The A100 costs 40 % less per hour than the H100. Why is it not cheaper per token
    under your SLA, and what would change without the ITL target?
    """, """
    (Default variant, Llama-3.1-8B at 2048 tokens, ITL <= 20 ms.) Under a 20 ms ITL the batch is set by bandwidth: the H100's 3.35 TB/s allows 189 requests,
    the A100's 2.04 TB/s only 92, so the H100 emits about 2x the tokens per hour for 1.7x the
    price. Without the target both could batch up to the memory wall (260 requests): the A100
    then reaches about $0.081 per 1M tokens against the H100's $0.082, at an ITL of 42 ms
    instead of 26 ms - cheaper per hour wins only when latency does not matter.
    """),
]
