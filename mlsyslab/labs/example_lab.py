"""Example lab: how long does one decode step take at batch 1?

A course's own lab (``mlsyslab course new-lab`` wrote it from :mod:`mlsyslab.labs.example_lab`);
edit it, then ``mlsyslab course build`` and ``mlsyslab grade release``. The parts (docs/labs.md):

* ``POOL``: the variants (two here: each student draws one; ``POOL[0]`` is the default);
* ``context(v)``: the names the notebook's ``say(...)`` text uses (``{model.name}``);
* ``cells(v)``: the graded values, with tolerance and usual mistakes (misconception hints);
* ``functions(v)``: a graded function, checked on the student's own configuration while they work;
* ``hidden(v, rng)``: the same function on configurations the grader draws with ``rng`` (never in
  a released file: the release keeps a public copy of this module without ``hidden``, ``HIDDEN_*``
  and ``NOTEBOOK``);
* ``NOTEBOOK``: the cells, solutions between ``### BEGIN SOLUTION`` / ``### END SOLUTION``.

The formula taught: at batch 1 a decode step streams every weight from memory once, so
``time per token = P x b / BW`` (P parameters, b bytes per parameter, BW memory bandwidth).
Numbers and the widget use the **ideal** solver (``efficiency="ideal"``, the same roofline as the
hand formula); the default ``calibrated`` mode is slower (8.06 vs 4.81 ms for the default
variant), so the lab says which it uses.
"""

from __future__ import annotations

from mlsyslab.grading.rubric import Item, Mistake
from mlsyslab.labs.authoring import HOW_TO, IMPORTS, answer, code, md, predict, recorder, reflection, say, tests

TITLE = "Decoding at batch 1"

#: the variants: a model and a GPU each (POOL[0] is the default variant, the one the text talks about)
POOL = (
    dict(model="Llama3_8B", gpu="H100", S=512),
    dict(model="Mistral_7B", gpu="A100", S=512),
)


def _model(name):
    from mlsyslab.zoo import Models

    return Models.get(name)


def _gpu(name):
    from mlsyslab.zoo import Hardware

    return Hardware.get(name)


def context(v) -> dict:
    """Names for the notebook's text: model and gpu (zoo entries), S."""
    return dict(model=_model(v.model), gpu=_gpu(v.gpu), S=v.S)


def weights_time_ms(model, gpu, bytes_per_param=2.0) -> float:
    """P x b / BW in milliseconds: the time to stream the weights once."""
    return _model(model).n_parameters * bytes_per_param / _gpu(gpu).memory_bandwidth_Bps * 1e3


def solver_itl_ms(model, gpu, seq_len) -> float:
    """The ideal serving solver's time per output token at batch 1 (weights and the KV-cache)."""
    from mlsyslab import ServingSolver

    return ServingSolver(efficiency="ideal").solve(model, gpu, seq_len, 1).itl_s * 1e3


def cells(v) -> dict:
    """grade_id -> [Item]: the graded values of variant ``v``."""
    M, G = v.model, v.gpu
    return {
        "ex1_itl": [
            # expected: the solver (weights + the small KV-cache read); the hand formula is within the 2 %
            Item("itl_ms", 3, lambda: solver_itl_ms(M, G, v.S), f"time per output token at batch 1 ({M}, {G})",
                 unit="ms", rtol=0.02,
                 mistakes=(Mistake("bits_not_bytes", lambda: weights_time_ms(M, G, 16.0),
                                   "fp16 is 2 bytes per parameter, not 16 (bits vs bytes)."),
                           Mistake("compute_bound", lambda: 2 * _model(M).n_parameters
                                   / _gpu(G).peak_flops["fp16"] * 1e3,
                                   "at batch 1 decode is memory-bound: time = bytes / bandwidth, not FLOPs / peak."),
                           Mistake("seconds", lambda: weights_time_ms(M, G) / 1e3,
                                   "the answer is asked in milliseconds; you gave seconds."))),
        ],
    }


def _step_item(item_id, model, gpu, bytes_per_param):
    value = (lambda: weights_time_ms(model, gpu, bytes_per_param))
    return Item(item_id, 1, value, f"step_ms({model}, {gpu}, {bytes_per_param} B)", unit="ms",
                mistakes=(Mistake("seconds", (lambda: value() / 1e3), "step_ms() returns seconds, not milliseconds."),))


def functions(v) -> dict:
    """The graded function on the student's own configuration (for ``lab.check`` while they work)."""
    return {"step_ms": [(_step_item("step_ms", v.model, v.gpu, 2), (_model(v.model), _gpu(v.gpu), 2))]}


#: hidden configurations of step_ms are drawn from these (6 x 5 x 3 = 90 candidates)
HIDDEN_MODELS = ("Llama3_70B", "Llama2_7B", "Llama2_13B", "Qwen2_5_7B", "Phi3_Mini", "Gemma2_9B")
HIDDEN_GPUS = ("H100", "A100", "L4", "H200", "MI300X")
HIDDEN_BYTES = (0.5, 1, 2)


def hidden(v, rng) -> dict:
    """grade_id -> [(Item, function name, args)]: step_ms on two configurations drawn with ``rng``."""
    import itertools

    candidates = list(itertools.product(HIDDEN_MODELS, HIDDEN_GPUS, HIDDEN_BYTES))
    drawn = rng.sample(candidates, 2)
    return {"ex2_step_function": [(_step_item(f"step_ms_hidden_{i}", m, g, b), "step_ms", (_model(m), _gpu(g), b))
                                  for i, (m, g, b) in enumerate(drawn, start=1)]}


# ---------------------------------------------------------------- the notebook
NOTEBOOK = [
    md(f"""
    # {TITLE}

    Generating text, an LLM produces one token per *decode step*. At batch 1 each step reads
    every weight from GPU memory once, and that reading, not the arithmetic, sets the pace.
    """ + HOW_TO),
    code(IMPORTS + """
    solver = ml.ServingSolver(efficiency="ideal")   # this lab's solver mode: ideal (the hand formula)
    model, gpu = ml.Models.get(v.model), ml.Hardware.get(v.gpu)
    print(lab.describe())
    """),
    md("""
    ## Exercise 1 - One decode step
    """),
    say("""
    {model.name} in fp16 (2 bytes per parameter) on one {gpu.name}, batch 1, a context of {S} tokens.

    **Predict first**: how many milliseconds does one output token take?
    """),
    predict("cp_itl", "Time per output token of {model.name} on one {gpu.key} at batch 1 (ms)", "ms", 5.0,
            "solver.solve(model, gpu, v.S, 1).itl_s * 1e3"),
    md(r"""
    **Estimate.** At batch 1 the step is memory-bound: it streams the weights, $W = P \times b$
    bytes ($P$ = `model.n_parameters`, $b$ = 2), at the memory bandwidth
    $BW$ = `gpu.memory_bandwidth_Bps` (bytes per second):

    $$t = \frac{P \times b}{BW}$$

    Compute `itl_ms` in milliseconds (the grader accepts 2 %: the KV-cache read is left out).
    """),
    answer("ans_itl", """
    itl_ms = None   # milliseconds per output token
    ### BEGIN SOLUTION
    itl_ms = model.n_parameters * 2 / gpu.memory_bandwidth_Bps * 1000
    ### END SOLUTION
    """),
    tests("ex1_itl", 3, recorder("itl_ms")),
    md("**Reveal.** The solver's figure (ideal mode, the same roofline plus the KV-cache read):"),
    code("""
    if reveal(cp_itl, globals(), "itl_ms"):
        compare("time per output token", itl_ms, solver.solve(model, gpu, v.S, 1).itl_s * 1e3, "ms")
    """),
    md("""
    The widget below runs in the lab's solver mode, **ideal** (`efficiency="ideal"`), so its ITL
    is the figure above; switch it to *calibrated* to see what a real server measures (slower).
    """),
    code("""
    from mlsyslab.widgets import ServingExplorer
    ServingExplorer(model=v.model, hardware=v.gpu, seq_len=v.S, batch_size=1, efficiency="ideal")
    """),
    md(r"""
    ## Exercise 2 - The same, as a function

    Write `step_ms(model, gpu, bytes_per_param)`: the milliseconds of one batch-1 decode step for
    any zoo model and device. The grader also calls it on configurations you do not see.
    """),
    answer("ans_step_function", """
    def step_ms(model, gpu, bytes_per_param):
        \"\"\"Milliseconds of one batch-1 decode step: the weights streamed once.\"\"\"
        ### BEGIN SOLUTION
        return model.n_parameters * bytes_per_param / gpu.memory_bandwidth_Bps * 1e3
        ### END SOLUTION
    """),
    tests("ex2_step_function", 2, """
    # autograder: calls your step_ms() on configurations the grader chooses
    lab.check(globals(), "step_ms")   # checked here on your own configuration only
    """),
    *reflection("reflect_itl", 1, """
    **Reflect.** Why does a faster GPU *compute* peak barely change the time per token at batch 1,
    while more memory bandwidth does?
    """, """
    At batch 1 a step does 2 FLOPs per parameter but moves 2 bytes per parameter: an intensity of
    about 1 FLOP/byte, far below any GPU's ridge point, so the time is bytes / bandwidth.
    """),
]
