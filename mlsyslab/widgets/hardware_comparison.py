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

from .style import mode_html
from .component import (Component, HardwareName, InputError, ModelName, NameList, PrecisionName, batch_trait, hold_sync,
                        seq_len_trait, tp_trait, unit_label)

PREC_COLORS = ["#1f77b4", "#ff7f0e"]


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

    def _bar_figure(self, title, label):
        x, y = bq.OrdinalScale(), bq.LinearScale(min=0.0)
        bars = bq.Bars(x=["-"], y=[0.0], scales={"x": x, "y": y}, type="grouped", colors=PREC_COLORS,
                       display_legend=True, padding=0.2,
                       tooltip=bq.Tooltip(fields=["x", "y"], formats=["", ".4g"], labels=["device", label]))
        fig = bq.Figure(marks=[bars], title=title, axes=[bq.Axis(scale=x), bq.Axis(scale=y, side="left", label=label)],
                        legend_location="top-right", fig_margin={"top": 40, "bottom": 35, "left": 60, "right": 10},
                        layout=w.Layout(width="360px", height="300px"))
        return fig, bars

    def _build_view(self):
        self.ttft_figure, self.ttft_bars = self._bar_figure("Time to first token", unit_label("TTFT", "ms"))
        self.itl_figure, self.itl_bars = self._bar_figure("Inter-token latency", unit_label("ITL", "ms"))
        self.capacity_figure, self.capacity_bars = self._bar_figure(
            "Capacity at seq_len", unit_label("max batch", "dimensionless").replace(" ()", " (requests)"))
        controls = self._controls("model", "seq_len", "batch_size", "tensor_parallel")
        self.readout = w.HTML().add_class("mlsyslab-readout")
        return w.VBox([controls, w.HBox([self.ttft_figure, self.itl_figure, self.capacity_figure]), self.readout]
                      ).add_class("mlsyslab-hardware-comparison")

    def _refresh(self):
        rows = []
        for p in self.precisions:
            for h in self.hardware:
                r = self.solver.solve(self.model, h, self.seq_len, self.batch_size, p, self.tensor_parallel)
                rows.append({"hardware": r.hardware.key, "precision": p, "ttft_ms": r.ttft_s * 1e3,
                             "itl_ms": r.itl_s * 1e3, "max_batch": r.max_batch_size, "feasible": r.feasible})
        self.set_trait("table", rows)
        n_p, n_h = len(self.precisions), len(self.hardware)

        def grid(key):
            return np.array([row[key] for row in rows], dtype=float).reshape(n_p, n_h)

        devices = [row["hardware"] for row in rows[:n_h]]
        marks = (self.ttft_bars, self.itl_bars, self.capacity_bars)
        scales = [m.scales["y"] for m in marks]
        with hold_sync(*marks, *scales):
            for bars, key in zip(marks, ("ttft_ms", "itl_ms", "max_batch")):
                values = grid(key)
                bars.scales["y"].max = float(max(values.max(), 1e-9) * 1.35)  # headroom for the legend
                bars.x = devices
                bars.y = values
                bars.labels = list(self.precisions)
        body = "".join(f"<tr><td>{r['hardware']}</td><td>{r['precision']}</td><td>{r['ttft_ms']:.4g} ms</td>"
                       f"<td>{r['itl_ms']:.4g} ms</td><td>{r['max_batch']}</td>"
                       f"<td>{'' if r['feasible'] else 'OOM'}</td></tr>" for r in rows)
        self.readout.value = ("<table><tr><th>device</th><th>precision</th><th>TTFT</th><th>ITL</th>"
                              f"<th>max batch</th><th></th></tr>{body}</table>") + mode_html(self.efficiency)
