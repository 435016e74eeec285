"""The zoo: typed, sourced hardware and model specifications.

``Hardware`` groups devices by tier (``Hardware.Cloud.H100``) and finds them by name
(``Hardware.get("h100")``); ``Models`` does the same for workloads
(``Models.get("llama-3-8b")``). Both iterate for tables.
"""

from __future__ import annotations

from .registry import Registry, TieredRegistry, normalize_name
from .specs import HardwareSpec, ModelSpec, Source
from .data import hardware as _hardware_data
from .data import models as _model_data

Hardware = TieredRegistry("Hardware", _hardware_data.ALL)
Models = Registry("Models", _model_data.ALL)

__all__ = ["Hardware", "Models", "HardwareSpec", "ModelSpec", "Source", "Registry", "TieredRegistry", "normalize_name"]
