"""Distributed training: step time and memory per GPU under data/tensor/pipeline parallelism.

(Implementation in progress; the API below is stable.)
"""

from __future__ import annotations

from .result import Result


def ring_allreduce_time(message_bytes, n, bandwidth, latency=0.0):
    """Ring all-reduce of ``message_bytes`` over ``n`` ranks: ``2(n-1)/n x bytes / bandwidth + latency``.

    ``bandwidth`` is what each rank sends at per direction (bytes/s); 0 when n == 1.
    """
    if n <= 1:
        return 0.0 * message_bytes
    return 2.0 * (n - 1) / n * message_bytes / bandwidth + latency


class DistributedResult(Result):
    """What :meth:`DistributedSolver.solve` returns (step_time, compute_time, comm_time, bubble_fraction,
    memory_per_gpu and its parts, feasible, tokens_per_second, mfu, scaling_efficiency)."""


class DistributedSolver:
    """Step time, memory per GPU and throughput of training one model on a cluster."""

    def __init__(self, efficiency="calibrated"):
        self.efficiency = efficiency

    def solve(self, model, cluster, n_gpus=None, dp=None, tp=1, pp=1, global_batch_size=None, microbatch_size=1,
              microbatches=None, seq_len=None, precision="bf16", zero_stage=0, recompute=False, optimizer="adam",
              efficiency=None, strict=False, flash_attention=True) -> DistributedResult:
        raise NotImplementedError


__all__ = ["DistributedSolver", "DistributedResult", "ring_allreduce_time"]
