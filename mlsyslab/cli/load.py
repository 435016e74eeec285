"""``mlsyslab load``: serve a stream of requests with continuous batching (mlsyslab.LoadSolver)."""

from __future__ import annotations

import math

from ..precision import QUANTIZED_SCOPES
from .tables import emit_json, fmt_number, pairs, table


def register(subparsers) -> None:
    p = subparsers.add_parser("load", help="serving under load: queues, tail latency, goodput (continuous batching)",
                              description="Simulate a request stream served with continuous batching and a paged "
                                          "KV-cache (mlsyslab.LoadSolver): throughput, TTFT/ITL/E2E percentiles, "
                                          "goodput under an SLA, batch, KV use, preemptions.")
    p.add_argument("--model", required=True, help="zoo model, e.g. Llama3_8B")
    p.add_argument("--hardware", required=True, help="zoo device, e.g. H100")
    load = p.add_mutually_exclusive_group(required=True)
    load.add_argument("--rate", help="Poisson arrivals, requests/s ('inf': all at t = 0); "
                                     "comma-separated for a sweep, e.g. 5,10,20")
    load.add_argument("--concurrency", type=int, help="closed loop: this many clients, each sends its next request "
                                                      "when the previous one ends")
    p.add_argument("--input", type=int, default=512, help="prompt tokens per request (default 512)")
    p.add_argument("--output", type=int, default=128, help="output tokens per request (default 128)")
    p.add_argument("--requests", type=int, default=1000, help="requests to simulate (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the arrivals (default 0)")
    p.add_argument("--precision", default="fp16", help="weight precision (default fp16)")
    p.add_argument("--kv-precision", default=None, help="KV-cache precision (default: same as --precision)")
    p.add_argument("--quantized", default="all", choices=QUANTIZED_SCOPES,
                   help="which weights a below-16-bit --precision covers: all (default), linear (embeddings and "
                        "lm_head 16-bit), ffn (Meta's Llama 3.1 FP8 checkpoints: attention bf16)")
    p.add_argument("--tp", type=int, default=1, help="tensor-parallel GPUs (default 1)")
    p.add_argument("--ttft-sla", default=None, help="SLA on time to first token, ms or a quantity ('0.5 s')")
    p.add_argument("--itl-sla", default=None, help="SLA on time per output token, ms or a quantity")
    p.add_argument("--engine", default=None, help="engine profile: vllm (V1 scheduler, default), vllm-v0, sglang, trtllm; "
                                                  "sets the scheduler defaults below")
    chunk = p.add_mutually_exclusive_group()
    chunk.add_argument("--chunked-prefill", dest="chunked_prefill", action="store_const", const=True, default=None,
                       help="mix prompt chunks into decode steps (default: as the engine does)")
    chunk.add_argument("--no-chunked-prefill", dest="chunked_prefill", action="store_const", const=False,
                       help="prefill-only steps: running requests wait while prompts are processed")
    overlap = p.add_mutually_exclusive_group()
    overlap.add_argument("--overlap-scheduling", dest="overlap_scheduling", action="store_const", const=True,
                         default=None, help="the scheduler runs one step ahead of the GPU: a request arriving "
                                            "mid-step starts a step later (default: as the engine does)")
    overlap.add_argument("--no-overlap-scheduling", dest="overlap_scheduling", action="store_const", const=False,
                         help="schedule each step after the previous one ends (vLLM V0, SGLang < 0.4)")
    p.add_argument("--request-overhead", type=float, default=None, metavar="MS",
                   help="ms from a client's send to the scheduler (HTTP, tokenizer; default: the calibrated value "
                        "for vLLM and SGLang, 0 for TensorRT-LLM; 0 for an offline run)")
    p.add_argument("--max-num-seqs", type=int, default=None, help="most requests in the running batch (default: the engine's)")
    p.add_argument("--max-batched-tokens", type=int, default=None, help="token budget per step (default: the engine's)")
    p.add_argument("--block-size", type=int, default=None, help="KV block size in tokens (default: the engine's)")
    p.add_argument("--memory-utilization", type=float, default=None,
                   help="fraction of device memory for weights + KV-cache (default: the engine's)")
    p.add_argument("--prefix-hit-rate", type=float, default=0.0,
                   help="fraction of each prompt found in the prefix cache (default 0)")
    p.add_argument("--draft-model", default=None, help="speculative decoding with this draft model")
    p.add_argument("--spec-tokens", type=int, default=4, help="drafted tokens per round, k (default 4)")
    p.add_argument("--acceptance", type=float, default=0.7, help="acceptance rate alpha (default 0.7)")
    p.add_argument("--ideal", action="store_true", help="step times at 100%% of datasheet peaks (the hand calculation)")
    p.add_argument("--analytic", action="store_true", help="fast fluid/queueing approximation instead of the simulator "
                                                           "(Poisson arrivals only)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _rates(text):
    from ..errors import ValidationError

    out = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            out.append(math.inf if part.lower() in ("inf", "infinity") else float(part))
        except ValueError:
            raise ValidationError(f"--rate {text!r}: {part!r} is not a number of requests/s (or 'inf').",
                                  field="arrival_rate", value=text, allowed="numbers > 0, comma-separated") from None
    return out


def _common(args):
    sla = {k: v for k, v in (("ttft", args.ttft_sla), ("itl", args.itl_sla)) if v is not None} or None
    if sla:
        sla = {k: (float(v) if _is_number(v) else v) for k, v in sla.items()}
    return dict(precision=args.precision, tensor_parallel=args.tp, sla=sla, kv_precision=args.kv_precision,
                block_size=args.block_size, max_num_seqs=args.max_num_seqs, max_batched_tokens=args.max_batched_tokens,
                chunked_prefill=args.chunked_prefill, prefix_hit_rate=args.prefix_hit_rate,
                memory_utilization=args.memory_utilization, draft_model=args.draft_model,
                speculative_tokens=args.spec_tokens, acceptance_rate=args.acceptance, engine=args.engine,
                overlap_scheduling=args.overlap_scheduling, quantized=args.quantized,
                request_overhead=_overhead_s(args.request_overhead))


def _overhead_s(ms):
    """--request-overhead (ms) in seconds; None keeps the engine's default."""
    from ..errors import ValidationError

    if ms is None:
        return None
    if not math.isfinite(ms) or ms < 0:
        raise ValidationError(f"--request-overhead {ms:g} is not allowed; give the ms from a client's send to the "
                              "scheduler, a finite number >= 0.", field="request_overhead", value=ms,
                              allowed="a finite number of ms >= 0")
    return ms / 1e3


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def result_dict(r) -> dict:
    """Plain figures of a LoadResult, units in the key names."""
    v = r.raw
    return {
        "model": r.model.key, "hardware": r.hardware.key, "precision": r.precision, "quantized": r.quantized,
        "tensor_parallel": r.tensor_parallel, "efficiency": r.efficiency, "engine": r.engine,
        "max_num_seqs": r.max_num_seqs, "max_batched_tokens": r.max_batched_tokens, "block_size": r.block_size,
        "overlap_scheduling": r.overlap_scheduling, "request_overhead_ms": v["request_overhead"] * 1e3,
        "host_overhead_us_per_sequence_step": v["host_overhead"] * 1e6,
        "arrival_rate_per_s": r.arrival_rate, "concurrency": r.concurrency, "n_requests": r.n_requests,
        "throughput_tokens_per_s": v["throughput"], "request_throughput_per_s": v["request_throughput"],
        "goodput_per_s": v["goodput"], "goodput_fraction": r.goodput_fraction,
        "ttft_p50_ms": v["ttft_p50"] * 1e3, "ttft_p99_ms": v["ttft_p99"] * 1e3, "ttft_mean_ms": v["ttft_mean"] * 1e3,
        "itl_p50_ms": v["itl_p50"] * 1e3, "itl_p99_ms": v["itl_p99"] * 1e3, "tpot_mean_ms": v["tpot_mean"] * 1e3,
        "e2e_p50_s": v["e2e_p50"], "e2e_p99_s": v["e2e_p99"], "e2e_mean_s": v["e2e_mean"],
        "mean_batch": r.mean_batch, "kv_utilization": r.kv_utilization, "peak_kv_utilization": r.peak_kv_utilization,
        "preemptions": r.preemptions, "kv_blocks": r.kv_blocks, "mean_in_system": r.mean_in_system,
    }


def _analytic_rows(out, rates):
    rows = []
    for j, rate in enumerate(rates):
        rows.append({"arrival_rate_per_s": rate, "throughput_tokens_per_s": float(out["throughput"][j]),
                     "request_throughput_per_s": float(out["request_throughput"][j]),
                     "goodput_per_s": float(out["goodput"][j]),
                     "ttft_p50_ms": float(out["ttft_p50"][j]) * 1e3, "ttft_p99_ms": float(out["ttft_p99"][j]) * 1e3,
                     "ttft_mean_ms": float(out["ttft_mean"][j]) * 1e3,
                     "itl_p50_ms": float(out["itl_p50"][j]) * 1e3, "itl_p99_ms": float(out["itl_p99"][j]) * 1e3,
                     "e2e_p50_s": float(out["e2e_p50"][j]), "e2e_mean_s": float(out["e2e_mean"][j]),
                     "mean_batch": float(out["mean_batch"][j]),
                     "kv_utilization": float(out["kv_utilization"][j])})
    return rows


def run(args) -> int:
    from ..errors import ValidationError
    from ..solvers.load import LoadSolver
    from ..solvers.load_engines import get as get_engine

    solver = LoadSolver(efficiency="ideal" if args.ideal else "calibrated")
    common = _common(args)
    rates = _rates(args.rate) if args.rate is not None else None
    if args.analytic:
        if rates is None or any(math.isinf(x) for x in rates):
            raise ValidationError("--analytic needs finite Poisson rates (--rate 5,10,20), not --concurrency or 'inf'.",
                                  field="rate", value=args.rate, allowed="finite numbers > 0")
        out = solver.analytic(args.model, args.hardware, rates, args.input, args.output, **common)
        out["engine"] = get_engine(args.engine).name
        rows = _analytic_rows(out, rates)
        if args.json:
            emit_json({"mode": "analytic", "engine": out["engine"], "capacity_per_s": out["capacity"], "rows": rows})
            return 0
        print(f"{args.model} on {args.hardware}, {args.input}/{args.output} tokens, fast path, engine {out['engine']} "
              f"(capacity {fmt_number(out['capacity'])} req/s)")
        _print_rows(rows)
        return 0
    runs = []
    for rate in (rates or [None]):
        r = solver.solve(args.model, args.hardware, arrival_rate=rate, input_tokens=args.input,
                         output_tokens=args.output, n_requests=args.requests, seed=args.seed,
                         concurrency=args.concurrency, **common)
        runs.append(result_dict(r))
    if args.json:
        emit_json(runs[0] if len(runs) == 1 else {"mode": "simulation", "rows": runs})
        return 0
    load = f"concurrency {args.concurrency}" if args.concurrency else f"{args.rate} req/s"
    d0 = runs[0]
    print(f"{args.model} on {args.hardware}: {args.requests} requests of {args.input}/{args.output} tokens, {load}, "
          f"{d0['efficiency']}, engine {d0['engine']} ({d0['max_num_seqs']} seats, {d0['max_batched_tokens']} tokens "
          f"per step, {d0['block_size']}-token blocks, {'overlap' if d0['overlap_scheduling'] else 'no overlap'} scheduling, "
          f"{d0['request_overhead_ms']:g} ms request overhead"
          + (f", {d0['host_overhead_us_per_sequence_step']:g} us host time per sequence per step"
             if d0['host_overhead_us_per_sequence_step'] else "") + ")")
    if len(runs) > 1:
        _print_rows(runs)
        return 0
    d = runs[0]
    print(pairs([
        ("throughput", f"{fmt_number(d['throughput_tokens_per_s'])} output tokens/s"),
        ("request throughput", f"{fmt_number(d['request_throughput_per_s'])} req/s"),
        ("goodput", f"{fmt_number(d['goodput_per_s'])} req/s ({d['goodput_fraction']:.0%} meet the SLA)"),
        ("TTFT p50 / p99 / mean", f"{_duration(d['ttft_p50_ms'])} / {_duration(d['ttft_p99_ms'])} / "
                                  f"{_duration(d['ttft_mean_ms'])}"),
        ("ITL p50 / p99", f"{_duration(d['itl_p50_ms'])} / {_duration(d['itl_p99_ms'])}"),
        ("E2E p50 / p99 / mean", f"{fmt_number(d['e2e_p50_s'])} / {fmt_number(d['e2e_p99_s'])} / "
                                 f"{fmt_number(d['e2e_mean_s'])} s"),
        ("mean batch", f"{d['mean_batch']:.1f} sequences per decode step"),
        ("KV-cache in use", f"{d['kv_utilization']:.0%} on average, {d['peak_kv_utilization']:.0%} at peak "
                            f"({d['kv_blocks']:,} blocks)"),
        ("preemptions", f"{d['preemptions']:,}"),
    ]))
    return 0


def _duration(ms: float) -> str:
    """12.3 ms, 1,234 ms, 12.1 s (no exponents for a queue that grew to seconds)."""
    return f"{fmt_number(ms)} ms" if ms < 10_000 else f"{fmt_number(ms / 1e3)} s"


def _print_rows(rows):
    cols = [("arrival_rate_per_s", "req/s"), ("throughput_tokens_per_s", "tok/s"), ("goodput_per_s", "goodput/s"),
            ("ttft_p50_ms", "TTFT p50 ms"), ("ttft_p99_ms", "TTFT p99 ms"), ("itl_p50_ms", "ITL p50 ms"),
            ("itl_p99_ms", "ITL p99 ms"), ("e2e_p50_s", "E2E p50 s"), ("mean_batch", "batch"),
            ("kv_utilization", "KV use")]
    print(table([[_cell(k, r[k]) for k, _ in cols] for r in rows], [h for _, h in cols]))


def _cell(key: str, value):
    """A table cell: '-' when absent, 'unbounded' past capacity (an endless run's queue grows without end),
    KV use in per cent."""
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "unbounded"
    if key == "kv_utilization":
        return f"{100 * value:.1f} %"
    return value
