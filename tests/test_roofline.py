"""Roofline engine: hand calculations written out, every zoo workload, plotting data, errors."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import mlsyslab as ml
from mlsyslab.errors import OOMError, UnknownNameError, ValidationError


def test_resnet50_counts_4_09_g_macs_and_8_18_gflops():
    # He et al. quote "3.8 x 10^9 FLOPs"; torchvision and most papers "4.1 GFLOPs" = 4.09 G
    # multiply-accumulates. One MAC is two FLOPs, so a 224x224 image costs 2 x 4.09e9 = 8.18e9 FLOPs.
    m = ml.Models.ResNet50
    assert m.macs_per_inference == pytest.approx(4.09e9)
    r = ml.Engine.solve("ResNet50", "A100", batch_size=1)
    assert r.flops.to("GFLOP").magnitude == pytest.approx(8.18)
    assert r.macs.to("GMAC").magnitude == pytest.approx(4.09)
    assert r.macs.to("GFLOP").magnitude == pytest.approx(8.18)  # a MAC is 2 FLOPs: same work, same quantity
    assert f"{r.macs:~.2f}" == "4.09 GMAC"
    assert ml.Engine.solve("ResNet50", "A100", batch_size=32).flops.to("GFLOP").magnitude == pytest.approx(32 * 8.18)


def test_resnet50_memory_bound_at_batch_1_and_compute_bound_at_batch_8_on_a100():
    # A100 SXM 80GB: 312 TFLOP/s fp16 dense, 2039 GB/s -> ridge = 312e12 / 2039e9 = 153.0 FLOP/B.
    ridge = 312e12 / 2039e9
    # fp16 bytes: weights 25.557e6 params x 2 B = 51.114 MB; activations 11.2e6 values x 2 B = 22.4 MB per image.
    bytes_b1 = 25.557e6 * 2 + 11.2e6 * 2
    intensity_b1 = 8.18e9 / bytes_b1  # = 111.3 FLOP/B < 153 -> memory-bound
    r1 = ml.Engine.solve("ResNet50", "A100", batch_size=1, precision="fp16")
    assert r1.ridge_point.magnitude == pytest.approx(ridge)
    assert r1.memory_bytes.to("B").magnitude == pytest.approx(bytes_b1)
    assert r1.arithmetic_intensity.magnitude == pytest.approx(intensity_b1)
    assert intensity_b1 < ridge and r1.bound == "memory"
    assert r1.latency.to("s").magnitude == pytest.approx(bytes_b1 / 2039e9)
    assert r1.throughput.magnitude == pytest.approx(2039e9 / bytes_b1)

    bytes_b8 = 25.557e6 * 2 + 8 * 11.2e6 * 2
    intensity_b8 = 8 * 8.18e9 / bytes_b8  # = 284.1 FLOP/B > 153 -> compute-bound
    r8 = ml.Engine.solve("ResNet50", "A100", batch_size=8)
    assert r8.arithmetic_intensity.magnitude == pytest.approx(intensity_b8)
    assert intensity_b8 > ridge and r8.bound == "compute"
    assert r8.latency.to("s").magnitude == pytest.approx(8 * 8.18e9 / 312e12)
    assert r8.utilization == pytest.approx(1.0)
    # the seed's field names; energy at TDP: 400 W x latency
    assert r1.bottleneck == "Memory Bound" and r8.bottleneck == "Compute Bound"
    assert r1.latency_memory.magnitude == pytest.approx(r1.latency.magnitude)
    assert r1.memory_footprint.to("B").magnitude == pytest.approx(bytes_b1)
    assert r8.energy.to("J").magnitude == pytest.approx(400 * 8 * 8.18e9 / 312e12)


def test_same_resnet50_batch_is_memory_bound_on_h100_with_its_higher_ridge():
    # H100 SXM: 989.5 TFLOP/s / 3.35 TB/s = 295.4 FLOP/B, above ResNet-50's batch-8 intensity of 284.1.
    r = ml.Engine.solve("ResNet50", "H100", batch_size=8)
    assert r.ridge_point.magnitude == pytest.approx(989.5e12 / 3.35e12)
    assert r.bound == "memory"


def test_transformer_prefill_flops_bytes_and_default_seq_len():
    m = ml.Models.Llama3_8B
    P, L, a, d = m.n_parameters, 32, 32 * 128, 4096
    S = 2048  # default: min(max_seq_len, 2048)
    r = ml.Engine.solve("Llama3_8B", "H100")
    assert r.seq_len == S
    assert r.flops.to("FLOP").magnitude == pytest.approx(2 * P * S + 2 * L * S ** 2 * a)
    kv = 2 * L * 8 * 128 * S * 2  # K and V, 8 KV heads x 128, fp16
    assert r.memory_bytes.to("B").magnitude == pytest.approx(P * 2 + kv + 2 * L * S * d * 2)
    assert r.bound == "compute"
    assert ml.Engine.solve("BERT_Base", "H100").seq_len == 512  # capped at its max_seq_len
    assert ml.Engine.solve("GPT2", "H100", seq_len=128).flops.to("FLOP").magnitude == pytest.approx(
        2 * ml.Models.GPT2.n_parameters * 128 + 2 * 12 * 128 ** 2 * 768)


def test_encoder_attention_is_bidirectional_by_hand():
    # Encoders (BERT, ViT) have no causal mask: QK^T (2 S^2 a) and AV (2 S^2 a) per layer in full.
    # BERT-base, S = 512: F = 2 P S + 4 x 12 x 512^2 x 768.
    m = ml.Models.BERT_Base
    r = ml.Engine.solve("BERT_Base", "H100", seq_len=512)
    assert r.flops.to("FLOP").magnitude == pytest.approx(2 * m.n_parameters * 512 + 4 * 12 * 512 ** 2 * 768)
    # ViT-B/16 at 197 tokens: 2 x 86.57e6 x 197 + 4 x 12 x 197^2 x 768 = 35.54 GFLOP, within 2 % of
    # the published 2 x 17.56 G MACs = 35.12 GFLOP (torchvision).
    v = ml.Engine.solve("ViT_B16", "H100")
    hand = 2 * ml.Models.ViT_B16.n_parameters * 197 + 4 * 12 * 197 ** 2 * 768
    assert v.flops.to("FLOP").magnitude == pytest.approx(hand)
    assert hand == pytest.approx(2 * 17.56e9, rel=0.02)


def test_tinyml_keyword_spotting_on_a_microcontroller_by_hand():
    # STM32H743: 1.92 GOP/s int8, 1.92 GB/s SRAM -> ridge 1 OP/B. DS-CNN: 2.7 M MACs = 5.4 MOP;
    # int8 bytes: 38.6e3 weights + 4 x 64 x 25 x 5 x 2 / 4 = 16e3 activation bytes.
    r = ml.Engine.solve("KWS_DSCNN", "STM32H7", precision="int8")
    assert r.memory_bytes.to("B").magnitude == pytest.approx(38.6e3 + 16e3)
    assert r.bound == "compute"
    assert r.latency.to("ms").magnitude == pytest.approx(5.4e6 / 1.92e9 * 1e3)
    assert r.feasible  # 54.6 kB in 1 MiB of SRAM


def test_dlrm_is_memory_bound_near_one_flop_per_byte():
    # MLPerf DLRM-DCNv2 dense part, one MAC per weight: bottom MLP 13-512-256-128, three low-rank (512)
    # cross layers on 27 x 128 = 3456 inputs (V: 3456x512, W: 512x3456), top MLP 3456-1024-1024-512-256-1.
    bottom = 13 * 512 + 512 * 256 + 256 * 128                              # 170,496
    cross = 3 * 2 * 3456 * 512                                             # 10,616,832
    top = 3456 * 1024 + 1024 * 1024 + 1024 * 512 + 512 * 256 + 256 * 1     # 5,243,136
    macs = bottom + cross + top                                            # 16.03 M
    assert ml.Models.DLRM.macs_per_inference == pytest.approx(macs, rel=1e-3)
    # Each of those weights is read once per sample (2 FLOPs, 2 bytes in fp16).
    r = ml.Engine.solve("DLRM", "H100", batch_size=1)
    assert r.arithmetic_intensity.magnitude == pytest.approx(2 * macs / (macs * 2 + 13 * 128 * 2 * 4 * 2 / 4), rel=1e-3)
    assert r.bound == "memory"
    assert r.memory_required.to("GB").magnitude == pytest.approx(23.8e9 * 2 / 1e9, rel=1e-3)  # tables resident


@pytest.mark.parametrize("model", [m.key for m in ml.Models])
def test_every_zoo_model_solves_on_h100(model):
    r = ml.Engine.solve(model, "H100", batch_size=2)
    for field in ("flops", "memory_bytes", "arithmetic_intensity", "latency", "throughput", "memory_required"):
        v = r[field].magnitude
        assert math.isfinite(v) and v > 0, field
    assert r.bound in ("compute", "memory")
    assert 0 < r.utilization <= 1 + 1e-12
    assert r.latency.to("s").magnitude == pytest.approx(
        max(r.compute_time.to("s").magnitude, r.memory_time.to("s").magnitude))


def test_calibrated_divides_by_the_fitted_efficiencies():
    from mlsyslab.calibration import calibrated

    cal = calibrated()
    ideal = ml.Engine.solve("ResNet50", "A100", efficiency="ideal")
    calib = ml.Engine.solve("ResNet50", "A100", efficiency="calibrated")
    assert calib.memory_time.magnitude == pytest.approx(ideal.memory_time.magnitude / cal.eta_memory)
    assert calib.compute_time.magnitude == pytest.approx(ideal.compute_time.magnitude / cal.eta_compute_16)


def test_calibrated_bound_is_the_term_that_sets_latency():
    # ResNet-50, batch 8, H100 fp16: I = 8 x 8.18e9 / (25.557e6 x 2 + 8 x 11.2e6 x 2) = 284.1 FLOP/B, just
    # under the datasheet ridge 989.5 / 3.35 = 295.4. Calibrated, the compute term is divided by eta_c and
    # the memory term by eta_m, so compute takes longer: the bound must be the one that sets the latency.
    from mlsyslab.calibration import calibrated

    cal = calibrated()
    F, M = 8 * 8.18e9, 25.557e6 * 2 + 8 * 11.2e6 * 2
    t_c, t_m = F / (989.5e12 * cal.eta_compute_16), M / (3.35e12 * cal.eta_memory)
    assert F / M < 989.5 / 3.35 and t_c > t_m  # below the ridge, yet compute-limited once calibrated
    r = ml.Engine.solve("ResNet50", "H100", batch_size=8, efficiency="calibrated")
    assert r.latency.to("s").magnitude == pytest.approx(t_c)
    assert r.bound == "compute" and r.bottleneck == "Compute Bound"
    assert ml.Engine.solve("ResNet50", "H100", batch_size=8).bound == "memory"  # ideal: I < ridge


def test_oom_strict_names_the_figures():
    r = ml.Engine.solve("Llama3_70B", "H100")
    assert not r.feasible
    with pytest.raises(OOMError) as e:
        ml.Engine.solve("Llama3_70B", "H100", strict=True)
    msg = str(e.value)
    assert "Llama3_70B" in msg and "H100" in msg and "GB" in msg
    assert e.value.required_bytes > e.value.capacity_bytes == 80 * 2 ** 30


def test_roofline_data_for_plotting():
    rf = ml.roofline("H100", "fp16")
    assert rf.peak.to("TFLOP/s").magnitude == pytest.approx(989.5)
    assert rf.bandwidth.to("TB/s").magnitude == pytest.approx(3.35)
    assert rf.ridge_point.magnitude == pytest.approx(989.5 / 3.35)
    assert rf.intensity.shape == rf.attainable_flops.shape and rf.intensity.size > 50
    custom = ml.roofline("H100", intensity=[10, 1000])
    # below the ridge: 10 FLOP/B x 3.35e12 B/s = 33.5 TFLOP/s; above: the 989.5 TFLOP/s peak
    assert custom.attainable.to("TFLOP/s").magnitude == pytest.approx([33.5, 989.5])
    assert set(rf.ceilings) == set(ml.Hardware.H100.peak_flops)
    p = rf.point("ResNet50")
    assert p.bound == "memory" and p.attainable.magnitude < rf.peak.magnitude
    # int8 runs at the int8 peak
    assert ml.roofline("H100", "int8").peak.to("TFLOP/s").magnitude == pytest.approx(1979)


@pytest.mark.parametrize("kwargs, field", [
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=1.5), "batch_size"),
    (dict(precision="fp12"), "precision"),
    (dict(efficiency="perfect"), "efficiency"),
    (dict(seq_len=-3), "seq_len"),
])
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValidationError) as e:
        ml.Engine.solve("Llama3_8B", "H100", **kwargs)
    assert e.value.field == field and field in str(e.value)


def test_unknown_names_suggest():
    with pytest.raises(UnknownNameError, match="Did you mean"):
        ml.Engine.solve("ResNet5O", "H100")
    with pytest.raises(UnknownNameError, match="H100"):
        ml.roofline("H10O")
    with pytest.raises(ValidationError, match="intensity"):
        ml.roofline("H100", intensity=[1, -2])


def test_hello_world_example_runs_and_prints_the_hand_figures(repo_root):
    out = subprocess.run([sys.executable, str(repo_root / "examples" / "hello_world.py")], capture_output=True,
                         text=True, timeout=120, cwd=repo_root)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert "4.09 G MACs" in out.stdout and "8.18 GFLOP" in out.stdout
    assert "memory-bound" in out.stdout and "compute-bound" in out.stdout
    assert "153.0 FLOP/B" in out.stdout  # A100 ridge point


@pytest.mark.parametrize("hardware", [h.key for h in ml.Hardware])
def test_every_device_gives_a_consistent_roofline(hardware):
    hw = ml.Hardware.get(hardware)
    for model in ("ResNet50", "KWS_DSCNN", "Llama3_8B"):
        r = ml.Engine.solve(model, hw, precision=hw.headline_precision)
        # ridge = peak / bandwidth of the device's own datasheet figures
        assert r.ridge_point.magnitude == pytest.approx(hw.peak_flops[r.compute_precision] / hw.memory_bandwidth_Bps)
        assert r.bound == ("compute" if r.arithmetic_intensity.magnitude >= r.ridge_point.magnitude else "memory")
        assert r.feasible == (r.memory_required.to("B").magnitude <= hw.memory_bytes)
