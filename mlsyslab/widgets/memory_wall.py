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
from .component import (Component, HardwareName, ModelName, PrecisionName, batch_trait, hold_sync, seq_len_trait,
                        tp_trait)
from .figures import FONT_PX, figure, lin_pos, log_pos, place_labels, set_y_axis, thin_ticks
from .style import (BYTE_UNITS, CSS, FOREGROUND, ROLE_COLORS, bytes_text, esc, key_html, linear_ticks, log_ticks,
                    mode_html, scaled_unit, si_text, table_html)

MAX_BATCH_SHOWN = 4096
WIDTH, HEIGHT = 410, 320  # two side by side in a notebook (~850 px of output width)
MARGIN = {"top": 40, "bottom": 50, "left": 60, "right": 24}


def _line_figure(title, x_scale, x_label):
    y_scale = bq.LinearScale(min=0.0, max=1.0)
    sc = {"x": x_scale, "y": y_scale}
    total = bq.Lines(x=[1.0], y=[0.0], scales=sc, colors=[ROLE_COLORS["kv"]], stroke_width=3,
                     labels=["weights + KV-cache"])
    weights = bq.Lines(x=[1.0], y=[0.0], scales=sc, colors=[ROLE_COLORS["weights"]], line_style="dash_dotted",
                       stroke_width=2.5, labels=["weights"])
    capacity = bq.Lines(x=[1.0], y=[0.0], scales=sc, colors=[FOREGROUND], line_style="dashed", stroke_width=2,
                        labels=["capacity"])
    oom = bq.Scatter(x=[], y=[], scales=sc, colors=[ROLE_COLORS["oom"]], marker="cross", default_size=120,
                     stroke=FOREGROUND, names=[], display_names=False,
                     tooltip=bq.Tooltip(fields=["x", "y"], formats=[",.0f", ",.3~r"], labels=["first OOM at", "memory"]))
    x_axis = bq.Axis(scale=x_scale, label=x_label, label_offset="36px")
    y_axis = bq.Axis(scale=y_scale, side="left", label="Memory per GPU (GB)")
    fig = figure([weights, capacity, total, oom], [x_axis, y_axis], title, WIDTH, HEIGHT, MARGIN)
    fig.x_axis, fig.y_axis = x_axis, y_axis
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
         self.batch_oom) = _line_figure("Memory vs batch", bq.LinearScale(min=1.0, max=16.0), "batch size (requests)")
        (self.context_figure, self.context_y, self.context_total, self.context_weights, self.context_capacity,
         self.context_oom) = _line_figure("Memory vs context", bq.LogScale(min=128.0, max=32768.0),
                                          "seq_len (tokens)")
        self.key = w.HTML().add_class("mlsyslab-key-box")
        self.readout = w.HTML().add_class("mlsyslab-readout")
        controls = self._controls("model", "hardware", "precision", "seq_len", "batch_size", "tensor_parallel")
        figures = w.HBox([self.batch_figure, self.context_figure], layout=w.Layout(flex_flow="row wrap"))
        return w.VBox([controls, figures, self.key, self.readout]).add_class("mlsyslab-memory-wall")

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
        unit, per = scaled_unit(max(cap, W), BYTE_UNITS)  # GB on a GPU, MB on a microcontroller
        self.memory_unit = (unit, per)  # the curves are drawn in `unit` = `per` bytes
        gb = 1.0 / per
        fits = spare > 0
        self._draw(self.batch_figure, batches, sb.raw("total").ravel() * gb, W * gb, cap * gb, first_b,
                   (W + kv_tok * self.seq_len * first_b) * gb, self.batch_total, self.batch_weights,
                   self.batch_capacity, self.batch_oom, self.batch_y, "B", log_x=False, fits=fits, unit=unit)
        self._draw(self.context_figure, contexts, ss.raw("total").ravel() * gb, W * gb, cap * gb, first_s,
                   (W + kv_tok * self.batch_size * first_s) * gb, self.context_total, self.context_weights,
                   self.context_capacity, self.context_oom, self.context_y, "S", log_x=True, fits=fits, unit=unit)
        self.key.value = CSS + key_html([
            ("weights + KV-cache", ROLE_COLORS["kv"], "line", "solid", ""),
            ("weights", ROLE_COLORS["weights"], "line", "dash_dotted", ""),
            (f"capacity of {r.hardware.key} ({bytes_text(cap)})", FOREGROUND, "line", "dashed", ""),
            ("first OOM", ROLE_COLORS["oom"], "marker", "", "cross")])
        if fits:
            verdict = (f"First OOM: batch <b class='mlsyslab-first-oom-batch'>{first_b}</b> at seq_len "
                       f"{self.seq_len:,}; seq_len <b class='mlsyslab-first-oom-seq-len'>{first_s:,}</b> at batch "
                       f"{self.batch_size}.")
            status = "fits" if r.feasible else "<span class='mlsyslab-infeasible'>OOM</span>"
        else:
            tp_fit = next((t for t in (2, 4, 8, 16) if W * self.tensor_parallel / t < cap), None)
            verdict = (f"<span class='mlsyslab-infeasible'>Does not fit:</span> the weights alone "
                       f"({bytes_text(W)}) exceed the {bytes_text(cap)} of one {esc(r.hardware.key)}"
                       + (f"; tensor_parallel={tp_fit} would split them to "
                          f"{bytes_text(W * self.tensor_parallel / tp_fit)} "
                          "per GPU." if tp_fit else ".")
                       + " First OOM: batch <b class='mlsyslab-first-oom-batch'>1</b>, seq_len "
                       "<b class='mlsyslab-first-oom-seq-len'>1</b>.")
            status = "<span class='mlsyslab-infeasible'>OOM</span>"
        rows = [("weights", bytes_text(W), ""), ("KV-cache per token", bytes_text(kv_tok), "per sequence"),
                (f"at batch {self.batch_size}, seq_len {self.seq_len:,}", bytes_text(r.total_bytes), status),
                ("capacity", bytes_text(cap), f"{r.hardware.key}")]
        self.readout.value = CSS + table_html(
            f"{r.model.key} on {r.hardware.key} ({r.precision}, tensor_parallel={r.tensor_parallel}), per GPU",
            ["memory", "size", "status"], rows, numeric=(1,)) + f"<div>{verdict}</div>" + mode_html(self.efficiency)

    def _summary(self) -> str:
        return (f"first OOM at batch {self.first_oom_batch} (seq_len={self.seq_len}), "
                f"at seq_len {self.first_oom_seq_len} (batch={self.batch_size})")

    @staticmethod
    def _draw(fig, x, total, weights, cap, first, first_total, l_total, l_weights, l_cap, oom, y_scale, sym, log_x,
              fits, unit="GB"):
        x0, x1 = float(x[0]), float(x[-1])
        y_top = float(max(cap, total.max()) * 1.12)
        y_ticks = linear_ticks(y_top, 6)
        y_top = max(y_top, y_ticks[-1])
        set_y_axis(fig.y_axis, y_ticks, f"Memory per GPU ({unit})", figure_=fig)
        plot_w = WIDTH - fig.fig_margin["left"] - MARGIN["right"]
        plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
        if log_x:
            x_ticks = thin_ticks(log_ticks(x0, x1, 8), plot_w, log_pos(x0, x1, plot_w), fmt=si_text,
                                 room=MARGIN["right"])
            px = log_pos(x0, x1, plot_w)
            fig.x_axis.tick_format = "~s"
        else:
            x_ticks = thin_ticks(linear_ticks(x1, 6, lo=0.0), plot_w, lin_pos(x0, x1, plot_w), room=MARGIN["right"])
            x_ticks = [t for t in x_ticks if t >= x0]
            px = lin_pos(x0, x1, plot_w)
            fig.x_axis.tick_format = ",.3~r"
        fig.x_axis.tick_values = x_ticks
        py = lin_pos(0.0, y_top, plot_h)
        label = getattr(fig, "oom_label", None)
        if label is None:  # one Label per figure, updated in place (text "" when there is nothing to say)
            label = fig.oom_label = bq.Label(x=[1.0], y=[0.0], text=[""], scales=dict(oom.scales),
                                             default_size=FONT_PX, font_weight="bold", colors=[FOREGROUND],
                                             apply_clip=False)
            fig.marks = [*fig.marks, label]
        shown = first <= x1
        choice, text = None, ""
        if shown:
            text = f"{sym}={first:,}" if fits else "does not fit"
            point = (px(float(first)), plot_h - py(first_total))
            cap_line = (0, plot_h - py(cap) - 2, plot_w, plot_h - py(cap) + 2)
            choice = place_labels([point], [text], plot_w, plot_h, [cap_line], marker_px=8)[0]
        with hold_sync(l_total, l_weights, l_cap, oom, y_scale, oom.scales["x"], label):
            if choice is not None:
                label.x, label.y, label.text = [float(first)], [float(first_total)], [text]
                label.x_offset, label.y_offset, label.align = int(choice[0]), int(choice[1]), choice[2]
            else:
                label.text = [""]
            oom.scales["x"].min, oom.scales["x"].max = x0, x1
            y_scale.min, y_scale.max = 0.0, y_top
            l_total.x, l_total.y = x, total
            l_weights.x, l_weights.y = np.array([x0, x1]), np.array([weights, weights])
            l_cap.x, l_cap.y = np.array([x0, x1]), np.array([cap, cap])
            if shown:
                oom.x, oom.y, oom.names = np.array([float(first)]), np.array([first_total]), [f"{sym}={first}"]
            else:
                oom.x, oom.y, oom.names = np.array([]), np.array([]), []
