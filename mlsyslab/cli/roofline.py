"""``mlsyslab roofline``: FLOPs, bytes, arithmetic intensity and the bound of one inference on a device."""

from __future__ import annotations

from .tables import emit_json, pairs


def register(subparsers) -> None:
    p = subparsers.add_parser("roofline", help="roofline of one inference: intensity, ridge point, bound, latency",
                              description="Roofline analysis of one forward pass (mlsyslab.Engine): FLOPs and bytes "
                                          "moved, arithmetic intensity vs the device's ridge point, latency.")
    p.add_argument("--model", required=True, help="zoo model, e.g. ResNet50")
    p.add_argument("--hardware", required=True, help="zoo device, e.g. A100")
    p.add_argument("--precision", default="fp16", help="fp32, fp16, bf16, fp8, int8, ... (default fp16)")
    p.add_argument("--batch", type=int, default=1, help="samples per forward pass (default 1)")
    p.add_argument("--seq-len", type=int, default=None, help="transformers: tokens per sample (default 2048)")
    p.add_argument("--calibrated", action="store_true", help="apply fitted efficiencies (default: ideal roofline)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def roofline_dict(r) -> dict:
    raw = r.raw
    return {"model": r.model.key, "hardware": r.hardware.key, "batch_size": r.batch_size, "seq_len": r.seq_len,
            "precision": r.precision, "compute_precision": r.compute_precision, "efficiency": r.efficiency,
            "gflop": raw["flops"] / 1e9, "memory_moved_MB": raw["memory_bytes"] / 1e6,
            "arithmetic_intensity_flop_per_byte": raw["intensity"], "ridge_point_flop_per_byte": raw["ridge"],
            "bound": r.bound, "latency_ms": raw["latency"] * 1e3, "throughput_samples_per_s": raw["throughput"],
            "peak_TFLOP_per_s": raw["peak"] / 1e12, "bandwidth_TB_per_s": raw["bandwidth"] / 1e12,
            "memory_required_GB": raw["memory_required"] / 1e9, "capacity_GB": r.hardware.memory_bytes / 1e9,
            "feasible": r.feasible, "compute_utilization": r.utilization}


def run(args) -> int:
    from ..solvers.roofline import Engine

    r = Engine.solve(args.model, args.hardware, batch_size=args.batch, precision=args.precision,
                     seq_len=args.seq_len, efficiency="calibrated" if args.calibrated else "ideal")
    d = roofline_dict(r)
    if args.json:
        emit_json(d)
        return 0
    print(f"{r.model.name} on {r.hardware.name}: batch {r.batch_size}, {r.precision}"
          f"{f' (runs at {r.compute_precision})' if r.compute_precision != r.precision else ''}, {r.efficiency}")
    print(pairs([
        ("FLOPs", f"{d['gflop']:.4g} GFLOP"),
        ("memory moved", f"{d['memory_moved_MB']:.4g} MB"),
        ("arithmetic intensity", f"{d['arithmetic_intensity_flop_per_byte']:.1f} FLOP/B"),
        ("ridge point", f"{d['ridge_point_flop_per_byte']:.1f} FLOP/B "
                        f"({d['peak_TFLOP_per_s']:g} TFLOP/s / {d['bandwidth_TB_per_s']:g} TB/s)"),
        ("bound", r.bound),
        ("latency", f"{d['latency_ms']:.4g} ms"),
        ("throughput", f"{d['throughput_samples_per_s']:,.1f} samples/s"),
        ("memory required", f"{d['memory_required_GB']:.3g} GB of {d['capacity_GB']:.2f} GB"
                            + ("" if r.feasible else "  -> OUT OF MEMORY")),
    ]))
    return 0
