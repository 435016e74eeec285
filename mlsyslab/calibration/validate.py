"""Predicted vs measured: how well the serving model reproduces published latencies.

Each shipped measurement (``measurements.json``) is replayed through
:class:`~mlsyslab.solvers.serving.ServingSolver` in both modes. A TTFT point is solved at
``seq_len = input``; an ITL point at the mean context of its generation,
``seq_len = input + output / 2`` (``input`` when no output length is published)::

    error = predicted / measured - 1

Run ``python -m mlsyslab.calibration.validate [--json | --markdown]`` or ``mlsyslab validate``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import Calibration, get, load_measurements

METRICS = ("ttft", "itl")


def context_tokens(point: dict) -> int:
    """Tokens held in the KV-cache when the point's latency is measured (see module doc)."""
    if point["metric"] == "itl" and point.get("output"):
        return int(point["input"] + point["output"] // 2)
    return int(point["input"])


def predict_ms(point: dict, calibration) -> float:
    """The solver's latency (ms) for one measurement point under ``calibration``."""
    from ..solvers.serving import ServingSolver

    r = ServingSolver(efficiency=calibration).solve(
        model=point["model"], hardware=point["hardware"], seq_len=context_tokens(point),
        batch_size=point["batch"], precision=point["precision"], tensor_parallel=point["tp"],
        kv_precision=point.get("kv_precision"))
    return 1e3 * (r.ttft_s if point["metric"] == "ttft" else r.itl_s)


def median_abs_error(rows: list[dict], key: str, metric: str | None = None) -> float:
    """Median of ``|error|`` (a fraction) over ``rows`` (optionally one metric only)."""
    errs = [abs(r[key]) for r in rows if metric is None or r["metric"] == metric]
    return float(np.median(errs)) if errs else float("nan")


def validate(efficiency=("ideal", "calibrated"), points=None) -> dict:
    """Replay every measurement through the solver.

    Parameters
    ----------
    efficiency : str, Calibration or tuple of them
        Modes to compare (default both ``"ideal"`` and ``"calibrated"``).
    points : list of dict, optional
        Measurement points (default: the shipped ``measurements.json``).

    Returns
    -------
    dict
        ``rows``: one dict per point (model, hardware, precision, tp, batch, input, output,
        context, metric, measured_ms, and for each mode ``<mode>_ms`` and ``<mode>_error``
        (a fraction)); ``summary``: ``{mode: {"ttft": median ``|error|``, "itl": ..., "n_ttft": ..,
        "n_itl": ..}}``; ``calibrations``: the constants of each mode.
    """
    modes = [efficiency] if isinstance(efficiency, (str, Calibration)) else list(efficiency)
    cals = [get(m) for m in modes]
    points = load_measurements() if points is None else points
    rows = []
    for p in points:
        row = {k: p.get(k) for k in ("model", "hardware", "precision", "kv_precision", "tp", "batch", "input", "output", "metric")}
        row.update(context=context_tokens(p), measured_ms=float(p["ms"]), source=p["source"], url=p.get("url", ""))
        for cal in cals:
            pred = predict_ms(p, cal)
            row[f"{cal.name}_ms"] = pred
            row[f"{cal.name}_error"] = pred / float(p["ms"]) - 1.0
        rows.append(row)
    summary = {}
    for cal in cals:
        key = f"{cal.name}_error"
        summary[cal.name] = {m: median_abs_error(rows, key, m) for m in METRICS}
        summary[cal.name].update({f"n_{m}": sum(r["metric"] == m for r in rows) for m in METRICS})
    return {"rows": rows, "summary": summary, "calibrations": {c.name: c.to_json() for c in cals}}


# ---------------------------------------------------------------- rendering

def _pct(x: float) -> str:
    return f"{x * 100:+.0f} %"


def format_table(report: dict) -> str:
    """Plain-text table for a terminal."""
    modes = list(report["summary"])
    head = f"{'model':<12} {'hardware':<10} {'prec':<5} {'tp':>2} {'batch':>5} {'ctx':>6} {'metric':<5} {'measured':>9}"
    for m in modes:
        head += f" {m + ' ms':>14} {'err':>6}"
    lines = [head, "-" * len(head)]
    for r in report["rows"]:
        line = (f"{r['model']:<12} {r['hardware']:<10} {r['precision']:<5} {r['tp']:>2} {r['batch']:>5} {r['context']:>6} "
                f"{r['metric']:<5} {r['measured_ms']:>9.2f}")
        for m in modes:
            line += f" {r[m + '_ms']:>14.2f} {_pct(r[m + '_error']):>6}"
        lines.append(line)
    lines.append("")
    for m, s in report["summary"].items():
        lines.append(f"{m:>10}: median |error| TTFT {s['ttft'] * 100:.1f} % (n={s['n_ttft']}), "
                     f"ITL {s['itl'] * 100:.1f} % (n={s['n_itl']})")
    return "\n".join(lines)


def format_markdown_rows(report: dict) -> str:
    """The predicted-vs-measured table in Markdown, with a numbered source list."""
    modes = list(report["summary"])
    sources: dict[str, int] = {}
    out = ["| # | model | hardware | prec | TP | batch | input/output | ctx | metric | measured ms | "
           + " | ".join(f"{m} ms | {m} err" for m in modes) + " | src |",
           "|" + "---|" * (11 + 2 * len(modes))]
    for i, r in enumerate(report["rows"], 1):
        sid = sources.setdefault(r["source"] + "\t" + r["url"], len(sources) + 1)
        io = f"{r['input']}/{r['output']}" if r.get("output") else f"{r['input']}/-"
        cells = [str(i), r["model"], r["hardware"], r["precision"], str(r["tp"]), str(r["batch"]), io, str(r["context"]),
                 r["metric"].upper(), f"{r['measured_ms']:.2f}"]
        for m in modes:
            cells += [f"{r[m + '_ms']:.2f}", _pct(r[m + "_error"])]
        cells.append(f"[{sid}]")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("| mode | median \\|error\\| TTFT | median \\|error\\| ITL |")
    out.append("|---|---|---|")
    for m, s in report["summary"].items():
        out.append(f"| {m} | {s['ttft'] * 100:.1f} % (n={s['n_ttft']}) | {s['itl'] * 100:.1f} % (n={s['n_itl']}) |")
    out.append("")
    out.append("Sources:")
    out.append("")
    for key, sid in sources.items():
        src, url = key.split("\t")
        out.append(f"{sid}. {src}. <{url}>" if url else f"{sid}. {src}.")
    return "\n".join(out)


def format_markdown(report: dict) -> str:
    """The whole ``docs/validation.md`` page (regenerate with ``--markdown``)."""
    from .docs_page import page

    return page(report)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlsyslab.calibration.validate",
                                     description="Compare the serving model with published measurements.")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable report")
    fmt.add_argument("--markdown", action="store_true", help="the docs/validation.md page")
    args = parser.parse_args(argv)
    run(args)
    return 0


def run(args) -> int:
    """Print the report in the format ``args`` asks for (shared with ``mlsyslab validate``)."""
    report = validate()
    if getattr(args, "json", False):
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif getattr(args, "markdown", False):
        sys.stdout.write(format_markdown(report) + "\n")
    else:
        print(format_table(report))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
