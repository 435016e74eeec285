"""Visible graded items of lab 6, distributed training (Llama-3.1-8B, bf16 + Adam, 4096-token sequences,
DGX H100 SuperPOD scalable unit; ``DistributedSolver(efficiency="ideal")``).

    training state   = P x (2 weights + 2 gradients + 12 Adam) = 16 B/param; ZeRO-3 divides by dp
    ring all-reduce  = 2 (n-1)/n x bytes / BW + latency      (BW per GPU, per direction)
    bubble           = (pp - 1) / (m + pp - 1)
    step (dp only)   = 3 x (2 P S + 2 L S^2 a) x B / (N x peak) + all-reduce of the bf16 gradients
    scaling eff.     = ideal compute time / step time

One variant (``POOL`` has the default only): the lab's figures are fixed.
"""

from __future__ import annotations

from .. import DistributedSolver
from ..solvers.distributed import pipeline_bubble, ring_allreduce_time
from ..systems import Systems
from ..zoo import Models
from ..grading.rubric import Item, Mistake
from .variants import one_variant

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
                               "that is ZeRO-1 (optimizer only); ZeRO-3 shards weights and gradients too."),)),
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
             mistakes=(Mistake("over_m", lambda: 3 / 8, "the bubble is (p-1)/(m+p-1): divide by the whole step, m + p - 1 slots."),)),
        Item("microbatches_for_5pct", 2, lambda: next(m for m in range(1, 10_000) if pipeline_bubble(4, m) <= 0.05 + 1e-12),
             "fewest microbatches for a bubble <= 5 % with 4 stages", rtol=0.0, atol=0.0),
    ],
    "ex4_scaling": [
        Item("scaling_eff_32", 2, lambda: _solve(n_gpus=32, dp=32, zero_stage=1, global_batch_size=256).scaling_efficiency,
             "scaling efficiency, data-parallel on 32 GPUs, 256 sequences per step", rtol=0.02,
             mistakes=(Mistake("intra_node_links", lambda: (lambda r: r.raw["compute_ideal"] / (r.raw["compute_ideal"] + _ar(32, False)))(
                 _solve(n_gpus=32, dp=32, zero_stage=1, global_batch_size=256)),
                               "32 GPUs span 4 nodes: the ring runs at the InfiniBand rate (50 GB/s per GPU), not NVLink's."),)),
    ],
}

# one variant: every student gets the same numbers (the answers are named after them)
POOL, context, cells = one_variant(ITEMS)
