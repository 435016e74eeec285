"""Dollars: GPU-hour prices, serving cost per million tokens, training cost.

Formulas::

    cost per hour          = price per GPU-hour x GPUs
    serving $ / 1M tokens  = cost per hour / (decode throughput [tokens/s] x 3600) x 1e6
    training cost          = GPUs x (tokens / tokens per second) / 3600 x price per GPU-hour

Decode throughput comes from :class:`~mlsyslab.solvers.serving.ServingSolver` (batch / ITL);
training throughput from a :class:`~mlsyslab.solvers.distributed.DistributedResult`. Prices
are the sourced on-demand list prices of :mod:`mlsyslab.infra.prices` (the cheapest listed for
the device unless ``provider`` or ``price_per_gpu_hour`` is given).
"""

from __future__ import annotations

from .. import inputs
from ..errors import ValidationError
from ..infra import Infra, Prices
from ..zoo import Hardware
from .result import Result


class ServingCost(Result):
    """What :meth:`CostSolver.serving_cost` returns."""

    _QUANTITIES = {
        "price_per_gpu_hour": ("price", "USD/hour"),
        "cost_per_hour": ("cost_per_hour", "USD/hour"),
        "decode_throughput": ("tokens_per_s", "token/s"),
        "cost_per_million_tokens": ("per_million", "USD"),
    }
    _PLAIN = ("gpus", "price_source", "feasible")  # .serving holds the ServingResult

    def __repr__(self) -> str:
        r = self.raw
        return (f"<ServingCost {self.gpus} GPU(s) at ${r['price']:.3g}/GPU-h: {r['tokens_per_s']:,.4g} tokens/s -> "
                f"${r['per_million']:.4g} per 1M output tokens{'' if self.feasible else ' (does not fit: OOM)'}>")


class TrainingCost(Result):
    """What :meth:`CostSolver.training_cost` returns."""

    _QUANTITIES = {
        "price_per_gpu_hour": ("price", "USD/hour"),
        "cost_per_hour": ("cost_per_hour", "USD/hour"),
        "duration": ("duration_h", "hour"),
        "gpu_hours": ("gpu_hours", "hour"),
        "total_cost": ("total", "USD"),
        "cost_per_million_tokens": ("per_million", "USD"),
    }
    _PLAIN = ("gpus", "tokens", "price_source", "feasible")

    def __repr__(self) -> str:
        r = self.raw
        return (f"<TrainingCost {self.tokens:.3g} tokens on {self.gpus} GPUs at ${r['price']:.3g}/GPU-h: "
                f"{r['duration_h'] / 24:.4g} days, {r['gpu_hours']:,.0f} GPU-h, ${r['total']:,.0f}>")


class CostSolver:
    """Dollar figures from sourced GPU-hour prices (see module docstring)."""

    def price(self, hardware, provider=None):
        """The price entry used for ``hardware``: the cheapest listed, or ``provider``'s."""
        hw = Hardware.get(hardware, field="hardware")
        options = Infra.prices_for(hw)
        if provider is not None:
            providers = sorted({p.provider for p in Prices})
            prov = inputs.choice(provider, "provider", providers)
            options = [p for p in options if p.provider == prov]
        if not options:
            listed = sorted({p.hardware for p in Prices})
            raise ValidationError(f"no list price for hardware={hw.key!r}" + (f" from provider={provider!r}" if provider else "")
                                  + f"; prices are listed for {', '.join(listed)}. Pass price_per_gpu_hour= instead.",
                                  field="hardware", value=hw.key, allowed=", ".join(listed))
        return options[0]

    def price_per_gpu_hour(self, hardware, provider=None):
        """Per-GPU on-demand price (USD/hour) used for ``hardware``."""
        return self.price(hardware, provider).per_gpu_hour

    def _price(self, hardware, price_per_gpu_hour, provider):
        if price_per_gpu_hour is not None:
            return inputs.positive_float(price_per_gpu_hour, "price_per_gpu_hour", "USD/hour"), "given"
        p = self.price(hardware, provider)
        return p.per_gpu_hour_usd, f"{p.key}: {p.provider} {p.instance} (${p.instance_price_per_hour:g}/h, {p.date})"

    def serving_cost(self, model, hardware, seq_len=2048, batch_size=1, precision="fp16", tensor_parallel=1,
                     price_per_gpu_hour=None, provider=None, efficiency="calibrated") -> ServingCost:
        """Dollars per million output tokens of decoding with ServingSolver's throughput."""
        from .serving import ServingSolver

        r = ServingSolver(efficiency).solve(model, hardware, seq_len=seq_len, batch_size=batch_size,
                                            precision=precision, tensor_parallel=tensor_parallel)
        price, src = self._price(r.hardware, price_per_gpu_hour, provider)
        gpus = r.tensor_parallel
        per_hour = price * gpus
        tps = r.decode_tokens_per_s
        raw = {"price": price, "cost_per_hour": per_hour, "tokens_per_s": tps,
               "per_million": per_hour / (tps * 3600.0) * 1e6}
        return ServingCost(raw, gpus=gpus, price_source=src, feasible=r.feasible, serving=r)

    def training_cost(self, distributed_result, tokens, price_per_gpu_hour=None, provider=None) -> TrainingCost:
        """Dollars to train on ``tokens`` tokens at the step rate of ``distributed_result``."""
        from .distributed import DistributedResult

        if not isinstance(distributed_result, DistributedResult):
            raise ValidationError(f"distributed_result={distributed_result!r} is not allowed; pass what "
                                  "DistributedSolver().solve(...) returns.", field="distributed_result",
                                  value=distributed_result, allowed="a DistributedResult")
        n_tok = inputs.positive_float(tokens, "tokens", "token")
        d = distributed_result
        price, src = self._price(d.gpu, price_per_gpu_hour, provider)
        hours = n_tok / d.raw["tokens_per_s"] / 3600.0
        gpu_hours = d.n_gpus * hours
        total = gpu_hours * price
        raw = {"price": price, "cost_per_hour": price * d.n_gpus, "duration_h": hours, "gpu_hours": gpu_hours,
               "total": total, "per_million": total / n_tok * 1e6}
        return TrainingCost(raw, gpus=d.n_gpus, tokens=n_tok, price_source=src, feasible=d.feasible)


__all__ = ["CostSolver", "ServingCost", "TrainingCost"]
