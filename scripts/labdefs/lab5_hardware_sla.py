"""Lab 5: choosing hardware under an SLA - TTFT/ITL targets and $ per 1M tokens."""

from ._common import HOW_TO, IMPORTS, recorder
from .cells import answer, code, md, predict, reflection, say, tests

TITLE = "Lab 5 - Choosing hardware under an SLA"

CELLS = [
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
    if reveal(cp_ttft):
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
    max_batch_h100 = None   # requests
    max_batch_a100 = None
    max_batch_l4 = None
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
    if reveal(cp_batch):
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
    if reveal(cp_cost):
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
