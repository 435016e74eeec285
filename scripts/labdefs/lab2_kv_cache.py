"""Lab 2: the KV-cache memory wall (the seed's exercise 1, then context x batch, then GQA vs MHA)."""

from ._common import IMPORTS, recorder
from .cells import answer, code, md, predict, reflection, say, tests

TITLE = "Lab 2 - The KV-cache memory wall"

CELLS = [
    md("""
    # Lab 2 - The KV-cache memory wall

    A decoder LLM keeps, for every token of every request it serves, the **keys and values** of
    all its layers: the *KV-cache*. Weights are paid once; the KV-cache grows with
    **batch x context**. On a GPU the two must fit together in HBM, and the batch at which they
    stop fitting is the *memory wall*.

    Each exercise goes **predict -> estimate -> reveal -> reflect**:
    1. commit a gut prediction (it is locked, not graded);
    2. compute an estimate from first principles in code (graded, by the formulas below);
    3. the solver reveals its figure (`ServingSolver(efficiency="ideal")`, the same formulas);
    4. write two or three sentences on what surprised you.

    Run the cells in order. Cells marked *autograder* only record your answers; the grade is
    computed later by the course's grader from those recorded values.
    """),
    code(IMPORTS + """
    solver = ml.ServingSolver(efficiency="ideal")   # pure roofline: the hand calculation
    model, gpu, S = ml.Models.get(v.model), ml.Hardware.get(v.gpu), v.S
    print(lab.describe())
    print(model.name, "| layers", model.layers, "| heads", model.heads, "| kv_heads", model.kv_heads,
          "| head_dim", model.head_dim, "| parameters", f"{model.n_parameters:.4g}")
    print(gpu.name, "| HBM", gpu.memory.capacity, "=", f"{gpu.memory_bytes:.4g} bytes")
    """),
    md("""
    Your numbers are your own: the model, GPU and context lengths below are drawn for you from
    the lab's pool (your *variant*; the printout above says which). The grader computes the
    expected answers for your variant, so compute them in code from `model`, `gpu` and `S`.
    """),
    md("""
    ## Exercise 1 - How many requests fit on one GPU?
    """),
    say("""
    {model.name} in fp16 (2 bytes per value) on an {gpu.name} whose HBM is **{cap} GiB**. Careful:
    HBM is counted in binary units, {cap} GiB = {cap} x 2^30 B = {gpu.memory_bytes:.4g} B, not {cap} x 10^9 B.

    **Predict first**: how many requests of **S = {S} tokens** can be batched before the GPU runs
    out of memory?
    """),
    predict("cp_oom", "Largest batch of {S}-token requests on one {gpu.key} ({model.name}, fp16)", "dimensionless", 100,
            "solver.max_batch_size(model, gpu, seq_len=S)"),
    md(r"""
    **Estimate.** Each layer caches one key and one value vector per KV head per token:

    $$\text{KV per token} = 2\,(K, V) \times L \times H_{kv} \times d_h \times b_{kv}$$

    with $L$ = `model.layers`, $H_{kv}$ = `model.kv_heads` (grouped-query attention: fewer KV
    heads than query heads), $d_h$ = `model.head_dim` and $b_{kv}$ = 2 bytes (fp16).
    Compute `kv_bytes_per_token` in bytes.
    """),
    answer("ans_kv_per_token", """
    kv_bytes_per_token = None   # bytes
    ### BEGIN SOLUTION
    kv_bytes_per_token = 2 * model.layers * model.kv_heads * model.head_dim * 2
    ### END SOLUTION
    """),
    tests("ex1_kv_per_token", 2, recorder("kv_bytes_per_token")),
    md(r"""
    Now the wall. The weights take $W = P \times b_w$ ($P$ = `model.n_parameters`, $b_w$ = 2 B).
    One sequence of $S$ tokens (your `S`) holds $\text{KV per token} \times S$. The largest batch is

    $$B_{max} = \left\lfloor \frac{C - W}{\text{KV per token} \times S} \right\rfloor$$

    with $C$ = `gpu.memory_bytes`. Also write `kv_cache_bytes(model, seq_len, batch_size,
    bytes_per_value)`, the KV-cache of a whole batch for any model: the grader also calls it on
    configurations you do not see.
    """),
    answer("ans_oom_batch", """
    weights_bytes = None           # bytes
    kv_bytes_per_sequence = None   # bytes, one request of S tokens
    max_batch = None               # requests (an integer)

    def kv_cache_bytes(model, seq_len, batch_size, bytes_per_value):
        \"\"\"Bytes of KV-cache of `batch_size` sequences of `seq_len` tokens.\"\"\"
        ### BEGIN SOLUTION
        return 2 * model.layers * model.kv_heads * model.head_dim * bytes_per_value * seq_len * batch_size
        ### END SOLUTION

    ### BEGIN SOLUTION
    weights_bytes = model.n_parameters * 2
    kv_bytes_per_sequence = kv_cache_bytes(model, S, 1, 2)
    max_batch = math.floor((gpu.memory_bytes - weights_bytes) / kv_bytes_per_sequence)
    ### END SOLUTION
    """),
    tests("ex1_oom_batch", 4, recorder("weights_bytes", "kv_bytes_per_sequence", "max_batch")),
    tests("ex1_kv_function", 2, """
    # autograder: calls your kv_cache_bytes() on configurations the grader chooses
    lab.check(globals(), "kv_cache_bytes")   # checked here on your own configuration only
    """, """
    from mlsyslab.grading import record_call
    record_call("kv_fn_llama70b_int8", globals(), "kv_cache_bytes", ml.Models.Llama3_70B, 8192, 4, 1)
    record_call("kv_fn_llama2_7b", globals(), "kv_cache_bytes", ml.Models.Llama2_7B, 1000, 3, 2)
    """),
    md("**Reveal.** The solver's memory model (same formulas) and its verdict one step past the wall:"),
    code("""
    if reveal(cp_oom):
        wall = solver.max_batch_size(model, gpu, seq_len=S)
        compare("max batch", max_batch, wall, "requests")
        compare("weights", weights_bytes, solver.solve(model, gpu, S).weights_bytes, "GB", 1e9)
        print(solver.solve(model, gpu, seq_len=S, batch_size=wall + 1).explain_oom())
    """),
    *reflection("reflect_ex1", 1, """
    **Reflect.** Your prediction versus the wall: which term did you misjudge, the weights or the
    KV-cache? What would GB instead of GiB (e.g. 80e9 B for 80 GiB) have changed?
    """, """
    (Default variant, Llama-3.1-8B on an H100 at 4096 tokens.) The weights (16 GB) are a fifth
    of HBM; the KV-cache of 4096 tokens is only 0.54 GB per request, so about 130 requests fit.
    Taking 80 GB (80e9 B) instead of 80 GiB loses 5.9 GB, i.e. 11 requests (119 instead of 130).
    """),
    md(r"""
    ## Exercise 2 - Context x batch: the same wall, traded

    The spare memory $C - W$ holds a fixed number of **tokens of KV-cache**, however they are
    split between requests: $B_{max} \times S \approx (C - W) / \text{KV per token}$.
    """),
    say("""
    Predict how many requests of **{S_long} tokens** fit, then compute `max_batch_32k` (the
    largest batch at {S_long} tokens; the name is the same for everyone) and `kv_token_capacity`
    (tokens, not rounded).
    """),
    predict("cp_32k", "Largest batch of {S_long}-token requests on one {gpu.key} ({model.name})", "dimensionless", 20,
            "solver.max_batch_size(model, gpu, seq_len=v.S_long)"),
    answer("ans_context_batch", """
    max_batch_32k = None       # requests of v.S_long tokens
    kv_token_capacity = None   # tokens of KV-cache that fit beside the weights
    ### BEGIN SOLUTION
    kv_token_capacity = (gpu.memory_bytes - weights_bytes) / kv_bytes_per_token
    max_batch_32k = math.floor(kv_token_capacity / v.S_long)
    ### END SOLUTION
    """),
    tests("ex2_context_batch", 3, recorder("max_batch_32k", "kv_token_capacity")),
    code("""
    if reveal(cp_32k):
        for ctx in sorted({1024, S, 8192, v.S_long, 131072}):
            b = solver.max_batch_size(model, gpu, seq_len=ctx)
            print(f"context {ctx:>6} tokens -> max batch {b:>4}  (batch x context = {b * ctx:,} tokens)")
        compare(f"max batch at {v.S_long}", max_batch_32k, solver.max_batch_size(model, gpu, seq_len=v.S_long), "requests")
    """),
    code("""
    from mlsyslab.widgets import MemoryWall
    MemoryWall(model=v.model, hardware=v.gpu, seq_len=S, batch_size=8, efficiency="ideal")   # the lab's solver
    """),
    *reflection("reflect_ex2", 1, """
    **Reflect.** Why is batch x context roughly constant along the wall, and why does it drop
    slightly below $(C-W)/\\text{KV per token}$ at long context?
    """, """
    KV-cache is linear in both batch and context, so the spare memory buys a fixed number of
    cached tokens; the floor to whole requests wastes up to one request's worth, which is a
    larger share when each request is long (default variant: 16 requests of 32k = 524k of the
    533k tokens).
    """),
    md(r"""
    ## Exercise 3 - Grouped-query attention (GQA) vs multi-head attention (MHA)
    """),
    say("""
    {mha.name} (`mha` below) caches all {mha.kv_heads} heads (MHA); {model.name} caches
    {model.kv_heads} KV heads shared by groups of query heads (GQA). Predict the ratio of their KV
    per token, then compute `gqa_ratio` = KV per token of {mha.name} / KV per token of {model.name}
    and `llama2_max_batch`, the wall of {mha.name} at {S} tokens on the same {gpu.key} (the
    variable names are the same for everyone).
    """),
    predict("cp_gqa", "KV per token of {mha.name} divided by that of {model.name}", "dimensionless", 2,
            "solver.solve(v.mha, gpu, 1).kv_per_seq_bytes / solver.solve(model, gpu, 1).kv_per_seq_bytes"),
    answer("ans_gqa", """
    gqa_ratio = None          # dimensionless
    llama2_max_batch = None   # requests
    ### BEGIN SOLUTION
    mha = ml.Models.get(v.mha)
    gqa_ratio = kv_cache_bytes(mha, 1, 1, 2) / kv_cache_bytes(model, 1, 1, 2)
    llama2_max_batch = math.floor((gpu.memory_bytes - mha.n_parameters * 2) / kv_cache_bytes(mha, S, 1, 2))
    ### END SOLUTION
    """),
    tests("ex3_gqa", 3, recorder("gqa_ratio", "llama2_max_batch")),
    code("""
    if reveal(cp_gqa):
        l2, l3 = solver.solve(v.mha, gpu, S), solver.solve(model, gpu, S)
        compare("GQA ratio", gqa_ratio, l2.kv_per_seq_bytes / l3.kv_per_seq_bytes, "x")
        compare("MHA model's wall", llama2_max_batch, solver.max_batch_size(v.mha, gpu, S), "requests")
    """),
    *reflection("reflect_ex3", 1, """
    **Reflect.** Compare the two walls. Which term of the KV formula makes the difference, and
    why does the parameter count matter so little?
    """, """
    (Default variant: Llama-3.1-8B vs Llama-2-7B.) KV per token scales with H_kv, not with the parameter count: 8 KV heads instead of 32 make
    the cache 4x smaller (131 kB vs 524 kB per token), so 130 instead of 33 requests fit, even
    though its weights are 2.6 GB larger (16.1 vs 13.5 GB).
    """),
]
