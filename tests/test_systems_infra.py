"""Systems (fabrics, nodes, clusters) and Infra (grids, PUE, WUE, racks, datacenters, prices) zoos."""

from __future__ import annotations

import pytest

import mlsyslab as ml
from mlsyslab.errors import UnknownNameError, ValidationError

Systems, Infra = ml.Systems, ml.Infra

REQUIRED_FABRICS = ["NVLink3", "NVLink4", "NVLink5", "NVSwitch", "PCIeGen4", "PCIeGen5", "InfiniBandHDR",
                    "InfiniBandNDR", "InfiniBandXDR", "RoCE100", "RoCE200", "RoCE400"]
REQUIRED_GRIDS = ["Quebec", "France", "Norway", "California", "US_Average", "Germany", "India", "Poland"]


@pytest.mark.parametrize("key", REQUIRED_FABRICS)
def test_every_required_fabric_is_sourced(key):
    f = getattr(Systems.Fabrics, key)
    assert f.bandwidth_Bps > 0 and f.latency_s > 0
    assert f.source.url and f.source.title
    assert f.bidirectional_bandwidth.to("GB/s").magnitude == pytest.approx(2 * f.bandwidth.to("GB/s").magnitude)


@pytest.mark.parametrize("key, bidirectional_GBps", [
    ("NVLink3", 600),   # 12 links x 50 GB/s (A100 datasheet "600 GB/s")
    ("NVLink4", 900),   # 18 links x 50 GB/s (H100 "900 GB/s")
    ("NVLink5", 1800),  # Blackwell "1.8 TB/s"
    ("PCIeGen4", 64),   # x16: 16 GT/s x 16 lanes / 8 bits ~ 32 GB/s each way
    ("PCIeGen5", 128),
])
def test_gpu_links_match_the_vendor_bidirectional_figures(key, bidirectional_GBps):
    f = getattr(Systems.Fabrics, key)
    assert f.bidirectional_bandwidth.to("GB/s").magnitude == pytest.approx(bidirectional_GBps)
    assert f.bandwidth.to("GB/s").magnitude == pytest.approx(bidirectional_GBps / 2)


@pytest.mark.parametrize("key, gbit_per_s", [
    ("InfiniBandHDR", 200), ("InfiniBandNDR", 400), ("InfiniBandXDR", 800),
    ("RoCE100", 100), ("RoCE200", 200), ("RoCE400", 400)])
def test_network_ports_are_their_line_rate_per_direction(key, gbit_per_s):
    f = getattr(Systems.Fabrics, key)
    assert f.bandwidth.to("Gbit/s").magnitude == pytest.approx(gbit_per_s)  # 400 Gb/s = 50 GB/s
    assert f.scope == "inter-node"


def test_nodes_are_eight_gpus_with_their_fabric_and_nics():
    dgx_a, dgx_h, hgx_b = Systems.Nodes.DGX_A100, Systems.Nodes.DGX_H100, Systems.Nodes.HGX_B200
    assert [n.gpu.key for n in (dgx_a, dgx_h, hgx_b)] == ["A100", "H100", "B200"]
    assert all(n.gpus_per_node == 8 for n in (dgx_a, dgx_h, hgx_b))
    assert dgx_h.intra_fabric.bidirectional_bandwidth.to("GB/s").magnitude == pytest.approx(900)
    assert hgx_b.intra_fabric.key == "NVLink5"
    # 8 x 200 Gb/s HDR over 8 GPUs = 25 GB/s per GPU; 8 x 400 Gb/s NDR = 50 GB/s per GPU
    assert dgx_a.network_bandwidth_per_gpu.to("GB/s").magnitude == pytest.approx(25)
    assert dgx_h.network_bandwidth_per_gpu.to("GB/s").magnitude == pytest.approx(50)
    assert dgx_h.power.to("kW").magnitude == pytest.approx(10.2)


def test_cluster_constructor_and_published_clusters():
    c = Systems.cluster("DGX_H100", 4, "InfiniBandNDR")
    assert c.n_gpus == 32 and c.gpu.key == "H100" and c.fabric.key == "InfiniBandNDR"
    assert c.inter_Bps == pytest.approx(50e9)
    assert c.power_w == pytest.approx(4 * 10200)
    assert Systems.cluster("DGX_A100", 2).fabric.key == "InfiniBandHDR"  # defaults to the node's NICs
    assert Systems.Clusters.Meta_RoCE_24K.n_gpus == 24_576  # Meta: "24,576 GPUs" per cluster
    assert Systems.Clusters.DGX_H100_SU.n_gpus == 256  # SuperPOD scalable unit: 32 DGX H100
    assert Systems.get("dgx h100") is Systems.Nodes.DGX_H100
    assert Systems.get("DGX_H100_SU") is Systems.Clusters.DGX_H100_SU


def test_systems_errors_name_the_field_and_suggest():
    with pytest.raises(ValidationError, match="inter-node") as e:
        Systems.cluster("DGX_H100", 4, "NVLink4")
    assert e.value.field == "fabric"
    with pytest.raises(UnknownNameError, match="DGX_H100"):
        Systems.cluster("DGX H10", 4)
    with pytest.raises(ValidationError) as e:
        Systems.cluster("DGX_H100", 0)
    assert e.value.field == "n_nodes"
    with pytest.raises(UnknownNameError, match="Did you mean"):
        Systems.get("Meta_RoCE_24")


@pytest.mark.parametrize("key", REQUIRED_GRIDS)
def test_required_grids_have_source_and_year(key):
    g = getattr(Infra.Grids, key)
    assert g.carbon_g_per_kWh > 0 and 2010 <= g.year <= 2026
    assert g.source.url and g.scope in ("lifecycle", "direct")
    assert g.carbon_intensity.to("kgCO2e/kWh").magnitude == pytest.approx(g.carbon_g_per_kWh / 1000)


def test_grid_figures_are_the_published_ones():
    # Ember 2023 (lifecycle): France 56, Norway 30, Germany 381, India 713, Poland 662 gCO2e/kWh
    for key, value in (("France", 56), ("Norway", 30), ("Germany", 381), ("India", 713), ("Poland", 662)):
        assert getattr(Infra.Grids, key).carbon_g_per_kWh == value
    # EIA 2022: 0.86 lb CO2 per kWh x 453.592 g/lb = 390 g/kWh
    assert Infra.Grids.US_Average.carbon_g_per_kWh == pytest.approx(0.86 * 453.592, rel=2e-3)
    # CARB LCFS 2020: 82.92 gCO2e/MJ x 3.6 MJ/kWh
    assert Infra.Grids.California.carbon_g_per_kWh == pytest.approx(82.92 * 3.6, rel=1e-3)
    # Hydro-Quebec 2016: 360 t CO2/TWh = 0.36 g/kWh
    assert Infra.Grids.Quebec.carbon_g_per_kWh == pytest.approx(360e6 / 1e9)
    order = sorted(REQUIRED_GRIDS, key=lambda k: getattr(Infra.Grids, k).carbon_g_per_kWh)
    assert order[0] == "Quebec" and order[-1] == "India"


def test_pue_wue_racks_datacenters():
    assert Infra.PUE.Hyperscale.pue == pytest.approx(1.10) and Infra.PUE.Typical.pue == pytest.approx(1.58)
    assert all(p.pue >= 1 for p in Infra.PUE)
    assert Infra.WUE.Typical.wue.to("L/kWh").magnitude == pytest.approx(1.8)
    assert Infra.WUE.Hyperscale.wue_L_per_kWh < Infra.WUE.Typical.wue_L_per_kWh
    assert Infra.Racks.DGX_H100_Rack.power.to("kW").magnitude == pytest.approx(4 * 10.2)
    dc = Infra.Datacenters.Typical_US
    assert (dc.grid.key, dc.pue.pue, dc.wue.wue_L_per_kWh) == ("US_Average", 1.58, 1.8)
    mine = Infra.datacenter("Norway", pue=1.2, wue="Hyperscale")
    assert mine.grid.carbon_g_per_kWh == 30 and mine.pue.pue == 1.2
    for e in list(Infra.PUE) + list(Infra.WUE) + list(Infra.Racks):
        assert e.source.title


@pytest.mark.parametrize("kwargs, field", [(dict(pue=0.8), "pue"), (dict(wue=-1), "wue"), (dict(pue="Hyperscal3"), "pue")])
def test_infra_errors(kwargs, field):
    with pytest.raises(ValidationError) as e:
        Infra.datacenter("France", **kwargs)
    assert e.value.field == field
    with pytest.raises(UnknownNameError, match="Poland"):
        Infra.Grids.get("Polnd")


def test_prices_per_gpu_hour_by_hand():
    p = Infra.Prices.AWS_p5_H100
    assert p.per_gpu_hour.to("USD/hour").magnitude == pytest.approx(98.32 / 8)  # $12.29 per GPU-hour
    assert p.source.url and p.date
    assert [q.key for q in Infra.prices_for("H100")] == ["Lambda_H100", "AWS_p5_H100"]  # cheapest first
    assert Infra.prices_for("MI300X") == []
