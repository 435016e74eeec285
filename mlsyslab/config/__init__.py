"""Simulation configs: scenarios in YAML or JSON, checked all at once before solving.

Example::

    cfg = mlsyslab.SimulationConfig.from_file(mlsyslab.examples.path("serving_sla.yaml"))
    for card in cfg.run():
        print(card)
"""

from __future__ import annotations

from .schema import SCENARIO_FIELDS, FieldError
from .simulation import ConfigError, SimulationConfig

__all__ = ["SimulationConfig", "ConfigError", "FieldError", "SCENARIO_FIELDS"]
