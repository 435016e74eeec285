"""``mlsyslab serve``: TTFT, ITL, throughput and memory of serving an LLM on a device."""

from __future__ import annotations

from ..precision import BYTES_PER_VALUE, QUANTIZED_SCOPES
from .tables import emit_json, pairs


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="LLM serving: TTFT, ITL, KV-cache and the memory wall",
                              description="Predict time to first token, inter-token latency and memory per GPU of "
                                          "serving a decoder LLM (mlsyslab.ServingSolver).")
    p.add_argument("--model", required=True, help="zoo model, e.g. Llama3_8B")
    p.add_argument("--hardware", required=True, help="zoo device, e.g. H100")
    p.add_argument("--seq-len", type=int, default=2048, help="context length in tokens (default 2048)")
    p.add_argument("--batch", type=int, default=1, help="concurrent requests (default 1)")
    p.add_argument("--precision", default="fp16", help="weight precision: fp16, bf16, fp8, int8, int4, ... (default fp16)")
    p.add_argument("--kv-precision", default=None, help="KV-cache precision (default: same as --precision)")
    p.add_argument("--quantized", default="all", choices=QUANTIZED_SCOPES,
                   help="which weights a below-16-bit --precision covers: all (default), linear (embeddings and "
                        "lm_head 16-bit), ffn (Meta's Llama 3.1 FP8 checkpoints: attention bf16)")
    p.add_argument("--tp", type=int, default=1, help="tensor-parallel GPUs (default 1)")
    p.add_argument("--ideal", action="store_true", help="pure roofline at 100%% of datasheet peaks (the hand calculation)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def serving_dict(r) -> dict:
    """Plain figures of a ServingResult, units in the key names (GB = 10^9 bytes, GiB = 2^30)."""
    t = r.raw
    return {
        "model": r.model.key, "hardware": r.hardware.key, "seq_len": r.seq_len, "batch_size": r.batch_size,
        "precision": r.precision, "quantized": r.quantized, "kv_precision": r.kv_precision, "compute_precision": r.compute_precision,
        "tensor_parallel": r.tensor_parallel, "efficiency": r.efficiency,
        "ttft_ms": r.ttft_s * 1e3, "itl_ms": r.itl_s * 1e3,
        "prefill_bottleneck": r.prefill_bottleneck, "decode_bottleneck": r.decode_bottleneck,
        "decode_throughput_tokens_per_s": t["decode_tokens_per_s"],
        "prefill_throughput_tokens_per_s": t["prefill_tokens_per_s"],
        "weights_GB": r.weights_bytes / 1e9, "kv_cache_GB": r.kv_bytes / 1e9, "total_memory_GB": r.total_bytes / 1e9,
        "capacity_GB": r.capacity_bytes / 1e9, "capacity_GiB": r.capacity_bytes / 2 ** 30,
        "memory_utilization": r.memory_utilization, "feasible": r.feasible, "max_batch_size": r.max_batch_size,
    }


def run(args) -> int:
    from ..solvers.serving import ServingSolver

    r = ServingSolver(efficiency="ideal" if args.ideal else "calibrated").solve(
        args.model, args.hardware, args.seq_len, args.batch, args.precision, args.tp, args.kv_precision,
        quantized=args.quantized)
    d = serving_dict(r)
    if args.json:
        emit_json(d)
        return 0
    low = r.quantized != "all" and BYTES_PER_VALUE[r.precision] < 2  # the scope only matters below 16 bits
    scope = f" ({r.quantized} weights; the rest 16-bit)" if low else ""
    print(f"{r.model.name} on {r.hardware.name}: seq_len {r.seq_len}, batch {r.batch_size}, {r.precision}{scope}"
          f"{'' if r.kv_precision == r.precision else f' (KV {r.kv_precision})'}, tp={r.tensor_parallel}, "
          f"{r.efficiency}")
    print(pairs([
        ("TTFT", f"{d['ttft_ms']:.2f} ms ({r.prefill_bottleneck}-bound)"),
        ("ITL", f"{d['itl_ms']:.3f} ms ({r.decode_bottleneck}-bound)"),
        ("decode throughput", f"{_tokens_per_s(d['decode_throughput_tokens_per_s'])} tokens/s"),
        ("weights per GPU", f"{d['weights_GB']:.2f} GB"),
        ("KV-cache per GPU", f"{d['kv_cache_GB']:.3f} GB"),
        ("total per GPU", f"{d['total_memory_GB']:.2f} GB"),
        ("capacity", f"{d['capacity_GB']:.2f} GB = {d['capacity_GiB']:.4g} GiB"),
        ("memory utilization", f"{d['memory_utilization']:.1%}" + ("" if r.feasible else "  -> OUT OF MEMORY")),
        ("largest batch that fits", f"{r.max_batch_size:,}"),
    ]))
    return 0


def _tokens_per_s(x: float) -> str:
    """816 -> '816', 26251 -> '26,251', 0.3285 -> '0.329' (a slow device is not '0 tokens/s')."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"
