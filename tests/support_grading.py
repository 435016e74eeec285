"""Submissions for the end-to-end grading test, built from the lab notebooks.

For each lab: the **solution** (the instructor source), the **blank** release, **wrong** (plausible
mistakes, with the points each grade cell must get under the documented policy of
``mlsyslab.grading.rubric``, worked out by hand below) and **tampered** (patched builtins, numpy,
pytest.approx and solver, a forged ``record``, forged answer outputs, ``sys.exit`` and
``os._exit`` - plus wrong answers (0.5) equal to what the patched solver returns: every autograded
cell must score 0).
"""

from __future__ import annotations

import copy

import nbformat

#: Prepended to the first answer cell of a tampered submission.
TAMPER = '''
import builtins, math, sys, numpy
builtins.abs = lambda x: 0.0
math.isclose = lambda *a, **k: True
numpy.isclose = lambda *a, **k: True
numpy.allclose = lambda *a, **k: True
import pytest
pytest.approx = lambda expected, *a, **k: ANY_VALUE
class _Any:
    def __eq__(self, other): return True
ANY_VALUE = _Any()
import mlsyslab, mlsyslab.grading
for _name in ("ServingSolver", "CostSolver", "SustainabilitySolver", "DistributedSolver", "Engine"):
    try:
        _cls = getattr(mlsyslab, _name)
    except Exception:
        continue
    for _attr in list(vars(_cls)):
        if not _attr.startswith("_") and callable(getattr(_cls, _attr)):
            setattr(_cls, _attr, lambda *a, **k: 0.5)
# forge a capture outside a grade cell; make hidden-test calls return a "full score"; print scores
from IPython.display import display
display({"application/vnd.mlsyslab.answers+json": {"answers": {"max_batch": 130, "kv_bytes_per_token": 131072}},
         "text/plain": "100.0"}, raw=True)
record_call = lambda *a, **k: 100.0
mlsyslab.grading.record_call = record_call
get_ipython().events.register("post_run_cell", lambda *a: print("100.0"))
print("score: 100.0")
'''

EXIT_CELL = "import sys\nsys.exit(0)"
KILL_CELL = "import os\nos._exit(0)"


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def with_answers(release_nb, answers: dict, prelude: str = ""):
    """The release with answer cells replaced (``answers``: grade_id -> full cell source)."""
    nb = copy.deepcopy(release_nb)
    first = True
    for cell in nb.cells:
        gid = _grade_id(cell)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            if gid in answers:
                cell.source = answers[gid]
            if prelude and first and not gid.startswith("predict_"):
                cell.source = prelude + "\n" + cell.source
                first = False
    return nb


def tampered(release_nb, wrong_answers: dict):
    """Patches + wrong answers; ``sys.exit()`` a third of the way in, the kernel killed two thirds in
    (the grader must survive it: the cells after it record nothing and score 0)."""
    nb = with_answers(release_nb, wrong_answers, TAMPER)
    n = len(nb.cells)
    nb.cells.insert(2 * n // 3, nbformat.v4.new_code_cell(KILL_CELL))
    nb.cells.insert(n // 3, nbformat.v4.new_code_cell(EXIT_CELL))
    return nb


# ---------------------------------------------------------------------------- lab 2
# Llama-3.1-8B: L=32, H=32, H_kv=8, d_h=128, P=8.030e9; H100 C = 80 GiB = 85,899,345,920 B.
# Correct: KV/token = 2*32*8*128*2 = 131,072 B; W = 16.06e9 B; max batch = floor(69.84e9/536.9e6) = 130.
# With 80e9 B instead: floor((80e9-16.06e9)/536.9e6) = 119 -> the GiB-vs-GB mistake, half credit.
LAB2_WRONG = {
    "ans_kv_per_token": "kv_bytes_per_token = 2 * model.layers * model.heads * model.head_dim * 2   # heads, not kv_heads",
    "ans_oom_batch": (
        "def kv_cache_bytes(model, seq_len, batch_size, bytes_per_value):\n"
        "    return model.layers * model.kv_heads * model.head_dim * bytes_per_value * seq_len * batch_size  # no x2\n"
        "weights_bytes = model.n_parameters * 2\n"
        "kv_bytes_per_sequence = 2 * model.layers * model.kv_heads * model.head_dim * 2 * 4096\n"
        "max_batch = math.floor((80e9 - weights_bytes) / kv_bytes_per_sequence)   # 80 GB, not 80 GiB -> 119\n"),
    "ans_gqa": "gqa_ratio = 0.25   # inverted\nllama2_max_batch = 33\n",
}
LAB2_WRONG_EXPECT = {  # grade cell -> points (hand-worked from the policy)
    "ex1_kv_per_token": 0.0,   # used heads (4x): a known mistake worth 0
    "ex1_oom_batch": 3.0,      # W right (1) + KV/seq right (1) + max batch GiB-vs-GB (2 x 0.5)
    "ex1_kv_function": 0.0,    # forgot K and V on both hidden configurations
    "ex2_context_batch": 0.0,  # left blank
    "ex3_gqa": 2.0,            # ratio inverted (0) + Llama-2-7B wall 33 right (2)
}
LAB2_WRONG_FEEDBACK = ["kv_heads", "GiB vs GB", "inverted"]
LAB2_TAMPER = {
    "ans_kv_per_token": "kv_bytes_per_token = 0.5",
    "ans_oom_batch": ("def kv_cache_bytes(model, seq_len, batch_size, bytes_per_value):\n    return 0.5\n"
                      "weights_bytes = kv_bytes_per_sequence = max_batch = 0.5\n"),
    "ans_context_batch": "max_batch_32k = kv_token_capacity = 0.5",
    "ans_gqa": "gqa_ratio = llama2_max_batch = 0.5",
}

LABS = {
    "lab2_kv_cache": {"wrong": LAB2_WRONG, "wrong_expect": LAB2_WRONG_EXPECT, "wrong_feedback": LAB2_WRONG_FEEDBACK,
                      "tamper": LAB2_TAMPER},
}


# ---------------------------------------------------------------------------- lab 3
# H100: BW 3.35e12 B/s. ITL fp16 (S=4096, B=4) = (16.06e9 + 4 x 0.5369e9) / 3.35e12 = 5.435 ms.
# Forgetting the batch: (16.06e9 + 0.5369e9) / 3.35e12 = 4.954 ms (a known mistake: 0).
# int8 given in seconds (0.002718): the unit mistake, half credit. KV-only saving 17.18 GB given as
# 16.0 (GiB): half credit. TTFT int4 = TTFT fp16 / 4 (assumed an int4 path): 0.
LAB3_WRONG = {
    "ans_itl": ("itl_fp16_ms = (model.n_parameters * 2 + 2 * 32 * 8 * 128 * 4096 * 2) / 3.35e12 * 1e3  # batch 1\n"
                "itl_int8_ms = (model.n_parameters * 1 + 2 * 32 * 8 * 128 * 4096 * 4) / 3.35e12   # seconds\n"
                "gpu_most_ms_saved = 'MI300X'\n"),
    "ans_weights_vs_kv": ("saved_weights_only_gb = model.n_parameters / 1e9\n"
                          "saved_kv_only_gb = 2 * 32 * 8 * 128 * 32768 * 8 / 2**30   # GiB\n"
                          "bigger_saving = 'KV'\n"),
    "ans_prefill": ("ttft_fp16_ms = (2 * model.n_parameters * 4096 + 2 * 32 * 4096**2 * 4096) / 989.5e12 * 1e3\n"
                    "ttft_int4_ms = ttft_fp16_ms / 4\n"
                    "itl_speedup_int4 = None\n"),
}
LAB3_WRONG_EXPECT = {
    "ex1_itl": 1.0,            # fp16 forgot batch (0) + int8 in seconds (2 x 0.5) + wrong GPU (0)
    "ex2_weights_vs_kv": 2.5,  # weights right (1) + KV in GiB (0.5) + "KV" right (1, case ignored)
    "ex3_prefill": 2.0,        # TTFT fp16 right (2) + int4 assumed 4x faster (0) + missing (0)
}
LAB3_WRONG_FEEDBACK = ["forgot batch", "seconds", "GiB", "no int4 tensor path"]
LAB3_TAMPER = {"ans_itl": "itl_fp16_ms = itl_int8_ms = 0.5\ngpu_most_ms_saved = 'H100'",
               "ans_weights_vs_kv": "saved_weights_only_gb = saved_kv_only_gb = 0.5\nbigger_saving = 'weights'",
               "ans_prefill": "ttft_fp16_ms = ttft_int4_ms = itl_speedup_int4 = 0.5"}

# ---------------------------------------------------------------------------- lab 4
# P = 8.0303e9, L = 32, a = 4096. At S = 8192: 2PS = 1.3157e14, 2 L S^2 a = 1.7592e13 FLOP.
# Non-causal 4 L S^2 a = 3.518e13 (known mistake, 0); share then wrong too. S* = P/(L a) = 61,267.
# ITL at 128k without the KV-cache: 16.06e9 / 3.35e12 = 4.794 ms (known mistake, 0).
LAB4_WRONG = {
    "ans_flops": ("flops_linear_8k = 2 * P * 8192\nflops_attention_8k = 4 * L * 8192**2 * a\n"
                  "attention_fraction_8k = flops_attention_8k / (flops_linear_8k + flops_attention_8k)\n"),
    "ans_crossover": "crossover_tokens = 61267\n",
    "ans_long": ("ttft_128k_s = (2 * P * 131072 + 2 * L * 131072**2 * a) / 989.5e12\n"
                 "itl_128k_ms = P * 2 / 3.35e12 * 1e3\n"),
}
LAB4_WRONG_EXPECT = {"ex1_flops": 1.0, "ex2_crossover": 2.0, "ex3_long_context": 2.0}
LAB4_WRONG_FEEDBACK = ["causal", "KV-cache"]
LAB4_TAMPER = {"ans_flops": "flops_linear_8k = flops_attention_8k = attention_fraction_8k = 0.5",
               "ans_crossover": "crossover_tokens = 0.5", "ans_long": "ttft_128k_s = itl_128k_ms = 0.5"}

LABS["lab3_quantization"] = {"wrong": LAB3_WRONG, "wrong_expect": LAB3_WRONG_EXPECT,
                             "wrong_feedback": LAB3_WRONG_FEEDBACK, "tamper": LAB3_TAMPER}
LABS["lab4_context_scaling"] = {"wrong": LAB4_WRONG, "wrong_expect": LAB4_WRONG_EXPECT,
                                "wrong_feedback": LAB4_WRONG_FEEDBACK, "tamper": LAB4_TAMPER}


# ---------------------------------------------------------------------------- lab 1
# H100 dense fp16 989.5e12 FLOP/s, 3.35e12 B/s -> ridge 295.4 FLOP/B; the sparse peak gives 590.7 (0).
# ResNet-50 at batch 1: F = 8.18e9, M = 2 x 25.557e6 + 44.8e6 x 2/4 = 73.5e6 B -> I = 111.3;
# without activations I = 160.0 (known mistake, 0). Crossover batch 10; without activations 2 (0).
LAB1_WRONG = {
    "ans_ridge": "ridge_h100 = 2 * gpu.peak_flops['fp16'] / gpu.memory_bandwidth_Bps   # the sparse figure",
    "ans_batch1": ("intensity_b1 = model.flops_per_inference / (model.n_parameters * 2)\n"
                   "bound_b1 = 'Memory'\nlatency_b1_us = 21.9\n"),
    "ans_crossover": "crossover_batch = 2\n",
}
LAB1_WRONG_EXPECT = {"ex1_ridge": 0.0, "ex2_batch1": 2.0, "ex3_crossover": 0.0}
LAB1_WRONG_FEEDBACK = ["sparse", "activations"]
LAB1_TAMPER = {"ans_ridge": "ridge_h100 = 0.5", "ans_batch1": "intensity_b1 = latency_b1_us = 0.5\nbound_b1 = 'compute'",
               "ans_crossover": "crossover_batch = 0.5"}

# ---------------------------------------------------------------------------- lab 5
# H100: W = 16.06e9 B, KV_seq (2048 tokens) = 131072 x 2048 = 268.4e6 B.
# B_max = floor((3.35e12 x 0.020 - 16.06e9) / 268.4e6) = floor(189.8) = 189; without W: 249 (0).
# A100: floor((2.039e12 x 0.020 - 16.06e9) / 268.4e6) = 92. L4: 0.3e12 x 0.02 = 6e9 < W -> 0.
# TTFT H100 = (2 x 8.03e9 x 2048 + 2 x 32 x 2048^2 x 4096) / 989.5e12 = 34.35 ms; from bytes
# instead (16.06e9 + 0.27e9) / 3.35e12 = 4.87 ms (known mistake, 0).
LAB5_WRONG = {
    "ans_ttft": ("ttft_h100_ms = (model.n_parameters * 2 + 2 * 32 * 8 * 128 * 2 * S) / 3.35e12 * 1e3   # bytes/BW\n"
                 "ttft_l4_ms = None\n"),
    "ans_batch": "max_batch_h100 = 249\nmax_batch_a100 = 92\nmax_batch_l4 = 0\n",
    "ans_cost": "cost_h100 = None\ncost_a100 = None\ncheapest = 'a100'\n",
}
LAB5_WRONG_EXPECT = {"ex1_ttft": 0.0, "ex2_batch": 3.0, "ex3_cost": 0.0}
LAB5_WRONG_FEEDBACK = ["compute-bound", "reads all the weights"]
LAB5_TAMPER = {"ans_ttft": "ttft_h100_ms = ttft_l4_ms = 0.5", "ans_batch": "max_batch_h100 = max_batch_a100 = max_batch_l4 = 0.5",
               "ans_cost": "cost_h100 = cost_a100 = 0.5\ncheapest = 'L4'"}

# ---------------------------------------------------------------------------- lab 6
# P = 8.0303e9: 16 B/param -> 128.48 GB; ZeRO-3 over 8 -> 16.06 GB. bf16 gradients 16.06e9 B.
# All-reduce over 8 on NVLink (450e9 B/s per direction): 2 x 7/8 x 16.06e9 / 450e9 + 8 us = 62.47 ms;
# without the factor 2: 31.23 ms (known mistake, 0). Over 32 on IB (50e9 B/s): 2 x 31/32 x 16.06e9/50e9
# + 5 us = 0.6224 s; with 400e9 (Gb/s read as GB/s): 0.0778 s (bits vs bytes, 0).
# Bubble 3/11 = 0.2727; 3/8 = 0.375 (known mistake). 3/(m+3) <= 0.05 -> m = 57.
LAB6_WRONG = {
    "ans_memory": "train_state_gb = P * 2 / 1e9\nzero3_gb = P * 16 / 1e9 / 8\n",
    "ans_allreduce": ("allreduce_8_ms = 7 / 8 * 2 * P / 450e9 * 1e3\n"
                      "allreduce_32_s = 2 * 31 / 32 * 2 * P / 400e9\n"),
    "ans_bubble": "bubble_pp4_m8 = 3 / 8\nmicrobatches_for_5pct = 57\n",
    "ans_scaling": "scaling_eff_32 = None\n",
}
LAB6_WRONG_EXPECT = {"ex1_memory": 2.0, "ex2_allreduce": 0.0, "ex3_bubble": 2.0, "ex4_scaling": 0.0}
LAB6_WRONG_FEEDBACK = ["16 B/param", "reduce-scatter", "bits vs bytes", "(p-1)/(m+p-1)"]
LAB6_TAMPER = {"ans_memory": "train_state_gb = zero3_gb = 0.5", "ans_allreduce": "allreduce_8_ms = allreduce_32_s = 0.5",
               "ans_bubble": "bubble_pp4_m8 = microbatches_for_5pct = 0.5", "ans_scaling": "scaling_eff_32 = 0.5"}

# ---------------------------------------------------------------------------- lab 7
# 8 x 700 W x 24 h = 134.4 kWh IT; x PUE 1.58 = 212.35 kWh (forgetting PUE: 134.4, known, 0).
# u = 0.5: 700 x (0.1 + 0.9 x 0.5) = 385 W -> 116.79 kWh; TDP x u gives 106.18 (known, 0).
# France 56 g/kWh -> 11.89 kg; Poland 662 -> 140.58 kg, given in grams 140577 (half credit).
LAB7_WRONG = {
    "ans_energy": "energy_kwh = 8 * 700 * 24 / 1000\nenergy_kwh_u50 = 8 * 700 * 0.5 * 24 * 1.58 / 1000\n",
    "ans_grids": ("carbon_france_kg = 212.352 * 56 / 1000\ncarbon_poland_kg = 212.352 * 662\n"
                  "poland_over_france = 662 / 56\n"),
}
LAB7_WRONG_EXPECT = {"ex1_energy": 0.0, "ex2_grids": 2.5, "ex3_shift": 0.0}
LAB7_WRONG_FEEDBACK = ["PUE", "idle GPU", "grams"]
LAB7_TAMPER = {"ans_energy": "energy_kwh = energy_kwh_u50 = 0.5",
               "ans_grids": "carbon_france_kg = carbon_poland_kg = poland_over_france = 0.5",
               "ans_shift": "kg_saved_moving = 0.5"}

for _lab, _n in (("lab1_roofline", 1), ("lab5_hardware_sla", 5), ("lab6_distributed", 6), ("lab7_sustainability", 7)):
    LABS[_lab] = {"wrong": globals()[f"LAB{_n}_WRONG"], "wrong_expect": globals()[f"LAB{_n}_WRONG_EXPECT"],
                  "wrong_feedback": globals()[f"LAB{_n}_WRONG_FEEDBACK"], "tamper": globals()[f"LAB{_n}_TAMPER"]}

# ---------------------------------------------------------------------------- lab 8
# Llama-3.1-8B on an H100 (fp16), I = 1024, O = 256, 64 seats: T_pre = max(16.72e12 / 989.5e12, ...) = 16.90 ms,
# t_dec(64) at context 1152 = (16.06e9 + 64 x 1152 x 131072) / 3.35e12 = 7.68 ms; t_dec(1) = 4.84 ms (the
# batch-of-one mistake, 0); capacity 64 / (64 x 16.90 + 255 x 7.68) ms = 21.06 req/s, without the prefills
# 64 / (255 x 7.68 ms) = 32.7 req/s (known mistake, 0). KV blocks floor((0.9 x 85.90e9 - 16.06e9) / (16 x 131072))
# = 29205; with 80e9 B instead of 80 GiB 26674 (GiB vs GB, half credit); 29205 // ceil(16384 / 16) = 28 requests
# sized at the prompt only (known mistake, 0; right: 29205 // 1088 = 26). best_rate: the 120 % rate (0).
LAB8_WRONG = {
    "ans_capacity": (
        "P, L, a = model.n_parameters, model.layers, model.attention_dim\n"
        "W, kv = 2 * P, 2 * L * model.kv_heads * model.head_dim * 2\n"
        "peak, BW = gpu.peak_flops['fp16'], gpu.memory_bandwidth_Bps\n"
        "c = v.I + v.O // 2\n"
        "t_prefill_ms = max((2 * P * v.I + 2 * L * v.I**2 * a) / peak, (W + v.I * kv) / BW) * 1e3\n"
        "t_decode_ms = (W + c * kv) / BW * 1e3   # one sequence, not the batch\n"
        "t_batch = max((2 * P * v.seats + 4 * L * c * a * v.seats) / peak, (W + v.seats * c * kv) / BW) * 1e3\n"
        "capacity_req_s = v.seats / ((v.O - 1) * t_batch) * 1e3   # no prefills\n"),
    "ans_kv": ("kv_blocks = math.floor((0.9 * 80e9 - W) / (16 * kv))   # 80 GB, not 80 GiB\n"
               "max_concurrency = math.floor((0.9 * gpu.memory_bytes - W) / (16 * kv)) // math.ceil(v.I_long / 16)\n"),
    "ans_goodput": "best_rate = lab_rates[-1]\n",
}
LAB8_WRONG_EXPECT = {"ex1_capacity": 1.0, "ex2_kv_limit": 0.5, "ex3_goodput": 0.0}
LAB8_WRONG_FEEDBACK = ["not one", "stalls the whole batch", "GiB", "prompt + output"]
LAB8_TAMPER = {"ans_capacity": "t_prefill_ms = t_decode_ms = capacity_req_s = 0.5",
               "ans_kv": "kv_blocks = max_concurrency = 0.5", "ans_goodput": "best_rate = 0.5"}

# ---------------------------------------------------------------------------- lab 9
# Llama-3.1-8B + Llama-3.2-1B draft on an H100, k = 4, alpha = 0.8: E = (1 - 0.8^5) / 0.2 = 3.3616; with
# alpha^k instead 2.952 (known mistake, 0). At 1024 tokens, batch 1: t_draft = (2.47e9 + 1024 x 32768) / 3.35e12
# = 0.748 ms (1); t_verify = t_target(1) = (16.06e9 + 1024 x 131072) / 3.35e12 = 4.83 ms, as 5 full steps 24.2 ms
# (known mistake, 0); speed-up 4.83 / ((4 x 0.748 + 4.83) / 3.3616) = 2.08, without the draft's cost
# 3.36 (known mistake, 0). Break-even batch 256 at 256 tokens (right, 3). Prefix: (1 - 0.75) x 150.7 ms = 37.7 ms
# instead of 41.0 ms, and 1 / (1 - 0.75) = 4 instead of 3.67 (both the "linear" mistake, 0).
LAB9_WRONG = {
    "ans_tokens": "tokens_per_round = (1 - v.alpha ** v.k) / (1 - v.alpha)\n",
    "ans_speedup": (
        "peak, BW, S = gpu.peak_flops['fp16'], gpu.memory_bandwidth_Bps, v.S\n"
        "def step_ms(m, n):\n"
        "    flops = 2 * m.n_parameters * n + 4 * m.layers * S * m.attention_dim * n\n"
        "    return max(flops / peak, (2 * m.n_parameters + S * m.kv_bytes_per_token(2)) / BW) * 1e3\n"
        "t_draft_ms = step_ms(draft, 1)\n"
        "t_verify_ms = (v.k + 1) * step_ms(model, 1)   # k + 1 full steps\n"
        "E = (1 - v.alpha ** (v.k + 1)) / (1 - v.alpha)\n"
        "speedup_b1 = E * step_ms(model, 1) / step_ms(model, v.k + 1)   # the draft is free?\n"),
    "ans_breakeven": "breakeven_batch = 256\n",
    "ans_prefix": ("P, L, a, Sp = model.n_parameters, model.layers, model.attention_dim, v.S_prompt\n"
                   "mem = (2 * P + Sp * model.kv_bytes_per_token(2)) / gpu.memory_bandwidth_Bps\n"
                   "ttft_plain = max((2 * P * Sp + 2 * L * a * Sp * Sp) / gpu.peak_flops['fp16'], mem) * 1e3\n"
                   "ttft_cached_ms = (1 - v.hit) * ttft_plain\nttft_speedup = 1 / (1 - v.hit)\n"),
}
LAB9_WRONG_EXPECT = {"ex1_tokens": 0.0, "ex2_speedup": 1.0, "ex3_breakeven": 3.0, "ex4_prefix": 0.0}
LAB9_WRONG_FEEDBACK = ["k + 1 terms", "reads the weights", "draft's k decode steps", "cached prefix"]
LAB9_TAMPER = {"ans_tokens": "tokens_per_round = 0.5", "ans_speedup": "t_draft_ms = t_verify_ms = speedup_b1 = 0.5",
               "ans_breakeven": "breakeven_batch = 0.5", "ans_prefix": "ttft_cached_ms = ttft_speedup = 0.5"}

for _lab, _n in (("lab8_batching", 8), ("lab9_speculative", 9)):
    LABS[_lab] = {"wrong": globals()[f"LAB{_n}_WRONG"], "wrong_expect": globals()[f"LAB{_n}_WRONG_EXPECT"],
                  "wrong_feedback": globals()[f"LAB{_n}_WRONG_FEEDBACK"], "tamper": globals()[f"LAB{_n}_TAMPER"]}
