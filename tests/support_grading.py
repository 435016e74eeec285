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
    nb = with_answers(release_nb, wrong_answers, TAMPER)
    nb.cells.insert(len(nb.cells) // 2, nbformat.v4.new_code_cell(EXIT_CELL))
    nb.cells.append(nbformat.v4.new_code_cell(KILL_CELL))
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
