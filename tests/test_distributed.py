"""DistributedSolver against hand calculations: collectives, bubble, ZeRO memory, step time."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import mlsyslab as ml
from mlsyslab.errors import OOMError, ValidationError
from mlsyslab.solvers.distributed import pipeline_bubble, ring_allgather_time, ring_allreduce_time

solver = ml.DistributedSolver(efficiency="ideal")
P70 = ml.Models.Llama3_70B.n_parameters


def test_ring_allreduce_1_GB_over_8_gpus_at_900_GBps():
    # 2 (N-1)/N x bytes / BW + latency = 2 x 7/8 x 1e9 / 900e9 s + 8 us = 1.944 ms + 0.008 ms
    hand = 2 * 7 / 8 * 1e9 / 900e9 + 8e-6
    assert ring_allreduce_time(1e9, 8, 900e9, 8e-6) == pytest.approx(hand)
    assert hand == pytest.approx(1.9524e-3, rel=1e-4)
    assert ring_allreduce_time(1e9, 1, 900e9, 8e-6) == 0.0  # nothing to reduce on one GPU
    assert ring_allgather_time(1e9, 8, 900e9) == pytest.approx(7 / 8 * 1e9 / 900e9)
    # vectorised over group sizes; tends to 2 x bytes / BW for large N
    t = ring_allreduce_time(1e9, np.array([2, 4, 1024]), 100e9)
    assert t == pytest.approx([1 * 1e9 / 100e9, 1.5 * 1e9 / 100e9, 2 * 1023 / 1024 * 1e9 / 100e9])


def test_pipeline_bubble_p4_m8_is_3_over_11():
    assert pipeline_bubble(4, 8) == pytest.approx(3 / 11)
    r = solver.solve("Llama3_8B", "DGX_H100_SU", tp=1, pp=4, dp=1, microbatches=8, seq_len=2048)
    assert r.bubble_fraction == pytest.approx(3 / 11)
    # the pipelined compute takes (m + p - 1) / m = 11/8 of the bubble-free compute
    assert r.compute_time.magnitude == pytest.approx(r.ideal_compute_time.magnitude * 11 / 8)
    assert solver.solve("Llama3_8B", "H100", pp=1).bubble_fraction == 0.0


def test_llama3_70b_mixed_precision_adam_is_16_bytes_per_parameter():
    # published 70.55e9 parameters x (2 weights + 2 gradients + 4 master + 4 m + 4 v) = 1.129 TB
    assert P70 == pytest.approx(70.55e9, rel=1e-3)
    r = solver.solve("Llama3_70B", "H100", precision="bf16", optimizer="adam")
    states = r.weights_memory + r.gradients_memory + r.optimizer_memory
    assert states.to("TB").magnitude == pytest.approx(16 * 70.55e9 / 1e12, rel=1e-3)
    assert states.to("TB").magnitude == pytest.approx(1.129, rel=1e-3)
    assert r.weights_memory.to("GB").magnitude == pytest.approx(2 * P70 / 1e9)
    assert r.optimizer_memory.to("GB").magnitude == pytest.approx(12 * P70 / 1e9)
    assert not r.feasible


@pytest.mark.parametrize("stage, bytes_per_param", [
    (0, lambda N: 2 + 2 + 12),          # nothing sharded
    (1, lambda N: 2 + 2 + 12 / N),      # optimizer state sharded
    (2, lambda N: 2 + (2 + 12) / N),    # + gradients
    (3, lambda N: 16 / N),              # + weights
])
def test_zero_stages_shard_llama3_70b_over_64_gpus(stage, bytes_per_param):
    N = 64
    r = solver.solve("Llama3_70B", "DGX_H100_SU", n_gpus=N, zero_stage=stage, seq_len=2048, recompute=True)
    assert r.dp == N
    states = (r.weights_memory + r.gradients_memory + r.optimizer_memory).to("B").magnitude
    assert states == pytest.approx(bytes_per_param(N) * P70)
    # e.g. ZeRO-3: 16 x 70.55e9 / 64 = 17.6 GB per GPU
    if stage == 3:
        assert states / 1e9 == pytest.approx(16 * 70.55e9 / 64 / 1e9, rel=1e-3)


def test_activation_memory_with_and_without_recomputation():
    # Llama3_8B, S = 4096, b = 1, d = 4096, 32 layers, 16-bit (Korthikanti et al. 2022)
    S, b, d, L, heads = 4096, 1, 4096, 32, 32
    kw = dict(seq_len=S, microbatch_size=b)
    full = solver.solve("Llama3_8B", "H100", recompute=False, flash_attention=True, **kw)
    assert full.activations_memory.to("B").magnitude == pytest.approx(S * b * d * (10 + 24) * L)
    scores = solver.solve("Llama3_8B", "H100", recompute=False, flash_attention=False, **kw)
    assert scores.activations_memory.to("B").magnitude == pytest.approx(S * b * d * (34 + 5 * heads * S / d) * L)
    rc = solver.solve("Llama3_8B", "H100", recompute=True, **kw)
    assert rc.activations_memory.to("B").magnitude == pytest.approx(2 * S * b * d * L)
    # tensor parallelism divides the 24 and the attention-score terms
    tp = solver.solve("Llama3_8B", "DGX_H100", tp=8, flash_attention=False, **kw)
    assert tp.activations_memory.to("B").magnitude == pytest.approx(S * b * d * (10 + 24 / 8 + 5 * heads * S / (d * 8)) * L)
    # recomputation costs one extra forward: hardware FLOPs 4/3 of model FLOPs
    assert rc.hfu / rc.mfu == pytest.approx(4 / 3)


def test_single_gpu_ideal_step_is_pure_compute_by_hand():
    m = ml.Models.GPT2
    S, B = 1024, 8
    f = 2 * m.n_parameters * S + 2 * 12 * S ** 2 * 768  # forward FLOPs per sequence
    r = solver.solve("GPT2", "H100", microbatch_size=B, seq_len=S)
    assert r.step_time.to("s").magnitude == pytest.approx(3 * f * B / 989.5e12)
    assert r.comm_time.magnitude == 0 and r.mfu == pytest.approx(1.0) and r.scaling_efficiency == pytest.approx(1.0)
    assert r.tokens_per_second.magnitude == pytest.approx(B * S / r.step_time.magnitude)
    assert r.time_to_train(1e9).to("s").magnitude == pytest.approx(1e9 / r.tokens_per_second.magnitude)


def test_encoder_attention_is_bidirectional_by_hand():
    # BERT-base attends both ways: QK^T and AV each cost 2 S^2 a per layer, no causal half-mask:
    # f = 2 P S + 4 L S^2 a with L = 12, a = 12 x 64 = 768.
    m = ml.Models.BERT_Base
    S, B = 512, 32
    f = 2 * m.n_parameters * S + 4 * 12 * S ** 2 * 768
    r = solver.solve("BERT_Base", "H100", microbatch_size=B, seq_len=S)
    assert r.flops_per_step.to("FLOP").magnitude == pytest.approx(3 * f * B)
    assert r.step_time.to("s").magnitude == pytest.approx(3 * f * B / 989.5e12)


def test_data_parallel_allreduce_inside_a_dgx_and_across_nodes_by_hand():
    P = ml.Models.GPT2.n_parameters
    intra = solver.solve("GPT2", "DGX_H100_SU", n_gpus=8, microbatch_size=8, seq_len=1024)
    # 8 ranks on NVSwitch: 450 GB/s per direction, 8 us; bf16 gradients 2 B/param
    assert intra.dp_comm_time.to("s").magnitude == pytest.approx(2 * 7 / 8 * 2 * P / 450e9 + 8e-6)
    inter = solver.solve("GPT2", "DGX_H100_SU", n_gpus=16, microbatch_size=8, seq_len=1024)
    # 16 ranks span two nodes: each GPU's NDR NIC, 50 GB/s per direction, 5 us
    assert inter.dp_comm_time.to("s").magnitude == pytest.approx(2 * 15 / 16 * 2 * P / 50e9 + 5e-6)
    assert inter.scaling_efficiency < intra.scaling_efficiency
    z3 = solver.solve("GPT2", "DGX_H100_SU", n_gpus=8, microbatch_size=8, seq_len=1024, zero_stage=3)
    # ZeRO-3: reduce-scatter + 2 all-gathers = 3 (N-1)/N x bytes / BW + 3 latencies
    assert z3.dp_comm_time.to("s").magnitude == pytest.approx(3 * 7 / 8 * 2 * P / 450e9 + 3 * 8e-6)


def test_tensor_and_pipeline_communication_by_hand():
    S, b, m, d, L = 2048, 1, 4, 8192, 80
    msg = b * S * d * 2  # activations of one microbatch, bf16
    r = solver.solve("Llama3_70B", "DGX_H100_SU", tp=8, pp=4, dp=1, microbatches=m, seq_len=S)
    # 4 all-reduces per layer per microbatch, L/pp = 20 layers per stage, over NVSwitch
    assert r.tp_comm_time.magnitude == pytest.approx(m * (L / 4) * 4 * (2 * 7 / 8 * msg / 450e9 + 8e-6))
    # pipeline stages sit on different nodes (tp x dp = 8 per node): one send each way per microbatch
    assert r.pp_comm_time.magnitude == pytest.approx(2 * m * (msg / 50e9 + 5e-6))
    assert r.step_time.magnitude == pytest.approx(
        r.compute_time.magnitude + r.tp_comm_time.magnitude + r.pp_comm_time.magnitude)


def test_calibrated_is_slower_than_ideal():
    kw = dict(n_gpus=64, tp=8, microbatches=4, seq_len=4096)
    ideal = ml.DistributedSolver("ideal").solve("Llama3_8B", "DGX_H100_SU", **kw)
    cal = ml.DistributedSolver().solve("Llama3_8B", "DGX_H100_SU", **kw)
    assert cal.efficiency == "calibrated"
    assert cal.step_time.magnitude > ideal.step_time.magnitude and cal.mfu < ideal.mfu


def test_scaling_curve_weak_scaling():
    curve = solver.scaling_curve("Llama3_8B", "DGX_H100_SU", [8, 16, 64, 256], tp=8, microbatches=8, seq_len=4096)
    assert list(curve.n_gpus) == [8, 16, 64, 256]
    assert np.all(np.diff(curve.tokens_per_second.magnitude) > 0)
    assert np.all((curve.scaling_efficiency > 0) & (curve.scaling_efficiency <= 1))
    assert curve.speedup[0] == 1.0 and curve.speedup[-1] < 32 + 1e-9
    r = solver.solve("Llama3_8B", "DGX_H100_SU", n_gpus=8, tp=8, microbatches=8, seq_len=4096)
    again = r.scaling_curve([8, 32])
    assert again.results[0].step_time.magnitude == pytest.approx(r.step_time.magnitude)
    assert len(curve.to_records()) == 4


def test_oom_strict_names_the_figures():
    with pytest.raises(OOMError) as e:
        solver.solve("Llama3_70B", "H100", strict=True)
    msg = str(e.value)
    assert "Llama3_70B" in msg and "ZeRO-0" in msg and "optimizer" in msg and "over by" in msg
    # 16 B/param of states + activations S b d (10 + 24) L = 2048 x 1 x 8192 x 34 x 80 (flash attention, default)
    assert e.value.required_bytes == pytest.approx(16 * P70 + 2048 * 8192 * 34 * 80)
    assert e.value.capacity_bytes == 80 * 2 ** 30 and e.value.overflow_bytes > 1e12


def test_cnn_data_parallel_and_other_systems():
    r = solver.solve("ResNet50", "DGX_A100", n_gpus=8, microbatch_size=64, precision="fp16")
    assert r.samples_per_second.magnitude == pytest.approx(8 * 64 / r.step_time.magnitude)
    assert r.feasible
    c = ml.Systems.cluster("HGX_B200", 2)
    assert solver.solve("Llama3_8B", c, n_gpus=16, tp=8).n_gpus == 16


@pytest.mark.parametrize("kwargs, field", [
    (dict(n_gpus=12, tp=8), "n_gpus"),
    (dict(n_gpus=16, dp=4), "n_gpus"),
    (dict(tp=3), "tp"),
    (dict(zero_stage=4), "zero_stage"),
    (dict(global_batch_size=10, microbatch_size=4), "global_batch_size"),
    (dict(n_gpus=512), "n_gpus"),
    (dict(optimizer="lion"), "optimizer"),
    (dict(precision="fp7"), "precision"),
    (dict(pp=200), "pp"),
    (dict(microbatch_size=0), "microbatch_size"),
])
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValidationError) as e:
        solver.solve("Llama3_70B", "DGX_H100_SU", **kwargs)
    assert e.value.field == field and field in str(e.value)


def test_unknown_cluster_and_cnn_tensor_parallel_rejected():
    with pytest.raises(ValidationError, match="Did you mean"):
        solver.solve("GPT2", "DGX_H10")
    with pytest.raises(ValidationError) as e:
        solver.solve("ResNet50", "DGX_A100", tp=2)
    assert e.value.field == "tp"


def test_distributed_example_runs(repo_root):
    out = subprocess.run([sys.executable, str(repo_root / "examples" / "distributed_training.py")],
                         capture_output=True, text=True, timeout=120, cwd=repo_root)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert "1.129 TB" in out.stdout          # Llama3_70B Adam states
    assert "bubble 27.3%" in out.stdout      # 3/11
    assert "1.952 ms" in out.stdout          # 1 GB ring all-reduce over 8 GPUs at 900 GB/s + 8 us
    assert "3.897 ms" in out.stdout          # same at 450 GB/s per direction (H100 NVLink 4): 2*7/8*1e9/450e9 + 8e-6


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(tp=st.sampled_from([1, 2, 4, 8]), pp=st.sampled_from([1, 2, 4, 8]), dp=st.integers(1, 64),
       m=st.integers(1, 32), b=st.integers(1, 4), zero=st.integers(0, 3), recompute=st.booleans())
def test_any_valid_config_obeys_the_formulas(tp, pp, dp, m, b, zero, recompute):
    r = solver.solve("Llama3_70B", "Meta_IB_24K", dp=dp, tp=tp, pp=pp, microbatches=m, microbatch_size=b,
                     seq_len=2048, zero_stage=zero, recompute=recompute)
    shard = P70 / (tp * pp)
    states = shard * (2 / (dp if zero >= 3 else 1) + 2 / (dp if zero >= 2 else 1) + 12 / (dp if zero >= 1 else 1))
    got = (r.weights_memory + r.gradients_memory + r.optimizer_memory).to("B").magnitude
    assert got == pytest.approx(states)
    assert r.bubble_fraction == pytest.approx((pp - 1) / (m + pp - 1))
    assert r.step_time.magnitude == pytest.approx(r.compute_time.magnitude + r.dp_comm_time.magnitude
                                                  + r.tp_comm_time.magnitude + r.pp_comm_time.magnitude)
    assert 0 < r.mfu <= 1 + 1e-12 and 0 < r.scaling_efficiency <= 1 + 1e-12
    assert r.global_batch_size == dp * b * m and r.n_gpus == dp * tp * pp
    if zero < 3:
        more = solver.solve("Llama3_70B", "Meta_IB_24K", dp=dp, tp=tp, pp=pp, microbatches=m, microbatch_size=b,
                            seq_len=2048, zero_stage=zero + 1, recompute=recompute)
        assert more.memory_per_gpu.magnitude <= r.memory_per_gpu.magnitude + 1e-9


def test_sequence_parallel_divides_all_activation_terms():
    S, b, d, L = 4096, 1, 4096, 32
    r = solver.solve("Llama3_8B", "DGX_H100", tp=8, seq_len=S, sequence_parallel=True)
    assert r.activations_memory.to("B").magnitude == pytest.approx(S * b * d * 34 / 8 * L)
    rc = solver.solve("Llama3_8B", "DGX_H100", tp=8, seq_len=S, sequence_parallel=True, recompute=True)
    assert rc.activations_memory.to("B").magnitude == pytest.approx(2 * S * b * d / 8 * L)


def test_gpt3_175b_on_1024_a100_against_megatron_lm_measurement():
    # Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using
    # Megatron-LM" (SC21), Table 1: GPT-3 175B, tp=8, pp=8, 1024 A100, batch 1536, seq 2048,
    # activation recomputation: 140 TFLOP/s per GPU (hardware FLOPs, recompute included) = 45 % of 312.
    cluster = ml.Systems.cluster("DGX_A100", 128)
    kw = dict(tp=8, pp=8, dp=16, global_batch_size=1536, seq_len=2048, recompute=True)
    cal = ml.DistributedSolver("calibrated").solve("GPT3_175B", cluster, **kw)
    ideal = ml.DistributedSolver("ideal").solve("GPT3_175B", cluster, **kw)
    assert cal.feasible
    achieved = cal.hfu * 312  # TFLOP/s per GPU
    assert achieved == pytest.approx(140, rel=0.25)
    assert ideal.hfu * 312 > 140  # the pure roofline is an upper bound
