"""Labs 8 and 9 (batching under load; speculative decoding and prefix caching): their graded
figures are the physics they teach, for every variant.

* Lab 8's capacity formula, B / (B T_pre + (O - 1) t_dec(B)), is what the simulator measures with
  the seats full (within 0.5 %), and its KV-block count is the simulator's pool.
* Lab 9's figures follow the hand formulas (tokens per round, verify step = one memory-bound
  step at batch 1, the prefix-cache prefill), and speculation does stop paying at the break-even batch.
* Every usual mistake of every variant is told apart from the right answer (outside the item's
  tolerance), so the grader's hints are never given to a right answer.

The end-to-end grading of the released notebooks (real nbgrader, wrong and tampered submissions)
is tests/test_grading.py's, with the cases of tests/support_grading.py.
"""

from __future__ import annotations

import math

import pytest

from mlsyslab import LoadSolver
from mlsyslab.labs.builtin import lab8_batching as lab8
from mlsyslab.labs.builtin import lab9_speculative as lab9
from mlsyslab.labs.variants import Variant
from mlsyslab.zoo import Hardware, Models

V8 = [Variant(p, variant=i) for i, p in enumerate(lab8.POOL)]
V9 = [Variant(p, variant=i) for i, p in enumerate(lab9.POOL)]


@pytest.mark.parametrize("v", V8, ids=lambda v: f"v{v.variant}")
def test_lab8_capacity_is_what_the_simulator_measures(v):
    r = LoadSolver("ideal", engine="vllm-v0").solve(  # the scheduler the lab teaches (mlsyslab/labs/ideal.py)
        v.model, v.gpu, arrival_rate=math.inf, input_tokens=v.I, output_tokens=v.O,
                                  max_num_seqs=v.seats, n_requests=8 * v.seats)
    assert r.request_throughput.magnitude == pytest.approx(lab8.capacity_req_s(v), rel=5e-3)
    # KV blocks by hand: floor((0.9 C - 2P) / (16 x 2 L H_kv d_h x 2 B))
    m, g = Models.get(v.model), Hardware.get(v.gpu)
    blocks = int((0.9 * g.memory_bytes - 2 * m.n_parameters) // (16 * 2 * m.layers * m.kv_heads * m.head_dim * 2))
    assert lab8.kv_blocks(v) == blocks == r.kv_blocks
    assert v.I_long + v.O_long <= m.max_seq_len and lab8.max_concurrency(v) >= 1
    rates = lab8.rates(v)
    assert rates == sorted(rates) and 0 < lab8.best_rate(v) < rates[-1]  # the SLA caps the load below 120 %


@pytest.mark.parametrize("v", V9, ids=lambda v: f"v{v.variant}")
def test_lab9_figures_follow_the_hand_formulas(v):
    m, g = Models.get(v.model), Hardware.get(v.gpu)
    assert lab9.tokens_per_round(v) == pytest.approx(sum(v.alpha ** i for i in range(v.k + 1)))
    # batch 1 is memory-bound: verifying k + 1 tokens reads the same bytes as one decode step
    one = (2 * m.n_parameters + v.S * m.kv_bytes_per_token(2)) / g.memory_bandwidth_Bps * 1e3
    assert lab9.t_verify_ms(v) == pytest.approx(one, rel=1e-9)
    b = lab9.breakeven_batch(v)
    assert b > 1 and lab9.speedup(v, b, v.S3) < 1 <= lab9.speedup(v, b // 2, v.S3)
    assert lab9.speedup(v) > 1  # speculation pays at batch 1 in every variant
    c = round(v.hit * v.S_prompt)
    n = v.S_prompt - c
    F = 2 * m.n_parameters * n + 2 * m.layers * m.attention_dim * n * (2 * c + n)
    M = 2 * m.n_parameters + v.S_prompt * m.kv_bytes_per_token(2)
    assert lab9._ttft_ms(v, v.hit) == pytest.approx(max(F / g.peak_flops["fp16"], M / g.memory_bandwidth_Bps) * 1e3)
    assert m.max_seq_len >= v.S_prompt and Models.get(v.draft).n_parameters < m.n_parameters


@pytest.mark.parametrize("lab,v", [(lab8, v) for v in V8] + [(lab9, v) for v in V9],
                         ids=lambda x: getattr(x, "LAB", None) or f"v{x.variant}")
def test_every_mistake_is_told_apart_from_the_answer(lab, v):
    for items in lab.cells(v).values():
        for item in items:
            expected = float(item.expected())
            for mistake in item.mistakes:
                wrong = float(mistake.value())
                assert abs(wrong - expected) > item.rtol * abs(expected) + item.atol, (item.id, mistake.name)
