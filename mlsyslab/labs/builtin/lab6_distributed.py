"""Lab 6: distributed training - memory, all-reduce, pipeline bubbles, scaling efficiency.

Visible graded items of lab 6, distributed training (Llama-3.1-8B, bf16 + Adam, 4096-token sequences,
DGX H100 SuperPOD scalable unit; ``DistributedSolver(efficiency="ideal")``).

    training state   = P x (2 weights + 2 gradients + 12 Adam) = 16 B/param; ZeRO-3 divides by dp
    ring all-reduce  = 2 (n-1)/n x bytes / BW + latency      (BW per GPU, per direction)
    bubble           = (pp - 1) / (m + pp - 1)
    step (dp only)   = 3 x (2 P S + 2 L S^2 a) x B / (N x peak) + all-reduce of the bf16 gradients
    scaling eff.     = ideal compute time / step time

One variant (``POOL`` has the default only): the lab's figures are fixed.

This module is the lab's one source: the graded items above, ``NOTEBOOK`` (the instructor
notebook's cells, built by ``mlsyslab course build``) below.
"""

from __future__ import annotations

from ... import DistributedSolver
from ...solvers.distributed import pipeline_bubble, ring_allreduce_time
from ...systems import Systems
from ...zoo import Models
from ...grading.rubric import Item, Mistake
from ..variants import one_variant
from ..authoring import HOW_TO, IMPORTS, answer, code, md, predict, recorder, reflection, tests

SOLVER = DistributedSolver(efficiency="ideal")
M, CLUSTER, S = "Llama3_8B", "DGX_H100_SU", 4096


def _state(r):
    return r.raw["mem_weights"] + r.raw["mem_grads"] + r.raw["mem_optimizer"]


def _solve(**kw):
    kw.setdefault("seq_len", S)
    return SOLVER.solve(M, CLUSTER, **kw)


def _links():
    c = Systems.get(CLUSTER)
    return c.intra_Bps, c.node.intra_fabric.latency_s, c.inter_Bps, c.fabric.latency_s


def _grad_bytes():
    return Models.get(M).n_parameters * 2.0


def _ar(n, inter):
    intra_bw, intra_lat, inter_bw, inter_lat = _links()
    return ring_allreduce_time(_grad_bytes(), n, inter_bw if inter else intra_bw, inter_lat if inter else intra_lat)


def _ar_mistakes(n, inter):
    intra_bw, _, inter_bw, _ = _links()
    bw = inter_bw if inter else intra_bw
    return (Mistake("no_factor_2", lambda: _ar(n, inter) / 2,
                    "a ring all-reduce is a reduce-scatter plus an all-gather: 2 (n-1)/n x bytes / BW"
                    + ("." if inter else "; or you took NVLink's 900 GB/s, which counts both directions: "
                       "use 450 GB/s per direction.")),
            Mistake("no_ring_factor", lambda: 2 * _grad_bytes() / bw,
                    "each rank sends 2 (n-1)/n of the buffer, not twice the whole buffer.", credit=0.5),
            Mistake("bits", lambda: _ar(n, inter) / 8, "bits vs bytes: 400 Gb/s = 50 GB/s; 900 GB/s NVLink is both directions."),
            Mistake("fp32_grads", lambda: _ar(n, inter) * 2, "the gradients are all-reduced in bf16: 2 bytes per parameter."))


LAB = "lab6_distributed"
ITEMS = {
    "ex1_memory": [
        Item("train_state_gb", 2, lambda: _state(_solve(n_gpus=1, global_batch_size=1)) / 1e9,
             "weights + gradients + Adam state on one GPU (GB)", unit="GB",
             mistakes=(Mistake("weights_only", lambda: Models.get(M).n_parameters * 2 / 1e9,
                               "training keeps gradients and Adam's fp32 master, m and v too: 16 B/param."),
                       Mistake("no_master", lambda: Models.get(M).n_parameters * 12 / 1e9,
                               "mixed precision keeps an fp32 master copy as well as m and v: 12 B/param of optimizer."))),
        Item("zero3_gb", 2, lambda: _state(_solve(n_gpus=8, dp=8, zero_stage=3, global_batch_size=8)) / 1e9,
             "the same with ZeRO-3 over 8 GPUs (GB per GPU)", unit="GB",
             mistakes=(Mistake("zero1", lambda: _state(_solve(n_gpus=8, dp=8, zero_stage=1, global_batch_size=8)) / 1e9,
                               "that is ZeRO-1 (optimizer only); ZeRO-3 shards weights and gradients too."),
                       Mistake("zero2", lambda: _state(_solve(n_gpus=8, dp=8, zero_stage=2, global_batch_size=8)) / 1e9,
                               "that is ZeRO-2 (optimizer and gradients); ZeRO-3 shards the weights too."),
                       Mistake("no_shard", lambda: _state(_solve(n_gpus=1, global_batch_size=1)) / 1e9,
                               "that is the whole state of one GPU; ZeRO-3 splits all 16 B/param across the 8 GPUs."))),
    ],
    "ex2_allreduce": [
        Item("allreduce_8_ms", 2, lambda: _solve(n_gpus=8, dp=8, zero_stage=1, global_batch_size=8).raw["dp_comm"] * 1e3,
             "all-reduce of bf16 gradients over 8 GPUs of one node (ms)", unit="ms",
             mistakes=tuple(Mistake(m.name, (lambda v=m.value: v() * 1e3), m.message, m.credit) for m in _ar_mistakes(8, False))),
        Item("allreduce_32_s", 2, lambda: _solve(n_gpus=32, dp=32, zero_stage=1, global_batch_size=32).raw["dp_comm"],
             "the same over 32 GPUs in 4 nodes (s)", unit="s", mistakes=_ar_mistakes(32, True)),
    ],
    "ex3_bubble": [
        Item("bubble_pp4_m8", 1, lambda: _solve(n_gpus=32, dp=8, pp=4, global_batch_size=64).bubble_fraction,
             "pipeline bubble, 4 stages, 8 microbatches", rtol=0.01,
             mistakes=(Mistake("over_m", lambda: 3 / 8, "the bubble is (p-1)/(m+p-1): divide by the whole step, m + p - 1 slots."),
                       Mistake("p_not_p_minus_1", lambda: 4 / 11,
                               "a stage idles p - 1 slots (p - 1 = 3 with 4 stages), not p: (p-1)/(m+p-1)."),
                       Mistake("percent", lambda: 100 * 3 / 11, "give a fraction between 0 and 1, not a percentage.",
                               credit=0.5))),
        Item("microbatches_for_5pct", 2, lambda: next(m for m in range(1, 10_000) if pipeline_bubble(4, m) <= 0.05 + 1e-12),
             "fewest microbatches for a bubble <= 5 % with 4 stages", rtol=0.0, atol=0.0, kind="integer",
             mistakes=(Mistake("over_m", lambda: next(m for m in range(1, 10_000) if 3 / m <= 0.05 + 1e-12),
                               "the bubble is (p-1)/(m+p-1), not (p-1)/m: solve 3 / (m + 3) <= 0.05."),
                       Mistake("p_not_p_minus_1", lambda: next(m for m in range(1, 10_000) if 4 / (m + 3) <= 0.05 + 1e-12),
                               "a stage idles p - 1 = 3 slots, not p = 4: solve 3 / (m + 3) <= 0.05."))),
    ],
    "ex4_scaling": [
        Item("scaling_eff_32", 2, lambda: _solve(n_gpus=32, dp=32, zero_stage=1, global_batch_size=256).scaling_efficiency,
             "scaling efficiency, data-parallel on 32 GPUs, 256 sequences per step", rtol=0.02,
             mistakes=(Mistake("intra_node_links", lambda: (lambda r: r.raw["compute_ideal"] / (r.raw["compute_ideal"] + _ar(32, False)))(
                 _solve(n_gpus=32, dp=32, zero_stage=1, global_batch_size=256)),
                               "32 GPUs span 4 nodes: the ring runs at the InfiniBand rate (50 GB/s per GPU), not NVLink's."),
                       Mistake("comm_share", lambda: 1 - _solve(n_gpus=32, dp=32, zero_stage=1, global_batch_size=256)
                               .scaling_efficiency,
                               "that is the share of the step spent communicating; the efficiency is the compute share, "
                               "compute / (compute + all-reduce)."),
                       Mistake("percent", lambda: 100 * _solve(n_gpus=32, dp=32, zero_stage=1, global_batch_size=256)
                               .scaling_efficiency, "give a fraction between 0 and 1, not a percentage.", credit=0.5))),
    ],
}

# one variant: every student gets the same numbers (the answers are named after them)
POOL, context, cells = one_variant(ITEMS)


# ---------------------------------------------------------------- the notebook
TITLE = "Lab 6 - Distributed training"

NOTEBOOK = [
    md("""
    # Lab 6 - Distributed training: 3D parallelism from first principles

    Training Llama-3.1-8B (bf16 mixed precision, Adam, 4096-token sequences) on a DGX H100
    SuperPOD scalable unit: 32 nodes of 8 H100s, NVLink inside a node (450 GB/s per GPU per
    direction), InfiniBand NDR between nodes (400 Gb/s = 50 GB/s per GPU per direction). Three ways to split
    the work: **data** parallelism (replicas, gradients all-reduced), **tensor** parallelism
    (each matmul split across GPUs) and **pipeline** parallelism (layers split into stages).
    """ + HOW_TO),
    code(IMPORTS + """
    from mlsyslab.solvers.distributed import ring_allreduce_time, pipeline_bubble
    solver = ml.DistributedSolver(efficiency="ideal")
    model, cluster = ml.Models.Llama3_8B, ml.Systems.get("DGX_H100_SU")
    P = model.n_parameters
    print(cluster, "| NVLink per GPU per direction", f"{cluster.intra_Bps:.3g} B/s", "| IB per GPU", f"{cluster.inter_Bps:.3g} B/s")
    """),
    md(r"""
    ## Exercise 1 - Does the training state fit on one GPU?

    Mixed-precision Adam keeps per parameter: bf16 weights (2 B), bf16 gradients (2 B), and an fp32
    master copy, first and second moments (4 + 4 + 4 = 12 B): **16 bytes per parameter**
    (Rajbhandari et al., ZeRO, 2020). ZeRO-3 shards all three over the $N_{dp}$ data-parallel GPUs.
    Compute `train_state_gb` (one GPU, GB = 10^9 B) and `zero3_gb` (per GPU, ZeRO-3 over 8 GPUs),
    activations aside.
    """),
    predict("cp_state", "Weights + gradients + Adam state of Llama-3.1-8B in mixed precision", "GB", 50,
            '(lambda r: (r.raw["mem_weights"] + r.raw["mem_grads"] + r.raw["mem_optimizer"]) * ml.Q_(1, "B"))'
            '(solver.solve(model, cluster, n_gpus=1, global_batch_size=1, seq_len=4096))'),
    answer("ans_memory", """
    train_state_gb = None   # GB on one GPU
    zero3_gb = None         # GB per GPU with ZeRO-3 over 8 GPUs
    ### BEGIN SOLUTION
    train_state_gb = P * 16 / 1e9
    zero3_gb = train_state_gb / 8
    ### END SOLUTION
    """),
    tests("ex1_memory", 4, recorder("train_state_gb", "zero3_gb")),
    code("""
    if reveal(cp_state, globals(), "train_state_gb", "zero3_gb"):
        for z in (0, 1, 2, 3):
            r = solver.solve(model, cluster, n_gpus=8, dp=8, zero_stage=z, global_batch_size=8, seq_len=4096)
            print(f"ZeRO-{z}: weights {r.raw['mem_weights'] / 1e9:5.2f} + grads {r.raw['mem_grads'] / 1e9:5.2f} + "
                  f"Adam {r.raw['mem_optimizer'] / 1e9:6.2f} + activations {r.raw['mem_activations'] / 1e9:5.2f} GB "
                  f"= {r.raw['mem_total'] / 1e9:6.2f} GB per GPU ({'fits' if r.feasible else 'OOM'})")
    """),
    md(r"""
    ## Exercise 2 - The gradient all-reduce

    After each step the data-parallel replicas sum their bf16 gradients ($2P$ bytes). A ring
    all-reduce over $n$ GPUs is a reduce-scatter then an all-gather; each GPU sends and receives
    $2\,\frac{n-1}{n}$ of the buffer:

    $$t_{AR} = 2\,\frac{n-1}{n}\,\frac{\text{bytes}}{BW} + \text{latency}$$

    with $BW$ per GPU per direction (`cluster.intra_Bps` in a node, `cluster.inter_Bps` across
    nodes; latencies `cluster.node.intra_fabric.latency_s`, `cluster.fabric.latency_s`; the ring
    runs at its slowest link). Compute `allreduce_8_ms` (8 GPUs, one node, ms) and
    `allreduce_32_s` (32 GPUs, 4 nodes, s).
    """),
    predict("cp_ar", "Gradient all-reduce of Llama-3.1-8B over 32 H100s in 4 nodes", "s", 0.1,
            'solver.solve(model, cluster, n_gpus=32, dp=32, zero_stage=1, global_batch_size=32, seq_len=4096).dp_comm_time'),
    answer("ans_allreduce", """
    allreduce_8_ms = None   # ms
    allreduce_32_s = None   # s
    ### BEGIN SOLUTION
    grad_bytes = 2 * P
    allreduce_8_ms = (2 * 7 / 8 * grad_bytes / cluster.intra_Bps + cluster.node.intra_fabric.latency_s) * 1e3
    allreduce_32_s = 2 * 31 / 32 * grad_bytes / cluster.inter_Bps + cluster.fabric.latency_s
    ### END SOLUTION
    """),
    tests("ex2_allreduce", 4, recorder("allreduce_8_ms", "allreduce_32_s")),
    code("""
    if reveal(cp_ar, globals(), "allreduce_8_ms", "allreduce_32_s"):
        for n in (2, 8, 16, 32, 256):
            bw = cluster.intra_Bps if n <= 8 else cluster.inter_Bps
            print(f"{n:>4} GPUs: {ring_allreduce_time(2 * P, n, bw) * 1e3:8.1f} ms  (2(n-1)/n = {2 * (n - 1) / n:.3f})")
        compare("all-reduce over 32", allreduce_32_s, solver.solve(model, cluster, n_gpus=32, dp=32, zero_stage=1,
                global_batch_size=32, seq_len=4096).raw["dp_comm"], "s")
    """),
    md(r"""
    ## Exercise 3 - Pipeline bubbles

    With $p$ pipeline stages and $m$ microbatches per step, a GPipe/1F1B schedule keeps each
    stage idle for $p - 1$ of its $m + p - 1$ slots:

    $$\text{bubble} = \frac{p - 1}{m + p - 1}$$

    Compute `bubble_pp4_m8` (4 stages, 8 microbatches) and `microbatches_for_5pct`, the fewest
    microbatches that keep the bubble at or below 5 % with 4 stages.
    """),
    predict("cp_bubble", "Idle fraction of a 4-stage pipeline with 8 microbatches", "percent", 20,
            'pipeline_bubble(4, 8) * ml.Q_(1, "")'),
    answer("ans_bubble", """
    bubble_pp4_m8 = None           # between 0 and 1
    microbatches_for_5pct = None   # an integer
    ### BEGIN SOLUTION
    bubble_pp4_m8 = 3 / (8 + 3)
    microbatches_for_5pct = math.ceil(3 / 0.05 - 3)
    ### END SOLUTION
    """),
    tests("ex3_bubble", 3, recorder("bubble_pp4_m8", "microbatches_for_5pct")),
    code("""
    if reveal(cp_bubble, globals(), "bubble_pp4_m8", "microbatches_for_5pct"):
        for m in (1, 4, 8, 16, 57, 64):
            print(f"m = {m:>2}: bubble {pipeline_bubble(4, m):.1%}")
    """),
    md(r"""
    ## Exercise 4 - Scaling efficiency

    Data parallelism only, 32 GPUs (4 nodes), 256 sequences of 4096 tokens per step. Forward
    FLOPs per sequence $f = 2PS + 2LS^2a$; forward + backward $= 3f$ per sequence. Without overlap
    of communication and computation:

    $$T_{step} = \frac{3 f B}{N \cdot \text{peak}} + t_{AR}, \qquad \text{efficiency} = \frac{3 f B / (N \cdot \text{peak})}{T_{step}}$$

    Use the dense bf16 peak `cluster.gpu.peak_flops["bf16"]`. Compute `scaling_eff_32`.
    """),
    predict("cp_eff", "Scaling efficiency of data-parallel Llama-3.1-8B training on 32 H100s", "percent", 90,
            'solver.solve(model, cluster, n_gpus=32, dp=32, zero_stage=1, global_batch_size=256, seq_len=4096)'
            '.scaling_efficiency * ml.Q_(1, "")'),
    answer("ans_scaling", """
    scaling_eff_32 = None   # between 0 and 1
    ### BEGIN SOLUTION
    S, B, N = 4096, 256, 32
    f = 2 * P * S + 2 * model.layers * S**2 * model.heads * model.head_dim
    t_compute = 3 * f * B / (N * cluster.gpu.peak_flops["bf16"])
    scaling_eff_32 = t_compute / (t_compute + allreduce_32_s)
    ### END SOLUTION
    """),
    tests("ex4_scaling", 2, recorder("scaling_eff_32")),
    code("""
    if reveal(cp_eff, globals(), "scaling_eff_32"):
        for n in (8, 16, 32, 64, 128, 256):
            r = solver.solve(model, cluster, n_gpus=n, dp=n, zero_stage=1, global_batch_size=256, seq_len=4096)
            print(f"{n:>4} GPUs: step {r.raw['step']:6.3f} s, all-reduce {r.raw['dp_comm']:5.3f} s, "
                  f"efficiency {r.scaling_efficiency:.1%}")
    """),
    *reflection("reflect_ex4", 1, """
    **Reflect.** Efficiency drops sharply between 8 and 16 GPUs, and keeps falling (73 % at 32,
    25 % at 256) while the global batch stays at 256 sequences. Why both? Name two ways to win
    it back.
    """, """
    At 8 GPUs the ring stays on NVLink (450 GB/s per direction); from 16 on it crosses nodes and
    runs at the InfiniBand 50 GB/s per GPU, 9x slower, so the all-reduce jumps from 0.06 s to
    0.6 s. After that it hardly grows (2(n-1)/n tends to 2), but with a fixed global batch the
    compute per GPU halves each time N doubles, so the constant 0.6 s is an ever larger share of
    the step. Overlapping the all-reduce with the backward pass, a larger global batch (more
    compute per GPU), or tensor parallelism inside nodes (fewer, bigger data-parallel replicas)
    win it back.
    """),
]
