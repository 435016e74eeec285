"""Distributed training: step time and memory per GPU under data, tensor and pipeline parallelism.

Symbols: N = dp x tp x pp GPUs, P parameters (P_a active), L layers, d hidden_dim, a_h heads,
S sequence length, b microbatch size (sequences), m microbatches per step per data-parallel
replica, B = dp x b x m global batch (sequences), beta bytes per value of ``precision``.

Compute (6 FLOPs per parameter per token, forward + backward, plus attention; Kaplan et al. 2020, Narayanan et al. 2021)::

    f        = 2 x P_a x S + c x L x S^2 x a      forward FLOPs per sequence (a = heads x head_dim;
                                                   c = 2 causal decoders, 4 bidirectional encoders)
    F_model  = 3 x f x B                           forward + backward (backward = 2 x forward)
    F_hw     = 4 x f x B with recompute            (the forward is done twice)
    T_c      = F_hw / (N x peak x eta_c)           ideal compute time of the step
    bubble   = (pp - 1) / (m + pp - 1)             1F1B / GPipe pipeline bubble
    compute  = T_c / (1 - bubble)

Communication (not overlapped with compute; alpha-beta model, one latency per collective)::

    ring all-reduce(bytes, n)   = 2 (n-1)/n x bytes / BW + latency
    dp:  ZeRO 0-2: all-reduce of the gradient shard P/(tp x pp) x beta  (ZeRO-2's reduce-scatter
         + all-gather moves the same volume); ZeRO-3 adds an all-gather of parameters in the
         forward and the backward: 3 (n-1)/n x bytes / BW + 3 x latency
    tp:  per layer and microbatch 4 all-reduces of b x S x d x beta (2 forward, 2 backward;
         +2 with recompute), Megatron-LM (Shoeybi et al. 2019)
    pp:  per microbatch one activation forward and one gradient backward: 2 m x (b S d beta / BW + latency)

Ranks are placed tensor-parallel innermost, then data-parallel, then pipeline (Megatron's
order); a group whose ranks all sit in one node uses the intra-node fabric, otherwise the NIC
bandwidth per GPU.

Memory per GPU (Rajbhandari et al. 2020, ZeRO; Korthikanti et al. 2022)::

    weights 2 B/param, gradients 2 B/param, Adam 12 B/param (fp32 master + m + v): 16 B/param
    (fp32 training: 4 + 4 + 8). SGD with momentum: master 4 + momentum 4.
    ZeRO-1 shards the optimizer state over dp, ZeRO-2 also the gradients, ZeRO-3 also the weights.
    activations per layer (16-bit) = S b d (10 + 24/tp + 5 a_h S / (d tp))
        - the 5 a_h S / d term (attention scores) vanishes with flash attention (default)
        - sequence parallelism divides the 10 by tp as well: S b d (34/tp + ...)
        - full recomputation stores only each layer's input: 2 S b d (/tp with sequence parallelism)
    x ceil(L/pp) layers x min(m, pp) microbatches in flight on the first stage.

``efficiency="ideal"`` uses datasheet peaks and link bandwidths; ``"calibrated"`` (the
solver's default) applies the compute and network efficiencies of :mod:`mlsyslab.calibration`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import calibration as _cal
from .. import inputs
from ..errors import OOMError, ValidationError
from ..precision import BYTES_PER_VALUE, compute_precision, normalize
from ..units import format_bytes, quantity
from ..zoo import Hardware, Models
from .result import Result
from .roofline import DEFAULT_SEQ_LEN, attention_factor

OPTIMIZERS = ("adam", "adamw", "sgd")
MAX_GPUS = 10_000_000


def ring_allreduce_time(message_bytes, n, bandwidth, latency=0.0):
    """Ring all-reduce of ``message_bytes`` over ``n`` ranks: ``2(n-1)/n x bytes / bandwidth + latency``.

    ``bandwidth`` (bytes/s) is what each rank sends at, per direction; ``latency`` (s) is paid
    once per collective. Zero when ``n == 1``. Arrays broadcast.
    """
    n = np.asarray(n, dtype=float)
    t = 2.0 * (n - 1.0) / n * np.asarray(message_bytes, dtype=float) / bandwidth + latency
    t = np.where(n > 1, t, 0.0)
    return float(t) if t.ndim == 0 else t


def ring_allgather_time(message_bytes, n, bandwidth, latency=0.0):
    """Ring all-gather (or reduce-scatter) of a ``message_bytes`` buffer: ``(n-1)/n x bytes / BW + latency``."""
    n = np.asarray(n, dtype=float)
    t = (n - 1.0) / n * np.asarray(message_bytes, dtype=float) / bandwidth + latency
    t = np.where(n > 1, t, 0.0)
    return float(t) if t.ndim == 0 else t


def pipeline_bubble(pp, microbatches):
    """Fraction of a pipelined step spent idle: ``(p - 1) / (m + p - 1)``."""
    return (pp - 1.0) / (microbatches + pp - 1.0)


@dataclass(frozen=True)
class Topology:
    """What the solver needs of a system: GPU, GPUs per node, links (per direction, per GPU)."""

    name: str
    gpu: object
    gpus_per_node: int
    max_gpus: int | None
    intra_Bps: float
    intra_latency_s: float
    inter_Bps: float
    inter_latency_s: float

    def link(self, span: int):
        """Bandwidth and latency for a group whose ranks span ``span`` consecutive GPUs."""
        if span <= self.gpus_per_node:
            return self.intra_Bps, self.intra_latency_s
        return min(self.inter_Bps, self.intra_Bps), self.inter_latency_s


def resolve_topology(system, n_gpus=None) -> Topology:
    """A cluster, a node, a system name, or a bare accelerator (then all GPUs share its own link)."""
    from ..systems import Systems
    from ..systems.specs import ClusterSpec, FabricSpec, NodeSpec

    spec = system
    if isinstance(system, str):
        if system in Systems.Clusters or system in Systems.Nodes:
            spec = Systems.get(system, field="cluster")
        elif system in Hardware:
            spec = Hardware.get(system, field="cluster")
        else:
            names = Systems.Clusters.names() + Systems.Nodes.names() + Hardware.names()
            raise ValidationError(f"cluster={system!r} is not a known cluster, node or accelerator."
                                  f"{inputs.did_you_mean(system, names)}", field="cluster", value=system,
                                  allowed=", ".join(names))
    if isinstance(spec, FabricSpec):
        raise ValidationError(f"cluster={spec.key!r} is a fabric; pass a cluster, a node or an accelerator.",
                              field="cluster", value=spec.key, allowed="a cluster, node or accelerator")
    if isinstance(spec, ClusterSpec):
        return Topology(spec.key, spec.gpu, spec.gpus_per_node, spec.n_gpus, spec.intra_Bps,
                        spec.node.intra_fabric.latency_s, spec.inter_Bps, spec.fabric.latency_s)
    if isinstance(spec, NodeSpec):
        return Topology(spec.key, spec.gpu, spec.gpus_per_node, spec.gpus_per_node, spec.intra_fabric.bandwidth_Bps,
                        spec.intra_fabric.latency_s, spec.network_Bps_per_gpu, spec.nic.latency_s)
    hw = Hardware.get(spec, field="cluster")
    link = (hw.interconnect_Bps or hw.host_Bps) / 2.0
    n = n_gpus if n_gpus is not None else MAX_GPUS
    return Topology(hw.key, hw, n, None, link, hw.interconnect_latency_s, link, hw.interconnect_latency_s)


class DistributedResult(Result):
    """What :meth:`DistributedSolver.solve` returns. Fields work as attributes and as items.

    Times are per optimizer step; memory is per GPU (the first pipeline stage, the fullest).
    ``scaling_efficiency`` = ideal compute time / step time: the fraction of perfect linear
    scaling achieved (1 = no communication and no bubble).
    """

    _QUANTITIES = {
        "step_time": ("step", "s"),
        "compute_time": ("compute", "s"),
        "ideal_compute_time": ("compute_ideal", "s"),
        "bubble_time": ("bubble_time", "s"),
        "comm_time": ("comm", "s"),
        "dp_comm_time": ("dp_comm", "s"),
        "tp_comm_time": ("tp_comm", "s"),
        "pp_comm_time": ("pp_comm", "s"),
        "weights_memory": ("mem_weights", "GB", 1e-9),
        "gradients_memory": ("mem_grads", "GB", 1e-9),
        "optimizer_memory": ("mem_optimizer", "GB", 1e-9),
        "activations_memory": ("mem_activations", "GB", 1e-9),
        "memory_per_gpu": ("mem_total", "GB", 1e-9),
        "overflow": ("overflow", "GB", 1e-9),
        "tokens_per_second": ("tokens_per_s", "token/s"),
        "samples_per_second": ("samples_per_s", "sample/s"),
        "flops_per_step": ("flops_model", "PFLOP", 1e-15),
    }
    _PLAIN = ("feasible", "bubble_fraction", "mfu", "hfu", "scaling_efficiency", "memory_utilization", "bottleneck",
              "model", "gpu", "system", "n_gpus", "dp", "tp", "pp", "global_batch_size", "microbatch_size",
              "microbatches", "seq_len", "precision", "zero_stage", "recompute", "optimizer", "efficiency")

    def __init__(self, raw, *, solver, kwargs, **plain):
        self.raw = raw
        self._solver, self._kwargs = solver, kwargs
        for k, v in plain.items():
            setattr(self, k, v)
        self.bubble_fraction = raw["bubble"]
        self.mfu = raw["flops_model"] / raw["step"] / (self.n_gpus * raw["peak"])
        self.hfu = raw["flops_hw"] / raw["step"] / (self.n_gpus * raw["peak"])
        self.scaling_efficiency = raw["compute_ideal"] / raw["step"]
        cap = self.gpu.memory_bytes
        self.memory_utilization = raw["mem_total"] / cap
        self.feasible = bool(raw["mem_total"] <= cap)
        parts = {"compute": raw["compute_ideal"], "pipeline bubble": raw["bubble_time"], "dp communication": raw["dp_comm"],
                 "tp communication": raw["tp_comm"], "pp communication": raw["pp_comm"]}
        self.bottleneck = max(parts, key=parts.get)

    @property
    def memory_breakdown(self) -> dict:
        """Per-GPU memory parts as quantities (GB)."""
        return {k: getattr(self, f"{k}_memory") for k in ("weights", "gradients", "optimizer", "activations")}

    @property
    def capacity(self):
        return self.gpu.memory.capacity

    def time_to_train(self, tokens):
        """Wall-clock time to process ``tokens`` training tokens at this step rate (in days)."""
        n = inputs.positive_float(tokens, "tokens", "token")
        return quantity(n / self.raw["tokens_per_s"] / 86400.0, "day")

    def scaling_curve(self, gpu_counts) -> "ScalingCurve":
        """Re-solve at each GPU count with tp, pp, microbatch size and microbatches per replica fixed
        (weak scaling: dp = N / (tp x pp), global batch grows with dp)."""
        return self._solver.scaling_curve(gpu_counts=gpu_counts, **self._kwargs)

    def explain_oom(self) -> str:
        r, cap = self.raw, self.gpu.memory_bytes
        verb = "fits in" if self.feasible else "does not fit in"
        return (f"{self.model.key} with dp={self.dp}, tp={self.tp}, pp={self.pp}, ZeRO-{self.zero_stage}, "
                f"microbatch {self.microbatch_size} x {self.seq_len} tokens needs {format_bytes(r['mem_total'])} per GPU "
                f"(weights {format_bytes(r['mem_weights'])} + gradients {format_bytes(r['mem_grads'])} + optimizer "
                f"{format_bytes(r['mem_optimizer'])} + activations {format_bytes(r['mem_activations'])}) and {verb} "
                f"{self.gpu.key}'s {format_bytes(cap)}" + (f"; over by {format_bytes(r['mem_total'] - cap)}." if not self.feasible else "."))

    def __repr__(self) -> str:
        r = self.raw
        return (f"<DistributedResult {self.model.key} on {self.n_gpus} x {self.gpu.key} (dp={self.dp}, tp={self.tp}, "
                f"pp={self.pp}, ZeRO-{self.zero_stage}): step {r['step']:.3g} s (compute {r['compute']:.3g}, comm "
                f"{r['comm']:.3g}), bubble {self.bubble_fraction:.1%}, MFU {self.mfu:.1%}, {r['tokens_per_s']:.4g} tokens/s, "
                f"{r['mem_total'] / 1e9:.1f} GB/GPU{'' if self.feasible else ' OOM'}>")


class ScalingCurve:
    """Results of :meth:`DistributedSolver.scaling_curve`: arrays over ``n_gpus``."""

    def __init__(self, results):
        self.results = results
        self.n_gpus = np.array([r.n_gpus for r in results])
        self.step_time_s = np.array([r.raw["step"] for r in results])
        self.tokens_per_second_raw = np.array([r.raw["tokens_per_s"] for r in results])
        self.scaling_efficiency = np.array([r.scaling_efficiency for r in results])
        self.mfu = np.array([r.mfu for r in results])
        self.feasible = np.array([r.feasible for r in results])

    @property
    def step_time(self):
        return quantity(self.step_time_s, "s")

    @property
    def tokens_per_second(self):
        return quantity(self.tokens_per_second_raw, "token/s")

    @property
    def speedup(self) -> np.ndarray:
        """Throughput relative to the first (smallest) GPU count."""
        return self.tokens_per_second_raw / self.tokens_per_second_raw[0]

    def to_records(self) -> list[dict]:
        return [{"n_gpus": int(r.n_gpus), "dp": r.dp, "step_time_s": r.raw["step"], "tokens_per_s": r.raw["tokens_per_s"],
                 "scaling_efficiency": r.scaling_efficiency, "mfu": r.mfu, "feasible": r.feasible} for r in self.results]

    def __len__(self):
        return len(self.results)

    def __repr__(self) -> str:
        rows = ", ".join(f"{n}: {e:.0%}" for n, e in zip(self.n_gpus, self.scaling_efficiency))
        return f"<ScalingCurve scaling efficiency {rows}>"


class DistributedSolver:
    """Step time, memory per GPU and throughput of training one model on a cluster.

    Parameters
    ----------
    efficiency : {"calibrated", "ideal"} or Calibration
        Default for :meth:`solve`'s ``efficiency``.
    """

    def __init__(self, efficiency="calibrated"):
        self.calibration = _cal.get(efficiency)
        self.efficiency = self.calibration.name

    def solve(self, model, cluster, n_gpus=None, dp=None, tp=1, pp=1, global_batch_size=None, microbatch_size=1,
              microbatches=None, seq_len=None, precision="bf16", zero_stage=0, recompute=False, optimizer="adam",
              efficiency=None, strict=False, flash_attention=True, sequence_parallel=False) -> DistributedResult:
        """Train ``model`` on ``cluster`` with dp x tp x pp GPUs.

        Parameters
        ----------
        model : str or ModelSpec
        cluster : str, ClusterSpec, NodeSpec or HardwareSpec
            A system from :data:`mlsyslab.Systems` or a bare accelerator (its own link then joins all GPUs).
        n_gpus : int, optional
            Total GPUs; ``dp`` defaults to ``n_gpus / (tp x pp)``. Without either, dp = 1.
        dp, tp, pp : int
            Data-, tensor- and pipeline-parallel degrees.
        global_batch_size : int, optional
            Sequences per optimizer step; must equal dp x microbatch_size x microbatches.
        microbatch_size : int
            Sequences per microbatch per data-parallel replica.
        microbatches : int, optional
            Microbatches per step per replica (default from ``global_batch_size``, else 1).
        seq_len : int, optional
            Tokens per sequence (transformers; default ``min(max_seq_len, 2048)``).
        precision : str
            Training precision (weights, gradients, activations); ``bf16`` = mixed precision.
        zero_stage : {0, 1, 2, 3}
        recompute : bool
            Full activation recomputation (store each layer's input, redo the forward).
        optimizer : {"adam", "adamw", "sgd"}
        efficiency : {"ideal", "calibrated"}, optional
        strict : bool
            Raise :class:`~mlsyslab.errors.OOMError` when a GPU cannot hold its share.
        flash_attention : bool
            Attention scores are not stored (drops the 5 a S / d activation term).
        sequence_parallel : bool
            Megatron sequence parallelism: norms and dropouts are split over the tp ranks too, so
            all 34 bytes of the per-layer term divide by tp (same communication volume).
        """
        kwargs = dict(model=model, cluster=cluster, n_gpus=n_gpus, dp=dp, tp=tp, pp=pp,
                      global_batch_size=global_batch_size, microbatch_size=microbatch_size, microbatches=microbatches,
                      seq_len=seq_len, precision=precision, zero_stage=zero_stage, recompute=recompute,
                      optimizer=optimizer, efficiency=efficiency, strict=strict, flash_attention=flash_attention,
                      sequence_parallel=sequence_parallel)
        m = Models.get(model, field="model")
        cal = self.calibration if efficiency is None else _cal.get(efficiency)
        prec = normalize(precision, "precision")
        opt = inputs.choice(optimizer, "optimizer", OPTIMIZERS)
        zero = _zero_stage(zero_stage)
        for flag, value in (("recompute", recompute), ("flash_attention", flash_attention),
                            ("sequence_parallel", sequence_parallel)):
            if not isinstance(value, (bool, np.bool_)):  # bool("no") is True: never guess
                raise ValidationError(f"{flag}={value!r} is not allowed; {flag} must be True or False.",
                                      field=flag, value=value, allowed="True or False")
        tp = inputs.positive_int(tp, "tp", maximum=MAX_GPUS)
        pp = inputs.positive_int(pp, "pp", maximum=MAX_GPUS)
        n_req = None if n_gpus is None else inputs.positive_int(n_gpus, "n_gpus", maximum=MAX_GPUS)
        if dp is None:
            if n_req is None:
                dp = 1
            elif n_req % (tp * pp):
                raise ValidationError(f"n_gpus={n_req} is not divisible by tp x pp = {tp * pp}; n_gpus must be a "
                                      f"multiple of {tp * pp}.", field="n_gpus", value=n_req,
                                      allowed=f"a multiple of tp x pp = {tp * pp}")
            else:
                dp = n_req // (tp * pp)
        dp = inputs.positive_int(dp, "dp", maximum=MAX_GPUS)
        N = dp * tp * pp
        if n_req is not None and n_req != N:
            raise ValidationError(f"n_gpus={n_req} but dp x tp x pp = {dp} x {tp} x {pp} = {N}; make them agree.",
                                  field="n_gpus", value=n_req, allowed=f"{N} (= dp x tp x pp)")
        topo = resolve_topology(cluster, N)
        if topo.max_gpus is not None and N > topo.max_gpus:
            raise ValidationError(f"n_gpus: dp x tp x pp = {N} GPUs but {topo.name} has {topo.max_gpus}; use at most "
                                  f"{topo.max_gpus} or a larger cluster (Systems.cluster(node, n_nodes)).",
                                  field="n_gpus", value=N, allowed=f"at most {topo.max_gpus}")
        if m.is_transformer:
            if m.heads % tp:
                raise ValidationError(f"tp={tp} does not divide {m.key}'s {m.heads} attention heads; use a divisor "
                                      f"of {m.heads}.", field="tp", value=tp, allowed=f"a divisor of {m.heads}")
            if pp > m.layers:
                raise ValidationError(f"pp={pp} exceeds {m.key}'s {m.layers} layers.", field="pp", value=pp,
                                      allowed=f"1..{m.layers}")
            S = min(DEFAULT_SEQ_LEN, m.max_seq_len) if seq_len is None else inputs.positive_int(
                seq_len, "seq_len", "token", maximum=10_000_000)
        else:
            for name, v in (("tp", tp), ("pp", pp)):
                if v != 1:
                    raise ValidationError(f"{name}={v}: {m.key} is a {m.family} model without transformer layers; "
                                          f"only data parallelism (dp) is modelled for it.", field=name, value=v,
                                          allowed="1")
            S = 1
        b = inputs.positive_int(microbatch_size, "microbatch_size", maximum=10_000_000)
        mb = None if microbatches is None else inputs.positive_int(microbatches, "microbatches", maximum=10_000_000)
        gbs = None if global_batch_size is None else inputs.positive_int(global_batch_size, "global_batch_size",
                                                                         maximum=1e12)
        if mb is None:
            if gbs is None:
                mb = 1
            elif gbs % (dp * b):
                raise ValidationError(f"global_batch_size={gbs} is not divisible by dp x microbatch_size = {dp * b}.",
                                      field="global_batch_size", value=gbs, allowed=f"a multiple of {dp * b}")
            else:
                mb = gbs // (dp * b)
        if gbs is not None and gbs != dp * b * mb:
            raise ValidationError(f"global_batch_size={gbs} but dp x microbatch_size x microbatches = {dp} x {b} x {mb} "
                                  f"= {dp * b * mb}.", field="global_batch_size", value=gbs,
                                  allowed=f"{dp * b * mb} (= dp x microbatch_size x microbatches)")
        B = dp * b * mb
        beta = BYTES_PER_VALUE[prec]
        cprec = compute_precision(prec, topo.gpu.peak_flops)
        peak = topo.gpu.peak_flops[cprec]
        raw = _terms(m, topo, cal, N=N, dp=dp, tp=tp, pp=pp, b=b, mb=mb, B=B, S=S, beta=beta, peak=peak * cal.eta_compute(cprec),
                     zero=zero, recompute=bool(recompute), opt=opt, flash=bool(flash_attention), sp=bool(sequence_parallel))
        raw["peak"] = peak
        result = DistributedResult(raw, solver=self, kwargs=kwargs, model=m, gpu=topo.gpu, system=topo.name, n_gpus=N,
                                   dp=dp, tp=tp, pp=pp, global_batch_size=B, microbatch_size=b, microbatches=mb,
                                   seq_len=S if m.is_transformer else None, precision=prec, zero_stage=zero,
                                   recompute=bool(recompute), optimizer=opt, efficiency=cal.name)
        if strict and not result.feasible:
            raise OOMError("Out of memory: " + result.explain_oom(), required_bytes=raw["mem_total"],
                           capacity_bytes=topo.gpu.memory_bytes)
        return result

    def scaling_curve(self, model, cluster, gpu_counts, tp=1, pp=1, microbatch_size=1, microbatches=None,
                      **kwargs) -> ScalingCurve:
        """Weak scaling: solve at each total GPU count with dp = N / (tp x pp), everything else fixed."""
        counts = inputs.positive_int_array(gpu_counts, "gpu_counts", maximum=MAX_GPUS)
        kwargs.pop("n_gpus", None), kwargs.pop("dp", None), kwargs.pop("global_batch_size", None)
        kwargs.pop("strict", None)
        results = [self.solve(model, cluster, n_gpus=int(n), tp=tp, pp=pp, microbatch_size=microbatch_size,
                              microbatches=microbatches, **kwargs) for n in counts.ravel()]
        return ScalingCurve(results)


def _zero_stage(value) -> int:
    if isinstance(value, bool) or value not in (0, 1, 2, 3):
        raise ValidationError(f"zero_stage={value!r} is not allowed; zero_stage must be 0, 1, 2 or 3.",
                              field="zero_stage", value=value, allowed="0, 1, 2, 3")
    return int(value)


def optimizer_bytes_per_param(optimizer: str, beta: float) -> float:
    """Optimizer state per parameter: Adam m + v (8 B) or SGD momentum (4 B), plus an fp32 master copy
    when training below fp32 (4 B)."""
    master = 4.0 if beta < 4.0 else 0.0
    return master + (8.0 if optimizer in ("adam", "adamw") else 4.0)


def activation_bytes_per_layer(model, S, b, tp, recompute, flash, beta=2.0, sequence_parallel=False):
    """Korthikanti et al. (2022) eq. 2/4/5: S b d (10 + 24/tp + 5 a S/(d tp)) for 16-bit activations,
    S b d (34/tp + 5 a S/(d tp)) with sequence parallelism; 2 S b d with full recomputation
    (2 S b d / tp with sequence parallelism); scaled by beta/2 for other precisions."""
    d, a = model.hidden_dim, model.heads
    if recompute:
        per = 2.0 * S * b * d / (tp if sequence_parallel else 1)
    else:
        first = 34.0 / tp if sequence_parallel else 10.0 + 24.0 / tp
        per = S * b * d * (first + (0.0 if flash else 5.0 * a * S / (d * tp)))
    return per * beta / 2.0


def _terms(m, topo, cal, *, N, dp, tp, pp, b, mb, B, S, beta, peak, zero, recompute, opt, flash, sp) -> dict:
    """Every intermediate figure (floats, base units)."""
    P = m.n_parameters
    if m.is_transformer:
        f = 2.0 * m.n_active_parameters * S + attention_factor(m) * m.layers * S * S * m.attention_dim
    else:
        f = float(m.flops_per_inference)
    flops_model = 3.0 * f * B
    flops_hw = (4.0 if recompute and m.is_transformer else 3.0) * f * B
    compute_ideal = flops_hw / (N * peak)
    bubble = pipeline_bubble(pp, mb)
    compute = compute_ideal / (1.0 - bubble)

    eta_net = cal.eta_network
    # ranks: tp innermost, then dp, then pp
    bw_tp, lat_tp = topo.link(tp)
    bw_dp, lat_dp = topo.link(tp * dp)
    bw_pp, lat_pp = topo.link(tp * dp * pp)
    P_shard = P / (tp * pp)
    grad_bytes = P_shard * beta
    if dp > 1:
        if zero == 3:  # reduce-scatter the gradients + all-gather the weights in forward and backward
            dp_comm = 3.0 * ring_allgather_time(grad_bytes, dp, bw_dp * eta_net, lat_dp)
        else:
            dp_comm = ring_allreduce_time(grad_bytes, dp, bw_dp * eta_net, lat_dp)
    else:
        dp_comm = 0.0
    layers_per_stage = math.ceil(m.layers / pp) if m.is_transformer else 1
    act_msg = b * S * m.hidden_dim * beta if m.is_transformer else 0.0
    n_ar = 6 if recompute else 4
    tp_comm = mb * layers_per_stage * n_ar * ring_allreduce_time(act_msg, tp, bw_tp * eta_net, lat_tp) if tp > 1 else 0.0
    pp_comm = 2.0 * mb * (act_msg / (bw_pp * eta_net) + lat_pp) if pp > 1 else 0.0
    comm = dp_comm + tp_comm + pp_comm
    step = compute + comm

    opt_bytes = optimizer_bytes_per_param(opt, beta)
    mem_weights = P_shard * beta / (dp if zero >= 3 else 1)
    mem_grads = P_shard * beta / (dp if zero >= 2 else 1)
    mem_opt = P_shard * opt_bytes / (dp if zero >= 1 else 1)
    if m.is_transformer:
        mem_act = activation_bytes_per_layer(m, S, b, tp, recompute, flash, beta, sp) * layers_per_stage * min(mb, pp)
    else:
        mem_act = float(m.activation_bytes_fp32 or 0.0) * beta / 4.0 * b
    mem_total = mem_weights + mem_grads + mem_opt + mem_act
    tokens = B * S
    return {
        "flops_model": flops_model, "flops_hw": flops_hw, "compute_ideal": compute_ideal, "bubble": bubble,
        "bubble_time": compute - compute_ideal, "compute": compute, "dp_comm": float(dp_comm), "tp_comm": float(tp_comm),
        "pp_comm": float(pp_comm), "comm": float(comm), "step": float(step), "mem_weights": mem_weights,
        "mem_grads": mem_grads, "mem_optimizer": mem_opt, "mem_activations": mem_act, "mem_total": mem_total,
        "overflow": max(mem_total - topo.gpu.memory_bytes, 0.0), "tokens_per_s": tokens / step,
        "samples_per_s": B / step,
    }


__all__ = ["DistributedSolver", "DistributedResult", "ScalingCurve", "ring_allreduce_time", "ring_allgather_time",
           "pipeline_bubble", "optimizer_bytes_per_param", "activation_bytes_per_layer", "resolve_topology"]
