"""Fast path of the load solver: a fluid + queueing approximation, vectorised over arrival rates.

Fixed prompt ``I`` (``c`` of it cached) and output ``O`` tokens, Poisson arrivals at rate
``lam``. Symbols: ``T_pre`` one prompt's prefill, ``t(B)`` a decode step of ``B`` sequences
at the mean context ``I + O/2`` (:mod:`mlsyslab.solvers.load_physics`).

**Batch (fluid balance).** ``B`` is the time-average number of decoding sequences;
``mean_batch`` reports the sequences per decode step, ``B / (1 - exp(-B))`` (Poisson ``N | N >= 1``). Without chunked prefill the server spends ``lam x T_pre`` of each
second on prefill-only steps and the rest on decode steps of ``B`` tokens, which must carry
``lam (O - 1)`` tokens/s::

    B / t(B) = lam (O - 1) / (1 - lam T_pre)          (solved for B by bisection)

Here ``T_pre`` is a prefill-only step's time per prompt, ``T(K) / K`` with ``K`` the mean prompts per
step of a prefill episode: the ``1 + lam t(B)`` prompts that came during a decode step, then those that
came during that prefill (``m = lam T(K_j)`` on average; another step with probability
``1 - exp(-m)``, holding ``m / (1 - exp(-m))``), and so on; the later steps hold fewer prompts and
pay the step's fixed time for fewer. With chunked prefill each step also carries
``p = B (I - c) / (O - 1)`` prompt tokens and ``B / t_mix(B) = lam (O - 1)``.

**Capacity.** The batch is capped by ``B_max = min(max_num_seqs, KV blocks / blocks per
sequence at the mean context)``; the largest sustainable rate follows from the balance at
``B_max`` (without chunked prefill)::

    lam_max = X / (O - 1 + X T_pre),   X = B_max / t(B_max)

**Queueing.** Requests wait for a seat like an M/D/c queue with ``c = B_max`` servers of
utilisation ``rho = lam / lam_max``: probability of waiting (Halfin-Whitt / Sakasegawa
approximation) ``P_w = rho^(sqrt(2 (c + 1)) - 1)``, and a wait given waiting that is
exponential with mean ``(1 + C_s^2)/2 x S / (c (1 - rho))`` (``S = B / lam`` the time in
service, ``C_s = 0`` for fixed lengths: Allen-Cunneen). TTFT adds the prefill (with the
prompts that arrive during a step batched with it) and the residual of the step under way.
ITL is ``t(B)``; an interval that follows a prefill-only step (probability
``1 - exp(-lam t(B))`` per interval) also pays that prefill: that sets the ITL tail.

**Token budget** (``max_tokens``). A prefill-only step holds at most ``k_b = floor(max_tokens / (I - c))``
whole prompts, so ``K <= k_b``; a mixed step carries the ``B`` decode tokens and, at saturation, the
``B (I - c) / (O - 1)`` prompt tokens of the requests that replace the finishing ones, so the batch
it sustains is ``B <= max_tokens (O - 1) / (O - 1 + I - c)``. Multi-step scheduling with mixed steps
(``k`` steps per scheduling point) admits ``n = ceil((max_tokens - B) / (I - c))`` prompts every ``k``
steps; each lives ``O - 1`` steps, so ``B = n (O - 1) / k`` and ``lam_max = n / (k t(B) + T_pre(n))``.

**Finite run** (``n_requests = N``). Past capacity an infinite run's queue grows without end
(TTFT = inf); a run of N requests fills, queues and drains. Fluid model of that transient
(Newell, *Applications of Queueing Theory*, 2nd ed., 1982, ch. 2: cumulative arrivals against
cumulative admissions): requests arrive at ``k / lam`` in FIFO cohorts; a cohort is admitted when
a seat is free (``max_num_seqs``; mixed steps: the batch the budget sustains), the KV pool holds
every running request's prompt and generated tokens (plus the profile's reserve of its remaining
output) and the new prompts, and the budget's admission rate allows; its prompts take
``T_pre(K)/K`` each of server time; the running requests advance one token per decode step of
``t(B)``, ``B`` the requests running. An event loop over admissions and completions (``min(N, 512)``
cohorts, vectorised over ``lam``) gives each cohort's admission and completion times. With
arrivals faster than the admissions, request ``k`` waits about ``k (1/mu - 1/lam)`` (``mu`` the
capacity); TTFT = that wait (or the steady seat wait below capacity, whichever is larger) + the
residual step and own prefill above; E2E = completion - arrival; throughput = ``N O /`` (last
completion); TPOT past capacity = the mean of (completion - admission) / (O - 1); goodput past
capacity = the share of cohorts whose wait still meets the TTFT limit, per second of the run. The median ITL
past capacity is the plain decode step at the batch of the run's mean interval (``sum B^2 / sum B`` over
its steps: a step of B sequences gives B intervals) once most requests queue (seats
free in bunches, so most steps carry no prompt; with mixed steps, once the median wait is a
quarter of a request's life, a threshold read off the simulator), the step full of prompt chunks
when the budget bounds the batch, and otherwise the steady state at capacity (with prefill-only
steps: the prefill episodes at the run's mean batch and admission rate, which also set the TTFT
before any wait for a seat; the steady state's largest batch is not reached when the seats are not
the limit). Below capacity a run can end before its batch settles near saturation: when the run's
mean batch stays more than 10 % under the steady state's, its TPOT, median ITL, E2E and mean batch
are those of the run's own steps. A run longer than
512 cohorts of ``b_max / 8`` requests takes the long-run limit: waits ``k (1/mu - 1/lam)``,
throughput ``N / (N / min(lam, mu) + T_first + (O - 1) t)``.
"""

from __future__ import annotations

import math

import numpy as np

from .serving_physics import touched_weight_params


def _weight_time(cost, n):
    if cost.model is None or not cost.model.is_moe:
        return cost.w_m + 0.0 * n
    return touched_weight_params(cost.model, n) * cost.b_w / cost.tp / cost.bw_eff


def step_time(cost, n_tokens, attn, kv_tokens, n_decode, prefill):
    """:meth:`StepCost.step` on numpy arrays."""
    n_tokens = np.asarray(n_tokens, float)
    comm = (cost.comm_per_token * n_tokens + cost.comm_fixed) * (n_tokens > 0) if cost.tp > 1 else 0.0
    w = cost.w_m if cost.model is None or not cost.model.is_moe else _weight_time(cost, n_tokens)
    if cost.split:
        core = np.maximum(n_tokens * cost.tok_c, w) + np.maximum(attn * cost.attn_c, kv_tokens * cost.kv_m)
    else:
        core = np.maximum(n_tokens * cost.tok_c + attn * cost.attn_c, w + kv_tokens * cost.kv_m)
    if isinstance(prefill, bool):
        ov = cost.ov_pre if prefill else cost.ov_dec
    else:
        ov = np.where(prefill, cost.ov_pre, cost.ov_dec)
    tok = cost.tok_ov * (np.minimum(n_decode, cost.seq_cap) if cost.seq_cap < math.inf else n_decode)
    return core + comm + ov + tok + cost.host_seq * np.asarray(n_decode, float)


def decode_time(cost, spec, B, ctx):
    """Time per decode step (speculation: per output token) of ``B`` sequences at context ``ctx`` each."""
    B = np.asarray(B, float)
    C = B * ctx
    if spec is None:
        return step_time(cost, B, 2.0 * C, C, B, False)
    k = spec.k
    verify = step_time(cost, B * (k + 1.0), 2.0 * C * (k + 1.0), C, B, False)
    draft = step_time(spec.draft, B, 2.0 * C, C, B, False)
    return (k * draft + verify) / spec.tokens_per_round


def prefill_time(cost, spec, K, new, cached):
    """``K`` prompts of ``new`` tokens after ``cached`` ones, in one prefill-only step."""
    K = np.asarray(K, float)
    t = step_time(cost, K * new, K * new * (2.0 * cached + new), K * (cached + new), 0.0, True)
    if spec is not None:
        t = t + step_time(spec.draft, K * new, K * new * (2.0 * cached + new), K * (cached + new), 0.0, True)
    return t


def decode_lines(cost, spec, ctx):
    """Decode time per token-step of B sequences at context ``ctx`` as ``max_i(A_i + S_i B)``:
    the list of lines ``(A_i, S_i)``; None for an MoE model (its weight traffic is not linear in B)
    and for the calibrated kernel model (a sum of maxima, with a capped per-sequence term)."""
    def lines(c, tau):
        if (c.model is not None and c.model.is_moe) or c.split:
            return None  # not a max of lines in B: bisection
        a0 = c.comm_fixed + c.ov_dec
        s0 = tau * c.comm_per_token + c.tok_ov + c.host_seq
        return [(a0, tau * (c.tok_c + 2.0 * ctx * c.attn_c) + s0), (c.w_m + a0, ctx * c.kv_m + s0)]

    if spec is None:
        return lines(cost, 1.0)
    verify, draft = lines(cost, spec.k + 1.0), lines(spec.draft, 1.0)
    if verify is None or draft is None:
        return None
    E, k = spec.tokens_per_round, spec.k
    return [((k * ad + av) / E, (k * sd + sv) / E) for ad, sd in draft for av, sv in verify]


def decode_pieces(cost, spec, ctx):
    """The calibrated kernel model's decode time of B sequences at context ``ctx`` as linear pieces
    ``(lo, hi, alpha, beta)`` (t = alpha + beta B on lo <= B <= hi): breaks where the GEMMs turn
    compute-bound and where the per-sequence overhead stops; None for MoE or speculation."""
    if spec is not None or not cost.split or (cost.model is not None and cost.model.is_moe):
        return None
    g, w = cost.tok_c, cost.w_m
    s_att = max(2.0 * ctx * cost.attn_c, ctx * cost.kv_m) + cost.comm_per_token + cost.host_seq
    a0 = cost.comm_fixed + cost.ov_dec
    cuts = sorted({0.0, math.inf, *(x for x in (w / g if g > 0 else math.inf, cost.seq_cap) if 0 < x < math.inf)})
    pieces = []
    for lo, hi in zip(cuts, cuts[1:]):
        mid = lo + 1.0 if hi == math.inf else 0.5 * (lo + hi)
        alpha, beta = a0, s_att
        if mid * g > w:
            beta += g
        else:
            alpha += w
        if mid < cost.seq_cap:
            beta += cost.tok_ov
        else:
            alpha += cost.seq_cap * cost.tok_ov
        pieces.append((lo, hi, alpha, beta))
    return pieces


def _solve_batch(lines, t_dec, target, b_hi, pieces=None):
    """B with B / t(B) = target (t increasing, B / t(B) increasing); inf when out of reach.

    With t(B) = max_i(A_i + S_i B) the answer is max_i target A_i / (1 - target S_i): at the
    solution B = target t(B) >= target (A_i + S_i B) for every line, with equality on the active one.
    """
    if pieces is not None:  # piecewise linear t(B): the piece whose solution lies inside it
        B = np.full_like(target, np.inf)
        for lo, hi, alpha, beta in reversed(pieces):
            den = 1.0 - target * beta
            cand = np.where(den > 0, target * alpha / np.where(den > 0, den, 1.0), np.inf)
            ok = (cand >= lo * (1 - 1e-12)) & (cand <= hi * (1 + 1e-12))
            B = np.where(ok, cand, B)
        return B
    if lines is not None:
        B = np.zeros_like(target)
        for A, S in lines:
            den = 1.0 - target * S
            B = np.maximum(B, np.where(den > 0, target * A / np.where(den > 0, den, 1.0), np.inf))
        return B
    lo = np.zeros_like(target)  # MoE: bisection
    hi = np.full_like(target, float(b_hi))
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        below = mid / t_dec(mid) <= target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def prefill_lines(cost, spec, new, cached):
    """A dense prefill-only step of K prompts as ``max(a1 + s1 K, a2 + s2 K)`` (one break, between its
    memory- and compute-bound sides): ``[(a1, s1), (a2, s2)]`` read off at K = 1, 2 and 1e4, 1e4 + 1;
    None for MoE or speculation (not two lines in K)."""
    if spec is not None or (cost.model is not None and cost.model.is_moe):
        return None
    ks = np.array([1.0, 2.0, 1e4, 1e4 + 1.0])
    T = prefill_time(cost, None, ks, new, cached)
    return [(T[0] - (T[1] - T[0]), T[1] - T[0]), (T[2] - 1e4 * (T[3] - T[2]), T[3] - T[2])]


def _episode(cost, spec, x, td, new, cached, lines=None):
    """Prompts per prefill episode: K = 1 + x (td + T_pre(K)), T_pre the prefill-only step of K prompts.
    For a dense model T_pre is two lines (:func:`prefill_lines`, passed in or read off here), which
    give K = max_i (1 + x (td + A_i)) / (1 - x S_i) as in :func:`_solve_batch`."""
    lines = lines or prefill_lines(cost, spec, new, cached)
    if lines:
        k = np.ones_like(x)
        for A, S in lines:
            den = 1.0 - x * S
            k = np.maximum(k, np.where(den > 0, (1.0 + x * (td + A)) / np.where(den > 0, den, 1.0), 1e4))
        return np.minimum(k, 1e4)
    k = 1.0 + x * td
    for _ in range(8):  # MoE / speculation: fixed-point iteration
        prev, k = k, np.minimum(1.0 + x * (td + prefill_time(cost, spec, k, new, cached)), 1e4)
        if np.all(np.abs(k - prev) <= 1e-9 * k):
            break
    return k


_CHAIN = 12  # steps of a prefill episode followed one by one (then a geometric tail)


def _episode_steps(x, td, lines, k_b):
    """``fluid``'s ``per_step`` for one arrival rate, on floats; ``lines``: the prefill step's time as
    ``max(a1 + s1 K, a2 + s2 K)``."""
    (a1, s1), (a2, s2) = lines
    k = min(1.0 + x * td, k_b)
    steps, prompts, alive, go = 1.0, k, 1.0, 0.0
    for _ in range(_CHAIN):
        m = x * max(a1 + s1 * k, a2 + s2 * k)
        go = -math.expm1(-m)
        alive *= go
        k = min(m / go if m > 1e-12 else 1.0, k_b)
        steps += alive
        prompts += alive * k
    tail = alive * min(go / max(1.0 - go, 1e-12), 1e6)
    return (prompts + tail * k) / (steps + tail)


def _residual_q(q, u_a, t_a, u_b, t_b):
    """q-quantile of the wait R for the step under way: P(R > r) = u_a (1 - r/t_a)+ + u_b (1 - r/t_b)+."""
    tail = 1.0 - q
    swap = t_a > t_b
    u1, t1 = np.where(swap, u_b, u_a), np.where(swap, t_b, t_a)  # the shorter step
    u2, t2 = np.where(swap, u_a, u_b), np.where(swap, t_a, t_b)
    r1 = (u1 + u2 - tail) / np.maximum(u1 / t1 + u2 / t2, 1e-300)
    r2 = t2 * (1.0 - tail / np.maximum(u2, 1e-300))
    r = np.where(r1 <= t1, r1, r2)
    return np.where(u1 + u2 <= tail, 0.0, np.clip(r, 0.0, t2))


def _erf(x):
    """Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), on arrays."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-x * x)
    return sign * y


def _erlang_c(c, a):
    """Probability of waiting in an M/M/c queue with offered load a (Halfin-Whitt approximation)."""
    beta = (c - a) / np.sqrt(np.maximum(a, 1e-12))
    phi = np.exp(-0.5 * beta ** 2) / math.sqrt(2.0 * math.pi)
    Phi = 0.5 * (1.0 + _erf(beta / math.sqrt(2.0)))
    return np.where(a >= c, 1.0, 1.0 / (1.0 + beta * Phi / np.maximum(phi, 1e-300)))


def fluid(cost, spec, lam, I, O, cached, *, total_blocks, block_size, max_seqs, max_tokens, chunked,
          sla_ttft=None, sla_itl=None, watermark=0.01, reserve=0.0, scheduler_steps=1, n_requests=None,
          request_delay=0.0, overlap=False, reserve_decay=None):
    """Steady-state figures for each arrival rate in ``lam`` (see module doc).

    Returns a dict of arrays (s, tokens/s, req/s): ``throughput``, ``request_throughput``,
    ``goodput``, ``ttft_p50``, ``ttft_p99``, ``ttft_mean``, ``itl_p50``, ``itl_p99``, ``tpot``, ``e2e_p50``,
    ``e2e_p99``, ``e2e_mean``, ``mean_batch``, ``kv_utilization``, ``utilization`` (lam / capacity) and the
    scalars ``capacity`` (req/s) and ``max_batch``. ``watermark``: fraction of blocks kept free at
    admission; ``reserve``: fraction of a request's remaining output whose blocks admission holds
    back (the engine profile's; 1 for TensorRT-LLM's no-evict scheduler), the floor it decays to when
    ``reserve_decay = (init, steps)`` is given (SGLang's ``new_token_ratio``: ``init`` at the start of a
    finite run and after each preemption, down to ``reserve`` over ``steps`` decode steps; the steady
    state uses the floor); ``scheduler_steps`` k:
    multi-step scheduling, a prompt waits on average (k - 1) / 2 decode intervals for the next
    scheduling point while requests run. ``request_delay``: seconds between a client sending a request
    and the scheduler seeing it (added to every TTFT and E2E, as in the simulator). ``overlap``: the
    scheduler runs one step ahead of the GPU, so a prompt that arrives while the GPU is busy (a
    fraction u of the time) also waits for the step formed before it arrived: u x the mean interval
    between two tokens with mixed steps (prompt chunks included), u x a decode step without.
    """
    lam = np.atleast_1d(np.asarray(lam, float))
    bs = block_size
    new = I - cached
    ctx = I + O / 2.0
    blocks_per_seq = ctx / bs + 0.5
    held = (ctx + reserve * O / 2.0) / bs + (1.0 if reserve >= 1.0 else 0.5)  # blocks a running request holds back
    b_kv = (total_blocks - int(watermark * total_blocks)) / held
    b_max = max(1.0, min(float(max_seqs), b_kv))
    dec = max(O - 1.0, 0.0)
    # the token budget: a prefill-only step holds at most k_b whole prompts; a mixed step carries its B
    # decode tokens and, at saturation, the B / (O - 1) prompts that replace the finishing ones
    k_b = max(1.0, math.floor(max_tokens / max(new, 1)))
    b_free = b_max  # the batch seats and KV allow
    if chunked and dec > 0:
        b_max = max(1.0, min(b_max, max_tokens * dec / (dec + new)))
    budget_bound = chunked and b_max < b_free * (1 - 1e-9)  # every step at saturation is full of prompt chunks

    lines = decode_lines(cost, spec, ctx)
    pieces = decode_pieces(cost, spec, ctx)

    def t_dec(B):
        if lines is None:
            return decode_time(cost, spec, np.maximum(B, 1.0), ctx)
        Bq = np.maximum(B, 1.0)
        return np.max([A + S * Bq for A, S in lines], axis=0)

    def t_prefill(K, B):
        """Extra time a step spends on K prompts: a prefill-only step, or (chunked) the growth of a decode step."""
        if not chunked:
            return prefill_time(cost, spec, K, new, cached)
        Bq = np.maximum(B, 1.0)
        C = Bq * ctx
        mixed = step_time(cost, Bq + K * new, 2.0 * C + K * new * (2.0 * cached + new), C + K * I, Bq, True)
        return np.maximum(mixed - t_dec(Bq), 0.0) + 0.0 * K

    pre_lines = None if chunked else prefill_lines(cost, spec, new, cached)

    def t_pre_lines(K, B):
        if not pre_lines:
            return t_prefill(K, B)
        (a1, s1), (a2, s2) = pre_lines
        return np.maximum(a1 + s1 * K, a2 + s2 * K)

    def per_step(x, td, B):
        """Mean prompts per prefill-only step. An episode starts after a decode step with the
        ``1 + x td`` prompts that came during it (given one came); while its step of ``K_j`` prompts
        runs, ``m = x T_pre(K_j)`` more arrive on average, and the episode goes on with another step
        with probability ``1 - exp(-m)``, holding ``m / (1 - exp(-m))`` prompts (Poisson, at least
        one). Prompts per episode over steps per episode, at most ``k_b``. Multi-step scheduling (k
        steps per scheduling point) admits only at those points: one prefill of the ``1 + x k td``
        prompts that came during the k steps."""
        x, td = np.asarray(x, float), np.asarray(td, float)
        if scheduler_steps > 1:
            return np.minimum(1.0 + x * scheduler_steps * td, k_b)
        if pre_lines and x.size <= 4:  # the capacity's fixed point: plain floats are ~20x faster here
            x, td = np.broadcast_arrays(x, td)
            return np.array([_episode_steps(float(a), float(b), pre_lines, k_b) for a, b in zip(x.ravel(), td.ravel())]
                            ).reshape(x.shape)
        k = np.minimum(1.0 + x * td, k_b)
        steps, prompts, alive = np.ones_like(k), k.copy(), np.ones_like(k)
        for _ in range(_CHAIN):
            m = x * t_pre_lines(k, B)
            go = -np.expm1(-m)
            alive = alive * go
            k = np.minimum(np.where(m > 1e-12, m / np.maximum(go, 1e-300), 1.0), k_b)
            steps, prompts = steps + alive, prompts + alive * k
        # the chain has settled on its fixed point by then: the rest is a geometric tail of ratio go
        tail = alive * np.minimum(go / np.maximum(1.0 - go, 1e-12), 1e6)
        steps, prompts = steps + tail, prompts + tail * k
        return prompts / steps

    def balance(x, K, B_prev):
        """Fraction of time left for decode steps, and the target B / t(B)."""
        f_pre = x * t_prefill(K, B_prev) / K
        return f_pre, x * dec / np.maximum(1.0 - f_pre, 1e-12)

    # capacity: the balance at b_max, with prompts per prefill K = 1 + x t(b_max) (fixed point in x)
    td_max = float(t_dec(b_max))
    x_cap = np.array([b_max / td_max / max(dec, 1.0)])
    b_arr = np.array([b_max])
    for _ in range(12):
        K = 1.0 + x_cap * td_max if chunked else per_step(x_cap, td_max, b_arr)
        tp = t_prefill(K, b_arr)
        prev, x_cap = x_cap, (b_max / td_max) / (dec + (b_max / td_max) * tp / K) if dec > 0 else K / tp
        if abs(x_cap[0] - prev[0]) <= 1e-13 * abs(x_cap[0]):
            break
    cap = float(x_cap[0])
    k_ms = float(scheduler_steps)
    if chunked and dec > 0 and k_ms > 1:
        # multi-step scheduling with mixed steps: prompts are admitted only every k steps, as many as
        # the step's budget has room for, n = ceil((budget - B) / new); each lives O - 1 steps, so
        # B = n (O - 1) / k (fixed point), and x = n / (k t(B) + T_pre(n))
        b_ms = b_max
        for _ in range(30):
            n_ms = math.ceil(max(max_tokens - b_ms, 1.0) / max(new, 1))
            b_ms = min(b_max, n_ms * dec / k_ms)
        n_ms = math.ceil(max(max_tokens - b_ms, 1.0) / max(new, 1))
        x_ms = n_ms / (k_ms * float(t_dec(b_ms)) + float(t_prefill(np.array([float(n_ms)]), np.array([b_ms]))[0]))
        if x_ms < cap:
            cap, b_max, budget_bound = x_ms, max(1.0, b_ms), False
    x = np.minimum(lam, cap)

    # batch, by fixed point on the prompts batched per prefill
    K = np.ones_like(x)
    B = np.ones_like(x)
    for _ in range(4):
        f_pre, target = balance(x, K, B)
        B = np.minimum(_solve_batch(lines, t_dec, target, b_max, pieces), b_max) if dec > 0 else np.zeros_like(x)
        td = t_dec(B)
        # prompts that arrive during one step share the next prefill (chunked: the step includes prompts)
        K = 1.0 + x * td / np.maximum(1.0 - f_pre, 1e-12) if chunked else per_step(x, td, B)

    def local(x, B, K):
        """The figures of one step pattern: the arrival rate ``x`` the scheduler admits, ``B`` decoding
        sequences and ``K`` prompts per prefill (steady state, or a finite run's mean past capacity)."""
        td = t_dec(B)
        f_pre, _ = balance(x, K, B)
        tp_K = t_prefill(K, B)
        interval = np.where(dec > 0, td / np.maximum(1.0 - f_pre, 1e-12), 0.0)  # mean time between two tokens

        # ---- the step under way when a request arrives
        u_p = np.minimum(f_pre, 1.0)
        u_d = np.minimum(1.0 - u_p, x * dec * td / np.maximum(B, 1.0))
        if chunked:  # prompts ride in (longer) mixed steps
            t_b, u_b = td + tp_K, u_p
        else:
            t_b, u_b = tp_K, u_p
        r50 = _residual_q(0.5, u_d, td, u_b, t_b)
        r99 = _residual_q(0.99, u_d, td, u_b, t_b)

        def own_prefill(r):
            k = 1.0 + 2.0 * x * r  # every prompt that arrived during the step under way (length ~2r) joins
            return (td + t_prefill(k, B)) if chunked else t_prefill(k, B)

        # multi-step scheduling: the next scheduling point is uniform over the k steps under way
        sched = (scheduler_steps - 1.0) * interval * np.minimum(B, 1.0)
        # overlap: the step formed before the prompt arrived; a mixed step when chunked (the mean interval),
        # else a decode step (prompts that come meanwhile share the prompt's own prefill step)
        ahead = (interval if chunked else td) * np.minimum(u_p + u_d, 1.0) if overlap else 0.0
        first50 = request_delay + ahead + r50 + own_prefill(r50)  # send -> first token, before any wait for a seat
        first99 = request_delay + ahead + r99 + own_prefill(r99)
        # the mean: a uniform residual over each kind of step, weighted by its share of time (own_prefill
        # is close to linear in the residual, so it is taken at the mean one)
        r_mean = 0.5 * (u_d * td + u_b * t_b)
        first_mean = request_delay + ahead + r_mean + own_prefill(r_mean)

        # ---- inter-token intervals: a decode step, or one that follows (or holds) prompts
        p_stall = 1.0 - np.exp(-x * interval)
        stall = tp_K
        if dec > 0 and not chunked:
            # prefill-only steps come in episodes: the prompts that arrived during a decode step, then those
            # that arrive during their prefill, and so on (K_ep = (1 + x td) / (1 - x t1) prompts), x / K_ep
            # episodes per second among (1 - f_pre) / td intervals
            k_ep = _episode(cost, spec, x, td, new, cached, pre_lines)
            p_stall = np.minimum(1.0, x * td / (k_ep * np.maximum(1.0 - f_pre, 1e-12)))
            stall = t_prefill(k_ep, B)
        elif dec > 0:
            # intervals as a two-state chain: one holds prompts (a mixed step, or a prefill-only step before
            # the decode step) when a prompt arrived during the previous interval (td plain, td + s with
            # prompts, s what one prompt adds)
            s1 = t_prefill(np.ones_like(x), B)
            p_pm = -np.expm1(-x * td)
            p_mm = -np.expm1(-x * (td + s1))
            p_stall = p_pm / np.maximum(1.0 - p_mm + p_pm, 1e-300)
            mu = x * (td + s1)
            stall = t_prefill(np.where(mu > 1e-9, mu / np.maximum(-np.expm1(-mu), 1e-300), 1.0), B)
        k99 = np.minimum(1.0 + _poisson_q(x * td, 0.99), max(1.0, (max_tokens - 1.0) / max(new, 1)))
        stall99 = t_prefill(k99, B) * (1.0 + u_p)  # another prefill often follows while prompts keep coming
        # the median moves from the plain interval to the one with prompts as their share passes 1/2; the
        # durations spread, so it moves over a band of shares (35-65 %), not at one point
        itl50 = td + stall * np.clip((p_stall - 0.35) / 0.3, 0.0, 1.0)
        itl99 = np.where(p_stall > 0.01, td + stall99, td)
        return dict(td=td, f_pre=f_pre, interval=interval, u_p=u_p, u_d=u_d, first50=first50, first99=first99,
                    first_mean=first_mean, sched=sched, p_stall=p_stall, stall=stall, itl50=itl50, itl99=itl99)

    f = local(x, B, K)
    td, f_pre, interval, u_p, sched = f["td"], f["f_pre"], f["interval"], f["u_p"], f["sched"]
    first50, first99, itl50, itl99 = f["first50"], f["first99"], f["itl50"], f["itl99"]

    # ---- waiting for a seat: M/M/c with c = b_max seats and offered load a = B
    p_wait = _erlang_c(b_max, B)
    service = np.where(x > 0, B / np.maximum(x, 1e-300), 0.0)
    mean_wait_if = service / np.maximum(b_max - B, 1e-9)

    def wait_q(q):
        w = np.where(p_wait > 1.0 - q, mean_wait_if * np.log(np.maximum(p_wait, 1e-300) / (1.0 - q)), 0.0)
        return np.where(lam >= cap, np.inf, w)

    ttft50 = first50 + wait_q(0.5) + 0.5 * sched
    ttft99 = first99 + wait_q(0.99) + 0.99 * sched
    # mean seat wait (Erlang C): P_w x the mean wait of those who wait; the scheduling point is uniform
    wait_mean = np.where(lam >= cap, np.inf, p_wait * mean_wait_if)
    ttft_mean = f["first_mean"] + wait_mean + 0.5 * sched
    e2e_mid = dec * interval
    out = {
        "throughput": x * O, "request_throughput": x, "ttft_p50": ttft50, "ttft_p99": ttft99,
        "itl_p50": itl50, "itl_p99": itl99, "tpot": interval, "e2e_p50": ttft50 + e2e_mid,
        "e2e_p99": ttft99 + e2e_mid, "ttft_mean": ttft_mean, "e2e_mean": ttft_mean + e2e_mid,
        "utilization": lam / cap,
        "mean_batch": np.where(B > 1e-9, B / -np.expm1(-np.maximum(B, 1e-9)), 1.0),  # per decode step (Poisson N | N >= 1)
        "kv_utilization": np.minimum(1.0, (B * blocks_per_seq + (cached // bs)) / (total_blocks + cached // bs)),
        "capacity": cap, "max_batch": b_max,
    }
    ok = np.ones_like(x)
    if sla_ttft is not None:  # P(TTFT <= limit): the seat wait is 0 w.p. 1 - p_wait, else exponential
        slack = sla_ttft - first50
        p_ok = np.where(slack < 0, 0.0, 1.0 - p_wait * np.exp(-np.maximum(slack, 0) / np.maximum(mean_wait_if, 1e-300)))
        ok = ok * np.where(lam >= cap, 0.0, p_ok)
    if sla_itl is not None:
        ok = ok * (interval <= sla_itl)
    out["goodput"] = x * ok
    if n_requests is None:
        return out

    # ---- a finite run of n requests: the transient fluid queue (module doc, *Finite run*)
    n = int(n_requests)
    if chunked:
        def c1(Bv):  # the prompts replacing the B / (O - 1) finishing each step share its overhead
            k = 1.0 + Bv / max(dec, 1.0)
            return t_prefill(k, Bv) / k

        def r_fill(Bv):  # a step carries at most max_tokens - B prompt tokens (multi-step: every k steps)
            room = np.maximum(max_tokens - Bv, 1.0) / max(new, 1)
            if k_ms > 1:
                room = np.ceil(room)
            return room / (k_ms * t_dec(Bv) + t_prefill(room, Bv))
    else:
        def c1(Bv):  # the prompts waiting for the seats that free share prefill steps of up to k_b prompts
            k = np.minimum(k_b, 1.0 + Bv / max(dec, 1.0))
            k = np.where(lam < cap, K, k)  # below capacity prompts come as they arrive: the steady episodes
            return t_prefill(k, Bv) / k

        def r_fill(Bv):
            return np.full_like(Bv, np.inf)
    over = lam >= cap
    base50 = first50 + 0.5 * sched
    base99 = first99 + 0.99 * sched
    base_mean = f["first_mean"] + 0.5 * sched
    steady50 = np.where(over, 0.0, wait_q(0.5))
    steady99 = np.where(over, 0.0, wait_q(0.99))
    steady_mean = np.where(over, 0.0, wait_mean)
    if n / min(n, _GROUPS) <= b_max / 8.0:
        kv = (total_blocks - int(watermark * total_blocks)) * bs
        seats = b_max if chunked else max_seqs  # (mixed steps: the batch the budget sustains)
        arr, adm, done, batch, batch_itl = _finite_run(
            lam, n, dec, t_dec, c1, r_fill, seats=seats, kv=kv, prompt=I + 0.5 * bs + (bs if reserve >= 1.0 else 0.0),
            reserve=reserve, reserve_decay=reserve_decay)
        wait = adm - arr
        w50, w99 = np.percentile(wait, 50, axis=0), np.percentile(wait, 99, axis=0)
        e50, e99 = np.percentile(done - arr, 50, axis=0), np.percentile(done - arr, 99, axis=0)
        w_mean, e_mean = np.mean(wait, axis=0), np.mean(done - arr, axis=0)  # the cohorts are of equal size
        span = done[-1]
        tpot_run = np.mean(done - adm, axis=0) / max(dec, 1.0)
        # past capacity, with prefill-only steps, the prefill episodes around a request are those of the
        # run (its mean batch and the rate at which it admits prompts), not those of the endless steady
        # state at the largest batch, which a run whose seats are not the limit never reaches (SGLang's
        # thousands); with mixed steps the budget pins the batch and the steady state at it stays closer
        # to the simulator (pooled past-capacity TTFT median 15 % against 21 % with the run's figures)
        td_run = t_dec(batch)
        td_itl = t_dec(batch_itl)  # the step of the median interval: intervals are counted per sequence
        itl50_over = itl50 - td + td_itl
        if not chunked and over.any():
            x_run = np.minimum(lam, (adm.shape[0] - 1.0) * (n / adm.shape[0]) / np.maximum(adm[-1] - adm[0], 1e-12))
            run = local(x_run, batch, per_step(x_run, td_run, batch))
            base50 = np.where(over, run["first50"] + 0.5 * run["sched"], base50)
            base99 = np.where(over, run["first99"] + 0.99 * run["sched"], base99)
            base_mean = np.where(over, run["first_mean"] + 0.5 * run["sched"], base_mean)
            # the share of the run's output decoded after its last admission (no prompt arrives then): when
            # it is the larger part, the token-weighted median interval is a plain decode step
            t_last = np.max(adm, axis=0)
            drain = np.mean(np.clip((done - np.maximum(adm, t_last)) / np.maximum(done - adm, 1e-12), 0.0, 1.0), axis=0)
            itl50_over = np.where(over, np.where(drain >= 0.5, td_itl, run["itl50"] - td_run + td_itl), itl50_over)
        # below capacity near saturation a run can end before its batch settles: when the run's mean batch
        # is more than 10 % below the steady state's, its steps set TPOT, the ITL median, E2E and the batch
        below = ~over & (batch < 0.9 * B)
        if below.any():
            itl_below = local(x, batch, K if chunked else per_step(x, td_run, batch))["itl50"]
    else:  # a run much longer than the seats turn over: the long-run limit (waits grow linearly in k)
        grow = np.maximum(1.0 / cap - 1.0 / lam, 0.0)
        w50, w99 = 0.5 * n * grow, 0.99 * n * grow
        e50, e99 = w50 + dec * interval, w99 + dec * interval
        w_mean, e_mean = w50, e50  # waits linear in k: the mean is the median
        span = n / x + base50 + dec * interval
        tpot_run, batch, wait = interval, np.full_like(x, b_max), None
        batch_itl = batch
        itl50_over = itl50 - td + t_dec(batch)
    out["ttft_p50"] = base50 + np.maximum(w50, steady50)
    out["ttft_p99"] = base99 + np.maximum(w99, steady99)
    out["e2e_p50"] = np.where(over, base50 + e50, out["e2e_p50"])
    out["e2e_p99"] = np.where(over, base99 + e99, out["e2e_p99"])
    out["ttft_mean"] = base_mean + np.maximum(w_mean, steady_mean)
    out["e2e_mean"] = np.where(over, base_mean + e_mean, out["ttft_mean"] + dec * interval)
    out["request_throughput"] = n / span
    out["throughput"] = n * O / span
    out["tpot"] = np.where(over, tpot_run, out["tpot"])
    if wait is not None and below.any():
        out["tpot"] = np.where(below, tpot_run, out["tpot"])
        out["itl_p50"] = np.where(below, itl_below, out["itl_p50"])
        out["e2e_p50"] = np.where(below, out["ttft_p50"] + dec * tpot_run, out["e2e_p50"])
        out["e2e_mean"] = np.where(below, out["ttft_mean"] + dec * tpot_run, out["e2e_mean"])
        out["mean_batch"] = np.where(below, batch, out["mean_batch"])
    out["mean_batch"] = np.where(over, batch, out["mean_batch"])
    # the median interval past capacity: while most requests wait for a seat, prompts are admitted as
    # seats free (in bunches), so most steps are plain decode steps at the run's batch; when the batch
    # is bound by the step budget every step is full of prompt chunks
    # (mixed steps: only once the median wait is a quarter of a request's life, so that admissions follow
    # the bunched completions rather than the Poisson arrivals; compared with the simulator)
    if wait is None:
        queued = np.ones_like(over)
    elif chunked:
        queued = w50 > 0.25 * np.median(done - adm, axis=0)
    else:
        queued = np.mean(wait > 1e-9 * np.maximum(arr, 1e-300), axis=0) > 0.5
    plain = t_dec(batch_itl)
    if budget_bound:
        plain = plain + t_prefill(np.maximum(max_tokens - batch_itl, 0.0) / max(new, 1), batch_itl)
    # (not queued: the steady state at capacity, with the decode step at the run's batch, not b_max)
    out["itl_p50"] = np.where(over & queued, plain, np.where(over, itl50_over, out["itl_p50"]))
    # goodput past capacity: the requests whose wait still meets the TTFT limit (the early ones) and whose
    # time per output token meets the ITL limit, per second of the run
    ok_over = np.ones_like(x)
    if sla_ttft is not None:
        slack = sla_ttft - base50
        if wait is not None:
            ok_over = np.mean(wait <= slack[None, :], axis=0)
        else:  # waits grow as k (1/mu - 1/lam): the first slack / (1/mu - 1/lam) requests meet it
            ok_over = np.clip(slack / np.maximum(n * grow, 1e-300), 0.0, 1.0)
    if sla_itl is not None:
        ok_over = ok_over * (tpot_run <= sla_itl)
    out["goodput"] = out["request_throughput"] * np.where(over, ok_over, ok)
    return out


_GROUPS = 512  # cohorts of a finite run (module doc)


def _finite_run(lam, n, dec, t_dec, c1, r_fill, *, seats, kv, prompt, reserve, reserve_decay=None, groups=_GROUPS):
    """Transient fluid queue of a run of ``n`` requests arriving at ``lam`` (module doc, *Finite run*).

    ``t_dec(B)``: a decode step of B sequences; ``c1(B)``: the server time one prompt takes
    (prefill, or what it adds to mixed steps); ``r_fill(B)``: the most admissions per second the
    step budget allows (inf: only the prefill time limits them). Admission needs a seat (``seats``)
    and KV room: the running requests hold ``prompt`` + generated tokens (plus ``reserve`` x their
    remaining output), a new one ``prompt + reserve x (dec + 1)``, out of ``kv`` tokens; with
    ``reserve_decay = (init, steps)`` the share starts at ``init`` and falls linearly to ``reserve`` over
    ``steps`` decode steps, and starts again from ``init`` whenever the running requests' own tokens
    overflow the pool (where the engine preempts; the fluid keeps them running). The run goes in
    cohorts of ``g = n / groups`` requests, FIFO; an event loop over admissions and completions,
    vectorised over ``lam``. Returns per-cohort arrays ``(arrival, admitted, done)`` of shape
    (groups, len(lam)), the mean decode batch (sequences per decode step) and the batch of the mean
    interval (each step of B sequences gives B intervals: sum B^2 / sum B over the steps).
    """
    G = int(min(n, groups))
    g = n / G
    R = lam.size
    cols = np.arange(R)
    arr = (np.arange(G)[:, None] + 0.5) * g / lam[None, :]
    adm = np.full((G, R), np.inf)
    done = np.full((G, R), np.inf)
    gam_adm = np.zeros((G, R))  # decode steps the server had taken when the cohort started decoding
    t = np.zeros(R)
    gam = np.zeros(R)  # decode steps so far (each running sequence gains one token per step)
    s_adm = np.zeros(R)  # sum of gam_adm over the running cohorts
    ia = np.zeros(R, int)
    idn = np.zeros(R, int)
    last = np.full(R, -np.inf)
    seq_steps = np.zeros(R)
    seq2_steps = np.zeros(R)
    steps = np.zeros(R)
    seats = max(float(seats), g)
    decaying = reserve_decay is not None and reserve_decay[1] > 0
    r_init, r_steps = reserve_decay if decaying else (reserve, 0.0)
    g_reset = np.zeros(R)  # decode steps at the last preemption (the share decays from there)
    share = reserve
    for _ in range(2 * G):
        m = ia - idn  # running cohorts
        B = m * g
        running = m > 0
        td = t_dec(np.maximum(B, 1.0))
        jd = np.minimum(idn, G - 1)
        t_done = np.where(running, t + np.maximum(gam_adm[jd, cols] + dec - gam, 0.0) * td, np.inf)
        ja = np.minimum(ia, G - 1)
        age = m * gam - s_adm  # tokens the running cohorts have generated, summed
        if decaying:
            g_reset = np.where(g * (m * prompt + age) > kv, gam, g_reset)  # the pool overflows: a preemption
            share = np.maximum(reserve, r_init - (r_init - reserve) * (gam - g_reset) / r_steps)
        need = prompt + share * (dec + 1.0)
        used = g * (m * prompt + age + share * (m * dec - age))
        can = (ia < G) & (B + g <= seats * (1 + 1e-9)) & ((used + g * need <= kv) | ~running)
        t_adm = np.where(can, np.maximum(np.maximum(arr[ja, cols], t), last + g / r_fill(np.maximum(B, 1.0))), np.inf)
        if not (np.isfinite(t_adm) | np.isfinite(t_done)).any():
            break
        go_adm = t_adm <= t_done
        t_new = np.where(go_adm, t_adm, t_done)
        t_new = np.where(np.isfinite(t_new), t_new, t)
        k = np.where(running, (t_new - t) / td, 0.0)
        seq_steps += k * B
        seq2_steps += k * B * B
        steps += k
        gam = np.where(go_adm | ~running, gam + k, np.where(np.isfinite(t_done), gam_adm[jd, cols] + dec, gam))
        t = t_new
        # an admission: the cohort's prompts take g c1 of server time (no decode step meanwhile)
        sel = go_adm & np.isfinite(t_adm)
        adm[ja[sel], cols[sel]] = t[sel]
        last = np.where(sel, t, last)
        t = np.where(sel, t + g * c1(B + g), t)
        gam_adm[ja[sel], cols[sel]] = gam[sel]
        s_adm = s_adm + np.where(sel, gam, 0.0)
        ia = ia + sel
        fin = ~go_adm & np.isfinite(t_done)
        done[jd[fin], cols[fin]] = t[fin]
        s_adm = s_adm - np.where(fin, gam_adm[jd, cols], 0.0)
        idn = idn + fin
    batch = np.where(steps > 0, seq_steps / np.maximum(steps, 1e-300), 1.0)
    return arr, adm, done, batch, np.where(seq_steps > 0, seq2_steps / np.maximum(seq_steps, 1e-300), batch)


def _poisson_q(mu, q, kmax=64):
    """q-quantile of (N | N >= 1) - 1 for N ~ Poisson(mu): extra prompts batched with a prefill."""
    mu = np.maximum(np.asarray(mu, float), 1e-12)
    top = float(np.max(mu)) if mu.size else 0.0
    kmax = int(min(kmax, math.ceil(top + 6.0 * math.sqrt(top) + 6.0)))  # the 0.99 quantile is well below
    p0 = np.exp(-mu)
    term = p0.copy()
    cdf = np.zeros_like(mu)
    k_q = np.full_like(mu, float(kmax))
    found = np.zeros(mu.shape, bool)
    for k in range(1, kmax + 1):
        term = term * mu / k
        cdf = cdf + term
        hit = ~found & (cdf / np.maximum(1.0 - p0, 1e-300) >= q)
        k_q = np.where(hit, k, k_q)
        found |= hit
    return k_q - 1.0


__all__ = ["fluid", "step_time", "decode_time", "prefill_time"]
