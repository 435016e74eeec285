"""RooflinePlot: log-log roofline of one or more devices, workloads as points, ridges marked.

Attainable performance at arithmetic intensity I (FLOP/byte)::

    P(I) = min(peak, BW x I),      ridge R = peak / BW

Device curves come from :func:`mlsyslab.roofline`; workload points from
:meth:`mlsyslab.Engine.solve` (one forward pass: prefill for an LLM) and, for decoder LLMs,
one decode step of :class:`~mlsyslab.ServingSolver` (``F_dec / M_dec``), placed on the first
device's roof. Hovering a point shows its name, intensity and attainable FLOP/s.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as w
import numpy as np
import traitlets

from ..solvers.roofline import Engine, roofline
from ..zoo import Models
from .style import mode_html
from .component import (Component, HardwareName, InputError, ModelName, NameList, PrecisionName, batch_trait, hold_sync,
                        seq_len_trait, unit_label)

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


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
        self.x_scale = bq.LogScale()
        self.y_scale = bq.LogScale()
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.roofs = bq.Lines(x=[1.0], y=[1.0], scales=scales, stroke_width=2.5, display_legend=True)
        self.ridge_marks = bq.Scatter(x=[], y=[], scales=scales, marker="diamond", colors=["black"],
                                      default_size=60, names=[], display_names=False,
                                      tooltip=bq.Tooltip(fields=["name", "x", "y"], formats=["", ".1f", ".4g"],
                                                         labels=["ridge of", "FLOP/B", "TFLOP/s"]))
        self.workload_marks = bq.Scatter(x=[], y=[], scales=scales, colors=["#d62728"], default_size=80,
                                         names=[], display_names=True,
                                         tooltip=bq.Tooltip(fields=["name", "x", "y"], formats=["", ".4~g", ".4~g"],
                                                            labels=["workload", "FLOP/B", "TFLOP/s"]))
        self.figure = bq.Figure(
            marks=[self.roofs, self.ridge_marks, self.workload_marks], title="Roofline",
            axes=[bq.Axis(scale=self.x_scale, label=unit_label("Arithmetic intensity", "FLOP/B"), tick_format="~g"),
                  bq.Axis(scale=self.y_scale, side="left", label=unit_label("Attainable", "TFLOP/s"),
                          tick_format="~g")],
            legend_location="bottom-right", fig_margin={"top": 40, "bottom": 45, "left": 65, "right": 100},
            layout=w.Layout(width="620px", height="420px"))
        controls = self._controls("precision", "seq_len", "batch_size")
        self.readout = w.HTML().add_class("mlsyslab-readout")
        return w.VBox([controls, self.figure, self.readout]).add_class("mlsyslab-roofline")

    def _refresh(self):
        I = np.logspace(-1, 4, 128)
        curves = [roofline(h, self.precision, I) for h in self.hardware]
        ridges = {c.hardware.key: float(c.ridge) for c in curves}
        first = curves[0]
        points = []
        for name in self.workloads:
            m = Models.get(name)
            r = Engine.solve(m, first.hardware, batch_size=self.batch_size, precision=self.precision,
                             seq_len=self.seq_len if m.is_transformer else None, efficiency=self.efficiency)
            label = f"{m.key} prefill" if m.is_llm else m.key
            points.append({"name": label, "intensity": float(r.raw["intensity"]),
                           "attainable": float(r.raw["attainable"]), "bound": r.bound})
            if m.is_llm:
                s = self.solver.solve(m, first.hardware, self.seq_len, self.batch_size, self.precision)
                ai = s.raw["flops_dec"] / s.raw["bytes_dec"]
                att = float(min(first.peak_flops, first.bandwidth_Bps * ai))
                points.append({"name": f"{m.key} decode", "intensity": float(ai), "attainable": att,
                               "bound": "compute" if ai >= first.ridge else "memory"})
        self.set_trait("ridges", ridges)
        self.set_trait("points", points)
        tf = 1e-12
        with hold_sync(self.roofs, self.ridge_marks, self.workload_marks):
            self.roofs.x = np.tile(I, (len(curves), 1))
            self.roofs.y = np.array([c.attainable_flops * tf for c in curves])
            self.roofs.colors = PALETTE[:len(curves)] if len(curves) <= len(PALETTE) else PALETTE
            self.roofs.labels = [f"{c.hardware.key} ({c.compute_precision})" for c in curves]
            self.ridge_marks.x = np.array([c.ridge for c in curves])
            self.ridge_marks.y = np.array([c.peak_flops * tf for c in curves])
            self.ridge_marks.names = [c.hardware.key for c in curves]
            self.workload_marks.x = np.array([p["intensity"] for p in points])
            self.workload_marks.y = np.array([p["attainable"] * tf for p in points])
            self.workload_marks.names = [p["name"] for p in points]
        rows = "".join(f"<tr><td>{p['name']}</td><td>{p['intensity']:.3g} FLOP/B</td>"
                       f"<td>{p['bound']}-bound on {first.hardware.key}</td></tr>" for p in points)
        ridge_txt = ", ".join(f"{k} {v:.0f} FLOP/B" for k, v in ridges.items())
        self.readout.value = f"<div>Ridge points: {ridge_txt}</div><table>{rows}</table>" + mode_html(self.efficiency)

    @traitlets.validate("hardware")
    def _nonempty(self, proposal):
        if not proposal["value"]:
            raise InputError("hardware=[] is empty; give at least one device.", field="hardware", value=[],
                             allowed="a non-empty list of device names")
        return proposal["value"]
