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
from .style import mode_html
from .component import (TIME_UNITS, Component, HardwareName, ModelName, PrecisionName, batch_trait, fmt, hold_sync,
                        seq_len_trait, tp_trait, unit_label)


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
    max_seq_len = traitlets.Int(131072, help="right end of the S axis (tokens)")
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
        self.x_scale = bq.LinearScale(min=0.0)
        self.y_scale = bq.LinearScale(min=0.0)
        sc = {"x": self.x_scale, "y": self.y_scale}
        self.full_line = bq.Lines(x=[1.0], y=[0.0], scales=sc, colors=["#1f77b4"], stroke_width=2.5,
                                  labels=["full model (with attention)"], display_legend=True)
        self.linear_line = bq.Lines(x=[1.0], y=[0.0], scales=sc, colors=["#7f7f7f"], line_style="dashed",
                                    stroke_width=2, labels=["linear 2PS model"], display_legend=True)
        self.current = bq.Scatter(x=[1.0], y=[0.0], scales=sc, colors=["#d62728"], default_size=70,
                                  tooltip=bq.Tooltip(fields=["x", "y"], formats=[".0f", ".4g"],
                                                     labels=["seq_len", "TTFT (s)"]))
        self.figure = bq.Figure(marks=[self.full_line, self.linear_line, self.current], title="TTFT vs context",
                                axes=[bq.Axis(scale=self.x_scale, label=unit_label("seq_len", "token"),
                                              tick_format="~s"),
                                      bq.Axis(scale=self.y_scale, side="left", label=unit_label("TTFT", "s"))],
                                legend_location="top-left",
                                fig_margin={"top": 40, "bottom": 45, "left": 60, "right": 15},
                                layout=w.Layout(width="560px", height="360px"))
        self.readout = w.HTML().add_class("mlsyslab-readout")
        controls = self._controls("model", "hardware", "precision", "seq_len", "batch_size", "tensor_parallel")
        return w.VBox([controls, self.figure, self.readout]).add_class("mlsyslab-context-scaling")

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
        with hold_sync(self.full_line, self.linear_line, self.current):
            self.full_line.x, self.full_line.y = S, full
            self.linear_line.x, self.linear_line.y = S, linear
            self.current.x, self.current.y = np.array([float(self.seq_len)]), np.array([r.ttft_s])
        self.readout.value = (
            f"At seq_len={self.seq_len}: TTFT <b class='mlsyslab-ttft'>{fmt(r.ttft, TIME_UNITS)}</b> "
            f"(full model) vs {fmt(r.ttft * (lin_now / r.ttft_s), TIME_UNITS)} "
            f"(linear 2PS); the linear model misses {self.attention_share:.1%} "
            f"(attention is {2.0 * r.model.layers * self.seq_len * r.model.attention_dim / (2.0 * p_active):.1%} "
            f"of the matmul FLOPs at this context)." + mode_html(self.efficiency))
