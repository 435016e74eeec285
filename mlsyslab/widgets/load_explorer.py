"""LoadExplorer: latency percentiles, goodput and KV-cache use of an LLM server under load.

Inputs (traits): ``model``, ``hardware``, ``precision``, ``tensor_parallel``, ``arrival_rate``
(req/s), ``input_tokens``, ``output_tokens``, ``ttft_sla`` and ``itl_sla`` (ms),
``max_num_seqs``, ``chunked_prefill``, ``engine`` (the scheduler profile, ``LoadSolver``'s), ``efficiency``. Outputs: ``curve`` (the fast path,
:meth:`~mlsyslab.LoadSolver.analytic`, over 0-130 % of capacity), ``result`` (a simulated
:class:`~mlsyslab.LoadResult` of ``n_requests`` requests at ``arrival_rate``),
``capacity`` (req/s), ``overloaded`` (``arrival_rate >= capacity``: the queue grows without
bound) and ``oom`` (the weights leave no room for a KV-cache block).

Three 400 px figures (two side by side in a notebook's ~850 px of output, the third below):
TTFT p50, TTFT p99 and the mean ITL (time per output token: what the SLA's ITL limit checks, request
by request) against the arrival rate (log scale) with the SLA limits, the
current rate and the capacity; throughput and goodput (req/s) against the arrival rate; the
KV-cache in use over time in the simulated run. Ticks, margins, keys and numbers come from
:mod:`mlsyslab.widgets.style` and :mod:`mlsyslab.widgets.figures`; the readout table is the
figures' text alternative.
"""

from __future__ import annotations

import math

import bqplot as bq
import ipywidgets as w
import numpy as np
import traitlets

from ..errors import OOMError
from ..solvers.load import LoadResult, LoadSolver
from ..solvers.load_engines import DEFAULT_ENGINE, PROFILES
from .component import (Component, HardwareName, ModelName, PositiveInt, PrecisionName, _checked, bind, hold_sync,
                        tp_trait)
from .figures import FONT_PX, figure, lin_pos, set_y_axis, thin_ticks
from .style import (CSS, FOREGROUND, OKABE_ITO, ROLE_COLORS, bytes_text, esc, key_html, linear_ticks, log_ticks,
                    mode_html, num, table_html, text_px, time_text)

COLORS = {"ttft_p50": OKABE_ITO["blue"], "ttft_p99": OKABE_ITO["vermillion"], "itl_p99": OKABE_ITO["bluish_green"],
          "throughput": OKABE_ITO["blue"], "goodput": OKABE_ITO["orange"], "kv": ROLE_COLORS["kv"],
          "oom": ROLE_COLORS["oom"]}
WIDTH, HEIGHT = 400, 300  # two side by side in ~850 px of notebook output; the row wraps when narrower
MARGIN = {"top": 40, "bottom": 50, "left": 60, "right": 24}
N_CURVE = 60  # arrival rates on the curves
OFF_SCALE = 1e3  # unbounded latencies are drawn this far above the top (the clip cuts them at the edge)


class PositiveFloat(traitlets.TraitType):
    """A finite number > 0 (a quantity in ``unit`` accepted)."""

    info_text = "a positive number"

    def __init__(self, default_value, unit=None, **kwargs):
        self.unit = unit
        super().__init__(default_value=default_value, **kwargs)

    def validate(self, obj, value):
        from .. import inputs

        return _checked(inputs.positive_float, value, self.name, self.unit)


def _note(scales):
    """A bold text mark (empty until there is something to say), kept inside the figure."""
    return bq.Label(x=[0.5], y=[1.0], text=[""], scales=scales, default_size=FONT_PX, font_weight="bold",
                    colors=[FOREGROUND], align="middle", apply_clip=False)


def _past_capacity(scales):
    """The region past capacity, shaded pale vermillion (the arrival rates no server keeps up with)."""
    return bq.Lines(x=[0.0, 0.0, 0.0, 0.0], y=[1.0, 1.0, 1.0, 1.0], scales=scales, fill="inside",
                    colors=[COLORS["oom"]], fill_colors=[COLORS["oom"]], fill_opacities=[0.15], stroke_width=0)


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
        (s), ``throughput`` (tokens/s), ``goodput`` (req/s), ... (empty when ``oom``).
    at_rate : dict
        The fast path's figures (floats) at ``arrival_rate``: what the readout shows
        (``ttft_p99`` is ``inf`` past capacity: the queue grows without bound).
    result : LoadResult
        The simulated run at ``arrival_rate`` (``None`` when ``oom``).
    capacity : float
        The largest sustainable arrival rate (req/s, fast path; 0 when ``oom``).
    overloaded : bool
        ``arrival_rate >= capacity``.
    oom : bool
        The weights leave no memory for a KV-cache block: nothing can be served.
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
    engine = traitlets.Enum(tuple(PROFILES), DEFAULT_ENGINE, help="engine profile: its admission, memory and blocks")
    n_requests = PositiveInt(200, maximum=20_000, help="requests in the simulated run")

    curve = traitlets.Dict(read_only=True)
    at_rate = traitlets.Dict(read_only=True)
    result = traitlets.Instance(LoadResult, allow_none=True, read_only=True)
    capacity = traitlets.Float(0.0, read_only=True)
    overloaded = traitlets.Bool(False, read_only=True)
    oom = traitlets.Bool(False, read_only=True)

    _inputs = ("model", "hardware", "precision", "tensor_parallel", "arrival_rate", "input_tokens", "output_tokens",
               "ttft_sla", "itl_sla", "max_num_seqs", "chunked_prefill", "engine", "n_requests")

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
        controls = w.HBox([standard, w.VBox([self.rate_control, self.input_control, self.output_control,
                                             self.ttft_control, self.itl_control, self.seqs_control,
                                             self.chunked_control])], layout=w.Layout(flex_flow="row wrap"))

        # latency vs load (log y)
        self.lx = bq.LinearScale(min=0.0, max=1.0)
        self.ly = bq.LogScale(min=1.0, max=1000.0)
        sc = {"x": self.lx, "y": self.ly}
        # a second cue besides colour: TTFT p50 solid, TTFT p99 dashed, mean ITL dash-dotted (one mark each)
        self.lat_lines = bq.Lines(x=np.zeros(2), y=np.ones(2), scales=sc, colors=[COLORS["ttft_p50"]],
                                  line_style="solid", stroke_width=2.5, labels=["TTFT p50"])
        self.lat_p99 = bq.Lines(x=np.zeros(2), y=np.ones(2), scales=sc, colors=[COLORS["ttft_p99"]],
                                line_style="dashed", stroke_width=2.5, labels=["TTFT p99"])
        self.lat_itl = bq.Lines(x=np.zeros(2), y=np.ones(2), scales=sc, colors=[COLORS["itl_p99"]],
                                line_style="dash_dotted", stroke_width=2.5, labels=["mean ITL"])
        self.sla_lines = bq.Lines(x=np.zeros(2), y=np.ones((2, 2)), scales=sc,
                                  colors=[COLORS["ttft_p99"], COLORS["itl_p99"]], line_style="dotted", stroke_width=2)
        self.lat_now = bq.Lines(x=[0.0, 0.0], y=[1.0, 1000.0], scales=sc, colors=[FOREGROUND], stroke_width=1.5)
        self.lat_cap = bq.Lines(x=[0.0, 0.0], y=[1.0, 1000.0], scales=sc, colors=[FOREGROUND], line_style="dotted",
                                stroke_width=1.5)
        self.lat_past = _past_capacity(sc)
        self.lat_note = _note(sc)
        self.lat_axis = bq.Axis(scale=self.ly, side="left", label="Latency (ms)")
        self.lat_x_axis = bq.Axis(scale=self.lx, label="Arrival rate (req/s)", tick_format=",.3~r",
                                  label_offset="36px")
        self.lat_fig = figure([self.lat_past, self.lat_lines, self.lat_p99, self.lat_itl, self.sla_lines, self.lat_now,
                               self.lat_cap, self.lat_note], [self.lat_x_axis, self.lat_axis], "Latency vs load",
                              WIDTH, HEIGHT, MARGIN)
        # throughput and goodput vs load
        self.gy = bq.LinearScale(min=0.0, max=1.0)
        sc = {"x": self.lx, "y": self.gy}
        self.tput_line = bq.Lines(x=np.zeros(2), y=np.zeros(2), scales=sc, colors=[COLORS["throughput"]],
                                  stroke_width=2.5, labels=["throughput"])
        self.goodput_line = bq.Lines(x=np.zeros(2), y=np.zeros(2), scales=sc, colors=[COLORS["goodput"]],
                                     stroke_width=2.5, line_style="dashed", labels=["goodput"])
        self.good_now = bq.Lines(x=[0.0, 0.0], y=[0.0, 1.0], scales=sc, colors=[FOREGROUND], stroke_width=1.5)
        self.good_cap = bq.Lines(x=[0.0, 0.0], y=[0.0, 1.0], scales=sc, colors=[FOREGROUND], line_style="dotted",
                                 stroke_width=1.5)
        self.good_past = _past_capacity(sc)
        self.good_note = _note(sc)
        self.good_over = _note(sc)
        self.good_axis = bq.Axis(scale=self.gy, side="left", label="Requests/s")
        self.good_x_axis = bq.Axis(scale=self.lx, label="Arrival rate (req/s)", tick_format=",.3~r",
                                   label_offset="36px")
        self.good_fig = figure([self.good_past, self.tput_line, self.goodput_line, self.good_now, self.good_cap,
                                self.good_note, self.good_over], [self.good_x_axis, self.good_axis],
                               "Throughput and goodput", WIDTH, HEIGHT, MARGIN)
        # KV use over time (the simulated run)
        self.tx = bq.LinearScale(min=0.0, max=1.0)
        self.ky = bq.LinearScale(min=0.0, max=110.0)
        sc = {"x": self.tx, "y": self.ky}
        self.kv_line = bq.Lines(x=np.zeros(2), y=np.zeros(2), scales=sc, colors=[COLORS["kv"]], stroke_width=2,
                                interpolation="step-after", labels=["KV-cache in use (%)"])
        self.kv_full = bq.Lines(x=[0.0, 1.0], y=[100.0, 100.0], scales=sc, colors=[FOREGROUND], line_style="dashed",
                                stroke_width=1.5)
        self.kv_note = _note(sc)
        self.kv_axis = bq.Axis(scale=self.ky, side="left", label="KV-cache in use (%)")
        self.time_axis = bq.Axis(scale=self.tx, label="Time (s)", tick_format=",.3~r", label_offset="36px")
        self.kv_fig = figure([self.kv_line, self.kv_full, self.kv_note], [self.time_axis, self.kv_axis],
                             "KV-cache over time (simulated)", WIDTH, HEIGHT, MARGIN)

        self.lat_key, self.good_key, self.kv_key = (
            w.HTML(layout=w.Layout(width=f"{WIDTH}px")).add_class("mlsyslab-key-box") for _ in range(3))
        self.key = self.lat_key
        self.banner = w.HTML(layout=w.Layout(display="none")).add_class("mlsyslab-oom")
        self.readout = w.HTML().add_class("mlsyslab-readout")
        figs = w.HBox([w.VBox([self.lat_fig, self.lat_key]), w.VBox([self.good_fig, self.good_key]),
                       w.VBox([self.kv_fig, self.kv_key])], layout=w.Layout(flex_flow="row wrap"))
        return w.VBox([controls, figs, self.banner, self.readout]).add_class("mlsyslab-load-explorer")

    # ------------------------------------------------------------------ model -> view
    def _kwargs(self):
        return dict(precision=self.precision, tensor_parallel=self.tensor_parallel, max_num_seqs=self.max_num_seqs,
                    chunked_prefill=self.chunked_prefill, sla={"ttft": self.ttft_sla, "itl": self.itl_sla},
                    engine=self.engine)

    def _refresh(self):
        s = self.load_solver
        kw = self._kwargs()
        try:
            probe = s.analytic(self.model, self.hardware, 1.0, self.input_tokens, self.output_tokens, **kw)
        except OOMError as exc:
            self._draw_oom(exc)
            return
        cap = float(probe["capacity"])
        top = max(1.3 * cap, 1.1 * self.arrival_rate)
        rates = np.linspace(top / N_CURVE, top, N_CURVE)
        both = s.analytic(self.model, self.hardware, np.append(rates, self.arrival_rate), self.input_tokens,
                          self.output_tokens, **kw)
        curve = {k: (v[:-1] if np.ndim(v) else v) for k, v in both.items()}
        curve["rates"] = rates
        r = s.solve(self.model, self.hardware, arrival_rate=self.arrival_rate, input_tokens=self.input_tokens,
                    output_tokens=self.output_tokens, n_requests=self.n_requests, seed=0, **kw)
        self.set_trait("at_rate", {k: float(v[-1] if np.ndim(v) else v) for k, v in both.items()})
        self.set_trait("capacity", cap)
        self.set_trait("overloaded", self.arrival_rate >= cap)
        self.set_trait("oom", False)
        self.set_trait("curve", curve)
        self.set_trait("result", r)
        self._draw(curve, r, cap, top)

    def _marks(self):
        return (self.lat_past, self.good_past, self.lat_lines, self.lat_p99, self.lat_itl, self.sla_lines, self.lat_now,
                self.lat_cap, self.tput_line, self.goodput_line, self.good_now, self.good_cap, self.kv_line,
                self.kv_full)

    def _draw(self, c, r, cap, top):
        ms = 1e3
        rates = c["rates"]
        # the ITL line is what the SLA's ITL limit is compared with: a request's mean time per output token
        lat = np.vstack([c["ttft_p50"], c["ttft_p99"], c["tpot"]]) * ms
        below = np.isfinite(lat) & (rates < 0.9 * cap)
        finite = lat[below] if below.any() else lat[np.isfinite(lat)]
        lo_data = min(float(finite.min()) if finite.size else self.itl_sla, self.itl_sla, self.ttft_sla)
        hi_data = max(float(finite.max()) if finite.size else self.ttft_sla, self.itl_sla, self.ttft_sla)
        lo = 10.0 ** math.floor(math.log10(lo_data * 0.8))
        hi = 10.0 ** math.ceil(math.log10(hi_data * 2.0))
        lat = np.where(np.isfinite(lat), np.minimum(lat, hi * OFF_SCALE), hi * OFF_SCALE)  # off the top: clipped
        plot_w = WIDTH - MARGIN["right"]  # refined below, once the left margin is known
        good_top = _ceil_tick(max(float(c["request_throughput"].max()), 1e-9) * 1.15, 6)
        t_end = float(r.timeseries["t"][-1]) or 1.0
        over = self.overloaded
        now_color = COLORS["oom"] if over else FOREGROUND
        set_y_axis(self.lat_axis, log_ticks(lo, hi, 7), "Latency (ms)", figure_=self.lat_fig)
        set_y_axis(self.good_axis, linear_ticks(good_top, 6), "Requests/s", figure_=self.good_fig)
        set_y_axis(self.kv_axis, linear_ticks(100.0, 6), "KV-cache in use (%)", figure_=self.kv_fig)
        lat_w = plot_w - self.lat_fig.fig_margin["left"]
        good_w = plot_w - self.good_fig.fig_margin["left"]
        kv_w = plot_w - self.kv_fig.fig_margin["left"]
        x_ticks = thin_ticks(linear_ticks(top, 6), min(lat_w, good_w), lin_pos(0.0, top, min(lat_w, good_w)),
                             room=MARGIN["right"] - 4)
        t_ticks = thin_ticks(linear_ticks(t_end, 6), kv_w, lin_pos(0.0, t_end, kv_w), room=MARGIN["right"] - 4)
        sla_unmet = float(np.max(c["goodput"])) <= 0.0
        with hold_sync(self.lx, self.ly, self.gy, self.tx, self.lat_note, self.good_note, self.good_over,
                       self.kv_note, *self._marks()):
            for m in self._marks():
                m.visible = True
            self.lx.max, self.ly.min, self.ly.max = float(top), float(lo), float(hi)
            self.lat_lines.x = self.lat_p99.x = self.lat_itl.x = rates
            self.lat_lines.y, self.lat_p99.y, self.lat_itl.y = lat
            self.sla_lines.x = np.array([0.0, top])
            self.sla_lines.y = np.array([[self.ttft_sla] * 2, [self.itl_sla] * 2])
            self.lat_now.x = self.good_now.x = [self.arrival_rate] * 2
            self.lat_now.y = [lo, hi]
            self.lat_now.colors = self.good_now.colors = [now_color]
            self.lat_now.stroke_width = self.good_now.stroke_width = 2.5 if over else 1.5
            self.lat_cap.x = self.good_cap.x = [cap] * 2
            self.lat_past.x = self.good_past.x = [cap, top, top, cap]
            self.lat_past.y, self.good_past.y = [lo, lo, hi, hi], [0.0, 0.0, float(good_top), float(good_top)]
            self.lat_cap.y = [lo, hi]
            self.gy.max = float(good_top)
            self.tput_line.x = self.goodput_line.x = rates
            self.tput_line.y = c["request_throughput"]
            self.goodput_line.y = c["goodput"]
            self.good_now.y = self.good_cap.y = [0.0, float(good_top)]
            self.tx.max = t_end
            self.kv_line.x = r.timeseries["t"]
            self.kv_line.y = r.timeseries["kv_utilization"] * 100.0
            self.kv_full.x = [0.0, t_end]
            # overloaded: said next to the arrival-rate line, at the top of both load plots
            for note, y_top, width in ((self.lat_note, hi, lat_w), (self.good_over, float(good_top), good_w)):
                self._place_by_line(note, "overloaded" if over else "", self.arrival_rate, top, y_top, width)
            if sla_unmet:
                self.good_note.x, self.good_note.y = [top / 2], [good_top * 0.5]
                self.good_note.x_offset, self.good_note.y_offset, self.good_note.align = 0, 0, "middle"
            self.good_note.text = ["no request meets the SLA"] if sla_unmet else [""]
            self.kv_note.text = [""]
        self.lat_x_axis.tick_values = x_ticks
        self.good_x_axis.tick_values = x_ticks
        self.time_axis.tick_values = t_ticks
        self._keys(r, cap, over)
        self.banner.value = ""
        self.banner.layout.display = "none"
        if over:
            self._alert(f"Overloaded: {num(self.arrival_rate)} req/s arrive, the capacity is {num(cap)} req/s. "
                        f"The queue and TTFT grow without bound (the simulated {r.n_requests} requests: TTFT p99 "
                        f"{time_text(r.raw['ttft_p99'])}, and longer the longer the run).")
        self.readout.value = CSS + self._readout_html(r, cap, sla_unmet) + mode_html(self.efficiency)

    @staticmethod
    def _place_by_line(note, text, x, top, y_top, plot_w):
        """``text`` beside the vertical line at ``x``, 16 px under the top, on the side with room."""
        note.text = [text]
        if not text:
            return
        px, tw = x / top * plot_w, text_px(text)
        left = px - 6 - tw >= 2
        note.x, note.y = [float(x)], [float(y_top)]
        note.x_offset, note.y_offset, note.align = (-6, 16, "end") if left else (6, 16, "start")

    def _keys(self, r, cap, over):
        now = COLORS["oom"] if over else FOREGROUND
        rate = (f"arrival rate {num(self.arrival_rate)} req/s" + (" (overloaded)" if over else ""), now, "line",
                "solid", "")
        capacity = (f"capacity {num(cap)} req/s", FOREGROUND, "line", "dotted", "")
        past = ("past capacity (unbounded queue)", COLORS["oom"], "bar-pale", "", "")
        self.lat_key.value = CSS + key_html([
            ("TTFT p50", COLORS["ttft_p50"], "line", "solid", ""),
            ("TTFT p99", COLORS["ttft_p99"], "line", "dashed", ""),
            ("mean ITL (time per output token)", COLORS["itl_p99"], "line", "dash_dotted", ""),
            (f"TTFT SLA {num(self.ttft_sla)} ms", COLORS["ttft_p99"], "line", "dotted", ""),
            (f"ITL SLA {num(self.itl_sla)} ms (on a request's mean ITL)", COLORS["itl_p99"], "line", "dotted", ""),
            rate, capacity, past])
        self.good_key.value = CSS + key_html([
            ("throughput (req/s)", COLORS["throughput"], "line", "solid", ""),
            ("goodput (req/s, within the SLA)", COLORS["goodput"], "line", "dashed", ""), rate, capacity, past])
        self.kv_key.value = CSS + key_html([
            (f"KV-cache in use ({r.n_requests} requests)", COLORS["kv"], "line", "solid", ""),
            ("pool full (100 %)", FOREGROUND, "line", "dashed", ""),
            (f"peak {r.peak_kv_utilization:.0%}, {r.preemptions} preemptions", "", "text", "", "")])

    def _alert(self, text):
        self.banner.value = (f"{CSS}<div role='alert' style='border:3px solid {COLORS['oom']};padding:6px 10px;"
                             f"font-weight:bold'>&#9888; {esc(text)}</div>")
        self.banner.layout.display = None

    def _draw_oom(self, exc: OOMError):
        """Nothing can be served: every figure says OOM, the banner and the table say by how much."""
        self.set_trait("at_rate", {})
        self.set_trait("capacity", 0.0)
        self.set_trait("overloaded", False)
        self.set_trait("oom", True)
        self.set_trait("curve", {})
        self.set_trait("result", None)
        need, usable = getattr(exc, "required_bytes", math.nan), getattr(exc, "capacity_bytes", math.nan)
        with hold_sync(self.lx, self.ly, self.gy, self.tx, self.lat_note, self.good_note, self.good_over,
                       self.kv_note, *self._marks()):
            for m in self._marks():
                m.visible = False
            self.lx.max, self.ly.min, self.ly.max, self.gy.max, self.tx.max = 1.0, 1.0, 1000.0, 1.0, 1.0
            for note, y in ((self.lat_note, math.sqrt(1000.0)), (self.good_note, 0.5), (self.kv_note, 55.0)):
                note.x, note.y, note.x_offset, note.y_offset, note.align = [0.5], [y], 0, 0, "middle"
                note.text = ["OOM: weights do not fit"]
            self.good_over.text = [""]
        set_y_axis(self.lat_axis, [1.0, 10.0, 100.0, 1000.0], "Latency (ms)", figure_=self.lat_fig)
        set_y_axis(self.good_axis, linear_ticks(1.0, 6), "Requests/s", figure_=self.good_fig)
        set_y_axis(self.kv_axis, linear_ticks(100.0, 6), "KV-cache in use (%)", figure_=self.kv_fig)
        self.lat_x_axis.tick_values = self.good_x_axis.tick_values = self.time_axis.tick_values = [0.0, 0.5, 1.0]
        for key in (self.lat_key, self.good_key, self.kv_key):
            key.value = CSS + "<div class='mlsyslab-key'>Nothing to plot: the weights do not fit (OOM).</div>"
        tp_hint = (f" tensor_parallel={2 * self.tensor_parallel} or more, a smaller precision or a bigger device "
                   "would leave room.")
        self._alert(f"OOM: the weights of {self.model} ({self.precision}, tensor_parallel={self.tensor_parallel}) "
                    f"need {bytes_text(need)} per GPU; {bytes_text(usable)} of {self.hardware} is usable, which "
                    f"leaves no room for the KV-cache: no request can be served." + tp_hint)
        rows = [("Memory", f"{bytes_text(need)} of {bytes_text(usable)}",
                 "<span class='mlsyslab-infeasible'>OOM: does not fit</span> (weights alone, per GPU)"),
                ("Capacity", "0 req/s", "nothing can be served")]
        self.readout.value = CSS + table_html(
            f"{self.model} on {self.hardware} ({self.precision}, tensor_parallel {self.tensor_parallel})",
            ["quantity", "value", "note"], rows, numeric=(1,)) + mode_html(self.efficiency)

    def _readout_html(self, r: LoadResult, cap: float, sla_unmet: bool) -> str:
        a = self.at_rate
        over = self.overloaded
        c = self.curve

        def t(x):
            return time_text(x) if math.isfinite(x) else "unbounded"

        if sla_unmet:
            good_note = (f"<span class='mlsyslab-infeasible'>no request meets the SLA at any load</span>: at the "
                         f"lowest rate TTFT p99 is {t(c['ttft_p99'][0])} (SLA {num(self.ttft_sla)} ms), mean ITL "
                         f"{t(c['tpot'][0])} (SLA {num(self.itl_sla)} ms)")
        else:
            good_note = (f"meeting TTFT &le; {num(self.ttft_sla)} ms and mean ITL (TPOT {time_text(a['tpot'])}) "
                         f"&le; {num(self.itl_sla)} ms")
        sim = _simulated(r)
        run = f"simulated run ({r.n_requests:,} requests, seed 0)"
        rows = [
            ("Capacity", f"{num(cap)} req/s", "", f"load {self.arrival_rate / cap:.0%} of it; seats, KV blocks and "
                                                  "step time" if cap > 0 else "seats, KV blocks and step time"),
            ("Throughput", f"{num(a['throughput'])} tokens/s", f"{num(sim['throughput'])} tokens/s",
             f"{num(a['request_throughput'])} / {num(sim['request_throughput'])} req/s served"),
            ("Goodput", f"{num(a['goodput'])} req/s", f"{num(sim['goodput'])} req/s ({sim['fraction']})", good_note),
            ("TTFT p50 / p99", f"{t(a['ttft_p50'])} / {t(a['ttft_p99'])}", f"{t(sim['ttft_p50'])} / {t(sim['ttft_p99'])}",
             "<span class='mlsyslab-infeasible'>overloaded: past capacity, the queue grows without bound (the "
             "simulated run's tail grows with its length)</span>" if over else
             f"queue + the step under way + prefill; the SLA checks each request's TTFT"),
            ("Mean ITL per request (TPOT) mean / p99", f"{t(a['tpot'])} / -",
             f"{t(sim['tpot_mean'])} / {t(sim['tpot_p99'])}", "what the ITL limit of the SLA checks"),
            ("ITL p50 / p99 (all decode steps)", f"{t(a['itl_p50'])} / {t(a['itl_p99'])}",
             f"{t(sim['itl_p50'])} / {t(sim['itl_p99'])}", "the tail pays prefill stalls; not what the SLA checks"),
            ("Mean batch", num(a["mean_batch"]), num(r.mean_batch), f"KV-cache {a['kv_utilization']:.0%} in use; "
             f"simulated peak {r.peak_kv_utilization:.0%}, {r.preemptions} preemptions (KV-cache plot)"),
            ("Engine", PROFILES[r.engine].label, "", f"{r.max_num_seqs} seats, {r.block_size}-token blocks, "
                                                     f"{'mixed' if r.chunked_prefill else 'prefill-only'} steps, "
                                                     f"{'scheduler one step ahead' if r.overlap_scheduling else 'no overlap'}, "
                                                     f"{r.raw['request_overhead'] * 1e3:g} ms front end per request"
                                                     + (f", {r.raw['host_overhead'] * 1e6:g} µs host time per "
                                                        "sequence per step" if r.raw["host_overhead"] else "")),
        ]
        return table_html(f"{r.model.key} on {r.hardware.key} at {num(self.arrival_rate)} req/s "
                          f"({self.input_tokens:,} in / {self.output_tokens:,} out): the queueing model (fast path, "
                          f"its curves) and a {run} (its KV-cache plot); two estimates of the same quantities",
                          ["quantity", "queueing model", run, "note"], rows, numeric=(1, 2))

    def _summary(self) -> str:
        if self.oom:
            return f"OOM: {self.model} does not fit on {self.hardware} (tensor_parallel={self.tensor_parallel})"
        a = self.at_rate
        p99 = time_text(a["ttft_p99"]) if math.isfinite(a["ttft_p99"]) else "unbounded"
        return (f"capacity {num(self.capacity)} req/s; at {num(self.arrival_rate)} req/s TTFT p99 {p99}, "
                f"goodput {num(a['goodput'])} req/s" + (" (overloaded)" if self.overloaded else ""))


def _simulated(r: LoadResult) -> dict:
    """The simulated run's statistics in s (and its goodput share), as the readout shows them."""
    raw, req = r.raw, getattr(r, "requests", None) or {}
    tpot = np.asarray(req.get("tpot", []), dtype=float)
    out = np.asarray(req.get("output_tokens", []), dtype=float)
    tpot = tpot[out > 1] if out.size == tpot.size else tpot
    frac = r.goodput_fraction
    return dict(raw, fraction=f"{math.floor(frac * 1000) / 10:g} % of requests meet the SLA",
                tpot_p99=float(np.percentile(tpot, 99)) if tpot.size else 0.0)


def _ceil_tick(hi: float, max_ticks: int) -> float:
    """The first round tick at or above ``hi`` (so the data never leaves the plot)."""
    ticks = linear_ticks(hi, max_ticks)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else hi
    return ticks[-1] if ticks[-1] >= hi else ticks[-1] + step


__all__ = ["LoadExplorer"]
