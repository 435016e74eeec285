"""Predicted vs measured under load: the load solver against published serving benchmarks.

Each sweep of ``load_measurements.json`` names its publisher, publication, engine, the engine
profile that stands for it (``vllm``, ``vllm-v0``, ``sglang``, ``trtllm``), the configuration
(model, hardware, precision, TP, prompt/output tokens) and how the load was made:

* ``closed``: ``concurrency`` clients in a closed loop;
* ``poisson``: open loop, Poisson arrivals at ``rate`` req/s, ``requests`` requests;
* ``burst``: ``requests`` requests all queued at t = 0 (offline maximum throughput).

Each point is replayed through :class:`~mlsyslab.solvers.load.LoadSolver` (the simulator) and,
for open-loop and burst points, its fast path :meth:`~mlsyslab.solvers.load.LoadSolver.analytic`
(Poisson: the fluid/queueing figures at that rate; burst: ``capacity x output`` tokens/s).
Compared, each with the statistic the source publishes (``stat``):

* ``throughput``: output tokens/s of the server;
* ``ttft``: time to first token (mean or median);
* ``tpot``: per-request (E2E - TTFT) / (output - 1) (mean or median over requests); a source's
  mean ``itl`` is the same figure for fixed lengths and is compared with the mean TPOT;
* ``itl``: median interval between two tokens of a request;
* ``e2e``: request latency (mean or median).

``error = predicted / measured - 1``. A value is *off by more than 2x* when the ratio is
above 2 or below 1/2; latencies of open-loop points flagged ``overloaded`` (the real server
could not keep up) are exempt from that count. Values a sweep marks in ``scored`` as false
are listed but not summarised; a median E2E of variable-length requests is never scored (see
:func:`is_scored`): the replay uses the mean lengths, which give the mean E2E, not the median one.

The engine profile goes to ``LoadSolver(engine=...)`` when the installed solver takes it;
otherwise every point runs on the solver's defaults and the report says so.
Run ``python -m mlsyslab.calibration.load_validate [--json | --markdown]`` or
``mlsyslab validate --load``.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import sys
from pathlib import Path

import numpy as np

PATH = Path(__file__).parent / "load_measurements.json"
METRICS = ("throughput", "ttft", "tpot", "itl", "e2e")
#: median ``|error|`` targets per metric (issue 21)
TARGETS = {"throughput": 0.15, "ttft": 0.25, "tpot": 0.15, "itl": 0.15, "e2e": 0.15}
PREDICTORS = ("simulator", "analytic")
_KEYS = {"throughput": "throughput", "ttft_ms": "ttft", "tpot_ms": "tpot", "itl_ms": "itl", "e2e_ms": "e2e"}


def load_data() -> dict:
    """The whole data file (``about``, ``publications``, ``sweeps``)."""
    return json.loads(PATH.read_text())


def load_sweeps() -> list[dict]:
    """The published sweeps (each with its source and points)."""
    return load_data()["sweeps"]


def engine_support() -> bool:
    """Whether the installed :class:`LoadSolver` takes ``engine=`` (engine profiles)."""
    from ..solvers.load import LoadSolver

    return "engine" in inspect.signature(LoadSolver).parameters


def _solver(efficiency, profile):
    from ..solvers.load import LoadSolver

    if profile and engine_support():
        return LoadSolver(efficiency, engine=profile), profile
    return LoadSolver(efficiency), "default"


def model_spec(name: str):
    """A zoo model, or one of the data file's ``models`` (architectures from the model's config.json,
    for models the zoo does not carry) as a :class:`~mlsyslab.zoo.ModelSpec`."""
    from .. import zoo

    if name in zoo.Models:
        return zoo.Models[name]
    m = dict(load_data()["models"][name])
    src = zoo.Source(m.pop("source"), m.pop("url"))
    return zoo.ModelSpec(name, m.pop("name"), "decoder", src, **m)


@contextlib.contextmanager
def _data_models():
    """The data file's extra models are known to the zoo while the replay runs (the solvers take
    zoo entries), and forgotten afterwards."""
    from .. import zoo

    reg = zoo.Models
    extra = [model_spec(k) for k in load_data().get("models", {}) if k not in reg]
    saved = dict(reg._entries), dict(reg._index)
    try:
        for spec in extra:
            reg._add(spec)
        yield
    finally:
        reg._entries.clear()
        reg._entries.update(saved[0])
        reg._index.clear()
        reg._index.update(saved[1])


def _config(s):
    kw = dict(precision=s["precision"], tensor_parallel=s["tp"], **s.get("scheduler", {}))
    if s.get("kv_precision"):
        kw["kv_precision"] = s["kv_precision"]
    return kw


def _known(fn, kw):
    """The keywords ``fn`` takes (a setting the installed solver does not know yet is left out)."""
    params = inspect.signature(fn).parameters
    return {k: v for k, v in kw.items() if k in params}


def ignored_settings(sweep) -> list[str]:
    """The sweep's stated settings the installed solver cannot take (listed in the report)."""
    from ..solvers.load import LoadSolver

    params = inspect.signature(LoadSolver.solve).parameters
    return [k for k in _config(sweep) if k not in params]


def _n_requests(s, p):
    if p.get("requests"):
        return int(p["requests"])
    if s.get("requests"):
        return int(s["requests"])
    return max(200, 10 * int(p["concurrency"]))


def simulate(sweep: dict, point: dict, efficiency="calibrated", engine=True) -> dict:
    """The simulator's figures for one published point, in the units and statistics it publishes
    (tokens/s, ms). ``engine=False`` runs the solver's defaults instead of the sweep's profile."""
    solver, used = _solver(efficiency, sweep.get("profile") if engine else None)
    # a point may carry its run's per-request lengths (``input_lens``/``output_lens``, as sent); else the means
    kw = dict(input_tokens=point.get("input_lens", point.get("input", sweep["input"])),
              output_tokens=point.get("output_lens", point.get("output", sweep["output"])),
              n_requests=_n_requests(sweep, point), seed=0, **_config(sweep))
    arrival = sweep.get("arrival", "closed")
    if arrival == "closed":
        kw["concurrency"] = int(point["concurrency"])
    elif arrival == "poisson":
        kw["arrival_rate"] = float(point["rate"])
    else:
        kw["arrival_rate"] = math.inf
    r = solver.solve(model_spec(sweep["model"]), sweep["hardware"], **_known(solver.solve, kw))
    raw = r.raw
    tpot = r.requests["tpot"][r.requests["output_tokens"] > 1]
    stat = sweep.get("stat", {})
    mean = {k: stat.get(k) == "mean" for k in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms")}
    return {
        "profile": used,
        "throughput": raw["throughput"],
        "ttft": 1e3 * (raw["ttft_mean"] if mean["ttft_ms"] else raw["ttft_p50"]),
        "tpot": 1e3 * (raw["tpot_mean"] if mean["tpot_ms"] else float(np.median(tpot))),
        "itl": 1e3 * (raw["tpot_mean"] if mean["itl_ms"] else raw["itl_p50"]),
        "e2e": 1e3 * (raw["e2e_mean"] if mean["e2e_ms"] else raw["e2e_p50"]),
    }


def fast_path(sweep: dict, point: dict, efficiency="calibrated", engine=True) -> dict | None:
    """The analytic fast path's figures for a Poisson or burst point (None for a closed loop).
    Its TTFT and E2E are the median or the mean, whichever the source publishes; its mean decode
    interval stands for the mean ITL and the TPOT."""
    arrival = sweep.get("arrival", "closed")
    if arrival == "closed":
        return None
    solver, used = _solver(efficiency, sweep.get("profile") if engine else None)
    rate = float(point["rate"]) if arrival == "poisson" else 1.0
    out_tokens = point.get("output", sweep["output"])
    kw = dict(input_tokens=point.get("input", sweep["input"]), output_tokens=out_tokens, **_config(sweep))
    if arrival == "poisson":  # a finite run, as measured: past capacity the queue builds and drains
        kw["n_requests"] = _n_requests(sweep, point)
    a = solver.analytic(model_spec(sweep["model"]), sweep["hardware"], rate, **_known(solver.analytic, kw))
    if arrival == "burst":
        # the fast path is a steady state: a burst is compared only when it is long enough to be one
        # (at least 4 x the largest batch), not while it is still filling or draining
        if _n_requests(sweep, point) < 4 * float(a["max_batch"]):
            return {"profile": used}
        return {"profile": used, "throughput": float(a["capacity"]) * out_tokens}
    stat = sweep.get("stat", {})
    out = {"profile": used, "throughput": float(np.ravel(a["throughput"])[0])}
    # the fast path gives the median and the mean TTFT and E2E, compared with the statistic the source
    # publishes; its "tpot" is the mean decode interval, which is also the mean ITL and (fixed lengths)
    # the mean and median TPOT
    for metric in ("ttft", "e2e"):
        key = f"{metric}_mean" if stat.get(f"{metric}_ms") == "mean" else f"{metric}_p50"
        out[metric] = 1e3 * float(np.ravel(a[key])[0])
    out["tpot"] = 1e3 * float(np.ravel(a["tpot"])[0])
    out["itl"] = 1e3 * float(np.ravel(a["itl_p50" if stat.get("itl_ms") == "median" else "tpot"])[0])
    return out


def _x(sweep, p):
    arrival = sweep.get("arrival", "closed")
    if arrival == "closed":
        return f"{p['concurrency']} clients"
    if arrival == "poisson":
        return f"{p['rate']:g} req/s"
    return f"burst {p['requests']}"


def validate(efficiency="calibrated", sweeps=None, engine=True) -> dict:
    """Replay every point. Returns ``rows`` (one per point and metric, with both predictors'
    values and errors), ``summary`` (per predictor, group and metric: median and p90 ``|error|``,
    n, values off by more than 2x) and ``engine_profiles`` (whether ``engine=`` was used)."""
    sweeps = load_sweeps() if sweeps is None else sweeps
    with _data_models():
        rows = _replay(sweeps, efficiency, engine)
    return {"rows": rows, "summary": summarize(rows), "engine_profiles": engine and engine_support(),
            "efficiency": efficiency}


def is_scored(sweep: dict, key: str) -> bool:
    """Whether a published figure enters the summaries: the sweep's ``scored`` says so, else every
    figure does except a *median* E2E of variable-length requests replayed at their means (``lengths``
    neither ``fixed`` nor ``per-request``, the published lengths of every request). Such a replay runs
    every request at the mean lengths; E2E is close to linear in the output length, so
    a mean E2E is close to the replay's mean, but a median E2E is set by the median request, which
    for ShareGPT or uniformly drawn lengths is not the mean one."""
    if key in sweep.get("scored", {}):
        return bool(sweep["scored"][key])
    return not (key == "e2e_ms" and sweep.get("lengths", "fixed") not in ("fixed", "per-request")
                and sweep.get("stat", {}).get(key) != "mean")


def _replay(sweeps, efficiency, engine):
    rows = []
    for s in sweeps:
        for p in s["points"]:
            sim = simulate(s, p, efficiency, engine)
            fast = fast_path(s, p, efficiency, engine)
            for key, metric in _KEYS.items():
                if key not in p:
                    continue
                row = {"sweep": s["id"], "publisher": s.get("publisher", ""), "publication": s.get("publication", s["id"]),
                       "split": s.get("split", "tuning"), "engine": s.get("engine", ""), "profile": s.get("profile", ""),
                       "model": s["model"], "hardware": s["hardware"], "precision": s["precision"], "tp": s["tp"],
                       "input": p.get("input", s["input"]), "output": p.get("output", s["output"]), "arrival": s.get("arrival", "closed"), "x": _x(s, p),
                       "metric": metric, "stat": s.get("stat", {}).get(key, "") if metric != "throughput" else "",
                       "measured": float(p[key]), "scored": is_scored(s, key),
                       "exempt_2x": bool(p.get("overloaded")) and metric != "throughput",
                       "simulator_profile": sim["profile"]}
                for name, pred in (("simulator", sim), ("analytic", fast)):
                    v = None if pred is None else pred.get(metric)
                    row[f"{name}_pred"] = v
                    row[f"{name}_error"] = None if v is None else (v / float(p[key]) - 1.0 if math.isfinite(v) else math.inf)
                rows.append(row)
    return rows


def _stats(errs, exempt):
    e = np.asarray(errs, float)
    ratio = 1.0 + e
    off = (ratio > 2.0) | (ratio < 0.5)
    with np.errstate(invalid="ignore"):  # an infinite error (fast path past its capacity) sorts last
        med, p90 = np.median(np.abs(e)), np.percentile(np.abs(e), 90)
    return {"median": float(med) if not np.isnan(med) else math.inf, "p90": float(p90) if not np.isnan(p90) else math.inf,
            "n": int(e.size), "off_2x": int(np.sum(off & ~np.asarray(exempt, bool)))}


def summarize(rows) -> dict:
    """``{predictor: {group: {metric: stats}}}``; groups: ``all``, ``tuning``, ``held-out``, each
    publication and each engine profile (``engine vllm``, ...). ``off_2x`` leaves out the latencies of points flagged ``overloaded``."""
    out = {}
    for pred in PREDICTORS:
        groups: dict = {}
        for r in rows:
            err = r[f"{pred}_error"]
            if err is None or not r["scored"]:
                continue
            for g in ("all", r["split"], r["publication"], f"engine {r.get('profile') or 'default'}"):
                errs, exempt = groups.setdefault(g, {}).setdefault(r["metric"], ([], []))
                errs.append(err)
                exempt.append(r["exempt_2x"])
        out[pred] = {g: {m: _stats(*v) for m, v in by_metric.items()} for g, by_metric in groups.items()}
    return out


# ---------------------------------------------------------------------- reporting

def _cell(st):
    if st is None:
        return "-"
    med = "inf" if not math.isfinite(st["median"]) else f"{st['median'] * 100:.1f} %"
    return f"{med} / {_p90(st['p90'])} (n={st['n']}{', ' + str(st['off_2x']) + ' >2x' if st['off_2x'] else ''})"


def _p90(x):
    return "inf" if not math.isfinite(x) else f"{x * 100:.0f} %"


def publications(report) -> list[str]:
    seen = []
    for r in report["rows"]:
        if r["publication"] not in seen:
            seen.append(r["publication"])
    return seen


def summary_table(report: dict, groups=None) -> str:
    """Per publication (and all, tuning, held-out) and metric: median / p90 ``|error|`` for both predictors."""
    head = "| group | predictor | " + " | ".join(METRICS) + " |"
    out = [head, "|" + "---|" * (2 + len(METRICS))]
    for g in groups or ["all", "tuning", "held-out"] + publications(report):
        for pred in PREDICTORS:
            per = report["summary"][pred].get(g)
            if not per:
                continue
            out.append(f"| {g} | {pred} | " + " | ".join(_cell(per.get(m)) for m in METRICS) + " |")
    return "\n".join(out)


def publication_medians(report: dict, predictor="simulator") -> dict:
    """Per metric: the median over publications of each publication's median ``|error|`` (each source
    counts once, however many points it has)."""
    s = report["summary"][predictor]
    pubs = publications(report)
    out = {}
    for m in METRICS:
        meds = [s[p][m]["median"] for p in pubs if p in s and m in s[p]]
        if meds:
            out[m] = {"median": float(np.median(meds)), "n": len(meds)}
    return out


def targets_table(report: dict) -> str:
    """The issue-21 targets against the simulator's median ``|error|`` over all scored points."""
    out = ["| metric | target (median \\|error\\|) | simulator, all values | simulator, held-out | median of the "
           "publications' medians | met (all values) | values off >2x (not exempt) |",
           "|---|---|---|---|---|---|---|"]
    s = report["summary"]["simulator"]
    per_pub = publication_medians(report)
    for m in METRICS:
        a = s.get("all", {}).get(m)
        h = s.get("held-out", {}).get(m)
        if a is None:
            out.append(f"| {m} | {TARGETS[m] * 100:.0f} % | no scored value | - | - | **not assessed** | - |")
            continue
        met = "yes" if a["median"] <= TARGETS[m] else f"**no** (+{(a['median'] - TARGETS[m]) * 100:.0f} points)"
        out.append(f"| {m} | {TARGETS[m] * 100:.0f} % | {a['median'] * 100:.1f} % (n={a['n']}) | "
                   f"{_med(h)} | {per_pub[m]['median'] * 100:.1f} % ({per_pub[m]['n']} publications) | {met} | {a['off_2x']} |")
    return "\n".join(out)


def _med(st):
    return "-" if st is None else f"{st['median'] * 100:.1f} % (n={st['n']})"


def _err(e):
    if e is None:
        return "-"
    return "inf" if not math.isfinite(e) else f"{e * 100:+.0f} %"


def _val(v):
    if v is None:
        return "-"
    return "inf" if not math.isfinite(v) else f"{v:,.4g}"


def points_table(report: dict, publication: str) -> str:
    out = ["| model | hw | prec | TP | in/out | load | metric | measured | simulator | err | analytic | err |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        if r["publication"] != publication:
            continue
        unit = "tok/s" if r["metric"] == "throughput" else "ms"
        label = r["metric"] + (f" ({r['stat']})" if r["stat"] else "") + ("" if r["scored"] else ", not scored")
        if r["exempt_2x"]:
            label += ", overloaded"
        sp, ap = r["simulator_pred"], r["analytic_pred"]
        out.append(f"| {r['model']} | {r['hardware']} | {r['precision']} | {r['tp']} | {r['input']}/{r['output']} | "
                   f"{r['x']} | {label} | {r['measured']:,.4g} {unit} | {_val(sp)} | {_err(r['simulator_error'])} | "
                   f"{_val(ap)} | {_err(r['analytic_error'])} |")
    return "\n".join(out)


def format_markdown(report: dict) -> str:
    """Summary, targets, then one section per publication (source, how it was run, errors, points)."""
    data = load_data()
    pubs = {p["id"]: p for p in data.get("publications", [])}
    by_pub: dict = {}
    for s in load_sweeps():
        by_pub.setdefault(s.get("publication", s["id"]), []).append(s)
    eng = ("each source's engine profile (`LoadSolver(engine=...)`)" if report["engine_profiles"]
           else "the solver's defaults for every source (the installed `LoadSolver` takes no `engine=` yet)")
    splits = ["| publication | publisher | split | why |", "|---|---|---|---|"]
    for pid in by_pub:
        meta = pubs.get(pid, {})
        splits.append(f"| {pid} | {meta.get('publisher', by_pub[pid][0].get('publisher', ''))} | "
                      f"{meta.get('split', by_pub[pid][0].get('split', 'tuning'))} | {meta.get('split_note', '')} |")
    out = ["\n".join(splits), "", f"Predictors: the simulator (`LoadSolver.solve`) and the analytic fast path (`LoadSolver.analytic`, "
           f"open-loop and burst points only), {report['efficiency']} step times, run with {eng}. Cells: median / p90 "
           "|error| (n values; how many are off by more than 2x).", "", summary_table(report), "",
           "Per engine profile (all publications):", "",
           summary_table(report, sorted(g for g in report["summary"]["simulator"] if g.startswith("engine "))), "",
           "### Targets (issue 21)", "", targets_table(report), ""]
    for pid, sweeps in by_pub.items():
        meta = pubs.get(pid, {})
        s0 = sweeps[0]
        out += [f"### {meta.get('title', s0.get('publisher', pid))}", ""]
        out.append(f"- **Publisher:** {s0.get('publisher', '')}; **split:** {s0.get('split', 'tuning')}"
                   + (f" ({meta['split_note']})" if meta.get("split_note") else ""))
        srcs: dict = {}
        for sw in sweeps:
            urls = srcs.setdefault((sw["source"], sw.get("date", "date not stated")), [])
            if sw["url"] not in urls:
                urls.append(sw["url"])
        out.append("- **Source:** " + "; ".join(f"{a} ({c}): " + ", ".join(f"<{u}>" for u in urls)
                                                for (a, c), urls in srcs.items()))
        engines = sorted({f"{s.get('engine', '')} -> profile `{s.get('profile', 'default')}`" for s in sweeps})
        out.append("- **Engine:** " + "; ".join(engines))
        arrivals = sorted({s.get("arrival", "closed") for s in sweeps})
        out.append(f"- **Measured:** {len(sweeps)} configuration(s), {sum(len(s['points']) for s in sweeps)} point(s); "
                   f"load: {', '.join(arrivals)}; models {', '.join(sorted({s['model'] for s in sweeps}))} on "
                   f"{', '.join(sorted({s['hardware'] for s in sweeps}))}.")
        if meta.get("how"):
            out.append(f"- **How we ran it:** {meta['how']}")
        stated = sorted({f"{k}={v}" for s in sweeps for k, v in {**s.get("scheduler", {}),
                                                                    **({"kv_precision": s["kv_precision"]} if s.get("kv_precision") else {})}.items()})
        if stated:
            out.append("- **Settings the source states, passed to the solver:** " + ", ".join(f"`{x}`" for x in stated))
        ignored = sorted({k for s in sweeps for k in ignored_settings(s)})
        if ignored:
            out.append("- **Not applied** (the installed solver does not take them yet): " + ", ".join(f"`{k}`" for k in ignored))
        out += ["", summary_table(report, [pid]),
                "", "<details><summary>every point</summary>", "", points_table(report, pid), "", "</details>", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mlsyslab.calibration.load_validate",
                                 description="Compare the load solver with published serving benchmarks.")
    fmt = ap.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true", help="the '## Under load' section of docs/validation.md")
    ap.add_argument("--no-engine", action="store_true", help="run every point on the solver's default profile")
    args = ap.parse_args(argv)
    return run(args)


def run(args) -> int:
    """Shared by ``main`` and ``mlsyslab validate --load``."""
    if getattr(args, "markdown", False):
        sys.stdout.write(section() + "\n")
        return 0
    report = validate(engine=not getattr(args, "no_engine", False))
    if getattr(args, "json", False):
        json.dump(report, sys.stdout, indent=1, default=float)
        sys.stdout.write("\n")
    else:
        print(summary_table(report))
        print()
        print(targets_table(report))
    return 0


def section() -> str:
    """The ``## Under load`` section of ``docs/validation.md``."""
    report = validate()
    profiles_note = ""
    if report["engine_profiles"]:
        base = validate(engine=False)
        profiles_note = ("\n\n**Effect of the engine profiles.** The same replay with the solver's default profile for "
                         "every source instead of each source's engine:\n\n"
                         + summary_table(base, ["all", "tuning", "held-out"]).replace("| simulator |", "| simulator, default profile |")
                         .replace("| analytic |", "| analytic, default profile |"))
    return f"""## Under load: the load solver against published serving benchmarks

`mlsyslab.LoadSolver` (continuous batching, paged KV-cache, queueing) and its analytic fast
path replay published serving benchmarks: closed loops of clients, open-loop Poisson
arrivals, and bursts of queued requests, on several engines (vLLM, SGLang, TensorRT-LLM) and
publishers. Every point, with its source, is in `mlsyslab/calibration/load_measurements.json`;
regenerate this section with `python -m mlsyslab.calibration.load_validate --markdown`
(or the table alone with `mlsyslab validate --load`). Errors are `predicted / measured - 1`.

**Held out by publication.** Each publication is either *tuning* (its points were available
to whoever changed the load model's scheduler or step costs, and may have been looked at
while doing so) or *held-out* (added after the model was frozen for this round, never used to
choose a constant or a default). The `split` field of each sweep says which; the summary
gives both groups.

{format_markdown(report)}{profiles_note}

### What misses, and why

- **The load model's own constants.** Five constants are fitted to the tuning publications only
  (`python -m mlsyslab.calibration.load_fit --write`, `load_fitted.json`; see the load solver's
  page): a decode step's fixed time per layer (70 us, against the serving fit's 82 us from single
  requests), the most sequences paying the per-sequence overhead (32), a request overhead from
  client to scheduler behind a Python front end (10 ms for vLLM and SGLang; none for
  TensorRT-LLM, whose figures come through its native executor, nor for offline runs that call
  the engine in-process), the share of the memory bandwidth decode attention reaches on the
  KV-cache (0.9 of the weights' streaming rate) and the host time a Python scheduler spends per
  running sequence per decode step when it does not overlap the GPU (30 us; a tenth of it with
  vLLM 0.6's 10-step scheduling). Leave-one-publication-out, each tuning publication is predicted
  0-4 points worse than with all five; the held-out rows never entered the fit. Charging the
  request overhead by front end (the previous fit charged it to every
  engine, and TensorRT-LLM's 72 tuning TTFTs rejected it) moved the TTFT on all values from
  21.8 % to 17.2 % at the median (held out: 56.9 to 53.7 %; DataCrunch 17.2 to 12.1 %,
  S. Deshmukh 21.1 to 2.8 %); with the host time fitted since, the pooled TTFT reads 18.5 %
  (the tuning TTFTs are unchanged at 9.3 %).
- **Host time of a Python scheduler.** Only the SGLang team's tuning runs (SGLang 0.3 and vLLM 0.6,
  neither overlapping its scheduler with the GPU) inform the host time; their large bursts were
  predicted 27-38 % fast without it. The held-out sources with such schedulers moved with it, none
  of them fitted: Argonne's vLLM batches 16.3 -> 8.6 % (E2E), S. Deshmukh's vLLM 0.8.3 TPOT, ITL and
  mean E2E 16.1 / 17.1 / 15.5 -> 13.8 / 15.0 / 13.9 %, dstack's vLLM on 8x H100 TPOT 11.3 -> 7.2 %
  (ITL 22.4 -> 24.1 %); the pooled E2E on all values 15.8 -> 9.6 %, held-out ITL 30.4 -> 28.8 %.
  Engines that overlap (SGLang from 0.4, vLLM V1 by default, TensorRT-LLM) are unchanged: DataCrunch
  and TensorRT-LLM v1.0 read the same as before.

- **How E2E is scored.** The replay runs every request at the published mean lengths (unless the
  source gives each request's own lengths). E2E grows about linearly with the output length, and
  in a continuously batched server its mean barely depends on how the lengths spread, so a
  published *mean* E2E of a variable-length workload is compared with the replay's mean E2E; a
  *median* E2E of such a workload is set by the median request (ShareGPT's median output is
  about 120 tokens against a mean of 189) and is listed but never scored (`is_scored`).
  Fixed-length sources and per-request replays are scored whichever statistic they publish.
  Scored: GPUStack's mean latency per request (4 engines and 1-8 clients, Qwen3-8B), DataCrunch's
  mean E2E (SGLang, 70B and 405B on H200, Poisson and bursts), the vLLM CI batch latency (8
  requests of 32 / 128 tokens on H200), S. Deshmukh's mean E2E (vLLM 0.8.3, replayed with each
  request's own lengths) and Argonne's batch latencies (vLLM on H100, fixed lengths). The SGLang
  team's and DataCrunch's README medians stay unscored. The analytic fast path gives the mean
  TTFT and E2E beside the medians (the mean of its fluid cohorts past capacity, Erlang C's mean
  seat wait below): its E2E is scored on the Poisson points with a published mean (a burst gets
  a throughput only).
- **Overlap scheduling.** SGLang (from v0.4.0), vLLM (async scheduling, the default since
  PR #27614) and TensorRT-LLM's PyTorch backend form the next step while the GPU runs the current
  one, so a request that arrives mid-step starts one step later (the profiles' `overlap`, cited in
  docs/solvers/load.md). The engine versions that predate it run without (SGLang 0.3, TensorRT-LLM
  0.14 and NIM's C++ runtime, vLLM 0.11 and the RTX 4090 blog's 2025 vLLM: `overlap_scheduling`
  false in their sweeps), so the tuning rows are unchanged. Chosen from the engines' code and
  docs, not fitted: it moved the held-out DataCrunch TTFT from 41 % to 17 % at the median (low
  load: -30 to -50 % before, -10 to -24 % now).
- **DataCrunch: SGLang on H200 (held out).** Throughput and mean E2E are within 25 % on most
  points. At low load the 70B (TP 4) decodes a little faster than modelled (median ITL 13.6-19 ms
  measured against 16.5-20.7 ms predicted, +6 to +26 %; the 405B at TP 8 within 4 %), and its
  median TTFT is within 12 % at the median with the overlap scheduler's extra step and the
  Python front end's 10 ms. The 2048-token-prompt bursts and the 2000-prompt ShareGPT burst are predicted 29-55 %
  too fast on throughput. Points where the measured output rate fell below 90 % of rate x mean
  output are flagged overloaded.
- **TTFT at low load through an HTTP server.** GPUStack's closed loops of 1-8 clients on one
  H100 (Qwen3-8B) measure 60-65 ms on vLLM 0.11 where the modelled GPU work plus the Python front
  end's fitted 10 ms is 20-29 ms (-52 to -65 %), while SGLang on the same page measures 27-33 ms
  (-24 % and +32 %) and TensorRT-LLM 45 ms (-57 %, no front end charged): the front ends differ by
  version and serving path more than one constant per engine can say. The RTX 4090 blog's vLLM is
  within 10 % at 4 and 8 clients and 36-84 % low at 16-48, where its measured TTFT grows faster
  than the modelled queue. The same sources' throughput and TPOT are within 25 %.
- **vLLM 0.6 multi-step scheduling.** With `--num-scheduler-steps 10` a new prompt waits for
  the current 10-step window, tripling the measured TTFT (100-200 ms against 30-50 ms for
  SGLang on the same load). The data carries `num_scheduler_steps=10`; it is applied when the
  installed solver takes it (the report lists the settings it had to leave out).
- **dstack: vLLM 0.6.3 on 8x MI300X, Llama 3.1 405B bf16 (held out).** The measured stack runs
  far below the hardware: one request decodes at 50 ms per token (the bf16 weights need ~21 ms
  of HBM time per step), and 64 requests at 238 ms per step, i.e. the GEMMs reach about 2 % of
  the MI300X's bf16 peak; a 10,000-token prompt takes 12.3 s to prefill (about 7 % of peak). The
  publisher notes the same vLLM build filled 95 % of VRAM and lost to TGI by a wide margin on the
  same machine. The model prices each engine at calibrated (NVIDIA-fitted) efficiencies and does
  not capture an untuned software stack: these rows are 3-6x too fast on throughput. They stay
  in the held-out set, scored.
- **dstack: 8x H100, Llama 3.1 405B FP8 with vLLM (held out).** These runs load Meta's own FP8
  checkpoint (meta-llama/Llama-3.1-405B-FP8), which quantises only the FFN of layers 1-124: the
  self-attention, the first and last layers, the embeddings and the LM head stay bf16 (Llama 3
  paper, arXiv:2407.21783, section 6.2; HF's conversion script lists exactly those modules as not
  converted). Since this round the sweeps pass that layout (`quantized="ffn"`, a keyword of both
  solvers): 81 B of the 406 B parameters in bf16, 60.9 GB of weights per GPU instead of 50.7 GB,
  about half the KV pool. It was added after this held-out source's errors had been seen (the
  previous round named the checkpoint as their likely cause); it is a fact of the checkpoint the
  source names, not a fitted constant. Effect: throughput 35 -> 28 % at the median and no value
  off by 2x (two were); the offline bursts of 128/2048 tokens still saturate later than measured
  (1300 tok/s from 128 requests; predicted +75 % at 128 and +85 % at 256, from +125 %). The
  latencies got worse (median TTFT 186 -> 289 %, TPOT 9 -> 11 %, ITL 18 -> 30 %): every one of them
  is from an overloaded run, where vLLM V0 admits prompts and preempts by recompute while the
  model queues them, and the bf16 attention makes each modelled decode step slower.
- **KV-starved deployments.** Where the weights nearly fill the GPU (Llama 3 70B FP8 on one H100
  in the TensorRT-LLM v0.14 table; Qwen3-32B bf16 on one H100 at GPUStack) the predicted
  throughput is still 1.7-2.2x the measured one (v0.14 1000/1000: 883 against 410 tok/s), although
  the calibrated pools now leave out the activation peak each engine profiles at start-up
  (`load_engines.runtime_bytes`). Not subtracted: the 16-bit embeddings and LM head FP8
  checkpoints keep (`quantized="linear"` prices them, but the tuning data is fitted without
  it), the CUDA context, NCCL and CUDA-graph pools, and the batch limit trtllm-bench
  derives per ISL/OSL from its own heuristic. The later TensorRT-LLM tables (v1.0) publish 70B on
  H100 at TP 2 only.
- **TensorRT-LLM v1.0 (held out).** Its 60 H100/H200 FP8 throughput points (Llama 3.1 8B, 3.3 70B,
  3.1 405B, TP 1-8; the PyTorch backend) are within 5.8 % at the median (p90 15 %): 8B on one
  H100 at 128/128, the figure issue 21 quotes, 28.3 k tok/s measured, 27.9 k predicted. The 405B
  rows are the worst (predicted slow at 128/128 and 2048/128). With full-speed KV reads (before
  the tuning publications chose a 0.9 share this round) this table was at 4.3 %; whether the
  PyTorch backend's attention reads the KV-cache faster than the 0.14 engines' is not known here.
- **Two publishers added this round (held out).** S. Karim's trtllm-bench sweep (TensorRT-LLM
  0.16.0, Llama 3.1 70B FP8 on 8x H100, 63 fixed-length bursts, 128-16384 tokens in and out) is
  within 13.6 % at the median (p90 22 %, none off by 2x), with a pattern: short outputs are
  predicted 10-20 % slow (prefill-bound bursts run faster than the calibrated prefill) and outputs
  of 4096-16384 tokens 15-50 % fast (decode with long contexts at large batch costs more than the
  modelled KV reads). S. Deshmukh's vLLM 0.8.3 runs (Llama 3.3 70B bf16 on 8x A100 40GB, 200
  ShareGPT prompts at 1, 4, 16 req/s and at once) are replayed with each run's own per-request
  lengths, in the order they were sent (`lengths: per-request`), and with the prefix cache the
  server kept between runs (a derived setting, explained in the sweep's notes): decode is about
  16 % faster than measured on every point (TPOT, ITL and mean E2E -14 to -24 %), TTFT 19-40 %
  short, throughput within 22 %.
- **Argonne's LLM-Inference-Bench (held out).** 220 vLLM runs on H100 (fp16; Llama 3 8B and 70B,
  Llama 2 7B and 70B, Mistral 7B; TP 1-4; one batch of 1-64 requests of 128-2048 tokens in and
  out, the mean of 30 timed batches), scored on E2E (the batch latency; the table's throughput
  is the same measurement and is listed unscored): 8.6 % at the median (16.3 % before vLLM V0's
  host time per sequence was modelled), predicted too fast (signed median -14 % at batch 1, -6 to
  -8 % at 16-32, -15 % at 64). The large models at TP 4 and the small ones at TP 1 are within 2-4 %;
  the 7-8B models split over 2 or 4 GPUs run 14-18 % slower than modelled (a TP step of a small
  model costs more than its all-reduces are priced), and Mistral 7B at batch 32-64 takes twice
  Llama 3 8B's time (4 values off by more than 2x; a sliding-window code path in that vLLM is the
  likely cause, not confirmed). Without this source the pooled E2E median is 12.2 %.
- **GPUStack Qwen3-32B on H100 (held out).** Every burst of this page runs about 2x slower than
  predicted, on all three engines and on every length mix, prefill-heavy ones included (128 in /
  4 out: 26 % of the bf16 peak measured). The page says "NVIDIA H100 GPUs" without the variant
  or the count and serves through the chat endpoint; one H100 SXM is assumed. The Qwen3-8B page of
  the same lab (one H100 SXM, stated) is within 25 % on throughput and TPOT, so the gap is
  specific to that page's setup or to large prefill-bound bursts on a nearly full GPU (65 GB of
  weights on 80 GB), which the profiles' memory rules may overestimate.
"""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
