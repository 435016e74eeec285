"""Predicted vs measured under load: the load simulator against published concurrency sweeps.

Each point of ``load_measurements.json`` (a closed loop of ``concurrency`` clients, fixed
prompt and output lengths, each point with its source) is replayed through
:class:`~mlsyslab.solvers.load.LoadSolver` with the scheduler's defaults (vLLM's: 16-token
blocks, 256 sequences, 8192-token budget, 90 % of memory, no chunked prefill). Compared:

* ``throughput``: output tokens/s of the server;
* ``ttft``: the published statistic (mean or median) of time to first token;
* ``itl``: the published mean of each request's (E2E - TTFT) / (output - 1), i.e. the
  simulator's ``tpot_mean`` (or the median step interval when the source gives a median).

A sweep may carry ``"scheduler": {...}`` (LoadSolver keyword arguments) when its source
states the engine's settings; none of the shipped ones does.

``error = predicted / measured - 1``. Run ``python -m mlsyslab.calibration.load_validate [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

PATH = Path(__file__).parent / "load_measurements.json"
METRICS = ("throughput", "ttft", "itl")


def load_sweeps() -> list[dict]:
    """The published sweeps (each with its source and points)."""
    return json.loads(PATH.read_text())["sweeps"]


def predict(sweep: dict, point: dict, efficiency="calibrated") -> dict:
    """The simulator's throughput (tokens/s), TTFT and ITL (ms) for one published point."""
    from ..solvers.load import LoadSolver

    c = int(point["concurrency"])
    n = sweep.get("requests") or max(200, 10 * c)
    r = LoadSolver(efficiency).solve(sweep["model"], sweep["hardware"], concurrency=c, input_tokens=sweep["input"],
                                     output_tokens=sweep["output"], precision=sweep["precision"],
                                     tensor_parallel=sweep["tp"], n_requests=n, seed=0, **sweep.get("scheduler", {}))
    stat = sweep.get("stat", {})
    raw = r.raw
    return {
        "throughput": raw["throughput"],
        "ttft": 1e3 * (raw["ttft_mean"] if stat.get("ttft_ms") == "mean" else raw["ttft_p50"]),
        "itl": 1e3 * (raw["tpot_mean"] if stat.get("itl_ms", "mean") == "mean" else raw["itl_p50"]),
    }


def validate(efficiency=("calibrated",), sweeps=None) -> dict:
    """Replay every point. Returns ``rows`` (one per point and metric) and ``summary``
    (per mode and metric: median of the absolute errors, and n)."""
    modes = [efficiency] if isinstance(efficiency, str) else list(efficiency)
    sweeps = load_sweeps() if sweeps is None else sweeps
    rows = []
    for s in sweeps:
        for p in s["points"]:
            preds = {m: predict(s, p, m) for m in modes}
            for metric, key in (("throughput", "throughput"), ("ttft", "ttft_ms"), ("itl", "itl_ms")):
                if key not in p:
                    continue
                row = {"sweep": s["id"], "source": s["source"], "url": s["url"], "table": s["table"],
                       "model": s["model"], "hardware": s["hardware"], "precision": s["precision"], "tp": s["tp"],
                       "input": s["input"], "output": s["output"], "concurrency": p["concurrency"], "metric": metric,
                       "stat": s.get("stat", {}).get(key, "") if metric != "throughput" else "",
                       "measured": float(p[key])}
                for m in modes:
                    row[f"{m}_pred"] = preds[m][metric]
                    row[f"{m}_error"] = preds[m][metric] / float(p[key]) - 1.0
                rows.append(row)
    summary = {}
    for m in modes:
        summary[m] = {}
        for metric in METRICS:
            errs = [abs(r[f"{m}_error"]) for r in rows if r["metric"] == metric]
            summary[m][metric] = float(np.median(errs)) if errs else float("nan")
            summary[m][f"n_{metric}"] = len(errs)
    return {"rows": rows, "summary": summary}


def _unit(metric):
    return "tok/s" if metric == "throughput" else "ms"


def format_markdown(report: dict) -> str:
    """The load section of ``docs/validation.md``."""
    modes = list(report["summary"])
    out = ["| mode | median \\|error\\| throughput | median \\|error\\| TTFT | median \\|error\\| ITL |", "|---|---|---|---|"]
    for m, s in report["summary"].items():
        out.append(f"| {m} | {s['throughput'] * 100:.1f} % (n={s['n_throughput']}) | {s['ttft'] * 100:.1f} % "
                   f"(n={s['n_ttft']}) | {s['itl'] * 100:.1f} % (n={s['n_itl']}) |")
    out += ["", "| # | model | hardware | prec | TP | in/out | clients | metric | measured | "
            + " | ".join(f"{m} | {m} err" for m in modes) + " | src |", "|" + "---|" * (10 + 2 * len(modes))]
    sources: dict = {}
    for i, r in enumerate(report["rows"], 1):
        sid = sources.setdefault((r["source"], r["table"], r["url"]), len(sources) + 1)
        label = r["metric"].upper() if r["metric"] != "throughput" else "throughput"
        if r["stat"]:
            label += f" ({r['stat']})"
        cells = [f"load-{i}", r["model"], r["hardware"], r["precision"], str(r["tp"]), f"{r['input']}/{r['output']}",
                 str(r["concurrency"]), label, f"{r['measured']:,.4g} {_unit(r['metric'])}"]
        for m in modes:
            cells += [f"{r[m + '_pred']:,.4g}", f"{r[m + '_error'] * 100:+.0f} %"]
        cells.append(f"[L{sid}]")
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Sources:", ""]
    for (src, table, url), sid in sources.items():
        out.append(f"- [L{sid}] {src}; {table}. <{url}>")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mlsyslab.calibration.load_validate",
                                 description="Compare the load simulator with published concurrency sweeps.")
    fmt = ap.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    if args.json:
        json.dump(validate(("ideal", "calibrated")), sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif args.markdown:
        print(section())
    else:
        print(format_markdown(validate(("ideal", "calibrated"))))
    return 0



def section() -> str:
    """The ``## Under load`` section of ``docs/validation.md`` (summary, every point, sources, limits)."""
    report = validate(("ideal", "calibrated"))
    s = report["summary"]["calibrated"]
    sweeps = load_sweeps()
    chunked = [dict(sw, scheduler={"chunked_prefill": True}) for sw in sweeps]
    alt = validate(("calibrated",), chunked)["summary"]["calibrated"]

    def pct(x):
        return f"{x * 100:.0f} %"

    return f"""## Under load: the load simulator against published concurrency sweeps

`mlsyslab.LoadSolver` (continuous batching, paged KV-cache, queueing) replays each published
point below: a closed loop of `clients` concurrent requests with fixed prompt and output
lengths, on the calibrated step times above, with the scheduler's defaults (vLLM's: 16-token
blocks, at most 256 sequences, 8192 tokens per step, 90 % of memory, no chunked prefill). No
constant was fitted to these points. Regenerate with
`python -m mlsyslab.calibration.load_validate --markdown`; the data, each point with its
source, is `mlsyslab/calibration/load_measurements.json`.

Aim: median |error| <= 20 % on throughput and p50 latencies. Met for throughput
({pct(s['throughput'])}) and ITL ({pct(s['itl'])}); **not met for TTFT ({pct(s['ttft'])})**.

{format_markdown(report)}

What the TTFT misses, and why:

- **Scheduler policy sets TTFT under load.** The simulator's default (vLLM v0) runs each
  admitted prompt in a prefill-only step; TensorRT-LLM (NIM) and vLLM V1 mix prompt chunks
  into decode steps. With `chunked_prefill=True` for both sources the medians become
  throughput {pct(alt['throughput'])}, TTFT {pct(alt['ttft'])}, ITL {pct(alt['itl'])}: TTFT of the NIM sweep improves
  at 25-50 clients, the decode steps that carry prompt chunks then make ITL worse, and
  neither source states its scheduler, so the defaults are kept.
- **Queueing in the client or the HTTP server.** The RTX 4090 sweep's median TTFT grows
  from 97 ms to 840 ms between 16 and 48 clients while its throughput keeps rising; the
  simulator's GPU is far from its KV or batch limit there, so it predicts little queueing. The
  measured figures include tokenisation, HTTP and the benchmark client, which the model does not.
- **Closed-loop start.** The clients' first requests are spread over one lone request's
  duration (a steady loop, not one synchronised burst); real benchmarks start with a burst
  and desynchronise through timing noise the model does not have.
- **Coverage.** Two sources, one NVIDIA datacenter and one consumer GPU; no published QPS
  (open-loop Poisson) sweep with its full configuration was found in the sources searched,
  so the open-loop mode is checked against queueing laws (tests/test_load.py) rather than
  against measurements.
"""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
