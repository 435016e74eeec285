"""Typed specs for fabrics, nodes and clusters (figures in base units; quantities on read).

A *fabric* is a link technology; bandwidth is stored **per direction, per GPU port** (what a
ring collective sends at) and ``bidirectional`` is twice that, as vendors usually quote it.
A *node* is N accelerators joined by an intra-node fabric plus network cards (NICs) to the
rest of the cluster; a *cluster* is N identical nodes joined by an inter-node fabric.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..units import quantity
from ..zoo.specs import HardwareSpec, Source, _Sourced


@dataclass(frozen=True, eq=False)
class FabricSpec(_Sourced):
    """A link technology (NVLink, PCIe, InfiniBand, RoCE).

    Parameters
    ----------
    bandwidth_Bps : float
        Bandwidth per direction of one device's (or one port's) attachment, bytes/s.
    latency_s : float
        Small-message latency of one transfer, seconds (used once per collective step).
    scope : str
        ``"intra-node"`` (GPU-to-GPU inside a server) or ``"inter-node"`` (network).
    """

    key: str
    name: str
    scope: str
    bandwidth_Bps: float
    latency_s: float
    source: Source
    generation: str = ""
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    @property
    def bandwidth(self):
        """Per direction."""
        return quantity(self.bandwidth_Bps / 1e9, "GB/s")

    @property
    def bidirectional_bandwidth(self):
        return quantity(2 * self.bandwidth_Bps / 1e9, "GB/s")

    @property
    def latency(self):
        return quantity(self.latency_s * 1e6, "us")

    def __repr__(self) -> str:
        return (f"<Fabric {self.key}: {self.bandwidth_Bps / 1e9:g} GB/s per direction "
                f"({2 * self.bandwidth_Bps / 1e9:g} GB/s bidirectional), {self.latency_s * 1e6:g} us>")


@dataclass(frozen=True, eq=False)
class NodeSpec(_Sourced):
    """A server: ``gpus_per_node`` accelerators on an intra-node fabric plus ``nics`` NICs.

    Parameters
    ----------
    gpu : HardwareSpec
        The accelerator.
    intra_fabric : FabricSpec
        GPU-to-GPU fabric inside the node (bandwidth per GPU per direction).
    nic : FabricSpec
        The network the node's NICs speak; ``nics`` of them (compute NICs only).
    power_w : float | None
        System maximum power, W (all GPUs, CPUs, NICs, fans), from the system datasheet.
    """

    key: str
    name: str
    gpu: HardwareSpec
    gpus_per_node: int
    intra_fabric: FabricSpec
    nic: FabricSpec
    nics: int
    source: Source
    power_w: float | None = None
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    @property
    def network_Bps_per_gpu(self) -> float:
        """Inter-node bandwidth one GPU gets, per direction: nics x NIC bandwidth / GPUs."""
        return self.nics * self.nic.bandwidth_Bps / self.gpus_per_node

    @property
    def network_bandwidth_per_gpu(self):
        return quantity(self.network_Bps_per_gpu / 1e9, "GB/s")

    @property
    def power(self):
        return None if self.power_w is None else quantity(self.power_w / 1e3, "kW")

    @property
    def memory_bytes(self) -> float:
        return self.gpus_per_node * self.gpu.memory_bytes

    def __repr__(self) -> str:
        return (f"<Node {self.key}: {self.gpus_per_node} x {self.gpu.key}, {self.intra_fabric.key} "
                f"+ {self.nics} x {self.nic.key}>")


@dataclass(frozen=True, eq=False)
class ClusterSpec(_Sourced):
    """``n_nodes`` identical nodes joined by an inter-node ``fabric`` (``n_gpus`` in all)."""

    key: str
    name: str
    node: NodeSpec
    n_nodes: int
    fabric: FabricSpec
    source: Source
    field_sources: dict = field(default_factory=dict)
    aliases: tuple = ()

    @property
    def n_gpus(self) -> int:
        return self.n_nodes * self.node.gpus_per_node

    @property
    def gpu(self) -> HardwareSpec:
        return self.node.gpu

    @property
    def gpus_per_node(self) -> int:
        return self.node.gpus_per_node

    @property
    def intra_Bps(self) -> float:
        """Per-GPU, per-direction bandwidth inside a node."""
        return self.node.intra_fabric.bandwidth_Bps

    @property
    def inter_Bps(self) -> float:
        """Per-GPU, per-direction bandwidth between nodes (limited by NICs and the fabric)."""
        per_gpu_ports = self.node.nics * min(self.node.nic.bandwidth_Bps, self.fabric.bandwidth_Bps)
        return per_gpu_ports / self.node.gpus_per_node

    @property
    def power_w(self) -> float | None:
        return None if self.node.power_w is None else self.n_nodes * self.node.power_w

    def __repr__(self) -> str:
        return (f"<Cluster {self.key}: {self.n_nodes} x {self.node.key} = {self.n_gpus} {self.gpu.key}, "
                f"{self.fabric.key}>")
