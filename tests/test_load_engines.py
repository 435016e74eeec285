"""Engine profiles of the load simulator, mixed steps and admission, against figures worked out here.

Published figures used: Llama-3-8B (32 layers, a = 4096, 8 KV heads x 128, P = 8.030 B from its
architecture, 131 072-token context of Llama 3.1), H100 SXM (80 GiB, 3.35 TB/s, 989.5 TFLOP/s
fp16, 1979 TFLOP/s fp8 dense), A100 40GB (40 GiB, 1.555 TB/s, 312 TFLOP/s fp16); the engines'
defaults as mlsyslab/solvers/load_engines.py cites them (vLLM V1: 1024 seats and 8192 tokens
per step on >= 70 GiB devices other than A100, else 256 and 2048; SGLang v0.5.3: memory fraction from
the memory it reserves (0.836 on H100 at TP 1), 1-token pages, seats from the pool; TensorRT-LLM: 0.9
of the memory the weights and activations leave, 32-token blocks, 2048 seats, never evicts).
Calibrated constants: mlsyslab/calibration/fitted.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mlsyslab import LoadSolver, ValidationError

GiB = 2 ** 30
P = 8.030261248e9
L, A = 32, 4096
KV16 = 2 * L * 8 * 128 * 2.0  # bytes per token, fp16 KV
KV8 = KV16 / 2
H100_CAP, H100_BW, H100_16, H100_8 = 80 * GiB, 3.35e12, 989.5e12, 1979e12
A100_40_CAP, A100_BW, A100_16 = 40 * GiB, 1.555e12, 312e12
CAL = json.loads((Path(__file__).parents[1] / "mlsyslab/calibration/fitted.json").read_text())
# the load model's own decode constants (fixed time per layer, sequences paying the per-sequence overhead)
LOAD = json.loads((Path(__file__).parents[1] / "mlsyslab/calibration/load_fitted.json").read_text())["constants"]
OV_DEC, SEQ_CAP = LOAD["load_layer_overhead_decode_s"], LOAD["load_token_overhead_batch"]
KV_EFF = LOAD["load_kv_read_efficiency"]  # share of the streaming bandwidth the KV-cache reads reach


def test_unknown_engine_is_one_line_naming_the_allowed():
    for call in (lambda: LoadSolver(engine="tgi"),
                 lambda: LoadSolver().solve("Llama3_8B", "H100", arrival_rate=1.0, n_requests=5, engine="tgi"),
                 lambda: LoadSolver().analytic("Llama3_8B", "H100", 1.0, engine="tgi")):
        with pytest.raises(ValidationError) as info:
            call()
        msg = str(info.value)
        assert msg.count("\n") == 0 and info.value.field == "engine" and "'tgi'" in msg
        assert all(name in msg for name in ("vllm", "vllm-v0", "sglang", "trtllm"))


def test_profile_defaults_and_the_result_field():
    kw = dict(arrival_rate=2.0, input_tokens=256, output_tokens=16, n_requests=20)
    r = LoadSolver().solve("Llama3_8B", "H100", **kw)  # default: vLLM V1
    assert (r.engine, r.max_num_seqs, r.max_batched_tokens, r.block_size, r.chunked_prefill) == ("vllm", 1024, 8192, 16,
                                                                                                 True)
    r = LoadSolver().solve("Llama3_8B", "A100_40GB", **kw)  # < 70 GiB: vLLM's small defaults
    assert (r.max_num_seqs, r.max_batched_tokens) == (256, 2048)
    r = LoadSolver(engine="vllm-v0").solve("Llama3_8B", "H100", **kw)
    assert (r.engine, r.max_num_seqs, r.max_batched_tokens, r.chunked_prefill) == ("vllm-v0", 256, 8192, False)
    # engine= on solve() overrides the solver's; a keyword overrides the profile
    r = LoadSolver(engine="vllm-v0").solve("Llama3_8B", "H100", engine="trtllm", max_num_seqs=64, **kw)
    assert (r.engine, r.max_num_seqs, r.block_size, r.chunked_prefill) == ("trtllm", 64, 32, True)
    assert "trtllm" in repr(r)


def test_kv_pools_and_seats_by_hand():
    """Calibrated pools lose the activation memory each engine profiles at start-up (load_engines.runtime_bytes),
    worked out here for Llama-3-8B (h = 4096, gated FFN of 14 336, vocabulary 128 256) with bf16 activations."""
    kw = dict(arrival_rate=1.0, input_tokens=128, output_tokens=8, n_requests=5, precision="fp8")
    W8 = P * 1.0
    H, I, V = 4096, 14336, 128256
    fwd_8192 = 8192 * 2 * (3 * H + 3 * I)  # residual + normed input + down output, gate/up + activation outputs
    assert fwd_8192 == 905_969_664
    # TensorRT-LLM: 0.9 of the memory left after the weights and the forward peak of max_num_tokens = 8192 tokens,
    # 32-token blocks
    trt = LoadSolver(engine="trtllm").solve("Llama3_8B", "H100", **kw)
    assert trt.kv_blocks == int(0.9 * (H100_CAP - W8 - fwd_8192) // (32 * KV8))
    # vLLM V1: 0.9 of all memory, less the weights and the larger of the forward peak (8192 tokens) and the sampler run
    # over 1024 sequences' logits (bf16 2 + fp32 4 + FlashInfer probabilities 4 = 10 bytes each) while the dummy
    # forward's hidden states (8192 x 4096 bf16) are alive; 16-token blocks
    sampler = 1024 * V * 10 + 8192 * H * 2
    assert sampler == 1_380_450_304 and sampler > fwd_8192
    vllm = LoadSolver().solve("Llama3_8B", "H100", **kw)
    assert vllm.kv_blocks == int((0.9 * H100_CAP - W8 - sampler) // (16 * KV8))
    # vLLM V0: 256 sequences' logits through a sorting sampler: bf16 2 + fp32 4 + sorted values 4 + int64 indices 8
    # + the int64 iota paired with the keys 8 + the radix sort's double buffer of keys and values 12 = 38 bytes each
    v0 = LoadSolver(engine="vllm-v0").solve("Llama3_8B", "H100", **kw)
    assert v0.kv_blocks == int((0.9 * H100_CAP - W8 - max(fwd_8192, 256 * V * 38 + 8192 * H * 2)) // (16 * KV8))
    # a smaller step budget shrinks the profiled peak: 2048 tokens, 256 seats
    small = LoadSolver().solve("Llama3_8B", "H100", max_batched_tokens=2048, max_num_seqs=256, **kw)
    assert small.kv_blocks == int((0.9 * H100_CAP - W8 - max(2048 * 2 * (3 * H + 3 * I), 256 * V * 10 + 2048 * H * 2))
                                  // (16 * KV8))
    # SGLang v0.5.3: mem_fraction_static (weights + KV only) = (memory - reserved) / memory, reserved (MiB) =
    # 512 + 1.5 x chunk 8192 + 2 x CUDA-graph batch 256 + TP 1/8 x 1024 = 13 440 of 81 920: 0.836; pages of 1 token;
    # seats = min(pool // 2, min(max(pool / ctx x 512, 2048), 4096))
    frac = round((81920 - (512 + 1.5 * 8192 + 2 * 256 + 1024 / 8)) / 81920, 3)
    assert frac == 0.836
    sgl = LoadSolver(engine="sglang").solve("Llama3_8B", "H100", **kw)
    tokens = int((frac * H100_CAP - W8) // KV8)
    assert sgl.kv_blocks == tokens and sgl.block_size == 1 and sgl.max_batched_tokens == 8192
    assert sgl.max_num_seqs == min(tokens // 2, min(max(int(tokens / 131072 * 512), 2048), 4096)) == 3801
    # H200 (141 GiB = 144 384 MiB) at TP 8: 512 + 12 288 + 2 x 512 + 1024 = 14 848 MiB reserved
    h200 = LoadSolver(engine="sglang").solve("Llama3_8B", "H200", tensor_parallel=8, **kw)
    assert round((144384 - 14848) / 144384, 3) == 0.897
    kv8_tp8 = 2 * 32 * 1 * 128 * 1.0  # 8 KV heads over 8 GPUs: one per GPU
    assert h200.kv_blocks == int((0.897 * 141 * GiB - W8 / 8) // kv8_tp8)
    # a 40 GiB A100: chunks of 4096, CUDA graphs to batch 32: 512 + 6144 + 64 + 128 = 6848 MiB reserved of 40 960
    a100 = LoadSolver(engine="sglang").solve("Llama3_8B", "A100_40GB", **kw)
    assert a100.max_batched_tokens == 4096
    assert a100.kv_blocks == int((round((40960 - 6848) / 40960, 3) * A100_40_CAP - W8) // KV8)
    # the ideal mode keeps the textbook pools (memory fraction less weights), which the labs' answers use
    assert LoadSolver("ideal").solve("Llama3_8B", "H100", **kw).kv_blocks == int((0.9 * H100_CAP - W8) // (16 * KV8))
    assert (LoadSolver("ideal", engine="trtllm").solve("Llama3_8B", "H100", **kw).kv_blocks
            == int(0.9 * (H100_CAP - W8) // (32 * KV8)))


def test_runtime_memory_of_a_32b_model_on_one_h100():
    """Qwen3-32B bf16 on one H100 (GPUStack's held-out set): h = 5120, FFN 25 600, vocabulary 151 936, 64 layers of
    8 KV heads x 128 (config.json); P = 32.76 B from the architecture. vLLM V1 keeps 0.9 x 80 GiB - weights -
    max(forward peak of 8192 tokens, sampler over 1024 logits) for the KV-cache."""
    from mlsyslab.calibration.load_validate import _data_models

    with _data_models():
        r = LoadSolver().solve("Qwen3_32B", "H100", arrival_rate=1.0, input_tokens=128, output_tokens=8, n_requests=3)
        ideal = LoadSolver("ideal").solve("Qwen3_32B", "H100", arrival_rate=1.0, input_tokens=128, output_tokens=8,
                                          n_requests=3)
        from mlsyslab import zoo
        W = zoo.Models["Qwen3_32B"].n_parameters * 2
    assert 32.7e9 < W / 2 < 32.9e9  # the model card's 32.8 B
    kv = 2 * 64 * 8 * 128 * 2
    fwd = 8192 * 2 * (3 * 5120 + 3 * 25600)
    sampler = 1024 * 151936 * 10 + 8192 * 5120 * 2
    assert round(fwd / 1e9, 3) == 1.510 and round(sampler / 1e9, 3) == 1.640
    assert r.kv_blocks == int((0.9 * H100_CAP - W - sampler) // (16 * kv))
    assert ideal.kv_blocks == int((0.9 * H100_CAP - W) // (16 * kv))
    assert 0.85 < r.kv_blocks / ideal.kv_blocks < 0.88  # 1.64 GB of a 12.2 GB pool


def test_profiled_activation_memory_against_vllms_own_log():
    """vLLM's memory profile of `vllm serve meta-llama/Meta-Llama-3-8B` on H100 80GB (8192-token context, so V0 steps
    of max(8192, 2048) tokens, 256 sequences), https://github.com/vllm-project/vllm/pull/10511 (2024-12-14):
    PyTorch activation peak 1.26 GiB at TP 1 and at TP 2; model weights 14.96 GiB; 0.9 x 79.22 GiB = 71.29 GiB usable;
    non-torch memory 1.79 GiB; available KV-cache 53.29 GiB."""
    from mlsyslab import zoo
    from mlsyslab.solvers import load_engines

    m = zoo.Models["Llama3_8B"]  # Llama 3.1 8B: the same layers as Meta-Llama-3-8B
    for tp in (1, 2):
        peak = load_engines.PROFILES["vllm-v0"].runtime_bytes(m, tp, 8192, 256) / GiB
        assert abs(peak / 1.26 - 1) < 0.05, (tp, peak)
    r = LoadSolver(engine="vllm-v0").solve("Llama3_8B", "H100", arrival_rate=1.0, input_tokens=128, output_tokens=8,
                                           n_requests=3, max_model_len=8192)
    assert (r.max_batched_tokens, r.chunked_prefill) == (8192, False)
    pool = r.kv_blocks * 16 * KV16 / GiB
    # above the log by what is not modelled: 0.9 x (80 - 79.22) GiB of device memory CUDA does not report, and the
    # 1.79 GiB of non-torch memory: 53.29 + 0.70 + 1.79 = 55.78 GiB
    assert abs(pool / 55.78 - 1) < 0.01 and 0.0 < pool / 53.29 - 1 < 0.06


def test_vllm_v0_long_context_default():
    """vLLM v0.5.4-v0.6.3: chunked prefill left unset is turned on above max_model_len 32768
    (vllm/engine/arg_utils.py create_engine_config, use_long_context) and its budget is 512 with one scheduler step;
    otherwise the budget is max(max_model_len, 2048) (vllm/config.py SchedulerConfig)."""
    kw = dict(arrival_rate=2.0, input_tokens=256, output_tokens=16, n_requests=20)
    v0 = LoadSolver(engine="vllm-v0")
    got = {L: v0.solve("Llama3_8B", "H100", max_model_len=L, **kw) for L in (None, 1024, 4096, 32768, 32769, 131072)}
    assert (got[None].max_batched_tokens, got[None].chunked_prefill) == (8192, False)  # the profile's stand-in
    assert (got[1024].max_batched_tokens, got[1024].chunked_prefill) == (2048, False)
    assert (got[4096].max_batched_tokens, got[4096].chunked_prefill) == (4096, False)
    assert (got[32768].max_batched_tokens, got[32768].chunked_prefill) == (32768, False)
    assert (got[32769].max_batched_tokens, got[32769].chunked_prefill) == (512, True)
    assert (got[131072].max_batched_tokens, got[131072].chunked_prefill) == (512, True)
    off = v0.solve("Llama3_8B", "H100", max_model_len=131072, chunked_prefill=False, **kw)
    assert (off.max_batched_tokens, off.chunked_prefill) == (131072, False)
    # the profiling forward of 131 072 tokens (13.5 GiB on Llama-3-8B) comes out of the pool, as vLLM warns
    fwd = 131072 * 2 * (3 * 4096 + 3 * 14336)
    assert round(fwd / GiB, 1) == 13.5
    assert off.kv_blocks == int((0.9 * H100_CAP - 2 * P - fwd) // (16 * KV16))
    steps = v0.solve("Llama3_8B", "H100", max_model_len=131072, num_scheduler_steps=8, **kw)
    assert (steps.max_batched_tokens, steps.chunked_prefill) == (131072, True)
    a = v0.analytic("Llama3_8B", "H100", 2.0, max_model_len=131072)
    b = v0.analytic("Llama3_8B", "H100", 2.0, chunked_prefill=True, max_batched_tokens=512)
    assert a["capacity"] == b["capacity"]
    for bad in (0, -5, 1.5, "long"):
        with pytest.raises(ValidationError) as info:
            v0.solve("Llama3_8B", "H100", max_model_len=bad, **kw)
        assert info.value.field == "max_model_len" and "\n" not in str(info.value)


def _hand_mixed_step(B, ctx, c, o):
    """One calibrated step on 8B fp16 H100: B decodes at context ctx each plus a prompt chunk of c
    tokens after o, priced kernel by kernel (load_physics module doc)."""
    peak, bw = H100_16 * CAL["eta_compute_16"], H100_BW * CAL["eta_memory"]
    n = B + c
    gemm = max(2 * P * n / peak, 2 * P / bw)  # weights read once for the whole step
    attn_units = B * 2 * ctx + c * (2 * o + c)
    kv_tokens = B * ctx + o + c
    attn = max(2 * L * A * attn_units / peak, KV16 * kv_tokens / (bw * KV_EFF))
    ov = L * CAL["layer_overhead_prefill_s"] if c else L * OV_DEC
    return gemm + attn + ov + L * min(B, SEQ_CAP) * CAL["token_overhead_decode_s"]


def test_mixed_step_is_priced_from_the_physics():
    cost = LoadSolver().setup("Llama3_8B", "H100")[2]
    for B, ctx, c, o in ((64, 1000, 512, 0), (256, 700, 2048, 1024), (2048, 192, 0, 0), (4096, 300, 4000, 0)):
        hand = _hand_mixed_step(B, ctx, c, o)
        got = cost.step(B + c, B * 2 * ctx + c * (2 * o + c), B * ctx + o + c, B, c > 0)
        assert got == pytest.approx(hand, rel=1e-9), (B, ctx, c, o)
    # one step with both reads the weights once: cheaper than a prefill step and a decode step apart
    both = _hand_mixed_step(32, 1000, 256, 0)
    apart = _hand_mixed_step(0, 0, 256, 0) + _hand_mixed_step(32, 1000, 0, 0)
    assert both < apart


def test_large_batch_decode_is_compute_bound_and_overhead_capped():
    # 2048 sequences at context 192, 8B fp8 on one H100: the GEMMs (2 P B FLOPs at eta_8 of the fp8 peak)
    # exceed the weight reads; the KV reads add; the per-sequence overhead stops at SEQ_CAP sequences
    cost = LoadSolver().setup("Llama3_8B", "H100", precision="fp8")[2]
    B, ctx = 2048, 192
    peak, bw = H100_8 * CAL["eta_compute_8"], H100_BW * CAL["eta_memory"]
    gemm = 2 * P * B / peak
    assert gemm > P / bw
    assert SEQ_CAP < B
    hand = (gemm + max(2 * L * A * 2 * ctx * B / peak, KV8 * B * ctx / (bw * KV_EFF)) + L * OV_DEC
            + L * SEQ_CAP * CAL["token_overhead_decode_s"])
    assert cost.step(B, 2 * ctx * B, B * ctx, B, False) == pytest.approx(hand, rel=1e-9)
    # the ideal mode keeps the single roofline ServingSolver teaches: max(F, M), no overheads
    ideal = LoadSolver("ideal").setup("Llama3_8B", "H100", precision="fp8")[2]
    F = 2 * P * B + 4 * L * ctx * A * B
    M = P + B * ctx * KV8
    assert ideal.step(B, 2 * ctx * B, B * ctx, B, False) == pytest.approx(max(F / H100_8, M / H100_BW), rel=1e-9)


@pytest.mark.parametrize("engine", ["vllm", "vllm-v0", "sglang", "trtllm"])
def test_ten_times_more_seats_than_the_pool_holds_does_not_thrash(engine):
    # 8B fp16 on a 40 GB A100, 512 in / 1536 out, everything queued at t = 0.
    # Seat-limited optimum, by hand (vLLM V0 rule, ideal roofline): the pool holds
    # blocks = floor((0.9 C - 2P) / (16 kv)) blocks; a request ends holding ceil(2048 / 16) = 128 of
    # them and 1 % of the pool is kept free, so B_kv = floor(0.99 blocks / 128) run to the end without
    # preemption. With exactly B_kv seats the cohort of B_kv is prefilled (compute-bound: B_kv
    # prefills), decodes O - 1 steps at contexts I .. I + O - 2 and leaves together.
    I, O = 512, 1536
    blocks = int((0.9 * A100_40_CAP - 2 * P) // (16 * KV16))
    B_kv = (blocks - int(0.01 * blocks)) // math.ceil((I + O) / 16)
    assert B_kv == 83

    def prefill(S):
        return max((2 * P * S + 2 * L * S * S * A) / A100_16, (2 * P + S * KV16) / A100_BW)

    def decode(B, c):
        return max((2 * P * B + 4 * L * c * A * B) / A100_16, (2 * P + B * c * KV16) / A100_BW)

    optimum = B_kv * O / (B_kv * prefill(I) + sum(decode(B_kv, I + j) for j in range(O - 1)))
    ref = LoadSolver("ideal", engine="vllm-v0").solve("Llama3_8B", "A100_40GB", arrival_rate=math.inf, input_tokens=I,
                                                      output_tokens=O, n_requests=10 * B_kv, max_num_seqs=B_kv)
    assert ref.throughput.magnitude == pytest.approx(optimum, rel=0.01) and ref.preemptions == 0
    # ten times the seats the pool holds: the engine admits what its pool allows and keeps serving
    r = LoadSolver("ideal", engine=engine).solve("Llama3_8B", "A100_40GB", arrival_rate=math.inf, input_tokens=I,
                                                 output_tokens=O, n_requests=10 * B_kv, max_num_seqs=10 * B_kv)
    assert r.throughput.magnitude >= 0.9 * optimum
    assert r.preemptions <= 3 * 10 * B_kv  # a few per request at most (the thrash was > 1000 per request)
    if engine == "trtllm":  # GUARANTEED_NO_EVICT: a started request is never evicted
        assert r.preemptions == 0
    assert r.timeseries["tokens"][-1] == 10 * B_kv * O and r.timeseries["kv_utilization"].max() <= 1.0


def test_long_outputs_with_many_seats_keep_serving():
    # the case that thrashed: 3000 queued requests of 128 in / 2048 out, 8B fp8 on one H100, 2048 seats.
    # Upper bound by hand: even at its largest batch a decode step of B sequences costs at least the
    # GEMMs of B tokens, so output tokens/s <= peak_8 eta_8 / (2 P); keep within sight of it.
    bound = H100_8 * CAL["eta_compute_8"] / (2 * P)
    for engine in ("vllm", "vllm-v0", "sglang", "trtllm"):
        r = LoadSolver(engine=engine).solve("Llama3_8B", "H100", arrival_rate=math.inf, input_tokens=128,
                                            output_tokens=2048, precision="fp8", n_requests=3000, max_num_seqs=2048)
        assert 0.15 * bound < r.throughput.magnitude < bound, engine
        assert r.preemptions < 3000 * 3, engine


def test_multi_step_scheduling_admits_every_k_steps():
    # vLLM 0.6 --num-scheduler-steps k: a request arriving while another decodes waits for the next
    # multiple of k decode steps. Ideal roofline, 8B fp16 on H100, vLLM V0 rules: request 0 arrives at
    # t = 0 (512-token prompt, 64 outputs); request 1 arrives in the middle of its 4th decode step.
    def prefill(S):
        return max((2 * P * S + 2 * L * S * S * A) / H100_16, (2 * P + S * KV16) / H100_BW)

    def decode(B, c):
        return max((2 * P * B + 4 * L * c * A * B) / H100_16, (2 * P + B * c * KV16) / H100_BW)

    t0 = prefill(512)
    ends = [t0 + sum(decode(1, 512 + j) for j in range(n + 1)) for n in range(12)]  # end of decode step n
    t_arrive = ends[2] + 0.5 * decode(1, 515)
    s = LoadSolver("ideal", engine="vllm-v0")
    for k, admitted_at in ((1, ends[3]), (10, ends[9])):
        r = s.solve("Llama3_8B", "H100", arrival_times=[0.0, t_arrive], input_tokens=512, output_tokens=[64, 2],
                    num_scheduler_steps=k)
        assert r.requests["ttft"][1] == pytest.approx(admitted_at - t_arrive + prefill(512), rel=1e-6), k


def test_cli_names_the_engine(capsys):
    from mlsyslab.cli import main

    assert main(["load", "--model", "Llama3_8B", "--hardware", "H100", "--rate", "5", "--requests", "50",
                 "--engine", "sglang", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["engine"] == "sglang" and d["block_size"] == 1 and d["max_num_seqs"] >= 2048
    assert main(["load", "--model", "Llama3_8B", "--hardware", "H100", "--rate", "5", "--requests", "50"]) == 0
    assert ("engine vllm (1024 seats, 8192 tokens per step, 16-token blocks, overlap scheduling, 10 ms request "
            "overhead)") in capsys.readouterr().out
    assert main(["load", "--model", "Llama3_8B", "--hardware", "H100", "--rate", "5,10", "--analytic",
                 "--engine", "trtllm"]) == 0
    assert "engine trtllm" in capsys.readouterr().out
    assert main(["load", "--model", "Llama3_8B", "--hardware", "H100", "--rate", "5", "--engine", "tgi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "engine='tgi'" in err and "trtllm" in err
