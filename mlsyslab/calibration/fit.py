"""Fit the calibration constants to measured latencies (numpy only, no scipy).

For every point the ideal solver gives the pieces of the phase time, and the calibrated
prediction is rebuilt from them without re-running the solver::

    t = max(t_compute / eta_c[prec], t_memory / eta_m) + t_comm_bw / eta_net
        + n_collectives x link_latency + L x overhead_phase (+ L x B x token_overhead, decode)

(the same equation :mod:`mlsyslab.solvers.serving_physics` evaluates; a check at the end of
:func:`fit` confirms it). The loss is the mean ``|ln(predicted / measured)|`` taken per metric and
averaged over TTFT and ITL, so the (more numerous) ITL points do not drown the TTFT ones.
Minimisation is a coordinate search in log-space with shrinking steps, inside the bounds
efficiencies in (0, 1] and overheads >= 0.

Refit and rewrite ``fitted.json``: ``python -m mlsyslab.calibration.fit --write``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import date

import numpy as np

from . import FITTED_PATH, Calibration, load_measurements

#: fitted constants, their bounds and starting values
PARAMS = {
    "eta_compute_16": (1e-3, 1.0, 0.6),
    "eta_compute_8": (1e-3, 1.0, 0.5),
    "eta_memory": (1e-3, 1.0, 0.7),
    "eta_network": (1e-3, 1.0, 0.5),
    "layer_overhead_prefill_s": (0.0, 2e-3, 2e-5),
    "layer_overhead_decode_s": (0.0, 2e-3, 2e-5),
    "token_overhead_decode_s": (0.0, 1e-4, 1e-6),
}
#: no published point is compute-bound at fp4/int4, so eta_compute_4 follows eta_compute_8
TIED = {"eta_compute_4": "eta_compute_8"}
METRICS = ("ttft", "itl")


@dataclass
class Design:
    """Per-point pieces of the ideal prediction (arrays, seconds), built once per point set."""

    metric: np.ndarray  # "ttft" | "itl"
    prec_class: np.ndarray  # "16" | "8" | "4": which eta_compute applies
    t_compute: np.ndarray
    t_memory: np.ndarray
    t_comm_bw: np.ndarray  # all-reduce time at 100 % of link bandwidth, no latency
    n_coll_latency: np.ndarray  # number of collectives x the device's link latency (s)
    layers: np.ndarray
    batch: np.ndarray
    measured: np.ndarray  # seconds

    def predict(self, c: dict) -> np.ndarray:
        eta_c = np.select([self.prec_class == "8", self.prec_class == "4"],
                          [c["eta_compute_8"], c["eta_compute_4"]], c["eta_compute_16"])
        ovh = np.where(self.metric == "ttft", c["layer_overhead_prefill_s"],
                       c["layer_overhead_decode_s"] + self.batch * c["token_overhead_decode_s"])
        lat = self.n_coll_latency if c.get("link_latency", True) else 0.0
        return (np.maximum(self.t_compute / eta_c, self.t_memory / c["eta_memory"])
                + self.t_comm_bw / c["eta_network"] + lat + self.layers * ovh)


def precision_class(compute_precision: str) -> str:
    """Which compute efficiency applies (as :meth:`Calibration.eta_compute`): "16", "8" or "4"."""
    return {"fp8": "8", "int8": "8", "fp4": "4", "int4": "4"}.get(compute_precision, "16")


def design(points: list[dict]) -> Design:
    """Decompose every point with the ideal solver (see module doc)."""
    from ..solvers.serving import ServingSolver
    from .validate import context_tokens

    solver = ServingSolver(efficiency="ideal")
    cols = {k: [] for k in ("metric", "prec_class", "t_compute", "t_memory", "t_comm_bw", "n_coll_latency", "layers", "batch", "measured")}
    for p in points:
        r = solver.solve(model=p["model"], hardware=p["hardware"], seq_len=context_tokens(p), batch_size=p["batch"],
                         precision=p["precision"], tensor_parallel=p["tp"], kv_precision=p.get("kv_precision"))
        phase = "pre" if p["metric"] == "ttft" else "dec"
        cols["metric"].append(p["metric"])
        cols["prec_class"].append(precision_class(r.compute_precision))
        cols["t_compute"].append(r.raw[f"t_{phase}_compute"])
        cols["t_memory"].append(r.raw[f"t_{phase}_memory"])
        cols["t_comm_bw"].append(r.raw[f"t_{phase}_comm"])
        layers = r.model.layers
        cols["n_coll_latency"].append(2 * layers * r.hardware.interconnect_latency_s if r.tensor_parallel > 1 else 0.0)
        cols["layers"].append(layers)
        cols["batch"].append(float(p["batch"]))
        cols["measured"].append(float(p["ms"]) * 1e-3)
    return Design(**{k: np.asarray(v) for k, v in cols.items()})


def loss(d: Design, c: dict) -> float:
    """Mean over metrics of the mean ``|ln(predicted / measured)|``."""
    err = np.abs(np.log(d.predict(c) / d.measured))
    per_metric = [err[d.metric == m].mean() for m in METRICS if (d.metric == m).any()]
    return float(np.mean(per_metric))


def _with_ties(c: dict) -> dict:
    c = dict(c)
    for tied, to in TIED.items():
        c[tied] = c[to]
    return c


def _minimise(d: Design, start: dict, free: tuple, rounds: int = 60) -> dict:
    """Coordinate search: try each free constant up/down by a factor; shrink when stuck."""
    c = _with_ties(start)
    best = loss(d, c)
    step = 1.0  # ln-factor (e ~ 2.7x) at first
    for _ in range(rounds):
        improved = False
        for name in free:
            lo, hi, _ = PARAMS[name]
            for direction in (+1, -1):
                while True:
                    cur = c[name]
                    if lo == 0.0:  # an overhead: log-steps, and a jump to exactly 0 once it is negligible
                        tiny = 1e-3 * PARAMS[name][2]
                        if direction < 0 and cur < tiny:
                            trial = 0.0
                        else:
                            trial = max(cur, tiny) * np.exp(direction * step)
                    else:
                        trial = cur * np.exp(direction * step)
                    trial = float(min(max(trial, lo), hi))
                    if trial == cur:
                        break
                    cand = _with_ties({**c, name: trial})
                    val = loss(d, cand)
                    if val < best - 1e-12 or (trial == 0.0 and val <= best + 1e-12):
                        c, best, improved = cand, val, True
                    else:
                        break
        if not improved:
            step /= 2.0
            if step < 1e-4:
                break
    return c


def fit(points=None, *, free=tuple(PARAMS), start: Calibration | None = None, name: str = "calibrated") -> Calibration:
    """Constants minimising the loss over ``points`` (default: the shipped measurements).

    Parameters
    ----------
    points : list of dict, optional
        Measurement points (schema of ``measurements.json``).
    free : tuple of str
        Constants to fit (others keep the value of ``start``).
    start : Calibration, optional
        Starting values (default: the ``PARAMS`` starting values, link latency on).

    Returns
    -------
    Calibration
        With ``fit`` = {date, n_points, loss, median ``|error|`` per metric}.
    """
    points = load_measurements() if points is None else points
    d = design(points)
    init = {k: v[2] for k, v in PARAMS.items()}
    if start is not None:
        init.update({k: getattr(start, k) for k in PARAMS})
    init["link_latency"] = True if start is None else start.link_latency
    # the loss is piecewise (an L1 of logs) and flat in places: start from three points, keep the best
    starts = [init] + [{**init, **{k: (min(init[k] * f_eta, 1.0) if k.startswith("eta") else init[k] * f_ovh)
                                   for k in free}} for f_eta, f_ovh in ((0.6, 5.0), (1.4, 0.2))]
    c = min((_minimise(d, s, tuple(free)) for s in starts), key=lambda x: loss(d, x))
    c.update({k: float(f"{c[k]:.4g}") for k in (*PARAMS, *TIED)})  # what fitted.json stores
    err = d.predict(c) / d.measured - 1.0
    stats = {"date": date.today().isoformat(), "n_points": len(points),
             "n_ttft": int((d.metric == "ttft").sum()), "n_itl": int((d.metric == "itl").sum()),
             "loss_mean_abs_log": round(loss(d, c), 5)}
    for m in METRICS:
        if (d.metric == m).any():
            stats[f"median_abs_error_{m}"] = round(float(np.median(np.abs(err[d.metric == m]))), 4)
    consts = {k: c[k] for k in (*PARAMS, *TIED)}
    notes = (f"fitted by mlsyslab.calibration.fit to {len(points)} published points (measurements.json); "
             "eta_compute_4 is tied to eta_compute_8 (no published point is compute-bound at 4 bits)")
    return Calibration(name=name, link_latency=bool(c["link_latency"]), fit=stats, notes=notes, **consts)


def cross_validate(points=None, by: str = "source") -> dict:
    """Hold out one group at a time (``by="source"``: a whole publication; ``"point"``: leave-one-out).

    Returns median ``|error|`` per metric of the held-out predictions, and the per-point errors.
    """
    points = load_measurements() if points is None else points
    keys = [p["source"] if by == "source" else i for i, p in enumerate(points)]
    held = np.full(len(points), np.nan)
    for g in dict.fromkeys(keys):
        train = [p for p, k in zip(points, keys) if k != g]
        test_idx = [i for i, k in enumerate(keys) if k == g]
        cal = fit(train)
        d = design([points[i] for i in test_idx])
        held[test_idx] = d.predict(cal.to_json()) / d.measured - 1.0
    metric = np.array([p["metric"] for p in points])
    return {"by": by, "errors": held.tolist(),
            **{f"median_abs_error_{m}": float(np.median(np.abs(held[metric == m]))) for m in METRICS if (metric == m).any()}}


def write(cal: Calibration, path=FITTED_PATH) -> None:
    """Store ``cal`` as the shipped calibration (``fitted.json``)."""
    data = cal.serving_json()
    path.write_text(json.dumps(data, indent=2) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlsyslab.calibration.fit", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite fitted.json with the new constants")
    parser.add_argument("--cv", choices=("both", "source", "point", "none"), default="both",
                        help="also report held-out errors: leave one source out, leave one point out (default both)")
    args = parser.parse_args(argv)
    points = load_measurements()
    cal = fit(points)
    if args.cv != "none":
        for by in (("source", "point") if args.cv == "both" else (args.cv,)):
            cv = cross_validate(points, by=by)
            cal.fit.update({f"holdout_{by}_median_abs_error_{m}": round(cv[f"median_abs_error_{m}"], 4) for m in METRICS})
    print(json.dumps(cal.to_json(), indent=2))
    if args.write:
        write(cal)
        print(f"wrote {FITTED_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
