"""Answer key of lab 2, the KV-cache memory wall, for one student's variant.

The visible items (expected values, tolerances, usual mistakes) are those the student's
formative ``lab.check()`` uses, :func:`mlsyslab.labs.lab2_kv_cache.cells`, for the variant the
student id draws (:mod:`mlsyslab.labs.variants`); this file adds what only the grader knows:
the hidden configurations on which the student's ``kv_cache_bytes()`` is called.

Reference values come from ``ServingSolver(efficiency="ideal")`` (the hand formula)::

    KV per token    = 2 (K and V) x L x H_kv x d_h x b_kv
    max batch       = floor((capacity - W) / (KV per token x S)),   W = P x b_w
"""

from __future__ import annotations

from mlsyslab.grading.rubric import Item, Mistake
from mlsyslab.labs.builtin import lab2_kv_cache as lab
from mlsyslab.labs.variants import variant


def _hidden(name, seq_len, batch, kv_precision, bytes_per_value):
    """A hidden configuration: the KV bytes of a batch, and what forgetting K and V gives."""
    def value():
        return lab.solver().solve(name, "H100", seq_len, batch, precision="fp16", kv_precision=kv_precision).kv_bytes
    return value, (Mistake("forgot_kv_x2", lambda: value() / 2,
                           "your kv_cache_bytes() misses the factor 2 for K and V."),)


def cells(student=None) -> dict:
    """grade_id -> [Item] for ``student`` (None: the default variant)."""
    out = lab.cells(variant(lab.LAB, student))
    v70, m70 = _hidden("Llama3_70B", 8192, 4, "int8", 1)
    v27, m27 = _hidden("Llama2_7B", 1000, 3, None, 2)
    out["ex1_kv_function"] = [  # hidden: the student's kv_cache_bytes() at configurations not shown
        Item("kv_fn_llama70b_int8", 1, v70, "kv_cache_bytes(Llama3_70B, 8192 tokens, batch 4, 1 byte)", unit="B",
             mistakes=m70),
        Item("kv_fn_llama2_7b", 1, v27, "kv_cache_bytes(Llama2_7B, 1000 tokens, batch 3, 2 bytes)", unit="B",
             mistakes=m27),
    ]
    return out
