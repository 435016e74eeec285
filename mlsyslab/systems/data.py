"""Datasheet figures for fabrics, nodes and clusters. Data only: each entry cites its source.

Bandwidth is stored per direction (vendors quote NVLink and PCIe bidirectionally: "900 GB/s"
NVLink 4 = 450 GB/s each way; network ports are quoted per direction: "400 Gb/s" NDR = 50 GB/s).
Latency is the per-collective alpha term of the alpha-beta model used by
:func:`mlsyslab.solvers.distributed.ring_allreduce_time`: for NVLink and PCIe the small-message
NCCL latency already used by the hardware zoo; for networks an estimate (stated in the notes).
"""

from __future__ import annotations

from ..zoo import Hardware
from ..zoo.specs import Source
from .specs import ClusterSpec, FabricSpec, NodeSpec

G = 1e9

_NVLINK = Source("NVIDIA NVLink and NVSwitch overview", "https://www.nvidia.com/en-us/data-center/nvlink/", "2024",
                 "Per-GPU total bandwidth, both directions: NVLink 3 (A100) 600 GB/s = 12 links x 50 GB/s; "
                 "NVLink 4 (H100) 900 GB/s = 18 links x 50 GB/s; NVLink 5 (Blackwell) 1.8 TB/s = 18 x 100 GB/s. "
                 "Stored here per direction (half).")
_NCCL_LAT = Source("NVIDIA NCCL tests / NVLink latency", "https://github.com/NVIDIA/nccl-tests", "2023",
                   "Small-message all-reduce latency on NVLink is ~5-10 us; 8 us used (same as the hardware zoo).")
_PCIE = Source("PCI-SIG PCI Express Base Specification 4.0 / 5.0", "https://pcisig.com/specifications", "2017/2019",
               "x16 link: Gen4 16 GT/s -> ~32 GB/s per direction (64 GB/s bidirectional); Gen5 32 GT/s -> ~64 GB/s per "
               "direction (128 GB/s). Latency: small-message NCCL over PCIe ~10-20 us (15 us, as in the hardware zoo).")
_IB = Source("InfiniBand Trade Association roadmap; NVIDIA ConnectX-6/ConnectX-7 and Quantum-X800 product briefs",
             "https://www.infinibandta.org/infiniband-roadmap/", "2024",
             "Per-port data rate per direction: HDR 200 Gb/s = 25 GB/s, NDR 400 Gb/s = 50 GB/s, XDR 800 Gb/s = 100 GB/s. "
             "Hardware one-way latency is ~1 us (adapter <600 ns + switch hops); the 5 us per collective used here is "
             "an estimate of NCCL's small-message latency across nodes, not a vendor figure.")
_ROCE = Source("IEEE 802.3 Ethernet rates (100GBASE, 200GBASE, 400GBASE); RoCE v2 (InfiniBand Trade Association Annex A17)",
               "https://www.infinibandta.org/specs/", "2014-2017",
               "Per-port rate per direction: 100 GbE = 12.5 GB/s, 200 GbE = 25 GB/s, 400 GbE = 50 GB/s. The 8 us per "
               "collective is an estimate (Ethernet switching adds latency over InfiniBand), not a vendor figure.")

FABRICS = [
    FabricSpec("NVLink3", "NVLink 3 (A100)", "intra-node", 300 * G, 8e-6, _NVLINK, "3",
               field_sources={"latency_s": _NCCL_LAT}, aliases=("NVLink 3", "NVLink3.0")),
    FabricSpec("NVLink4", "NVLink 4 (H100)", "intra-node", 450 * G, 8e-6, _NVLINK, "4",
               field_sources={"latency_s": _NCCL_LAT}, aliases=("NVLink 4",)),
    FabricSpec("NVLink5", "NVLink 5 (Blackwell)", "intra-node", 900 * G, 8e-6, _NVLINK, "5",
               field_sources={"latency_s": _NCCL_LAT}, aliases=("NVLink 5",)),
    FabricSpec("NVSwitch", "NVSwitch (3rd gen, NVLink 4 all-to-all, DGX H100)", "intra-node", 450 * G, 8e-6,
               Source("NVIDIA DGX H100 datasheet; NVLink/NVSwitch overview", "https://www.nvidia.com/en-us/data-center/nvlink/", "2023",
                      "Four third-generation NVSwitch chips give every one of 8 GPUs its full 900 GB/s (bidirectional) "
                      "NVLink 4 bandwidth to any other: 450 GB/s per direction per GPU."),
               "3", field_sources={"latency_s": _NCCL_LAT}, aliases=("NVSwitch3",)),
    FabricSpec("PCIeGen4", "PCI Express 4.0 x16", "intra-node", 32 * G, 15e-6, _PCIE, "4", aliases=("PCIe Gen4", "PCIe4")),
    FabricSpec("PCIeGen5", "PCI Express 5.0 x16", "intra-node", 64 * G, 15e-6, _PCIE, "5", aliases=("PCIe Gen5", "PCIe5")),
    FabricSpec("InfiniBandHDR", "InfiniBand HDR (200 Gb/s)", "inter-node", 25 * G, 5e-6, _IB, "HDR", aliases=("IB HDR", "HDR")),
    FabricSpec("InfiniBandNDR", "InfiniBand NDR (400 Gb/s)", "inter-node", 50 * G, 5e-6, _IB, "NDR", aliases=("IB NDR", "NDR")),
    FabricSpec("InfiniBandXDR", "InfiniBand XDR (800 Gb/s)", "inter-node", 100 * G, 5e-6, _IB, "XDR", aliases=("IB XDR", "XDR")),
    FabricSpec("RoCE100", "RoCE v2 over 100 GbE", "inter-node", 12.5 * G, 8e-6, _ROCE, "100GbE", aliases=("RoCE 100G", "100GbE")),
    FabricSpec("RoCE200", "RoCE v2 over 200 GbE", "inter-node", 25 * G, 8e-6, _ROCE, "200GbE", aliases=("RoCE 200G", "200GbE")),
    FabricSpec("RoCE400", "RoCE v2 over 400 GbE", "inter-node", 50 * G, 8e-6, _ROCE, "400GbE", aliases=("RoCE 400G", "400GbE")),
]
_F = {f.key: f for f in FABRICS}

NODES = [
    NodeSpec("DGX_A100", "NVIDIA DGX A100 (640 GB)", Hardware.get("A100"), 8, _F["NVLink3"], _F["InfiniBandHDR"], 8,
             Source("NVIDIA DGX A100 datasheet", "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/nvidia-dgx-a100-datasheet.pdf",
                    "2020", "8x A100 80GB, 6 NVSwitches (600 GB/s bidirectional per GPU), 8 single-port ConnectX-6 200 Gb/s "
                            "HDR for compute (storage NICs not counted), 6.5 kW max system power."),
             power_w=6500, aliases=("DGX A100",)),
    NodeSpec("DGX_H100", "NVIDIA DGX H100", Hardware.get("H100"), 8, _F["NVSwitch"], _F["InfiniBandNDR"], 8,
             Source("NVIDIA DGX H100 datasheet", "https://resources.nvidia.com/en-us-dgx-systems/ai-enterprise-dgx", "2023",
                    "8x H100 SXM5, 4 NVSwitches (900 GB/s bidirectional per GPU), 8 ConnectX-7 400 Gb/s NDR/400GbE "
                    "(4 OSFP ports) for compute, ~10.2 kW max system power."),
             power_w=10200, aliases=("DGX H100",)),
    NodeSpec("HGX_B200", "NVIDIA HGX / DGX B200", Hardware.get("B200"), 8, _F["NVLink5"], _F["InfiniBandNDR"], 8,
             Source("NVIDIA DGX B200 datasheet", "https://www.nvidia.com/en-us/data-center/dgx-b200/", "2024",
                    "8x B200, 2 NVSwitch chips (NVLink 5, 1.8 TB/s bidirectional per GPU, 14.4 TB/s total), 8 single-port "
                    "ConnectX-7 VPI 400 Gb/s, ~14.3 kW max system power."),
             power_w=14300, aliases=("HGX B200 node", "DGX B200", "DGX_B200")),
    NodeSpec("GrandTeton_H100", "Meta Grand Teton (8x H100)", Hardware.get("H100"), 8, _F["NVLink4"], _F["RoCE400"], 8,
             Source("Meta Engineering, Building Meta's GenAI Infrastructure", "https://engineering.fb.com/2024/03/12/data-center-engineering/building-metas-genai-infrastructure/",
                    "2024-03-12", "Grand Teton servers with 8 H100 GPUs; 400 Gb/s endpoints (one per GPU). Node power not published."),
             aliases=("Grand Teton",)),
]
_N = {n.key: n for n in NODES}

_SUPERPOD_H100 = Source("NVIDIA DGX SuperPOD reference architecture (DGX H100)",
                        "https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-h100/latest/", "2023",
                        "A scalable unit (SU) is 32 DGX H100 systems (256 GPUs) on an NDR 400 Gb/s InfiniBand compute fabric.")
_SUPERPOD_A100 = Source("NVIDIA DGX SuperPOD reference architecture (DGX A100)",
                        "https://docs.nvidia.com/dgx-superpod/reference-architecture/", "2020",
                        "A scalable unit is 20 DGX A100 systems; the full SuperPOD is 140 systems (1,120 GPUs) on HDR InfiniBand.")
_META = Source("Meta Engineering, Building Meta's GenAI Infrastructure",
               "https://engineering.fb.com/2024/03/12/data-center-engineering/building-metas-genai-infrastructure/", "2024-03-12",
               "Two 24,576-GPU H100 clusters: one on RoCE (Arista 7800), one on NVIDIA Quantum-2 InfiniBand, both 400 Gb/s endpoints.")

CLUSTERS = [
    ClusterSpec("DGX_H100_SU", "DGX SuperPOD H100 scalable unit (32 x DGX H100)", _N["DGX_H100"], 32, _F["InfiniBandNDR"],
                _SUPERPOD_H100, aliases=("SuperPOD H100 SU",)),
    ClusterSpec("DGX_A100_SuperPOD", "DGX SuperPOD A100 (140 x DGX A100)", _N["DGX_A100"], 140, _F["InfiniBandHDR"],
                _SUPERPOD_A100, aliases=("SuperPOD A100",)),
    ClusterSpec("Meta_RoCE_24K", "Meta 24K-GPU H100 cluster (RoCE)", _N["GrandTeton_H100"], 3072, _F["RoCE400"], _META,
                aliases=("Meta RoCE cluster",)),
    ClusterSpec("Meta_IB_24K", "Meta 24K-GPU H100 cluster (InfiniBand)", _N["GrandTeton_H100"], 3072, _F["InfiniBandNDR"], _META,
                aliases=("Meta InfiniBand cluster",)),
]
