"""Efficiencies and overheads that turn datasheet rooflines into realistic predictions.

``IDEAL`` is the pure roofline: 100 % of datasheet peaks, no overheads, no link latency -
what a student computes by hand. ``calibrated()`` returns the constants fitted to measured
latencies (``measurements.json``, each point with its source) by
:func:`mlsyslab.calibration.fit.fit`; they are stored in ``fitted.json`` with the fit's date
and error, so predictions do not change silently. :func:`mlsyslab.calibration.validate.validate`
(``mlsyslab validate``) replays every measurement in both modes; see ``docs/validation.md``.

Calibrated time of one phase (prefill or one decode step)::

    t = max(FLOPs / (peak x eta_compute[prec]), bytes / (bandwidth x eta_memory))
        + t_comm + layers x overhead_per_layer   (+ layers x batch x token_overhead_decode, decode only)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Calibration:
    """Constants applied on top of the roofline (see module docstring)."""

    name: str
    eta_compute_16: float = 1.0  # fraction of dense fp16/bf16 (and tf32/fp32) peak reached by prefill GEMMs
    eta_compute_8: float = 1.0  # fraction of fp8/int8 peak
    eta_compute_4: float = 1.0  # fraction of fp4/int4 peak
    eta_memory: float = 1.0  # fraction of datasheet memory bandwidth reached when streaming weights/KV
    eta_network: float = 1.0  # fraction of link bandwidth reached by all-reduce
    layer_overhead_prefill_s: float = 0.0  # fixed time per layer per prefill (launches, norms, softmax...)
    layer_overhead_decode_s: float = 0.0  # fixed time per layer per decode step
    token_overhead_decode_s: float = 0.0  # extra time per layer per sequence of the batch in a decode step
    link_latency: bool = False  # add the device's per-collective link latency
    #: the load model's own decode constants (``LoadSolver`` outside the ideal mode; ``ServingSolver`` ignores
    #: them): the fixed time per layer of a decode step (None: ``layer_overhead_decode_s``) and the most
    #: sequences of a step that pay ``token_overhead_decode_s``; fitted by :mod:`.load_fit` (``load_fitted.json``)
    load_layer_overhead_decode_s: float | None = None
    load_token_overhead_batch: float = 64.0
    #: seconds from a client sending a request to the scheduler seeing it (HTTP, tokenisation, the
    #: engine's input queue), in every TTFT and E2E under load; fitted with the two above
    load_request_overhead_s: float = 0.0
    #: fraction of ``eta_memory`` x bandwidth that the attention kernels reach when they read the KV-cache
    #: (paged, per-sequence reads of a few KB, not one stream of weights); fitted with the three above
    load_kv_read_efficiency: float = 1.0
    #: host (CPU) seconds per running sequence per decode step of an engine whose scheduler runs in Python
    #: (vLLM, SGLang): scheduling, input preparation, sampling and output processing; paid in series with the
    #: GPU when the scheduler does not overlap it (``EngineProfile.frontend == "python"``, no overlap scheduling)
    load_host_overhead_seq_s: float = 0.0
    notes: str = ""
    fit: dict = field(default_factory=dict)

    def eta_compute(self, precision: str) -> float:
        if precision in ("fp8", "int8"):
            return self.eta_compute_8
        if precision in ("fp4", "int4"):
            return self.eta_compute_4
        return self.eta_compute_16

    def to_json(self) -> dict:
        return asdict(self)

    def serving_json(self) -> dict:
        """The serving constants only (what ``fitted.json`` stores; the load ones live in ``load_fitted.json``)."""
        return {k: v for k, v in asdict(self).items() if not k.startswith("load_")}


IDEAL = Calibration("ideal", notes="Pure roofline at 100 % of datasheet peaks; no overheads, no link latency.")

FITTED_PATH = _HERE / "fitted.json"
LOAD_FITTED_PATH = _HERE / "load_fitted.json"
MEASUREMENTS_PATH = _HERE / "measurements.json"


@lru_cache(maxsize=1)
def calibrated() -> Calibration:
    """The shipped fitted constants: ``fitted.json`` (serving model) and the load model's two decode
    constants from ``load_fitted.json``."""
    data = json.loads(FITTED_PATH.read_text())
    data.update(json.loads(LOAD_FITTED_PATH.read_text())["constants"])
    return Calibration(**data)


def get(efficiency) -> Calibration:
    """``"ideal"`` | ``"calibrated"`` | a :class:`Calibration` -> Calibration."""
    if isinstance(efficiency, Calibration):
        return efficiency
    from ..inputs import choice

    mode = choice(efficiency, "efficiency", ("calibrated", "ideal"))
    return IDEAL if mode == "ideal" else calibrated()


def load_measurements() -> list[dict]:
    """Measured latency points shipped with the package (each has a ``source``)."""
    return json.loads(MEASUREMENTS_PATH.read_text())["points"]


def load_excluded() -> list[dict]:
    """Published points kept on record but not used, each with its ``reason``."""
    return json.loads(MEASUREMENTS_PATH.read_text()).get("excluded_points", [])
