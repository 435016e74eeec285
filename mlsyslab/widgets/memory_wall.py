"""MemoryWall: where weights + KV-cache meet the device's memory, against batch and context.

Per GPU (symbols of :mod:`mlsyslab.solvers.serving_physics`)::

    M(B, S) = W + KV_tok x S x B,    W = P x b_w / t,    KV_tok = 2 x L x H_kv x d_h x b_kv

The first batch that runs out of memory at context S is ``floor((C - W) / (KV_tok x S)) + 1``
and the first context at batch B is ``floor((C - W) / (KV_tok x B)) + 1`` (C: capacity).
Both curves come from one vectorised :meth:`ServingSolver.sweep` each.
"""

from __future__ import annotations

import math

import bqplot as bq
import ipywidgets as w
import numpy as np
import traitlets

from ..solvers.serving import MAX_SEQ_LEN, ServingResult
from .style import mode_html
from .component import (Component, HardwareName, ModelName, PrecisionName, batch_trait, hold_sync,
                        seq_len_trait, tp_trait, unit_label)

MAX_BATCH_SHOWN = 4096


def _line_figure(title, x_scale, x_label, x_format=None):
    y_scale = bq.LinearScale(min=0.0)
    total = bq.Lines(x=[1.0], y=[0.0], scales={"x": x_scale, "y": y_scale}, colors=["#1f77b4"], stroke_width=2.5,
                     labels=["weights + KV-cache"], display_legend=True)
    weights = bq.Lines(x=[1.0], y=[0.0], scales={"x": x_scale, "y": y_scale}, colors=["#7f7f7f"],
                       line_style="dotted", labels=["weights"], display_legend=True)
    capacity = bq.Lines(x=[1.0], y=[0.0], scales={"x": x_scale, "y": y_scale}, colors=["#d62728"],
                        line_style="dashed", stroke_width=2, labels=["capacity"], display_legend=True)
    oom = bq.Scatter(x=[], y=[], scales={"x": x_scale, "y": y_scale}, colors=["#d62728"], marker="cross",
                     default_size=120, names=[], display_names=True, labels=["first OOM"],
                     tooltip=bq.Tooltip(fields=["x", "y"], formats=[".0f", ".1f"], labels=["at", "GB"]))
    fig = bq.Figure(marks=[total, weights, capacity, oom], title=title, legend_location="top-left",
                    axes=[bq.Axis(scale=x_scale, label=x_label, tick_format=x_format),
                          bq.Axis(scale=y_scale, side="left", label=unit_label("Memory per GPU", "GB"))],
                    fig_margin={"top": 40, "bottom": 45, "left": 60, "right": 15},
                    layout=w.Layout(width="420px", height="320px"))
    return fig, y_scale, total, weights, capacity, oom


class MemoryWall(Component):
    """Memory vs batch (at ``seq_len``) and vs context (at ``batch_size``) with the capacity line.

    Attributes
    ----------
    result : ServingResult
        At the current ``seq_len`` and ``batch_size``.
    first_oom_batch : int
        Smallest batch that does not fit at ``seq_len``.
    first_oom_seq_len : int
        Smallest context that does not fit at ``batch_size``.
    """

    model = ModelName("Llama3_8B")
    hardware = HardwareName("H100")
    seq_len = seq_len_trait(4096)
    batch_size = batch_trait(8)
    precision = PrecisionName("fp16")
    tensor_parallel = tp_trait(1)

    result = traitlets.Instance(ServingResult, allow_none=True, read_only=True)
    first_oom_batch = traitlets.Int(0, read_only=True)
    first_oom_seq_len = traitlets.Int(0, read_only=True)

    _inputs = ("model", "hardware", "seq_len", "batch_size", "precision", "tensor_parallel")

    def _build_view(self):
        (self.batch_figure, self.batch_y, self.batch_total, self.batch_weights, self.batch_capacity,
         self.batch_oom) = _line_figure("Memory vs batch", bq.LinearScale(min=0.0), "batch size (requests)")
        (self.context_figure, self.context_y, self.context_total, self.context_weights, self.context_capacity,
         self.context_oom) = _line_figure("Memory vs context", bq.LogScale(), unit_label("seq_len", "token"), "~s")
        self.readout = w.HTML().add_class("mlsyslab-readout")
        controls = self._controls("model", "hardware", "precision", "seq_len", "batch_size", "tensor_parallel")
        return w.VBox([controls, w.HBox([self.batch_figure, self.context_figure]), self.readout]
                      ).add_class("mlsyslab-memory-wall")

    def _refresh(self):
        solver = self.solver
        r = solver.solve(self.model, self.hardware, self.seq_len, self.batch_size, self.precision,
                         self.tensor_parallel)
        cap, W = r.capacity_bytes, r.weights_bytes
        kv_tok = r.raw["kv_per_seq"] / self.seq_len  # bytes per token of context, per sequence
        spare = cap - W
        first_b = int(spare // (kv_tok * self.seq_len)) + 1 if spare > 0 else 1
        first_s = int(spare // (kv_tok * self.batch_size)) + 1 if spare > 0 else 1
        self.set_trait("result", r)
        self.set_trait("first_oom_batch", first_b)
        self.set_trait("first_oom_seq_len", first_s)

        b_max = int(min(max(16, math.ceil(first_b * 1.6), self.batch_size * 1.2), MAX_BATCH_SHOWN))
        batches = np.unique(np.linspace(1, b_max, min(b_max, 400)).round())
        sb = solver.sweep(self.model, self.hardware, self.seq_len, batches, self.precision, self.tensor_parallel)
        s_max = int(min(max(32768, first_s * 2, self.seq_len * 2), MAX_SEQ_LEN))
        contexts = np.unique(np.geomspace(128, s_max, 200).round())
        ss = solver.sweep(self.model, self.hardware, contexts, self.batch_size, self.precision, self.tensor_parallel)
        gb = 1e-9
        self._draw(batches, sb.raw("total").ravel() * gb, W * gb, cap * gb, first_b, b_max,
                   W + kv_tok * self.seq_len * first_b, self.batch_total, self.batch_weights, self.batch_capacity,
                   self.batch_oom, self.batch_y, "B")
        self._draw(contexts, ss.raw("total").ravel() * gb, W * gb, cap * gb, first_s, s_max,
                   W + kv_tok * self.batch_size * first_s, self.context_total, self.context_weights,
                   self.context_capacity, self.context_oom, self.context_y, "S")
        self.readout.value = (
            f"<b>{r.model.key}</b> on <b>{r.hardware.key}</b> ({r.precision}, tp={r.tensor_parallel}): "
            f"weights {W * gb:.1f} GB, KV-cache {kv_tok * 1e-6:.3f} MB per token; capacity {cap * gb:.1f} GB. "
            f"First OOM: batch <b class='mlsyslab-first-oom-batch'>{first_b}</b> at seq_len={self.seq_len}; "
            f"seq_len <b class='mlsyslab-first-oom-seq-len'>{first_s}</b> at batch={self.batch_size}."
            + mode_html(self.efficiency))

    def _summary(self) -> str:
        return (f"first OOM at batch {self.first_oom_batch} (seq_len={self.seq_len}), "
                f"at seq_len {self.first_oom_seq_len} (batch={self.batch_size})")

    @staticmethod
    def _draw(x, total, weights, cap, first, x_max, first_total, l_total, l_weights, l_cap, oom, y_scale, sym):
        x0, x1 = float(x[0]), float(x[-1])
        with hold_sync(l_total, l_weights, l_cap, oom, y_scale):
            y_scale.max = float(max(cap, total.max()) * 1.1)
            l_total.x, l_total.y = x, total
            l_weights.x, l_weights.y = np.array([x0, x1]), np.array([weights, weights])
            l_cap.x, l_cap.y = np.array([x0, x1]), np.array([cap, cap])
            if first <= x_max:
                oom.x, oom.y, oom.names = np.array([float(first)]), np.array([first_total * 1e-9]), [f"{sym}={first}"]
            else:
                oom.x, oom.y, oom.names = np.array([]), np.array([]), []
