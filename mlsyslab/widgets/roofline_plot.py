"""RooflinePlot: log-log roofline of one or more devices, workloads as points, ridges marked.

Attainable performance at arithmetic intensity I (FLOP/byte)::

    P(I) = min(peak, BW x I),      ridge R = peak / BW

Device curves come from :func:`mlsyslab.roofline`; workload points from
:meth:`mlsyslab.Engine.solve` (one forward pass: prefill for an LLM) and, for decoder LLMs,
one decode step of :class:`~mlsyslab.ServingSolver` (``F_dec / M_dec``), placed on the first
device's roof. Hovering a point shows its name, intensity and attainable FLOP/s.
"""

from __future__ import annotations

import math

import bqplot as bq
import ipywidgets as w
import numpy as np
import traitlets

from ..solvers.roofline import Engine, roofline
from ..zoo import Models
from .component import (Component, HardwareName, InputError, ModelName, NameList, PrecisionName, batch_trait, hold_sync,
                        seq_len_trait)
from .figures import FONT_PX, figure, log_pos, place_labels, set_y_axis, thin_ticks
from .style import (CSS, FOREGROUND, ROLE_COLORS, bytes_text, distinct_styles, esc, key_html, log_ticks, mode_html,
                    num, rate_unit, si_text, table_html)

WIDTH, HEIGHT = 640, 420
MARGIN = {"top": 40, "bottom": 50, "left": 70, "right": 30}


class RooflinePlot(Component):
    """Roofline of ``hardware`` (a list of devices) at ``precision`` with ``workloads`` as points.

    Parameters
    ----------
    hardware : list of str
        Devices to draw (the first one is the roof the workloads are placed on).
    workloads : list of str
        Zoo models (any family). Decoder LLMs appear twice: prefill and one decode step.
    precision, batch_size, seq_len
        Of the workloads.

    Attributes
    ----------
    points : list of dict
        ``{"name", "intensity" (FLOP/B), "attainable" (FLOP/s), "bound"}`` per point.
    ridges : dict
        Device key -> ridge point (FLOP/B).
    """

    hardware = NameList(HardwareName(), default_value=["H100", "A100"])
    workloads = NameList(ModelName(llm_only=False), default_value=["Llama3_8B", "ResNet50"])
    precision = PrecisionName("fp16")
    batch_size = batch_trait(1)
    seq_len = seq_len_trait(2048)

    points = traitlets.List(read_only=True)
    ridges = traitlets.Dict(read_only=True)

    _inputs = ("hardware", "workloads", "precision", "batch_size", "seq_len")

    def __init__(self, hardware=None, workloads=None, **kwargs):  # a str is a one-item list
        if isinstance(hardware, str):
            hardware = [hardware]
        if isinstance(workloads, str):
            workloads = [workloads]
        if hardware is not None:
            kwargs["hardware"] = hardware
        if workloads is not None:
            kwargs["workloads"] = workloads
        super().__init__(**kwargs)

    def _build_view(self):
        self.x_scale = bq.LogScale(min=0.1, max=1e4)
        self.y_scale = bq.LogScale(min=0.1, max=1e3)
        self.scales = {"x": self.x_scale, "y": self.y_scale}
        self.x_axis = bq.Axis(scale=self.x_scale, label="Arithmetic intensity (FLOP/B)", label_offset="36px")
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", label="Attainable (TFLOP/s)")
        self.ridge_marks = bq.Scatter(x=[], y=[], scales=self.scales, marker="diamond", colors=[FOREGROUND],
                                      default_size=64, stroke=FOREGROUND,
                                      tooltip=bq.Tooltip(fields=["x", "y"], formats=[",.3~r", ",.3~r"],
                                                         labels=["ridge (FLOP/B)", "peak"]))
        self.workload_marks = bq.Scatter(x=[], y=[], scales=self.scales, colors=[ROLE_COLORS["workload"]],
                                         default_size=64, stroke=FOREGROUND, names=[], display_names=False,
                                         tooltip=bq.Tooltip(fields=["name", "x", "y"], formats=["", ",.3~r", ",.3~r"],
                                                            labels=["workload", "FLOP/B", "attainable"]))
        self.roof_marks = []
        self.label_marks = []
        self.figure = figure([self.ridge_marks, self.workload_marks], [self.x_axis, self.y_axis], "Roofline",
                             WIDTH, HEIGHT, MARGIN)
        self.key = w.HTML().add_class("mlsyslab-key-box")
        controls = self._controls("precision", "seq_len", "batch_size")
        self.readout = w.HTML().add_class("mlsyslab-readout")
        return w.VBox([controls, self.figure, self.key, self.readout]).add_class("mlsyslab-roofline")

    def _refresh(self):
        probe = [roofline(h, self.precision, [1.0]) for h in self.hardware]
        first = probe[0]
        first_hw = first.hardware
        points = []
        for name in self.workloads:
            m = Models.get(name)
            r = Engine.solve(m, first_hw, batch_size=self.batch_size, precision=self.precision,
                             seq_len=self.seq_len if m.is_transformer else None, efficiency=self.efficiency)
            label = f"{m.key} prefill" if m.is_llm else m.key
            # does it fit in the first device's memory? (an LLM: weights + KV-cache at seq_len x batch)
            s = self.solver.solve(m, first_hw, self.seq_len, self.batch_size, self.precision) if m.is_llm else None
            fits, need = ((s.feasible, s.total_bytes) if s is not None
                          else (bool(r.feasible), float(r.raw["memory_required"])))
            points.append({"name": label, "intensity": float(r.raw["intensity"]),
                           "attainable": float(r.raw["attainable"]), "bound": r.bound, "fits": fits, "memory": need})
            if m.is_llm:
                ai = s.raw["flops_dec"] / s.raw["bytes_dec"]
                att = float(min(first.peak_flops, first.bandwidth_Bps * ai))
                points.append({"name": f"{m.key} decode", "intensity": float(ai), "attainable": att,
                               "bound": "compute" if ai >= first.ridge else "memory", "fits": fits, "memory": need})
        ridges = {c.hardware.key: float(c.ridge) for c in probe}
        xs = [p["intensity"] for p in points] + list(ridges.values())
        lo = min(0.1, 10.0 ** math.floor(math.log10(min(xs) / 1.3)))
        hi = max(1e4, 10.0 ** math.ceil(math.log10(max(xs) * 1.3)))
        I = np.geomspace(lo, hi, 160)
        curves = [roofline(h, self.precision, I) for h in self.hardware]
        self.set_trait("ridges", ridges)
        self.set_trait("points", points)

        peak_max = max(float(c.peak_flops) for c in curves)
        y_lo_raw = min([float(c.attainable_flops[0]) for c in curves] + [p["attainable"] for p in points])
        unit, unit_scale = rate_unit(max(p["attainable"] for p in points) if points else peak_max)  # the table's
        scale = 1.0  # the plot is in FLOP/s, ticks written with SI prefixes (1T = 1 TFLOP/s)
        y_hi = peak_max * 2.5
        y_lo = max(10.0 ** math.floor(math.log10(y_lo_raw)), 10.0 ** math.floor(math.log10(y_hi / 1e9)))
        plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
        x_ticks = thin_ticks(log_ticks(lo, hi, 9), plot_w, log_pos(lo, hi, plot_w), room=MARGIN["right"])
        y_ticks = log_ticks(y_lo, y_hi, 8)
        styles = distinct_styles([c.hardware.key for c in curves])
        grow = len(curves) != len(self.roof_marks) or len(points) != len(self.label_marks)
        if grow:  # marks are made when the number of devices or points changes, else updated in place
            old = [*self.roof_marks, *self.label_marks]
            self.roof_marks = [bq.Lines(x=[1.0], y=[1.0], scales=self.scales, stroke_width=2.5) for _ in curves]
            self.label_marks = [bq.Label(x=[1.0], y=[1.0], text=[""], scales=self.scales, default_size=FONT_PX,
                                         font_weight="bold", colors=[FOREGROUND], apply_clip=False) for _ in points]
        for line, c, st in zip(self.roof_marks, curves, styles):
            with line.hold_sync():
                line.x, line.y = I, np.maximum(c.attainable_flops / scale, y_lo)
                line.colors, line.line_style, line.labels = [st["color"]], st["dash"], [c.hardware.key]
        wl_x = np.array([p["intensity"] for p in points])
        wl_y = np.array([p["attainable"] / scale for p in points])
        numbers = [str(i + 1) for i in range(len(points))]
        tags = [n if p["fits"] else f"{n} OOM" for n, p in zip(numbers, points)]  # infeasible said in the plot
        left = MARGIN["left"]
        set_y_axis(self.y_axis, y_ticks, "Attainable (FLOP/s)", fmt=si_text, figure_=self.figure, tick_format="~s")
        left = self.figure.fig_margin["left"]
        plot_w = WIDTH - left - MARGIN["right"]
        plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
        px, py = log_pos(lo, hi, plot_w), log_pos(y_lo / 2.0, y_hi, plot_h)
        to_px = [(px(x), plot_h - py(max(y, y_lo))) for x, y in zip(wl_x, wl_y)]
        ridge_px = [(px(c.ridge), plot_h - py(c.peak_flops / scale)) for c in curves]
        obstacles = [(x - 8, y - 8, x + 8, y + 8) for x, y in ridge_px]
        choices = place_labels(to_px, tags, plot_w, plot_h, obstacles)
        for label, x, y, t, c in zip(self.label_marks, wl_x, wl_y, tags, choices):
            with label.hold_sync():
                if c is None:  # no free place: the number stays in the table only
                    label.text = [""]
                else:
                    label.x, label.y, label.text = [float(x)], [float(max(y, y_lo))], [t]
                    label.x_offset, label.y_offset, label.align = int(c[0]), int(c[1]), c[2]
        with hold_sync(self.ridge_marks, self.workload_marks, self.x_scale, self.y_scale, self.x_axis):
            self.x_scale.min, self.x_scale.max = float(lo), float(hi)
            self.y_scale.min, self.y_scale.max = float(y_lo / 2.0), float(y_hi)  # the lowest tick clears the x ticks
            self.x_axis.tick_values = x_ticks
            self.x_axis.tick_format = ",.3~r"
            self.ridge_marks.x = np.array([c.ridge for c in curves])
            self.ridge_marks.y = np.array([c.peak_flops / scale for c in curves])
            self.ridge_marks.colors = [st["color"] for st in styles]
            self.workload_marks.x = wl_x
            self.workload_marks.y = np.maximum(wl_y, y_lo)
            self.workload_marks.names = [p["name"] for p in points]
        self.figure.title = f"Roofline ({self.precision}; points placed on {first_hw.key})"
        if grow:
            self.figure.marks = [*self.roof_marks, self.ridge_marks, self.workload_marks, *self.label_marks]
            for m in old:
                m.close()
        self.key.value = CSS + key_html(
            [(f"{c.hardware.key} ({c.compute_precision}): ridge {num(c.ridge)} FLOP/B", st["color"], "line",
              st["dash"], "") for c, st in zip(curves, styles)]
            + [("ridge point (in the device's colour)", FOREGROUND, "marker", "", "diamond"),
               ("workload (numbered as in the table; OOM: does not fit in "
                f"{first_hw.key}'s {bytes_text(first_hw.memory_bytes)})", ROLE_COLORS["workload"], "marker", "",
                "circle")])

        def fit(p):
            return ("fits" if p["fits"] else f"<span class='mlsyslab-infeasible'>OOM</span>: needs "
                    f"{bytes_text(p['memory'])} of {bytes_text(first_hw.memory_bytes)}")

        rows = [(esc(n), esc(p["name"]), num(p["intensity"]), num(p["attainable"] / unit_scale),
                 f"{p['bound']}-bound", fit(p)) for n, p in zip(numbers, points)]
        self.readout.value = CSS + table_html(
            f"Workloads on the {first_hw.key} roofline ({self.precision}, batch {self.batch_size}, "
            f"seq_len {self.seq_len:,})",
            ["#", "workload", "intensity (FLOP/B)", f"attainable ({unit})", f"bound on {first_hw.key}", "memory"],
            rows, numeric=(2, 3)) + mode_html(self.efficiency)

    @property
    def roofs(self):
        """The roof line of the first device (each device has its own ``Lines`` mark: ``roof_marks``)."""
        return self.roof_marks[0]

    @traitlets.validate("hardware")
    def _nonempty(self, proposal):
        if not proposal["value"]:
            raise InputError("hardware=[] is empty; give at least one device.", field="hardware", value=[],
                             allowed="a non-empty list of device names")
        return proposal["value"]
