"""mlsyslab: first-principles performance reasoning for ML systems.

Quick start::

    import mlsyslab as ml
    r = ml.ServingSolver().solve(model="Llama3_8B", hardware="H100", seq_len=2048)
    print(r.ttft.to("ms"), r.itl.to("ms"), r.kv_cache_size)

Everything is imported lazily so ``import mlsyslab`` stays fast and never pulls in
ipywidgets, bqplot or nbgrader; ``mlsyslab.widgets`` and ``mlsyslab.grading`` load on use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import MLSysError, OOMError, SLAViolation, UnknownNameError, ValidationError  # noqa: E402  (cheap)

#: public name -> module that defines it (imported on first attribute access)
_LAZY = {
    "Hardware": "mlsyslab.zoo",
    "Models": "mlsyslab.zoo",
    "HardwareSpec": "mlsyslab.zoo",
    "ModelSpec": "mlsyslab.zoo",
    "Source": "mlsyslab.zoo",
    "ServingSolver": "mlsyslab.solvers.serving",
    "ServingResult": "mlsyslab.solvers.serving",
    "ServingSweep": "mlsyslab.solvers.serving",
    "LoadSolver": "mlsyslab.solvers.load",
    "LoadResult": "mlsyslab.solvers.load",
    "Calibration": "mlsyslab.calibration",
    "Engine": "mlsyslab.solvers.roofline",
    "roofline": "mlsyslab.solvers.roofline",
    "DistributedSolver": "mlsyslab.solvers.distributed",
    "SustainabilitySolver": "mlsyslab.solvers.sustainability",
    "CostSolver": "mlsyslab.solvers.cost",
    "Systems": "mlsyslab.systems",
    "Infra": "mlsyslab.infra",
    "Scenario": "mlsyslab.scenarios",
    "SLA": "mlsyslab.scenarios",
    "Scorecard": "mlsyslab.scenarios",
    "SimulationConfig": "mlsyslab.config",
    "ureg": "mlsyslab.units",
    "Q_": "mlsyslab.units",
    "validate": "mlsyslab.calibration.validate",
}
_SUBMODULES = {"widgets", "grading", "labs", "units", "zoo", "solvers", "calibration", "cli", "systems", "infra",
               "scenarios", "config", "precision", "inputs", "errors", "examples"}

__all__ = sorted(set(_LAZY) | {"MLSysError", "OOMError", "SLAViolation", "UnknownNameError", "ValidationError"})


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"mlsyslab.{name}")
    raise AttributeError(f"module 'mlsyslab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
