"""Step times of a continuous-batching server, on plain floats (no Pint, no checks).

The serving model of :mod:`mlsyslab.solvers.serving_physics` split into per-step pieces, so a
scheduler can price any mix of work in one iteration. One step processes ``n`` new tokens
(prefill chunks and one token per decoding sequence), does attention work ``A`` and touches
``K`` KV-cache tokens::

    F = (2 P_a n + 2 L a A) / t
    M = W_touched(n) + kv_tok x K                 (kv_tok = 2 L max(H_kv/t, 1) d_h b_kv)
    T = max(F / (peak eta_c), M / (BW eta_m)) + t_comm(n) + L x overhead + L x B_dec x token_overhead

with overhead the prefill one when the step holds a prefill chunk, else the decode one. That
single roofline is the ``ideal`` mode's (the hand formula of ``ServingSolver``). The calibrated
mode prices the kernels of a step apart, as engines run them: the GEMMs (compute ``2 P_a n``
against the weight reads) and the attention (compute ``2 L a A`` against the KV reads), and
the per-sequence overhead is paid by at most ``B_cap`` sequences::

    T = max(F_gemm / (peak eta_c), W_touched(n) / (BW eta_m)) + max(F_attn / (peak eta_c), kv_tok K / (BW eta_m))
        + t_comm(n) + L x overhead + L x min(B_dec, B_cap) x token_overhead

At batch 1 and in a prefill both forms agree (each kernel is memory-bound, resp. compute-bound,
on the same side as the whole step). At hundreds of sequences the GEMMs are compute-bound
while attention still streams the KV-cache, so the two add up instead of hiding each other;
and the per-sequence work (norms, RoPE, KV append, sampling), fitted mostly at small batches,
runs across the GPU's SMs in parallel once the batch fills them instead of growing without
bound. ``B_cap`` (the calibration's ``load_token_overhead_batch``) and a decode step's fixed time
per layer (``load_layer_overhead_decode_s``) are the load model's own constants, fitted by
:mod:`mlsyslab.calibration.load_fit` to the tuning publications of the load validation
(``load_fitted.json``: 32 sequences, 70 us); the serving calibration's decode overhead (82 us,
single requests) applies in ``ServingSolver`` and wherever a calibration has no load constant.
Attention units: a prefill chunk of ``c`` tokens after ``o`` cached tokens adds
``A = c (2 o + c)`` and ``K = o + c``; a decoding sequence at context ``s`` adds ``A = 2 s``
and ``K = s``. A whole prompt of ``S`` tokens (o = 0) gives ``2 L S^2 a`` FLOPs and ``B``
sequences at context ``S`` give ``4 L S a B``: the TTFT and ITL of ``ServingSolver``.

Speculative decoding (draft model, ``k`` drafted tokens, acceptance rate ``alpha``): one
round costs ``k`` draft decode steps plus one target step verifying ``k + 1`` tokens per
sequence, and yields on average (Leviathan et al. 2023, eq. 1)::

    E[tokens] = (1 - alpha^(k+1)) / (1 - alpha)          (k + 1 when alpha = 1)

so the time per output token is ``(k T_draft + T_verify) / E``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .serving_physics import ACT_BYTES, allreduce_time, touched_weight_params

#: most sequences of a decode step that pay the per-sequence overhead when a calibration does not
#: say (the shipped one's ``load_token_overhead_batch`` is fitted; see module doc)
TOKEN_OVERHEAD_BATCH = 64.0


def expected_tokens(alpha, k):
    """Expected tokens per speculative round: (1 - alpha^(k+1)) / (1 - alpha); k + 1 at alpha = 1."""
    if alpha >= 1.0:
        return k + 1.0
    return (1.0 - alpha ** (k + 1)) / (1.0 - alpha)


@dataclass(frozen=True)
class StepCost:
    """Plain-float constants of one model on one device (or TP group); see module doc."""

    tok_c: float  # s of matmul compute per token: 2 P_a / t / peak_eff
    attn_c: float  # s of compute per attention unit: 2 L a / t / peak_eff
    kv_m: float  # s of memory traffic per KV token touched
    w_m: float  # s to stream the dense weights once (MoE: all of them)
    ov_pre: float  # L x layer overhead of a step holding prefill
    ov_dec: float  # L x layer overhead of a decode-only step
    tok_ov: float  # L x per-sequence overhead of a decode step
    comm_per_token: float  # s of all-reduce bandwidth time per token in the step
    comm_fixed: float  # s of all-reduce latency per step (0 when t = 1)
    kv_bytes_per_token: float  # per GPU
    weights_bytes: float  # per GPU
    model: object = None  # kept for MoE touched-weight look-ups
    b_w: float = 2.0
    tp: int = 1
    bw_eff: float = 1.0
    split: bool = False  # price GEMMs and attention as separate kernels (calibrated mode)
    seq_cap: float = math.inf  # most sequences paying tok_ov
    host_seq: float = 0.0  # s of host (scheduler) time per decoding sequence, in series with the GPU (no overlap)

    def weight_time(self, n_tokens: float) -> float:
        """Seconds to read the weights ``n_tokens`` tokens touch (all of them unless MoE)."""
        if self.model is None or not self.model.is_moe:
            return self.w_m
        return touched_weight_params(self.model, n_tokens) * self.b_w / self.tp / self.bw_eff

    def comm(self, n_tokens: float) -> float:
        return self.comm_per_token * n_tokens + self.comm_fixed if n_tokens > 0 else 0.0

    def step(self, n_tokens, attn, kv_tokens, n_decode, prefill) -> float:
        """Time of one step (see module doc)."""
        if self.split:
            core = (max(n_tokens * self.tok_c, self.weight_time(n_tokens))
                    + max(attn * self.attn_c, kv_tokens * self.kv_m))
        else:
            core = max(n_tokens * self.tok_c + attn * self.attn_c, self.weight_time(n_tokens) + kv_tokens * self.kv_m)
        return (core + self.comm(n_tokens) + (self.ov_pre if prefill else self.ov_dec)
                + min(n_decode, self.seq_cap) * self.tok_ov + n_decode * self.host_seq)

    def prefill(self, new_tokens, cached=0.0) -> float:
        """One prompt's prefill: ``new_tokens`` after ``cached`` tokens already in the KV-cache."""
        return self.step(new_tokens, new_tokens * (2.0 * cached + new_tokens), cached + new_tokens, 0, True)

    def decode_terms(self, batch, tokens_per_seq=1.0):
        """One decode (or verify) step of ``batch`` sequences as ``(terms, const)`` in the total context C:
        time = sum(w x max(a1 + b1 C, a2 + b2 C) for w, a1, b1, a2, b2 in terms) + const."""
        n = batch * tokens_per_seq
        const = self.comm(n) + self.ov_dec + min(batch, self.seq_cap) * self.tok_ov + batch * self.host_seq
        if self.split:
            return ([(1.0, n * self.tok_c, 0.0, self.weight_time(n), 0.0),
                     (1.0, 0.0, 2.0 * tokens_per_seq * self.attn_c, 0.0, self.kv_m)], const)
        return ([(1.0, n * self.tok_c, 2.0 * tokens_per_seq * self.attn_c, self.weight_time(n), self.kv_m)], const)


def step_cost(model, hw, b_w, b_kv, eff_peak, tp, cal, kernels=False) -> StepCost:
    """The :class:`StepCost` of ``model`` on ``hw`` (same inputs as ``serving_terms``); ``kernels``:
    the calibrated load model (GEMMs and attention apart, capped per-sequence overhead; see module
    doc), used by ``LoadSolver`` outside the ideal mode. ``ServingSolver`` keeps the single roofline."""
    kernels = bool(kernels) and cal.name != "ideal"
    L, a = model.layers, model.attention_dim
    bw_eff = hw.memory_bandwidth_Bps * cal.eta_memory
    kv_tok = 2.0 * L * max(model.kv_heads / tp, 1.0) * model.head_dim * b_kv
    link = hw.interconnect_Bps if hw.interconnect_Bps > 0 else hw.host_Bps
    latency = hw.interconnect_latency_s if cal.link_latency else 0.0
    if tp > 1:
        per_tok = 2.0 * L * allreduce_time(model.hidden_dim * ACT_BYTES, tp, link, cal.eta_network, 0.0)
        fixed = 2.0 * L * latency
    else:
        per_tok = fixed = 0.0
    kv_eff = float(getattr(cal, "load_kv_read_efficiency", 1.0)) if kernels else 1.0
    return StepCost(
        tok_c=2.0 * model.n_active_parameters / tp / eff_peak, attn_c=2.0 * L * a / tp / eff_peak,
        kv_m=kv_tok / (bw_eff * kv_eff), w_m=model.n_parameters * b_w / tp / bw_eff,
        ov_pre=L * cal.layer_overhead_prefill_s, ov_dec=L * _decode_overhead(cal, kernels),
        tok_ov=L * cal.token_overhead_decode_s, comm_per_token=per_tok, comm_fixed=fixed,
        kv_bytes_per_token=kv_tok, weights_bytes=model.n_parameters * b_w / tp, model=model, b_w=b_w, tp=tp,
        bw_eff=bw_eff, split=kernels,
        seq_cap=float(getattr(cal, "load_token_overhead_batch", TOKEN_OVERHEAD_BATCH)) if kernels else math.inf)


def _decode_overhead(cal, kernels) -> float:
    """Fixed time per layer of a decode step: the load model's own constant (fitted to engines under
    load) when ``kernels`` and the calibration has one, else the serving calibration's."""
    own = getattr(cal, "load_layer_overhead_decode_s", None) if kernels else None
    return cal.layer_overhead_decode_s if own is None else own


@dataclass(frozen=True)
class Speculation:
    """A draft model's :class:`StepCost` (replicated on each GPU, t = 1), k and alpha."""

    draft: StepCost
    k: int
    alpha: float

    @property
    def tokens_per_round(self) -> float:
        return expected_tokens(self.alpha, self.k)


class DecodeCost:
    """Time of the decode steps of a fixed batch, as a function of the total context C.

    Without speculation one step adds one token per sequence; with it, one *virtual* step is
    a round divided by E (the time per output token), so a sequence still gains one token
    per virtual step on average and the KV-cache grows by one token per sequence.
    """

    __slots__ = ("terms", "const")

    def __init__(self, cost: StepCost, batch: int, spec: Speculation | None = None):
        if spec is None:
            self.terms, self.const = cost.decode_terms(batch)
            return
        E = spec.tokens_per_round
        vt, vc = cost.decode_terms(batch, spec.k + 1.0)
        vt = [(1.0, a1, b1, a2, b2) for _, a1, b1, a2, b2 in vt]
        dt, dc = spec.draft.decode_terms(batch)
        dt = [(float(spec.k), a1, b1, a2, b2) for _, a1, b1, a2, b2 in dt]
        self.terms = [(w / E, a1, b1, a2, b2) for w, a1, b1, a2, b2 in vt + dt]
        self.const = (vc + spec.k * dc) / E

    def at(self, C: float) -> float:
        t = self.const
        for w, a1, b1, a2, b2 in self.terms:
            x, y = a1 + b1 * C, a2 + b2 * C
            t += w * (x if x > y else y)
        return t

    def pieces(self, C0: float, dC: float, n: int):
        """Steps k = 0..n-1 at context C0 + k dC as linear pieces ``(k_start, k_end, t(k_start), slope)``."""
        cuts = {0, n}
        for _, a1, b1, a2, b2 in self.terms:
            if b1 != b2 and dC > 0:
                k = ((a2 - a1) / (b1 - b2) - C0) / dC
                if 0 < k < n:
                    cuts.add(int(math.ceil(k)))
        cuts = sorted(cuts)
        out = []
        for ks, ke in zip(cuts, cuts[1:]):
            t0 = self.at(C0 + ks * dC)
            slope = self.at(C0 + (ks + 1) * dC) - t0 if ke - ks > 1 else 0.0
            out.append((ks, ke, t0, slope))
        return out


def piece_sum(m: int, t0: float, slope: float) -> float:
    """Sum of ``t0 + slope j`` for j = 0..m-1."""
    return m * t0 + slope * m * (m - 1) / 2.0


def steps_to_reach(m_max: int, t0: float, slope: float, T: float) -> int:
    """Smallest m <= m_max with piece_sum(m) >= T (m_max when never reached)."""
    if T <= 0:
        return 0
    if slope > 1e-18 * max(t0, 1e-30):
        # slope/2 m^2 + (t0 - slope/2) m - T = 0
        bq = t0 - slope / 2.0
        m = int(math.ceil((-bq + math.sqrt(bq * bq + 2.0 * slope * T)) / slope))
    else:
        m = int(math.ceil(T / t0)) if t0 > 0 else m_max
    m = max(1, min(m, m_max))
    while m > 1 and piece_sum(m - 1, t0, slope) >= T:
        m -= 1
    while m < m_max and piece_sum(m, t0, slope) < T:
        m += 1
    return m
