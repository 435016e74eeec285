"""Catalog pages generated from the zoo at build time, so they cannot drift from the data.

``discover()`` finds every registry the package exposes (``Hardware``, ``Models`` and, once
they exist, ``Systems``, ``Infra`` and whatever registries they group) by walking the public
names of :mod:`mlsyslab`. Each becomes a page ``catalog/<name>.md`` holding one
``catalog-table`` directive; the directive renders a sortable HTML table (see
``_static/sortable.js``) with one row per entry. Hardware and models get curated columns;
any other registry gets one column per scalar field of its specs, plus its sources.
"""

from __future__ import annotations

import dataclasses
import html
import importlib
import inspect
import math
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

from generated_pages import sync_pages

MISSING = "—"


# --------------------------------------------------------------------------- discovery

def _is_registry(obj) -> bool:
    from mlsyslab.zoo.registry import Registry

    return isinstance(obj, Registry)


def _sub_registries(obj, path, seen):
    """(dotted path, registry) for ``obj`` if it is a registry, else for the registries it groups."""
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if _is_registry(obj):
        return [(path, obj)]
    if not (inspect.isclass(obj) or inspect.ismodule(obj) or type(obj).__module__.startswith("mlsyslab")):
        return []
    found = []
    for name in sorted(dir(obj)):
        if name.startswith("_"):
            continue
        try:
            value = getattr(obj, name)
        except Exception:  # noqa: BLE001 - a property that needs arguments is not a registry
            continue
        if _is_registry(value):
            found.extend(_sub_registries(value, f"{path}.{name}", seen))
    return found


def discover() -> list[tuple[str, object]]:
    """Every public registry, as ``("Hardware", registry)`` / ``("Systems.Fabrics", registry)``.

    Names in ``mlsyslab._LAZY`` whose module is not written yet are skipped: the catalog
    grows by itself as registries land.
    """
    import mlsyslab

    out, seen = [], set()
    for name, module in mlsyslab._LAZY.items():
        try:
            value = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        out.extend(_sub_registries(value, name, seen))
    return out


def resolve(path: str):
    for name, reg in discover():
        if name == path:
            return reg
    raise KeyError(f"no registry {path!r}; registries: {', '.join(n for n, _ in discover())}")


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


# --------------------------------------------------------------------------- cell formatting

class Cell:
    """One table cell: its text (HTML-escaped on output) and the key it sorts by."""

    def __init__(self, text, sort=None, html_text=None):
        self.text = MISSING if text is None or text == "" else str(text)
        self.sort = sort
        self.html_text = html_text

    def render(self, tag="td") -> str:
        attr = "" if self.sort is None else f' data-sort="{html.escape(str(self.sort))}"'
        body = self.html_text if self.html_text is not None else html.escape(self.text)
        return f"<{tag}{attr}>{body}</{tag}>"


def num(value, fmt="{:,.4g}", scale=1.0) -> Cell:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell(None)
    v = value if scale == 1.0 else value * scale
    return Cell(fmt.format(v), sort=repr(float(v)))


def source_cell(spec) -> Cell:
    """The spec's main source (linked) and, below it, the source of each figure that has its own."""
    parts = []
    src = getattr(spec, "source", None)
    if src is not None:
        parts.append(_source_html(src))
    figures = [f"<small><code>{html.escape(figure)}</code>: {_source_html(fsrc)}</small>"
               for figure, fsrc in (getattr(spec, "field_sources", None) or {}).items()]
    if figures:  # collapsed, so that a row stays one line tall
        parts.append(f"<details><summary><small>{len(figures)} more figure source{'s' * (len(figures) > 1)}"
                     f"</small></summary>{''.join(figures)}</details>")
    text = "; ".join(str(p) for p in [src] if p is not None)
    return Cell(text, sort=text, html_text="".join(parts) or MISSING)


def _source_html(src) -> str:
    title = html.escape(getattr(src, "title", str(src)))
    url = getattr(src, "url", None)
    date = getattr(src, "date", None)
    notes = getattr(src, "notes", None)
    label = f'<a class="reference external" href="{html.escape(url)}">{title}</a>' if url else title
    if date:
        label += f" ({html.escape(str(date))})"
    if notes:
        label = f'<span title="{html.escape(notes)}">{label}</span>'
    return label


# --------------------------------------------------------------------------- curated columns

def hardware_columns():
    from mlsyslab.precision import PRECISIONS

    cols = [
        ("Key", lambda h: Cell(h.key)),
        ("Name", lambda h: Cell(h.name)),
        ("Tier", lambda h: Cell(h.tier)),
        ("Vendor", lambda h: Cell(h.vendor)),
        ("Year", lambda h: num(h.year, "{:d}") if h.year else Cell(None)),
        ("Memory", lambda h: Cell(f"{h.memory.capacity.magnitude:g} {h.capacity_unit}", sort=repr(h.memory_bytes))),
        ("Memory type", lambda h: Cell(h.memory_type)),
        ("Bandwidth [TB/s]", lambda h: num(h.memory_bandwidth_Bps, "{:,.4g}", 1e-12)),
    ]
    for p in PRECISIONS:
        cols.append((f"{p} [TFLOP/s]", lambda h, p=p: num(h.peak_flops.get(p), "{:,.4g}", 1e-12)))
    cols += [
        ("Ridge point fp16 [FLOP/B]", lambda h: num(h.ridge_point("fp16"), "{:,.0f}")),
        ("TDP [W]", lambda h: num(h.tdp_w, "{:,.4g}")),
        ("Interconnect", lambda h: Cell(h.interconnect_name)),
        ("Link [GB/s]", lambda h: num(h.interconnect_Bps, "{:,.4g}", 1e-9)),
        ("Source", source_cell),
    ]
    return cols


def _attention(m) -> str:
    if not m.is_transformer:
        return ""
    if m.kv_heads == m.heads:
        return "MHA"
    return "MQA" if m.kv_heads == 1 else f"GQA ({m.heads // m.kv_heads}:1)"


def model_columns():
    t = lambda f: (lambda m: num(f(m), "{:,d}") if m.is_transformer else Cell(None))  # noqa: E731
    return [
        ("Key", lambda m: Cell(m.key)),
        ("Name", lambda m: Cell(m.name)),
        ("Family", lambda m: Cell(m.family)),
        ("Task", lambda m: Cell(m.task or ("text generation" if m.is_llm else ""))),
        ("Layers L", t(lambda m: m.layers)),
        ("Hidden d", t(lambda m: m.hidden_dim)),
        ("Heads", t(lambda m: m.heads)),
        ("KV heads", t(lambda m: m.kv_heads)),
        ("Head dim", t(lambda m: m.head_dim)),
        ("FFN dim", t(lambda m: m.ffn_dim)),
        ("Vocab", t(lambda m: m.vocab)),
        ("Attention", lambda m: Cell(_attention(m))),
        ("Experts", lambda m: Cell(f"{m.active_experts} of {m.experts}", sort=m.experts) if m.is_moe else Cell(None)),
        ("Max context", t(lambda m: m.max_seq_len)),
        ("Parameters (derived) [B]", lambda m: num(m.n_parameters, "{:,.4g}", 1e-9)),
        ("Active [B]", lambda m: num(m.n_active_parameters, "{:,.4g}", 1e-9)),
        ("Published [B]", lambda m: num(m.published_parameters, "{:,.4g}", 1e-9)),
        ("KV-cache fp16 [KiB/token]", lambda m: num(m.kv_bytes_per_token(2.0), "{:,.4g}", 1 / 1024)
         if m.is_transformer else Cell(None)),
        ("FLOPs / inference [G]", lambda m: num(m.flops_per_inference, "{:,.4g}", 1e-9)),
        ("Source", source_cell),
    ]


# --------------------------------------------------------------------------- generic columns

def _generic_value(v) -> Cell:
    if v is None:
        return Cell(None)
    if isinstance(v, bool):
        return Cell("yes" if v else "no")
    if isinstance(v, (int, float)):
        return num(v)
    if hasattr(v, "magnitude") and hasattr(v, "units"):
        return Cell(f"{v:~P}", sort=repr(float(v.to_base_units().magnitude)))
    if hasattr(v, "key"):
        return Cell(v.key)
    if isinstance(v, dict):
        return Cell(", ".join(f"{k}={_generic_value(x).text}" for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return Cell(", ".join(_generic_value(x).text for x in v))
    return Cell(str(v))


_SKIP_FIELDS = {"source", "field_sources", "aliases"}

#: field-name suffix (base unit) -> (unit shown, scale): ``bandwidth_Bps`` shows as ``bandwidth [GB/s]``
_SUFFIX_UNITS = {"_Bps": ("GB/s", 1e-9), "_bytes": ("GB", 1e-9), "_w": ("W", 1.0), "_kw": ("kW", 1.0),
                 "latency_s": ("us", 1e6), "_s": ("s", 1.0)}


def _generic_column(name):
    """(header, cell function) for one field; base-unit suffixes become readable units."""
    for suffix, (unit, scale) in _SUFFIX_UNITS.items():
        if name.endswith(suffix):
            label = name[: -len(suffix)] if not suffix.startswith("latency") else "latency"
            label = label.rstrip("_") if not suffix.startswith("latency") else name[: -len("_s")]

            def cell(e, name=name, scale=scale):
                v = getattr(e, name, None)
                return num(v, "{:,.4g}", scale) if isinstance(v, (int, float)) and not isinstance(v, bool) \
                    else _generic_value(v)
            return f"{label.replace('_', ' ')} [{unit}]", cell
    if "year" in name or name in ("generation", "date"):
        return name.replace("_", " "), lambda e: (Cell(str(getattr(e, name)), sort=getattr(e, name))
                                                  if getattr(e, name, None) is not None else Cell(None))
    return name.replace("_", " "), lambda e: _generic_value(getattr(e, name, None))


def generic_columns(entries):
    """One column per dataclass field (or public attribute) that some entry sets, then Source."""
    first = entries[0]
    if dataclasses.is_dataclass(first):
        names = [f.name for f in dataclasses.fields(first)]
    else:
        names = [n for n, v in vars(first).items() if not n.startswith("_")]
    names = [n for n in names if n not in _SKIP_FIELDS
             and any(getattr(e, n, None) not in (None, "", (), {}, []) for e in entries)]
    cols = [_generic_column(n) for n in names]
    if any(getattr(e, "source", None) is not None for e in entries):
        cols.append(("Source", source_cell))
    return cols


def columns_for(path: str, entries):
    if path == "Hardware":
        return hardware_columns()
    if path == "Models":
        return model_columns()
    return generic_columns(entries)


def table_html(path: str, registry) -> str:
    entries = list(registry)
    if not entries:
        return f"<p>The {html.escape(path)} registry is empty.</p>"
    cols = columns_for(path, entries)
    head = "".join(Cell(name).render("th") for name, _ in cols)
    rows = []
    for e in entries:
        key = getattr(e, "key", None)
        rid = f' id="{slug(path)}-{slug(key)}"' if key else ""
        rows.append(f"<tr{rid}>" + "".join(fn(e).render() for _, fn in cols) + "</tr>")
    return (f'<div class="catalog-wrap"><table class="table sortable catalog" id="catalog-{slug(path)}">'
            f"<thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>")


class CatalogTable(Directive):
    """``.. catalog-table:: Hardware`` renders that registry as a sortable table."""

    required_arguments = 1

    def run(self):
        path = self.arguments[0]
        env = self.state.document.settings.env
        try:
            registry = resolve(path)
        except KeyError as exc:
            raise self.error(str(exc)) from None
        # The page depends on the data, not only on its source text: re-read it every build.
        env.note_reread()
        return [nodes.raw("", table_html(path, registry), format="html")]


# --------------------------------------------------------------------------- pages

INTRO = {
    "Hardware": (
        "every device. Peaks are **dense** (no 2:4 structured sparsity) per "
        "native precision, in TFLOP/s (TOP/s for integers); a blank cell means the silicon has no native "
        "path for that precision and the solvers fall back (see {py:mod}`mlsyslab.precision`). Memory is "
        "shown in the unit the silicon is really counted in (an \"80GB\" H100 holds 80 GiB). The ridge "
        "point is the fp16 (or headline-precision) {term}`arithmetic intensity` where the {term}`roofline` "
        "bends: peak / bandwidth."),
    "Models": (
        "every workload. For transformers the parameter count is **derived** from "
        "the architecture ({py:meth}`mlsyslab.zoo.specs.ModelSpec.count_parameters`) and shown beside the "
        "published figure; other models carry sourced totals. Attention is {term}`MHA` when every query head "
        "has its own K/V head, {term}`GQA` when groups share one. KV-cache per token = 2 x L x KV heads x "
        "head dim x 2 bytes (fp16)."),
    "Systems.Fabrics": "Links between accelerators: intra-node (NVLink, Infinity Fabric, ICI) and inter-node "
                       "(InfiniBand, Ethernet). Bandwidth per GPU as vendors quote it; latency per collective "
                       "(the alpha of the alpha-beta model used by the distributed solver).",
    "Systems.Nodes": "Servers: accelerators per node, the fabric that joins them, their NICs and power.",
    "Systems.Clusters": "Clusters of identical nodes joined by an inter-node fabric; "
                        "``mlsyslab.DistributedSolver`` places ranks tensor-parallel innermost.",
    "Infra.Grids": "Electricity grids: annual-average {term}`carbon intensity` (gCO2e/kWh) and, where sourced, "
                   "the water consumed per kWh generated.",
    "Infra.PUE": "Power usage effectiveness ({term}`PUE`) of datacenter classes: facility energy / IT energy.",
    "Infra.WUE": "Water usage effectiveness ({term}`WUE`) of datacenter classes: litres per kWh of IT energy.",
    "Infra.Prices": "On-demand GPU instance list prices, with provider, instance and date: the "
                    "``CostSolver`` uses the cheapest listed per device unless told otherwise.",
    "Infra.Datacenters": "Datacenters composed from a grid, a PUE class, a WUE class and a rack.",
    "Infra.Racks": "Rack power envelopes and cooling.",
    "Infra.Embodied": "Embodied (manufacturing) carbon of devices and their assumed service lifetime, amortised "
                      "over a job's duration by the sustainability solver.",
}


def page_text(path: str, registry) -> str:
    intro = INTRO.get(path, "every entry.")
    title = path.rsplit(".", 1)[-1]
    title = {"PUE": "PUE classes", "WUE": "WUE classes", "Embodied": "Embodied carbon"}.get(title, title)
    return (f"# {title} catalog\n\n``mlsyslab.{path}``: {intro}\n\n"
            f"Generated from the zoo at build time: {len(registry)} entries. Click a column header to sort "
            f"(click again to reverse).\n\n"
            f"```{{catalog-table}} {path}\n```\n")


def write_pages(app):
    """Write ``catalog/<slug>.md`` for every registry (only files whose text changed)."""
    out = Path(app.srcdir) / "catalog"
    out.mkdir(exist_ok=True)
    wanted = {}
    for path, reg in discover():
        wanted[out / f"{slug(path)}.md"] = page_text(path, reg)
    sync_pages(out, wanted)


def fill_toctree(app, docname, source):
    """``CATALOG_PAGES`` in catalogs.md -> the generated pages, in the package's order."""
    if docname == "catalogs":
        source[0] = source[0].replace("CATALOG_PAGES", "\n".join(f"catalog/{slug(p)}" for p, _ in discover()))


def setup(app):
    app.add_directive("catalog-table", CatalogTable)
    app.connect("builder-inited", write_pages)
    app.connect("source-read", fill_toctree)
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: ["catalogs"])
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
