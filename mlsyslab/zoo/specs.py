"""Typed, sourced specifications for the zoo.

Numbers are stored as plain floats in base units (bytes, bytes/s, FLOP/s, W, seconds) so
solvers can use them directly; the public attributes return Pint quantities. Each spec has a
``source`` (its datasheet) and ``field_sources`` for figures that come from elsewhere, so
:meth:`source_of` answers "where does this figure come from?" for every figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..units import quantity


@dataclass(frozen=True)
class Source:
    """Provenance of a figure: document title, address, date, and notes on how it was read."""

    title: str
    url: str | None = None
    date: str | None = None
    notes: str | None = None

    def __str__(self) -> str:
        parts = [self.title]
        if self.date:
            parts.append(f"({self.date})")
        if self.url:
            parts.append(self.url)
        return " ".join(parts)


_CAPACITY_UNITS = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
                   "KiB": 2 ** 10, "MiB": 2 ** 20, "GiB": 2 ** 30, "TiB": 2 ** 40}


class _Sourced:
    """Mix-in: ``source_of(figure)`` returns the Source of a figure."""

    def source_of(self, figure: str) -> Source:
        return self.field_sources.get(figure, self.source)


class MemoryView:
    """``hardware.memory``: capacity (in the unit the silicon is really counted in) and bandwidth."""

    __slots__ = ("_hw",)

    def __init__(self, hw):
        self._hw = hw

    @property
    def capacity(self):
        """Capacity as a quantity in its true unit (e.g. ``80 GiB``: convert with ``.to('GB')``)."""
        hw = self._hw
        return quantity(hw.memory_bytes / _CAPACITY_UNITS[hw.capacity_unit], hw.capacity_unit)

    @property
    def bandwidth(self):
        return quantity(self._hw.memory_bandwidth_Bps / 1e12, "TB/s")

    @property
    def type(self) -> str:
        return self._hw.memory_type

    def __repr__(self):
        return f"Memory({self.capacity:~}, {self.bandwidth:~}, {self.type})"


class ComputeView:
    """``hardware.compute``: dense peak throughput per precision."""

    __slots__ = ("_hw",)

    def __init__(self, hw):
        self._hw = hw

    @property
    def peak_flops(self):
        """Dense fp16 peak (or the device's headline precision when it has no fp16 path)."""
        return self.peak(self._hw.headline_precision)

    def peak(self, precision: str):
        """Dense peak at ``precision`` (native path only; KeyError-free: raises ValidationError)."""
        from ..precision import normalize
        from ..errors import ValidationError

        p = normalize(precision)
        if p not in self._hw.peak_flops:
            have = ", ".join(self._hw.peak_flops)
            raise ValidationError(f"{self._hw.name} has no native {p} path; it has: {have}.",
                                  field="precision", value=precision, allowed=have)
        return quantity(self._hw.peak_flops[p] / 1e12, "TFLOPs/s")

    @property
    def precisions(self) -> tuple[str, ...]:
        return tuple(self._hw.peak_flops)

    def __repr__(self):
        return "Compute(" + ", ".join(f"{p}={v / 1e12:g} TFLOP/s" for p, v in self._hw.peak_flops.items()) + ")"


class InterconnectView:
    """``hardware.interconnect``: device-to-device link (NVLink, Infinity Fabric, ICI, PCIe)."""

    __slots__ = ("_hw",)

    def __init__(self, hw):
        self._hw = hw

    @property
    def name(self) -> str:
        return self._hw.interconnect_name

    @property
    def bandwidth(self):
        """Aggregate bidirectional bandwidth per device, as datasheets quote it."""
        return quantity(self._hw.interconnect_Bps / 1e9, "GB/s")

    @property
    def latency(self):
        return quantity(self._hw.interconnect_latency_s * 1e6, "us")

    def __repr__(self):
        return f"Interconnect({self.name}, {self.bandwidth:~})"


@dataclass(frozen=True, eq=False)
class HardwareSpec(_Sourced):
    """One accelerator, CPU or microcontroller.

    Parameters
    ----------
    key : str
        Short registry name (``"H100"``), also the attribute under its tier.
    name : str
        Full product name.
    tier : str
        ``Cloud``, ``Workstation``, ``Mobile``, ``Edge`` or ``Tiny``.
    memory_bytes : float
        Memory capacity in bytes; ``capacity_unit`` says how the vendor's figure is really
        counted (HBM stacks are binary: "80GB" H100 = 80 GiB).
    memory_bandwidth_Bps : float
        Peak memory bandwidth, bytes/s.
    peak_flops : dict[str, float]
        Dense (no structured sparsity) peak FLOP/s (or OP/s for int) per native precision.
    tdp_w : float | None
        Thermal design power / max board power, W.
    interconnect_Bps : float
        Device-to-device bandwidth, bidirectional aggregate, bytes/s (0 if none).
    host_Bps : float
        Host link bandwidth (PCIe), bidirectional, bytes/s.
    """

    key: str
    name: str
    tier: str
    vendor: str
    memory_bytes: float
    capacity_unit: str
    memory_bandwidth_Bps: float
    memory_type: str
    peak_flops: dict
    tdp_w: float | None
    source: Source
    interconnect_name: str = "none"
    interconnect_Bps: float = 0.0
    interconnect_latency_s: float = 0.0
    host_Bps: float = 0.0
    year: int | None = None
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    def __post_init__(self):
        if self.capacity_unit not in _CAPACITY_UNITS:
            raise ValueError(f"{self.key}: capacity_unit {self.capacity_unit!r} not in {list(_CAPACITY_UNITS)}")
        object.__setattr__(self, "memory", MemoryView(self))
        object.__setattr__(self, "compute", ComputeView(self))
        object.__setattr__(self, "interconnect", InterconnectView(self))

    @property
    def headline_precision(self) -> str:
        for p in ("fp16", "bf16", "int8", "fp32"):
            if p in self.peak_flops:
                return p
        return next(iter(self.peak_flops))

    @property
    def tdp(self):
        return None if self.tdp_w is None else quantity(self.tdp_w, "W")

    @property
    def host_bandwidth(self):
        return quantity(self.host_Bps / 1e9, "GB/s")

    def ridge_point(self, precision: str = "fp16") -> float:
        """Arithmetic intensity (FLOP/byte) where compute and memory bounds meet: peak / bandwidth."""
        from ..precision import compute_precision, normalize

        p = compute_precision(normalize(precision), self.peak_flops)
        return self.peak_flops[p] / self.memory_bandwidth_Bps

    def __repr__(self) -> str:
        cap = self.memory_bytes / _CAPACITY_UNITS[self.capacity_unit]
        return (f"<{self.tier}.{self.key}: {self.name}, {cap:g} {self.capacity_unit}, "
                f"{self.memory_bandwidth_Bps / 1e12:g} TB/s, "
                f"{self.peak_flops[self.headline_precision] / 1e12:g} T{self.headline_precision}/s>")


@dataclass(frozen=True, eq=False)
class ModelSpec(_Sourced):
    """One workload. Transformers carry their architecture; other models carry sourced totals.

    For transformers the parameter count is derived from the architecture
    (:meth:`count_parameters`), and a test checks it against the published figure.

    Transformer parameter count (per layer, ``d = hidden_dim``, ``a = heads*head_dim``,
    ``k = kv_heads*head_dim``)::

        attention = d*a (Q) + 2*d*k (K,V) + a*d (O)      [+ biases; qkv_bias: + a + 2*k only]
        ffn       = n_mats * d * ffn_dim * experts      (n_mats = 3 gated, 2 plain) + router d*experts
        norms     = 2*d (RMSNorm) or 4*d (LayerNorm)
        total     = L*(attention + ffn + norms) + vocab*d*(1 if tied else 2) + positions*d + final norm
    """

    key: str
    name: str
    family: str  # "decoder", "encoder", "cnn", "recsys", "tinyml"
    source: Source
    layers: int = 0
    hidden_dim: int = 0
    heads: int = 0
    kv_heads: int = 0
    head_dim: int = 0
    ffn_dim: int = 0
    vocab: int = 0
    max_seq_len: int = 0
    experts: int = 1
    active_experts: int = 1
    gated_ffn: bool = True
    tied_embeddings: bool = False
    biases: bool = False
    qkv_bias: bool = False  # biases on Q, K, V projections only (Qwen2/2.5); ignored when ``biases``
    layernorm: bool = False  # LayerNorm (weight+bias) instead of RMSNorm (weight)
    learned_positions: int = 0
    extra_params: float = 0.0
    published_parameters: float | None = None
    published_active_parameters: float | None = None
    flops_per_inference: float | None = None  # non-transformers: FLOPs (2 x MACs) per sample
    activation_bytes_fp32: float | None = None  # non-transformers: bytes of activations per sample, fp32
    input_shape: tuple = ()
    task: str = ""
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    @property
    def is_transformer(self) -> bool:
        return self.layers > 0 and self.hidden_dim > 0

    @property
    def is_llm(self) -> bool:
        return self.family == "decoder"

    @property
    def is_moe(self) -> bool:
        return self.experts > 1

    def _layer_parts(self):
        """Per-layer (attention, one expert's FFN, router, norms) parameter counts; see the class docstring.

        ``biases`` adds GPT-2-style biases on Q, K, V, O and the FFN; ``qkv_bias`` adds biases on
        Q, K and V only (``a + 2*k`` per layer), as in Qwen2/2.5.
        """
        d, a, k = self.hidden_dim, self.heads * self.head_dim, self.kv_heads * self.head_dim
        attn = d * a + 2 * d * k + a * d + ((a + 2 * k + d) if self.biases else (a + 2 * k) if self.qkv_bias else 0)
        n_mats = 3 if self.gated_ffn else 2
        expert = n_mats * d * self.ffn_dim + ((self.ffn_dim + d) if self.biases else 0)
        router = d * self.experts if self.experts > 1 else 0
        norms = (4 if self.layernorm else 2) * d
        return attn, expert, router, norms

    def count_parameters(self, active: bool = False) -> float:
        """Parameters from the architecture (``active=True``: those one token uses in an MoE)."""
        if not self.is_transformer:
            return float(self.published_parameters or 0.0)
        attn, expert, router, norms = self._layer_parts()
        n_exp = self.active_experts if active else self.experts
        per_layer = attn + expert * n_exp + router + norms
        embed = self.vocab * self.hidden_dim * (1 if self.tied_embeddings else 2)
        final_norm = (2 if self.layernorm else 1) * self.hidden_dim
        return float(self.layers * per_layer + embed + self.learned_positions * self.hidden_dim
                     + final_norm + self.extra_params)

    @property
    def n_parameters(self) -> float:
        """Total parameter count as a float (what weights memory is sized from)."""
        return self.count_parameters()

    @property
    def n_active_parameters(self) -> float:
        """Parameters used per token (= total for dense models)."""
        return self.count_parameters(active=True)

    @property
    def parameters(self):
        return quantity(self.n_parameters, "param")

    @property
    def active_parameters(self):
        return quantity(self.n_active_parameters, "param")

    @property
    def attention_dim(self) -> int:
        """heads x head_dim (the width of Q and of the attention output)."""
        return self.heads * self.head_dim

    def kv_bytes_per_token(self, bytes_per_value: float = 2.0) -> float:
        """KV-cache bytes one token adds: 2 (K and V) x layers x kv_heads x head_dim x bytes."""
        return 2.0 * self.layers * self.kv_heads * self.head_dim * bytes_per_value

    def __repr__(self) -> str:
        p = self.n_parameters
        return f"<Models.{self.key}: {self.name}, {p / 1e9:.3g} B params, {self.family}>"


def _macs(self) -> float | None:
    """Multiply-accumulates per sample (FLOPs / 2): what papers often call "FLOPs" for CNNs."""
    return None if self.flops_per_inference is None else self.flops_per_inference / 2


ModelSpec.macs_per_inference = property(_macs)
