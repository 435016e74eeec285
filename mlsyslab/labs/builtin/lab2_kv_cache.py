"""Lab 2: the KV-cache memory wall (the seed's exercise 1, then context x batch, then GQA vs MHA).

Lab 2, the KV-cache memory wall: variants and the visible graded items.

Formulas (``ServingSolver(efficiency="ideal")`` gives the same)::

    KV per token    = 2 (K and V) x L x H_kv x d_h x b_kv
    KV per sequence = KV per token x S
    W               = P x b_w                     (fp16: b = 2 B)
    max batch       = floor((C - W) / KV per sequence)

A variant: a grouped-query-attention ``model`` on one ``gpu``, a context ``S`` (exercise 1), a
long context ``S_long`` (exercise 2) and a multi-head-attention model ``mha`` (exercise 3).

This module is the lab's one source: the graded items above, ``NOTEBOOK`` (the instructor
notebook's cells, built by ``mlsyslab course build``) below.
"""

from __future__ import annotations

import math

from ...grading.rubric import Item, Mistake
from ..ideal import gpu as _g, model as _m, serving_solver as solver
from ..authoring import IMPORTS, answer, code, md, predict, recorder, reflection, say, tests

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
                                             "bits vs bytes: fp16 is 2 bytes per parameter."),
                                     Mistake("fp32", lambda: _m(M).n_parameters * 4,
                                             "that is fp32 (4 bytes per parameter); the weights are fp16, 2 bytes."),
                                     Mistake("in_gb", lambda: _m(M).n_parameters * 2 / 1e9,
                                             "that is the size in GB; weights_bytes is asked in bytes (x 1e9)."))),
            Item("kv_bytes_per_sequence", 1, lambda: _solve(M, G, S).kv_per_seq_bytes,
                 f"KV bytes of one {S}-token sequence", unit="B",
                 mistakes=tuple(Mistake(m.name, (lambda f=m.value: f() * S), m.message) for m in _kv_token_mistakes(M))),
            Item("max_batch", 2, lambda: solver().max_batch_size(M, G, S),
                 f"largest batch before OOM at {S} tokens", rtol=0.0, atol=1.0, kind="integer", mistakes=_batch_mistakes(M, G, S)),
        ],
        "ex2_context_batch": [
            Item("max_batch_32k", 1, lambda: solver().max_batch_size(M, G, S_long),
                 f"largest batch at {S_long} tokens", rtol=0.0, atol=1.0, kind="integer", mistakes=_batch_mistakes(M, G, S_long)),
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
                                   "you inverted the ratio: MHA over GQA is asked."),
                           Mistake("query_heads", lambda: kv_per_token(MHA, heads=_m(MHA).heads) / kv_per_token(M, heads=_m(M).heads),
                                   f"you counted query heads for both; {name} caches only its {_m(M).kv_heads} KV heads "
                                   "(kv_heads), the MHA model all of its heads."),
                           Mistake("param_ratio", lambda: _m(MHA).n_parameters / _m(M).n_parameters,
                                   "that is the ratio of parameter counts; KV per token is 2 L H_kv d_h b, it does not "
                                   "scale with the parameters."))),
            Item("llama2_max_batch", 2, lambda: solver().max_batch_size(MHA, G, S),
                 f"largest {_m(MHA).name} batch at {S} tokens", rtol=0.0, atol=1.0, kind="integer", mistakes=_batch_mistakes(MHA, G, S)),
        ],
    }


def functions(v) -> dict:
    """The graded function, checked on the visible configuration only: the variant's model, S, batch 1, fp16."""
    M, G, S = v.model, v.gpu, v.S
    item = Item("kv_cache_bytes", 1, lambda: _solve(M, G, S).kv_per_seq_bytes,
                f"kv_cache_bytes(model, {S}, 1, 2)", unit="B",
                mistakes=tuple(Mistake(m.name, (lambda f=m.value: f() * S), m.message) for m in _kv_token_mistakes(M)))
    return {"kv_cache_bytes": [(item, (_m(M), S, 1, 2))]}


#: hidden configurations of ``kv_cache_bytes`` are drawn from these (6 x 6 x 6 x 3 = 648 candidates);
#: ``fp8``/``int8`` KV is 1 byte per value, fp16 2, fp32 4
HIDDEN_MODELS = ("Llama3_70B", "Llama2_7B", "Llama2_13B", "Mistral_7B", "Phi3_Mini", "Gemma2_9B")
HIDDEN_SEQ_LENS = (1000, 2048, 3000, 8192, 12000, 32768)
HIDDEN_BATCHES = (1, 3, 4, 7, 16, 32)
HIDDEN_KV = ((1, "int8"), (2, None), (4, "fp32"))


def hidden(v, rng) -> dict:
    """grade_id -> [(Item, function name, args)]: ``kv_cache_bytes`` on two configurations drawn
    with ``rng`` (the grader seeds it per course, lab and student) from the candidates above."""
    import itertools

    candidates = list(itertools.product(HIDDEN_MODELS, HIDDEN_SEQ_LENS, HIDDEN_BATCHES, HIDDEN_KV))
    out = []
    for i, (name, seq_len, batch, (b, kv)) in enumerate(rng.sample(candidates, 2), start=1):
        def value(name=name, seq_len=seq_len, batch=batch, kv=kv):
            return _solve(name, "H100", seq_len, batch, kv_precision=kv).kv_bytes
        item = Item(f"kv_fn_hidden_{i}", 1, value, f"kv_cache_bytes({name}, {seq_len} tokens, batch {batch}, {b} B)",
                    unit="B", mistakes=(Mistake("forgot_kv_x2", (lambda f=value: f() / 2),
                                                "your kv_cache_bytes() misses the factor 2 for K and V."),))
        out.append((item, "kv_cache_bytes", (_m(name), seq_len, batch, b)))
    return {"ex1_kv_function": out}


#: the Voila explorer of the same topic (labs/explorers/<lab>.ipynb): title, text, widget
EXPLORER = ('KV-cache memory wall explorer', """
        Weights are paid once; the KV-cache grows with batch x context. Move the batch and the
        context: the first out-of-memory point is the memory wall (ideal roofline, as in lab 2).
        """,
            'MemoryWall(model="Llama3_8B", hardware="H100", seq_len=4096, batch_size=8, efficiency="ideal")')


# ---------------------------------------------------------------- the notebook
TITLE = "Lab 2 - The KV-cache memory wall"

NOTEBOOK = [
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
    mha = ml.Models.get(v.mha)   # exercise 3's multi-head-attention model
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
    """),
    md("**Reveal.** The solver's memory model (same formulas) and its verdict one step past the wall:"),
    code("""
    if reveal(cp_oom, globals(), "kv_bytes_per_token", "weights_bytes", "kv_bytes_per_sequence", "max_batch"):
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
    max_batch_32k = None       # requests of v.S_long tokens (an integer)
    kv_token_capacity = None   # tokens of KV-cache that fit beside the weights
    ### BEGIN SOLUTION
    kv_token_capacity = (gpu.memory_bytes - weights_bytes) / kv_bytes_per_token
    max_batch_32k = math.floor(kv_token_capacity / v.S_long)
    ### END SOLUTION
    """),
    tests("ex2_context_batch", 3, recorder("max_batch_32k", "kv_token_capacity")),
    code("""
    if reveal(cp_32k, globals(), "max_batch_32k", "kv_token_capacity"):
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
    llama2_max_batch = None   # requests (an integer)
    ### BEGIN SOLUTION
    gqa_ratio = kv_cache_bytes(mha, 1, 1, 2) / kv_cache_bytes(model, 1, 1, 2)
    llama2_max_batch = math.floor((gpu.memory_bytes - mha.n_parameters * 2) / kv_cache_bytes(mha, S, 1, 2))
    ### END SOLUTION
    """),
    tests("ex3_gqa", 3, recorder("gqa_ratio", "llama2_max_batch")),
    code("""
    if reveal(cp_gqa, globals(), "gqa_ratio", "llama2_max_batch"):
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
