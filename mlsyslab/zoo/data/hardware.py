"""Datasheet figures for the hardware zoo. Data only: each entry cites its source.

Conventions (also in docs/catalog):

* Peak throughput is **dense** (no 2:4 structured sparsity). NVIDIA datasheets print the
  sparse figure for tensor precisions ("with sparsity"); we divide those by two and say so.
* Capacity carries its true unit. HBM and GDDR devices are built from binary-sized DRAM, so a
  vendor's "80GB" H100 holds 80 GiB (nvidia-smi: 81,559 MiB usable); we store 80 GiB.
* Interconnect bandwidth is the aggregate bidirectional figure vendors quote; solvers use half
  of it per direction.
* A precision appears only where the silicon has a native path for it (no fp32 on an MCU
  without an FPU, no bf16 on Turing, no fp8 on Ampere/CDNA2).
* A figure the vendor does not publish is marked in ``field_sources`` with a Source titled
  "Estimate" whose notes say how it was derived.
* One engine per device: Apple's Mac-class chips are described by their GPU (what ML
  frameworks use there), phone SoCs by their NPU; the other engine is mentioned in the notes.
"""

from __future__ import annotations

from ..specs import HardwareSpec, Source

T = 1e12
G = 1e9
GiB = 2 ** 30
MiB = 2 ** 20
KiB = 2 ** 10


def _hw(key, name, tier, vendor, *, mem, unit, bw_Bps, mem_type, peaks_T, tdp, source, **kw):
    """Build a HardwareSpec from datasheet units: ``mem`` in ``unit``; peaks in TFLOP/s."""
    scale = {"GiB": GiB, "MiB": MiB, "KiB": KiB, "GB": G}[unit]
    return HardwareSpec(key=key, name=name, tier=tier, vendor=vendor, memory_bytes=mem * scale,
                        capacity_unit=unit, memory_bandwidth_Bps=bw_Bps, memory_type=mem_type,
                        peak_flops={p: v * T for p, v in peaks_T.items()}, tdp_w=tdp, source=source, **kw)


_A100_DS = Source("NVIDIA A100 Tensor Core GPU datasheet", "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-nvidia-us-2188504-web.pdf",
                  "2021-06", "SXM figures; tensor peaks are the dense (non-sparse) column.")
_H100_DS = Source("NVIDIA H100 Tensor Core GPU datasheet", "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet",
                  "2023", "SXM5 column; datasheet tensor figures are with sparsity, halved here for dense.")
_H200_DS = Source("NVIDIA H200 Tensor Core GPU datasheet", "https://www.nvidia.com/en-us/data-center/h200/", "2024",
                  "H200 SXM; same GH100 compute as H100 SXM; sparse tensor figures halved.")
_NVLINK_LAT = Source("NVIDIA NCCL tests / NVLink latency", "https://github.com/NVIDIA/nccl-tests", "2023",
                     "Small-message all-reduce latency on NVLink is ~5-10 us; we use 8 us (A100/H100 class).")

CLOUD = [
    _hw("A100", "NVIDIA A100 SXM4 80GB", "Cloud", "NVIDIA", mem=80, unit="GiB", bw_Bps=2039 * G, mem_type="HBM2e",
        peaks_T={"fp32": 19.5, "tf32": 156, "bf16": 312, "fp16": 312, "int8": 624, "int4": 1248}, tdp=400,
        interconnect_name="NVLink 3", interconnect_Bps=600 * G, interconnect_latency_s=8e-6, host_Bps=64 * G, year=2020,
        source=_A100_DS, field_sources={"interconnect_latency_s": _NVLINK_LAT,
                                        "memory_bytes": Source("nvidia-smi on A100-SXM4-80GB", None, None, "reports 81,920 MiB = 80 GiB")},
        aliases=("A100 80GB", "A100-80GB", "A100 SXM", "A100_80GB")),
    _hw("A100_40GB", "NVIDIA A100 SXM4 40GB", "Cloud", "NVIDIA", mem=40, unit="GiB", bw_Bps=1555 * G, mem_type="HBM2",
        peaks_T={"fp32": 19.5, "tf32": 156, "bf16": 312, "fp16": 312, "int8": 624, "int4": 1248}, tdp=400,
        interconnect_name="NVLink 3", interconnect_Bps=600 * G, interconnect_latency_s=8e-6, host_Bps=64 * G, year=2020,
        source=_A100_DS, field_sources={"interconnect_latency_s": _NVLINK_LAT}, aliases=("A100 40GB",)),
    _hw("H100", "NVIDIA H100 SXM5 80GB", "Cloud", "NVIDIA", mem=80, unit="GiB", bw_Bps=3.35 * T, mem_type="HBM3",
        peaks_T={"fp32": 67, "tf32": 494.5, "bf16": 989.5, "fp16": 989.5, "fp8": 1979, "int8": 1979}, tdp=700,
        interconnect_name="NVLink 4", interconnect_Bps=900 * G, interconnect_latency_s=8e-6, host_Bps=128 * G, year=2022,
        source=_H100_DS, field_sources={"interconnect_latency_s": _NVLINK_LAT,
                                        "memory_bytes": Source("nvidia-smi on H100 80GB HBM3", None, None, "reports 81,559 MiB usable of 80 GiB")},
        aliases=("H100 SXM", "H100 SXM5", "H100-SXM", "H100 80GB")),
    _hw("H100_PCIe", "NVIDIA H100 PCIe 80GB", "Cloud", "NVIDIA", mem=80, unit="GiB", bw_Bps=2.0 * T, mem_type="HBM2e",
        peaks_T={"fp32": 51, "tf32": 378, "bf16": 756, "fp16": 756, "fp8": 1513, "int8": 1513}, tdp=350,
        interconnect_name="NVLink bridge", interconnect_Bps=600 * G, interconnect_latency_s=8e-6, host_Bps=128 * G, year=2022,
        source=_H100_DS, field_sources={"interconnect_latency_s": _NVLINK_LAT}, aliases=("H100 PCIe",)),
    _hw("H200", "NVIDIA H200 SXM 141GB", "Cloud", "NVIDIA", mem=141, unit="GiB", bw_Bps=4.8 * T, mem_type="HBM3e",
        peaks_T={"fp32": 67, "tf32": 494.5, "bf16": 989.5, "fp16": 989.5, "fp8": 1979, "int8": 1979}, tdp=700,
        interconnect_name="NVLink 4", interconnect_Bps=900 * G, interconnect_latency_s=8e-6, host_Bps=128 * G, year=2024,
        source=_H200_DS, field_sources={"interconnect_latency_s": _NVLINK_LAT,
                                        "memory_bytes": Source("nvidia-smi on H200", None, None, "reports 143,771 MiB (140.4 GiB); vendor's '141GB' counts binary")},
        aliases=("H200 SXM",)),
    _hw("GH200", "NVIDIA GH200 Grace Hopper Superchip (96GB HBM3)", "Cloud", "NVIDIA", mem=96, unit="GiB", bw_Bps=4.0 * T, mem_type="HBM3",
        peaks_T={"fp32": 67, "tf32": 494.5, "bf16": 989.5, "fp16": 989.5, "fp8": 1979, "int8": 1979}, tdp=1000,
        interconnect_name="NVLink 4", interconnect_Bps=900 * G, interconnect_latency_s=8e-6, host_Bps=900 * G, year=2023,
        source=Source("NVIDIA GH200 Grace Hopper Superchip datasheet", "https://resources.nvidia.com/en-us-grace-cpu/grace-hopper-superchip", "2023",
                      "96GB HBM3 variant, 4 TB/s; module power configurable 450-1000 W (max used as TDP); host link is NVLink-C2C 900 GB/s."),
        aliases=("Grace Hopper", "GH200 96GB")),
    _hw("B200", "NVIDIA B200 (HGX B200)", "Cloud", "NVIDIA", mem=180, unit="GiB", bw_Bps=7.7 * T, mem_type="HBM3e",
        peaks_T={"fp32": 75, "tf32": 1100, "bf16": 2250, "fp16": 2250, "fp8": 4500, "int8": 4500, "fp4": 9000}, tdp=1000,
        interconnect_name="NVLink 5", interconnect_Bps=1800 * G, interconnect_latency_s=8e-6, host_Bps=128 * G, year=2024,
        source=Source("NVIDIA HGX B200 / DGX B200 datasheets", "https://www.nvidia.com/en-us/data-center/hgx/", "2024",
                      "Per-GPU = HGX 8-GPU totals / 8; sparse tensor figures halved; DGX B200 lists 1,440 GB total (180 per GPU)."),
        field_sources={"interconnect_latency_s": _NVLINK_LAT}, aliases=("HGX B200",)),
    _hw("MI300X", "AMD Instinct MI300X", "Cloud", "AMD", mem=192, unit="GiB", bw_Bps=5.3 * T, mem_type="HBM3",
        peaks_T={"fp32": 163.4, "tf32": 653.7, "bf16": 1307.4, "fp16": 1307.4, "fp8": 2614.9, "int8": 2614.9}, tdp=750,
        interconnect_name="Infinity Fabric", interconnect_Bps=896 * G, interconnect_latency_s=10e-6, host_Bps=128 * G, year=2023,
        source=Source("AMD Instinct MI300X data sheet", "https://www.amd.com/en/products/accelerators/instinct/mi300/mi300x.html", "2023",
                      "Dense matrix figures (sparsity doubles them); 8 HBM3 stacks x 24 GiB."),
        aliases=("MI300", "Instinct MI300X")),
    _hw("L40S", "NVIDIA L40S", "Cloud", "NVIDIA", mem=48, unit="GiB", bw_Bps=864 * G, mem_type="GDDR6",
        peaks_T={"fp32": 91.6, "tf32": 183, "bf16": 362, "fp16": 362, "fp8": 733, "int8": 733, "int4": 733}, tdp=350,
        interconnect_name="PCIe Gen4", interconnect_Bps=64 * G, interconnect_latency_s=15e-6, host_Bps=64 * G, year=2023,
        source=Source("NVIDIA L40S GPU datasheet", "https://www.nvidia.com/en-us/data-center/l40s/", "2023",
                      "Tensor figures with sparsity halved for dense; no NVLink, peers talk over PCIe.")),
    _hw("L4", "NVIDIA L4", "Cloud", "NVIDIA", mem=24, unit="GiB", bw_Bps=300 * G, mem_type="GDDR6",
        peaks_T={"fp32": 30.3, "tf32": 60, "bf16": 121, "fp16": 121, "fp8": 242.5, "int8": 242.5}, tdp=72,
        interconnect_name="PCIe Gen4", interconnect_Bps=64 * G, interconnect_latency_s=15e-6, host_Bps=64 * G, year=2023,
        source=Source("NVIDIA L4 Tensor Core GPU datasheet", "https://www.nvidia.com/en-us/data-center/l4/", "2023",
                      "Tensor figures with sparsity halved for dense.")),
    _hw("TPUv5e", "Google Cloud TPU v5e", "Cloud", "Google", mem=16, unit="GiB", bw_Bps=819 * G, mem_type="HBM2e",
        peaks_T={"bf16": 197, "int8": 394}, tdp=None,
        interconnect_name="ICI", interconnect_Bps=400 * G, interconnect_latency_s=10e-6, year=2023,
        source=Source("Google Cloud TPU v5e documentation", "https://cloud.google.com/tpu/docs/v5e", "2023",
                      "Per chip; bidirectional ICI 400 GB/s per chip (the docs' table; older pages quoted 1,600 Gbps per direction); "
                      "HBM2 16 GiB, 819 GB/s; Google publishes no TDP."),
        aliases=("TPU v5e", "v5e")),
    _hw("TPUv5p", "Google Cloud TPU v5p", "Cloud", "Google", mem=95, unit="GiB", bw_Bps=2765 * G, mem_type="HBM2e",
        peaks_T={"bf16": 459, "int8": 918}, tdp=None,
        interconnect_name="ICI", interconnect_Bps=1200 * G, interconnect_latency_s=10e-6, year=2023,
        source=Source("Google Cloud TPU v5p documentation", "https://cloud.google.com/tpu/docs/v5p", "2023",
                      "Per chip; bidirectional ICI 1,200 GB/s per chip (the docs' table; 4,800 Gbps per direction); "
                      "HBM2e 95 GiB, 2,765 GB/s; Google publishes no TDP."),
        aliases=("TPU v5p", "v5p")),
    _hw("H100_NVL", "NVIDIA H100 NVL 94GB", "Cloud", "NVIDIA", mem=94, unit="GiB", bw_Bps=3.9 * T, mem_type="HBM3",
        peaks_T={"fp32": 60, "tf32": 417.5, "bf16": 835.5, "fp16": 835.5, "fp8": 1670.5, "int8": 1670.5}, tdp=400,
        interconnect_name="NVLink bridge", interconnect_Bps=600 * G, interconnect_latency_s=8e-6, host_Bps=128 * G, year=2023,
        source=Source("NVIDIA H100 Tensor Core GPU datasheet (H100 NVL column)", "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet",
                      "2024", "Per GPU of the NVL pair; datasheet tensor figures (TF32 835, FP16/BF16 1,671, FP8/INT8 3,341 TFLOPS) are "
                      "with sparsity, halved here for dense. 94 GB HBM3 counted binary (6 stacks, 94 GiB enabled). "
                      "Max power 350-400 W configurable (400 used)."),
        field_sources={"interconnect_latency_s": _NVLINK_LAT}, aliases=("H100 NVL", "H100-NVL")),
    _hw("A10G", "NVIDIA A10G (AWS G5)", "Cloud", "NVIDIA", mem=24, unit="GiB", bw_Bps=600 * G, mem_type="GDDR6",
        peaks_T={"fp32": 35, "tf32": 35, "bf16": 70, "fp16": 70, "int8": 140, "int4": 280}, tdp=300,
        interconnect_name="PCIe Gen4", interconnect_Bps=64 * G, interconnect_latency_s=15e-6, host_Bps=64 * G, year=2021,
        source=Source("Baseten, NVIDIA A10 vs A10G for ML model inference (spec table)", "https://www.baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference/",
                      "2023", "NVIDIA publishes no A10G datasheet (AWS-only part): compute figures are third-party and "
                      "approximate; dense tensor figures. Memory 24 GB GDDR6 (binary, 24 GiB) at 600 GB/s as on the A10."),
        field_sources={"tdp_w": Source("Estimate", None, None, "A10G board power is not published by NVIDIA; 300 W is the "
                                       "commonly reported figure (estimate).")},
        aliases=("A10G", "AWS G5", "g5")),
    _hw("A10", "NVIDIA A10", "Cloud", "NVIDIA", mem=24, unit="GiB", bw_Bps=600 * G, mem_type="GDDR6",
        peaks_T={"fp32": 31.2, "tf32": 62.5, "bf16": 125, "fp16": 125, "int8": 250, "int4": 500}, tdp=150,
        interconnect_name="PCIe Gen4", interconnect_Bps=64 * G, interconnect_latency_s=15e-6, host_Bps=64 * G, year=2021,
        source=Source("NVIDIA A10 Tensor Core GPU datasheet", "https://www.nvidia.com/en-us/data-center/products/a10-gpu/", "2021",
                      "Dense column of 'dense | sparse' tensor figures; 24 GB GDDR6 counted binary (24 GiB)."),
        aliases=("A10 24GB",)),
    _hw("T4", "NVIDIA T4", "Cloud", "NVIDIA", mem=16, unit="GiB", bw_Bps=320 * G, mem_type="GDDR6",
        peaks_T={"fp32": 8.1, "fp16": 65, "int8": 130, "int4": 260}, tdp=70,
        interconnect_name="PCIe Gen3", interconnect_Bps=32 * G, interconnect_latency_s=15e-6, host_Bps=32 * G, year=2018,
        source=Source("NVIDIA T4 Tensor Core GPU datasheet", "https://www.nvidia.com/en-us/data-center/tesla-t4/", "2019",
                      "Turing has no structured sparsity, so the datasheet figures are dense: FP32 8.1, mixed FP16/FP32 65, "
                      "INT8 130, INT4 260. No BF16/TF32 path. 16 GB GDDR6 counted binary (16 GiB; ~15 GiB usable with ECC on)."),
        aliases=("Tesla T4",)),
    _hw("TPUv4", "Google Cloud TPU v4", "Cloud", "Google", mem=32, unit="GiB", bw_Bps=1200 * G, mem_type="HBM2",
        peaks_T={"bf16": 275, "int8": 275}, tdp=192,
        interconnect_name="ICI", interconnect_Bps=300 * G, interconnect_latency_s=10e-6, year=2021,
        source=Source("Google Cloud TPU v4 documentation", "https://cloud.google.com/tpu/docs/v4", "2023",
                      "Per chip: 275 TFLOPS (bf16 or int8), HBM2 32 GiB at 1,200 GB/s; measured min/mean/max power "
                      "90/170/192 W (max used as TDP)."),
        field_sources={"interconnect_Bps": Source("Jouppi et al., TPU v4: An Optically Reconfigurable Supercomputer (ISCA 2023)",
                                                  "https://arxiv.org/abs/2304.01433", "2023",
                                                  "Estimate: 6 ICI links per chip x ~50 GB/s; the docs give no per-chip figure.")},
        aliases=("TPU v4", "v4")),
    _hw("MI250X", "AMD Instinct MI250X", "Cloud", "AMD", mem=128, unit="GiB", bw_Bps=3.2768 * T, mem_type="HBM2e",
        peaks_T={"fp32": 95.7, "bf16": 383, "fp16": 383, "int8": 383, "int4": 383}, tdp=560,
        interconnect_name="Infinity Fabric", interconnect_Bps=800 * G, interconnect_latency_s=10e-6, host_Bps=64 * G, year=2021,
        source=Source("AMD Instinct MI250X accelerator data sheet", "https://www.amd.com/en/products/accelerators/instinct/mi200/mi250x.html", "2021",
                      "OAM module (two GCDs counted together). Peak FP32 matrix/packed 95.7, FP16/BF16 383 TFLOPS, INT8/INT4 "
                      "383 TOPS; CDNA2 has no sparsity, so these are dense. 8 HBM2e stacks x 16 GiB; 3.2768 TB/s; 560 W peak; "
                      "up to 8 Infinity Fabric links, 800 GB/s peak aggregate. No TF32/FP8 path."),
        aliases=("MI250X", "Instinct MI250X")),
    _hw("MI325X", "AMD Instinct MI325X", "Cloud", "AMD", mem=256, unit="GiB", bw_Bps=6.0 * T, mem_type="HBM3e",
        peaks_T={"fp32": 163.4, "tf32": 653.7, "bf16": 1307.4, "fp16": 1307.4, "fp8": 2614.9, "int8": 2614.9}, tdp=1000,
        interconnect_name="Infinity Fabric", interconnect_Bps=896 * G, interconnect_latency_s=10e-6, host_Bps=128 * G, year=2024,
        source=Source("AMD Instinct MI325X data sheet", "https://www.amd.com/en/products/accelerators/instinct/mi300/mi325x.html", "2024",
                      "Same CDNA3 compute as MI300X; dense matrix figures (sparsity doubles them). 8 HBM3e stacks x 32 GiB = 256 GiB "
                      "at 6 TB/s; 1,000 W; 7 Infinity Fabric links x 128 GB/s."),
        aliases=("MI325", "Instinct MI325X")),
    _hw("Gaudi2", "Intel Gaudi 2 (HL-225H OAM)", "Cloud", "Intel", mem=96, unit="GiB", bw_Bps=2.46 * T, mem_type="HBM2e",
        peaks_T={"bf16": 432, "fp8": 865}, tdp=600,
        interconnect_name="24x 100GbE RoCE", interconnect_Bps=600 * G, interconnect_latency_s=10e-6, host_Bps=64 * G, year=2022,
        source=Source("Kaplan, Intel Gaudi 3 AI Accelerator: Architected for Gen AI Training and Inference (Hot Chips 2024), generations table; "
                      "Intel Gaudi 2 white paper", "https://www.intel.com/content/www/us/en/content-details/817486/intel-gaudi-3-ai-accelerator-white-paper.html",
                      "2024-08", "MME matrix peaks: BF16 432, FP8 865 TFLOPS (no sparsity). 6 HBM2e stacks x 16 GiB = 96 GiB at 2.46 TB/s; "
                      "600 W OAM; embedded NIC 2.4 Tb/s per direction = 600 GB/s bidirectional; PCIe 64 GB/s bidirectional. "
                      "FP8 865 is Intel's product-brief figure (one press report prints 835). "
                      "FP16/FP32 matrix rates are not published: absent here (fp16 work falls back to the bf16 rate)."),
        aliases=("Gaudi 2", "HL-225")),
    _hw("Gaudi3", "Intel Gaudi 3 (HL-325L OAM)", "Cloud", "Intel", mem=128, unit="GiB", bw_Bps=3.67 * T, mem_type="HBM2e",
        peaks_T={"bf16": 1835, "fp8": 1835}, tdp=900,
        interconnect_name="24x 200GbE RoCE", interconnect_Bps=1200 * G, interconnect_latency_s=10e-6, host_Bps=128 * G, year=2024,
        source=Source("Kaplan, Intel Gaudi 3 AI Accelerator: Architected for Gen AI Training and Inference (Hot Chips 2024)",
                      "https://www.intel.com/content/www/us/en/content-details/817486/intel-gaudi-3-ai-accelerator-white-paper.html", "2024-08",
                      "BF16 and FP8 matrix peaks both 1,835 TFLOPS (MME, dense); BF16 vector only 28.7. 8 HBM2e stacks x 16 GiB = 128 GiB "
                      "at 3.67 TB/s; 900 W air-cooled OAM (1,200 W liquid); networking 1,200 GB/s bidirectional; PCIe Gen5 128 GB/s bidirectional."),
        aliases=("Gaudi 3", "HL-325")),
]

WORKSTATION = [
    _hw("RTX4090", "NVIDIA GeForce RTX 4090", "Workstation", "NVIDIA", mem=24, unit="GiB", bw_Bps=1008 * G, mem_type="GDDR6X",
        peaks_T={"fp32": 82.6, "tf32": 82.6, "bf16": 165.2, "fp16": 165.2, "fp8": 330.3, "int8": 660.6, "int4": 1321.2}, tdp=450,
        interconnect_name="PCIe Gen4", interconnect_Bps=64 * G, interconnect_latency_s=15e-6, host_Bps=64 * G, year=2022,
        source=Source("NVIDIA Ada GPU Architecture whitepaper, Appendix A (RTX 4090)", "https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf",
                      "2022", "Dense figures; fp16/bf16/fp8 with FP32 accumulate (what frameworks use)."),
        aliases=("RTX 4090", "4090")),
    _hw("RTX6000Ada", "NVIDIA RTX 6000 Ada Generation", "Workstation", "NVIDIA", mem=48, unit="GiB", bw_Bps=960 * G, mem_type="GDDR6",
        peaks_T={"fp32": 91.1, "tf32": 182.1, "bf16": 364.2, "fp16": 364.2, "fp8": 728.5, "int8": 728.5, "int4": 1457}, tdp=300,
        interconnect_name="PCIe Gen4", interconnect_Bps=64 * G, interconnect_latency_s=15e-6, host_Bps=64 * G, year=2022,
        source=Source("NVIDIA RTX 6000 Ada Generation datasheet", "https://www.nvidia.com/en-us/design-visualization/rtx-6000/", "2022",
                      "Tensor figures with sparsity halved for dense."), aliases=("RTX 6000 Ada",)),
    _hw("M2Ultra", "Apple M2 Ultra (76-core GPU, 192GB)", "Workstation", "Apple", mem=192, unit="GiB", bw_Bps=800 * G, mem_type="LPDDR5",
        peaks_T={"fp32": 27.2, "fp16": 27.2}, tdp=None, year=2023,
        source=Source("Apple Mac Studio / Mac Pro (M2 Ultra) announcement", "https://www.apple.com/newsroom/2023/06/apple-introduces-m2-ultra/", "2023-06",
                      "Figures are the GPU's (what MLX/llama.cpp/PyTorch-MPS use): 76-core GPU 'up to 27.2 teraflops' FP32; 192 GB "
                      "unified LPDDR5 (binary, 192 GiB) at 800 GB/s. The 32-core Neural Engine's 31.6 TOPS is a separate engine, "
                      "not added here. Apple publishes no TDP."),
        field_sources={"peak_flops": Source("Estimate", None, None, "fp16 = fp32 rate: Apple GPUs of this generation run fp16 "
                                            "FMA at the fp32 rate (estimate; Apple does not publish an fp16 figure).")},
        aliases=("M2 Ultra", "Mac Studio M2 Ultra")),
    _hw("DGXSpark", "NVIDIA DGX Spark (GB10 Grace Blackwell, 128GB)", "Workstation", "NVIDIA", mem=128, unit="GiB", bw_Bps=273 * G, mem_type="LPDDR5X",
        peaks_T={"fp32": 31, "bf16": 125, "fp16": 125, "fp8": 250, "int8": 250, "fp4": 500}, tdp=140,
        interconnect_name="ConnectX-7 200GbE", interconnect_Bps=50 * G, interconnect_latency_s=20e-6, host_Bps=600 * G, year=2025,
        source=Source("NVIDIA DGX Spark product page and Hot Chips 2025 GB10 talk", "https://www.nvidia.com/en-us/products/workstations/dgx-spark/", "2025",
                      "'1 petaFLOP FP4' is with sparsity: dense fp4 = 500 TFLOPS. ~31 TFLOPS FP32 (Hot Chips). 128 GB unified LPDDR5X "
                      "(binary, 128 GiB) at 273 GB/s. GB10 SoC TDP 140 W (240 W system supply). CPU-GPU NVLink-C2C 600 GB/s "
                      "bidirectional (host link); one 200 Gb/s ConnectX-7 link to a second Spark = 50 GB/s bidirectional."),
        field_sources={"peak_flops": Source("Estimate", None, None, "fp8/int8 and fp16/bf16 dense rates are estimates: fp4 dense "
                                            "halved per doubling of width (250, 125), NVIDIA's usual tensor-core ratio; NVIDIA "
                                            "publishes only the fp4 and fp32 figures.")},
        aliases=("DGX Spark", "GB10", "Project DIGITS")),
]

EDGE = [
    _hw("JetsonAGXOrin", "NVIDIA Jetson AGX Orin 64GB", "Edge", "NVIDIA", mem=64, unit="GiB", bw_Bps=204.8 * G, mem_type="LPDDR5",
        peaks_T={"fp32": 5.3, "fp16": 68.75, "int8": 137.5}, tdp=60, year=2023,
        source=Source("NVIDIA Jetson AGX Orin Series data sheet", "https://www.nvidia.com/en-us/autonomous-machines/embedded-systems/jetson-orin/", "2023",
                      "275 TOPS headline is INT8 with sparsity (GPU + 2 DLA): dense int8 = 137.5; fp16 = half of int8 (seed's convention). fp32 = 2048 CUDA cores x 2 x 1.3 GHz."),
        aliases=("AGX Orin", "Jetson AGX Orin 64GB")),
    _hw("JetsonOrinNX", "NVIDIA Jetson Orin NX 16GB", "Edge", "NVIDIA", mem=16, unit="GiB", bw_Bps=102.4 * G, mem_type="LPDDR5",
        peaks_T={"fp32": 1.9, "fp16": 25, "int8": 50}, tdp=25, year=2023,
        source=Source("NVIDIA Jetson Orin NX Series data sheet", "https://developer.nvidia.com/downloads/jetson-orin-nx-series-data-sheet", "2023",
                      "100 TOPS headline is INT8 with sparsity (GPU + DLA): dense int8 = 50, fp16 = 25 TFLOP/s (MLSYSIM v0.1.0's fix of its 100 TFLOP/s error). fp32 = 1024 cores x 2 x 0.918 GHz."),
        aliases=("Orin NX", "Jetson Orin NX 16GB")),
    _hw("JetsonOrinNano", "NVIDIA Jetson Orin Nano 8GB", "Edge", "NVIDIA", mem=8, unit="GiB", bw_Bps=68 * G, mem_type="LPDDR5",
        peaks_T={"fp32": 1.28, "fp16": 10, "int8": 20}, tdp=15, year=2023,
        source=Source("NVIDIA Jetson Orin Nano Series data sheet", "https://www.nvidia.com/en-us/autonomous-machines/embedded-systems/jetson-orin/", "2023",
                      "40 TOPS headline is INT8 with sparsity: dense int8 = 20; fp16 = 10. fp32 = 1024 cores x 2 x 0.625 GHz."),
        aliases=("Orin Nano",)),
    _hw("CoralDevBoard", "Google Coral Dev Board (Edge TPU + NXP i.MX 8M)", "Edge", "Google", mem=1, unit="GiB", bw_Bps=12.8 * G, mem_type="LPDDR4",
        peaks_T={"int8": 4}, tdp=2, year=2019,
        source=Source("Coral Edge TPU / M.2 Accelerator datasheets and Dev Board datasheet", "https://coral.ai/docs/dev-board/datasheet/", "2020",
                      "Edge TPU: 4 TOPS int8 only, 0.5 W per TOPS (2 W at peak, used as TDP; the i.MX 8M host SoC is not counted). "
                      "1 GB LPDDR4 on the SoM (binary, 1 GiB); the Edge TPU caches parameters in ~8 MB of on-chip SRAM."),
        field_sources={"memory_bandwidth_Bps": Source("Estimate from the NXP i.MX 8M datasheet", "https://www.nxp.com/products/i.MX8M", None,
                                                      "x32 LPDDR4-3200 = 12.8 GB/s peak (estimate; Coral publishes no bandwidth).")},
        aliases=("Coral", "Edge TPU", "Coral Dev Board")),
    _hw("RaspberryPi5", "Raspberry Pi 5 (BCM2712, 4x Cortex-A76 @ 2.4 GHz, 8GB)", "Edge", "Raspberry Pi", mem=8, unit="GiB", bw_Bps=17.07 * G, mem_type="LPDDR4X",
        peaks_T={"fp32": 0.1536, "fp16": 0.3072, "int8": 0.6144}, tdp=9, year=2023,
        source=Source("Raspberry Pi 5 product brief", "https://datasheets.raspberrypi.com/rpi5/raspberry-pi-5-product-brief.pdf", "2023-10",
                      "LPDDR4X-4267 on a 32-bit bus = 17.07 GB/s; 8 GB counted binary (8 GiB). Peaks from the Cortex-A76 core: 2 x 128-bit "
                      "NEON FMA pipes -> fp32 4 cores x 2 x 4 lanes x 2 FLOP x 2.4 GHz = 153.6 GFLOP/s; fp16 (Armv8.2 FP16) twice that; "
                      "int8 via SDOT, 16 MAC per pipe per cycle = 614.4 GOP/s. No GPU/NPU compute counted."),
        field_sources={"tdp_w": Source("Estimate", None, None, "Raspberry Pi publishes no TDP; ~9 W is the board's measured draw "
                                       "under an all-core stress load (estimate). PSU is 27 W.")},
        aliases=("Pi 5", "Raspberry Pi 5", "RPi5")),
]

MOBILE = [
    _hw("A17Pro", "Apple A17 Pro Neural Engine", "Mobile", "Apple", mem=8, unit="GiB", bw_Bps=51.2 * G, mem_type="LPDDR5",
        peaks_T={"fp16": 17.5, "int8": 35}, tdp=8, year=2023,
        source=Source("Apple iPhone 15 Pro announcement", "https://www.apple.com/newsroom/2023/09/apple-unveils-iphone-15-pro-and-iphone-15-pro-max/", "2023-09",
                      "Neural Engine '35 trillion operations per second' (int8); fp16 taken as half. Bandwidth: LPDDR5-6400 x 64-bit. Power: sustained SoC budget estimate, not an Apple figure."),
        field_sources={"tdp_w": Source("Estimate", None, None, "Apple publishes no TDP; ~8 W is a typical phone SoC peak budget.")},
        aliases=("iPhone 15 Pro", "A17")),
    _hw("Snapdragon8Gen3", "Qualcomm Snapdragon 8 Gen 3 (Hexagon NPU)", "Mobile", "Qualcomm", mem=12, unit="GiB", bw_Bps=76.8 * G, mem_type="LPDDR5X",
        peaks_T={"fp16": 17, "int8": 34, "int4": 68}, tdp=10, year=2023,
        source=Source("Qualcomm Snapdragon 8 Gen 3 product brief", "https://www.qualcomm.com/products/mobile/snapdragon/smartphones/snapdragon-8-series-mobile-platforms/snapdragon-8-gen-3-mobile-platform", "2023-10",
                      "Qualcomm does not print NPU TOPS for this part; 34 int8 TOPS is the widely reported press-briefing figure. LPDDR5X-4800 x 64-bit = 76.8 GB/s."),
        aliases=("Snapdragon 8 Gen 3", "SD8G3")),
    _hw("TensorG3", "Google Tensor G3 (TPU)", "Mobile", "Google", mem=12, unit="GiB", bw_Bps=68.3 * G, mem_type="LPDDR5X",
        peaks_T={"fp16": 7.5, "int8": 15}, tdp=8, year=2023,
        source=Source("Google Pixel 8 Pro specifications", "https://store.google.com/product/pixel_8_pro_specs", "2023-10",
                      "Google publishes no TOPS; ~15 int8 TOPS is a third-party estimate (treat as approximate). LPDDR5X 64-bit."),
        aliases=("Pixel 8", "Tensor G3")),
    _hw("A18Pro", "Apple A18 Pro Neural Engine", "Mobile", "Apple", mem=8, unit="GiB", bw_Bps=60 * G, mem_type="LPDDR5X",
        peaks_T={"fp16": 17.5, "int8": 35}, tdp=8, year=2024,
        source=Source("Apple iPhone 16 Pro announcement", "https://www.apple.com/newsroom/2024/09/apple-debuts-iphone-16-pro-and-iphone-16-pro-max/", "2024-09",
                      "16-core Neural Engine, 35 trillion operations per second (int8); fp16 taken as half (as for A17 Pro). "
                      "'17 percent more system memory bandwidth' than A17 Pro: LPDDR5X-7500 x 64-bit = 60 GB/s. 8 GB counted binary."),
        field_sources={"tdp_w": Source("Estimate", None, None, "Apple publishes no TDP; ~8 W is a typical phone SoC peak budget."),
                       "memory_bandwidth_Bps": Source("Estimate", None, None, "Apple gives only the +17% relative figure; "
                                                      "60 GB/s assumes LPDDR5X-7500 on a 64-bit bus.")},
        aliases=("iPhone 16 Pro", "A18 Pro")),
    _hw("M4iPad", "Apple M4 (iPad Pro) Neural Engine", "Mobile", "Apple", mem=8, unit="GiB", bw_Bps=120 * G, mem_type="LPDDR5X",
        peaks_T={"fp16": 19, "int8": 38}, tdp=15, year=2024,
        source=Source("Apple M4 announcement (iPad Pro)", "https://www.apple.com/newsroom/2024/05/apple-introduces-m4-chip/", "2024-05",
                      "16-core Neural Engine, 38 trillion operations per second (int8); fp16 taken as half. 120 GB/s unified memory "
                      "bandwidth; 8 GB (256/512 GB models; 16 GB on 1/2 TB) counted binary."),
        field_sources={"tdp_w": Source("Estimate", None, None, "Apple publishes no TDP; ~15 W is an estimate for the M4 in a fanless tablet.")},
        aliases=("M4", "iPad Pro M4", "M4 iPad")),
]

TINY = [
    _hw("STM32H7", "STMicroelectronics STM32H743 (Cortex-M7 @ 480 MHz)", "Tiny", "ST", mem=1024, unit="KiB", bw_Bps=1.92 * G, mem_type="SRAM",
        peaks_T={"fp32": 0.96e-3, "int8": 1.92e-3}, tdp=0.5, year=2017,
        source=Source("STM32H743 datasheet (DS12110) and Arm Cortex-M7 TRM", "https://www.st.com/resource/en/datasheet/stm32h743zi.pdf", "2019",
                      "1 MB SRAM, 2 MB flash. fp32: 1 FMA/cycle x 480 MHz; int8: SMLAD 2 MAC/cycle (4 ops). Bandwidth: 32-bit AXI SRAM at 480 MHz. Power: ~0.5 W run mode at full speed."),
        aliases=("STM32H743", "Cortex-M7")),
    _hw("NanoBLE", "Arduino Nano 33 BLE Sense (nRF52840, Cortex-M4F @ 64 MHz)", "Tiny", "Nordic/Arduino", mem=256, unit="KiB", bw_Bps=0.256 * G, mem_type="SRAM",
        peaks_T={"fp32": 0.128e-3, "int8": 0.256e-3}, tdp=0.05, year=2019,
        source=Source("Nordic nRF52840 product specification v1.7", "https://infocenter.nordicsemi.com/pdf/nRF52840_PS_v1.7.pdf", "2021",
                      "256 KB SRAM, 1 MB flash. fp32: 1 FMA/cycle x 64 MHz; int8: dual 16-bit MAC (SMLAD). Power ~15 mA x 3.3 V at full load."),
        aliases=("Arduino Nano 33 BLE", "nRF52840", "Cortex-M4")),
    _hw("ESP32S3", "Espressif ESP32-S3 (dual Xtensa LX7 @ 240 MHz)", "Tiny", "Espressif", mem=512, unit="KiB", bw_Bps=0.96 * G, mem_type="SRAM",
        peaks_T={"fp32": 0.96e-3, "int8": 15.36e-3}, tdp=0.5, year=2021,
        source=Source("ESP32-S3 Series datasheet v1.x and Technical Reference Manual", "https://www.espressif.com/sites/default/files/documentation/esp32-s3_datasheet_en.pdf", "2023",
                      "512 KB SRAM. fp32: 2 cores x 1 FMA x 240 MHz; int8: 128-bit SIMD (16 MAC/cycle/core) x 2 cores x 2 ops x 240 MHz "
                      "= 15.36 GOP/s. Power ~0.5 W peak Wi-Fi off."),
        aliases=("ESP32-S3",)),
    _hw("RP2040", "Raspberry Pi RP2040 (dual Cortex-M0+ @ 133 MHz)", "Tiny", "Raspberry Pi", mem=264, unit="KiB", bw_Bps=0.532 * G, mem_type="SRAM",
        peaks_T={"int8": 0.266e-3}, tdp=0.1, year=2021,
        source=Source("RP2040 datasheet", "https://datasheets.raspberrypi.com/rp2040/rp2040-datasheet.pdf", "2021",
                      "264 KB SRAM; int8: 1 MAC/cycle/core (single-cycle 32-bit multiplier) x 2 cores x 133 MHz. No FPU: floating "
                      "point is software (ROM routines, ~0.013 GFLOP/s), so no fp32 entry (only native paths are listed). Power ~0.1 W."),
        aliases=("Raspberry Pi Pico", "Pico")),
    _hw("AlifE7", "Alif Ensemble E7 (Cortex-M55 @ 400 MHz + Ethos-U55-256)", "Tiny", "Alif", mem=13.5, unit="MiB", bw_Bps=6.4 * G, mem_type="SRAM",
        peaks_T={"fp32": 1.6e-3, "fp16": 3.2e-3, "int8": 0.2048}, tdp=0.3, year=2022,
        source=Source("Alif Semiconductor Ensemble E7 product page; Arm Ethos-U55 and Cortex-M55 technical reference manuals",
                      "https://alifsemi.com/ensemble-e7-series/", "2023",
                      "High-performance subsystem only. int8: Ethos-U55 with 256 MAC/cycle x 2 ops x 400 MHz = 204.8 GOP/s. "
                      "fp32/fp16: Cortex-M55 Helium (dual-beat MVE) 2 fp32 or 4 fp16 FMA/cycle x 400 MHz. Up to 13.5 MB on-chip SRAM."),
        field_sources={"memory_bandwidth_Bps": Source("Estimate", None, None, "Ethos-U55 has two 64-bit AXI ports: 2 x 8 B x 400 MHz "
                                                      "= 6.4 GB/s (estimate)."),
                       "tdp_w": Source("Estimate", None, None, "Alif publishes no maximum power for this subsystem; ~0.3 W estimate.")},
        aliases=("Ensemble E7", "Ethos-U55", "Cortex-M55")),
    _hw("ArduinoUno", "Arduino Uno R3 (ATmega328P @ 16 MHz)", "Tiny", "Microchip/Arduino", mem=2, unit="KiB", bw_Bps=0.016 * G, mem_type="SRAM",
        peaks_T={"int8": 16e-6}, tdp=0.1, year=2010,
        source=Source("Microchip ATmega328P datasheet (DS40002061)", "https://ww1.microchip.com/downloads/en/DeviceDoc/ATmega48A-PA-88A-PA-168A-PA-328-P-DS-DS40002061A.pdf", "2018",
                      "2 KB SRAM, 32 KB flash, 8-bit AVR at 16 MHz. int8: 2-cycle 8x8 hardware multiplier -> <= 8 M MAC/s = 16 MOP/s "
                      "(optimistic peak). No FPU: floating point is software-emulated, so no fp32 entry. Bandwidth: ~1 byte/cycle."),
        field_sources={"tdp_w": Source("Estimate", None, None, "MCU alone ~12 mA x 5 V = 0.06 W; 0.1 W rounded up (estimate).")},
        aliases=("Arduino Uno", "ATmega328P", "Uno")),
]

ALL = CLOUD + WORKSTATION + EDGE + MOBILE + TINY
