"""A scenario: one workload on one system, with the SLA it must meet.

``Scenario(workload, system, sla=SLA(...), ...)`` checks every input when it is built (names,
ranges, parallelism) and solves only in :meth:`Scenario.evaluate`, which returns a
:class:`~mlsyslab.scenarios.scorecard.Scorecard`. The workload kind picks the solver:

* ``serving``   - :class:`~mlsyslab.solvers.serving.ServingSolver` (decoder LLMs; the default for them)
* ``inference`` - :class:`~mlsyslab.solvers.roofline.Engine` (one forward pass; default for other models)
* ``training``  - :class:`~mlsyslab.solvers.distributed.DistributedSolver`

Macro figures for serving are per 10^6 generated tokens: the TP group of ``t`` devices makes
``B / ITL`` tokens/s, so 10^6 tokens take ``T = 10^6 x ITL / B`` seconds (inference: per 10^6
inferences, ``T = 10^6 / throughput``), and::

    energy = t x P_device x T x PUE         P_device = TDP x (idle + (1 - idle) x utilization)
    carbon = energy x grid intensity        cost = t x price_per_device_hour x T / 3600

For training the same formulas run over the time to train the token budget ``tokens``.
"""

from __future__ import annotations

from .. import inputs
from ..errors import UnknownNameError, ValidationError
from ..precision import normalize, normalize_scope
from ..zoo import Hardware, Models
from . import macro as _macro
from .scorecard import FAIL, PASS, Check, Level, Metric, Scorecard
from .sla import LIMITS, SLA, margin

KINDS = ("serving", "inference", "training")
DEFAULT_SEQ_LEN = 2048


def resolve_system(system, field: str = "system"):
    """``(hardware, node_or_cluster_or_None, devices_in_system)`` for a name or spec.

    A hardware name or :class:`HardwareSpec` is one device; a node or cluster (from
    ``mlsyslab.Systems``) brings its GPU type and GPU count.
    """
    if hasattr(system, "gpu") and hasattr(system, "key"):  # NodeSpec / ClusterSpec
        n = getattr(system, "n_gpus", None) or getattr(system, "gpus_per_node", 1)
        return system.gpu, system, int(n)
    if not isinstance(system, str):
        return Hardware.get(system, field=field), None, 1
    try:
        return Hardware.get(system, field=field), None, 1
    except UnknownNameError as hw_err:
        found = _macro.lookup_system(system)
        if found is not None:
            return resolve_system(found, field)
        extra = _macro.system_suggestions(system)
        if extra:
            raise UnknownNameError(f"{field}={system!r} is neither a Hardware device nor a node/cluster of "
                                   f"mlsyslab.Systems.{extra}", field=field, value=system) from None
        raise hw_err from None


class Scenario:
    """One workload on one system under an SLA.

    Parameters
    ----------
    workload : str or ModelSpec
        Zoo model (``"Llama3_8B"``, ``"ResNet50"``).
    system : str or spec
        A device (``"H100"``), or a node/cluster of ``mlsyslab.Systems`` (its GPU type and count).
    sla : SLA or dict, optional
        Limits to check (see :mod:`mlsyslab.scenarios.sla` for default units).
    kind : {"serving", "inference", "training"}, optional
        Default: serving for decoder LLMs, training when training arguments are given, else inference.
    seq_len, batch_size, precision, kv_precision, quantized, tensor_parallel, efficiency
        As for the solvers (``efficiency``: "calibrated" or "ideal"; ``precision`` defaults to
        fp16, bf16 for training; ``quantized``, which weights a below-16-bit ``precision``
        covers, applies to serving).
    n_gpus, data_parallel, pipeline_parallel, global_batch_size, microbatches, zero_stage, recompute, tokens
        Training: parallelism, batch in sequences, ZeRO stage, activation recomputation and the
        token budget (for time to train and the macro figures).
    grid, pue, datacenter, utilization, price_per_device_hour
        Macro inputs: grid region name, PUE, datacenter name, average device utilization in
        [0, 1] (default 1 for the hand calculation), $ per device-hour (default: zoo price).
    name : str, optional
        Label for the scorecard.
    """

    def __init__(self, workload, system, sla=None, *, kind=None, name=None, seq_len=None, batch_size=1,
                 precision=None, kv_precision=None, tensor_parallel=1, efficiency="calibrated", quantized="all",
                 n_gpus=None, data_parallel=None, pipeline_parallel=1, global_batch_size=None, microbatches=None,
                 zero_stage=0, recompute=False, tokens=None, grid=None, pue=None, datacenter=None,
                 utilization=None, price_per_device_hour=None):
        self.model = Models.get(workload, field="workload")
        self.hardware, self.system_spec, self.system_devices = resolve_system(system)
        training_args = any(v is not None for v in (n_gpus, data_parallel, global_batch_size, microbatches, tokens))
        if kind is None:
            kind = "training" if training_args else ("serving" if self.model.is_llm else "inference")
        self.kind = inputs.choice(kind, "kind", KINDS)
        if self.kind == "serving" and not self.model.is_llm:
            raise ValidationError(f"kind='serving' needs a decoder LLM; {self.model.key} is a {self.model.family} "
                                  "model: use kind='inference'.", field="kind", value=kind,
                                  allowed="inference or training for this model")
        if self.kind == "training" and not self.model.is_transformer:
            raise ValidationError(f"kind='training' is modelled for transformers; {self.model.key} is a "
                                  f"{self.model.family} model.", field="kind", value=kind, allowed="serving or inference")
        self.name = str(name) if name is not None else f"{self.model.key} on {self.system_key}"
        if precision is None:
            precision = "bf16" if self.kind == "training" else "fp16"
        self.precision = normalize(precision, "precision")
        self.kv_precision = None if kv_precision is None else normalize(kv_precision, "kv_precision")
        self.quantized = normalize_scope(quantized)
        self.efficiency = inputs.choice(efficiency, "efficiency", ("calibrated", "ideal"))
        self.batch_size = inputs.positive_int(batch_size, "batch_size", maximum=10_000_000)
        if seq_len is None:
            self.seq_len = None if self.kind == "inference" else min(DEFAULT_SEQ_LEN, self.model.max_seq_len or DEFAULT_SEQ_LEN)
        else:
            self.seq_len = inputs.positive_int(seq_len, "seq_len", "token", maximum=10_000_000)
        self.tensor_parallel = inputs.positive_int(tensor_parallel, "tensor_parallel", maximum=4096)
        if self.model.is_transformer and self.model.heads % self.tensor_parallel:
            raise ValidationError(f"tensor_parallel={self.tensor_parallel} does not divide {self.model.key}'s "
                                  f"{self.model.heads} attention heads.", field="tensor_parallel",
                                  value=self.tensor_parallel, allowed=f"a divisor of {self.model.heads}")
        if self.kind == "inference" and self.tensor_parallel != 1:
            raise ValidationError("tensor_parallel applies to serving and training scenarios; inference runs on one "
                                  "device.", field="tensor_parallel", value=self.tensor_parallel, allowed="1")
        hw = self.hardware
        if self.tensor_parallel > 1 and hw.interconnect_Bps <= 0 and hw.host_Bps <= 0:
            raise ValidationError(f"tensor_parallel={self.tensor_parallel} needs a link between devices, and {hw.key} "
                                  "lists none; use tensor_parallel=1.", field="tensor_parallel",
                                  value=self.tensor_parallel, allowed="1 on this device")
        self._init_training(n_gpus, data_parallel, pipeline_parallel, global_batch_size, microbatches,
                            zero_stage, recompute, tokens, training_args)
        if self.system_spec is not None and self.devices > self.system_devices:
            field = "n_gpus" if self.kind == "training" else "tensor_parallel"
            raise ValidationError(f"{field}: the scenario uses {self.devices} GPUs but {self.system_key} has "
                                  f"{self.system_devices}; use at most {self.system_devices} or a larger system.",
                                  field=field, value=self.devices, allowed=f"at most {self.system_devices}")
        self.grid = None if grid is None else _macro.resolve_grid(grid)
        self.pue = None if pue is None else inputs.positive_float(pue, "pue")
        if self.pue is not None and not 1.0 <= self.pue <= 5.0:
            raise ValidationError(f"pue={pue!r} is not allowed; PUE is total facility power / IT power, "
                                  "between 1.0 and 5.0.", field="pue", value=pue, allowed="a number in [1, 5]")
        self.datacenter = None if datacenter is None else _macro.resolve_datacenter(datacenter)
        self.utilization = 1.0 if utilization is None else inputs.fraction(utilization, "utilization")
        self.price_per_device_hour = (None if price_per_device_hour is None
                                      else inputs.positive_float(price_per_device_hour, "price_per_device_hour", "USD/hour"))
        if sla is None:
            sla = SLA()
        elif isinstance(sla, dict):
            sla = SLA.from_dict(sla)
        elif not isinstance(sla, SLA):
            raise ValidationError(f"sla={sla!r} must be an SLA or a dict of limits.", field="sla", value=sla,
                                  allowed="SLA(...) or a dict")
        sla.check_kind(self.kind)
        if "throughput" in sla.limits:
            unit = sla.limits["throughput"][1]
            if unit is not None and unit != self.throughput_unit:
                raise ValidationError(f"sla.throughput={sla.raw['throughput']!r} is in {unit} but a {self.kind} "
                                      f"scenario counts {self.throughput_unit}.", field="sla.throughput",
                                      value=sla.raw["throughput"], allowed=f"a quantity in {self.throughput_unit}")
        self.sla = sla

    def _init_training(self, n_gpus, dp, pp, gbs, microbatches, zero_stage, recompute, tokens, given):
        self.pipeline_parallel = inputs.positive_int(pp, "pipeline_parallel", maximum=4096)
        self.zero_stage = int(inputs.choice(str(zero_stage), "zero_stage", ("0", "1", "2", "3")))
        if not isinstance(recompute, bool):
            raise ValidationError(f"recompute={recompute!r} must be true or false.", field="recompute",
                                  value=recompute, allowed="a bool")
        self.recompute = recompute
        self.n_gpus = self.data_parallel = self.global_batch_size = self.microbatches = self.tokens = None
        if self.kind != "training":
            if given:
                raise ValidationError(f"n_gpus/data_parallel/global_batch_size/microbatches/tokens apply to training; "
                                      f"this is a {self.kind} scenario.", field="kind", value=self.kind,
                                      allowed="training")
            for field, value, default in (("pipeline_parallel", self.pipeline_parallel, 1),
                                          ("zero_stage", self.zero_stage, 0), ("recompute", recompute, False)):
                if value != default:  # would be silently ignored by the serving/inference model
                    raise ValidationError(f"{field}={value!r} applies to training; this is a {self.kind} scenario "
                                          f"(leave {field} at {default!r} or pass kind='training').", field=field,
                                          value=value, allowed=f"{default!r} for {self.kind}")
            return
        tp, pp = self.tensor_parallel, self.pipeline_parallel
        if n_gpus is not None:
            n = inputs.positive_int(n_gpus, "n_gpus", maximum=10_000_000)
        elif dp is not None:
            n = inputs.positive_int(dp, "data_parallel", maximum=10_000_000) * tp * pp
        else:
            n = self.system_devices if self.system_spec is not None else tp * pp
        if n % (tp * pp):
            raise ValidationError(f"n_gpus={n} is not a multiple of tensor_parallel x pipeline_parallel = {tp * pp}.",
                                  field="n_gpus", value=n, allowed=f"a multiple of {tp * pp}")
        self.n_gpus = n
        self.data_parallel = n // (tp * pp)
        if dp is not None and inputs.positive_int(dp, "data_parallel") != self.data_parallel:
            raise ValidationError(f"data_parallel={dp} x tensor_parallel={tp} x pipeline_parallel={pp} = "
                                  f"{dp * tp * pp} != n_gpus={n}.", field="data_parallel", value=dp,
                                  allowed=f"{self.data_parallel}")
        if self.model.layers and pp > self.model.layers:
            raise ValidationError(f"pipeline_parallel={pp} exceeds {self.model.key}'s {self.model.layers} layers.",
                                  field="pipeline_parallel", value=pp, allowed=f"at most {self.model.layers}")
        self.global_batch_size = (self.data_parallel * self.batch_size if gbs is None
                                  else inputs.positive_int(gbs, "global_batch_size", maximum=1e9))
        if self.global_batch_size % self.data_parallel:
            raise ValidationError(f"global_batch_size={self.global_batch_size} is not a multiple of data_parallel="
                                  f"{self.data_parallel}.", field="global_batch_size", value=self.global_batch_size,
                                  allowed=f"a multiple of {self.data_parallel}")
        self.microbatches = None if microbatches is None else inputs.positive_int(microbatches, "microbatches")
        per_replica = self.global_batch_size // self.data_parallel
        if self.microbatches is not None and per_replica % self.microbatches:
            raise ValidationError(f"microbatches={self.microbatches} does not divide the {per_replica} sequences each "
                                  f"data-parallel replica gets per step (global_batch_size={self.global_batch_size} / "
                                  f"data_parallel={self.data_parallel}).", field="microbatches",
                                  value=self.microbatches, allowed=f"a divisor of {per_replica}")
        self.microbatch_size = per_replica // self.microbatches if self.microbatches else 1
        self.tokens = None if tokens is None else inputs.positive_float(tokens, "tokens", "token")

    # ------------------------------------------------------------------ properties
    @property
    def system_key(self) -> str:
        spec = self.system_spec
        return spec.key if spec is not None else self.hardware.key

    @property
    def throughput_unit(self) -> str:
        """What the workload counts per second: samples (inference) or tokens."""
        return "sample/s" if self.kind == "inference" else "token/s"

    @property
    def devices(self) -> int:
        """Devices the scenario occupies (TP group for serving, n_gpus for training)."""
        if self.kind == "training":
            return self.n_gpus
        return self.tensor_parallel if self.kind == "serving" else 1

    def inputs(self) -> dict:
        d = {"kind": self.kind, "model": self.model.key, "system": self.system_key, "hardware": self.hardware.key,
             "precision": self.precision, "batch_size": self.batch_size, "seq_len": self.seq_len,
             "efficiency": self.efficiency}
        if self.kind == "serving":
            d.update(tensor_parallel=self.tensor_parallel, kv_precision=self.kv_precision or self.precision,
                     quantized=self.quantized)
        if self.kind == "training":
            d.update(n_gpus=self.n_gpus, data_parallel=self.data_parallel, tensor_parallel=self.tensor_parallel,
                     pipeline_parallel=self.pipeline_parallel, global_batch_size=self.global_batch_size,
                     microbatches=self.microbatches, zero_stage=self.zero_stage, recompute=self.recompute,
                     tokens=self.tokens)
        for k in ("grid", "datacenter"):
            v = getattr(self, k)
            if v is not None:
                d[k] = getattr(v, "key", str(v))
        if self.pue is not None:
            d["pue"] = self.pue
        d["utilization"] = self.utilization
        return d

    def __repr__(self) -> str:
        return f"<Scenario {self.name!r}: {self.kind} {self.model.key} on {self.system_key}, {self.sla!r}>"

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, strict: bool = False) -> Scorecard:
        """Solve and score. ``strict=True`` raises OOMError / SLAViolation instead of reporting."""
        solve = {"serving": self._serving, "inference": self._inference, "training": self._training}[self.kind]
        feasibility, perf_metrics, predicted, result, duration_s = solve()
        checks = {"performance": [], "macro": []}
        macro_level = self._macro(duration_s, result)
        predicted.update({m.name: m.value for m in macro_level.metrics if isinstance(m.value, (int, float))})
        for name, (limit, unit) in self.sla:
            lim = LIMITS[name]
            level = "macro" if name in ("cost_per_million_tokens", "max_cost", "max_carbon") else "performance"
            value, shown_unit, note = self._predicted_for(name, unit, predicted)
            if value is None:
                checks[level].append(Check(name, lim.label, None, limit, shown_unit, lim.direction, None, None, note))
                continue
            m = margin(value, limit, lim.direction)
            met = value <= limit if lim.direction == "max" else value >= limit
            checks[level].append(Check(name, lim.label, value, limit, shown_unit, lim.direction, m, bool(met)))
        perf_checks = checks["performance"]
        bad = [c for c in perf_checks if c.met is False]
        perf_status = FAIL if bad else PASS
        perf_summary = (f"{len(bad)} of {len(perf_checks)} limits violated: {', '.join(c.metric for c in bad)}" if bad
                        else f"all {len(perf_checks)} SLA limits met" if perf_checks else "no SLA limits given")
        if feasibility.status == FAIL:
            perf_summary += " (but the configuration does not fit in memory)"
        performance = Level("performance", perf_status, perf_summary, perf_metrics, perf_checks)
        macro_level.checks = checks["macro"]
        if any(c.met is False for c in macro_level.checks):
            macro_level.status = FAIL
            macro_level.summary += "; violated: " + ", ".join(c.metric for c in macro_level.checks if c.met is False)
        card = Scorecard(name=self.name, kind=self.kind, model=self.model.key, system=self.system_key,
                         inputs=self.inputs(), feasibility=feasibility, performance=performance, macro=macro_level,
                         result=result)
        if strict:
            card.raise_for_status()
        return card

    def _predicted_for(self, name, unit, predicted):
        """(value, unit, note) of the prediction that an SLA limit is compared with."""
        if name == "throughput":
            return predicted.get("throughput"), self.throughput_unit, ""
        shown = LIMITS[name].unit
        key = {"max_memory_utilization": "memory_utilization", "max_cost": "cost", "max_carbon": "carbon"}.get(name, name)
        value = predicted.get(key)
        if value is None:
            why = {"time_to_train": "give tokens= (the training token budget)",
                   "max_cost": "needs tokens= and a price for the device",
                   "max_carbon": "needs tokens=",
                   "cost_per_million_tokens": "no price for this device"}.get(name, "not computed")
            return None, shown, why
        return value, shown, ""

    def _feasibility(self, required_B, capacity_B, extra=()):
        """Level 1: required vs capacity per device, headroom = capacity - required (negative = overflow)."""
        from ..zoo.specs import _CAPACITY_UNITS

        cap_unit = self.hardware.capacity_unit
        util = required_B / capacity_B
        fits = required_B <= capacity_B
        free = capacity_B - required_B
        summary = (f"fits: {required_B / 1e9:.2f} GB of {capacity_B / 1e9:.2f} GB "
                   f"({capacity_B / _CAPACITY_UNITS[cap_unit]:g} {cap_unit}) per device = {util:.1%}, "
                   f"{free / 1e9:.2f} GB free" if fits else
                   f"does not fit: needs {required_B / 1e9:.2f} GB per device, {self.hardware.key} holds "
                   f"{capacity_B / 1e9:.2f} GB ({capacity_B / _CAPACITY_UNITS[cap_unit]:g} {cap_unit}); "
                   f"over by {-free / 1e9:.2f} GB ({util:.1%})")
        metrics = [Metric("memory_required", required_B / 1e9, "GB", "memory required per device"),
                   Metric("capacity", capacity_B / 1e9, "GB", "capacity per device"),
                   Metric("capacity_native", capacity_B / _CAPACITY_UNITS[cap_unit], cap_unit,
                          f"capacity per device ({cap_unit})"),
                   Metric("memory_utilization", util, "", "memory utilization"),
                   Metric("headroom", free / 1e9, "GB", "headroom (negative = overflow)"),
                   Metric("fits", bool(fits), "", "fits in memory"), *extra]
        return Level("feasibility", PASS if fits else FAIL, summary, metrics)

    def _serving(self):
        from ..solvers.serving import ServingSolver

        r = ServingSolver(efficiency=self.efficiency).solve(
            self.model, self.hardware, self.seq_len, self.batch_size, self.precision, self.tensor_parallel,
            self.kv_precision, quantized=self.quantized)
        feas = self._feasibility(r.total_bytes, r.capacity_bytes, (
            Metric("weights", r.weights_bytes / 1e9, "GB", "weights per device"),
            Metric("kv_cache", r.kv_bytes / 1e9, "GB", "KV-cache per device"),
            Metric("max_batch_size", r.max_batch_size, "", "largest batch that fits")))
        t = r.raw
        perf = [Metric("ttft", r.ttft_s * 1e3, "ms", f"TTFT ({r.prefill_bottleneck}-bound)"),
                Metric("itl", r.itl_s * 1e3, "ms", f"ITL ({r.decode_bottleneck}-bound)"),
                Metric("throughput", t["decode_tokens_per_s"], "token/s", "decode throughput"),
                Metric("prefill_throughput", t["prefill_tokens_per_s"], "token/s", "prefill throughput")]
        predicted = {"ttft": r.ttft_s * 1e3, "itl": r.itl_s * 1e3, "throughput": t["decode_tokens_per_s"],
                     "memory_utilization": r.memory_utilization}
        seconds_per_million = 1e6 / t["decode_tokens_per_s"]
        return feas, perf, predicted, r, seconds_per_million

    def _inference(self):
        from ..solvers.roofline import Engine

        r = Engine.solve(self.model, self.hardware, self.batch_size, self.precision, seq_len=self.seq_len,
                         efficiency=self.efficiency)
        raw = r.raw
        feas = self._feasibility(raw["memory_required"], self.hardware.memory_bytes)
        perf = [Metric("latency", raw["latency"] * 1e3, "ms", f"latency ({r.bound}-bound)"),
                Metric("throughput", raw["throughput"], "sample/s", "throughput"),
                Metric("arithmetic_intensity", raw["intensity"], "FLOP/B", "arithmetic intensity"),
                Metric("ridge_point", raw["ridge"], "FLOP/B", "ridge point")]
        predicted = {"latency": raw["latency"] * 1e3, "throughput": raw["throughput"],
                     "memory_utilization": r.memory_utilization}
        return feas, perf, predicted, r, 1e6 / raw["throughput"]  # macro: per 10^6 inferences

    def _training(self):
        r = _macro.solve_training(self)
        feas = self._feasibility(r["memory_per_gpu_B"], self.hardware.memory_bytes, r["memory_parts"])
        tokens_per_step = self.global_batch_size * self.seq_len
        step = r["step_time_s"]
        perf = [Metric("step_time", step, "s", "step time"),
                Metric("throughput", tokens_per_step / step, "token/s", "training throughput")]
        perf += r["extra_metrics"]
        predicted = {"step_time": step, "throughput": tokens_per_step / step,
                     "memory_utilization": r["memory_per_gpu_B"] / self.hardware.memory_bytes}
        duration = None
        if self.tokens is not None:
            duration = self.tokens / tokens_per_step * step
            perf.append(Metric("time_to_train", duration / 3600, "h", f"time to train {self.tokens:.3g} tokens"))
            predicted["time_to_train"] = duration / 3600
        return feas, perf, predicted, r["result"], duration

    def _macro(self, duration_s, result) -> Level:
        return _macro.macro_level(self, duration_s, result)


__all__ = ["Scenario", "KINDS", "resolve_system"]
