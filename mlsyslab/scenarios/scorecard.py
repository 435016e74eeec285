"""The scorecard of a scenario: three levels, as in the seed.

1. **Feasibility** - does it fit in memory, and by how much (headroom or overflow)?
2. **Performance** - each SLA limit: predicted vs limit, margin, met or violated.
3. **Macro** - cost, energy, carbon (where the inputs and the zoo allow).

Numbers are stored as plain floats with a unit string; ``level["ttft"]`` returns a Pint
quantity, ``to_dict()`` plain JSON.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from ..errors import OOMError, SLAViolation, UnknownNameError
from ..inputs import did_you_mean
from ..units import quantity

PASS, FAIL, SKIPPED = "PASS", "FAIL", "SKIPPED"


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int,)) and not unit:
        return f"{value:,}"
    if unit == "":
        return f"{value:.1%}" if abs(value) <= 10 else f"{value:.4g}"
    if not math.isfinite(value):
        return f"{value} {unit}"
    mag = abs(value)
    text = f"{value:,.0f}" if mag >= 1e4 else f"{value:.4g}" if mag >= 1e-3 or mag == 0 else f"{value:.3e}"
    return f"{text} {unit}"


@dataclass
class Metric:
    """One figure on the scorecard: value in ``unit`` (``""`` = a fraction)."""

    name: str
    value: float | int | bool | str | None
    unit: str = ""
    label: str = ""

    @property
    def quantity(self):
        if isinstance(self.value, (bool, str)) or self.value is None or self.unit in ("", None):
            return self.value
        return quantity(self.value, self.unit)

    def text(self) -> str:
        if isinstance(self.value, str):
            return self.value
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return f"{self.value:,}" + (f" {self.unit}" if self.unit else "")
        return _fmt(self.value, self.unit)


@dataclass
class Check:
    """One SLA limit checked: ``margin`` > 0 is headroom, < 0 the fraction by which it is missed."""

    metric: str
    label: str
    predicted: float | None
    limit: float
    unit: str
    direction: str  # "max" | "min"
    margin: float | None
    met: bool | None  # None: the figure could not be computed (see note)
    note: str = ""

    @property
    def status(self) -> str:
        return "n/a" if self.met is None else ("met" if self.met else "VIOLATED")

    def sentence(self) -> str:
        rel = "<=" if self.direction == "max" else ">="
        if self.met is None:
            return f"{self.metric}: not evaluated ({self.note}); limit {rel} {_fmt(self.limit, self.unit)}"
        return (f"{self.metric} = {_fmt(self.predicted, self.unit)} vs limit {rel} {_fmt(self.limit, self.unit)} "
                f"(margin {self.margin:+.1%}): {self.status}")

    def to_dict(self) -> dict:
        return {"metric": self.metric, "label": self.label, "predicted": self.predicted, "limit": self.limit,
                "unit": self.unit, "direction": "at most" if self.direction == "max" else "at least",
                "margin": self.margin, "met": self.met, **({"note": self.note} if self.note else {})}


@dataclass
class Level:
    """One level of the scorecard: a status, a one-line summary, figures and SLA checks."""

    name: str
    status: str
    summary: str
    metrics: list = field(default_factory=list)
    checks: list = field(default_factory=list)

    def __getitem__(self, name):
        for m in self.metrics:
            if m.name == name:
                return m.quantity
        for c in self.checks:
            if c.metric == name:
                return c
        known = [m.name for m in self.metrics] + [c.metric for c in self.checks]
        raise UnknownNameError(f"{name!r} is not on the {self.name} level.{did_you_mean(str(name), known)} "
                               f"It has: {', '.join(known)}.", field="metric", value=name, allowed=", ".join(known))

    def __contains__(self, name) -> bool:
        return any(m.name == name for m in self.metrics) or any(c.metric == name for c in self.checks)

    def check(self, metric: str) -> Check:
        """The SLA check of ``metric`` on this level."""
        for c in self.checks:
            if c.metric == metric:
                return c
        raise KeyError(f"no SLA check {metric!r} on the {self.name} level")

    def value(self, name):
        """A metric as a plain number in its unit."""
        for m in self.metrics:
            if m.name == name:
                return m.value
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {"status": self.status, "summary": self.summary,
                "metrics": {m.name: {"value": m.value, "unit": m.unit} for m in self.metrics},
                "checks": [c.to_dict() for c in self.checks]}


class Scorecard:
    """What :meth:`Scenario.evaluate` returns: feasibility, performance and macro levels.

    Attributes
    ----------
    feasibility, performance, macro : Level
    passed : bool
        Fits in memory and no SLA limit violated.
    violations : list[Check]
        The SLA limits that were missed.
    result : object
        The solver result underneath (``ServingResult``, ``RooflineResult``, ...).
    """

    def __init__(self, *, name, kind, model, system, inputs, feasibility, performance, macro, result=None):
        self.name, self.kind, self.model, self.system = name, kind, model, system
        self.inputs = inputs
        self.feasibility, self.performance, self.macro = feasibility, performance, macro
        self.result = result

    @property
    def levels(self) -> tuple:
        return (self.feasibility, self.performance, self.macro)

    @property
    def checks(self) -> list:
        return [c for lv in self.levels for c in lv.checks]

    @property
    def violations(self) -> list:
        return [c for c in self.checks if c.met is False]

    @property
    def fits(self) -> bool:
        return self.feasibility.status != FAIL

    @property
    def passed(self) -> bool:
        return self.fits and not self.violations

    def __getitem__(self, name):
        for lv in self.levels:
            if name in lv:
                return lv[name]
        known = [m.name for lv in self.levels for m in lv.metrics] + [c.metric for c in self.checks]
        raise UnknownNameError(f"{name!r} is on no level of this scorecard.{did_you_mean(str(name), known)} "
                               f"It has: {', '.join(dict.fromkeys(known))}.", field="metric", value=name,
                               allowed=", ".join(dict.fromkeys(known)))

    def check(self, metric: str) -> Check:
        """The SLA check of ``metric`` (``card.check("ttft").margin``)."""
        for c in self.checks:
            if c.metric == metric:
                return c
        raise KeyError(f"no SLA check {metric!r}; checks: {', '.join(c.metric for c in self.checks) or 'none'}")

    def raise_for_status(self) -> None:
        """Raise :class:`OOMError` if it does not fit, else :class:`SLAViolation` for the first miss."""
        if not self.fits:
            need = self.feasibility.value("memory_required")
            cap = self.feasibility.value("capacity")
            raise OOMError(f"scenario {self.name!r}: {self.feasibility.summary}",
                           required_bytes=need * 1e9, capacity_bytes=cap * 1e9)
        bad = self.violations
        if bad:
            first = bad[0]
            others = "; ".join(c.sentence() for c in bad[1:])
            raise SLAViolation(f"scenario {self.name!r} violates its SLA: {first.sentence()}"
                               + (f"; also {others}" if others else ""),
                               metric=first.metric, predicted=quantity(first.predicted, first.unit or ""),
                               limit=quantity(first.limit, first.unit or ""))

    def to_dict(self) -> dict:
        """Plain JSON: scenario, inputs, the three levels (figures with units, SLA checks)."""
        return {"scenario": self.name, "kind": self.kind, "model": self.model, "system": self.system,
                "inputs": dict(self.inputs), "passed": self.passed, "fits": self.fits,
                "violations": [c.metric for c in self.violations],
                "feasibility": self.feasibility.to_dict(), "performance": self.performance.to_dict(),
                "macro": self.macro.to_dict()}

    def text(self) -> str:
        verdict = "PASS" if self.passed else ("DOES NOT FIT" if not self.fits else "SLA VIOLATED")
        what = f"{self.model} on {self.system}"
        head = (f"Scenario {self.name!r}: {self.kind}, {what}" if self.name != what
                else f"Scenario: {self.kind}, {what}") + f" -> {verdict}"
        lines = [head, "=" * len(head)]
        for i, lv in enumerate(self.levels, 1):
            lines.append(f"{i}. {lv.name.capitalize():<12} [{lv.status}] {lv.summary}")
            width = max([len(m.label or m.name) for m in lv.metrics] + [len(c.metric) for c in lv.checks] + [8])
            for m in lv.metrics:
                lines.append(f"     {m.label or m.name:<{width}}  {m.text()}")
            for c in lv.checks:
                mark = {"met": "ok ", "VIOLATED": "XX ", "n/a": "-- "}[c.status]
                lines.append(f"   {mark}{c.sentence()}")
        return "\n".join(lines)

    __str__ = text

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        color = {PASS: "#1a7f37", FAIL: "#cf222e", SKIPPED: "#6e7781"}
        rows = []
        for i, lv in enumerate(self.levels, 1):
            rows.append(f"<tr><th colspan='4' style='text-align:left'>{i}. {html.escape(lv.name.capitalize())} "
                        f"<span style='color:{color.get(lv.status, '#000')}'>[{lv.status}]</span> "
                        f"{html.escape(lv.summary)}</th></tr>")
            for m in lv.metrics:
                rows.append(f"<tr><td>{html.escape(m.label or m.name)}</td><td colspan='3'>{html.escape(m.text())}</td></tr>")
            for c in lv.checks:
                rel = "&le;" if c.direction == "max" else "&ge;"
                st = {"met": color[PASS], "VIOLATED": color[FAIL], "n/a": color[SKIPPED]}[c.status]
                rows.append(f"<tr><td>SLA {html.escape(c.metric)}</td><td>{html.escape(_fmt(c.predicted, c.unit))}</td>"
                            f"<td>{rel} {html.escape(_fmt(c.limit, c.unit))}</td>"
                            f"<td style='color:{st}'>{c.status}"
                            f"{'' if c.margin is None else f' ({c.margin:+.1%})'}</td></tr>")
        verdict = "PASS" if self.passed else ("does not fit" if not self.fits else "SLA violated")
        cap = html.escape(f"{self.name}: {self.kind}, {self.model} on {self.system} — {verdict}")
        return f"<table class='mlsyslab-scorecard'><caption>{cap}</caption>{''.join(rows)}</table>"


__all__ = ["Scorecard", "Level", "Check", "Metric", "PASS", "FAIL", "SKIPPED"]
