"""The LLM serving equations, on plain floats or numpy arrays (no Pint, no checks).

Symbols (as in docs/solvers.md): P total and P_a active parameters, L layers, d hidden_dim,
a = heads x head_dim, H_kv KV heads, d_h head_dim, S sequence length, B batch, t tensor-parallel
degree, b_w / b_kv bytes per weight / KV value.

Memory per GPU::

    W  = P x b_w / t
    KV = 2 x L x max(H_kv / t, 1) x d_h x S x B x b_kv

Prefill (time to first token), all S tokens of B requests at once::

    F_pre = (2 x P_a x S x B + 2 x L x S^2 x a x B) / t       (matmuls + causal attention)
    M_pre = W_touched + KV                                     (weights read once, KV written)

Decode (inter-token latency), one new token for each of B requests at context S::

    F_dec = (2 x P_a x B + 4 x L x S x a x B) / t              (matmuls + attention over S)
    M_dec = W_touched + KV                                     (all weights and the whole KV read)

Each phase: t = max(F / (peak x eta_c), M / (BW x eta_m)) + t_comm + L x overhead; a decode
step also pays L x B x token_overhead (per-sequence work of each layer: norms, RoPE, KV append,
sampling). In the ideal mode every efficiency is 1 and every overhead 0.
Tensor parallelism adds two ring all-reduces per layer of the activations (B x tokens x d x 2 B)::

    t_comm = 2 x L x (2 (t-1)/t x message / (link_BW/2 x eta_net) + link_latency)

Mixed-precision checkpoints (``quantized=``): when ``precision`` is below 16 bits only a share q
of the weights (q_a of the active ones) is stored at it; the rest stay 16-bit. Then
b_w = q x b_prec + (1 - q) x 2 and the GEMM rate is the harmonic mix
1 / (q_a / peak_prec + (1 - q_a) / peak_16) (:func:`quantized_shares`).

MoE: a token uses ``active_experts`` of ``experts``; N tokens touch an expected
E x (1 - (1 - k/E)^N) distinct experts per layer, which sets W_touched.

Prefix caching (``cached`` tokens of the prompt already in the KV-cache): prefill computes
S_n = S - cached tokens, F_pre = (2 P_a S_n B + 2 L a B S_n (2 cached + S_n)) / t, and still
reads the whole KV. Speculative decoding is priced by
:mod:`mlsyslab.solvers.load_physics` (k draft steps + one verify step of k + 1 tokens).
"""

from __future__ import annotations

import numpy as np

ACT_BYTES = 2.0  # activations exchanged by TP all-reduces are fp16/bf16


def quantized_shares(model, scope="all"):
    """``(q, q_a)``: the shares of all and of the active parameters stored at the low precision.

    ``"all"``: every weight (the textbook figure). ``"linear"``: the transformer layers' projections;
    embeddings, ``lm_head`` and norms stay 16-bit (ModelOpt and llm-compressor FP8, AWQ/GPTQ int4
    checkpoints leave ``lm_head`` unquantised). ``"ffn"``: Meta's FP8 recipe - only the FFN weights of
    every layer but the first and last; self-attention, those two layers, embeddings and ``lm_head``
    stay bf16 (Llama 3 paper, arXiv 2407.21783, section 6.2; meta-llama/Llama-3.1-405B-FP8)."""
    if scope == "all" or not model.is_transformer:
        return 1.0, 1.0
    attn, expert, _, _ = model._layer_parts()
    L, E, k = model.layers, model.experts, model.active_experts
    if scope == "linear":
        q, q_a = L * (attn + expert * E), L * (attn + expert * k)
    else:
        inner = max(L - 2, 0)
        q, q_a = inner * expert * E, inner * expert * k
    return q / model.n_parameters, q_a / model.n_active_parameters


def touched_weight_params(model, n_tokens):
    """Parameters read from memory when ``n_tokens`` tokens pass through (MoE-aware)."""
    P = model.n_parameters
    if not model.is_moe:
        return P + 0.0 * n_tokens
    _, expert, _, _ = model._layer_parts()
    E, k = model.experts, model.active_experts
    expert_total = model.layers * E * expert
    frac = 1.0 - (1.0 - k / E) ** n_tokens
    return (P - expert_total) + expert_total * frac


def allreduce_time(message_bytes, tp, link_Bps, eta_net, latency_s):
    """Ring all-reduce: 2(t-1)/t x bytes / per-direction bandwidth + latency; 0 when t = 1."""
    if tp <= 1:
        return 0.0 * message_bytes
    per_direction = link_Bps / 2.0 * eta_net
    return 2.0 * (tp - 1) / tp * message_bytes / per_direction + latency_s


def serving_terms(model, hw, S, B, b_w, b_kv, eff_peak, tp, cal, cached=0):
    """Every intermediate figure of the serving model; S and B may be arrays (they broadcast).

    ``eff_peak`` is the device's dense FLOP/s at the compute precision (chosen by the
    fallback rule) times the calibrated compute efficiency; ``cal`` is a
    :class:`~mlsyslab.calibration.Calibration`. ``cached`` prompt tokens (prefix caching)
    are already in the KV-cache: prefill computes only the ``S_n = S - cached`` others, each
    attending to everything before it (``F_pre = (2 P_a S_n B + 2 L a B S_n (2 cached + S_n)) / t``,
    the KV read is the whole ``S``).
    Returns a dict of floats/arrays in base units (bytes, seconds, FLOP).
    """
    L, a = model.layers, model.attention_dim
    kv_heads_per_gpu = max(model.kv_heads / tp, 1.0)

    weights = model.n_parameters * b_w / tp
    kv_per_seq = 2.0 * L * kv_heads_per_gpu * model.head_dim * S * b_kv
    kv = kv_per_seq * B
    total = weights + kv

    eff_bw = hw.memory_bandwidth_Bps * cal.eta_memory
    latency = hw.interconnect_latency_s if cal.link_latency else 0.0
    link = hw.interconnect_Bps if hw.interconnect_Bps > 0 else hw.host_Bps

    # prefill
    if cached:
        Sn = S - cached
        flops_pre = (2.0 * model.n_active_parameters * Sn * B + 2.0 * L * Sn * (2.0 * cached + Sn) * a * B) / tp
    else:
        Sn = S
        flops_pre = (2.0 * model.n_active_parameters * S * B + 2.0 * L * S * S * a * B) / tp
    bytes_pre = touched_weight_params(model, Sn * B) * b_w / tp + kv
    t_pre_compute = flops_pre / eff_peak
    t_pre_memory = bytes_pre / eff_bw
    t_pre_comm = 2.0 * L * allreduce_time(B * Sn * model.hidden_dim * ACT_BYTES, tp, link, cal.eta_network, latency)
    ttft = np.maximum(t_pre_compute, t_pre_memory) + t_pre_comm + L * cal.layer_overhead_prefill_s

    # one decode step
    flops_dec = (2.0 * model.n_active_parameters * B + 4.0 * L * S * a * B) / tp
    bytes_dec = touched_weight_params(model, B) * b_w / tp + kv
    t_dec_compute = flops_dec / eff_peak
    t_dec_memory = bytes_dec / eff_bw
    t_dec_comm = 2.0 * L * allreduce_time(B * model.hidden_dim * ACT_BYTES, tp, link, cal.eta_network, latency)
    itl = (np.maximum(t_dec_compute, t_dec_memory) + t_dec_comm
           + L * (cal.layer_overhead_decode_s + B * cal.token_overhead_decode_s))

    return {
        "weights": weights, "kv": kv, "kv_per_seq": kv_per_seq, "total": total,
        "flops_pre": flops_pre, "bytes_pre": bytes_pre, "t_pre_compute": t_pre_compute,
        "t_pre_memory": t_pre_memory, "t_pre_comm": t_pre_comm, "ttft": ttft,
        "flops_dec": flops_dec, "bytes_dec": bytes_dec, "t_dec_compute": t_dec_compute,
        "t_dec_memory": t_dec_memory, "t_dec_comm": t_dec_comm, "itl": itl,
    }


def bottleneck(t_compute, t_memory, t_comm):
    """'compute', 'memory' or 'communication': the largest term of a phase."""
    if t_comm > t_compute and t_comm > t_memory:
        return "communication"
    return "compute" if t_compute >= t_memory else "memory"
