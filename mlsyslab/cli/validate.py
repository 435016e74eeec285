"""``mlsyslab validate``: the serving model's predictions vs published measurements."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="predicted vs measured TTFT/ITL for every shipped measurement (ideal and calibrated)",
        description="Replay every published measurement shipped in mlsyslab/calibration/measurements.json through "
                    "the serving model, in the ideal and the calibrated mode, and print each point's predicted vs "
                    "measured latency and the median |error| for TTFT and ITL.")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the report as JSON (rows, summary, constants)")
    fmt.add_argument("--markdown", action="store_true", help="print the docs/validation.md page")
    p.add_argument("--load", action="store_true",
                   help="the load solver (simulator and analytic fast path) against published serving benchmarks "
                        "(load_measurements.json): median and p90 |error| per publication and metric, and the targets")
    p.set_defaults(func=_run)


def _run(args) -> int:
    if args.load:
        from ..calibration.load_validate import run as run_load

        return run_load(args)
    from ..calibration.validate import run

    return run(args)
