"""Scenario -> Scorecard: every figure checked against a hand calculation written here.

Datasheet figures used (zoo sources): H100 SXM5 80 GiB HBM3, 3.35 TB/s, 989.5 TFLOP/s dense fp16,
700 W TDP; A100 SXM4 80 GiB, 2.039 TB/s, 312 TFLOP/s fp16. Llama-3.1-8B / 70B architectures from
their HF config.json. Lambda lists 8 x H100 SXM at $23.92/h (= $2.99 per GPU-hour, 2024-06).
"""

from __future__ import annotations

import json
import math

import pytest

import mlsyslab as ml
from mlsyslab.errors import OOMError, SLAViolation, ValidationError
from mlsyslab.units import Q_

GiB = 2 ** 30
H100_BW, H100_FP16, H100_CAP, H100_TDP = 3.35e12, 989.5e12, 80 * GiB, 700.0


def llama_params(L, d, heads, kv_heads, head_dim, ffn, vocab):
    """Dense Llama parameter count: L x (attention + gated FFN + 2 RMSNorms) + untied embeddings + final norm."""
    a, k = heads * head_dim, kv_heads * head_dim
    attention = d * a + 2 * d * k + a * d
    ffn_params = 3 * d * ffn
    return L * (attention + ffn_params + 2 * d) + 2 * vocab * d + d


P8 = llama_params(32, 4096, 32, 8, 128, 14336, 128256)      # 8,030,261,248
P70 = llama_params(80, 8192, 64, 8, 128, 28672, 128256)     # 70,553,706,496


def hand_llama8b_h100(S=2048, B=1):
    """Ideal roofline of Llama-3.1-8B fp16 on one H100: (TTFT s, ITL s, weights B, KV B)."""
    L, a = 32, 32 * 128
    W = P8 * 2
    KV = 2 * L * 8 * 128 * S * B * 2
    prefill_flops = 2 * P8 * S * B + 2 * L * S * S * a * B
    ttft = max(prefill_flops / H100_FP16, (W + KV) / H100_BW)
    decode_flops = 2 * P8 * B + 4 * L * S * a * B
    itl = max(decode_flops / H100_FP16, (W + KV) / H100_BW)
    return ttft, itl, W, KV


def test_hand_parameter_counts_match_published():
    assert P8 == 8_030_261_248 and abs(P8 / 8.03e9 - 1) < 1e-3
    assert abs(P70 / 70.55e9 - 1) < 1e-3


def test_serving_scorecard_margins_match_hand_calculation():
    ttft, itl, W, KV = hand_llama8b_h100()
    assert ttft == pytest.approx(34.35e-3, rel=1e-3)  # compute-bound prefill
    assert itl == pytest.approx(4.874e-3, rel=1e-3)   # memory-bound decode
    sla = ml.SLA(ttft=50, itl=4, throughput=200, max_memory_utilization=0.5)
    card = ml.Scenario("Llama3_8B", "H100", sla=sla, seq_len=2048, batch_size=1, efficiency="ideal").evaluate()

    checks = {c.metric: c for c in card.checks}
    assert checks["ttft"].predicted == pytest.approx(ttft * 1e3, rel=1e-9)
    assert checks["ttft"].margin == pytest.approx((50 - ttft * 1e3) / 50, rel=1e-9)
    assert checks["ttft"].met is True
    assert checks["itl"].predicted == pytest.approx(itl * 1e3, rel=1e-9)
    assert checks["itl"].margin == pytest.approx((4 - itl * 1e3) / 4, rel=1e-9)
    assert checks["itl"].margin < 0 and checks["itl"].met is False
    tokens_per_s = 1 / itl
    assert checks["throughput"].predicted == pytest.approx(tokens_per_s, rel=1e-9)
    assert checks["throughput"].margin == pytest.approx((tokens_per_s - 200) / 200, rel=1e-9)
    assert checks["throughput"].met is True
    util = (W + KV) / H100_CAP
    assert checks["max_memory_utilization"].margin == pytest.approx((0.5 - util) / 0.5, rel=1e-9)
    assert [c.metric for c in card.violations] == ["itl"]
    assert card.performance.status == "FAIL" and not card.passed and card.fits

    # feasibility: fits, by how much
    f = card.feasibility
    assert f.status == "PASS"
    assert f.value("memory_required") == pytest.approx((W + KV) / 1e9, rel=1e-12)
    assert f.value("capacity") == pytest.approx(H100_CAP / 1e9, rel=1e-12)
    assert f["capacity_native"].to("GiB").magnitude == pytest.approx(80)
    assert f.value("headroom") == pytest.approx((H100_CAP - W - KV) / 1e9, rel=1e-12)
    assert f.value("max_batch_size") == (H100_CAP - W) // KV  # floor((C - W) / KV per sequence)
    assert card.performance["ttft"].to("s").magnitude == pytest.approx(ttft, rel=1e-9)


def test_strict_raises_sla_violation_naming_limit_and_figures():
    _, itl, _, _ = hand_llama8b_h100()
    sc = ml.Scenario("Llama3_8B", "H100", sla=ml.SLA(ttft=50, itl=4), efficiency="ideal")
    with pytest.raises(SLAViolation) as info:
        sc.evaluate(strict=True)
    exc = info.value
    assert exc.metric == "itl"
    assert exc.predicted.to("ms").magnitude == pytest.approx(itl * 1e3, rel=1e-9)
    assert exc.limit.to("ms").magnitude == pytest.approx(4)
    assert "itl" in str(exc) and "4.874 ms" in str(exc) and "4 ms" in str(exc)
    # and a scenario that meets its SLA returns its scorecard in strict mode
    assert ml.Scenario("Llama3_8B", "H100", sla=ml.SLA(itl=5), efficiency="ideal").evaluate(strict=True).passed


def test_oom_reported_and_strict_raises_oom_error():
    W = P70 * 2
    KV = 2 * 80 * 8 * 128 * 2048 * 2
    sc = ml.Scenario("Llama3_70B", "H100", sla=ml.SLA(itl=100), seq_len=2048, efficiency="ideal")
    card = sc.evaluate()
    assert card.feasibility.status == "FAIL" and not card.fits and not card.passed
    assert card.feasibility.value("headroom") == pytest.approx((H100_CAP - W - KV) / 1e9, rel=1e-12)
    assert card.feasibility.value("headroom") < 0
    assert "does not fit" in card.feasibility.summary
    with pytest.raises(OOMError) as info:
        sc.evaluate(strict=True)
    assert info.value.required_bytes == pytest.approx(W + KV, rel=1e-9)
    assert info.value.capacity_bytes == pytest.approx(H100_CAP, rel=1e-9)
    assert info.value.overflow_bytes == pytest.approx(W + KV - H100_CAP, rel=1e-9)


def test_tensor_parallel_fits_70b_on_four_h100():
    sc = ml.Scenario("Llama3_70B", "H100", seq_len=2048, tensor_parallel=4, efficiency="ideal")
    card = sc.evaluate()
    W, KV = P70 * 2 / 4, 2 * 80 * (8 / 4) * 128 * 2048 * 2
    assert card.fits
    assert card.feasibility.value("memory_required") == pytest.approx((W + KV) / 1e9, rel=1e-12)
    assert sc.devices == 4


def test_inference_scenario_roofline_by_hand():
    # ResNet-50: 2 x 4.09 G MACs; fp16 weights 25.557 M x 2 B + activations 11.2 M x 2 B
    flops, bytes_moved = 2 * 4.09e9, 25.557e6 * 2 + 11.2e6 * 2
    latency = max(flops / 312e12, bytes_moved / 2.039e12)
    assert latency == pytest.approx(bytes_moved / 2.039e12)  # memory-bound at batch 1
    sc = ml.Scenario("ResNet50", "A100", sla=ml.SLA(latency=0.05, throughput="20000 samples/s"), efficiency="ideal")
    assert sc.kind == "inference"
    card = sc.evaluate()
    c = {x.metric: x for x in card.checks}
    assert c["latency"].predicted == pytest.approx(latency * 1e3, rel=1e-9)
    assert c["latency"].margin == pytest.approx((0.05 - latency * 1e3) / 0.05, rel=1e-9)
    assert c["throughput"].predicted == pytest.approx(1 / latency, rel=1e-9)
    assert c["throughput"].unit == "sample/s"
    assert card.passed
    assert card.macro.status == "PASS" and "energy" in card.macro  # per 10^6 inferences


def test_sla_units_numbers_quantities_and_strings_agree():
    a = ml.SLA(ttft=200, itl=20, throughput=300, cost_per_million_tokens=2, step_time=1.5, time_to_train=48)
    b = ml.SLA(ttft=Q_(0.2, "s"), itl="20 ms", throughput="300 tokens/s", cost_per_million_tokens="$2",
               step_time="1500 ms", time_to_train="2 day")
    # a plain throughput counts the workload's own unit (tokens/s, or samples/s for inference)
    assert a.limits.pop("throughput") == (300.0, None) and b.limits.pop("throughput") == (300.0, "token/s")
    assert a.limits == b.limits
    assert a.limits["ttft"] == (200.0, "ms") and a.limits["time_to_train"] == (48.0, "h")
    assert ml.SLA(max_memory_utilization="90 %").limits["max_memory_utilization"][0] == pytest.approx(0.9)


@pytest.mark.parametrize("kwargs, field, words", [
    ({"ttft": "5 GB"}, "ttft", "[time]"),
    ({"ttft": Q_(5, "GB")}, "ttft", "[time]"),
    ({"itl": "20 parsecs/s"}, "itl", "[time]"),
    ({"throughput": "3 s"}, "throughput", "[token]"),
    ({"itl": -1}, "itl", "> 0"),
    ({"max_memory_utilization": 1.5}, "max_memory_utilization", "(0, 1]"),
    ({"ttft": "fast"}, "ttft", "number"),
    ({"cost_per_million_tokens": "2 kg"}, "cost_per_million_tokens", "[currency]"),
])
def test_sla_rejects_bad_limits_naming_the_field(kwargs, field, words):
    with pytest.raises(ValidationError) as info:
        ml.SLA(**kwargs)
    assert info.value.field == field
    assert field in str(info.value) and words in str(info.value)


def test_sla_limit_that_does_not_apply_to_the_workload():
    with pytest.raises(ValidationError) as info:
        ml.Scenario("ResNet50", "A100", sla=ml.SLA(itl=5))
    assert info.value.field == "sla.itl" and "serving" in str(info.value)
    with pytest.raises(ValidationError) as info:
        ml.Scenario("Llama3_8B", "H100", sla={"ttft": 100, "itl_ms": 5})
    assert "itl" in str(info.value) and "Did you mean" in str(info.value)


def test_throughput_unit_must_match_the_workload():
    with pytest.raises(ValidationError) as info:   # caught when the scenario is built, before solving
        ml.Scenario("ResNet50", "A100", sla=ml.SLA(throughput="100 tokens/s"))
    assert "sample/s" in str(info.value) and info.value.field == "sla.throughput"
    with pytest.raises(ValidationError):
        ml.Scenario("Llama3_8B", "H100", sla=ml.SLA(throughput="100 samples/s"))
    assert ml.Scenario("ResNet50", "A100", sla=ml.SLA(throughput="100 /s")).sla.limits["throughput"] == (100.0, None)


def test_scenario_checks_inputs_before_solving():
    with pytest.raises(ml.UnknownNameError) as info:
        ml.Scenario("Llama3_8B", "H1000")
    assert "H100" in str(info.value)
    with pytest.raises(ml.UnknownNameError):
        ml.Scenario("Llama3_9B", "H100")
    with pytest.raises(ValidationError) as info:
        ml.Scenario("Llama3_8B", "H100", tensor_parallel=3)
    assert info.value.field == "tensor_parallel"
    with pytest.raises(ValidationError):
        ml.Scenario("ResNet50", "H100", kind="serving")
    with pytest.raises(ValidationError) as info:
        ml.Scenario("Llama3_8B", "H100", utilization=1.5)
    assert info.value.field == "utilization"
    with pytest.raises(ml.UnknownNameError) as info:
        ml.Scenario("Llama3_8B", "H100", grid="Quebek")
    assert "Quebec" in str(info.value)
    with pytest.raises(ValidationError) as info:  # 16 sequences per replica do not split into 3 microbatches
        ml.Scenario("Llama3_8B", "H100", kind="training", n_gpus=8, global_batch_size=128, microbatches=3)
    assert info.value.field == "microbatches"
    with pytest.raises(ValidationError) as info:
        ml.Scenario("Llama3_8B", "H100", kind="training", n_gpus=8, tensor_parallel=2, data_parallel=3)
    assert info.value.field == "data_parallel"


def test_parallelism_must_fit_the_system():
    with pytest.raises(ValidationError) as info:
        ml.Scenario("Llama3_8B", "RP2040", tensor_parallel=2)          # a microcontroller has no link
    assert info.value.field == "tensor_parallel"
    with pytest.raises(ValidationError) as info:
        ml.Scenario("Llama3_70B", "DGX_H100", tensor_parallel=16)     # a DGX H100 has 8 GPUs
    assert info.value.field == "tensor_parallel" and "8" in str(info.value)
    with pytest.raises(ValidationError) as info:
        ml.Scenario("Llama3_8B", "DGX_H100", kind="training", n_gpus=16)
    assert info.value.field == "n_gpus"


def test_node_and_cluster_systems_bring_their_gpu():
    sc = ml.Scenario("Llama3_8B", "DGX_H100", tensor_parallel=8)
    assert sc.hardware.key == "H100" and sc.system_key == "DGX_H100"
    tr = ml.Scenario("Llama3_8B", ml.Systems.Clusters.DGX_H100_SU, kind="training", tensor_parallel=8)
    assert tr.n_gpus == 256 and tr.data_parallel == 32 and tr.global_batch_size == 32


def test_serving_macro_cost_energy_carbon_by_hand():
    _, itl, _, _ = hand_llama8b_h100()
    tokens_per_s = 1 / itl
    seconds = 1e6 / tokens_per_s                       # time to generate 1M tokens
    price = 23.92 / 8                                  # Lambda 8 x H100 per GPU-hour
    cost = price * seconds / 3600
    energy_kWh = H100_TDP * seconds / 3600 * 1.2 / 1e3  # utilization 1 -> TDP; PUE 1.2
    carbon_kg = energy_kWh * 56 / 1e3                  # France, 56 gCO2e/kWh
    card = ml.Scenario("Llama3_8B", "H100", sla=ml.SLA(cost_per_million_tokens=4), efficiency="ideal",
                       grid="France", pue=1.2).evaluate()
    m = card.macro
    assert m.status == "FAIL"  # $4.05 > $4
    assert m.value("cost_per_million_tokens") == pytest.approx(cost, rel=1e-9)
    assert cost == pytest.approx(4.048, rel=1e-3)
    assert m.value("energy") == pytest.approx(energy_kWh, rel=1e-9)
    assert m.value("carbon") == pytest.approx(carbon_kg, rel=1e-9)
    c = card.check("cost_per_million_tokens")
    assert m.check("cost_per_million_tokens") is c
    assert c.margin == pytest.approx((4 - cost) / 4, rel=1e-9) and c.met is False
    # a given price replaces the list price
    card2 = ml.Scenario("Llama3_8B", "H100", efficiency="ideal", price_per_device_hour=1.0).evaluate()
    assert card2.macro.value("cost_per_million_tokens") == pytest.approx(1.0 * seconds / 3600, rel=1e-9)


def test_training_scorecard_composes_the_distributed_result():
    sc = ml.Scenario("Llama3_8B", "DGX_H100", kind="training", global_batch_size=64, seq_len=4096, zero_stage=3,
                     recompute=True, tokens=1e10, grid="Quebec", pue=1.1,
                     sla=ml.SLA(step_time=10, time_to_train="1 week", max_carbon=100))
    card = sc.evaluate()
    r = card.result
    step = r.step_time.to("s").magnitude
    tokens_per_step = 64 * 4096
    hours = 1e10 / tokens_per_step * step / 3600        # time to train = steps x step time
    assert card.performance.value("step_time") == pytest.approx(step)
    assert card.performance.value("throughput") == pytest.approx(tokens_per_step / step, rel=1e-12)
    assert card.performance.value("time_to_train") == pytest.approx(hours, rel=1e-12)
    assert card.feasibility.value("memory_required") == pytest.approx(r.memory_per_gpu.to("GB").magnitude)
    # energy of the run: 8 GPUs x 700 W x hours x PUE (utilization 1); carbon on the Quebec grid
    energy = 8 * H100_TDP * hours * 1.1 / 1e3
    assert card.macro.value("energy") == pytest.approx(energy, rel=1e-9)
    assert card.macro.value("carbon") == pytest.approx(energy * ml.Infra.Grids.Quebec.carbon_g_per_kWh / 1e3,
                                                       rel=1e-9)
    assert {c.metric for c in card.checks} == {"step_time", "time_to_train", "max_carbon"}


def test_scorecard_text_html_and_json():
    card = ml.Scenario("Llama3_8B", "H100", sla=ml.SLA(ttft=50, itl=4), efficiency="ideal", name="chat").evaluate()
    text = str(card)
    for word in ("Feasibility", "Performance", "Macro", "ttft", "VIOLATED", "GiB", "GB", "ms"):
        assert word in text
    html = card._repr_html_()
    assert html.startswith("<table") and "Feasibility" in html and "VIOLATED" in html and "&le;" in html
    d = json.loads(json.dumps(card.to_dict()))
    assert d["scenario"] == "chat" and d["passed"] is False and d["violations"] == ["itl"]
    assert set(d) >= {"feasibility", "performance", "macro", "inputs"}
    ttft = next(c for c in d["performance"]["checks"] if c["metric"] == "ttft")
    assert ttft["unit"] == "ms" and ttft["limit"] == 50 and ttft["met"] is True
    assert d["feasibility"]["metrics"]["capacity"]["unit"] == "GB"
    assert math.isclose(d["feasibility"]["metrics"]["capacity_native"]["value"], 80)


def test_specs_work_as_well_as_names():
    by_spec = ml.Scenario(ml.Models.Llama3_8B, ml.Hardware.Cloud.H100, efficiency="ideal").evaluate()
    by_name = ml.Scenario("llama-3-8b", "h100", efficiency="ideal").evaluate()
    assert by_spec.to_dict() == by_name.to_dict()


def test_scenarios_example_runs(repo_root):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(repo_root / "examples" / "scenarios.py")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert "OOMError:" in out and "SLAViolation (ttft" in out and "1. Feasibility" in out
    assert "llama8b-h100" in out and "3. Macro" in out


def test_inference_macro_per_million_inferences_by_hand():
    moved = 25.557e6 * 2 + 11.2e6 * 2
    seconds = 1e6 * moved / 2.039e12                    # 10^6 memory-bound ResNet-50 inferences on an A100
    card = ml.Scenario("ResNet50", "A100", efficiency="ideal", pue=1.0, grid="Norway",
                       price_per_device_hour=Q_(2, "USD/hour")).evaluate()
    energy = 400 * seconds / 3.6e6                      # 400 W TDP, utilization 1, PUE 1.0 -> kWh
    assert card.macro.value("energy") == pytest.approx(energy, rel=1e-9)
    assert card.macro.value("carbon") == pytest.approx(energy * 30 / 1e3, rel=1e-9)   # Norway 30 g/kWh
    assert card.macro.value("cost_per_million_inferences") == pytest.approx(2 * seconds / 3600, rel=1e-9)
    no_price = ml.Scenario("ResNet50", "JetsonOrinNano").evaluate()
    assert "energy" in no_price.macro and "cost_per_million_inferences" not in no_price.macro
    assert "price_per_device_hour=" in no_price.macro.summary
