"""ServingExplorer: TTFT, ITL, throughput and the memory of serving an LLM, one control away.

Inputs (traits): ``model``, ``hardware``, ``seq_len`` (dropdown of powers of two), ``batch_size``,
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
from .component import (Component, HardwareName, ModelName, PrecisionName, batch_trait, hold_sync, seq_len_trait,
                        tp_trait)
from .figures import FONT_PX, figure, set_y_axis
from .style import (BYTE_UNITS, CSS, FOREGROUND, ROLE_COLORS, bytes_text, esc, key_html, linear_ticks, mode_html,
                    num, scaled_unit, table_html, time_text)

COLORS = {"weights": ROLE_COLORS["weights"], "kv": ROLE_COLORS["kv"], "free": ROLE_COLORS["free"],
          "oom": ROLE_COLORS["oom"], "oom_dark": ROLE_COLORS["oom"]}
WIDTH, HEIGHT = 300, 360
MARGIN = {"top": 40, "bottom": 30, "left": 60, "right": 12}


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
        Context length S in tokens (the control offers 128 ... 131072 in powers of two; any value
        can be set from code).
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
        self.key = w.HTML(layout=w.Layout(width=f"{WIDTH}px")).add_class("mlsyslab-key-box")  # wraps under the bar

        self.x_scale = bq.OrdinalScale()
        self.y_scale = bq.LinearScale(min=0.0, max=1.0)
        self.bars = bq.Bars(x=["per GPU"], y=np.zeros((3, 1)), scales={"x": self.x_scale, "y": self.y_scale},
                            type="stacked", colors=[COLORS["weights"], COLORS["kv"], COLORS["free"]],
                            stroke=FOREGROUND, labels=["weights", "KV-cache", "free"], display_legend=False,
                            padding=0.35, tooltip=bq.Tooltip(fields=["y"], formats=[",.3~r"], labels=["memory"]))
        self.line_scale = bq.LinearScale(min=0.0, max=1.0)
        self.capacity_line = bq.Lines(x=[0.0, 1.0], y=[0.0, 0.0], scales={"x": self.line_scale, "y": self.y_scale},
                                      colors=[FOREGROUND], line_style="dashed", stroke_width=2, labels=["capacity"])
        self.oom_label = bq.Label(x=[0.5], y=[0.0], text=[""], scales={"x": self.line_scale, "y": self.y_scale},
                                  y_offset=-12, align="middle", default_size=FONT_PX, font_weight="bold",
                                  colors=[FOREGROUND], apply_clip=False)
        self.memory_axis = bq.Axis(scale=self.y_scale, side="left", label="Memory (GB)")
        self.figure = figure([self.bars, self.capacity_line, self.oom_label],
                             [bq.Axis(scale=self.x_scale), self.memory_axis], "Memory per GPU", WIDTH, HEIGHT,
                             MARGIN)
        controls = self._controls("model", "hardware", "precision", "seq_len", "batch_size", "tensor_parallel")
        # side by side when there is room, the figure under the controls when not (two explorers in a row)
        return w.VBox([w.HBox([controls, w.VBox([self.figure, self.key])], layout=w.Layout(flex_flow="row wrap")),
                       self.banner, self.readout]).add_class("mlsyslab-serving-explorer")

    # ------------------------------------------------------------------ model -> view
    def _refresh(self):
        r = self.solver.solve(self.model, self.hardware, self.seq_len, self.batch_size, self.precision,
                              self.tensor_parallel)
        self.set_trait("result", r)
        self.set_trait("oom", not r.feasible)
        unit, per = scaled_unit(max(r.capacity_bytes, r.weights_bytes), BYTE_UNITS)  # GB on a GPU, MB on an MCU
        self.memory_unit = (unit, per)  # the bar is drawn in `unit` = `per` bytes
        gb = 1.0 / per
        cap = r.capacity_bytes * gb
        weights, kv, free = r.weights_bytes * gb, r.kv_bytes * gb, r.raw["free"] * gb
        top = max(cap, weights + kv) * 1.12  # headroom for the OOM label above the bar
        ticks = linear_ticks(top, 6)
        top = max(top, ticks[-1])
        colors = ([COLORS["weights"], COLORS["oom"], COLORS["free"]] if self.oom
                  else [COLORS["weights"], COLORS["kv"], COLORS["free"]])
        set_y_axis(self.memory_axis, ticks, f"Memory ({unit})", figure_=self.figure)
        with hold_sync(self.bars, self.capacity_line, self.y_scale, self.oom_label):
            self.y_scale.max = top
            self.bars.y = np.array([[weights], [kv], [free]])
            self.bars.colors = colors
            self.capacity_line.y = np.array([cap, cap])
            self.oom_label.y = [float(weights + kv)]
            self.oom_label.text = [f"OOM: +{bytes_text(r.total_bytes - r.capacity_bytes)}" if self.oom else ""]
        self.key.value = CSS + key_html([
            ("weights", COLORS["weights"], "bar", "", ""),
            ("KV-cache" + (" (over capacity: OOM)" if self.oom else ""), colors[1], "bar", "", ""),
            ("free", COLORS["free"], "bar", "", ""),
            (f"capacity {bytes_text(r.capacity_bytes)}", FOREGROUND, "line", "dashed", "")])
        self.readout.value = CSS + self._readout_html(r) + mode_html(self.efficiency)
        if self.oom:
            self.banner.value = (
                f"{CSS}<div role='alert' style='border:3px solid {COLORS['oom']};padding:6px 10px;font-weight:bold'>"
                f"&#9888; OOM: needs {bytes_text(r.total_bytes)} per GPU, over {esc(r.hardware.key)}'s "
                f"{bytes_text(r.capacity_bytes)} by {bytes_text(r.total_bytes - r.capacity_bytes)}; "
                + (f"largest batch that fits: {r.max_batch_size}." if r.max_batch_size > 0 else
                   f"the weights alone ({bytes_text(r.weights_bytes)}) do not fit, at any batch.") + "</div>")
            self.banner.layout.display = None
        else:
            self.banner.layout.display = "none"
            self.banner.value = ""

    def _summary(self) -> str:
        r = self.result
        return (f"TTFT {time_text(r.ttft_s)}, ITL {time_text(r.itl_s)}, memory "
                f"{r.total_bytes / 1e9:.1f} of {r.capacity_bytes / 1e9:.1f} GB" + (" (OOM)" if self.oom else ""))

    @staticmethod
    def _readout_html(r: ServingResult) -> str:
        tput = r.decode_throughput.to("token/s").magnitude
        rows = (
            ("TTFT", time_text(r.ttft_s), f"{r.prefill_bottleneck}-bound"),
            ("ITL", time_text(r.itl_s), f"{r.decode_bottleneck}-bound"),
            ("Decode throughput", f"{num(tput)} tokens/s", f"batch {r.batch_size}"),
            ("Memory", f"{bytes_text(r.total_bytes)} of {bytes_text(r.capacity_bytes)}",
             f"{num(r.memory_utilization * 100)} %" + ("" if r.feasible else
                                               " <span class='mlsyslab-infeasible'>OOM: does not fit</span>")),
        )
        body = [(k, f"<span class='mlsyslab-{k.split()[0].lower()}'>{v}</span>", note) for k, v, note in rows]
        return table_html(f"{r.model.key} on {r.hardware.key} ({r.precision}, seq_len {r.seq_len:,}, "
                          f"batch {r.batch_size}, tensor_parallel {r.tensor_parallel})",
                          ["quantity", "value", "note"], body, numeric=(1,))
