"""Systems: fabrics, nodes and clusters that accelerators are built into.

``Systems.Fabrics.NVLink4``, ``Systems.Nodes.DGX_H100``, ``Systems.Clusters.DGX_H100_SU``;
``Systems.get("dgx h100")`` looks across all three; ``Systems.cluster(node, n_nodes, fabric)``
builds a cluster of your own. Figures and their sources live in :mod:`mlsyslab.systems.data`.
"""

from __future__ import annotations

from .. import inputs
from ..errors import UnknownNameError, ValidationError
from ..inputs import did_you_mean
from ..zoo.registry import Registry, normalize_name
from ..zoo.specs import Source
from . import data as _data
from .specs import ClusterSpec, FabricSpec, NodeSpec

Fabrics = Registry("Systems.Fabrics", _data.FABRICS)
Nodes = Registry("Systems.Nodes", _data.NODES)
Clusters = Registry("Systems.Clusters", _data.CLUSTERS)


class _Systems:
    """Namespace of the systems zoo (``mlsyslab.Systems``)."""

    Fabrics = Fabrics
    Nodes = Nodes
    Clusters = Clusters
    FabricSpec, NodeSpec, ClusterSpec = FabricSpec, NodeSpec, ClusterSpec

    def get(self, name, field: str = "system"):
        """A cluster, node or fabric by name (clusters first); specs pass through."""
        if isinstance(name, (ClusterSpec, NodeSpec, FabricSpec)):
            return name
        for reg in (Clusters, Nodes, Fabrics):
            if isinstance(name, str) and name in reg:
                return reg.get(name)
        names = Clusters.names() + Nodes.names() + Fabrics.names()
        raise UnknownNameError(f"{field}={name!r} is not a known cluster, node or fabric."
                               f"{did_you_mean(str(name), names)} See mlsyslab.Systems.names().",
                               field=field, value=name, allowed=", ".join(names))

    def names(self) -> list[str]:
        return Clusters.names() + Nodes.names() + Fabrics.names()

    def cluster(self, node, n_nodes, fabric=None, name: str | None = None) -> ClusterSpec:
        """``n_nodes`` copies of ``node`` joined by ``fabric`` (default: the node's own NIC fabric)."""
        nd = Nodes.get(node, field="node")
        n = inputs.positive_int(n_nodes, "n_nodes", maximum=1_000_000)
        fab = nd.nic if fabric is None else Fabrics.get(fabric, field="fabric")
        if fab.scope != "inter-node" and n > 1:
            raise ValidationError(f"fabric={fab.key!r} is an {fab.scope} fabric; joining nodes needs an inter-node fabric: one of "
                                  f"{', '.join(f.key for f in Fabrics if f.scope == 'inter-node')}.",
                                  field="fabric", value=fab.key, allowed="an inter-node fabric")
        key = name or f"{nd.key}_x{n}"
        return ClusterSpec(key, name or f"{n} x {nd.name} on {fab.name}", nd, n, fab,
                           Source("Built with Systems.cluster()", None, None,
                                  f"Figures come from {nd.key} and {fab.key}."))

    def __repr__(self) -> str:
        return f"<Systems: {len(Fabrics)} fabrics, {len(Nodes)} nodes, {len(Clusters)} clusters>"

    def __dir__(self):
        return ["Fabrics", "Nodes", "Clusters", "get", "names", "cluster"]


Systems = _Systems()

__all__ = ["Systems", "Fabrics", "Nodes", "Clusters", "FabricSpec", "NodeSpec", "ClusterSpec", "normalize_name"]
