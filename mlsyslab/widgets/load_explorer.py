"""LoadExplorer: latency percentiles, goodput and KV-cache use of an LLM server under load.

Inputs (traits): ``model``, ``hardware``, ``precision``, ``tensor_parallel``, ``arrival_rate``
(req/s), ``input_tokens``, ``output_tokens``, ``ttft_sla`` and ``itl_sla`` (ms),
``max_num_seqs``, ``chunked_prefill``, ``efficiency``. Outputs: ``curve`` (the fast path,
:meth:`~mlsyslab.LoadSolver.analytic`, over 0-130 % of capacity), ``result`` (a simulated
:class:`~mlsyslab.LoadResult` of ``n_requests`` requests at ``arrival_rate``) and
``capacity`` (req/s).

Left: TTFT p50, TTFT p99 and ITL p99 against the arrival rate (log scale), the SLA limits
dashed, the current rate and the capacity as vertical lines. Middle: throughput and goodput
(req/s) against the arrival rate. Right: the KV-cache in use over time in the simulated run.
"""

from __future__ import annotations

import math

import bqplot as bq
import ipywidgets as w
import numpy as np
import traitlets

from ..solvers.load import LoadResult, LoadSolver
from .component import (Component, HardwareName, ModelName, PositiveInt, PrecisionName, _checked, bind, hold_sync,
                        tp_trait)
from .figures import figure, set_y_axis
from .style import CSS, FOREGROUND, OKABE_ITO, esc, key_html, linear_ticks, mode_html, num, table_html, time_text

COLORS = {"ttft_p50": OKABE_ITO["blue"], "ttft_p99": OKABE_ITO["vermillion"], "itl_p99": OKABE_ITO["bluish_green"],
          "throughput": OKABE_ITO["blue"], "goodput": OKABE_ITO["orange"], "kv": OKABE_ITO["orange"],
          "queue": OKABE_ITO["blue"]}
WIDTH, HEIGHT = 276, 290
MARGIN = {"top": 40, "bottom": 45, "left": 60, "right": 14}
N_CURVE = 60  # arrival rates on the curves


class PositiveFloat(traitlets.TraitType):
    """A finite number > 0 (a quantity in ``unit`` accepted)."""

    info_text = "a positive number"

    def __init__(self, default_value, unit=None, **kwargs):
        self.unit = unit
        super().__init__(default_value=default_value, **kwargs)

    def validate(self, obj, value):
        from .. import inputs

        return _checked(inputs.positive_float, value, self.name, self.unit)


class LoadExplorer(Component):
    """Explore an LLM server under a stream of requests (continuous batching).

    Parameters
    ----------
    model, hardware, precision, tensor_parallel
        As for :class:`~mlsyslab.widgets.ServingExplorer`.
    arrival_rate : float
        Poisson arrivals, requests per second.
    input_tokens, output_tokens : int
        Prompt and output tokens per request.
    ttft_sla, itl_sla : float
        SLA limits in ms (TTFT, and time per output token); goodput counts requests meeting both.
    max_num_seqs : int
        Most requests in the running batch.
    chunked_prefill : bool
        Mix prompt chunks into decode steps instead of prefill-only steps.
    n_requests : int
        Requests in the simulated run behind the KV-over-time plot (default 200).

    Attributes
    ----------
    curve : dict
        The fast path's arrays over ``rates`` (req/s): ``ttft_p50``, ``ttft_p99``, ``itl_p99``
        (s), ``throughput`` (tokens/s), ``goodput`` (req/s), ...
    at_rate : dict
        The fast path's figures (floats) at ``arrival_rate``: what the readout shows
        (``ttft_p99`` is ``inf`` past capacity: the queue grows without bound).
    result : LoadResult
        The simulated run at ``arrival_rate``.
    capacity : float
        The largest sustainable arrival rate (req/s, fast path).
    """

    model = ModelName("Llama3_8B")
    hardware = HardwareName("H100")
    precision = PrecisionName("fp16")
    tensor_parallel = tp_trait(1)
    arrival_rate = PositiveFloat(10.0, unit="1/s", help="Poisson arrivals (req/s)")
    input_tokens = PositiveInt(512, unit="token", maximum=1_000_000, help="prompt tokens")
    output_tokens = PositiveInt(256, unit="token", maximum=1_000_000, help="output tokens")
    ttft_sla = PositiveFloat(500.0, unit="ms", help="SLA on TTFT (ms)")
    itl_sla = PositiveFloat(50.0, unit="ms", help="SLA on time per output token (ms)")
    max_num_seqs = PositiveInt(256, maximum=100_000, help="most requests in the running batch")
    chunked_prefill = traitlets.Bool(False, help="mix prompt chunks into decode steps")
    n_requests = PositiveInt(200, maximum=20_000, help="requests in the simulated run")

    curve = traitlets.Dict(read_only=True)
    at_rate = traitlets.Dict(read_only=True)
    result = traitlets.Instance(LoadResult, allow_none=True, read_only=True)
    capacity = traitlets.Float(0.0, read_only=True)

    _inputs = ("model", "hardware", "precision", "tensor_parallel", "arrival_rate", "input_tokens", "output_tokens",
               "ttft_sla", "itl_sla", "max_num_seqs", "chunked_prefill", "n_requests")

    @property
    def load_solver(self) -> LoadSolver:
        cache = self.__dict__.setdefault("_load_solvers", {})
        if self.efficiency not in cache:
            cache[self.efficiency] = LoadSolver(self.efficiency)
        return cache[self.efficiency]

    # ------------------------------------------------------------------ view
    def _build_view(self):
        style = {"description_width": "initial"}
        lay = w.Layout(width="260px")
        self.rate_control = w.BoundedFloatText(min=0.001, max=1e6, step=1.0, description="arrival_rate (req/s)",
                                               continuous_update=False, style=style, layout=lay)
        bind(self, "arrival_rate", self.rate_control, widen=True)
        self.input_control = w.BoundedIntText(min=1, max=1_000_000, description="input_tokens",
                                              continuous_update=False, style=style, layout=lay)
        bind(self, "input_tokens", self.input_control)
        self.output_control = w.BoundedIntText(min=1, max=1_000_000, description="output_tokens",
                                               continuous_update=False, style=style, layout=lay)
        bind(self, "output_tokens", self.output_control)
        self.ttft_control = w.BoundedFloatText(min=0.001, max=1e7, description="TTFT SLA (ms)",
                                               continuous_update=False, style=style, layout=lay)
        bind(self, "ttft_sla", self.ttft_control)
        self.itl_control = w.BoundedFloatText(min=0.001, max=1e7, description="ITL SLA (ms)",
                                              continuous_update=False, style=style, layout=lay)
        bind(self, "itl_sla", self.itl_control)
        self.seqs_control = w.BoundedIntText(min=1, max=100_000, description="max_num_seqs",
                                             continuous_update=False, style=style, layout=lay)
        bind(self, "max_num_seqs", self.seqs_control)
        self.chunked_control = w.Checkbox(description="chunked prefill", indent=False, layout=lay)
        bind(self, "chunked_prefill", self.chunked_control, widen=False)
        standard = self._controls("model", "hardware", "precision", "tensor_parallel")
        controls = w.VBox([standard, self.rate_control, self.input_control, self.output_control, self.ttft_control,
                           self.itl_control, self.seqs_control, self.chunked_control])

        # latency vs load
        self.lx = bq.LinearScale(min=0.0, max=1.0)
        self.ly = bq.LogScale(min=1e-3, max=10.0)
        self.lat_lines = bq.Lines(x=np.zeros(2), y=np.ones((3, 2)), scales={"x": self.lx, "y": self.ly},
                                  colors=[COLORS["ttft_p50"], COLORS["ttft_p99"], COLORS["itl_p99"]],
                                  line_style="solid", stroke_width=2, labels=["TTFT p50", "TTFT p99", "ITL p99"])
        self.sla_lines = bq.Lines(x=np.zeros(2), y=np.ones((2, 2)), scales={"x": self.lx, "y": self.ly},
                                  colors=[COLORS["ttft_p99"], COLORS["itl_p99"]], line_style="dashed", stroke_width=1.5)
        self.lat_now = bq.Lines(x=[0.0, 0.0], y=[1e-3, 10.0], scales={"x": self.lx, "y": self.ly}, colors=[FOREGROUND],
                                stroke_width=1.5)
        self.lat_cap = bq.Lines(x=[0.0, 0.0], y=[1e-3, 10.0], scales={"x": self.lx, "y": self.ly}, colors=[FOREGROUND],
                                line_style="dotted", stroke_width=1.5)
        self.lat_axis = bq.Axis(scale=self.ly, side="left", label="Latency (ms)", tick_format=",.3~r")
        self.lat_x_axis = bq.Axis(scale=self.lx, label="Arrival rate (req/s)", tick_format=",.3~r")
        self.lat_fig = figure([self.lat_lines, self.sla_lines, self.lat_now, self.lat_cap],
                              [self.lat_x_axis, self.lat_axis],
                              "Latency vs load", WIDTH, HEIGHT, MARGIN)
        # throughput and goodput vs load
        self.gy = bq.LinearScale(min=0.0, max=1.0)
        self.tput_line = bq.Lines(x=np.zeros(2), y=np.zeros(2), scales={"x": self.lx, "y": self.gy},
                                  colors=[COLORS["throughput"]], stroke_width=2.5, labels=["throughput"])
        self.goodput_line = bq.Lines(x=np.zeros(2), y=np.zeros(2), scales={"x": self.lx, "y": self.gy},
                                     colors=[COLORS["goodput"]], stroke_width=2.5, line_style="dashed",
                                     labels=["goodput"])
        self.good_now = bq.Lines(x=[0.0, 0.0], y=[0.0, 1.0], scales={"x": self.lx, "y": self.gy}, colors=[FOREGROUND],
                                 stroke_width=1.5)
        self.good_axis = bq.Axis(scale=self.gy, side="left", label="Requests/s")
        self.good_x_axis = bq.Axis(scale=self.lx, label="Arrival rate (req/s)", tick_format=",.3~r")
        self.good_fig = figure([self.tput_line, self.goodput_line, self.good_now],
                               [self.good_x_axis, self.good_axis],
                               "Throughput and goodput", WIDTH, HEIGHT, MARGIN)
        # KV use over time
        self.tx = bq.LinearScale(min=0.0, max=1.0)
        self.ky = bq.LinearScale(min=0.0, max=100.0)
        self.kv_line = bq.Lines(x=np.zeros(2), y=np.zeros(2), scales={"x": self.tx, "y": self.ky}, colors=[COLORS["kv"]],
                                stroke_width=2, interpolation="step-after", labels=["KV-cache in use (%)"])
        self.kv_axis = bq.Axis(scale=self.ky, side="left", label="KV-cache in use (%)")
        self.time_axis = bq.Axis(scale=self.tx, label="Time (s)")
        self.kv_fig = figure([self.kv_line], [self.time_axis, self.kv_axis], "KV-cache in use", WIDTH,
                             HEIGHT, MARGIN)
        self.key = w.HTML().add_class("mlsyslab-key-box")
        self.readout = w.HTML().add_class("mlsyslab-readout")
        figs = w.HBox([self.lat_fig, self.good_fig, self.kv_fig], layout=w.Layout(flex_flow="row wrap"))  # wraps when narrow
        return w.VBox([w.HBox([controls]), figs, self.key, self.readout]).add_class("mlsyslab-load-explorer")

    # ------------------------------------------------------------------ model -> view
    def _kwargs(self):
        return dict(precision=self.precision, tensor_parallel=self.tensor_parallel, max_num_seqs=self.max_num_seqs,
                    chunked_prefill=self.chunked_prefill, sla={"ttft": self.ttft_sla, "itl": self.itl_sla})

    def _refresh(self):
        s = self.load_solver
        kw = self._kwargs()
        probe = s.analytic(self.model, self.hardware, 1.0, self.input_tokens, self.output_tokens, **kw)
        cap = float(probe["capacity"])
        top = max(1.3 * cap, 1.1 * self.arrival_rate)
        rates = np.linspace(top / N_CURVE, top, N_CURVE)
        both = s.analytic(self.model, self.hardware, np.append(rates, self.arrival_rate), self.input_tokens,
                          self.output_tokens, **kw)
        curve = {k: (v[:-1] if np.ndim(v) else v) for k, v in both.items()}
        curve["rates"] = rates
        self.set_trait("at_rate", {k: float(v[-1] if np.ndim(v) else v) for k, v in both.items()})
        r = s.solve(self.model, self.hardware, arrival_rate=self.arrival_rate, input_tokens=self.input_tokens,
                    output_tokens=self.output_tokens, n_requests=self.n_requests, seed=0, **kw)
        self.set_trait("capacity", cap)
        self.set_trait("curve", curve)
        self.set_trait("result", r)
        self._draw(curve, r, cap, top)

    def _draw(self, c, r, cap, top):
        ms = 1e3
        lat = np.vstack([c["ttft_p50"], c["ttft_p99"], c["itl_p99"]]) * ms
        finite = lat[np.isfinite(lat)]
        lo = max(min(finite.min(), self.itl_sla, self.ttft_sla) / 2.0, 1e-3) if finite.size else 1e-3
        hi_data = max(self.ttft_sla, self.itl_sla, float(np.percentile(finite, 90)) if finite.size else 1.0) * 20
        hi = 10 ** math.ceil(math.log10(hi_data))
        lat = np.where(np.isfinite(lat), np.minimum(lat, hi), hi)  # past capacity: off the top
        x_ticks = linear_ticks(top, 5)
        good_top = _ceil_tick(max(float(c["request_throughput"].max()), 1e-9) * 1.1, 6)
        t_end = float(r.timeseries["t"][-1]) or 1.0
        with hold_sync(self.lx, self.ly, self.lat_lines, self.sla_lines, self.lat_now, self.lat_cap, self.gy,
                       self.tput_line, self.goodput_line, self.good_now, self.tx, self.kv_line):
            self.lx.max, self.ly.min, self.ly.max = float(top), float(lo), float(hi)
            self.lat_lines.x = c["rates"]
            self.lat_lines.y = lat
            self.sla_lines.x = np.array([0.0, top])
            self.sla_lines.y = np.array([[self.ttft_sla] * 2, [self.itl_sla] * 2])
            self.lat_now.x = [self.arrival_rate] * 2
            self.lat_now.y = [lo, hi]
            self.lat_cap.x = [cap] * 2
            self.lat_cap.y = [lo, hi]
            self.gy.max = float(good_top)
            self.tput_line.x = self.goodput_line.x = c["rates"]
            self.tput_line.y = c["request_throughput"]
            self.goodput_line.y = c["goodput"]
            self.good_now.x = [self.arrival_rate] * 2
            self.good_now.y = [0.0, float(good_top)]
            self.tx.max = t_end
            self.kv_line.x = r.timeseries["t"]
            self.kv_line.y = r.timeseries["kv_utilization"] * 100.0
        set_y_axis(self.good_axis, linear_ticks(good_top, 6), "Requests/s", figure_=self.good_fig)
        self.lat_x_axis.tick_values = x_ticks
        self.good_x_axis.tick_values = x_ticks
        self.time_axis.tick_values = linear_ticks(t_end, 5)
        set_y_axis(self.kv_axis, linear_ticks(100.0, 6), "KV-cache in use (%)", figure_=self.kv_fig)
        set_y_axis(self.lat_axis, [10.0 ** k for k in range(int(math.ceil(math.log10(lo))), int(round(math.log10(hi))) + 1)],
                   "Latency (ms)", figure_=self.lat_fig)
        self.key.value = CSS + key_html([
            ("TTFT p50", COLORS["ttft_p50"], "line", "solid", ""), ("TTFT p99", COLORS["ttft_p99"], "line", "solid", ""),
            ("ITL p99", COLORS["itl_p99"], "line", "solid", ""),
            ("SLA (TTFT, ITL)", COLORS["ttft_p99"], "line", "dashed", ""),
            ("arrival rate", FOREGROUND, "line", "solid", ""), ("capacity", FOREGROUND, "line", "dotted", ""),
            ("throughput (req/s)", COLORS["throughput"], "line", "solid", ""),
            ("goodput (req/s)", COLORS["goodput"], "line", "dashed", ""),
            ("KV-cache in use", COLORS["kv"], "line", "solid", "")])
        self.readout.value = CSS + self._readout_html(r, cap) + mode_html(self.efficiency)

    def _readout_html(self, r: LoadResult, cap: float) -> str:
        a = self.at_rate
        over = self.arrival_rate >= cap

        def t(x):
            return time_text(x) if math.isfinite(x) else "unbounded"

        rows = [
            ("Capacity", f"{num(cap)} req/s", "seats, KV blocks and step time"),
            ("Throughput", f"{num(a['throughput'])} tokens/s", f"{num(a['request_throughput'])} req/s served"),
            ("Goodput", f"{num(a['goodput'])} req/s", f"meeting TTFT <= {num(self.ttft_sla)} ms and "
                                                      f"ITL <= {num(self.itl_sla)} ms"),
            ("TTFT p50 / p99", f"{t(a['ttft_p50'])} / {t(a['ttft_p99'])}",
             "<span class='mlsyslab-infeasible'>past capacity: the queue grows without bound</span>" if over
             else "queue + the step under way + prefill"),
            ("ITL p50 / p99", f"{t(a['itl_p50'])} / {t(a['itl_p99'])}", "decode steps; the tail pays prefill stalls"),
            ("Mean batch", num(a["mean_batch"]), f"KV-cache {a['kv_utilization']:.0%} in use"),
            ("Simulated run", f"{r.n_requests} requests",
             f"KV-cache peak {r.peak_kv_utilization:.0%}, {r.preemptions} preemptions, TTFT p99 "
             f"{time_text(r.raw['ttft_p99'])} (right-hand plot)"),
        ]
        return table_html(f"{esc(r.model.key)} on {esc(r.hardware.key)} at {num(self.arrival_rate)} req/s "
                          f"({self.input_tokens} in / {self.output_tokens} out; fast path, and a simulated run)",
                          ["quantity", "value", "note"], rows, numeric=(1,))

    def _summary(self) -> str:
        a = self.at_rate
        p99 = time_text(a["ttft_p99"]) if math.isfinite(a["ttft_p99"]) else "unbounded"
        return (f"capacity {num(self.capacity)} req/s; at {num(self.arrival_rate)} req/s TTFT p99 {p99}, "
                f"goodput {num(a['goodput'])} req/s")


def _ceil_tick(hi: float, max_ticks: int) -> float:
    """The first round tick at or above ``hi`` (so the data never leaves the plot)."""
    ticks = linear_ticks(hi, max_ticks)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else hi
    return ticks[-1] if ticks[-1] >= hi else ticks[-1] + step


__all__ = ["LoadExplorer"]
