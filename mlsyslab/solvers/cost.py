"""Dollars: GPU-hour prices, serving cost per 1M tokens, training cost.
(Implementation in progress; the API below is stable.)"""

from __future__ import annotations

from .result import Result


class CostResult(Result):
    """price_per_gpu_hour, cost_per_hour, cost_per_million_tokens / total_cost."""


class CostSolver:
    def price_per_gpu_hour(self, hardware, provider=None):
        raise NotImplementedError

    def serving_cost(self, model, hardware, seq_len=2048, batch_size=1, precision="fp16", tensor_parallel=1,
                     price_per_gpu_hour=None, provider=None, efficiency="calibrated") -> CostResult:
        raise NotImplementedError

    def training_cost(self, distributed_result, tokens, price_per_gpu_hour=None, provider=None) -> CostResult:
        raise NotImplementedError


__all__ = ["CostSolver", "CostResult"]
