"""``mlsyslab train``: step time, memory per GPU and time to train under data/tensor/pipeline parallelism."""

from __future__ import annotations

from .tables import emit_json, jsonable, pairs, result_rows


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="distributed training: step time, memory per GPU, time to train",
                              description="Predict one training step on a cluster (mlsyslab.DistributedSolver): "
                                          "compute, all-reduce and pipeline bubble time, and memory per GPU "
                                          "(weights, gradients, optimizer state, activations).")
    p.add_argument("--model", required=True, help="zoo model, e.g. Llama3_70B")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--hardware", help="zoo device, e.g. H100 (with --gpus)")
    where.add_argument("--cluster", help="node or cluster of mlsyslab.Systems, e.g. DGX_H100_SU")
    p.add_argument("--gpus", type=int, default=None, help="GPUs in all (default: the cluster's, or dp x tp x pp)")
    p.add_argument("--tp", type=int, default=1, help="tensor-parallel degree (default 1)")
    p.add_argument("--pp", type=int, default=1, help="pipeline-parallel degree (default 1)")
    p.add_argument("--dp", type=int, default=None, help="data-parallel degree (default gpus / (tp x pp))")
    p.add_argument("--global-batch", type=int, default=None, help="sequences per optimizer step")
    p.add_argument("--microbatches", type=int, default=None, help="pipeline microbatches per step")
    p.add_argument("--seq-len", type=int, default=None, help="tokens per sequence")
    p.add_argument("--precision", default="bf16", help="bf16, fp16, fp8, fp32 (default bf16)")
    p.add_argument("--zero", type=int, choices=(0, 1, 2, 3), default=0, help="ZeRO stage (default 0)")
    p.add_argument("--recompute", action="store_true", help="recompute activations in the backward pass")
    p.add_argument("--tokens", type=float, default=None, help="token budget: also print the time to train it")
    p.add_argument("--ideal", action="store_true", help="100%% of datasheet peaks (the hand calculation)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import MLSysError
    from ..solvers.distributed import DistributedSolver

    system = args.cluster or args.hardware
    n_gpus = args.gpus
    if args.cluster and n_gpus is None and args.dp is None:  # default: every GPU of the node/cluster
        from ..scenarios.scenario import resolve_system

        n_gpus = resolve_system(args.cluster, field="cluster")[2]
    r = DistributedSolver(efficiency="ideal" if args.ideal else "calibrated").solve(
        args.model, system, n_gpus=n_gpus, dp=args.dp, tp=args.tp, pp=args.pp,
        global_batch_size=args.global_batch, microbatches=args.microbatches, seq_len=args.seq_len,
        precision=args.precision, zero_stage=args.zero, recompute=args.recompute)
    extra = {}
    if args.tokens is not None:
        if not args.tokens > 0:
            raise MLSysError(f"--tokens={args.tokens:g} must be > 0.")
        tps = r.tokens_per_second.to("token/s").magnitude
        extra = {"tokens": args.tokens, "time_to_train_hours": args.tokens / tps / 3600,
                 "time_to_train_days": args.tokens / tps / 86400}
    if args.json:
        emit_json({**jsonable(r.to_dict()), **extra})
        return 0
    mem = r.memory_per_gpu.to("GB").magnitude
    cap = r.gpu.memory_bytes
    print(f"training {r.model.key} on {r.system}: {r.n_gpus} x {r.gpu.key} (dp={r.dp}, tp={r.tp}, pp={r.pp}), "
          f"{r.precision}, ZeRO-{r.zero_stage}{', recompute' if r.recompute else ''}")
    print(f"step time {r.step_time.to('s').magnitude:.4g} s, "
          f"{r.tokens_per_second.to('token/s').magnitude:,.0f} tokens/s; memory per GPU {mem:.2f} GB of "
          f"{cap / 1e9:.2f} GB ({cap / 2 ** 30:g} GiB)" + ("" if r.feasible else "  -> OUT OF MEMORY") + "\n")
    rows = result_rows(r)
    if extra:
        rows += [("time to train", f"{extra['time_to_train_hours']:,.1f} h = {extra['time_to_train_days']:,.2f} days "
                                   f"for {args.tokens:.3g} tokens")]
    print(pairs(rows))
    return 0
