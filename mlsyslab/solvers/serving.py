"""LLM serving: time to first token, inter-token latency, KV-cache and the memory wall.

``ServingSolver().solve(model, hardware, seq_len, batch_size, precision)`` checks its inputs,
then evaluates the equations of :mod:`mlsyslab.solvers.serving_physics` (see there for the
formulas). ``sweep`` evaluates the same equations on whole numpy grids at once.
"""

from __future__ import annotations

import math

import numpy as np

from .. import calibration as _cal
from .. import inputs
from ..errors import OOMError, UnknownAttributeError, UnknownNameError, ValidationError
from ..precision import BYTES_PER_VALUE, compute_precision, normalize, normalize_scope
from ..units import format_bytes, quantity
from ..zoo import Hardware, Models
from .result import Result
from .serving_physics import bottleneck, quantized_shares, serving_terms

MAX_SEQ_LEN = 10_000_000
MAX_BATCH = 1_000_000


def _resolve_model(model, field="model"):
    spec = Models.get(model, field=field)
    if not spec.is_llm:
        raise ValidationError(
            f"{field}={spec.key!r} is a {spec.family} model; ServingSolver needs a decoder LLM "
            f"(one of {', '.join(m.key for m in Models if m.is_llm)}). Use mlsyslab.Engine for {spec.family} workloads.",
            field=field, value=spec.key, allowed="a decoder LLM")
    return spec


class ServingResult(Result):
    """What :meth:`ServingSolver.solve` returns. Fields work as attributes and as items.

    Memory figures are **per GPU** (for ``tensor_parallel=1`` that is the whole model) and
    are given in GB (10^9 bytes); ``capacity`` keeps the device's own unit (GiB for HBM).
    """

    _QUANTITIES = {
        "ttft": ("ttft", "s"),
        "itl": ("itl", "s"),
        "model_weights_size": ("weights", "GB", 1e-9),
        "kv_cache_size": ("kv", "GB", 1e-9),
        "kv_cache_per_sequence": ("kv_per_seq", "GB", 1e-9),
        "total_memory_required": ("total", "GB", 1e-9),
        "overflow": ("overflow", "GB", 1e-9),
        "free_memory": ("free", "GB", 1e-9),
        "decode_throughput": ("decode_tokens_per_s", "token/s"),
        "prefill_throughput": ("prefill_tokens_per_s", "token/s"),
        "prefill_flops": ("flops_pre", "TFLOP", 1e-12),
        "decode_flops": ("flops_dec", "GFLOP", 1e-9),
        "prefill_bytes": ("bytes_pre", "GB", 1e-9),
        "decode_bytes": ("bytes_dec", "GB", 1e-9),
        "prefill_compute_time": ("t_pre_compute", "s"),
        "prefill_memory_time": ("t_pre_memory", "s"),
        "prefill_comm_time": ("t_pre_comm", "s"),
        "decode_compute_time": ("t_dec_compute", "s"),
        "decode_memory_time": ("t_dec_memory", "s"),
        "decode_comm_time": ("t_dec_comm", "s"),
        "itl_without_speculation": ("itl_plain", "s"),
    }
    _PLAIN = ("feasible", "within_context_window", "memory_utilization", "prefill_bottleneck", "decode_bottleneck",
              "max_batch_size", "tokens_per_step", "speculative_speedup", "prefix_hit_rate",
              "model", "hardware", "seq_len", "batch_size", "precision", "kv_precision", "compute_precision",
              "tensor_parallel", "efficiency", "quantized")

    def __init__(self, terms, *, model, hardware, seq_len, batch_size, precision, kv_precision,
                 compute_precision, tensor_parallel, efficiency, prefix_hit_rate=0.0, draft_model=None,
                 quantized="all"):
        self.model, self.hardware = model, hardware
        #: fraction of the prompt found in the prefix cache; the draft model of speculative decoding (or None)
        self.prefix_hit_rate, self.draft_model = prefix_hit_rate, draft_model
        self.seq_len, self.batch_size, self.tensor_parallel = seq_len, batch_size, tensor_parallel
        self.precision, self.kv_precision, self.compute_precision = precision, kv_precision, compute_precision
        self.efficiency = efficiency
        #: which weights ``precision`` covers ("all", "linear" or "ffn"; the rest are 16-bit)
        self.quantized = quantized
        cap = hardware.memory_bytes
        t = dict(terms)
        t["overflow"] = max(t["total"] - cap, 0.0)
        t["free"] = max(cap - t["total"], 0.0)
        t.setdefault("itl_plain", t["itl"])
        #: expected tokens per sequence per decode step (speculative decoding: (1 - alpha^(k+1)) / (1 - alpha))
        self.tokens_per_step = float(t.pop("tokens_per_round", 1.0))
        #: ITL without speculation / ITL with it (1.0 without a draft model)
        self.speculative_speedup = t["itl_plain"] / t["itl"]
        t["decode_tokens_per_s"] = batch_size / t["itl"]
        t["prefill_tokens_per_s"] = batch_size * seq_len / t["ttft"]
        self.raw = t
        self.ttft_s, self.itl_s = t["ttft"], t["itl"]
        self.weights_bytes, self.kv_bytes, self.total_bytes = t["weights"], t["kv"], t["total"]
        self.kv_per_seq_bytes = t["kv_per_seq"]
        self.capacity_bytes = cap
        self.decode_tokens_per_s = t["decode_tokens_per_s"]
        self.feasible = bool(self.total_bytes <= cap)
        self.memory_utilization = self.total_bytes / cap
        spare = cap - self.weights_bytes
        self.max_batch_size = int(spare // self.kv_per_seq_bytes) if spare > 0 else 0
        #: False when seq_len exceeds the context the model was trained for (max_seq_len): the
        #: figures are still computed, but the model would not produce useful output there.
        self.within_context_window = (not model.max_seq_len) or seq_len <= model.max_seq_len
        self.prefill_bottleneck = bottleneck(t["t_pre_compute"], t["t_pre_memory"], t["t_pre_comm"])
        self.decode_bottleneck = bottleneck(t["t_dec_compute"], t["t_dec_memory"], t["t_dec_comm"])

    @property
    def capacity(self):
        return self.hardware.memory.capacity

    def explain_oom(self) -> str:
        """One sentence with the figures: why this configuration does or does not fit."""
        hw = self.hardware
        need, cap = self.total_bytes, self.capacity_bytes
        verb = "fits in" if self.feasible else "does not fit in"
        return (f"{self.model.key} at seq_len={self.seq_len}, batch={self.batch_size}, {self.precision} "
                f"(tp={self.tensor_parallel}) needs {format_bytes(need)} per GPU "
                f"(weights {format_bytes(self.weights_bytes)} + KV-cache {format_bytes(self.kv_bytes)}) and "
                f"{verb} {hw.key}'s {format_bytes(cap)} ({format_bytes(cap, binary=True)}); "
                + (f"over by {format_bytes(need - cap)}; " if not self.feasible else "")
                + f"the largest batch that fits is {self.max_batch_size}.")

    def __repr__(self) -> str:
        return (f"<ServingResult {self.model.key} on {self.hardware.key} S={self.seq_len} B={self.batch_size} "
                f"{self.precision} tp={self.tensor_parallel}: TTFT {self.ttft_s * 1e3:.2f} ms "
                f"({self.prefill_bottleneck}), ITL {self.itl_s * 1e3:.3f} ms ({self.decode_bottleneck}), "
                f"memory {self.total_bytes / 1e9:.2f} GB = {self.memory_utilization:.1%}"
                f"{'' if self.feasible else ' OOM'}>")

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in (
            ("TTFT", f"{self.ttft_s * 1e3:.2f} ms ({self.prefill_bottleneck}-bound)"),
            ("ITL", f"{self.itl_s * 1e3:.3f} ms ({self.decode_bottleneck}-bound)"),
            ("Decode throughput", f"{self.decode_tokens_per_s:,.0f} tokens/s"),
            ("Weights / KV / total", f"{self.weights_bytes / 1e9:.2f} / {self.kv_bytes / 1e9:.3f} / {self.total_bytes / 1e9:.2f} GB"),
            ("Memory", f"{self.memory_utilization:.1%} of {self.capacity:~}" + ("" if self.feasible else " — OOM")),
        ))
        return f"<table><caption>{self.model.key} on {self.hardware.key}</caption>{rows}</table>"


class ServingSweep:
    """Arrays of a :meth:`ServingSolver.sweep`: each field has the broadcast grid shape."""

    _UNITS = ServingResult._QUANTITIES

    def __init__(self, terms, *, seq_len, batch_size, model, hardware, capacity_bytes):
        self._terms = terms
        self.seq_len, self.batch_size = seq_len, batch_size
        self.model, self.hardware = model, hardware
        self.feasible = terms["total"] <= capacity_bytes
        self.memory_utilization = terms["total"] / capacity_bytes
        self.shape = np.shape(self.feasible)

    def raw(self, name: str) -> np.ndarray:
        """A field as a plain array in base units (bytes, seconds)."""
        key = self._UNITS[name][0] if name in self._UNITS else name
        if key not in self._terms:
            raise ValidationError(f"name={name!r} is not a field of a serving sweep; fields: "
                                  f"{', '.join(self.fields())}.", field="name", value=name,
                                  allowed="a sweep field")
        return np.broadcast_to(self._terms[key], self.shape)

    def fields(self) -> list[str]:
        """Names readable as attributes/items (quantity arrays), besides feasible and memory_utilization."""
        return [k for k, (raw, *_) in self._UNITS.items() if raw in self._terms] + ["decode_throughput"]

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "decode_throughput":
            return quantity(np.broadcast_to(self.batch_size, self.shape) / self.raw("itl"), "token/s")
        if name in self._UNITS and self._UNITS[name][0] in self._terms:
            _, unit, *scale = self._UNITS[name]
            return quantity(self.raw(name) * (scale[0] if scale else 1.0), unit)
        raise UnknownAttributeError(f"ServingSweep has no field {name!r}.{inputs.did_you_mean(name, self.fields())} "
                                    f"Fields: {', '.join(self.fields())}.", field="field", value=name,
                                    allowed=", ".join(self.fields()))

    def __getitem__(self, key):
        try:
            return getattr(self, key)
        except AttributeError as err:
            raise UnknownNameError(str(err), field="field", value=key) from None

    def to_records(self) -> list[dict]:
        """One dict per grid point (plain floats: ms, GB), e.g. for a table or DataFrame."""
        S = np.broadcast_to(self.seq_len, self.shape).ravel()
        B = np.broadcast_to(self.batch_size, self.shape).ravel()
        cols = {"ttft_ms": self.raw("ttft").ravel() * 1e3, "itl_ms": self.raw("itl").ravel() * 1e3,
                "kv_cache_GB": self.raw("kv").ravel() / 1e9, "total_GB": self.raw("total").ravel() / 1e9,
                "memory_utilization": self.memory_utilization.ravel(), "feasible": self.feasible.ravel()}
        return [{"seq_len": int(s), "batch_size": int(b), **{k: v[i].item() for k, v in cols.items()}}
                for i, (s, b) in enumerate(zip(S, B))]


def speculation(target, draft_model, k, alpha):
    """Checked ``(draft spec, k, alpha)``: the draft must be a decoder LLM smaller than the target."""
    draft = _resolve_model(draft_model, field="draft_model")
    if draft.n_parameters >= target.n_parameters:
        small = [m.key for m in Models if m.is_llm and m.n_parameters < target.n_parameters / 4][:4]
        raise ValidationError(
            f"draft_model={draft.key!r} has {draft.n_parameters / 1e9:.2f} B parameters, not fewer than the target "
            f"{target.key}'s {target.n_parameters / 1e9:.2f} B; a draft model must be smaller than the model it "
            f"speeds up ({'e.g. ' + ', '.join(small) if small else 'the zoo has none smaller'}).",
            field="draft_model", value=draft.key, allowed=f"a decoder LLM smaller than {target.key}")
    k = inputs.positive_int(k, "speculative_tokens", maximum=64)
    alpha = inputs.fraction(alpha, "acceptance_rate")
    return draft, k, alpha


def _with_speculation(terms, m, hw, spec, S, B, cached, b_w, b_kv, eff_peak, tp, cal):
    """Terms of speculative decoding (see :mod:`mlsyslab.solvers.load_physics`): ITL becomes the
    time per output token (k T_draft + T_verify) / E; the draft's prefill, weights and KV are added."""
    from .load_physics import expected_tokens, step_cost

    draft, k, alpha = spec
    d = serving_terms(draft, hw, float(S), float(B), b_w, b_kv, eff_peak, 1, cal, cached=float(cached))
    verify = step_cost(m, hw, b_w, b_kv, eff_peak, tp, cal).step(B * (k + 1.0), 2.0 * S * B * (k + 1.0), S * B, B, False)
    E = expected_tokens(alpha, k)
    t = dict(terms)
    t["itl_plain"] = terms["itl"]
    t["itl"] = (k * float(d["itl"]) + verify) / E
    t["tokens_per_round"] = E
    t["ttft"] = terms["ttft"] + float(d["ttft"])
    for key in ("weights", "kv", "kv_per_seq", "total"):
        t[key] = terms[key] + float(d[key])
    return t


class ServingSolver:
    """Predict TTFT, ITL and memory of serving a decoder LLM on one device (or a TP group).

    Parameters
    ----------
    efficiency : {"calibrated", "ideal"} or Calibration
        ``"ideal"`` is the pure roofline at 100 % of datasheet peaks (the hand calculation);
        ``"calibrated"`` (default) applies efficiencies and per-layer overheads fitted to
        measured latencies (``mlsyslab validate`` shows how well).
    """

    def __init__(self, efficiency="calibrated"):
        self.calibration = _cal.get(efficiency)
        self.efficiency = self.calibration.name

    def _prepare(self, model, hardware, precision, tensor_parallel, kv_precision, quantized="all"):
        """Checked inputs: ``(model, hw, prec, kv_prec, tp, compute_prec, eff_peak, b_w)``; ``b_w`` and
        ``eff_peak`` are the weight bytes and GEMM rate of a mixed checkpoint (``quantized``)."""
        m = _resolve_model(model)
        hw = Hardware.get(hardware, field="hardware")
        prec = normalize(precision, "precision")
        kv_prec = prec if kv_precision is None else normalize(kv_precision, "kv_precision")
        tp = inputs.positive_int(tensor_parallel, "tensor_parallel", maximum=1024)
        if m.heads % tp:
            raise ValidationError(f"tensor_parallel={tp} does not divide {m.key}'s {m.heads} attention heads; "
                                  f"use a divisor of {m.heads}.", field="tensor_parallel", value=tp,
                                  allowed=f"a divisor of {m.heads}")
        if tp > 1 and hw.interconnect_Bps <= 0 and hw.host_Bps <= 0:
            raise ValidationError(f"tensor_parallel={tp} needs a link between devices, and {hw.key} lists none "
                                  "(no interconnect or host bandwidth); use tensor_parallel=1.",
                                  field="tensor_parallel", value=tp, allowed="1 on this device")
        cprec = compute_precision(prec, hw.peak_flops)
        eff_peak = hw.peak_flops[cprec] * self.calibration.eta_compute(cprec)
        b_w = BYTES_PER_VALUE[prec]
        scope = normalize_scope(quantized)
        if b_w < 2.0 and scope != "all":  # the unquantised share stays bf16
            q, q_a = quantized_shares(m, scope)
            c16 = compute_precision("bf16", hw.peak_flops)
            eff16 = hw.peak_flops[c16] * self.calibration.eta_compute(c16)
            b_w = q * b_w + (1.0 - q) * 2.0
            eff_peak = 1.0 / (q_a / eff_peak + (1.0 - q_a) / eff16)
        return m, hw, prec, kv_prec, tp, cprec, eff_peak, b_w

    def solve(self, model, hardware, seq_len, batch_size=1, precision="fp16", tensor_parallel=1,
              kv_precision=None, strict=False, *, prefix_hit_rate=0.0, draft_model=None, speculative_tokens=4,
              acceptance_rate=0.7, quantized="all") -> ServingResult:
        """Serve ``batch_size`` requests of ``seq_len`` tokens of context.

        Parameters
        ----------
        model, hardware : str or spec
            Zoo names (``"Llama3_8B"``, ``"h100"``) or specs (``Models.Llama3_8B``).
        seq_len : int or Quantity [token]
            Context length: the prompt processed by prefill and held in the KV-cache.
        batch_size : int
            Requests served together.
        precision : str
            Weight precision: fp32, tf32, bf16, fp16, fp8, int8, fp4, int4.
        tensor_parallel : int
            GPUs the model is split across (weights, KV and FLOPs divide; all-reduces added).
        kv_precision : str, optional
            KV-cache precision (default: same as ``precision``; use ``"fp16"`` for weight-only quantisation).
        strict : bool
            Raise :class:`~mlsyslab.errors.OOMError` instead of returning ``feasible=False``.
        prefix_hit_rate : float in [0, 1)
            Fraction of the prompt whose KV is already cached (a shared system prompt):
            prefill computes only the other ``seq_len - round(rate x seq_len)`` tokens.
        draft_model : str or spec, optional
            Speculative decoding with this (smaller) draft model: each round drafts
            ``speculative_tokens`` = k tokens, the target verifies k + 1 per sequence in one
            step, and ``acceptance_rate`` = alpha gives (1 - alpha^(k+1)) / (1 - alpha) tokens
            per round; ``itl`` is then the time per output token. The draft runs replicated
            on each GPU (t = 1); its weights, KV-cache and prefill are added.
        quantized : {"all", "linear", "ffn"}
            Which weights a below-16-bit ``precision`` covers; the others stay bf16. ``"all"``
            (default): every weight. ``"linear"``: the layers' projections, with embeddings and
            ``lm_head`` 16-bit (most FP8/int4 checkpoints). ``"ffn"``: Meta's FP8 recipe (Llama 3.1
            405B FP8): the FFN of every layer but the first and last; attention stays bf16.
        """
        m, hw, prec, kv_prec, tp, cprec, eff_peak, b_w = self._prepare(model, hardware, precision, tensor_parallel,
                                                                       kv_precision, quantized)
        S = inputs.positive_int(seq_len, "seq_len", "token", maximum=MAX_SEQ_LEN)
        B = inputs.positive_int(batch_size, "batch_size", maximum=MAX_BATCH)
        hit = inputs.fraction(prefix_hit_rate, "prefix_hit_rate")
        if hit >= 1.0:
            raise ValidationError(f"prefix_hit_rate={prefix_hit_rate!r} is not allowed; at least the last prompt "
                                  "token is computed, so the rate must be < 1.", field="prefix_hit_rate",
                                  value=prefix_hit_rate, allowed="a fraction in [0, 1)")
        cached = min(int(round(hit * S)), S - 1)
        spec = None if draft_model is None else speculation(m, draft_model, speculative_tokens, acceptance_rate)
        terms = serving_terms(m, hw, float(S), float(B), b_w, BYTES_PER_VALUE[kv_prec],
                              eff_peak, tp, self.calibration, cached=float(cached))
        terms = {k: float(v) for k, v in terms.items()}
        if spec is not None:
            terms = _with_speculation(terms, m, hw, spec, S, B, cached, b_w,
                                      BYTES_PER_VALUE[kv_prec], eff_peak, tp, self.calibration)
        result = ServingResult(terms, model=m, hardware=hw, seq_len=S, batch_size=B, precision=prec,
                               kv_precision=kv_prec, compute_precision=cprec, tensor_parallel=tp,
                               efficiency=self.efficiency, prefix_hit_rate=hit,
                               draft_model=None if spec is None else spec[0], quantized=normalize_scope(quantized))
        if strict and not result.feasible:
            raise OOMError("Out of memory: " + result.explain_oom(), required_bytes=result.total_bytes,
                           capacity_bytes=result.capacity_bytes)
        return result

    def sweep(self, model, hardware, seq_len, batch_size=1, precision="fp16", tensor_parallel=1,
              kv_precision=None, grid=True, *, quantized="all") -> ServingSweep:
        """Evaluate every (seq_len, batch_size) point at once, without a Python loop per point.

        With ``grid=True`` (default) two 1-D inputs give a ``len(seq_len) x len(batch_size)``
        grid; with ``grid=False`` they broadcast elementwise (numpy rules).
        """
        m, hw, prec, kv_prec, tp, cprec, eff_peak, b_w = self._prepare(model, hardware, precision, tensor_parallel,
                                                                       kv_precision, quantized)
        S = inputs.positive_int_array(seq_len, "seq_len", "token", maximum=MAX_SEQ_LEN)
        B = inputs.positive_int_array(batch_size, "batch_size", maximum=MAX_BATCH)
        if grid and S.ndim == 1 and B.ndim == 1 and S.size > 1 and B.size > 1:
            S, B = S[:, None], B[None, :]
        try:
            shape = np.broadcast_shapes(S.shape, B.shape)
        except ValueError:
            raise ValidationError(f"seq_len shape {S.shape} and batch_size shape {B.shape} do not broadcast; "
                                  "pass 1-D arrays with grid=True or equal shapes.", field="batch_size",
                                  value=B.shape, allowed="a shape that broadcasts with seq_len") from None
        terms = serving_terms(m, hw, S, B, b_w, BYTES_PER_VALUE[kv_prec], eff_peak, tp,
                              self.calibration)
        terms = {k: np.broadcast_to(v, shape) for k, v in terms.items()}
        return ServingSweep(terms, seq_len=S, batch_size=B, model=m, hardware=hw, capacity_bytes=hw.memory_bytes)

    def max_batch_size(self, model, hardware, seq_len, precision="fp16", tensor_parallel=1, kv_precision=None,
                       *, quantized="all") -> int:
        """Largest batch whose weights + KV-cache fit: floor((capacity - W) / KV_per_sequence)."""
        return self.solve(model, hardware, seq_len, 1, precision, tensor_parallel, kv_precision,
                          quantized=quantized).max_batch_size


__all__ = ["ServingSolver", "ServingResult", "ServingSweep"]
