"""Submissions for the end-to-end grading test, built from the lab notebooks.

For each lab: the **solution** (the instructor source), the **blank** release, **wrong** (plausible
mistakes, with the points each grade cell must get under the documented policy of
``mlsyslab.grading.rubric``, worked out by hand below) and **tampered** (patched builtins, numpy,
pytest.approx and solver, a forged ``record``, forged answer outputs, ``sys.exit`` and
``os._exit`` - plus wrong answers equal to what the patched solver returns: every autograded
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
            setattr(_cls, _attr, lambda *a, **k: 7)
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
    "ans_kv_per_token": "kv_bytes_per_token = 7",
    "ans_oom_batch": ("def kv_cache_bytes(model, seq_len, batch_size, bytes_per_value):\n    return 7\n"
                      "weights_bytes = kv_bytes_per_sequence = max_batch = 7\n"),
    "ans_context_batch": "max_batch_32k = kv_token_capacity = 7",
    "ans_gqa": "gqa_ratio = llama2_max_batch = 7",
}

LABS = {
    "lab2_kv_cache": {"wrong": LAB2_WRONG, "wrong_expect": LAB2_WRONG_EXPECT, "wrong_feedback": LAB2_WRONG_FEEDBACK,
                      "tamper": LAB2_TAMPER},
}
