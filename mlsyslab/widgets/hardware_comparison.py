"""HardwareComparison: TTFT, ITL and capacity of one serving job across devices.

For each device and precision, :class:`~mlsyslab.ServingSolver` gives TTFT and ITL at
(``seq_len``, ``batch_size``); capacity is the largest batch that fits at ``seq_len``,
``floor((C - W) / KV_per_sequence)``. Bars are grouped by precision (one or two).
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as w
import numpy as np
import traitlets

from .component import (Component, HardwareName, InputError, ModelName, NameList, PrecisionName, batch_trait, hold_sync,
                        seq_len_trait, tp_trait)
from .figures import figure, set_y_axis
from .style import (CSS, FOREGROUND, TIME_STEPS, bytes_text, distinct_colors, esc, key_html, linear_ticks, mode_html,
                    scaled_unit, table_html, text_px, time_text)

HEIGHT = 300
MARGIN = {"top": 40, "bottom": 40, "left": 60, "right": 12}
OPACITY = [1.0, 0.45]  # first precision solid, second pale (named in the key and the table)
TIME_AXIS_UNITS = (*((u, f) for u, f in TIME_STEPS), ("min", 60.0))


class HardwareComparison(Component):
    """Bars of TTFT (ms), ITL (ms) and capacity (max batch) for ``hardware`` x ``precisions``.

    Attributes
    ----------
    table : list of dict
        One row per (device, precision): ``hardware, precision, ttft_ms, itl_ms, max_batch, feasible``.
    """

    hardware = NameList(HardwareName(), default_value=["A100", "H100", "H200", "B200", "MI300X"])
    precisions = NameList(PrecisionName(), default_value=["fp16"])
    model = ModelName("Llama3_8B")
    seq_len = seq_len_trait(4096)
    batch_size = batch_trait(1)
    tensor_parallel = tp_trait(1)

    table = traitlets.List(read_only=True)

    _inputs = ("hardware", "precisions", "model", "seq_len", "batch_size", "tensor_parallel")

    def __init__(self, hardware=None, precisions=None, **kwargs):
        if isinstance(precisions, str):
            precisions = [precisions]
        if hardware is not None:
            kwargs["hardware"] = [hardware] if isinstance(hardware, str) else hardware
        if precisions is not None:
            kwargs["precisions"] = precisions
        super().__init__(**kwargs)

    @traitlets.validate("hardware", "precisions")
    def _sizes(self, proposal):
        name, v = proposal["trait"].name, proposal["value"]
        if not v or (name == "precisions" and len(v) > 2):
            raise InputError(f"{name}={v!r} is not allowed; give " + ("one or two precisions." if name == "precisions"
                             else "at least one device."), field=name, value=v,
                             allowed="1 or 2 precisions" if name == "precisions" else "a non-empty list")
        return v

    def _bar_figure(self, title):
        x, y = bq.OrdinalScale(), bq.LinearScale(min=0.0, max=1.0)
        bars = bq.Bars(x=["-"], y=[0.0], scales={"x": x, "y": y}, type="grouped", colors=[FOREGROUND],
                       color_mode="group", opacity_mode="element", opacities=OPACITY, stroke=FOREGROUND,
                       display_legend=False, padding=0.2,
                       tooltip=bq.Tooltip(fields=["x", "y"], formats=["", ",.3~r"], labels=["device", title]))
        y_axis = bq.Axis(scale=y, side="left", label="")
        x_axis = bq.Axis(scale=x, label="")
        fig = figure([bars], [x_axis, y_axis], title, 360, HEIGHT, MARGIN)
        fig.y_axis, fig.x_axis = y_axis, x_axis
        return fig, bars

    @staticmethod
    def _note(fig, bars, text):
        """A sentence across the middle of an empty figure (every device OOM)."""
        label = getattr(fig, "note_label", None)
        if label is None:
            label = bq.Label(x=[0.5], y=[0.5], text=[""], scales={"x": bq.LinearScale(min=0.0, max=1.0),
                                                                   "y": bq.LinearScale(min=0.0, max=1.0)},
                             align="middle", default_size=13, font_weight="bold", colors=[FOREGROUND])
            fig.note_label = label
            fig.marks = [*fig.marks, label]
        label.text = [text]

    def _build_view(self):
        self.ttft_figure, self.ttft_bars = self._bar_figure("Time to first token")
        self.itl_figure, self.itl_bars = self._bar_figure("Inter-token latency")
        self.capacity_figure, self.capacity_bars = self._bar_figure("Capacity at seq_len")
        controls = self._controls("model", "seq_len", "batch_size", "tensor_parallel")
        self.key = w.HTML().add_class("mlsyslab-key-box")
        self.readout = w.HTML().add_class("mlsyslab-readout")
        figures = w.HBox([self.ttft_figure, self.itl_figure, self.capacity_figure],
                         layout=w.Layout(flex_flow="row wrap"))
        return w.VBox([controls, figures, self.key, self.readout]).add_class("mlsyslab-hardware-comparison")

    def _refresh(self):
        rows = []
        for p in self.precisions:
            for h in self.hardware:
                r = self.solver.solve(self.model, h, self.seq_len, self.batch_size, p, self.tensor_parallel)
                rows.append({"hardware": r.hardware.key, "precision": p, "ttft_ms": r.ttft_s * 1e3,
                             "itl_ms": r.itl_s * 1e3, "max_batch": r.max_batch_size, "feasible": r.feasible,
                             "total_bytes": r.total_bytes, "capacity_bytes": r.capacity_bytes})
        self.set_trait("table", rows)
        n_p, n_h = len(self.precisions), len(self.hardware)
        devices = [row["hardware"] for row in rows[:n_h]]
        oom_anywhere = [any(not rows[k * n_h + j]["feasible"] for k in range(n_p)) for j in range(n_h)]
        names = [f"{d} (OOM)" if oom else d for d, oom in zip(devices, oom_anywhere)]
        slot = max(62.0, max(text_px(n) for n in names) + 14)
        width = int(max(400, MARGIN["left"] + MARGIN["right"] + slot * n_h))  # two side by side in a notebook

        def grid(key):  # an infeasible configuration has no latency bar: it does not run
            return np.array([row[key] if row["feasible"] or key == "max_batch" else 0.0 for row in rows],
                            dtype=float).reshape(n_p, n_h)

        self.y_units = {}  # per bar mark: (unit, seconds per unit) the bars are drawn in
        figs = (self.ttft_figure, self.itl_figure, self.capacity_figure)
        marks = (self.ttft_bars, self.itl_bars, self.capacity_bars)
        for fig, bars, key in zip(figs, marks, ("ttft_ms", "itl_ms", "max_batch")):
            values = grid(key)
            top = float(values.max()) if values.size else 0.0
            if top <= 0:  # nothing fits anywhere: an empty axis in seconds, the ticks say (OOM)
                top = 1e3
            if key == "max_batch":
                unit, factor, label = "requests", 1.0, "max batch (requests)"
            else:
                unit, factor = scaled_unit(top * 1e-3, TIME_AXIS_UNITS)
                factor = factor * 1e3  # the grid is in ms
                label = f"{'TTFT' if key == 'ttft_ms' else 'ITL'} ({unit})"
            self.y_units[key.replace("_ms", "")] = (unit, factor * 1e-3)
            shown = values / factor
            ticks = linear_ticks(max(float(shown.max()), top / factor), 5)
            if ticks[-1] < shown.max():
                ticks.append(ticks[-1] + (ticks[1] - ticks[0]))
            with hold_sync(bars, bars.scales["y"], fig.x_axis):
                bars.scales["y"].min, bars.scales["y"].max = 0.0, float(ticks[-1])
                bars.x = names
                bars.y = shown if n_p > 1 else shown[0]
                bars.colors = distinct_colors(devices)  # colour per device (x), opacity per precision
                bars.opacities = OPACITY[:n_p]
            set_y_axis(fig.y_axis, ticks, label, figure_=fig)
            fig.layout.width = f"{width}px"
        self.key.value = CSS + key_html(
            [(f"{p}: {'solid' if k == 0 else 'pale'} bars" if n_p > 1 else f"{p} (bar colour: the device)",
              FOREGROUND, "bar" if k == 0 else "bar-pale", "", "") for k, p in enumerate(self.precisions)]
            + ([("(OOM) after a device: it does not fit in memory, so it has no latency bar", FOREGROUND, "text", "",
                 "")] if any(oom_anywhere) else []))
        for fig, bars in ((self.ttft_figure, self.ttft_bars), (self.itl_figure, self.itl_bars)):
            note = "Does not fit on any device: nothing runs" if all(oom_anywhere) else ""
            self._note(fig, bars, note)

        def fit_text(r):
            if r["feasible"]:
                return "fits"
            return (f"<span class='mlsyslab-infeasible'>OOM</span>: needs {bytes_text(r['total_bytes'])} of "
                    f"{bytes_text(r['capacity_bytes'])}")

        def t(r, key):  # an infeasible configuration does not run: no latency
            return time_text(r[key] * 1e-3) if r["feasible"] else "&ndash;"

        table = [(esc(r["hardware"]), esc(r["precision"]), t(r, "ttft_ms"), t(r, "itl_ms"), f"{r['max_batch']:,}",
                  fit_text(r)) for r in rows]
        self.readout.value = CSS + table_html(
            f"{self.model} at seq_len {self.seq_len:,}, batch {self.batch_size}, tensor_parallel "
            f"{self.tensor_parallel}", ["device", "precision", "TTFT", "ITL", "max batch", "memory"], table,
            numeric=(2, 3, 4)) + mode_html(self.efficiency)
