"""ContextScaling: time to first token against context length, linear model vs full model.

The linear ("2PS") model counts only the matmuls of prefill, at the solver's effective peak::

    TTFT_lin(S) = 2 x P_a x S x B / (t x peak_eff)

The full model (:class:`~mlsyslab.ServingSolver`) adds causal attention, ``2 x L x S^2 x a x B``
FLOPs, the memory floor and per-layer overheads, so it bends upward at long context. The
readout gives the share of TTFT the linear model misses at the current ``seq_len``.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as w
import numpy as np
import traitlets

from ..solvers.serving import MAX_SEQ_LEN, ServingResult
from .component import (Component, HardwareName, ModelName, PositiveInt, PrecisionName, batch_trait, hold_sync,
                        seq_len_trait, tp_trait)
from .figures import FONT_PX, figure, lin_pos, set_y_axis, thin_ticks
from .style import (CSS, FOREGROUND, ROLE_COLORS, TIME_STEPS, bytes_text, esc, key_html, linear_ticks, mode_html,
                    scaled_unit, si_text, time_text)

WIDTH, HEIGHT = 580, 360
MARGIN = {"top": 40, "bottom": 50, "left": 60, "right": 30}
TIME_AXIS_UNITS = (*TIME_STEPS, ("min", 60.0))


class ContextScaling(Component):
    """TTFT vs ``seq_len`` up to ``max_seq_len``: the linear 2PS line and the full curve.

    Attributes
    ----------
    result : ServingResult
        At the current ``seq_len``.
    ttft_linear_s : float
        The 2PS estimate at ``seq_len``, seconds.
    attention_share : float
        ``1 - TTFT_lin / TTFT`` at ``seq_len``: what the linear model leaves out.
    """

    model = ModelName("Llama3_8B")
    hardware = HardwareName("H100")
    seq_len = seq_len_trait(8192)
    max_seq_len = PositiveInt(131072, unit="token", maximum=MAX_SEQ_LEN, help="right end of the S axis (tokens)")
    batch_size = batch_trait(1)
    precision = PrecisionName("fp16")
    tensor_parallel = tp_trait(1)

    result = traitlets.Instance(ServingResult, allow_none=True, read_only=True)
    ttft_linear_s = traitlets.Float(0.0, read_only=True)
    attention_share = traitlets.Float(0.0, read_only=True)

    _inputs = ("model", "hardware", "seq_len", "max_seq_len", "batch_size", "precision", "tensor_parallel")

    @traitlets.validate("max_seq_len")
    def _check_max(self, proposal):
        v = proposal["value"]
        if not 256 <= v <= MAX_SEQ_LEN:
            from .component import InputError
            raise InputError(f"max_seq_len={v!r} is not allowed; it must be between 256 and {MAX_SEQ_LEN}.",
                             field="max_seq_len", value=v, allowed=f"256 ... {MAX_SEQ_LEN}")
        return v

    def _build_view(self):
        self.x_scale = bq.LinearScale(min=0.0, max=131072.0)
        self.y_scale = bq.LinearScale(min=0.0, max=1.0)
        sc = {"x": self.x_scale, "y": self.y_scale}
        self.full_line = bq.Lines(x=[1.0], y=[0.0], scales=sc, colors=[ROLE_COLORS["full"]], stroke_width=3,
                                  labels=["full model (with attention)"])
        self.oom_line = bq.Lines(x=[], y=[], scales=sc, colors=[ROLE_COLORS["oom"]], stroke_width=3,
                                 line_style="dotted", labels=["does not fit (OOM)"])
        self.linear_line = bq.Lines(x=[1.0], y=[0.0], scales=sc, colors=[FOREGROUND], line_style="dashed",
                                    stroke_width=2, labels=["linear 2PS model"])
        self.current = bq.Scatter(x=[1.0], y=[0.0], scales=sc, colors=[FOREGROUND], default_size=70,
                                  stroke=FOREGROUND,
                                  tooltip=bq.Tooltip(fields=["x", "y"], formats=[",.0f", ",.3~r"],
                                                     labels=["seq_len", "TTFT"]))
        self.x_axis = bq.Axis(scale=self.x_scale, label="seq_len (tokens)", tick_format="~s", label_offset="36px")
        self.y_axis = bq.Axis(scale=self.y_scale, side="left", label="TTFT (s)")
        self.figure = figure([self.linear_line, self.full_line, self.oom_line, self.current],
                             [self.x_axis, self.y_axis], "TTFT vs context", WIDTH, HEIGHT, MARGIN)
        self.key = w.HTML().add_class("mlsyslab-key-box")
        self.readout = w.HTML().add_class("mlsyslab-readout")
        controls = self._controls("model", "hardware", "precision", "seq_len", "batch_size", "tensor_parallel")
        return w.VBox([controls, self.figure, self.key, self.readout]).add_class("mlsyslab-context-scaling")

    def _refresh(self):
        s = self.solver
        r = s.solve(self.model, self.hardware, self.seq_len, self.batch_size, self.precision, self.tensor_parallel)
        S = np.unique(np.linspace(128, max(self.max_seq_len, 256), 200).round())
        sw = s.sweep(self.model, self.hardware, S, self.batch_size, self.precision, self.tensor_parallel)
        eff_peak = r.raw["flops_pre"] / r.raw["t_pre_compute"]  # peak x eta_c used by the solver
        p_active = r.model.n_active_parameters
        B, tp = self.batch_size, self.tensor_parallel
        linear = 2.0 * p_active * S * B / tp / eff_peak
        lin_now = 2.0 * p_active * self.seq_len * B / tp / eff_peak
        self.set_trait("result", r)
        self.set_trait("ttft_linear_s", float(lin_now))
        self.set_trait("attention_share", float(1.0 - lin_now / r.ttft_s))
        full = sw.raw("ttft").ravel()
        feasible = np.asarray(sw.feasible).ravel().astype(bool)
        top_s = float(max(full.max(), linear.max(), r.ttft_s))
        unit, factor = scaled_unit(top_s, TIME_AXIS_UNITS)
        self.y_unit, self.y_factor = unit, factor  # the curves are drawn in y_unit = y_factor seconds
        y_ticks = linear_ticks(top_s / factor * 1.05, 6)
        if y_ticks[-1] < top_s / factor:
            y_ticks.append(y_ticks[-1] + y_ticks[1] - y_ticks[0])
        set_y_axis(self.y_axis, y_ticks, f"TTFT ({unit})", figure_=self.figure)
        x_hi = float(S[-1])
        plot_w = WIDTH - self.figure.fig_margin["left"] - MARGIN["right"]
        x_ticks = thin_ticks(linear_ticks(x_hi, 7), plot_w, lin_pos(0.0, x_hi, plot_w), fmt=si_text,
                             room=MARGIN["right"])
        # the part of the curve that does not fit in memory is drawn dotted, in the OOM colour
        first_bad = int(np.argmin(feasible)) if not feasible.all() else None
        labels = []
        if first_bad is not None:
            k = max(first_bad - 1, 0)
            oom_x, oom_y = S[k:], full[k:] / factor
            full_x, full_y = S[:first_bad], full[:first_bad] / factor
            where = (f"from seq_len {int(S[first_bad]):,}" if first_bad > 0 else "at any seq_len")
            labels.append(bq.Label(x=[0.0], y=[float(y_ticks[-1])], text=[f"OOM {where}"], scales=self.oom_line.scales,
                                   x_offset=10, y_offset=10, align="start", default_size=FONT_PX, font_weight="bold",
                                   colors=[FOREGROUND], apply_clip=False))
        else:
            oom_x, oom_y = np.array([]), np.array([])
            full_x, full_y = S, full / factor
        with hold_sync(self.full_line, self.linear_line, self.current, self.oom_line, self.x_scale, self.y_scale,
                       self.x_axis):
            self.x_scale.min, self.x_scale.max = 0.0, x_hi
            self.y_scale.min, self.y_scale.max = 0.0, float(y_ticks[-1])
            self.x_axis.tick_values = x_ticks
            self.full_line.x, self.full_line.y = full_x, full_y
            self.oom_line.x, self.oom_line.y = oom_x, oom_y
            self.linear_line.x, self.linear_line.y = S, linear / factor
            self.current.x, self.current.y = np.array([float(self.seq_len)]), np.array([r.ttft_s / factor])
        old = [m for m in self.figure.marks if isinstance(m, bq.Label)]
        self.figure.marks = [self.linear_line, self.full_line, self.oom_line, self.current, *labels]
        for m in old:
            m.close()
        self.key.value = CSS + key_html(
            ([("full model (with attention)", ROLE_COLORS["full"], "line", "solid", "")] if first_bad != 0 else [])
            + [("linear 2PS model", FOREGROUND, "line", "dashed", "")]
            + ([("does not fit in memory (OOM)", ROLE_COLORS["oom"], "line", "dotted", "")] if first_bad is not None
               else [])
            + [(f"seq_len {self.seq_len:,} (the control above)", FOREGROUND, "marker", "", "circle")])
        attn = 2.0 * r.model.layers * self.seq_len * r.model.attention_dim / (2.0 * p_active)
        fit = ("" if r.feasible else
               f"<div><span class='mlsyslab-infeasible'>Does not fit:</span> {esc(r.model.key)} at seq_len "
               f"{self.seq_len:,}, batch {B} needs {bytes_text(r.total_bytes)} per GPU, more than the "
               f"{bytes_text(r.capacity_bytes)} of {esc(r.hardware.key)} (tensor_parallel={tp}); the TTFT below is "
               "what it would take if it fitted.</div>")
        self.readout.value = CSS + fit + (
            f"<div>At seq_len={self.seq_len:,}: TTFT <b class='mlsyslab-ttft'>{time_text(r.ttft_s)}</b> "
            f"(full model) vs {time_text(lin_now)} "
            f"(linear 2PS); the linear model misses {self.attention_share:.1%} "
            f"(attention is {attn / (1.0 + attn):.1%} of the prefill FLOPs at this context: "
            f"2 L S\u00b2 a / (2 P S + 2 L S\u00b2 a)).</div>" + mode_html(self.efficiency))
