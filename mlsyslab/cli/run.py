"""``mlsyslab run config.yaml``: check a simulation config, evaluate every scenario, print the scorecards."""

from __future__ import annotations

import sys

from .tables import emit_json, fmt_number, table


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="evaluate the scenarios of a YAML/JSON config; print scorecards",
                              description="Load a simulation config (YAML or JSON), check every field first and "
                                          "report all problems at once, then evaluate each scenario's feasibility, "
                                          "SLA and macro figures.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("config", nargs="?", help="path to a .yaml/.yml or .json config")
    src.add_argument("--example", metavar="NAME",
                     help="a config shipped with the package: serving_sla, training_job, sustainability_grids, broken")
    p.add_argument("--json", action="store_true", help="print the scorecards (or the config errors) as JSON")
    p.add_argument("--summary", action="store_true", help="one line per scenario instead of full scorecards")
    p.add_argument("--fail-on-violation", action="store_true",
                   help="exit 1 when a scenario does not fit or misses its SLA")
    p.set_defaults(func=run)


def _macro(card, *names):
    for n in names:
        if n in card.macro:
            return fmt_number(card.macro.value(n))
    return "-"


def summary_table(cards) -> str:
    """One line per scorecard: memory, the macro figures (per 1M tokens / inferences, or per run), verdict."""
    rows = []
    for c in cards:
        verdict = "PASS" if c.passed else ("OOM" if not c.fits else "SLA violated: " + ", ".join(v.metric for v in c.violations))
        mem = c.feasibility.value("memory_utilization")
        rows.append([c.name, c.kind, c.model, c.system, f"{mem:.1%}", _macro(c, "energy"), _macro(c, "carbon"),
                     _macro(c, "cost_per_million_tokens", "cost_per_million_inferences", "cost"), verdict])
    return table(rows, ["scenario", "kind", "model", "system", "memory", "energy [kWh]", "carbon [kgCO2e]",
                        "cost [USD]", "verdict"], "llllrrrrl") + "\n(macro figures: per 1M tokens for serving, per 1M inferences for inference, per run for training)"


def run(args) -> int:
    from ..config import ConfigError, SimulationConfig

    if args.example:
        from ..examples import path

        args.config = str(path(args.example))
    try:
        cfg = SimulationConfig.from_file(args.config)
    except ConfigError as exc:
        if args.json:
            emit_json({"errors": [{"path": e.path, "message": e.message} for e in exc.errors]})
        print(f"mlsyslab run: error: {exc.one_line()}", file=sys.stderr)
        return 2
    cards = cfg.run()
    if args.json:
        emit_json({"config": args.config, "name": cfg.name, "scorecards": [c.to_dict() for c in cards]})
    elif args.summary:
        print(summary_table(cards))
    else:
        if cfg.name or cfg.description:
            print(" - ".join(x for x in (cfg.name, cfg.description) if x) + "\n")
        print("\n\n".join(c.text() for c in cards))
        if len(cards) > 1:
            print("\n" + summary_table(cards))
    failed = [c for c in cards if not c.passed]
    return 1 if (args.fail_on_violation and failed) else 0


__all__ = ["register", "run", "summary_table"]
