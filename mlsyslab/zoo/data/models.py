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
    ModelSpec("Llama3_2_1B", "Llama-3.2-1B", "decoder",
              _src("Meta Llama 3.2 model card and HF config.json (meta-llama/Llama-3.2-1B)", "https://huggingface.co/meta-llama/Llama-3.2-1B",
                   "2024-09", "1.23B parameters; input and output embeddings are tied."),
              layers=16, hidden_dim=2048, heads=32, kv_heads=8, head_dim=64, ffn_dim=8192, vocab=128256,
              max_seq_len=131072, tied_embeddings=True, published_parameters=1.23e9,
              aliases=("llama-3.2-1b", "llama3.2-1b")),
    ModelSpec("Llama3_2_3B", "Llama-3.2-3B", "decoder",
              _src("Meta Llama 3.2 model card and HF config.json (meta-llama/Llama-3.2-3B)", "https://huggingface.co/meta-llama/Llama-3.2-3B",
                   "2024-09", "3.21B parameters; input and output embeddings are tied."),
              layers=28, hidden_dim=3072, heads=24, kv_heads=8, head_dim=128, ffn_dim=8192, vocab=128256,
              max_seq_len=131072, tied_embeddings=True, published_parameters=3.21e9,
              aliases=("llama-3.2-3b", "llama3.2-3b")),
    ModelSpec("Qwen2_5_7B", "Qwen2.5-7B", "decoder",
              _src("Qwen2.5-7B model card and HF config.json (Qwen/Qwen2.5-7B)", "https://huggingface.co/Qwen/Qwen2.5-7B", "2024-09",
                   "7.61B parameters (6.53B non-embedding); biases on the Q, K and V projections only; untied embeddings."),
              layers=28, hidden_dim=3584, heads=28, kv_heads=4, head_dim=128, ffn_dim=18944, vocab=152064,
              max_seq_len=131072, qkv_bias=True, published_parameters=7.61e9,
              aliases=("qwen2.5-7b", "qwen-2.5-7b")),
    ModelSpec("Gemma2_9B", "Gemma-2-9B", "decoder",
              _src("Gemma Team, Gemma 2: Improving Open Language Models at a Practical Size, Table 1-2; HF config (google/gemma-2-9b)",
                   "https://arxiv.org/abs/2408.00118", "2024-07",
                   "9.24B parameters (917.5M embedding + 8.32B non-embedding); head_dim 256 (heads x head_dim = 4096 != hidden 3584); "
                   "vocab 256,000, tied embeddings; GeGLU FFN. Gemma 2 has 4 RMSNorms per layer (pre- and post- attention and FFN): "
                   "the 2 extra per layer are counted in extra_params = 42 x 2 x 3584."),
              layers=42, hidden_dim=3584, heads=16, kv_heads=8, head_dim=256, ffn_dim=14336, vocab=256000,
              max_seq_len=8192, tied_embeddings=True, extra_params=42 * 2 * 3584, published_parameters=9.24e9,
              aliases=("gemma-2-9b", "gemma2-9b")),
    ModelSpec("Phi3_Mini", "Phi-3-mini-4k", "decoder",
              _src("Abdin et al., Phi-3 Technical Report; HF config (microsoft/Phi-3-mini-4k-instruct)", "https://arxiv.org/abs/2404.14219",
                   "2024-04", "3.8B parameters; multi-head attention (32 heads = 32 KV heads) of head_dim 96; untied embeddings."),
              layers=32, hidden_dim=3072, heads=32, kv_heads=32, head_dim=96, ffn_dim=8192, vocab=32064,
              max_seq_len=4096, published_parameters=3.8e9, aliases=("phi-3-mini", "phi3-mini", "phi-3")),
    ModelSpec("Mixtral_8x22B", "Mixtral-8x22B-v0.1", "decoder",
              _src("Mistral AI, Cheaper, Better, Faster, Stronger (Mixtral 8x22B announcement); HF config (mistralai/Mixtral-8x22B-v0.1)",
                   "https://mistral.ai/news/mixtral-8x22b/", "2024-04",
                   "141B total, 39B active parameters per token (top-2 of 8 experts)."),
              layers=56, hidden_dim=6144, heads=48, kv_heads=8, head_dim=128, ffn_dim=16384, vocab=32000,
              max_seq_len=65536, experts=8, active_experts=2, published_parameters=141e9,
              published_active_parameters=39e9, aliases=("mixtral-8x22b",)),
]

ENCODERS = [
    ModelSpec("BERT_Base", "BERT-base (uncased)", "encoder",
              _src("Devlin et al., BERT (and HF bert-base-uncased config)", "https://arxiv.org/abs/1810.04805", "2018-10",
                   "110M parameters (HF BertModel: 109,482,240); the pooler (768*768 + 768) and the 2 segment embeddings are counted in extra_params; the embedding LayerNorm is the final_norm term."),
              layers=12, hidden_dim=768, heads=12, kv_heads=12, head_dim=64, ffn_dim=3072, vocab=30522,
              max_seq_len=512, gated_ffn=False, tied_embeddings=True, biases=True, layernorm=True,
              learned_positions=512, extra_params=768 * 768 + 768 + 2 * 768, published_parameters=110e6,
              aliases=("bert-base", "bert")),
    ModelSpec("ViT_B16", "ViT-B/16 (224)", "encoder",
              _src("Dosovitskiy et al., An Image is Worth 16x16 Words, Table 1; torchvision vit_b_16 model card",
                   "https://arxiv.org/abs/2010.11929", "2020-10",
                   "86.6M parameters (torchvision: 86,567,656); 17.56 G multiply-accumulates per 224x224 image (torchvision's "
                   "'GFLOPS' column counts MACs), stored as FLOPs = 2 x MACs. 197 tokens = 196 patches + [CLS]; "
                   "extra_params = patch embedding (16*16*3*768 + 768) + class token (768) + ImageNet head (768*1000 + 1000)."),
              layers=12, hidden_dim=768, heads=12, kv_heads=12, head_dim=64, ffn_dim=3072, vocab=0, max_seq_len=197,
              gated_ffn=False, biases=True, layernorm=True, learned_positions=197,
              extra_params=16 * 16 * 3 * 768 + 768 + 768 + 768 * 1000 + 1000, published_parameters=86.6e6,
              flops_per_inference=2 * 17.56e9, activation_bytes_fp32=4 * 24e6, input_shape=(3, 224, 224),
              task="image classification",
              field_sources={"activation_bytes_fp32": _src("Estimate", None, None,
                                                           "Sum of matmul outputs per image (QKV, scores, attn.V, proj, fc1, fc2 "
                                                           "x 12 layers + patch embed ~ 24M values), RegNet-style count.")},
              aliases=("vit-b/16", "vit-b-16", "vit")),
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
                   "~23.8B parameters, almost all in embedding tables. Dense part of the reference config (128-d embeddings, "
                   "bottom MLP 13-512-256-128, 3 low-rank (512) DCNv2 cross layers on 27 x 128 = 3456 inputs, top MLP "
                   "3456-1024-1024-512-256-1): 0.170M + 3 x 2 x 3456 x 512 + 5.243M = 16.03M MACs per sample, plus sparse "
                   "embedding gathers."),
              published_parameters=23.8e9, flops_per_inference=2 * 16.03e6, activation_bytes_fp32=4 * 13 * 128 * 2,
              input_shape=(13 + 26,), task="recommendation", aliases=("dlrm-v2", "dlrmv2")),
    ModelSpec("KWS_DSCNN", "Keyword spotting DS-CNN (MLPerf Tiny)", "tinyml",
              _src("MLPerf Tiny keyword spotting reference (DS-CNN); Zhang et al., Hello Edge", "https://github.com/mlcommons/tiny/tree/master/benchmark/training/keyword_spotting", "2021",
                   "~38.6k parameters (int8: ~39 KB), ~2.7M MACs per 1 s utterance (49x10 MFCC)."),
              published_parameters=38.6e3, flops_per_inference=2 * 2.7e6, activation_bytes_fp32=4 * 64 * 25 * 5 * 2,
              input_shape=(49, 10, 1), task="keyword spotting", aliases=("kws", "ds-cnn", "keyword spotting")),
    ModelSpec("EfficientNetB0", "EfficientNet-B0", "cnn",
              _src("Tan & Le, EfficientNet: Rethinking Model Scaling for CNNs, Table 2", "https://arxiv.org/abs/1905.11946", "2019-05",
                   "5.3M parameters, 0.39B 'FLOPS' which the paper counts as multiply-adds -> 0.78 GFLOPs stored; "
                   "activations 6.7M values (Radosavovic et al., Designing Network Design Spaces, 2020, Table 4)."),
              published_parameters=5.3e6, flops_per_inference=2 * 0.39e9, activation_bytes_fp32=4 * 6.7e6,
              input_shape=(3, 224, 224), task="image classification", aliases=("efficientnet-b0", "efficientnet")),
    ModelSpec("YOLOv8n", "YOLOv8n (640)", "cnn",
              _src("Ultralytics YOLOv8 documentation, detection models table", "https://docs.ultralytics.com/models/yolov8/", "2023-01",
                   "3.2M parameters, 8.7 GFLOPs per 640x640 image (Ultralytics reports 2 x MACs, so stored as is); COCO mAP 37.3."),
              published_parameters=3.2e6, flops_per_inference=8.7e9, activation_bytes_fp32=4 * 15e6,
              input_shape=(3, 640, 640), task="object detection",
              field_sources={"activation_bytes_fp32": _src("Estimate", None, None,
                                                           "Rough count of layer outputs at 640x640 (~15M values); not published.")},
              aliases=("yolov8-n", "yolov8", "yolo")),
]

ALL = DECODERS + ENCODERS + VISION_AND_OTHER
