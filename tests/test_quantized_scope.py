"""Mixed-precision checkpoints (``quantized=``): which weights a below-16-bit precision covers.

Hand figures from the models' published configs (HF config.json), not from the solver:
Llama 3.1 405B has d = 16384, 126 layers, 128 heads and 8 KV heads of 128, FFN 53248, vocabulary
128256; Meta's FP8 checkpoint quantises only the FFN of layers 1-124 (Llama 3 paper, section 6.2).
H100 SXM dense peaks (datasheet): 1979 TFLOP/s fp8, 989 TFLOP/s bf16.
"""

from __future__ import annotations

import json

import pytest

from mlsyslab import LoadSolver, ServingSolver
from mlsyslab.errors import ValidationError

# Llama 3.1 405B parameter groups, by hand from config.json
D, L, KV_DIM, FFN, VOCAB = 16384, 126, 8 * 128, 53248, 128256
ATTN = 2 * D * D + 2 * D * KV_DIM  # Q, O and K, V projections
MLP = 3 * D * FFN  # gate, up, down
P_405B = L * (ATTN + MLP + 2 * D) + 2 * VOCAB * D + D
FP8_FFN = (L - 2) * MLP  # Meta's recipe: FFN of layers 1..124


def test_meta_fp8_405b_weights_per_gpu_by_hand():
    hand = (FP8_FFN * 1.0 + (P_405B - FP8_FFN) * 2.0) / 8  # bytes per GPU at TP 8
    assert hand / 1e9 == pytest.approx(60.9, abs=0.05)  # vs 50.7 GB if every weight were fp8
    r = ServingSolver().solve("Llama3_405B", "H100", 2048, 1, "fp8", 8, kv_precision="bf16", quantized="ffn")
    assert r.weights_bytes == pytest.approx(hand, rel=1e-9)
    assert r.quantized == "ffn"
    every = ServingSolver().solve("Llama3_405B", "H100", 2048, 1, "fp8", 8, kv_precision="bf16")
    assert every.weights_bytes == pytest.approx(P_405B / 8, rel=1e-9)
    assert every.quantized == "all"
    # the 10 GB of bf16 attention come out of the KV-cache: fewer sequences fit
    assert r.max_batch_size < every.max_batch_size


def test_linear_scope_keeps_embeddings_and_lm_head_16bit_by_hand():
    # Llama 3 8B: d 4096, vocabulary 128256, untied input and output embeddings
    emb = 2 * 128256 * 4096
    r_all = ServingSolver().solve("Llama3_8B", "H100", 1024, 1, "fp8")
    r_lin = ServingSolver().solve("Llama3_8B", "H100", 1024, 1, "fp8", quantized="linear")
    # everything else is fp8 either way; the embeddings gain one byte each (norms are too small to see)
    assert r_lin.weights_bytes - r_all.weights_bytes == pytest.approx(emb, rel=1e-3)


def test_gemms_of_the_bf16_share_run_at_the_bf16_peak_by_hand():
    # ideal mode: prefill is compute-bound and every FLOP runs at the harmonic mix of the two peaks
    q_a = FP8_FFN / P_405B
    mix = q_a / 1979e12 + (1 - q_a) / 989e12
    ideal = ServingSolver("ideal")
    r = ideal.solve("Llama3_405B", "H100", 4096, 1, "fp8", 8, quantized="ffn")
    r0 = ideal.solve("Llama3_405B", "H100", 4096, 1, "fp8", 8)
    assert r.raw["t_pre_compute"] / r0.raw["t_pre_compute"] == pytest.approx(mix * 1979e12, rel=2e-3)


def test_sixteen_bit_precisions_ignore_the_scope():
    a = ServingSolver().solve("Llama3_70B", "H100", 1024, 4, "bf16", 4)
    b = ServingSolver().solve("Llama3_70B", "H100", 1024, 4, "bf16", 4, quantized="ffn")
    assert (a.weights_bytes, a.ttft_s, a.itl_s) == (b.weights_bytes, b.ttft_s, b.itl_s)


def test_load_pool_loses_exactly_the_extra_weights():
    kw = dict(precision="fp8", tensor_parallel=8, kv_precision="bf16", engine="vllm", arrival_rate=1.0,
              n_requests=20, input_tokens=128, output_tokens=16)
    r_all = LoadSolver().solve("Llama3_405B", "H100", **kw)
    r_ffn = LoadSolver().solve("Llama3_405B", "H100", quantized="ffn", **kw)
    extra = (P_405B - FP8_FFN) * 1.0 / 8  # one more byte per unquantised weight, per GPU
    block = 16 * 2 * L * 1 * 128 * 2  # one 16-token block of bf16 KV per GPU (8 KV heads over 8 GPUs)
    assert r_all.raw["kv_pool"] - r_ffn.raw["kv_pool"] == pytest.approx(extra, abs=block)
    assert r_ffn.quantized == "ffn" and r_all.quantized == "all"
    # reading 20 % more weight bytes per decode step: a lone request's ITL grows
    assert r_ffn.raw["itl_p50"] > r_all.raw["itl_p50"]


@pytest.mark.parametrize("bad", ["attention", "", 3, None])
def test_bad_scope_names_the_field(bad):
    with pytest.raises(ValidationError) as e:
        ServingSolver().solve("Llama3_8B", "H100", 1024, 1, "fp8", quantized=bad)
    assert e.value.field == "quantized"
    assert "'all', 'linear', 'ffn'" in str(e.value)
    with pytest.raises(ValidationError):
        LoadSolver().analytic("Llama3_8B", "H100", 1.0, precision="fp8", quantized=bad)


def test_cli_takes_and_reports_the_scope(capsys):
    from mlsyslab.cli import main

    serve = ["serve", "--model", "Llama3_405B", "--hardware", "H100", "--precision", "fp8", "--kv-precision", "bf16",
             "--tp", "8"]
    assert main(serve + ["--quantized", "ffn", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quantized"] == "ffn"
    assert out["weights_GB"] == pytest.approx((FP8_FFN + (P_405B - FP8_FFN) * 2.0) / 8 / 1e9, rel=1e-9)
    assert main(serve + ["--quantized", "ffn"]) == 0
    assert "fp8 (ffn weights; the rest 16-bit)" in capsys.readouterr().out
    load = ["load", "--model", "Llama3_8B", "--hardware", "H100", "--precision", "fp8", "--rate", "2",
            "--requests", "20", "--quantized", "linear", "--json"]
    assert main(load) == 0
    assert json.loads(capsys.readouterr().out)["quantized"] == "linear"


def test_scenarios_and_config_files_take_the_scope():
    from mlsyslab import Scenario
    from mlsyslab.config import ConfigError, SimulationConfig

    s = Scenario("Llama3_405B", "H100", precision="fp8", kv_precision="bf16", tensor_parallel=8, quantized="ffn")
    assert s.inputs()["quantized"] == "ffn"
    card = s.evaluate()
    weights = next(m for lvl in card.levels for m in lvl.metrics if m.name == "weights")
    assert weights.value == pytest.approx((FP8_FFN + (P_405B - FP8_FFN) * 2.0) / 8 / 1e9, rel=1e-9)
    cfg = SimulationConfig.from_dict({"scenarios": [{"model": "Llama3_405B", "hardware": "H100", "precision": "fp8",
                                                     "tensor_parallel": 8, "quantized": "ffn"}]})
    assert cfg.scenarios[0].quantized == "ffn"
    with pytest.raises(ConfigError) as e:
        SimulationConfig.from_dict({"scenarios": [{"model": "Llama3_8B", "hardware": "H100", "quantized": "attn"}]})
    assert [x.path for x in e.value.errors] == ["scenarios[0].quantized"]
