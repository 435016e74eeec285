"""Lab 2: the KV-cache memory wall (the seed's exercise 1, then context x batch, then GQA vs MHA)."""

from .cells import answer, code, md, predict, reflection, tests

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
    code("""
    import math
    import mlsyslab as ml
    from mlsyslab.widgets import PredictionCheckpoint
    from mlsyslab.grading import record, record_call
    from mlsyslab.grading.notebook import commit, compare, reveal

    solver = ml.ServingSolver(efficiency="ideal")   # pure roofline: the hand calculation
    model = ml.Models.Llama3_8B
    gpu = ml.Hardware.H100
    print(model.name, "| layers", model.layers, "| heads", model.heads, "| kv_heads", model.kv_heads,
          "| head_dim", model.head_dim, "| parameters", f"{model.n_parameters:.4g}")
    print(gpu.name, "| HBM", gpu.memory.capacity, "=", f"{gpu.memory_bytes:.4g} bytes")
    """),
    md("""
    ## Exercise 1 - How many 4096-token requests fit on one H100?

    Llama-3.1-8B in fp16 (2 bytes per value) on an H100 whose HBM is **80 GiB**. Careful:
    HBM is counted in binary units, 80 GiB = 80 x 2^30 B = 85.9 x 10^9 B, not 80 x 10^9 B
    (nvidia-smi shows 81,559 MiB usable).

    **Predict first**: how many requests of 4096 tokens can be batched before the GPU runs out
    of memory?
    """),
    predict("cp_oom", "Largest batch of 4096-token requests on one H100 (Llama-3.1-8B, fp16)", "dimensionless", 100,
            "solver.max_batch_size(model, gpu, seq_len=4096)"),
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
    tests("ex1_kv_per_token", 2, """
    # autograder: records your answer; the grade is computed outside this notebook
    from mlsyslab.grading import record
    assert kv_bytes_per_token is None or kv_bytes_per_token > 0, "a size must be positive"
    record(globals(), "kv_bytes_per_token")
    """),
    md(r"""
    Now the wall. The weights take $W = P \times b_w$ ($P$ = `model.n_parameters`, $b_w$ = 2 B).
    One sequence of $S = 4096$ tokens holds $\text{KV per token} \times S$. The largest batch is

    $$B_{max} = \left\lfloor \frac{C - W}{\text{KV per token} \times S} \right\rfloor$$

    with $C$ = `gpu.memory_bytes`. Also write `kv_cache_bytes(model, seq_len, batch_size,
    bytes_per_value)`, the KV-cache of a whole batch for any model: the grader also calls it on
    configurations you do not see.
    """),
    answer("ans_oom_batch", """
    weights_bytes = None           # bytes
    kv_bytes_per_sequence = None   # bytes, one 4096-token request
    max_batch = None               # requests (an integer)

    def kv_cache_bytes(model, seq_len, batch_size, bytes_per_value):
        \"\"\"Bytes of KV-cache of `batch_size` sequences of `seq_len` tokens.\"\"\"
        ### BEGIN SOLUTION
        return 2 * model.layers * model.kv_heads * model.head_dim * bytes_per_value * seq_len * batch_size
        ### END SOLUTION

    ### BEGIN SOLUTION
    weights_bytes = model.n_parameters * 2
    kv_bytes_per_sequence = kv_cache_bytes(model, 4096, 1, 2)
    max_batch = math.floor((gpu.memory_bytes - weights_bytes) / kv_bytes_per_sequence)
    ### END SOLUTION
    """),
    tests("ex1_oom_batch", 4, """
    # autograder: records your answers; the grade is computed outside this notebook
    from mlsyslab.grading import record
    record(globals(), "weights_bytes", "kv_bytes_per_sequence", "max_batch")
    """),
    tests("ex1_kv_function", 2, """
    # autograder: calls your kv_cache_bytes() on configurations the grader chooses
    print("kv_cache_bytes(Llama3_8B, 4096, 1, 2) =", kv_cache_bytes(model, 4096, 1, 2))
    """, """
    from mlsyslab.grading import record_call
    record_call("kv_fn_llama70b_int8", globals(), "kv_cache_bytes", ml.Models.Llama3_70B, 8192, 4, 1)
    record_call("kv_fn_llama2_7b", globals(), "kv_cache_bytes", ml.Models.Llama2_7B, 1000, 3, 2)
    """),
    md("**Reveal.** The solver's memory model (same formulas) and its verdict one step past the wall:"),
    code("""
    if reveal(cp_oom):
        wall = solver.max_batch_size(model, gpu, seq_len=4096)
        compare("max batch", max_batch, wall, "requests")
        compare("weights", weights_bytes, solver.solve(model, gpu, 4096).weights_bytes, "GB", 1e9)
        print(solver.solve(model, gpu, seq_len=4096, batch_size=wall + 1).explain_oom())
    """),
    *reflection("reflect_ex1", 1, """
    **Reflect.** Your prediction versus the wall: which term did you misjudge, the weights or the
    KV-cache? What would 80 GB instead of 80 GiB have changed?
    """, """
    The weights (16 GB) are a fifth of HBM; the KV-cache of 4096 tokens is only 0.54 GB per
    request, so about 130 requests fit. Taking 80 GB (80e9 B) instead of 80 GiB loses 5.9 GB,
    i.e. 11 requests (119 instead of 130).
    """),
    md(r"""
    ## Exercise 2 - Context x batch: the same wall, traded

    The spare memory $C - W$ holds a fixed number of **tokens of KV-cache**, however they are
    split between requests: $B_{max} \times S \approx (C - W) / \text{KV per token}$.
    Predict how many 32768-token requests fit, then compute `max_batch_32k` and
    `kv_token_capacity` (tokens, not rounded).
    """),
    predict("cp_32k", "Largest batch of 32768-token requests on one H100", "dimensionless", 20,
            "solver.max_batch_size(model, gpu, seq_len=32768)"),
    answer("ans_context_batch", """
    max_batch_32k = None       # requests
    kv_token_capacity = None   # tokens of KV-cache that fit beside the weights
    ### BEGIN SOLUTION
    kv_token_capacity = (gpu.memory_bytes - weights_bytes) / kv_bytes_per_token
    max_batch_32k = math.floor(kv_token_capacity / 32768)
    ### END SOLUTION
    """),
    tests("ex2_context_batch", 3, """
    # autograder: records your answers; the grade is computed outside this notebook
    from mlsyslab.grading import record
    record(globals(), "max_batch_32k", "kv_token_capacity")
    """),
    code("""
    if reveal(cp_32k):
        for S in (1024, 4096, 8192, 32768, 131072):
            b = solver.max_batch_size(model, gpu, seq_len=S)
            print(f"context {S:>6} tokens -> max batch {b:>4}  (batch x context = {b * S:,} tokens)")
        compare("max batch at 32k", max_batch_32k, solver.max_batch_size(model, gpu, seq_len=32768), "requests")
    """),
    code("""
    from mlsyslab.widgets import MemoryWall
    MemoryWall(model="Llama3_8B", hardware="H100", seq_len=4096, batch_size=8)
    """),
    *reflection("reflect_ex2", 1, """
    **Reflect.** Why is batch x context roughly constant along the wall, and why does it drop
    slightly below $(C-W)/\\text{KV per token}$ at long context?
    """, """
    KV-cache is linear in both batch and context, so the spare memory buys a fixed number of
    cached tokens; the floor to whole requests wastes up to one request's worth, which is a
    larger share when each request is 32k tokens (16 requests = 524k of the 533k tokens).
    """),
    md(r"""
    ## Exercise 3 - Grouped-query attention (GQA) vs multi-head attention (MHA)

    Llama-2-7B (`ml.Models.Llama2_7B`) caches all 32 heads (MHA); Llama-3.1-8B caches 8 KV heads
    shared by groups of 4 query heads (GQA). Predict the ratio of their KV per token, then
    compute `gqa_ratio` = KV per token of Llama-2-7B / KV per token of Llama-3.1-8B and
    `llama2_max_batch`, the wall of Llama-2-7B at 4096 tokens on the same H100.
    """),
    predict("cp_gqa", "KV per token of Llama-2-7B divided by that of Llama-3.1-8B", "dimensionless", 2,
            'solver.solve("Llama2_7B", gpu, 1).kv_per_seq_bytes / solver.solve(model, gpu, 1).kv_per_seq_bytes'),
    answer("ans_gqa", """
    gqa_ratio = None          # dimensionless
    llama2_max_batch = None   # requests
    ### BEGIN SOLUTION
    llama2 = ml.Models.Llama2_7B
    gqa_ratio = kv_cache_bytes(llama2, 1, 1, 2) / kv_cache_bytes(model, 1, 1, 2)
    llama2_max_batch = math.floor((gpu.memory_bytes - llama2.n_parameters * 2) / kv_cache_bytes(llama2, 4096, 1, 2))
    ### END SOLUTION
    """),
    tests("ex3_gqa", 3, """
    # autograder: records your answers; the grade is computed outside this notebook
    from mlsyslab.grading import record
    record(globals(), "gqa_ratio", "llama2_max_batch")
    """),
    code("""
    if reveal(cp_gqa):
        l2, l3 = solver.solve("Llama2_7B", gpu, 4096), solver.solve(model, gpu, 4096)
        compare("GQA ratio", gqa_ratio, l2.kv_per_seq_bytes / l3.kv_per_seq_bytes, "x")
        compare("Llama-2-7B wall", llama2_max_batch, solver.max_batch_size("Llama2_7B", gpu, 4096), "requests")
    """),
    *reflection("reflect_ex3", 1, """
    **Reflect.** Llama-3.1-8B has *more* parameters than Llama-2-7B, yet serves about 4x more
    requests per GPU. Explain with the KV formula.
    """, """
    KV per token scales with H_kv, not with the parameter count: 8 KV heads instead of 32 make
    the cache 4x smaller (131 kB vs 524 kB per token), so 130 instead of 33 requests fit, even
    though its weights are 2.6 GB larger (16.1 vs 13.5 GB).
    """),
]
