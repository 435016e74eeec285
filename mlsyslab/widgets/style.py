"""Style shared by every widget: the colour-blind-safe palette, one colour per device, numbers
written for humans, axis ticks that do not collide, and accessible readout tables.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), distinguishable
with every common colour-vision deficiency. A device keeps its colour *and* its line dash /
marker in every widget (``device_style("H100")``); a role (weights, KV-cache, capacity, OOM)
keeps its colour everywhere too. Colour is never the only cue: every series is also named in
text (axis labels, the HTML key under a figure, the readout table).

Neutral strokes use JupyterLab's theme variables (``var(--jp-content-font-color1, #1a1a1a)``),
so they read on the light and the dark theme alike.

Numbers: :func:`num` writes 3 significant figures without an exponent (``21,900``, ``0.0123``);
:func:`time_text` picks the unit for the magnitude (``22.0 s``, not ``2.195e+04 ms``).
"""

from __future__ import annotations

import html
import math

# --------------------------------------------------------------------------- palette
#: Okabe-Ito (2008). Black and yellow are not used for marks: black vanishes on the dark theme,
#: yellow on the light one.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}

#: Theme-aware neutrals (JupyterLab / Voila define the variables; the fallback is for elsewhere).
FOREGROUND = "var(--jp-content-font-color1, #1a1a1a)"
FOREGROUND_2 = "var(--jp-content-font-color2, #555555)"
MUTED_FILL = "var(--jp-layout-color3, #bdbdbd)"

#: One colour per role, the same in every widget.
ROLE_COLORS = {
    "weights": OKABE_ITO["blue"],
    "kv": OKABE_ITO["orange"],
    "free": MUTED_FILL,
    "capacity": FOREGROUND,
    "oom": OKABE_ITO["vermillion"],
    "full": OKABE_ITO["bluish_green"],
    "linear": FOREGROUND_2,
    "workload": OKABE_ITO["vermillion"],
}

#: Device colours: vermillion is kept for OOM and workload points, black and yellow for nothing.
_DEVICE_CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue")]
#: The devices most often compared get fixed, distinct colours; others follow the zoo's order
#: (a second device of the same colour in one figure gets another dash, or another free colour).
_FIXED = {"H100": "blue", "A100": "sky_blue", "H200": "bluish_green", "B200": "reddish_purple",
          "MI300X": "orange"}
DASHES = ["solid", "dashed", "dotted", "dash_dotted"]
MARKERS = ["circle", "square", "diamond", "triangle-up", "triangle-down", "cross", "plus"]


def device_color(key: str) -> str:
    """The colour of device ``key`` (a zoo key), the same in every widget."""
    if key in _FIXED:
        return OKABE_ITO[_FIXED[key]]
    return _DEVICE_CYCLE[_device_index(key) % len(_DEVICE_CYCLE)]


def _device_index(key: str) -> int:
    from ..zoo import Hardware

    keys = [h.key for h in Hardware]
    return keys.index(key) if key in keys else sum(map(ord, key))


def device_style(key: str) -> dict:
    """``{"color", "dash", "marker"}`` of a device: colour plus a second, non-colour cue."""
    i = _device_index(key)
    return {"color": device_color(key), "dash": "solid", "marker": MARKERS[i % len(MARKERS)]}


def distinct_colors(keys) -> list[str]:
    """Colours for devices drawn together: the devices with a fixed colour (H100, A100, H200, B200,
    MI300X) keep it; each other device keeps its :func:`device_color` unless another device in the
    figure has it, then takes the first palette colour still free (or repeats when none is)."""
    out = {i: device_color(k) for i, k in enumerate(keys) if k in _FIXED}
    for i, k in enumerate(keys):
        if i in out:
            continue
        c = device_color(k)
        if c in out.values():
            c = next((p for p in _DEVICE_CYCLE if p not in out.values()), c)
        out[i] = c
    return [out[i] for i in range(len(keys))]


def distinct_styles(keys) -> list[dict]:
    """Styles for device lines drawn together: the colours of :func:`distinct_colors` (a device's
    own colour while it is free, then a free palette colour) and, once the palette is used up, a
    second dash for a repeated colour."""
    out, seen = [], {}
    for k, color in zip(keys, distinct_colors(keys)):
        s = dict(device_style(k), color=color)
        s["dash"] = DASHES[seen.get(color, 0) % len(DASHES)]
        seen[color] = seen.get(color, 0) + 1
        out.append(s)
    return out


# --------------------------------------------------------------------------- numbers
def num(x: float, sig: int = 3) -> str:
    """``x`` with ``sig`` significant figures, thousands separated, no exponent for
    1e-4 <= abs(x) < 1e9: ``num(21950) == "22,000"``, ``num(0.012345) == "0.0123"``, ``num(5) == "5.00"``."""
    if x is None or not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if not 1e-4 <= abs(x) < 1e9:
        return f"{x:.{sig - 1}e}"
    digits = sig - 1 - math.floor(math.log10(abs(x)))
    rounded = round(x * (1 + 1e-12), digits)  # 21.95 (stored as 21.9499...) -> 22.0
    if rounded and math.floor(math.log10(abs(rounded))) != math.floor(math.log10(abs(x))):
        digits -= 1  # 999.6 -> 1,000
    return f"{rounded:,.{max(digits, 0)}f}"


TIME_STEPS = (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0))


def time_unit(seconds: float) -> tuple[str, float]:
    """The unit for a duration: the largest of ns, µs, ms, s (then min, h) in which it is >= 1."""
    s = abs(seconds)
    if s >= 3600:
        return "h", 3600.0
    if s >= 600:
        return "min", 60.0
    unit = TIME_STEPS[0]
    for u in TIME_STEPS:
        if s >= u[1] * (1 - 5e-4):  # 0.99996 s is written 1.00 s, not 1,000 ms
            unit = u
    return unit


def time_text(seconds: float, sig: int = 3) -> str:
    """``time_text(21.95) == "22.0 s"``, ``time_text(0.00981) == "9.81 ms"``."""
    unit, scale = time_unit(seconds)
    return f"{num(seconds / scale, sig)} {unit}"


def bytes_text(n: float, sig: int = 3) -> str:
    """Decimal bytes: ``bytes_text(16.06e9) == "16.1 GB"``."""
    if not math.isfinite(n) or n == 0:
        return f"{n:g} B"
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = min(max(int(math.floor(math.log10(abs(n)) / 3 + 1e-9)), 0), len(units) - 1)
    return f"{num(n / 1000 ** i, sig)} {units[i]}"


#: Decimal byte units, smallest first, for :func:`scaled_unit`.
BYTE_UNITS = (("B", 1.0), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12))

FLOPS_UNITS = (("FLOP/s", 1.0), ("kFLOP/s", 1e3), ("MFLOP/s", 1e6), ("GFLOP/s", 1e9), ("TFLOP/s", 1e12),
               ("PFLOP/s", 1e15))


def rate_unit(max_flops: float) -> tuple[str, float]:
    """The FLOP/s unit for a range whose top is ``max_flops`` (its top reads 1 ... 999)."""
    unit = FLOPS_UNITS[0]
    for u in FLOPS_UNITS:
        if max_flops >= u[1]:
            unit = u
    return unit


def scaled_unit(max_value: float, steps) -> tuple[str, float]:
    """From ``steps`` = ((name, factor), ...) smallest first, the largest with max_value >= factor."""
    unit = steps[0]
    for u in steps:
        if abs(max_value) >= u[1] * (1 - 5e-4):
            unit = u
    return unit


# --------------------------------------------------------------------------- ticks
def log_ticks(lo: float, hi: float, max_ticks: int = 7) -> list[float]:
    """Ticks for a log axis over [lo, hi]: 1-2-5 steps when the range is under ~2 decades,
    decades otherwise, every 2nd or 3rd decade when there would be more than ``max_ticks``."""
    if lo <= 0 or hi <= lo:
        raise ValueError(f"log_ticks needs 0 < lo < hi, got {lo}, {hi}")
    d0, d1 = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    decades = [10.0 ** d for d in range(d0, d1 + 1) if lo * (1 - 1e-9) <= 10.0 ** d <= hi * (1 + 1e-9)]
    if len(decades) < 3:
        for mults in ((1, 2, 5), (1, 3), (1,)):
            ticks = [m * 10.0 ** d for d in range(d0, d1 + 1) for m in mults]
            ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
            if len(ticks) <= max_ticks:
                return ticks
    step = 1
    while len(decades[::step]) > max_ticks:
        step += 1
    return decades[::step] or [lo, hi]


def linear_ticks(hi: float, max_ticks: int = 6, lo: float = 0.0) -> list[float]:
    """Round ticks (1, 2, 2.5, 5 x 10^k steps) from ``lo`` up to ``hi``."""
    span = max(hi - lo, 1e-300)
    raw = span / max(max_ticks - 1, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    n = int(math.floor((hi - first) / step + 1e-9)) + 1
    return [round(first + i * step, 12) for i in range(n)]


def tick_text(v: float) -> str:
    """How :data:`TICK_FORMAT` writes a tick value (to size margins): ``",~r"`` up to 3 digits."""
    return num(v, 3).rstrip("0").rstrip(".") if "." in num(v, 3) else num(v, 3)


def si_text(v: float) -> str:
    """How d3's ``"~s"`` format writes a round tick value: ``1e12 -> "1T"``, ``2e-3 -> "2m"``."""
    if v == 0:
        return "0"
    prefixes = {-24: "y", -21: "z", -18: "a", -15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M",
                9: "G", 12: "T", 15: "P", 18: "E"}
    e = int(math.floor(math.log10(abs(v)) / 3 + 1e-9)) * 3
    e = max(min(e, 18), -24)
    return f"{v / 10 ** e:.3g}{prefixes[e]}"


#: d3-format for tick labels: grouped thousands, trimmed zeros, 3 significant digits (no 1e+4).
TICK_FORMAT = ",.3~r"

CHAR_PX = 7.2  # width of one character of the 12 px sans-serif font bqplot uses (a generous mean)


def text_px(text: str, char_px: float = CHAR_PX) -> float:
    """An upper estimate of the rendered width of ``text`` in bqplot's 12 px font."""
    return len(text) * char_px


# --------------------------------------------------------------------------- HTML
#: Inserted once per widget: theme-aware colours and aligned numeric columns.
CSS = """
<style>
.mlsyslab-readout table, table.mlsyslab-table {border-collapse: collapse; margin: 4px 0;
  color: var(--jp-content-font-color1, #1a1a1a);}
.mlsyslab-readout .widget-html-content, .mlsyslab-key-box .widget-html-content, .mlsyslab-oom .widget-html-content,
.mlsyslab-status .widget-html-content, .mlsyslab-reveal .widget-html-content {line-height: 1.4;}
.mlsyslab-readout th, .mlsyslab-readout td {padding: 1px 12px 1px 0; text-align: left; line-height: 1.4;}
.mlsyslab-readout td.num, .mlsyslab-readout th.num {text-align: right; font-variant-numeric: tabular-nums;}
.mlsyslab-readout caption {text-align: left; font-weight: bold; padding-bottom: 2px;
  color: var(--jp-content-font-color1, #1a1a1a);}
.mlsyslab-readout, .mlsyslab-key, .mlsyslab-message, .mlsyslab-oom {color: var(--jp-content-font-color1, #1a1a1a);}
.mlsyslab-note {color: var(--jp-content-font-color1, #1a1a1a); opacity: 1;}
.mlsyslab-mode {font-style: italic;}
.mlsyslab-infeasible {font-weight: bold;}
.mlsyslab-key span.item {display: inline-block; margin-right: 14px; white-space: nowrap;}
[data-jp-theme-light='false'] [class*='mlsyslab-'] .bqplot {--bq-content-font-color: var(--jp-content-font-color1);
  --bq-mainheading-fill: var(--jp-content-font-color1); --bq-axislabel-fill: var(--jp-content-font-color1);}
.mlsyslab-key svg {vertical-align: middle; margin-right: 4px;}
</style>
"""


def esc(text) -> str:
    return html.escape(str(text))


def mode_text(efficiency: str) -> str:
    """What a readout says about the solver mode: ``"ideal roofline"`` or ``"calibrated"``."""
    return "ideal roofline (datasheet peaks: a lower bound on time)" if efficiency == "ideal" else \
        "calibrated (efficiencies fitted to measurements)"


def mode_html(efficiency: str) -> str:
    """The mode line every readout ends with; its class ``mlsyslab-mode`` and ``data-mode``
    attribute let a lab check which solver a widget uses."""
    short = "ideal roofline" if efficiency == "ideal" else "calibrated"
    return (f"<div class='mlsyslab-mode' data-mode='{esc(efficiency)}'>Solver mode: <b>{esc(short)}</b>"
            f" &ndash; {esc(mode_text(efficiency).split('(', 1)[1].rstrip(')'))}</div>")


def table_html(caption: str, header, rows, numeric=()) -> str:
    """An accessible table: a caption (the plot's text alternative), ``th scope=col`` headers,
    right-aligned tabular figures in the ``numeric`` column indexes."""
    num_cols = set(numeric)
    head = "".join(f"<th scope='col' class='{'num' if i in num_cols else ''}'>{esc(h)}</th>"
                   for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(
        (f"<th scope='row'>{c}</th>" if i == 0 else f"<td class='{'num' if i in num_cols else ''}'>{c}</td>")
        for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table class='mlsyslab-table'><caption>{esc(caption)}</caption><tr>{head}</tr>{body}</table>"


def swatch_svg(color: str, kind: str = "line", dash: str = "solid", marker: str = "circle") -> str:
    """A 28x12 inline SVG sample of a line (with its dash) or a marker, for an HTML key."""
    dasharray = {"solid": "", "dashed": "6,3", "dotted": "2,2", "dash_dotted": "6,2,2,2"}.get(dash, "")
    if kind == "line":
        shape = (f"<line x1='1' y1='6' x2='27' y2='6' stroke='{color}' stroke-width='3'"
                 + (f" stroke-dasharray='{dasharray}'" if dasharray else "") + "/>")
    elif kind in ("bar", "bar-pale"):
        shape = (f"<rect x='6' y='1' width='16' height='10' fill='{color}' stroke='{color}'"
                 + (" fill-opacity='0.45'" if kind == "bar-pale" else "") + "/>")
    elif kind == "text":
        return ""
    else:
        shapes = {"square": "<rect x='9' y='1' width='10' height='10' fill='{c}'/>",
                  "diamond": "<polygon points='14,0 20,6 14,12 8,6' fill='{c}'/>",
                  "triangle-up": "<polygon points='14,1 20,11 8,11' fill='{c}'/>",
                  "triangle-down": "<polygon points='8,1 20,1 14,11' fill='{c}'/>",
                  "cross": "<path d='M9 1 L19 11 M19 1 L9 11' stroke='{c}' stroke-width='3'/>",
                  "plus": "<path d='M14 0 V12 M8 6 H20' stroke='{c}' stroke-width='3'/>"}
        shape = shapes.get(marker, "<circle cx='14' cy='6' r='5' fill='{c}'/>").format(c=color)
    return f"<svg width='28' height='12' aria-hidden='true' focusable='false'>{shape}</svg>"


def key_html(items) -> str:
    """An HTML key under a figure (outside the data): items are ``(label, color, kind, dash, marker)``."""
    spans = "".join(f"<span class='item'>{swatch_svg(c, kind, dash, marker)}{esc(label)}</span>"
                    for label, c, kind, dash, marker in items)
    return f"<div class='mlsyslab-key'>{spans}</div>"
