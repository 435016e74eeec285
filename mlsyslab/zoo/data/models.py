"""Architectures of the model zoo. Data only: each entry cites its source.

Transformers give their architecture; their parameter count is *derived* from it
(:meth:`ModelSpec.count_parameters`) and tests compare it with ``published_parameters``.
Other workloads (CNNs, DLRM, TinyML) carry sourced totals: parameters and FLOPs per sample
(FLOPs = 2 x multiply-accumulates).
"""

from __future__ import annotations

from ..specs import ModelSpec, Source


def _src(title, url, date=None, notes=None):
    return Source(title, url, date, notes)


_LLAMA2 = _src("Touvron et al., Llama 2: Open Foundation and Fine-Tuned Chat Models (and HF config.json)",
               "https://arxiv.org/abs/2307.09288", "2023-07")
_LLAMA3 = _src("Meta Llama 3 / 3.1 model cards and HF config.json", "https://github.com/meta-llama/llama-models", "2024-07")

DECODERS = [
    ModelSpec("Llama2_7B", "Llama-2-7B", "decoder", _LLAMA2, layers=32, hidden_dim=4096, heads=32, kv_heads=32,
              head_dim=128, ffn_dim=11008, vocab=32000, max_seq_len=4096, published_parameters=6.74e9,
              aliases=("llama-2-7b", "llama2-7b")),
    ModelSpec("Llama2_13B", "Llama-2-13B", "decoder", _LLAMA2, layers=40, hidden_dim=5120, heads=40, kv_heads=40,
              head_dim=128, ffn_dim=13824, vocab=32000, max_seq_len=4096, published_parameters=13.02e9),
    ModelSpec("Llama2_70B", "Llama-2-70B", "decoder", _LLAMA2, layers=80, hidden_dim=8192, heads=64, kv_heads=8,
              head_dim=128, ffn_dim=28672, vocab=32000, max_seq_len=4096, published_parameters=68.98e9),
    ModelSpec("Llama3_8B", "Llama-3.1-8B", "decoder", _LLAMA3, layers=32, hidden_dim=4096, heads=32, kv_heads=8,
              head_dim=128, ffn_dim=14336, vocab=128256, max_seq_len=131072, published_parameters=8.03e9,
              aliases=("Llama-3-8B", "Llama 3.1 8B", "llama3.1-8b")),
    ModelSpec("Llama3_70B", "Llama-3.1-70B", "decoder", _LLAMA3, layers=80, hidden_dim=8192, heads=64, kv_heads=8,
              head_dim=128, ffn_dim=28672, vocab=128256, max_seq_len=131072, published_parameters=70.55e9,
              aliases=("Llama-3-70B", "llama3.1-70b")),
    ModelSpec("Llama3_405B", "Llama-3.1-405B", "decoder", _LLAMA3, layers=126, hidden_dim=16384, heads=128, kv_heads=8,
              head_dim=128, ffn_dim=53248, vocab=128256, max_seq_len=131072, published_parameters=405.85e9,
              aliases=("Llama-3-405B", "llama3.1-405b")),
    ModelSpec("Mistral_7B", "Mistral-7B-v0.1", "decoder",
              _src("Jiang et al., Mistral 7B (and HF config.json)", "https://arxiv.org/abs/2310.06825", "2023-10"),
              layers=32, hidden_dim=4096, heads=32, kv_heads=8, head_dim=128, ffn_dim=14336, vocab=32000,
              max_seq_len=32768, published_parameters=7.24e9),
    ModelSpec("Mixtral_8x7B", "Mixtral-8x7B-v0.1", "decoder",
              _src("Jiang et al., Mixtral of Experts (and HF config.json)", "https://arxiv.org/abs/2401.04088", "2024-01",
                   "46.7B total, 12.9B active parameters per token (top-2 of 8 experts)."),
              layers=32, hidden_dim=4096, heads=32, kv_heads=8, head_dim=128, ffn_dim=14336, vocab=32000,
              max_seq_len=32768, experts=8, active_experts=2, published_parameters=46.7e9,
              published_active_parameters=12.9e9, aliases=("mixtral",)),
    ModelSpec("GPT2", "GPT-2 (124M)", "decoder",
              _src("Radford et al., Language Models are Unsupervised Multitask Learners; HF gpt2 config",
                   "https://huggingface.co/gpt2", "2019-02", "Smallest GPT-2: 124M parameters with tied embeddings."),
              layers=12, hidden_dim=768, heads=12, kv_heads=12, head_dim=64, ffn_dim=3072, vocab=50257,
              max_seq_len=1024, gated_ffn=False, tied_embeddings=True, biases=True, layernorm=True,
              learned_positions=1024, published_parameters=124.4e6, aliases=("gpt-2", "gpt2-small")),
    ModelSpec("GPT3_175B", "GPT-3 175B", "decoder",
              _src("Brown et al., Language Models are Few-Shot Learners, Table 2.1", "https://arxiv.org/abs/2005.14165", "2020-05"),
              layers=96, hidden_dim=12288, heads=96, kv_heads=96, head_dim=128, ffn_dim=49152, vocab=50257,
              max_seq_len=2048, gated_ffn=False, tied_embeddings=True, biases=True, layernorm=True,
              learned_positions=2048, published_parameters=175e9, aliases=("gpt-3", "gpt3")),
]

ENCODERS = [
    ModelSpec("BERT_Base", "BERT-base (uncased)", "encoder",
              _src("Devlin et al., BERT (and HF bert-base-uncased config)", "https://arxiv.org/abs/1810.04805", "2018-10",
                   "110M parameters; the pooler and the 2 segment embeddings are counted in extra_params."),
              layers=12, hidden_dim=768, heads=12, kv_heads=12, head_dim=64, ffn_dim=3072, vocab=30522,
              max_seq_len=512, gated_ffn=False, tied_embeddings=True, biases=True, layernorm=True,
              learned_positions=512, extra_params=768 * 768 + 768 + 2 * 768 + 768, published_parameters=110e6,
              aliases=("bert-base", "bert")),
]

VISION_AND_OTHER = [
    ModelSpec("ResNet50", "ResNet-50", "cnn",
              _src("He et al., Deep Residual Learning, Table 1; torchvision model card", "https://arxiv.org/abs/1512.03385", "2015-12",
                   "25.6M parameters; 4.09 G multiply-accumulates per 224x224 image (the '4.1 GFLOPs' commonly quoted, which counts one MAC as one FLOP); we store FLOPs = 2 x MACs = 8.18e9."),
              published_parameters=25.557e6, flops_per_inference=2 * 4.09e9, activation_bytes_fp32=4 * 11.2e6,
              input_shape=(3, 224, 224), task="image classification", aliases=("resnet-50", "resnet")),
    ModelSpec("MobileNetV2", "MobileNetV2 (1.0, 224)", "cnn",
              _src("Sandler et al., MobileNetV2, Table 3/4", "https://arxiv.org/abs/1801.04381", "2018-01",
                   "3.4M parameters, 300M multiply-adds -> 0.6 GFLOPs."),
              published_parameters=3.5e6, flops_per_inference=2 * 300e6, activation_bytes_fp32=4 * 6.7e6,
              input_shape=(3, 224, 224), task="image classification", aliases=("mobilenet-v2", "mobilenet")),
    ModelSpec("DLRM", "DLRM (MLPerf DLRM-DCNv2, Criteo 1TB)", "recsys",
              _src("MLCommons MLPerf Inference DLRMv2 reference; Naumov et al., DLRM", "https://github.com/mlcommons/inference/tree/master/recommendation/dlrm_v2", "2023",
                   "~23.8B parameters, almost all in embedding tables; ~ 2 x 3.6M MACs of MLP per sample plus sparse embedding gathers."),
              published_parameters=23.8e9, flops_per_inference=2 * 3.6e6, activation_bytes_fp32=4 * 13 * 128 * 2,
              input_shape=(13 + 26,), task="recommendation", aliases=("dlrm-v2", "dlrmv2")),
    ModelSpec("KWS_DSCNN", "Keyword spotting DS-CNN (MLPerf Tiny)", "tinyml",
              _src("MLPerf Tiny keyword spotting reference (DS-CNN); Zhang et al., Hello Edge", "https://github.com/mlcommons/tiny/tree/master/benchmark/training/keyword_spotting", "2021",
                   "~38.6k parameters (int8: ~39 KB), ~2.7M MACs per 1 s utterance (49x10 MFCC)."),
              published_parameters=38.6e3, flops_per_inference=2 * 2.7e6, activation_bytes_fp32=4 * 64 * 25 * 5 * 2,
              input_shape=(49, 10, 1), task="keyword spotting", aliases=("kws", "ds-cnn", "keyword spotting")),
]

ALL = DECODERS + ENCODERS + VISION_AND_OTHER
