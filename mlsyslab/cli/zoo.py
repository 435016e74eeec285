"""``mlsyslab zoo``: list the hardware, models, systems and grids of the zoo, with units and sources."""

from __future__ import annotations

from .tables import emit_json, table

WHAT = ("hardware", "models", "systems", "grids")


def register(subparsers) -> None:
    p = subparsers.add_parser("zoo", help="list hardware, models, systems or grids of the zoo",
                              description="List the sourced zoo. Memory is shown in the unit the vendor really "
                                          "counts it in (HBM: GiB) and in GB (10^9 bytes).")
    p.add_argument("what", choices=WHAT, help="which catalogue")
    p.add_argument("--tier", help="hardware only: Cloud, Workstation, Mobile, Edge or Tiny")
    p.add_argument("--family", help="models only: decoder, encoder, cnn, recsys, tinyml, ...")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _hardware_rows(tier):
    from ..zoo import Hardware
    from ..zoo.specs import _CAPACITY_UNITS

    devices = Hardware.tier(tier).all() if tier else Hardware.all()
    out = []
    for h in devices:
        native = h.memory_bytes / _CAPACITY_UNITS[h.capacity_unit]
        hp = h.headline_precision
        out.append({"key": h.key, "name": h.name, "tier": h.tier, "vendor": h.vendor,
                    "memory": f"{native:g} {h.capacity_unit}", "memory_bytes": h.memory_bytes,
                    "memory_GB": h.memory_bytes / 1e9, "memory_GiB": h.memory_bytes / 2 ** 30,
                    "bandwidth_TB_per_s": h.memory_bandwidth_Bps / 1e12,
                    "headline_precision": hp, "peak_TFLOP_per_s": {p: v / 1e12 for p, v in h.peak_flops.items()},
                    "tdp_W": h.tdp_w, "year": h.year, "source": str(h.source)})
    return out


def _model_rows(family):
    from ..inputs import choice
    from ..zoo import Models

    models = Models.all()
    if family:
        family = choice(family, "family", sorted({m.family for m in models}))
        models = [m for m in models if m.family == family]
    return [{"key": m.key, "name": m.name, "family": m.family, "parameters": m.n_parameters,
             "active_parameters": m.n_active_parameters, "layers": m.layers or None,
             "hidden_dim": m.hidden_dim or None, "heads": m.heads or None, "kv_heads": m.kv_heads or None,
             "max_seq_len": m.max_seq_len or None,
             "gflops_per_inference": None if m.flops_per_inference is None else m.flops_per_inference / 1e9,
             "source": str(m.source)} for m in models]


def _system_rows():
    from ..systems import Clusters, Nodes

    rows = [{"key": n.key, "kind": "node", "name": n.name, "gpu": n.gpu.key, "gpus": n.gpus_per_node,
             "fabric": n.intra_fabric.key, "network": f"{n.nics} x {n.nic.key}", "source": str(n.source)} for n in Nodes]
    rows += [{"key": c.key, "kind": "cluster", "name": c.name, "gpu": c.gpu.key, "gpus": c.n_gpus,
              "fabric": c.node.intra_fabric.key, "network": c.fabric.key, "source": str(c.source)} for c in Clusters]
    return rows


def _grid_rows():
    from ..infra import Grids

    return [{"key": g.key, "name": g.name, "carbon_gCO2e_per_kWh": g.carbon_g_per_kWh, "year": g.year,
             "scope": g.scope, "source": str(g.source)} for g in Grids]


def run(args) -> int:
    from ..errors import ValidationError

    if args.tier and args.what != "hardware":
        raise ValidationError(f"--tier applies to 'zoo hardware', not 'zoo {args.what}'.", field="tier", value=args.tier)
    if args.family and args.what != "models":
        raise ValidationError(f"--family applies to 'zoo models', not 'zoo {args.what}'.", field="family",
                              value=args.family)
    if args.what == "hardware":
        rows = _hardware_rows(args.tier)
        if args.json:
            emit_json(rows)
            return 0
        print(table([[r["key"], r["tier"], r["memory"], r["memory_GB"], r["bandwidth_TB_per_s"],
                      r["peak_TFLOP_per_s"][r["headline_precision"]], r["headline_precision"], r["tdp_W"]]
                     for r in rows],
                    ["device", "tier", "memory", "memory [GB]", "bandwidth [TB/s]", "peak [TFLOP/s]", "at", "TDP [W]"],
                    "llrrrrlr"))
    elif args.what == "models":
        rows = _model_rows(args.family)
        if args.json:
            emit_json(rows)
            return 0
        print(table([[r["key"], r["family"], r["parameters"] / 1e9, r["layers"], r["hidden_dim"], r["heads"],
                      r["kv_heads"], r["max_seq_len"], r["gflops_per_inference"]] for r in rows],
                    ["model", "family", "params [B]", "layers", "hidden", "heads", "kv heads", "max seq",
                     "GFLOP/inference"], "llrrrrrrr"))
    elif args.what == "systems":
        rows = _system_rows()
        if args.json:
            emit_json(rows)
            return 0
        print(table([[r["key"], r["kind"], r["gpus"], r["gpu"], r["fabric"], r["network"]] for r in rows],
                    ["system", "kind", "GPUs", "GPU", "intra-node", "network"], "llrlll"))
    else:
        rows = _grid_rows()
        if args.json:
            emit_json(rows)
            return 0
        print(table([[r["key"], r["carbon_gCO2e_per_kWh"], str(r["year"]), r["scope"]] for r in rows],
                    ["grid", "carbon [gCO2e/kWh]", "year", "scope"], "lrrl"))
    return 0
