"""What the labs' graded items share: the ideal (pure roofline) solvers, built once on first use,
and zoo look-ups by name. Lazy, so importing a lab module stays cheap."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def serving_solver():
    """``ServingSolver(efficiency="ideal")``: the hand formulas the labs teach."""
    from ..solvers.serving import ServingSolver

    return ServingSolver(efficiency="ideal")


@lru_cache(maxsize=None)
def load_solver():
    """``LoadSolver(efficiency="ideal", engine="vllm-v0")``: the load simulator on ideal step times
    (labs 8 and 9), pinned to vLLM V0's scheduler (prefill-only steps, 256 seats, 8192-token
    budget, 16-token blocks, 1 % watermark): the one the labs' hand formulas describe."""
    from ..solvers.load import LoadSolver

    return LoadSolver(efficiency="ideal", engine="vllm-v0")


def model(name):
    """The zoo model called ``name``."""
    from ..zoo import Models

    return Models.get(name)


def gpu(name):
    """The zoo device called ``name``."""
    from ..zoo import Hardware

    return Hardware.get(name)
