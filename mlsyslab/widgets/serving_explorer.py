"""ServingExplorer: TTFT, ITL, throughput and the memory of serving an LLM, one slider away.

Inputs (traits): ``model``, ``hardware``, ``seq_len`` (log-scale slider), ``batch_size``,
``precision``, ``tensor_parallel``, ``efficiency``. Output: ``result`` (a
:class:`~mlsyslab.ServingResult`) and ``oom`` (True past the memory wall).

The memory bar stacks, per GPU, ``W = P x b_w / t`` (weights), ``KV = 2 L H_kv d_h S B b_kv``
(KV-cache) and the free memory up to the device capacity (dashed line). Past the wall
(``W + KV > capacity``) the bar turns red and an OOM banner says by how much.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as w
import numpy as np
import traitlets

from ..solvers.serving import ServingResult
from ..units import format_bytes
from .style import mode_html
from .component import (TIME_UNITS, Component, HardwareName, ModelName, PrecisionName, batch_trait, fmt, hold_sync,
                        seq_len_trait, tp_trait, unit_label)

COLORS = {"weights": "#1f77b4", "kv": "#ff7f0e", "free": "#d9d9d9", "oom": "#d62728", "oom_dark": "#8c1c1c"}


class ServingExplorer(Component):
    """Explore LLM serving on one device (or a tensor-parallel group).

    All inputs are traits: set them from code or move the controls.

    Parameters
    ----------
    model : str
        A decoder LLM of the zoo (``"Llama3_8B"``).
    hardware : str
        A device of the zoo (``"H100"``).
    seq_len : int
        Context length S in tokens (slider on a log2 scale, 128 ... 131072).
    batch_size : int
        Concurrent requests B.
    precision : str
        Weight (and KV) precision.
    tensor_parallel : int
        GPUs the model is split across.

    Attributes
    ----------
    result : ServingResult
        The solver's answer for the current inputs.
    oom : bool
        ``not result.feasible``: weights + KV-cache exceed the device memory.
    """

    model = ModelName("Llama3_8B")
    hardware = HardwareName("H100")
    seq_len = seq_len_trait(4096)
    batch_size = batch_trait(1)
    precision = PrecisionName("fp16")
    tensor_parallel = tp_trait(1)

    result = traitlets.Instance(ServingResult, allow_none=True, read_only=True)
    oom = traitlets.Bool(False, read_only=True)

    _inputs = ("model", "hardware", "seq_len", "batch_size", "precision", "tensor_parallel")

    # ------------------------------------------------------------------ view
    def _build_view(self):
        self.readout = w.HTML().add_class("mlsyslab-readout")
        self.banner = w.HTML(layout=w.Layout(display="none")).add_class("mlsyslab-oom")

        self.x_scale = bq.OrdinalScale()
        self.y_scale = bq.LinearScale(min=0.0)
        self.bars = bq.Bars(x=["per GPU"], y=np.zeros((3, 1)), scales={"x": self.x_scale, "y": self.y_scale},
                            type="stacked", colors=[COLORS["weights"], COLORS["kv"], COLORS["free"]],
                            labels=["weights", "KV-cache", "free"], display_legend=True, padding=0.35,
                            tooltip=bq.Tooltip(fields=["y"], formats=[".2f"], labels=["GB"]))
        self.line_scale = bq.LinearScale(min=0.0, max=1.0)
        self.capacity_line = bq.Lines(x=[0.0, 1.0], y=[0.0, 0.0], scales={"x": self.line_scale, "y": self.y_scale},
                                      colors=["black"], line_style="dashed", stroke_width=2,
                                      labels=["capacity"], display_legend=True)
        self.memory_axis = bq.Axis(scale=self.y_scale, side="left", label=unit_label("Memory", "GB"),
                                   tick_format=".0f")
        self.figure = bq.Figure(marks=[self.bars, self.capacity_line],
                                axes=[bq.Axis(scale=self.x_scale), self.memory_axis],
                                title="Memory per GPU", legend_location="top-left",
                                fig_margin={"top": 40, "bottom": 30, "left": 60, "right": 10},
                                layout=w.Layout(width="320px", height="360px"))
        controls = self._controls("model", "hardware", "precision", "seq_len", "batch_size", "tensor_parallel")
        return w.VBox([w.HBox([controls, self.figure]), self.banner, self.readout]).add_class("mlsyslab-serving-explorer")

    # ------------------------------------------------------------------ model -> view
    def _refresh(self):
        r = self.solver.solve(self.model, self.hardware, self.seq_len, self.batch_size, self.precision,
                              self.tensor_parallel)
        self.set_trait("result", r)
        self.set_trait("oom", not r.feasible)
        gb = 1e-9
        cap = r.capacity_bytes * gb
        weights, kv, free = r.weights_bytes * gb, r.kv_bytes * gb, r.raw["free"] * gb
        top = max(cap, weights + kv) * 1.45  # headroom: the legend sits above the bar
        colors = ([COLORS["oom_dark"], COLORS["oom"], COLORS["free"]] if self.oom
                  else [COLORS["weights"], COLORS["kv"], COLORS["free"]])
        with hold_sync(self.bars, self.capacity_line, self.y_scale):
            self.y_scale.max = top
            self.bars.y = np.array([[weights], [kv], [free]])
            self.bars.colors = colors
            self.capacity_line.y = np.array([cap, cap])
        self.readout.value = self._readout_html(r) + mode_html(self.efficiency)
        if self.oom:
            self.banner.value = ("<div style='background:#d62728;color:white;padding:6px 10px;font-weight:bold'>"
                                 f"OOM: needs {format_bytes(r.total_bytes)} per GPU, over "
                                 f"{r.hardware.key}'s {format_bytes(r.capacity_bytes)} by "
                                 f"{format_bytes(r.total_bytes - r.capacity_bytes)}; largest batch that fits: "
                                 f"{r.max_batch_size}.</div>")
            self.banner.layout.display = None
        else:
            self.banner.layout.display = "none"
            self.banner.value = ""

    def _summary(self) -> str:
        r = self.result
        return (f"TTFT {fmt(r.ttft, TIME_UNITS)}, ITL {fmt(r.itl, TIME_UNITS)}, memory "
                f"{r.total_bytes / 1e9:.1f} of {r.capacity_bytes / 1e9:.1f} GB" + (" (OOM)" if self.oom else ""))

    @staticmethod
    def _readout_html(r: ServingResult) -> str:
        rows = (
            ("TTFT", fmt(r.ttft, TIME_UNITS), f"{r.prefill_bottleneck}-bound"),
            ("ITL", fmt(r.itl, TIME_UNITS), f"{r.decode_bottleneck}-bound"),
            ("Decode throughput", fmt(r.decode_throughput, "token/s", ".4g"), f"batch {r.batch_size}"),
            ("Memory", f"{fmt(r.total_memory_required, 'GB')} of {fmt(r.capacity, 'GB')} ({r.capacity:.4g~P})",
             f"{r.memory_utilization:.1%}" + ("" if r.feasible else " OOM")),
        )
        body = "".join(f"<tr><th style='text-align:left;padding-right:12px'>{k}</th>"
                       f"<td class='mlsyslab-{k.split()[0].lower()}'>{v}</td>"
                       f"<td style='color:#666;padding-left:12px'>{note}</td></tr>" for k, v, note in rows)
        return f"<table>{body}</table>"
