"""Discrete-event simulation of a continuous-batching LLM server (Orca / vLLM style).

:func:`simulate` works on plain numbers; :class:`mlsyslab.solvers.load.LoadSolver` checks the
inputs and wraps the result. The scheduler, per iteration (one forward pass):

* **Admission** (FCFS): the head of the queue is admitted when a seat is free
  (``max_seqs``) and the free KV blocks, less a watermark, hold its prompt
  (``ceil(tokens / block_size)`` blocks, minus the full blocks of a cached shared prefix).
* **Without chunked prefill** (vLLM v0 default): a step with admissions is a prefill-only step
  of every admitted prompt (up to ``max_tokens`` new tokens); decoding sequences wait.
  Otherwise every running sequence decodes one token.
* **With chunked prefill** (Sarathi-Serve, vLLM v1): every step decodes one token for each
  running sequence and fills the rest of the ``max_tokens`` budget with prompt chunks.
* **Paged KV**: a sequence takes a new block each time its context crosses a multiple of
  ``block_size``. When a step needs more blocks than are free, the most recently admitted
  sequence is **preempted by recompute**: its blocks are freed and it goes back to the head
  of the queue, to be prefilled again over prompt + generated tokens.

Speed: between two events (an arrival that can be admitted, a completion, running out of
blocks) the batch is fixed, so a run of decode steps is advanced at once. Step times are
piecewise linear in the step index (the context grows by one token per sequence per step), so
the run's duration and the step at which an arrival lands are closed forms
(:mod:`mlsyslab.solvers.load_physics`), and the blocks it needs come from counting sequences
by ``(admission step - context) mod block_size``. The cost is a few events per request,
not one per token. With chunked prefill, the mixed steps in which one prompt takes the whole
token budget (a long prompt cut into budget-sized chunks) run in a tight loop without the
scheduler's per-step set-up: their attention units and KV tokens grow by fixed whole numbers,
so each step's time is the same float the general step computes, summed in the same order
(the results are identical, not approximated).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import deque
from itertools import accumulate, repeat

import numpy as np

from .load_physics import DecodeCost, piece_sum, steps_to_reach


def _weighted_quantiles(values, weights, qs):
    v = np.asarray(values, float)
    w = np.asarray(weights, float)
    if v.size == 0:
        return [float("nan")] * len(qs)
    order = np.argsort(v)
    v, cw = v[order], np.cumsum(w[order])
    return [float(v[min(np.searchsorted(cw, q * cw[-1]), v.size - 1)]) for q in qs]


def _step_consts(cost):
    """``(tok_c, attn_c, kv_m, w_m, comm_per_token, comm_fixed, ov_pre, tok_ov, seq_cap, split, host_seq)`` of
    ``cost.step``, or None for a mixture of experts (its weight reads depend on the tokens)."""
    if cost.model is not None and cost.model.is_moe:
        return None
    return (cost.tok_c, cost.attn_c, cost.kv_m, cost.w_m, cost.comm_per_token, cost.comm_fixed, cost.ov_pre,
            cost.tok_ov, cost.seq_cap, cost.split, cost.host_seq)


def _step_fn(cost):
    """``cost.step`` as a closure over plain floats (the mixed-step loop calls it once per step)."""
    if cost.model is not None and cost.model.is_moe:
        return cost.step
    tok_c, attn_c, kv_m, w_m = cost.tok_c, cost.attn_c, cost.kv_m, cost.w_m
    cpt, cf, ovp, ovd, tov, cap, split, host = (cost.comm_per_token, cost.comm_fixed, cost.ov_pre, cost.ov_dec,
                                                cost.tok_ov, cost.seq_cap, cost.split, cost.host_seq)

    def step(n, attn, kv, nd, prefill):
        if split:
            g, a, k = n * tok_c, attn * attn_c, kv * kv_m
            core = (g if g > w_m else w_m) + (a if a > k else k)
        else:
            x, y = n * tok_c + attn * attn_c, w_m + kv * kv_m
            core = x if x > y else y
        return (core + (cpt * n + cf if n > 0 else 0.0) + (ovp if prefill else ovd) + (nd if nd < cap else cap) * tov
                + nd * host)

    return step


def simulate(cost, spec, inp, out, cached, *, arrivals=None, concurrency=None, total_blocks, block_size,
             max_seqs, max_tokens, chunked=False, watermark=0, profile=None, split=True, scheduler_steps=1,
             request_delay=0.0, overlap=False):
    """Serve requests ``i`` with ``inp[i]`` prompt tokens (``cached[i]`` of them in the prefix
    cache) and ``out[i]`` output tokens; arrivals at the sorted times ``arrivals`` (open loop),
    or ``concurrency`` clients that each send a new request when their previous one ends (their
    first requests at the times ``arrivals``, when given). ``profile`` (an
    :class:`~mlsyslab.solvers.load_engines.EngineProfile`) sets the admission reserve; ``split``:
    prompts are cut at the step's token budget (else a whole prompt waits for a step with room).
    No request is admitted in the step right after a preemption. ``scheduler_steps`` k > 1: multi-step
    scheduling (vLLM 0.6 ``--num-scheduler-steps``): while requests run, the scheduler admits only
    every k decode steps. ``request_delay``: every request reaches the scheduler that long after
    its client sends it (an open-loop arrival, a client's first request, or its next one when the
    previous ends); the returned ``arrival`` is the send time, so TTFT and E2E include the delay.
    ``overlap``: the scheduler runs one step ahead of the GPU (SGLang's overlap scheduler, vLLM's
    async scheduling, TensorRT-LLM's overlap scheduler): the step that follows the one under way
    was formed when that one started, so a request is admitted only into a step formed after it
    arrived, i.e. one starting after the end of the step that was running when it arrived (a
    request that finds the GPU idle starts at once).

    Returns a dict of plain numbers and numpy arrays (seconds): per-request ``arrival``,
    ``first``, ``done``; ``itl_values``/``itl_weights`` (step durations seen by decoding
    sequences, with weights); time series ``ts_t``, ``ts_queue``, ``ts_running``, ``ts_blocks``,
    ``ts_tokens``; counters ``preemptions``, ``decode_steps``, ``decode_seq_steps``.
    """
    n = len(inp)
    bs = block_size
    inp = [int(x) for x in inp]
    out = [int(x) for x in out]
    cached = [int(x) for x in cached]
    shared = [c // bs for c in cached]
    if concurrency is None:
        arr_q = deque(float(a) + request_delay for a in arrivals)
    else:  # the clients' first requests: at ``arrivals`` (sorted) if given, else all at t = 0
        first_sends = sorted(arrivals)[:n] if arrivals is not None else [0.0] * min(int(concurrency), n)
        arr_q = deque(float(a) + request_delay for a in first_sends)
    issued = len(arr_q)
    arrival = [math.nan] * n
    first = [math.nan] * n
    done_t = [math.nan] * n
    last_tok = [0.0] * n
    gen = [0] * n
    next_id = 0

    waiting = deque()
    running = {}  # id -> (G_a, c_a, G_finish), in admission order
    prefilling = {}  # chunked mode: id -> tokens of P already computed
    heap = []
    cnt = [0] * bs  # running sequences by (G_a - c_a) mod bs: who needs a block at which step
    G = 0  # decode steps taken by every running sequence so far
    s_off = 0  # sum of (c_a - G_a) over running: total context = s_off + B x G
    used = 0
    preemptions = 0
    dec_steps = 0
    dec_seq_steps = 0
    tokens_out = 0
    n_done = 0
    t = 0.0
    itl_v, itl_w = [], []
    stalls = []  # prefill steps since the last decode step: (duration, sequences stalled)
    ts = []  # t, queue, running, blocks used, tokens out at each event, flat (5 numbers an event)
    dcache = {}
    dfast = {}
    draft = spec.draft if spec is not None else None
    mstep = _step_fn(cost)
    plain = _step_consts(cost)
    reserving = profile is not None and profile.reserve_init > 0
    full_reserve = reserving and profile.reserve_min >= 1.0  # TensorRT-LLM: never evict
    s_gf = 0  # sum of G_finish over running: their remaining output = s_gf - B G
    rem_pre = 0  # remaining output of the admitted requests still in prefill
    n_pre = 0  # how many of them
    hold = False  # a preemption happened: admit no one until a step has run
    seen = 0.0  # overlap: requests that arrived by then are known to the scheduler (the start of the step under way)
    last_preempt = 0  # decode steps at the last preemption (SGLang's ratio decays from there)

    def dcost(B):
        d = dcache.get(B)
        if d is None:
            d = dcache[B] = DecodeCost(cost, B, spec)
        return d

    def blocks_for(i, c):
        return -(-c // bs) - shared[i]

    def finish(i, c):
        nonlocal used, n_done, issued
        used -= blocks_for(i, c)
        done_t[i] = t
        n_done += 1
        if concurrency is not None and issued < n:
            arr_q.append(t + request_delay)
            issued += 1

    def start_decoding(i, P):
        """Prefill of P tokens for i just ended at t: it emitted a token."""
        nonlocal s_off, tokens_out, s_gf
        gen[i] += 1
        tokens_out += 1
        if first[i] != first[i]:  # nan: the first token
            first[i] = t
        else:  # back from a preemption: the gap is one inter-token interval
            itl_v.append(t - last_tok[i])
            itl_w.append(1.0)
        last_tok[i] = t
        if gen[i] >= out[i]:
            finish(i, P)
            return
        gf = G + out[i] - gen[i]
        running[i] = (G, P, gf)
        cnt[(G - P) % bs] += 1
        s_off += P - G
        s_gf += gf
        heapq.heappush(heap, (gf, i))

    def preempt():
        nonlocal used, s_off, preemptions, s_gf, hold, last_preempt
        i, (ga, ca, gfi) = running.popitem()
        c = ca + G - ga
        used -= blocks_for(i, c)
        cnt[(ga - ca) % bs] -= 1
        s_off -= ca - ga
        s_gf -= gfi
        hold = True
        last_preempt = dec_steps
        gen[i] = c - inp[i] + 1
        last_tok[i] = t
        waiting.appendleft(i)
        preemptions += 1

    def pop_finished():
        nonlocal s_off, s_gf
        while heap and heap[0][0] <= G:
            gf, i = heapq.heappop(heap)
            rec = running.get(i)
            if rec is None or rec[2] != gf:
                continue  # stale entry of a preempted sequence
            ga, ca, _ = rec
            del running[i]
            cnt[(ga - ca) % bs] -= 1
            s_off -= ca - ga
            s_gf -= gf
            finish(i, ca + G - ga)

    def reserved():
        """Blocks held back for the output the running (and prefilling) requests have still to write."""
        if not reserving:
            return 0
        r = profile.reserve(dec_steps - last_preempt)
        rem = s_gf - len(running) * G + rem_pre
        return r * rem / bs + (len(running) + n_pre if full_reserve else 0)

    def admissible(free, tokens, seats, first_one):
        """Pop and return the next admissible request id (or None), checking seats, blocks and budget."""
        if not waiting or seats <= 0 or hold or (scheduler_steps > 1 and running and G % scheduler_steps):
            return None
        i = waiting[0]
        if overlap and arrival[i] > seen:
            return None  # not yet seen by the scheduler that formed this step
        P = inp[i] + gen[i]
        need = blocks_for(i, P)
        if reserving:
            r = profile.reserve(dec_steps - last_preempt)
            need += r * (out[i] - gen[i]) / bs + (1 if full_reserve else 0) + reserved()
        if free - need < watermark:
            return None
        if not first_one and tokens + (P - cached[i]) > max_tokens:
            return None
        waiting.popleft()
        return i

    def blocks_needed(B, m):
        """Blocks the next m decode steps take (step j: the ``cnt[(G + j) % bs]`` sequences whose context
        crosses a block boundary)."""
        full, rem = divmod(m, bs)
        if not rem:
            return full * B
        g = G % bs
        e = g + rem
        return full * B + (sum(cnt[g:e]) if e <= bs else sum(cnt[g:]) + sum(cnt[:e - bs]))

    def max_steps(B, free, enough):
        """Most decode steps the free blocks allow, or a number >= ``enough`` when at least that many fit."""
        if B == 0:
            return 1 << 60
        q, rem = divmod(free, B)
        m = q * bs
        if m >= enough:
            return m
        g = G % bs
        # the first step whose cumulated need exceeds rem (the sums end at B > rem)
        return m + bisect_right(list(accumulate(cnt[g:] + cnt[:g] if g else cnt)), rem)

    def dpieces(dc, C0, dC, n):
        """``dc.pieces(C0, dC, n)`` (:class:`~mlsyslab.solvers.load_physics.DecodeCost`), the same
        arithmetic inlined: one piece unless a term's two sides cross within the n steps."""
        terms, const = dc.terms, dc.const
        cuts = None
        if dC > 0:
            for _, a1, b1, a2, b2 in terms:
                if b1 != b2:
                    k = ((a2 - a1) / (b1 - b2) - C0) / dC
                    if 0 < k < n:
                        if cuts is None:
                            cuts = {0, n}
                        cuts.add(int(math.ceil(k)))
        if cuts is None:
            C = C0
            t0 = const
            for w, a1, b1, a2, b2 in terms:
                x, y = a1 + b1 * C, a2 + b2 * C
                t0 += w * (x if x > y else y)
            if n <= 1:
                return [(0, n, t0, 0.0)]
            C = C0 + dC
            t1 = const
            for w, a1, b1, a2, b2 in terms:
                x, y = a1 + b1 * C, a2 + b2 * C
                t1 += w * (x if x > y else y)
            return [(0, n, t0, t1 - t0)]
        return dc.pieces(C0, dC, n)

    def dentry(B):
        """``(DecodeCost, pre, dep, xs)`` of a batch of B: ``DecodeCost.at(C)`` is ``pre`` (its constant plus
        the leading terms that do not depend on C, added in the same order) plus the ``dep`` terms;
        ``xs``: the contexts where a term's two sides cross."""
        dc = dcost(B)
        pre, dep = dc.const, []
        for w, a1, b1, a2, b2 in dc.terms:
            if not dep and b1 == 0.0 and b2 == 0.0:
                x, y = a1 + b1 * 0, a2 + b2 * 0  # as at(C) for any C >= 0: b C = 0.0
                pre += w * (x if x > y else y)
            else:
                dep.append((w, a1, b1, a2, b2))
        xs = tuple((a2 - a1) / (b1 - b2) for _, a1, b1, a2, b2 in dc.terms if b1 != b2)
        e = dfast[B] = (dc, pre, tuple(dep), xs)
        return e

    def record_decode(pieces, m, B, skip_first):
        """ITL samples of decode steps 0..m-1 described by ``pieces`` (step 0 left out when
        ``skip_first``: :func:`flush_stalls` recorded it); returns their total time."""
        total = 0.0
        for ks, ke, t0, slope in pieces:
            if ks >= m:
                break
            k = min(ke, m) - ks
            total += piece_sum(k, t0, slope)
            if skip_first and ks == 0:
                t0, k = t0 + slope, k - 1
            if k == 1:
                itl_v.append(t0)
                itl_w.append(B)
            elif k > 1:
                itl_v.append(t0 + slope * (k - 1) * 0.25)
                itl_v.append(t0 + slope * (k - 1) * 0.75)
                itl_w.append(B * k / 2.0)
                itl_w.append(B * k / 2.0)
        return total

    def last_step(pieces, m):
        """The duration of decode step m - 1 of a run described by ``pieces``."""
        for ks, ke, t0, slope in pieces:
            if ks < m <= ke:
                return t0 + slope * (m - 1 - ks)
        return 0.0  # pragma: no cover

    def flush_stalls(first_step, B):
        """The first decode step after prefill-only steps: a sequence that was decoding before
        prefill j waited through prefills j, j+1, ... as well (its interval is longer)."""
        acc = sum(d for d, _ in stalls)
        prev = 0
        for d, b in stalls:
            itl_v.append(first_step + acc)
            itl_w.append(float(b - prev))
            acc -= d
            prev = b
        itl_v.append(first_step)
        itl_w.append(float(B - prev))
        stalls.clear()

    def join_arrivals(tt):
        """The arrivals up to ``tt`` join the queue: ``(queue length, next arrival time)``."""
        nonlocal next_id
        while arr_q and arr_q[0] <= tt:
            arrival[next_id] = arr_q.popleft()
            waiting.append(next_id)
            next_id += 1
        return len(waiting), (arr_q[0] if arr_q else math.inf)

    def steady_run(i, P, o, B, c, free):
        """Mixed steps while the head prompt ``i`` (``o`` of its ``P`` tokens done) takes the whole
        budget ``c`` of each step: no admission (no budget left), no other chunk, the same ``B``
        decoding sequences, until one of them finishes, the blocks run out or the prompt reaches
        its last chunk. That last chunk is taken here too when the general step would do only
        that (no other prompt in progress, no one waiting or no budget left). The steps are those
        of the general loop (the same floats in the same order), without its per-step set-up."""
        nonlocal t, G, used, tokens_out, dec_steps, dec_seq_steps, hold, rem_pre, n_pre, seen
        Kn = (P - o - 1) // c  # steps with P - o > c before this prompt's last chunk
        K = Kn + 1 if len(prefilling) == 1 else Kn  # + the last chunk, if nothing else can join it
        if B:
            while heap[0][1] not in running or running[heap[0][1]][2] != heap[0][0]:
                heapq.heappop(heap)  # stale entries of preempted sequences
            # a sequence finishes at the end of step heap[0][0] - G: the run stops there
            K = min(K, heap[0][0] - G)
            K = min(K, max_steps(B, free, K))
            if K <= Kn:
                Kn = K
        n_c = B + c
        C = s_off + B * G
        d = 0.0
        tt, u, tok, g = t, used, tokens_out, G % bs
        q, nrun = len(waiting), len(running) + len(prefilling)
        lim = arr_q[0] if arr_q else math.inf
        ts_add, iv_add = ts.extend, itl_v.append
        if plain is not None:  # mstep's arithmetic inlined, the terms that n and B fix hoisted (the same floats)
            tok_c, attn_c, kv_m, w_m, cpt, cf, ovp, tov, cap, spl, host = plain
            seq = (B if B < cap else cap) * tov + B * host
            x = n_c * tok_c
            gm = x if x > w_m else w_m
            comm = cpt * n_c + cf
        j = 0
        if plain is not None and spl and B and K:
            # the full chunks: attention units A = 2 C + c (2 o + c) and KV tokens V = C + o + c are whole
            # numbers that grow by fixed steps; below 2**53 the floats the general step builds are exactly these
            kf = K if K < Kn else Kn
            A, dA = 2 * C + c * (2 * o + c), 2 * B + 2 * c * c
            V, dV = C + o + c, B + c
            if A + dA * kf < 1 << 53 and V + dV * kf < 1 << 53:
                for j in range(kf):
                    if j:
                        if tt >= lim:
                            q, lim = join_arrivals(tt)
                        ts_add((tt, q, nrun, u, tok))
                    a = A * attn_c
                    k = V * kv_m
                    d = gm + (a if a > k else k) + comm + ovp + seq
                    tt += d
                    iv_add(d)
                    u += cnt[g]
                    g += 1
                    if g == bs:
                        g = 0
                    tok += B
                    A += dA
                    V += dV
                j = kf
                C += B * kf
                o += c * kf
        while j < K:
            if j:
                if tt >= lim:
                    q, lim = join_arrivals(tt)
                if j == Kn:  # the last chunk: the general step would admit the queue with the budget left
                    cl = P - o
                    if q and cl < c:
                        break
                    if cl != c:
                        c = cl
                        n_c = B + c
                        if plain is not None:
                            x = n_c * tok_c
                            gm = x if x > w_m else w_m
                            comm = cpt * n_c + cf
                ts_add((tt, q, nrun, u, tok))
            if plain is None:
                d = mstep(n_c, 2.0 * C + c * (2.0 * o + c), C + float(o + c), B, True)
            elif spl:
                a = (2.0 * C + c * (2.0 * o + c)) * attn_c
                k = (C + float(o + c)) * kv_m
                d = gm + (a if a > k else k) + comm + ovp + seq
            else:
                x = n_c * tok_c + (2.0 * C + c * (2.0 * o + c)) * attn_c
                y = w_m + (C + float(o + c)) * kv_m
                d = (x if x > y else y) + comm + ovp + seq
            tt += d
            o += c
            if B:
                iv_add(d)
                u += cnt[g]
                g += 1
                if g == bs:
                    g = 0
                C += B
                tok += B
            j += 1
        t, used, tokens_out = tt, u, tok
        seen = t - d
        hold = False
        if B:
            G += j
            dec_steps += j
            dec_seq_steps += B * j
            itl_w.extend(repeat(B, j))
            if heap[0][0] <= G:
                pop_finished()
        if o < P:
            prefilling[i] = o - cached[i]
        else:
            del prefilling[i]
            rem_pre -= out[i] - gen[i]
            n_pre -= 1
            start_decoding(i, P)

    while n_done < n:
        while arr_q and arr_q[0] <= t:
            a = arr_q.popleft()
            i = next_id
            next_id += 1
            arrival[i] = a
            waiting.append(i)
        ts.extend((t, len(waiting), len(running) + len(prefilling), used, tokens_out))
        B = len(running)
        if overlap and not B and not prefilling:
            seen = t  # an idle GPU: the scheduler picks up every request that has arrived

        # ---- chunked prefill: mixed steps while prompts are being processed
        if chunked:
            free = total_blocks - used
            need_dec = cnt[G % bs] if B else 0
            while need_dec > free:  # preempt until the step's new blocks fit (each one an event: no time passes,
                preempt()  # no one arrives)
                ts.extend((t, len(waiting), len(running) + len(prefilling), used, tokens_out))
                B = len(running)
                free = total_blocks - used
                need_dec = cnt[G % bs] if B else 0
            budget = max_tokens - B
            if prefilling and budget > 0:
                i = next(iter(prefilling))
                P = inp[i] + gen[i]
                o = cached[i] + prefilling[i]
                if P - o > budget:  # the head prompt fills the step and goes on: a run of steady steps
                    steady_run(i, P, o, B, budget, free)
                    continue
            chunks = []
            n_new = 0
            attn_pre = kv_pre = 0.0
            for i, dn in prefilling.items():
                if budget <= 0:
                    break
                P = inp[i] + gen[i]
                o = cached[i] + dn
                c = min(P - o, budget)
                if not split and c < P - o and chunks and P - cached[i] <= max_tokens - B:
                    break
                chunks.append((i, o, c, P))
                budget -= c
                n_new += c
                attn_pre += c * (2.0 * o + c)
                kv_pre += o + c
            seats = max_seqs - B - len(prefilling)
            while budget > 0 and waiting and not hold:
                i = admissible(free - need_dec, 0, seats, True)
                if i is None:
                    break
                P = inp[i] + gen[i]
                if not split and budget < P - cached[i] <= max_tokens - B and (chunks or B):
                    waiting.appendleft(i)  # a whole prompt only (no chunking): it waits for a step with room
                    break  # (one longer than any step's budget is chunked: the engine must, to run it at all)
                rem_pre += out[i] - gen[i]
                n_pre += 1
                nb = blocks_for(i, P)
                used += nb
                free -= nb
                seats -= 1
                prefilling[i] = 0
                o = cached[i]
                c = min(P - o, budget)
                chunks.append((i, o, c, P))
                budget -= c
                n_new += c
                attn_pre += c * (2.0 * o + c)
                kv_pre += o + c
            if chunks:
                C = s_off + B * G
                d = mstep(B + n_new, 2.0 * C + attn_pre, C + kv_pre, B, True)
                seen = t
                t += d
                if B:
                    used += need_dec
                    G += 1
                    dec_steps += 1
                    dec_seq_steps += B
                    tokens_out += B
                    itl_v.append(d)
                    itl_w.append(B)
                    if heap[0][0] <= G:
                        pop_finished()
                hold = False
                for i, o, c, P in chunks:
                    if o + c >= P:
                        del prefilling[i]
                        rem_pre -= out[i] - gen[i]
                        n_pre -= 1
                        start_decoding(i, P)
                    else:
                        prefilling[i] = o + c - cached[i]
                continue
        else:
            # ---- prefill-only step of every admissible prompt
            free = total_blocks - used
            seats = max_seqs - B
            adm, tokens = [], 0
            while True:
                i = admissible(free, tokens, seats, not adm)
                if i is None:
                    break
                P = inp[i] + gen[i]
                need = blocks_for(i, P)
                free -= need
                used += need
                seats -= 1
                tokens += P - cached[i]
                rem_pre += out[i] - gen[i]
                n_pre += 1
                adm.append((i, P))
            if adm:
                new = [P - cached[i] for i, P in adm]
                n_new = sum(new)
                attn = sum(c * (2.0 * cached[i] + c) for (i, _), c in zip(adm, new))
                kvt = sum(P for _, P in adm)
                d = cost.step(n_new, attn, kvt, 0, True)
                if draft is not None:
                    d += draft.step(n_new, attn, kvt, 0, True)
                seen = t
                t += d
                hold = False
                if B:
                    stalls.append((d, B))
                for i, P in adm:
                    rem_pre -= out[i] - gen[i]
                    n_pre -= 1
                    start_decoding(i, P)
                continue

        # ---- a run of decode steps with a fixed batch
        if B == 0:
            if prefilling:
                raise RuntimeError("scheduler stalled with prompts in progress")  # pragma: no cover
            if not arr_q:
                if waiting:
                    raise RuntimeError("a waiting request can never be admitted")  # pragma: no cover
                break
            t = max(t, arr_q[0])
            continue
        while heap and (heap[0][1] not in running or running[heap[0][1]][2] != heap[0][0]):
            heapq.heappop(heap)
        n_fin = heap[0][0] - G
        m_blk = max_steps(B, total_blocks - used, n_fin)
        if m_blk == 0:
            preempt()
            continue
        m = min(n_fin, m_blk)
        if scheduler_steps > 1 and (waiting or arr_q):  # run to the next scheduling point
            m = min(m, scheduler_steps - G % scheduler_steps)
        if overlap and waiting and arrival[waiting[0]] > seen:
            m = 1  # the scheduler sees the head of the queue when the next step starts
        dc, pre, dep, xs = dfast.get(B) or dentry(B)
        C0 = s_off + B * G
        one = not stalls
        for x in xs:
            k = (x - C0) / B
            if 0 < k < m:  # the roofline changes side within the run: pieces (dpieces)
                one = False
        if one:  # one linear piece, no stalled steps: dpieces and record_decode inlined
            t0 = pre
            for w, a1, b1, a2, b2 in dep:
                x, y = a1 + b1 * C0, a2 + b2 * C0
                t0 += w * (x if x > y else y)
            if m > 1:
                C1 = C0 + B
                slope = pre
                for w, a1, b1, a2, b2 in dep:
                    x, y = a1 + b1 * C1, a2 + b2 * C1
                    slope += w * (x if x > y else y)
                slope -= t0
            else:
                slope = 0.0
            if arr_q and not waiting and m * t0 + slope * m * (m - 1) / 2.0 >= arr_q[0] - t:
                m = max(1, min(m, steps_to_reach(m, t0, slope, arr_q[0] - t)))
            hold = False
            used += blocks_needed(B, m)
            t += m * t0 + slope * m * (m - 1) / 2.0
            if overlap:
                seen = t - (t0 + slope * (m - 1))  # the run's last step started then
            if m == 1:
                itl_v.append(t0)
                itl_w.append(B)
            else:
                itl_v.append(t0 + slope * (m - 1) * 0.25)
                itl_v.append(t0 + slope * (m - 1) * 0.75)
                itl_w.append(B * m / 2.0)
                itl_w.append(B * m / 2.0)
            G += m
            dec_steps += m
            dec_seq_steps += B * m
            tokens_out += B * m
            pop_finished()
            continue
        pieces = dpieces(dc, C0, B, m)
        if arr_q and not waiting:
            T = arr_q[0] - t
            acc, mm = 0.0, 0
            for ks, ke, t0, slope in pieces:
                k = ke - ks
                s = piece_sum(k, t0, slope)
                if acc + s >= T:
                    mm = ks + steps_to_reach(k, t0, slope, T - acc)
                    break
                acc += s
                mm = ke
            m = max(1, min(m, mm))
        hold = False
        skip = bool(stalls)
        if skip:
            flush_stalls(pieces[0][2], B)
        used += blocks_needed(B, m)
        t += record_decode(pieces, m, B, skip)
        if overlap:
            seen = t - last_step(pieces, m)
        G += m
        dec_steps += m
        dec_seq_steps += B * m
        tokens_out += B * m
        pop_finished()

    ts.extend((t, len(waiting), len(running) + len(prefilling), used, tokens_out))
    cols = np.array(ts, float).reshape(-1, 5).T  # counts are integers far below 2**53: exact as floats
    ts_t = cols[0].copy()
    ts_q, ts_r, ts_b, ts_k = (col.astype(np.int64) for col in cols[1:])
    return {
        "arrival": np.asarray(arrival) - request_delay, "first": np.asarray(first), "done": np.asarray(done_t),
        "itl_values": np.asarray(itl_v), "itl_weights": np.asarray(itl_w, float),
        "ts_t": ts_t.astype(float), "ts_queue": ts_q, "ts_running": ts_r,
        "ts_blocks": ts_b, "ts_tokens": ts_k, "preemptions": preemptions,
        "decode_steps": dec_steps, "decode_seq_steps": dec_seq_steps, "total_blocks": total_blocks,
    }


__all__ = ["simulate"]
