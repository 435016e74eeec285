"""Numeric precisions: bytes per value and the fall-back rule for compute.

``BYTES_PER_VALUE`` is what a weight, KV entry or activation occupies in memory.

Compute rule (used by every solver): a precision runs at the device's dense peak for that
precision when the silicon has a native path for it. Otherwise the arithmetic falls back to
the first precision in :data:`COMPUTE_FALLBACK` that the device has natively. This models
weight-only quantisation (e.g. int4 AWQ/GPTQ on an H100, which has no int4 tensor path):
weights are stored small - so memory traffic shrinks - but are dequantised and multiplied
at the fp16/bf16 rate.
"""

from __future__ import annotations

from .inputs import choice

BYTES_PER_VALUE = {
    "fp32": 4.0,
    "tf32": 4.0,  # stored as fp32; tf32 is a tensor-core math mode
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 0.5,
    "int4": 0.5,
}

PRECISIONS = tuple(BYTES_PER_VALUE)

#: For each precision, the precisions tried in order when the device lacks a native path.
COMPUTE_FALLBACK = {
    "fp32": ("fp32",),
    "tf32": ("tf32", "fp32"),
    "bf16": ("bf16", "fp16", "fp32"),
    "fp16": ("fp16", "bf16", "fp32"),
    "fp8": ("fp8", "fp16", "bf16", "fp32"),
    "int8": ("int8", "fp16", "bf16", "fp32"),
    "fp4": ("fp4", "fp8", "fp16", "bf16", "fp32"),
    "int4": ("int4", "fp16", "bf16", "fp32"),
}


def normalize(precision, field: str = "precision") -> str:
    """Canonical lower-case name, or ValidationError listing the allowed precisions."""
    if isinstance(precision, str):
        alias = {"float32": "fp32", "float16": "fp16", "half": "fp16", "bfloat16": "bf16",
                 "float8": "fp8", "e4m3": "fp8", "w8": "int8", "w4": "int4"}
        precision = alias.get(precision.strip().lower(), precision)
    return choice(precision, field, PRECISIONS)


#: Which weights a below-16-bit precision covers in a checkpoint; the rest stay 16-bit
#: (:func:`mlsyslab.solvers.serving_physics.quantized_shares` gives each scope's shares).
QUANTIZED_SCOPES = ("all", "linear", "ffn")


def normalize_scope(scope, field: str = "quantized") -> str:
    """Canonical quantization scope, or ValidationError listing the allowed ones."""
    return choice(scope, field, QUANTIZED_SCOPES)


def bytes_per_value(precision) -> float:
    """Bytes one value occupies: fp32 4, fp16/bf16 2, fp8/int8 1, fp4/int4 0.5."""
    return BYTES_PER_VALUE[normalize(precision)]


def compute_precision(precision: str, native_peaks: dict) -> str:
    """The precision whose peak the arithmetic actually runs at on a device (see module doc)."""
    for p in COMPUTE_FALLBACK[precision]:
        if native_peaks.get(p):
            return p
    # A device with none of them (e.g. an int8-only NPU asked for fp16): best it has.
    return max(native_peaks, key=native_peaks.get)
