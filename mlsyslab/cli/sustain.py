"""``mlsyslab sustain``: energy, carbon and water of running devices for a while, on one grid or several."""

from __future__ import annotations

from .tables import emit_json, fmt_number, jsonable, table


def register(subparsers) -> None:
    p = subparsers.add_parser("sustain", help="energy, carbon and water of a job, compared across grids",
                              description="Energy = devices x power x utilization x hours x PUE; carbon = energy "
                                          "x grid intensity (mlsyslab.SustainabilitySolver).")
    p.add_argument("--hardware", required=True, help="zoo device, e.g. H100")
    p.add_argument("--gpus", type=int, default=1, help="devices (default 1)")
    p.add_argument("--hours", type=float, required=True, help="duration of the job in hours")
    p.add_argument("--utilization", type=float, default=1.0, help="average utilization in [0, 1] (default 1)")
    p.add_argument("--grid", action="append", default=None,
                   help="grid region (repeat, or comma-separate, to compare; default US_Average)")
    p.add_argument("--pue", type=float, default=None, help="power usage effectiveness (default: the datacenter's)")
    p.add_argument("--datacenter", default=None, help="a datacenter of mlsyslab.Infra.Datacenters")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _value(result, name, unit):
    try:
        v = getattr(result, name)
    except AttributeError:
        return None
    return None if v is None else float(v.to(unit).magnitude)


def run(args) -> int:
    from ..solvers.sustainability import SustainabilitySolver
    from ..units import quantity

    grids = [g.strip() for item in (args.grid or ["US_Average"]) for g in item.split(",") if g.strip()]
    out = []
    for g in grids:
        r = SustainabilitySolver().solve(args.hardware, n_devices=args.gpus, duration=quantity(args.hours, "h"),
                                         utilization=args.utilization, grid=g, pue=args.pue, datacenter=args.datacenter)
        out.append((g, r))
    if args.json:
        emit_json([{"grid": g, **jsonable(r.to_dict())} for g, r in out])
        return 0
    print(f"{args.gpus} x {args.hardware} for {args.hours:g} h at {args.utilization:.0%} utilization")
    rows = []
    for g, r in out:
        carbon = _value(r, "operational_carbon", "kgCO2e")
        carbon = _value(r, "carbon", "kgCO2e") if carbon is None else carbon
        rows.append([g, fmt_number(_value(r, "energy", "kWh")), fmt_number(carbon), fmt_number(_value(r, "water", "L"))])
    print(table(rows, ["grid", "energy [kWh]", "carbon [kgCO2e]", "water [L]"], "lrrr"))
    return 0
