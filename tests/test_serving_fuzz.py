"""Property tests of ServingSolver with hypothesis.

Valid inputs: never crash, finite positive latencies, memory = weights + KV exactly (the KV
formula written out below), monotone in batch and sequence length.
Invalid inputs: always a ValidationError naming the field and the value - never a bare
TypeError, KeyError or ZeroDivisionError from deep inside.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import mlsyslab
from mlsyslab import Hardware, Models, ServingSolver, UnknownNameError, ValidationError
from mlsyslab.precision import PRECISIONS

LLMS = [m.key for m in Models if m.is_llm]
NON_LLMS = [m.key for m in Models if not m.is_llm]
DEVICES = [h.key for h in Hardware]
BYTES = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "fp4": 0.5, "int4": 0.5}
SOLVERS = {"ideal": ServingSolver(efficiency="ideal"), "calibrated": ServingSolver()}

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _has_link(hw) -> bool:
    return hw.interconnect_Bps > 0 or hw.host_Bps > 0


@st.composite
def configs(draw):
    model = Models.get(draw(st.sampled_from(LLMS)))
    hw = Hardware.get(draw(st.sampled_from(DEVICES)))
    divisors = [t for t in (1, 2, 4, 8, 16) if model.heads % t == 0]
    tp = draw(st.sampled_from(divisors)) if _has_link(hw) else 1
    return dict(
        model=model, hardware=hw, tensor_parallel=tp,
        seq_len=draw(st.integers(1, 200_000)), batch_size=draw(st.integers(1, 4096)),
        precision=draw(st.sampled_from(PRECISIONS)),
        kv_precision=draw(st.sampled_from((None,) + PRECISIONS)),
    )


@FUZZ
@given(cfg=configs(), mode=st.sampled_from(sorted(SOLVERS)))
def test_valid_inputs_give_finite_positive_latencies_and_exact_memory(cfg, mode):
    r = SOLVERS[mode].solve(**cfg)
    for t in (r.ttft_s, r.itl_s, r.decode_tokens_per_s):
        assert math.isfinite(t) and t > 0
    m, tp = cfg["model"], cfg["tensor_parallel"]
    b_w = BYTES[cfg["precision"]]
    b_kv = BYTES[cfg["kv_precision"] or cfg["precision"]]
    # KV = 2 x L x kv_heads (per GPU, at least one) x head_dim x S x B x bytes
    kv = 2 * m.layers * max(m.kv_heads / tp, 1) * m.head_dim * cfg["seq_len"] * cfg["batch_size"] * b_kv
    weights = m.n_parameters * b_w / tp
    assert r.kv_bytes == pytest.approx(kv, rel=1e-12)
    assert r.weights_bytes == pytest.approx(weights, rel=1e-12)
    assert r.total_bytes == r.weights_bytes + r.kv_bytes
    assert r.feasible == (r.total_bytes <= cfg["hardware"].memory_bytes)
    assert r.itl.to("s").magnitude == pytest.approx(r.itl_s)


@FUZZ
@given(cfg=configs(), mode=st.sampled_from(sorted(SOLVERS)), ds=st.integers(1, 50_000), db=st.integers(1, 512))
def test_latency_and_memory_are_monotone_in_batch_and_seq_len(cfg, mode, ds, db):
    solver = SOLVERS[mode]
    base = solver.solve(**cfg)
    longer = solver.solve(**{**cfg, "seq_len": cfg["seq_len"] + ds})
    bigger = solver.solve(**{**cfg, "batch_size": cfg["batch_size"] + db})
    for other in (longer, bigger):
        assert other.ttft_s >= base.ttft_s
        assert other.itl_s >= base.itl_s
        assert other.total_bytes > base.total_bytes
        assert other.max_batch_size <= base.max_batch_size or other is bigger
    # Bigger batches amortise the weights: decode tokens/s never falls with batch.
    assert bigger.decode_tokens_per_s >= base.decode_tokens_per_s * (1 - 1e-12)


@FUZZ
@given(cfg=configs())
def test_sweep_agrees_with_solve_on_random_points(cfg):
    solver = SOLVERS["calibrated"]
    r = solver.solve(**cfg)
    sw = solver.sweep(**cfg)
    assert sw.raw("ttft").item() == r.ttft_s and sw.raw("itl").item() == r.itl_s
    assert bool(sw.feasible) == r.feasible


# --------------------------------------------------------------------------- invalid inputs

VALID = dict(model="Llama3_8B", hardware="H100", seq_len=2048, batch_size=1)


def _expect_validation(field, value, **kw):
    """Solve with ``field=value``; it must raise ValidationError naming the field and the value."""
    args = {**VALID, field: value, **kw}
    with pytest.raises(ValidationError) as info:
        SOLVERS["ideal"].solve(**args)
    err = info.value
    assert err.field == field
    msg = str(err)
    assert field in msg
    return msg


bad_counts = st.one_of(
    st.integers(max_value=0),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not (x >= 1 and x == int(x))
                                                         if math.isfinite(x) else True),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
    st.lists(st.integers(1, 10), max_size=3),
    st.complex_numbers(),
)


@FUZZ
@given(field=st.sampled_from(["seq_len", "batch_size"]), value=bad_counts)
def test_bad_counts_raise_validation_error_naming_field_and_value(field, value):
    msg = _expect_validation(field, value)
    assert repr(value)[:20] in msg or str(value)[:20] in msg


@pytest.mark.parametrize("value, shown", [
    (-1, "-1"), (0, "0"), (1.5, "1.5"), (float("nan"), "nan"), (float("inf"), "inf"),
    (True, "True"), ("2048", "'2048'"), (10 ** 12, "1000000000000"),
])
@pytest.mark.parametrize("field", ["seq_len", "batch_size"])
def test_each_bad_count_is_named_in_the_message(field, value, shown):
    msg = _expect_validation(field, value)
    assert f"{field}={shown}" in msg
    assert "positive integer" in msg or "integer between 1 and" in msg


def test_wrong_dimension_quantity_for_seq_len():
    q = 5 * mlsyslab.ureg.second
    msg = _expect_validation("seq_len", q)
    assert "[time]" in msg and "token" in msg


def test_token_quantity_is_accepted_for_seq_len():
    r = SOLVERS["ideal"].solve(**{**VALID, "seq_len": 2 * mlsyslab.ureg("ktoken")})
    assert r.seq_len == 2000


@FUZZ
@given(p=st.text(min_size=1, max_size=8).filter(lambda s: s.strip().lower() not in PRECISIONS and s.strip().lower()
                                                not in ("float32", "float16", "half", "bfloat16", "float8", "e4m3",
                                                        "w8", "w4")))
def test_unknown_precision_lists_the_allowed_ones(p):
    for field in ("precision", "kv_precision"):
        msg = _expect_validation(field, p)
        assert "fp16" in msg and "int4" in msg


def test_unknown_precision_suggests_close_names():
    msg = _expect_validation("precision", "fp12")
    assert "precision='fp12'" in msg and "Did you mean" in msg


@pytest.mark.parametrize("name", ["Llama3_9B", "llama-3-80b", "Mixtral_8x8B"])
def test_unknown_model_name_says_did_you_mean(name):
    with pytest.raises(UnknownNameError) as info:
        SOLVERS["ideal"].solve(**{**VALID, "model": name})
    assert isinstance(info.value, ValidationError)
    assert info.value.field == "model"
    assert name in str(info.value) and "Did you mean" in str(info.value)


def test_unknown_hardware_name_says_did_you_mean():
    with pytest.raises(UnknownNameError, match=r"(?s)H1000.*Did you mean.*H100"):
        SOLVERS["ideal"].solve(**{**VALID, "hardware": "H1000"})


@pytest.mark.parametrize("name", NON_LLMS)
def test_non_llm_model_is_rejected_by_the_serving_solver(name):
    msg = _expect_validation("model", name)
    assert name in msg and "LLM" in msg


@pytest.mark.parametrize("value", [None, 3, 2.5, object()])
@pytest.mark.parametrize("field", ["model", "hardware"])
def test_non_names_for_model_and_hardware(field, value):
    _expect_validation(field, value)


@FUZZ
@given(model=st.sampled_from(LLMS), tp=st.integers(2, 200))
def test_tensor_parallel_not_dividing_heads(model, tp):
    heads = Models.get(model).heads
    assume(heads % tp)
    msg = _expect_validation("tensor_parallel", tp, model=model)
    assert f"tensor_parallel={tp}" in msg and str(heads) in msg


@pytest.mark.parametrize("tp", [0, -2, 1.5, True, "2"])
def test_tensor_parallel_must_be_a_positive_integer(tp):
    msg = _expect_validation("tensor_parallel", tp)
    assert f"tensor_parallel={tp!r}" in msg


@pytest.mark.parametrize("device", [h.key for h in Hardware if not _has_link(h)] or ["__none__"])
def test_tensor_parallel_on_a_device_without_links(device):
    if device == "__none__":  # every device in the zoo has a link: nothing can divide by zero here
        assert all(_has_link(h) for h in Hardware)
        return
    msg = _expect_validation("tensor_parallel", 2, hardware=device, model="GPT2")
    assert device in msg


@FUZZ
@given(field=st.sampled_from(["seq_len", "batch_size"]),
       values=st.lists(st.one_of(st.integers(max_value=0), st.just(float("nan")), st.just(2.5),
                                 st.just(float("inf"))), min_size=1, max_size=4),
       good=st.lists(st.integers(1, 1000), max_size=3))
def test_sweep_rejects_bad_elements(field, values, good):
    args = {**VALID, field: good + values}
    with pytest.raises(ValidationError) as info:
        SOLVERS["ideal"].sweep(**args)
    assert info.value.field == field and field in str(info.value)


@pytest.mark.parametrize("value", [[], "12", None, [True, False], [1 + 1j], {1: 2}])
def test_sweep_rejects_non_numeric_arrays(value):
    with pytest.raises(ValidationError, match="seq_len"):
        SOLVERS["ideal"].sweep(**{**VALID, "seq_len": value})


@pytest.mark.parametrize("value", ["fast", None, 1.0])
def test_unknown_efficiency_mode(value):
    with pytest.raises(ValidationError, match="efficiency"):
        ServingSolver(efficiency=value)


anything = st.one_of(
    st.none(), st.booleans(), st.integers(-10 ** 20, 10 ** 20), st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(), st.text(max_size=12), st.binary(max_size=6), st.lists(st.integers(), max_size=3),
    st.tuples(st.integers()), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["Llama3_8B", "h100", "fp16", "int4", "ResNet50", "TPUv5e", "", " ", "None", "1e3"]),
)


@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from(["model", "hardware", "seq_len", "batch_size", "precision", "kv_precision",
                              "tensor_parallel"]), value=anything)
def test_any_value_in_any_field_gives_a_result_or_a_validation_error(field, value):
    """Whatever is passed, the solver answers or raises ValidationError - nothing else escapes."""
    try:
        r = SOLVERS["calibrated"].solve(**{**VALID, field: value})
    except ValidationError as err:
        assert err.field == field
        assert field in str(err)
    else:
        assert math.isfinite(r.ttft_s) and r.ttft_s > 0 and math.isfinite(r.itl_s) and r.itl_s > 0


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(["seq_len", "batch_size"]),
       value=st.one_of(anything, st.lists(st.one_of(st.integers(-5, 10 ** 8), st.floats(), st.booleans()),
                                          max_size=4)))
def test_sweep_any_value_gives_arrays_or_a_validation_error(field, value):
    try:
        sw = SOLVERS["ideal"].sweep(**{**VALID, field: value})
    except ValidationError as err:
        assert err.field == field and field in str(err)
    else:
        assert np.isfinite(sw.raw("ttft")).all() and (sw.raw("itl") > 0).all()
