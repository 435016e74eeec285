"""The roofline engine: is one inference compute-bound or memory-bound on a device?

``Engine.solve(model, hardware, batch_size, precision)`` works for every workload in the zoo.
Symbols: B batch, S sequence length, P (active) parameters, b bytes per value, L layers,
d hidden_dim, a = heads x head_dim.

FLOPs and bytes moved per inference (one forward pass of the batch)::

    CNN / TinyML:  F = B x flops_per_inference           (sourced; FLOPs = 2 x MACs)
                   M = P x b + B x activation_bytes x b/4
    DLRM:          F = B x flops_per_inference
                   M = min(P, MACs) x b + B x activation_bytes x b/4   (the dense MLP weights, about one
                   per MAC, are read once per batch; embedding tables stay put, only gathered rows move)
    Transformer:   F = 2 x P_a x B x S + c x L x S^2 x a x B  (matmuls + attention: c = 2 for causal
                                                               decoders, 4 for bidirectional encoders)
                   M = P x b + KV + 2 x L x B x S x d x b     (weights once, K/V written, each layer's
                   input read and output written: a lower bound on activation traffic)

Then, with I = F / M (arithmetic intensity) and the device's ridge point R = peak / bandwidth::

    latency = max(F / (peak x eta_c), M / (BW x eta_m))     bound = the larger of the two terms
                                                            (ideal mode: "compute" iff I >= R)
    throughput = B / latency

``seq_len`` for transformers defaults to ``min(model.max_seq_len, 2048)`` tokens (one prompt of
that length per sample; :data:`DEFAULT_SEQ_LEN`). ``efficiency="ideal"`` (default) is the pure
roofline at datasheet peaks; ``"calibrated"`` applies the fitted efficiencies of
:mod:`mlsyslab.calibration`.
"""

from __future__ import annotations

import numpy as np

from .. import calibration as _cal
from .. import inputs
from ..errors import OOMError
from ..precision import BYTES_PER_VALUE, compute_precision, normalize
from ..units import format_bytes, quantity
from ..zoo import Hardware, Models
from .result import Result

#: transformers: default tokens per sample when ``seq_len`` is not given (capped by max_seq_len)
DEFAULT_SEQ_LEN = 2048
MAX_BATCH = 10_000_000
MAX_SEQ_LEN = 10_000_000


def attention_factor(model) -> float:
    """c in c x L x S^2 x a: QK^T and AV cost 2 S^2 a each per layer; a causal mask halves that."""
    return 2.0 if model.is_llm else 4.0


def workload_terms(model, batch_size: float, seq_len: float, b: float) -> dict:
    """FLOPs and bytes of one forward pass (see module docstring); plain floats, base units."""
    B = float(batch_size)
    if model.is_transformer:
        S = float(seq_len)
        L, a, d = model.layers, model.attention_dim, model.hidden_dim
        flops = 2.0 * model.n_active_parameters * B * S + attention_factor(model) * L * S * S * a * B
        weights = model.n_parameters * b
        kv = model.kv_bytes_per_token(b) * S * B
        activations = kv + 2.0 * L * B * S * d * b
        return {"flops": flops, "weights": weights, "weights_moved": weights,
                "activations": activations}
    flops = float(model.flops_per_inference) * B
    act = float(model.activation_bytes_fp32 or 0.0) * b / 4.0 * B
    weights = model.n_parameters * b
    moved = min(model.n_parameters, model.macs_per_inference) * b if model.family == "recsys" else weights
    return {"flops": flops, "weights": weights, "weights_moved": moved, "activations": act}


class RooflineResult(Result):
    """What :meth:`Engine.solve` returns. Fields work as attributes and as items.

    ``memory_bytes`` is the traffic of one forward pass of the batch; ``memory_required`` what
    must be resident (weights + activations); ``utilization`` (alias ``mfu``) the fraction of
    the compute peak the pass achieves (``flops / latency / peak``); ``energy`` = TDP x latency
    for the batch (NaN for devices without a published TDP). ``bottleneck``, ``latency_compute``,
    ``latency_memory`` and ``memory_footprint`` are the seed's names for ``bound``,
    ``compute_time``, ``memory_time`` and ``memory_required``.
    """

    _QUANTITIES = {
        "flops": ("flops", "GFLOP", 1e-9),
        "macs": ("macs", "GMAC", 1e-9),
        "memory_bytes": ("memory_bytes", "MB", 1e-6),
        "weights_bytes": ("weights", "MB", 1e-6),
        "activation_bytes": ("activations", "MB", 1e-6),
        "arithmetic_intensity": ("intensity", "FLOP/B"),
        "ridge_point": ("ridge", "FLOP/B"),
        "latency": ("latency", "ms", 1e3),
        "compute_time": ("t_compute", "ms", 1e3),
        "memory_time": ("t_memory", "ms", 1e3),
        "throughput": ("throughput", "sample/s"),
        "memory_required": ("memory_required", "GB", 1e-9),
        "peak": ("peak", "TFLOP/s", 1e-12),
        "bandwidth": ("bandwidth", "TB/s", 1e-12),
        "attainable": ("attainable", "TFLOP/s", 1e-12),
        "energy": ("energy", "J"),
        # the seed's (MLSYSIM v0.1.0) names for the same figures
        "latency_compute": ("t_compute", "ms", 1e3),
        "latency_memory": ("t_memory", "ms", 1e3),
        "memory_footprint": ("memory_required", "GB", 1e-9),
    }
    _PLAIN = ("bound", "bottleneck", "feasible", "utilization", "mfu", "memory_utilization", "model", "hardware",
              "batch_size", "seq_len", "precision", "compute_precision", "efficiency")

    def __init__(self, raw, *, model, hardware, batch_size, seq_len, precision, compute_precision, efficiency):
        self.raw = raw
        self.model, self.hardware = model, hardware
        self.batch_size, self.seq_len = batch_size, seq_len
        self.precision, self.compute_precision, self.efficiency = precision, compute_precision, efficiency
        self.bound = "compute" if raw["t_compute"] >= raw["t_memory"] else "memory"  # the term that sets latency
        self.bottleneck = f"{self.bound.capitalize()} Bound"  # the seed's spelling
        self.feasible = bool(raw["memory_required"] <= hardware.memory_bytes)
        self.utilization = raw["flops"] / raw["latency"] / raw["peak"]
        self.mfu = self.utilization
        self.memory_utilization = raw["memory_required"] / hardware.memory_bytes

    def __repr__(self) -> str:
        r = self.raw
        return (f"<RooflineResult {self.model.key} on {self.hardware.key} B={self.batch_size} {self.precision}: "
                f"{r['flops'] / 1e9:.3g} GFLOP, {r['memory_bytes'] / 1e6:.3g} MB, I={r['intensity']:.1f} FLOP/B "
                f"vs ridge {r['ridge']:.1f} -> {self.bound}-bound, latency {r['latency'] * 1e3:.3g} ms, "
                f"{r['throughput']:.4g} samples/s{'' if self.feasible else ', OOM'}>")


class Engine:
    """Roofline analysis of one forward pass: ``Engine.solve(model=..., hardware=...)``."""

    @staticmethod
    def solve(model, hardware, batch_size=1, precision="fp16", seq_len=None, efficiency="ideal",
              strict=False) -> RooflineResult:
        """FLOPs, bytes, intensity, bound, latency and memory of one inference of a batch.

        Parameters
        ----------
        model, hardware : str or spec
            Zoo names or specs (``"ResNet50"``, ``Hardware.Cloud.A100``).
        batch_size : int
            Samples per forward pass.
        precision : str
            Precision of weights and activations (bytes per value); arithmetic runs at the
            device's peak for it, or falls back (see :mod:`mlsyslab.precision`).
        seq_len : int, optional
            Transformers only: tokens per sample (default ``min(max_seq_len, 2048)``); ignored
            (``result.seq_len`` is None) for CNN, DLRM and TinyML workloads.
        efficiency : {"ideal", "calibrated"}
            Pure datasheet roofline, or fitted compute/memory efficiencies.
        strict : bool
            Raise :class:`~mlsyslab.errors.OOMError` when the pass does not fit in memory.
        """
        m = Models.get(model, field="model")
        hw = Hardware.get(hardware, field="hardware")
        prec = normalize(precision, "precision")
        B = inputs.positive_int(batch_size, "batch_size", maximum=MAX_BATCH)
        if m.is_transformer:
            S = DEFAULT_SEQ_LEN if seq_len is None else inputs.positive_int(seq_len, "seq_len", "token",
                                                                           maximum=MAX_SEQ_LEN)
            S = min(S, m.max_seq_len) if seq_len is None else S
        else:
            S = None
        cal = _cal.get(efficiency)
        cprec = compute_precision(prec, hw.peak_flops)
        b = BYTES_PER_VALUE[prec]
        w = workload_terms(m, B, S or 1, b)
        peak, bw = hw.peak_flops[cprec], hw.memory_bandwidth_Bps
        memory_bytes = w["weights_moved"] + w["activations"]
        t_c = w["flops"] / (peak * cal.eta_compute(cprec))
        t_m = memory_bytes / (bw * cal.eta_memory)
        latency = max(t_c, t_m)
        intensity = w["flops"] / memory_bytes
        raw = {"flops": w["flops"], "macs": w["flops"] / 2.0, "memory_bytes": memory_bytes,
               "weights": w["weights"], "activations": w["activations"], "intensity": intensity,
               "ridge": peak / bw, "latency": latency, "t_compute": t_c, "t_memory": t_m,
               "throughput": B / latency, "memory_required": w["weights"] + w["activations"],
               "peak": peak, "bandwidth": bw, "attainable": min(peak, bw * intensity),
               "energy": (hw.tdp_w if hw.tdp_w is not None else float("nan")) * latency}
        result = RooflineResult(raw, model=m, hardware=hw, batch_size=B, seq_len=S, precision=prec,
                                compute_precision=cprec, efficiency=cal.name)
        if strict and not result.feasible:
            need, cap = raw["memory_required"], hw.memory_bytes
            raise OOMError(f"Out of memory: {m.key} at batch {B}, {prec} needs {format_bytes(need)} "
                           f"(weights {format_bytes(w['weights'])} + activations {format_bytes(w['activations'])}) "
                           f"but {hw.key} holds {format_bytes(cap)}; over by {format_bytes(need - cap)}.",
                           required_bytes=need, capacity_bytes=cap)
        return result


class RooflineData:
    """A device's roofline for plotting: ``attainable = min(peak, bandwidth x intensity)``.

    Attributes
    ----------
    intensity : ndarray
        Arithmetic intensities (FLOP/byte), log-spaced from 0.1 to 10^4 unless given.
    attainable_flops : ndarray
        Attainable FLOP/s at each intensity (plain floats; ``attainable`` is the quantity).
    ceilings : dict
        Dense peak FLOP/s of every native precision (horizontal lines of the plot).
    """

    def __init__(self, hardware, precision, intensity):
        self.hardware = hardware
        self.precision = precision
        self.compute_precision = compute_precision(precision, hardware.peak_flops)
        self.peak_flops = hardware.peak_flops[self.compute_precision]
        self.bandwidth_Bps = hardware.memory_bandwidth_Bps
        self.ridge = self.peak_flops / self.bandwidth_Bps
        self.intensity = intensity
        self.attainable_flops = np.minimum(self.peak_flops, self.bandwidth_Bps * intensity)
        self.ceilings = dict(hardware.peak_flops)

    @property
    def peak(self):
        return quantity(self.peak_flops / 1e12, "TFLOP/s")

    @property
    def bandwidth(self):
        return quantity(self.bandwidth_Bps / 1e12, "TB/s")

    @property
    def ridge_point(self):
        return quantity(self.ridge, "FLOP/B")

    @property
    def attainable(self):
        return quantity(self.attainable_flops / 1e12, "TFLOP/s")

    def point(self, model, batch_size=1, seq_len=None, efficiency="ideal") -> RooflineResult:
        """Where a workload sits on this roofline (its ``arithmetic_intensity`` and ``attainable``)."""
        return Engine.solve(model, self.hardware, batch_size=batch_size, precision=self.precision,
                            seq_len=seq_len, efficiency=efficiency)

    def __repr__(self) -> str:
        return (f"<Roofline {self.hardware.key} {self.compute_precision}: peak {self.peak_flops / 1e12:g} TFLOP/s, "
                f"{self.bandwidth_Bps / 1e12:g} TB/s, ridge {self.ridge:.1f} FLOP/B>")


def roofline(hardware, precision="fp16", intensity=None) -> RooflineData:
    """Roofline data of ``hardware`` at ``precision``: peak, bandwidth, ridge point, curve arrays."""
    hw = Hardware.get(hardware, field="hardware")
    prec = normalize(precision, "precision")
    I = np.logspace(-1, 4, 256) if intensity is None else _positive_array(intensity)
    return RooflineData(hw, prec, I)


def _positive_array(value):
    from ..units import magnitude
    from ..errors import ValidationError

    mag = magnitude(value, "FLOP/B", field="intensity")  # a wrong dimension raises here, naming it
    try:
        arr = np.atleast_1d(np.asarray(mag, dtype=float))
    except (TypeError, ValueError):  # a word, a ragged list: not numbers
        arr = np.array([np.nan])
    if isinstance(value, bool) or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValidationError(f"intensity={value!r} is not allowed; intensity must be positive finite "
                              "numbers (FLOP/byte).", field="intensity", value=value,
                              allowed="positive finite numbers (FLOP/B)")
    return arr


__all__ = ["Engine", "RooflineResult", "RooflineData", "roofline", "workload_terms", "DEFAULT_SEQ_LEN"]
