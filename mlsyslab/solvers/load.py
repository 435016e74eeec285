"""Serving under load: a request stream, continuous batching, queues, tail latency and goodput.

``LoadSolver().solve(model, hardware, arrival_rate, input_tokens, output_tokens, ...)`` checks
its inputs, draws the request stream (Poisson arrivals at ``arrival_rate`` req/s, given
``arrival_times``, or ``concurrency`` closed-loop clients; fixed or random lengths, seeded),
sizes the paged KV pool, and runs the discrete-event scheduler of
:mod:`mlsyslab.solvers.load_sim` with the step times of :mod:`mlsyslab.solvers.load_physics`
(the serving model of ``ServingSolver``, calibrated or ideal).

KV pool, in blocks of ``block_size`` tokens (vLLM's ``gpu_memory_utilization``)::

    blocks = floor((memory_utilization x capacity - weights [- draft weights]) / (block_size x kv_bytes_per_token))

Metrics (over all requests; rates over the span first arrival -> last completion)::

    TTFT = first token - arrival      E2E = last token - arrival
    TPOT = (E2E - TTFT) / (output - 1) (per request)   ITL = every interval between two tokens
    goodput = requests with TTFT <= sla.ttft and TPOT <= sla.itl, per second

``analytic(...)`` is the fast path: the fluid/queueing model of
:mod:`mlsyslab.solvers.load_analytic`, vectorised over arrival rates.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from .. import calibration as _cal
from .. import inputs
from ..errors import OOMError, ValidationError
from ..precision import BYTES_PER_VALUE, normalize_scope
from . import load_engines as _engines
from .load_physics import Speculation, step_cost
from .result import Result
from .serving import ServingSolver, speculation

DISTRIBUTIONS = {"uniform": 2, "exponential": 1, "normal": 2, "lognormal": 2}
MAX_REQUESTS = 2_000_000


def _lengths(value, field, n, rng):
    """Per-request token counts: an int, an array (cycled through when shorter than n), or a
    distribution ``("uniform", low, high)``, ``("exponential", mean)``, ``("normal", mean, sd)``,
    ``("lognormal", median, sigma)`` (drawn with the seed, rounded, at least 1)."""
    if isinstance(value, tuple) and value and isinstance(value[0], str):
        kind = inputs.choice(value[0], f"{field}[0]", DISTRIBUTIONS)
        args = value[1:]
        if len(args) != DISTRIBUTIONS[kind]:
            raise ValidationError(
                f"{field}={value!r}: a {kind} distribution takes {DISTRIBUTIONS[kind]} numbers "
                f"({ {'uniform': 'low, high', 'exponential': 'mean', 'normal': 'mean, sd', 'lognormal': 'median, sigma'}[kind] }).",
                field=field, value=value, allowed=f"('{kind}', ...) with {DISTRIBUTIONS[kind]} numbers")
        a = [inputs.positive_float(x, f"{field}[{j + 1}]") for j, x in enumerate(args)]
        if kind == "uniform":
            if a[1] < a[0]:
                raise ValidationError(f"{field}={value!r}: high < low.", field=field, value=value,
                                      allowed="('uniform', low, high) with low <= high")
            x = rng.integers(int(round(a[0])), int(round(a[1])) + 1, n)
        elif kind == "exponential":
            x = rng.exponential(a[0], n)
        elif kind == "normal":
            x = rng.normal(a[0], a[1], n)
        else:
            x = a[0] * np.exp(rng.normal(0.0, a[1], n))
        return np.maximum(np.round(x), 1).astype(np.int64)
    if isinstance(value, (list, np.ndarray)):
        arr = inputs.positive_int_array(value, field, "token", maximum=10_000_000).astype(np.int64).ravel()
        return np.resize(arr, n)
    return np.full(n, inputs.positive_int(value, field, "token", maximum=10_000_000), dtype=np.int64)


def _sla(sla):
    """``(ttft_s, itl_s)`` from None, an :class:`~mlsyslab.scenarios.SLA` or a mapping (ms numbers,
    quantities or strings); only ``ttft`` and ``itl`` apply here."""
    if sla is None:
        return None, None
    from ..scenarios.sla import SLA, parse_limit

    if isinstance(sla, SLA):
        given = dict(sla.raw)
    elif isinstance(sla, dict):
        given = dict(sla)
    else:
        raise ValidationError(f"sla={sla!r} is not allowed; pass a mapping such as {{'ttft': '200 ms', 'itl': '50 ms'}} "
                              "or an mlsyslab.SLA.", field="sla", value=sla, allowed="a mapping or an SLA")
    extra = [k for k in given if k not in ("ttft", "itl")]
    if extra:
        raise ValidationError(f"sla.{extra[0]} does not apply to a load simulation; its SLA has ttft and itl "
                              "(goodput counts the requests that meet both).", field=f"sla.{extra[0]}",
                              value=given[extra[0]], allowed="ttft, itl")
    out = []
    for name in ("ttft", "itl"):
        out.append(None if given.get(name) is None else parse_limit(given[name], name, f"sla.{name}")[0] / 1e3)
    return tuple(out)


class LoadResult(Result):
    """What :meth:`LoadSolver.solve` returns. Fields work as attributes and as items.

    Latency percentiles are in ms (``e2e_*`` in s); ``throughput`` is output tokens/s,
    ``request_throughput`` and ``goodput`` are requests/s. ``timeseries`` holds numpy arrays
    for plots: ``t`` (s), ``queue`` (waiting requests), ``running`` (admitted requests),
    ``kv_utilization`` (fraction of KV blocks in use) and ``tokens`` (output tokens so far).
    ``request_overhead`` (ms) and ``host_overhead`` (µs of host time per running sequence per decode
    step, 0 with overlap scheduling) say what the profile charged besides the GPU.
    """

    _QUANTITIES = {
        "throughput": ("throughput", "token/s"),
        "request_throughput": ("request_throughput", "1/s"),
        "goodput": ("goodput", "1/s"),
        "ttft_p50": ("ttft_p50", "ms", 1e3), "ttft_p99": ("ttft_p99", "ms", 1e3),
        "ttft_mean": ("ttft_mean", "ms", 1e3),
        "itl_p50": ("itl_p50", "ms", 1e3), "itl_p99": ("itl_p99", "ms", 1e3),
        "tpot_mean": ("tpot_mean", "ms", 1e3),
        "e2e_p50": ("e2e_p50", "s"), "e2e_p99": ("e2e_p99", "s"), "e2e_mean": ("e2e_mean", "s"),
        "duration": ("duration", "s"),
        "kv_pool": ("kv_pool", "GB", 1e-9),
        "request_overhead": ("request_overhead", "ms", 1e3),
        "host_overhead": ("host_overhead", "us", 1e6),
    }
    _PLAIN = ("mean_batch", "kv_utilization", "peak_kv_utilization", "preemptions", "mean_in_system",
              "goodput_fraction", "kv_blocks", "n_requests", "model", "hardware", "precision", "tensor_parallel",
              "efficiency", "arrival_rate", "concurrency", "chunked_prefill", "prefix_hit_rate", "engine",
              "max_num_seqs", "max_batched_tokens", "block_size", "overlap_scheduling", "quantized")

    def __repr__(self) -> str:
        r = self.raw
        return (f"<LoadResult {self.model.key} on {self.hardware.key} ({self.engine}): {r['throughput']:,.0f} tok/s, "
                f"{r['request_throughput']:.3g} req/s, TTFT p50/p99 {r['ttft_p50'] * 1e3:.1f}/{r['ttft_p99'] * 1e3:.1f} ms, "
                f"ITL p50/p99 {r['itl_p50'] * 1e3:.2f}/{r['itl_p99'] * 1e3:.2f} ms, batch {self.mean_batch:.1f}, "
                f"KV {self.kv_utilization:.0%}, preemptions {self.preemptions}>")


class LoadSolver:
    """Serve a stream of requests with continuous batching and a paged KV-cache.

    Parameters
    ----------
    efficiency : {"calibrated", "ideal"} or Calibration
        Step times from the calibrated serving model (default) or the pure roofline.
    engine : {"vllm", "vllm-v0", "sglang", "trtllm"}, optional
        Whose scheduler defaults to use (:mod:`mlsyslab.solvers.load_engines`, each value with
        its source); default ``"vllm"`` (the V1 scheduler). ``solve``/``analytic`` take
        ``engine=`` too, and any scheduler keyword given overrides the profile's value.
    """

    def __init__(self, efficiency="calibrated", engine=None):
        self.calibration = _cal.get(efficiency)
        self.efficiency = self.calibration.name
        self._serving = ServingSolver(self.calibration)
        self.engine = _engines.get(engine).name

    # ------------------------------------------------------------------ set-up shared by both paths
    def setup(self, model, hardware, precision="fp16", tensor_parallel=1, kv_precision=None, block_size=None,
              memory_utilization=None, draft_model=None, speculative_tokens=4, acceptance_rate=0.7, engine=None,
              max_num_seqs=None, max_batched_tokens=None, max_model_len=None, chunked_prefill=None,
              num_scheduler_steps=1, quantized="all"):
        """Checked plain-number set-up: ``(model, hw, StepCost, Speculation | None, kv_blocks, pool_bytes, tp, prec)``;
        ``block_size``/``memory_utilization`` None take the engine profile's values. Outside the ideal mode the
        pool also loses the activation memory the engine profiles at start-up for its largest step
        (``max_batched_tokens`` tokens, ``max_num_seqs`` logits; :func:`~mlsyslab.solvers.load_engines.runtime_bytes`);
        the ideal mode keeps the textbook pool (memory fraction less weights)."""
        m, hw, prec, kv_prec, tp, cprec, eff_peak, b_w = self._serving._prepare(model, hardware, precision,
                                                                                 tensor_parallel, kv_precision, quantized)
        prof = _engines.get(self.engine if engine is None else engine)
        dflt = prof.resolve(hw, m, tp, _max_model_len(max_model_len), chunked_prefill, _steps(num_scheduler_steps))
        bs = inputs.positive_int(prof.block_size if block_size is None else block_size, "block_size", "token",
                                 maximum=4096)
        mu = dflt["memory_utilization"] if memory_utilization is None else memory_utilization
        util = inputs.fraction(mu, "memory_utilization")
        if util == 0:
            raise ValidationError("memory_utilization=0 leaves no memory for the KV-cache; use a fraction in (0, 1] "
                                  "(vLLM's default is 0.9).", field="memory_utilization", value=memory_utilization,
                                  allowed="a fraction in (0, 1]")
        cost = step_cost(m, hw, b_w, BYTES_PER_VALUE[kv_prec], eff_peak, tp, self.calibration, kernels=True)
        spec = None
        draft_bytes = 0.0
        if draft_model is not None:
            draft, k, alpha = speculation(m, draft_model, speculative_tokens, acceptance_rate)
            spec = Speculation(step_cost(draft, hw, BYTES_PER_VALUE[prec], BYTES_PER_VALUE[kv_prec], eff_peak, 1,
                                         self.calibration, kernels=True), k, alpha)
            draft_bytes = spec.draft.weights_bytes
        kv_tok = cost.kv_bytes_per_token + (spec.draft.kv_bytes_per_token if spec else 0.0)
        runtime = 0.0
        if self.calibration.name != "ideal":
            seats, budget = _seats_budget(dflt, max_num_seqs, max_batched_tokens)
            runtime = prof.runtime_bytes(m, tp, budget, budget if seats is None else seats)
        if prof.memory_rule == "free":  # TensorRT-LLM: a fraction of the memory the weights and activations leave free
            pool = util * (hw.memory_bytes - cost.weights_bytes - draft_bytes - runtime)
        else:
            pool = util * hw.memory_bytes - cost.weights_bytes - draft_bytes - runtime
        blocks = int(pool // (bs * kv_tok)) if pool > 0 else 0
        if blocks <= 0:
            need = (cost.weights_bytes + draft_bytes) / 1e9
            raise OOMError(f"{m.key} ({prec}, tp={tp}) needs {need:.2f} GB of weights per GPU, and "
                           f"memory_utilization={util:g} of {hw.key}'s {hw.memory_bytes / 1e9:.2f} GB leaves no room "
                           "for a KV-cache block; use more GPUs (tensor_parallel), a smaller precision or a bigger device.",
                           required_bytes=cost.weights_bytes + draft_bytes, capacity_bytes=util * hw.memory_bytes)
        return m, hw, cost, spec, blocks, blocks * bs * kv_tok, tp, prec

    def scheduler(self, engine, hw, m, tp, blocks, block_size, max_num_seqs, max_batched_tokens, chunked_prefill,
                  max_model_len=None, num_scheduler_steps=1):
        """The engine profile and the checked scheduler settings ``(seats, budget, mixed)``: the
        profile's defaults where a keyword is None (``max_model_len`` given: vLLM V0's long-context
        rule, :func:`~mlsyslab.solvers.load_engines.vllm_v0_defaults`)."""
        prof = _engines.get(self.engine if engine is None else engine)
        if chunked_prefill is not None:
            chunked_prefill = _bool(chunked_prefill, "chunked_prefill")
        dflt = prof.resolve(hw, m, tp, _max_model_len(max_model_len), chunked_prefill, _steps(num_scheduler_steps))
        seats, budget = _seats_budget(dflt, max_num_seqs, max_batched_tokens)
        if max_num_seqs is None and dflt["seats_from_pool"]:
            seats = prof.seats_from_pool(blocks * block_size, m.max_seq_len)
        mixed = dflt["mixed"]
        if max_num_seqs is None and mixed:
            seats = min(seats, budget)  # as vLLM: max_num_seqs = min(default, max_num_batched_tokens)
        return prof, int(seats), int(budget), mixed

    # ------------------------------------------------------------------ the simulator
    def solve(self, model, hardware, arrival_rate=None, input_tokens=512, output_tokens=128, precision="fp16",
              tensor_parallel=1, sla=None, n_requests=None, seed=0, *, arrival_times=None, concurrency=None,
              kv_precision=None, block_size=None, max_num_seqs=None, max_batched_tokens=None, chunked_prefill=None,
              prefix_hit_rate=0.0, memory_utilization=None, draft_model=None, speculative_tokens=4,
              acceptance_rate=0.7, engine=None, num_scheduler_steps=1, max_model_len=None,
              overlap_scheduling=None, quantized="all", request_overhead=None) -> LoadResult:
        """Simulate serving ``n_requests`` requests (default 1000).

        Parameters
        ----------
        model, hardware : str or spec
            Zoo names or specs, as for :class:`~mlsyslab.solvers.serving.ServingSolver`.
        arrival_rate : float or Quantity [1/s]
            Poisson arrivals, requests per second (``math.inf``: all at t = 0). Give exactly one
            of ``arrival_rate``, ``arrival_times`` (seconds) or ``concurrency`` (closed loop:
            that many clients, each sending its next request when the previous one ends; their
            first requests are spread uniformly over the time one request takes alone, so the
            loop starts in a steady state rather than as one synchronised burst).
        input_tokens, output_tokens : int, array or distribution
            Fixed, per-request (array), or ``("uniform", lo, hi)``, ``("exponential", mean)``,
            ``("normal", mean, sd)``, ``("lognormal", median, sigma)`` drawn with ``seed``.
        sla : mapping or SLA, optional
            ``{"ttft": ..., "itl": ...}`` (ms numbers, quantities or strings) for ``goodput``;
            ``itl`` is checked against each request's mean inter-token time (TPOT).
        block_size, max_num_seqs, max_batched_tokens, chunked_prefill, memory_utilization
            Scheduler knobs (vLLM's names); None takes the engine profile's value. ``chunked_prefill``
            says whether prompt chunks ride in decode steps (mixed steps).
        engine : str, optional
            ``"vllm"`` (V1, default), ``"vllm-v0"``, ``"sglang"`` or ``"trtllm"``: whose defaults,
            admission rule and preemption policy (:mod:`mlsyslab.solvers.load_engines`).
        num_scheduler_steps : int
            Multi-step scheduling (vLLM 0.6's ``--num-scheduler-steps``, default 1): while requests
            run, new ones are admitted only every that many decode steps.
        max_model_len : int, optional
            The server's ``--max-model-len``. With ``engine="vllm-v0"`` a number applies vLLM V0's
            defaults: chunked prefill with 512-token steps above 32 768 tokens, else steps of
            ``max(max_model_len, 2048)`` tokens; None keeps the profile's 8192-token prefill-only steps.
        overlap_scheduling : bool, optional
            Whether the scheduler runs one step ahead of the GPU (SGLang's overlap scheduler, vLLM's
            async scheduling, TensorRT-LLM's overlap scheduler): a request that arrives while a step
            runs joins the step after the next one, one more step of TTFT. None takes the profile's
            (on for ``vllm``, ``sglang`` and ``trtllm``, off for ``vllm-v0``).
        prefix_hit_rate : float in [0, 1)
            Fraction of each prompt (a shared system prompt) found in the prefix cache; its
            full blocks are stored once.
        request_overhead : float or Quantity [s], optional
            Time from a client sending a request to the scheduler seeing it (HTTP, chat template,
            tokenisation), part of every TTFT and E2E. None: the calibration's
            ``load_request_overhead_s`` for an engine with a Python front end (vLLM, SGLang), 0 for
            TensorRT-LLM's native one; 0 for an offline (in-process) benchmark.
        quantized : {"all", "linear", "ffn"}
            Which weights a below-16-bit ``precision`` covers (see :meth:`ServingSolver.solve`);
            ``"ffn"`` for Meta's FP8 checkpoints, whose bf16 attention halves a 405B's KV pool on 8x H100.
        draft_model, speculative_tokens, acceptance_rate
            Speculative decoding (see :meth:`ServingSolver.solve`); not with ``chunked_prefill``.
        """
        m, hw, cost, spec, blocks, pool, tp, prec = self.setup(model, hardware, precision, tensor_parallel,
                                                               kv_precision, block_size, memory_utilization,
                                                               draft_model, speculative_tokens, acceptance_rate, engine,
                                                               max_num_seqs, max_batched_tokens, max_model_len,
                                                               chunked_prefill, num_scheduler_steps, quantized)
        prof = _engines.get(self.engine if engine is None else engine)
        bs = int(prof.block_size if block_size is None else block_size)
        if spec is not None and chunked_prefill is None:
            chunked_prefill = False  # speculative decoding is simulated with prefill-only steps
        prof, max_seqs, budget, chunked = self.scheduler(engine, hw, m, tp, blocks, bs, max_num_seqs,
                                                         max_batched_tokens, chunked_prefill, max_model_len,
                                                         num_scheduler_steps)
        split = True if (chunked_prefill is not None or chunked != prof.mixed) else prof.split_prompts
        overlap = _overlap(prof, overlap_scheduling)
        cost = _host_time(cost, self.calibration, prof, overlap, _steps(num_scheduler_steps))
        delay = _request_overhead(self.calibration, prof, request_overhead)
        seed = _seed(seed)
        rng = np.random.default_rng(seed)
        modes = [x is not None for x in (arrival_rate, arrival_times, concurrency)]
        if sum(modes) != 1:
            raise ValidationError("give exactly one of arrival_rate (req/s), arrival_times (s) or concurrency "
                                  f"(clients); got {sum(modes)}.", field="arrival_rate", value=arrival_rate,
                                  allowed="exactly one of arrival_rate, arrival_times, concurrency")
        rate = conc = None
        if arrival_times is not None:
            arrivals = _arrival_times(arrival_times)
            if n_requests is not None and int(n_requests) != arrivals.size:
                raise ValidationError(f"n_requests={n_requests!r} differs from the {arrivals.size} arrival_times given; "
                                      "leave n_requests out.", field="n_requests", value=n_requests,
                                      allowed=f"{arrivals.size} or None")
            n = arrivals.size
        else:
            n = 1000 if n_requests is None else inputs.positive_int(n_requests, "n_requests", maximum=MAX_REQUESTS)
            if concurrency is not None:
                conc = inputs.positive_int(concurrency, "concurrency", maximum=1_000_000)
                arrivals = None  # start times drawn below, once the lengths are known
            else:
                rate = arrival_rate_value(arrival_rate)
                arrivals = (np.zeros(n) if math.isinf(rate)
                            else np.cumsum(rng.exponential(1.0 / rate, n)))
        inp = _lengths(input_tokens, "input_tokens", n, rng)
        out = _lengths(output_tokens, "output_tokens", n, rng)
        _check_context(m, inp, out)
        hit = inputs.fraction(prefix_hit_rate, "prefix_hit_rate")
        if hit >= 1.0:
            raise ValidationError(f"prefix_hit_rate={prefix_hit_rate!r} is not allowed; the last prompt token is always "
                                  "computed, so the rate must be < 1.", field="prefix_hit_rate", value=prefix_hit_rate,
                                  allowed="a fraction in [0, 1)")
        cached = np.minimum(np.round(hit * inp).astype(np.int64), inp - 1)
        shared_blocks = int((cached // bs).max()) if hit > 0 else 0
        total_blocks = blocks - shared_blocks
        if chunked and spec is not None:
            raise ValidationError("chunked_prefill=True with a draft_model is not modelled; use one or the other.",
                                  field="chunked_prefill", value=True, allowed="False with speculative decoding")
        if chunked and budget < max_seqs:
            raise ValidationError(f"max_batched_tokens={budget} must be at least max_num_seqs={max_seqs} with chunked prefill "
                                  "(each step first decodes one token per running sequence).",
                                  field="max_batched_tokens", value=budget, allowed=f">= {max_seqs}")
        watermark = int(prof.watermark * blocks)
        longest = int(((inp + out + bs - 1) // bs).max())
        if longest > total_blocks - watermark:
            raise ValidationError(
                f"a request of {int((inp + out).max())} tokens needs {longest} KV blocks of {bs} tokens, but {m.key} on "
                f"{hw.key} (memory_utilization={memory_utilization}) has room for {total_blocks - watermark}; "
                "shorten input_tokens/output_tokens or add memory.", field="input_tokens", value=int(inp.max()),
                allowed=f"requests up to {(total_blocks - watermark) * bs} tokens")
        if conc is not None and conc > 1:
            # a steady closed loop, not a synchronised burst: the clients' first requests are spread
            # uniformly over the time one request takes alone (prefill + its decode steps at batch 1)
            ramp = cost.prefill(float(inp.mean())) + (float(out.mean()) - 1.0) * cost.step(
                1, 2.0 * float(inp.mean() + out.mean() / 2), float(inp.mean() + out.mean() / 2), 1, False)
            arrivals = np.sort(rng.uniform(0.0, ramp, min(conc, n)))
        from .load_sim import simulate

        # a request reaches the scheduler ``delay`` after its client sends it (HTTP, tokenisation,
        # the engine's input queue); TTFT and E2E count from the send
        raw = simulate(cost, spec, inp, out, cached, arrivals=arrivals, concurrency=conc, total_blocks=total_blocks,
                       block_size=bs, max_seqs=max_seqs, max_tokens=budget, chunked=chunked, watermark=watermark,
                       profile=prof, split=split, scheduler_steps=_steps(num_scheduler_steps),
                       request_delay=delay, overlap=overlap)
        sla_ttft, sla_itl = _sla(sla)
        return _result(raw, inp, out, sla_ttft, sla_itl, model=m, hardware=hw, precision=prec, tensor_parallel=tp,
                       efficiency=self.efficiency, arrival_rate=rate, concurrency=conc, chunked_prefill=chunked,
                       prefix_hit_rate=hit, kv_blocks=blocks, kv_pool=pool, shared_blocks=shared_blocks,
                       engine=prof.name, max_num_seqs=max_seqs, max_batched_tokens=budget, block_size=bs,
                       overlap_scheduling=overlap, quantized=normalize_scope(quantized), request_overhead=delay,
                       host_overhead=cost.host_seq)

    # ------------------------------------------------------------------ the fast path
    def analytic(self, model, hardware, arrival_rate, input_tokens=512, output_tokens=128, precision="fp16",
                 tensor_parallel=1, sla=None, *, kv_precision=None, block_size=None, max_num_seqs=None,
                 max_batched_tokens=None, chunked_prefill=None, prefix_hit_rate=0.0, memory_utilization=None,
                 draft_model=None, speculative_tokens=4, acceptance_rate=0.7, engine=None, num_scheduler_steps=1,
                 n_requests=None, max_model_len=None, overlap_scheduling=None, quantized="all",
                 request_overhead=None):
        """The fluid/queueing approximation (:mod:`mlsyslab.solvers.load_analytic`) for fixed lengths,
        vectorised over ``arrival_rate`` (a number or an array, req/s). Returns a dict of numpy
        arrays in base units (s, tokens/s, req/s) plus the scalar ``capacity`` (req/s). Same
        scheduler keywords and ``engine`` as :meth:`solve`."""
        from .load_analytic import fluid

        m, hw, cost, spec, blocks, pool, tp, prec = self.setup(model, hardware, precision, tensor_parallel,
                                                               kv_precision, block_size, memory_utilization,
                                                               draft_model, speculative_tokens, acceptance_rate, engine,
                                                               max_num_seqs, max_batched_tokens, max_model_len,
                                                               chunked_prefill, num_scheduler_steps, quantized)
        prof = _engines.get(self.engine if engine is None else engine)
        bs = int(prof.block_size if block_size is None else block_size)
        if spec is not None and chunked_prefill is None:
            chunked_prefill = False
        prof, max_seqs, budget, chunked = self.scheduler(engine, hw, m, tp, blocks, bs, max_num_seqs,
                                                         max_batched_tokens, chunked_prefill, max_model_len,
                                                         num_scheduler_steps)
        overlap = _overlap(prof, overlap_scheduling)
        cost = _host_time(cost, self.calibration, prof, overlap, _steps(num_scheduler_steps))
        delay = _request_overhead(self.calibration, prof, request_overhead)
        rate = _rates(arrival_rate)
        I = inputs.positive_int(input_tokens, "input_tokens", "token", maximum=10_000_000)
        O = inputs.positive_int(output_tokens, "output_tokens", "token", maximum=10_000_000)
        _check_context(m, np.array([I]), np.array([O]))
        hit = inputs.fraction(prefix_hit_rate, "prefix_hit_rate")
        cached = min(int(round(hit * I)), I - 1)
        sla_ttft, sla_itl = _sla(sla)
        return fluid(cost, spec, rate, I, O, cached, total_blocks=blocks - cached // bs, block_size=bs,
                     max_seqs=max_seqs, max_tokens=budget, chunked=chunked, sla_ttft=sla_ttft, sla_itl=sla_itl,
                     watermark=prof.watermark, reserve=prof.reserve_min, scheduler_steps=_steps(num_scheduler_steps),
                     request_delay=delay, overlap=overlap, reserve_decay=(prof.reserve_init, prof.reserve_decay_steps),
                     n_requests=None if n_requests is None else inputs.positive_int(n_requests, "n_requests",
                                                                                    maximum=MAX_REQUESTS))


# ---------------------------------------------------------------------- helpers

def arrival_rate_value(value) -> float:
    """A request rate in 1/s (``math.inf`` allowed: every request at t = 0)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isinf(value) and value > 0:
        return math.inf
    return inputs.positive_float(value, "arrival_rate", "1/s")


def _rates(value) -> np.ndarray:
    from ..units import magnitude

    raw = value
    arr = np.asarray(magnitude(value, "1/s", field="arrival_rate"), dtype=float)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        bad = arr[~(np.isfinite(arr) & (arr > 0))].ravel()
        raise ValidationError(f"arrival_rate={raw!r} is not allowed; arrival rates must be finite numbers > 0 "
                              f"(requests per second){'' if bad.size == 0 else f'; first offending value {bad[0]:g}'}.",
                              field="arrival_rate", value=raw, allowed="finite numbers > 0 (req/s)")
    return arr


def _arrival_times(value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValidationError(f"arrival_times={value!r} is not allowed; give a list of times in seconds.",
                              field="arrival_times", value=value, allowed="a non-empty list of times >= 0 (s)") from None
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValidationError(f"arrival_times must be a non-empty list of finite times >= 0 s (got {value!r:.60}).",
                              field="arrival_times", value=value, allowed="a non-empty list of times >= 0 (s)")
    if arr.size > MAX_REQUESTS:
        raise ValidationError(f"arrival_times has {arr.size} entries; at most {MAX_REQUESTS}.", field="arrival_times",
                              value=arr.size, allowed=f"at most {MAX_REQUESTS} requests")
    return np.sort(arr)


def _check_context(m, inp, out):
    if m.max_seq_len:
        total = inp + out
        worst = int(np.argmax(total))
        if total[worst] > m.max_seq_len:
            raise ValidationError(
                f"input_tokens + output_tokens = {int(inp[worst])} + {int(out[worst])} = {int(total[worst])} tokens is "
                f"longer than {m.key}'s context window of {m.max_seq_len} tokens; shorten the prompt or the output.",
                field="input_tokens", value=int(inp[worst]), allowed=f"prompt + output <= {m.max_seq_len} tokens")


def _steps(value):
    return inputs.positive_int(value, "num_scheduler_steps", maximum=256)


def _seats_budget(dflt, max_num_seqs, max_batched_tokens):
    """The checked ``(max_num_seqs, max_batched_tokens)``: the given values, else the profile's
    (``max_num_seqs`` None when the profile sizes the seats from the KV pool)."""
    seats = dflt["max_num_seqs"] if max_num_seqs is None else inputs.positive_int(max_num_seqs, "max_num_seqs",
                                                                                  maximum=1_000_000)
    budget = dflt["max_batched_tokens"] if max_batched_tokens is None else inputs.positive_int(
        max_batched_tokens, "max_batched_tokens", "token", maximum=10_000_000)
    return seats, budget


def _max_model_len(value):
    return None if value is None else inputs.positive_int(value, "max_model_len", "token", maximum=10_000_000)


def _bool(value, field):
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(f"{field}={value!r} is not allowed; {field} must be True or False.", field=field,
                              value=value, allowed="True or False")
    return bool(value)


def _overlap(prof, value):
    """Whether the scheduler overlaps the GPU: the profile's when ``value`` is None."""
    return prof.overlap if value is None else _bool(value, "overlap_scheduling")


def _host_time(cost, cal, prof, overlap, steps=1):
    """The step cost with the host time a Python scheduler spends per running sequence per decode step
    (``load_host_overhead_seq_s``: scheduling, input preparation, sampling, output processing), in series
    with the GPU when it does not overlap it; hidden behind the GPU step with overlap scheduling, and none
    for TensorRT-LLM's C++ executor or in the ideal mode. Multi-step scheduling (``steps`` = k) schedules and
    prepares the inputs once per k steps and processes outputs asynchronously (vLLM 0.6): 1/k of it per step."""
    host = float(getattr(cal, "load_host_overhead_seq_s", 0.0))
    if host > 0 and prof.frontend == "python" and not overlap and cal.name != "ideal":
        return dataclasses.replace(cost, host_seq=host / steps)
    return cost


def _request_overhead(cal, prof, value):
    """Seconds from a client's send to the scheduler: the calibration's ``load_request_overhead_s`` behind a
    Python front end (``prof.frontend``), 0 behind a native one, when ``value`` is None."""
    if value is None:
        return float(cal.load_request_overhead_s) if prof.frontend == "python" else 0.0
    return inputs.positive_float(value, "request_overhead", "s", allow_zero=True)


def _seed(value):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral,)) or value < 0:
        raise ValidationError(f"seed={value!r} is not allowed; seed must be an integer >= 0.", field="seed",
                              value=value, allowed="an integer >= 0")
    return int(value)


def _result(raw, inp, out, sla_ttft, sla_itl, *, kv_blocks, kv_pool, shared_blocks, request_overhead, host_overhead,
            **plain):
    arr, first, done = raw["arrival"], raw["first"], raw["done"]
    ttft = first - arr
    e2e = done - arr
    tpot = np.where(out > 1, (e2e - ttft) / np.maximum(out - 1, 1), 0.0)
    t0 = float(arr.min())
    duration = float(done.max()) - t0
    itl50, itl99 = _quantiles_itl(raw)
    ok = np.ones(len(arr), bool)
    if sla_ttft is not None:
        ok &= ttft <= sla_ttft
    if sla_itl is not None:
        ok &= tpot <= sla_itl
    ts_t = raw["ts_t"]
    dt = np.diff(ts_t)
    in_system = raw["ts_queue"] + raw["ts_running"]
    use = (raw["ts_blocks"] + shared_blocks) / kv_blocks
    busy = duration if duration > 0 else 1.0
    mask = ts_t[:-1] >= t0
    values = {
        "throughput": float(out.sum()) / busy if duration > 0 else float("nan"),
        "request_throughput": len(arr) / busy if duration > 0 else float("nan"),
        "goodput": float(ok.sum()) / busy if duration > 0 else float("nan"),
        "ttft_p50": float(np.percentile(ttft, 50)), "ttft_p99": float(np.percentile(ttft, 99)),
        "ttft_mean": float(ttft.mean()),
        "itl_p50": itl50, "itl_p99": itl99,
        "tpot_mean": float(tpot[out > 1].mean()) if (out > 1).any() else 0.0,
        "e2e_p50": float(np.percentile(e2e, 50)), "e2e_p99": float(np.percentile(e2e, 99)),
        "e2e_mean": float(e2e.mean()), "duration": duration, "kv_pool": kv_pool,
        "request_overhead": request_overhead, "host_overhead": host_overhead,
    }
    res = LoadResult(values, **plain)
    res.mean_batch = raw["decode_seq_steps"] / raw["decode_steps"] if raw["decode_steps"] else 0.0
    span = float(dt[mask].sum())
    res.mean_in_system = float((in_system[:-1][mask] * dt[mask]).sum() / span) if span > 0 else 0.0
    res.kv_utilization = float((use[:-1][mask] * dt[mask]).sum() / span) if span > 0 else float(use.max())
    res.peak_kv_utilization = float(use.max())
    res.preemptions = int(raw["preemptions"])
    res.goodput_fraction = float(ok.mean())
    res.kv_blocks = int(kv_blocks)
    res.n_requests = int(len(arr))
    #: numpy arrays for plots (see the class docstring)
    res.timeseries = {"t": ts_t, "queue": raw["ts_queue"], "running": raw["ts_running"], "kv_utilization": use,
                      "tokens": raw["ts_tokens"]}
    #: per-request arrays (s): arrival, ttft, e2e, tpot; and lengths
    res.requests = {"arrival": arr, "ttft": ttft, "e2e": e2e, "tpot": tpot, "input_tokens": inp, "output_tokens": out}
    return res


def _quantiles_itl(raw):
    from .load_sim import _weighted_quantiles

    return tuple(_weighted_quantiles(raw["itl_values"], raw["itl_weights"], (0.5, 0.99)))


__all__ = ["LoadSolver", "LoadResult"]
