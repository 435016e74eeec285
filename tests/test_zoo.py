"""The zoo against figures written here, taken from papers, model cards and datasheets.

Nothing below is read back from the zoo's own ``published_parameters`` or notes: every
expected figure is typed in this file next to where it comes from.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from mlsyslab import Hardware, Models, UnknownNameError, ValidationError
from mlsyslab.precision import PRECISIONS
from mlsyslab.zoo.specs import HardwareSpec, ModelSpec, Source

GiB = 2 ** 30

# --------------------------------------------------------------------------------------------
# Models: parameter counts
# --------------------------------------------------------------------------------------------

#: Published parameter counts, as printed by the paper / model card (rounded as printed there).
PUBLISHED_PARAMETERS = {
    # key:           (total,    source)
    "Llama2_7B": (6.74e9, "Touvron et al. 2023, Llama 2, Table 1 / HF model card: 6.74B"),
    "Llama2_13B": (13.0e9, "Llama 2 paper, Table 1: 13B (HF: 13.0B)"),
    "Llama2_70B": (69.0e9, "HF meta-llama/Llama-2-70b-hf: 69.0B"),
    "Llama3_8B": (8.03e9, "Meta Llama 3.1 model card: 8.03B"),
    "Llama3_70B": (70.6e9, "Meta Llama 3.1 model card: 70.6B"),
    "Llama3_405B": (405e9, "Meta Llama 3.1 model card: 405B"),
    "Mistral_7B": (7.24e9, "Jiang et al. 2023, Mistral 7B / HF card: 7.24B"),
    "Mixtral_8x7B": (46.7e9, "Jiang et al. 2024, Mixtral of Experts: 46.7B total"),
    "Mixtral_8x22B": (141e9, "Mistral AI Mixtral 8x22B announcement: 141B total"),
    "GPT2": (124e6, "Radford et al. 2019 / HF gpt2: 124M"),
    "GPT3_175B": (175e9, "Brown et al. 2020, Table 2.1: 175.0B"),
    "BERT_Base": (110e6, "Devlin et al. 2018: BERT-base 110M"),
    "Llama3_2_1B": (1.23e9, "Meta Llama 3.2 model card: 1.23B"),
    "Llama3_2_3B": (3.21e9, "Meta Llama 3.2 model card: 3.21B"),
    "Qwen2_5_7B": (7.61e9, "Qwen2.5-7B model card: 7.61B"),
    "Gemma2_9B": (9.24e9, "Gemma 2 paper, Table 2: 917.5M embedding + 8,324.2M non-embedding"),
    "Phi3_Mini": (3.8e9, "Abdin et al. 2024, Phi-3 technical report: 3.8B"),
    "ViT_B16": (86.6e6, "torchvision vit_b_16 card: 86.6M (Dosovitskiy et al.: 86M)"),
}

#: Active parameters per token for the mixture-of-experts models.
PUBLISHED_ACTIVE_PARAMETERS = {
    "Mixtral_8x7B": (12.9e9, "Mixtral of Experts paper: 12.9B active (top-2 of 8)"),
    "Mixtral_8x22B": (39e9, "Mistral AI announcement: 39B active"),
}

#: Exact counts of the released checkpoints (``model.num_parameters()`` / safetensors metadata
#: on the Hugging Face Hub; torchvision for ViT). These pin the architecture knobs exactly:
#: tied embeddings, GQA widths, QKV-only biases, Gemma's extra norms, BERT's pooler.
EXACT_CHECKPOINT_PARAMETERS = {
    "Llama2_7B": 6_738_415_616,
    "Llama2_13B": 13_015_864_320,
    "Llama2_70B": 68_976_648_192,
    "Llama3_8B": 8_030_261_248,
    "Llama3_70B": 70_553_706_496,
    "Llama3_405B": 405_853_388_800,
    "Mistral_7B": 7_241_732_096,
    "Mixtral_8x7B": 46_702_792_704,
    "GPT2": 124_439_808,
    "BERT_Base": 109_482_240,
    "Llama3_2_1B": 1_235_814_400,
    "Llama3_2_3B": 3_212_749_824,
    "Qwen2_5_7B": 7_615_616_512,
    "Gemma2_9B": 9_241_705_984,
    "Phi3_Mini": 3_821_079_552,
    "ViT_B16": 86_567_656,
}


def _transformers():
    return [m for m in Models if m.is_transformer]


def test_every_transformer_has_a_published_figure_in_this_file():
    missing = [m.key for m in _transformers() if m.key not in PUBLISHED_PARAMETERS]
    assert not missing, f"add the published parameter count of {missing} to PUBLISHED_PARAMETERS"


@pytest.mark.parametrize("key", sorted(PUBLISHED_PARAMETERS))
def test_derived_parameter_count_within_2_percent_of_published(key):
    published, source = PUBLISHED_PARAMETERS[key]
    model = Models.get(key)
    assert model.is_transformer
    derived = model.count_parameters()
    assert derived == pytest.approx(published, rel=0.02), f"{key}: derived {derived:.4g} vs {published:.4g} ({source})"


@pytest.mark.parametrize("key", sorted(PUBLISHED_ACTIVE_PARAMETERS))
def test_moe_active_parameters_within_2_percent(key):
    published, source = PUBLISHED_ACTIVE_PARAMETERS[key]
    model = Models.get(key)
    assert model.is_moe
    assert model.count_parameters(active=True) == pytest.approx(published, rel=0.02), source
    assert model.n_active_parameters < model.n_parameters


@pytest.mark.parametrize("key", sorted(EXACT_CHECKPOINT_PARAMETERS))
def test_derived_parameter_count_matches_released_checkpoint_exactly(key):
    assert int(Models.get(key).count_parameters()) == EXACT_CHECKPOINT_PARAMETERS[key]


def test_llama3_8b_count_by_hand():
    # 32 layers x (Q 4096x4096 + K,V 4096x1024 each + O 4096x4096 + 3 SwiGLU mats 4096x14336
    # + 2 RMSNorm) + untied embedding and LM head 2 x 128256x4096 + final norm 4096.
    by_hand = 32 * (4096 * 4096 + 2 * 4096 * 1024 + 4096 * 4096 + 3 * 4096 * 14336 + 2 * 4096) \
        + 2 * 128256 * 4096 + 4096
    assert by_hand == 8_030_261_248
    assert Models.Llama3_8B.count_parameters() == by_hand


def test_tied_embeddings_count_the_table_once():
    # Llama-3.2-1B ties input and output embeddings: the 128256 x 2048 table counts once.
    m = Models.Llama3_2_1B
    untied = dataclasses.replace(m, tied_embeddings=False)
    assert untied.count_parameters() - m.count_parameters() == 128256 * 2048


def test_qwen_qkv_bias_adds_q_k_v_biases_only():
    # Qwen2.5-7B: q bias 28*128 + k,v biases 2 * 4*128 = 4608 per layer, 28 layers.
    m = Models.Qwen2_5_7B
    no_bias = dataclasses.replace(m, qkv_bias=False)
    assert m.count_parameters() - no_bias.count_parameters() == 28 * (28 * 128 + 2 * 4 * 128)


def test_kv_cache_bytes_per_token_by_hand():
    # 2 (K and V) x layers x kv_heads x head_dim x 2 bytes (fp16)
    assert Models.Llama3_8B.kv_bytes_per_token(2) == 2 * 32 * 8 * 128 * 2 == 131072
    assert Models.Gemma2_9B.kv_bytes_per_token(2) == 2 * 42 * 8 * 256 * 2
    assert Models.Llama2_7B.kv_bytes_per_token(2) == 2 * 32 * 32 * 128 * 2  # no GQA


def test_architecture_fields_are_explicit_and_consistent():
    for m in _transformers():
        assert m.layers > 0 and m.hidden_dim > 0 and m.heads > 0 and m.head_dim > 0 and m.ffn_dim > 0, m.key
        assert 1 <= m.kv_heads <= m.heads and m.heads % m.kv_heads == 0, m.key
        assert 1 <= m.active_experts <= m.experts, m.key
        if m.is_llm:
            assert m.vocab > 0 and m.max_seq_len > 0, m.key
    # head_dim is given, not assumed to be hidden/heads: Gemma-2-9B is the case where they differ
    assert Models.Gemma2_9B.head_dim == 256 and Models.Gemma2_9B.hidden_dim // Models.Gemma2_9B.heads == 224


#: Non-transformer workloads: (parameters, MACs per sample, source)
PUBLISHED_OTHER = {
    "ResNet50": (25.6e6, 4.1e9, "He et al. 2015 / torchvision: 25.6M params, 4.09 GMACs at 224"),
    "MobileNetV2": (3.4e6, 300e6, "Sandler et al. 2018, Table 4: 3.4M params, 300M multiply-adds"),
    "EfficientNetB0": (5.3e6, 0.39e9, "Tan & Le 2019, Table 2: 5.3M params, 0.39B FLOPS (= multiply-adds)"),
    "YOLOv8n": (3.2e6, 8.7e9 / 2, "Ultralytics YOLOv8 docs: 3.2M params, 8.7 GFLOPs (= 2 x MACs) at 640"),
    "ViT_B16": (86.6e6, 17.56e9, "torchvision vit_b_16: 17.56 GMACs ('GFLOPS') at 224"),
    "KWS_DSCNN": (38.6e3, 2.7e6, "MLPerf Tiny KWS DS-CNN: ~38.6k params, ~2.7M MACs"),
}


@pytest.mark.parametrize("key", sorted(PUBLISHED_OTHER))
def test_sourced_totals_of_vision_and_tinyml_workloads(key):
    params, macs, source = PUBLISHED_OTHER[key]
    m = Models.get(key)
    assert m.count_parameters() == pytest.approx(params, rel=0.05), source
    assert m.macs_per_inference == pytest.approx(macs, rel=0.02), source
    assert m.flops_per_inference == pytest.approx(2 * macs, rel=0.02), "FLOPs are stored as 2 x MACs"
    assert m.input_shape and m.task


def test_model_families_cover_the_required_workloads():
    families = {m.family for m in Models}
    assert {"decoder", "encoder", "cnn", "recsys", "tinyml"} <= families
    for key in ("ResNet50", "MobileNetV2", "BERT_Base", "DLRM", "KWS_DSCNN"):
        assert key in Models.names()


# --------------------------------------------------------------------------------------------
# Hardware: datasheet figures
# --------------------------------------------------------------------------------------------

#: (bandwidth B/s, capacity bytes, {precision: dense peak FLOP/s}, source). Capacities of HBM /
#: GDDR parts are binary ("80GB" H100 = 80 GiB; nvidia-smi shows 81,559 MiB usable).
DATASHEET = {
    "H100": (3.35e12, 80 * GiB, {"fp16": 989e12, "bf16": 989e12, "fp8": 1979e12, "tf32": 494e12, "fp32": 67e12},
             "NVIDIA H100 datasheet, SXM: 3.35 TB/s; FP16 1,979 TFLOPS with sparsity -> 989 dense; FP32 67"),
    "H200": (4.8e12, 141 * GiB, {"fp16": 989e12, "fp8": 1979e12},
             "NVIDIA H200 datasheet: 141 GB HBM3e, 4.8 TB/s; same GH100 compute as H100 SXM"),
    "A100": (2.039e12, 80 * GiB, {"fp16": 312e12, "tf32": 156e12, "int8": 624e12, "fp32": 19.5e12},
             "NVIDIA A100 datasheet, 80GB SXM: 2,039 GB/s; FP16 312 (dense column)"),
    "A100_40GB": (1.555e12, 40 * GiB, {"fp16": 312e12},
                  "NVIDIA A100 datasheet, 40GB SXM: 1,555 GB/s"),
    "GH200": (4.0e12, 96 * GiB, {"fp16": 989e12}, "NVIDIA GH200 datasheet, 96GB HBM3 variant: 4 TB/s"),
    "B200": (7.7e12, 180 * GiB, {"fp16": 2250e12, "fp8": 4500e12, "fp4": 9000e12},
             "HGX B200: 1,440 GB and 62 TB/s per 8 GPUs; FP16 36 PFLOPS sparse / 8 / 2 = 2.25 PFLOPS dense"),
    "MI300X": (5.3e12, 192 * GiB, {"fp16": 1307.4e12, "fp8": 2614.9e12},
               "AMD MI300X data sheet: 192 GB HBM3, 5.3 TB/s, FP16 1,307.4 TFLOPS dense"),
    "MI325X": (6.0e12, 256 * GiB, {"fp16": 1307.4e12, "fp8": 2614.9e12},
               "AMD MI325X data sheet: 256 GB HBM3E, 6 TB/s"),
    "L40S": (864e9, 48 * GiB, {"fp16": 362e12, "fp8": 733e12}, "NVIDIA L40S datasheet: 864 GB/s, FP16 362 dense"),
    "L4": (300e9, 24 * GiB, {"fp16": 121e12, "fp8": 242.5e12}, "NVIDIA L4 datasheet: 300 GB/s, FP16 242 sparse -> 121"),
    "H100_NVL": (3.9e12, 94 * GiB, {"fp16": 835.5e12, "fp8": 1670.5e12},
                 "NVIDIA H100 NVL: 94 GB, 3.9 TB/s, FP16 1,671 sparse -> 835.5 dense"),
    "T4": (320e9, 16 * GiB, {"fp16": 65e12, "int8": 130e12, "fp32": 8.1e12},
           "NVIDIA T4 datasheet: 320 GB/s, 65 TFLOPS mixed precision, 130 INT8 TOPS (Turing: no sparsity)"),
    "TPUv5e": (819e9, 16 * GiB, {"bf16": 197e12, "int8": 394e12}, "Cloud TPU v5e docs: 197 TFLOPS bf16, 819 GB/s"),
    "TPUv4": (1200e9, 32 * GiB, {"bf16": 275e12, "int8": 275e12}, "Cloud TPU v4 docs: 275 TFLOPS, 32 GiB, 1,200 GBps"),
    "Gaudi3": (3.67e12, 128 * GiB, {"bf16": 1835e12, "fp8": 1835e12}, "Intel Gaudi 3 (Hot Chips 2024): 1,835 TFLOPS, 3.67 TB/s"),
    "RTX4090": (1008e9, 24 * GiB, {"fp16": 165.2e12, "fp32": 82.6e12},
                "NVIDIA Ada whitepaper, RTX 4090: 1,008 GB/s; FP16 tensor w/ FP32 accumulate 165.2 dense"),
    "JetsonAGXOrin": (204.8e9, 64 * GiB, {"int8": 137.5e12}, "Jetson AGX Orin 64GB: 275 sparse INT8 TOPS -> 137.5, 204.8 GB/s"),
    "JetsonOrinNX": (102.4e9, 16 * GiB, {"fp16": 25e12, "int8": 50e12},
                     "Jetson Orin NX 16GB: 100 sparse INT8 TOPS -> 50 dense -> fp16 25 (MLSYSIM v0.1.0's fix)"),
}


@pytest.mark.parametrize("key", sorted(DATASHEET))
def test_datasheet_figures(key):
    bandwidth, capacity, peaks, source = DATASHEET[key]
    hw = Hardware.get(key)
    assert hw.memory_bandwidth_Bps == pytest.approx(bandwidth, rel=1e-3), source
    assert hw.memory_bytes == pytest.approx(capacity, rel=1e-3), source
    for precision, peak in peaks.items():
        assert hw.peak_flops[precision] == pytest.approx(peak, rel=0.015), f"{key} {precision}: {source}"


#: NVIDIA prints tensor figures "with sparsity"; the zoo must hold half of them (dense).
NVIDIA_SPARSE_FIGURES = {
    "H100": {"fp16": 1979e12, "fp8": 3958e12, "int8": 3958e12, "tf32": 989e12},
    "H100_PCIe": {"fp16": 1513e12, "fp8": 3026e12},
    "L4": {"fp16": 242e12, "fp8": 485e12},
    "L40S": {"fp8": 1466e12},
    "H100_NVL": {"fp16": 1671e12, "fp8": 3341e12},
    "JetsonOrinNX": {"int8": 100e12},
    "JetsonAGXOrin": {"int8": 275e12},
    "JetsonOrinNano": {"int8": 40e12},
    "DGXSpark": {"fp4": 1000e12},
}


@pytest.mark.parametrize("key", sorted(NVIDIA_SPARSE_FIGURES))
def test_nvidia_sparse_figures_are_halved(key):
    hw = Hardware.get(key)
    for precision, sparse in NVIDIA_SPARSE_FIGURES[key].items():
        assert hw.peak_flops[precision] == pytest.approx(sparse / 2, rel=0.01), f"{key} {precision}"


def test_microcontroller_peaks_count_two_ops_per_mac_by_hand():
    # One MAC (or FMA) is 2 operations, as for every other device in the zoo.
    assert Hardware.Tiny.STM32H7.peak_flops["int8"] == pytest.approx(2 * 2 * 480e6)       # SMLAD: 2 MAC/cycle
    assert Hardware.Tiny.STM32H7.peak_flops["fp32"] == pytest.approx(1 * 2 * 480e6)       # 1 FMA/cycle
    assert Hardware.Tiny.ESP32S3.peak_flops["int8"] == pytest.approx(2 * 16 * 2 * 240e6)  # 2 cores x 16 MAC/cycle
    assert Hardware.Tiny.ESP32S3.peak_flops["fp32"] == pytest.approx(2 * 1 * 2 * 240e6)   # 2 cores x 1 FMA/cycle
    assert Hardware.Tiny.AlifE7.peak_flops["int8"] == pytest.approx(256 * 2 * 400e6)      # Ethos-U55-256


def test_h100_ridge_point_by_hand():
    # 989.5 TFLOP/s / 3.35 TB/s = 295 FLOP per byte
    assert Hardware.Cloud.H100.ridge_point("fp16") == pytest.approx(989.5e12 / 3.35e12, rel=1e-9)
    assert 290 < Hardware.Cloud.H100.ridge_point("fp16") < 300


def test_no_native_path_means_no_entry():
    assert "bf16" not in Hardware.Cloud.T4.peak_flops and "tf32" not in Hardware.Cloud.T4.peak_flops  # Turing
    assert "fp8" not in Hardware.Cloud.A100.peak_flops  # Ampere has no fp8 tensor path
    assert "fp8" not in Hardware.Cloud.MI250X.peak_flops
    assert set(Hardware.Edge.CoralDevBoard.peak_flops) == {"int8"}
    assert "fp32" not in Hardware.Tiny.ArduinoUno.peak_flops and "fp32" not in Hardware.Tiny.RP2040.peak_flops  # no FPU
    with pytest.raises(ValidationError, match="no native fp8"):
        Hardware.Cloud.A100.compute.peak("fp8")


# --------------------------------------------------------------------------------------------
# Coverage, names and provenance
# --------------------------------------------------------------------------------------------

REQUIRED_HARDWARE = {
    "Cloud": ["A100", "A100_40GB", "H100", "H200", "GH200", "B200", "MI300X", "L40S", "L4"],
    "Workstation": ["RTX4090"],
    "Edge": ["JetsonAGXOrin", "JetsonOrinNX"],
}
REQUIRED_MODELS = ["Llama2_7B", "Llama2_13B", "Llama2_70B", "Llama3_8B", "Llama3_70B", "Llama3_405B", "Mistral_7B",
                   "Mixtral_8x7B", "GPT2", "GPT3_175B", "ResNet50", "MobileNetV2", "BERT_Base", "DLRM", "KWS_DSCNN"]


def test_required_devices_exist_in_their_tiers():
    for tier, keys in REQUIRED_HARDWARE.items():
        for key in keys:
            assert getattr(getattr(Hardware, tier), key).tier == tier
    assert any(h.key.startswith("TPU") for h in Hardware.Cloud), "a TPU"
    assert len(Hardware.Mobile) >= 1 and len(Hardware.Tiny) >= 1


def test_required_models_exist():
    for key in REQUIRED_MODELS:
        assert getattr(Models, key).key == key


def test_zoo_sizes():
    assert len(Hardware) >= 25
    assert len(Models) >= 18
    assert set(Hardware.tiers) == {"Cloud", "Workstation", "Mobile", "Edge", "Tiny"}


def test_tiers_iterate_and_partition_the_devices():
    seen = []
    for tier in Hardware.tiers:
        members = list(Hardware.tier(tier))
        assert members and all(h.tier == tier for h in members)
        seen += members
    assert sorted(h.key for h in seen) == sorted(Hardware.names())
    assert [h.key for h in Hardware] == Hardware.names()


def _has_provenance(src) -> bool:
    return isinstance(src, Source) and bool(src.title) and bool(src.url or src.notes)


HARDWARE_FIGURES = ("memory_bytes", "memory_bandwidth_Bps", "peak_flops", "tdp_w", "interconnect_Bps",
                    "interconnect_latency_s", "host_Bps")
MODEL_FIGURES = ("published_parameters", "published_active_parameters", "flops_per_inference",
                 "activation_bytes_fp32", "layers", "hidden_dim", "heads", "kv_heads", "head_dim", "ffn_dim",
                 "vocab", "max_seq_len", "experts", "active_experts", "extra_params")


@pytest.mark.parametrize("spec", list(Hardware) + list(Models), ids=lambda s: s.key)
def test_every_figure_has_a_source(spec):
    assert _has_provenance(spec.source), spec.key
    fields = {f.name for f in dataclasses.fields(spec)}
    for figure, src in spec.field_sources.items():
        assert figure in fields, f"{spec.key}: field_sources names unknown figure {figure!r}"
        assert _has_provenance(src), f"{spec.key}.{figure}"
        if "estimate" in src.title.lower():
            assert src.notes, f"{spec.key}.{figure}: an estimate must say how it was made"
    for figure in (HARDWARE_FIGURES if isinstance(spec, HardwareSpec) else MODEL_FIGURES):
        assert _has_provenance(spec.source_of(figure)), f"{spec.key}.{figure}"


@pytest.mark.parametrize("hw", list(Hardware), ids=lambda h: h.key)
def test_dense_peaks_are_positive_and_ordered(hw):
    peaks = hw.peak_flops
    assert peaks and set(peaks) <= set(PRECISIONS), hw.key
    assert all(math.isfinite(v) and v > 0 for v in peaks.values()), hw.key

    def ge(a, b):
        if a in peaks and b in peaks:
            assert peaks[a] >= peaks[b], f"{hw.key}: {a} {peaks[a]:g} < {b} {peaks[b]:g}"

    ge("fp8", "fp16"), ge("fp16", "fp32"), ge("fp8", "fp32"), ge("bf16", "fp32")
    ge("fp4", "fp8"), ge("int4", "int8"), ge("tf32", "fp32"), ge("fp16", "tf32")
    assert hw.memory_bytes > 0 and hw.memory_bandwidth_Bps > 0
    assert hw.tdp_w is None or hw.tdp_w > 0
    assert hw.interconnect_Bps >= 0 and hw.host_Bps >= 0


@pytest.mark.parametrize("hw", list(Hardware), ids=lambda h: h.key)
def test_dram_capacities_are_counted_binary(hw):
    # HBM, GDDR and LPDDR parts are built from power-of-two DRAM dies: vendors' "GB" are GiB.
    if any(t in hw.memory_type for t in ("HBM", "GDDR", "LPDDR")):
        assert hw.capacity_unit == "GiB", hw.key
    assert hw.source.notes, f"{hw.key}: say how the datasheet was read (dense/sparse, units)"


# --------------------------------------------------------------------------------------------
# Look-up
# --------------------------------------------------------------------------------------------

def test_lookup_is_case_and_punctuation_insensitive():
    assert Hardware.get("h100") is Hardware.Cloud.H100
    assert Hardware.get("H100 SXM") is Hardware.Cloud.H100
    assert Hardware["mi-300x"] is Hardware.Cloud.MI300X
    assert Models.get("llama-3-8b") is Models.Llama3_8B
    assert Models.get("LLAMA 3 8B") is Models.Llama3_8B
    assert Models.get("Llama 3.1 8B") is Models.Llama3_8B
    assert Models.get("qwen2.5-7b") is Models.Qwen2_5_7B
    assert "jetson orin nx" in Hardware and "nonsense" not in Hardware
    assert Hardware.get(Hardware.Cloud.H100) is Hardware.Cloud.H100  # a spec passes through


def test_every_key_name_and_alias_finds_its_own_entry():
    # a collision (two entries normalising to one string) would silently hide one of them
    for registry in (Hardware, Models):
        for entry in registry:
            for name in (entry.key, entry.name, *entry.aliases):
                assert registry.get(name) is entry, f"{name!r} -> {registry.get(name).key}, not {entry.key}"


@pytest.mark.parametrize("registry, typo, suggestion", [
    (Hardware, "h1000", "H100"),
    (Hardware, "tpu5e", "TPUv5e"),
    (Models, "Llama3_8", "Llama3_8B"),
    (Models, "mistral7", "Mistral_7B"),
    (Models, "Gemma2", "Gemma2_9B"),
])
def test_unknown_name_says_did_you_mean(registry, typo, suggestion):
    with pytest.raises(UnknownNameError) as info:
        registry.get(typo)
    err = info.value
    assert isinstance(err, ValidationError) and isinstance(err, KeyError)
    message = str(err)
    assert "Did you mean" in message and repr(suggestion) in message and repr(typo) in message


def test_unknown_attribute_and_tier():
    with pytest.raises(AttributeError, match="H100"):
        Hardware.Cloud.H1000
    with pytest.raises(UnknownNameError, match="Did you mean 'Cloud'"):
        Hardware.tier("Clod")


def test_capacity_prints_in_its_true_unit():
    cap = Hardware.Cloud.H100.memory.capacity
    assert "GiB" in f"{cap:~}"
    assert cap.to("GB").magnitude == pytest.approx(85.899, abs=1e-3)  # 80 x 2^30 / 1e9
    mcu = Hardware.Tiny.STM32H7.memory.capacity
    assert f"{mcu:~}".endswith(" KiB") and mcu.magnitude == 1024


def test_filter_for_tables():
    decoders = Models.filter(family="decoder")
    assert Models.Llama3_8B in decoders and Models.ResNet50 not in decoders
    assert all(isinstance(m, ModelSpec) for m in decoders)
