"""Scenarios: a workload on a system under an SLA, scored on three levels.

    import mlsyslab as ml
    sc = ml.Scenario("Llama3_8B", "H100", sla=ml.SLA(ttft=200, itl=20), seq_len=4096, batch_size=8)
    card = sc.evaluate()          # Scorecard: feasibility, performance (SLA margins), macro
    sc.evaluate(strict=True)      # raises OOMError / SLAViolation instead
"""

from __future__ import annotations

from .scenario import KINDS, Scenario
from .scorecard import Check, Level, Metric, Scorecard
from .sla import LIMITS, SLA

__all__ = ["Scenario", "SLA", "Scorecard", "Level", "Check", "Metric", "LIMITS", "KINDS"]
