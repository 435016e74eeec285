"""Energy, carbon, water and dollars against hand calculations."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mlsyslab as ml
from mlsyslab.errors import UnknownNameError, ValidationError

sus = ml.SustainabilitySolver()
cost = ml.CostSolver()


def test_energy_is_power_times_time_times_pue_by_hand():
    # 8 H100 at full load (700 W TDP each) for 24 h in a PUE 1.1 facility:
    # 8 x 0.7 kW x 24 h = 134.4 kWh of IT energy; x 1.1 = 147.84 kWh from the grid
    r = sus.solve("H100", n_devices=8, duration=ml.Q_(24, "hour"), utilization=1.0, pue=1.1, grid="France")
    assert r.it_energy.to("kWh").magnitude == pytest.approx(8 * 0.7 * 24)
    assert r.energy.to("kWh").magnitude == pytest.approx(8 * 0.7 * 24 * 1.1)
    assert r.energy.to("MJ").magnitude == pytest.approx(147.84 * 3.6)
    # carbon = energy x intensity: 147.84 kWh x 56 g/kWh (France, Ember 2023) = 8.279 kg
    assert r.operational_carbon.to("kgCO2e").magnitude == pytest.approx(147.84 * 56 / 1000)
    assert r.facility_power.to("kW").magnitude == pytest.approx(8 * 0.7 * 1.1)
    # a plain number of hours means the same
    assert sus.solve("H100", 8, 24, pue=1.1, grid="France").energy.magnitude == pytest.approx(r.energy.magnitude)
    assert sus.solve("H100", 8, ml.Q_(1, "day"), pue=1.1, grid="France").energy.magnitude == pytest.approx(147.84)


def test_power_model_idle_plus_utilization_share_of_tdp():
    # P = TDP x (idle + (1 - idle) x u): 700 W x (0.1 + 0.9 x 0.5) = 385 W
    r = sus.solve("H100", duration=10, utilization=0.5, pue=1.0)
    assert r.device_power.to("W").magnitude == pytest.approx(385)
    assert r.energy.to("kWh").magnitude == pytest.approx(0.385 * 10)
    idle = sus.solve("H100", duration=10, utilization=0.0, idle_fraction=0.2, pue=1.0)
    assert idle.device_power.to("W").magnitude == pytest.approx(140)


def test_defaults_and_datacenter():
    r = sus.solve("A100", n_devices=8, duration=100)
    assert r.pue == pytest.approx(1.58) and r.grid.key == "US_Average"  # industry-average PUE, U.S. grid
    dc = sus.solve("A100", n_devices=8, duration=100, datacenter="Hyperscale_Quebec")
    assert dc.pue == pytest.approx(1.10) and dc.grid.key == "Quebec" and dc.wue == pytest.approx(0.18)
    # 8 x 0.4 kW x 100 h x 1.10 = 352 kWh; x 0.36 g/kWh = 0.127 kg
    assert dc.operational_carbon.to("kgCO2e").magnitude == pytest.approx(352 * 0.36 / 1000)
    # an explicit pue overrides the datacenter's
    assert sus.solve("A100", 8, 100, datacenter="Hyperscale_Quebec", pue="Typical").pue == pytest.approx(1.58)


def test_water_on_site_and_off_site_by_hand():
    # on site: WUE x IT energy; off site (U.S. grid, Li et al. 2023): 3.14 L per kWh drawn
    r = sus.solve("H100", n_devices=8, duration=24, pue=1.1, wue=1.8, grid="US_Average")
    it = 8 * 0.7 * 24
    assert r.onsite_water.to("L").magnitude == pytest.approx(1.8 * it)
    assert r.offsite_water.to("L").magnitude == pytest.approx(3.14 * it * 1.1)
    assert r.water.to("L").magnitude == pytest.approx(1.8 * it + 3.14 * it * 1.1)
    france = sus.solve("H100", n_devices=8, duration=24, pue=1.1, wue=1.8, grid="France")
    assert not france.offsite_water_sourced and france.offsite_water.magnitude == 0


def test_embodied_carbon_where_sourced():
    # BLOOM paper: 150 kgCO2e per A100 over 6 years -> 8 GPUs x 100 h share = 8 x 150 x 100 / (6 x 8766)
    r = sus.solve("A100", n_devices=8, duration=100, pue=1.0)
    assert r.embodied_sourced
    assert r.embodied_carbon.to("kgCO2e").magnitude == pytest.approx(8 * 150 * 100 / (6 * 8766))
    assert r.total_carbon.magnitude == pytest.approx(r.operational_carbon.magnitude + r.embodied_carbon.magnitude)
    h = sus.solve("H100", duration=1)
    assert not h.embodied_sourced and h.embodied_carbon.magnitude == 0


def test_compare_grids_same_job():
    job = sus.solve("H100", n_devices=64, duration=ml.Q_(7, "day"), pue=1.1)
    cmp = sus.compare_grids(job, ["Quebec", "France", "Poland"])
    assert [r.grid.key for r in cmp] == ["Quebec", "France", "Poland"]
    energy = {r.energy.magnitude for r in cmp}
    assert len(energy) == 1  # the same kWh everywhere
    kwh = 64 * 0.7 * 24 * 7 * 1.1
    assert cmp["Poland"].operational_carbon.to("tCO2e").magnitude == pytest.approx(kwh * 662 / 1e6)
    assert cmp.ratio == pytest.approx(662 / 0.36)
    assert len(sus.compare_grids(dict(hardware="A100", duration=1))) == len(ml.Infra.Grids)
    assert cmp.to_records()[1]["carbon_g_per_kWh"] == 56


def test_sustainability_of_a_training_run():
    d = ml.DistributedSolver("ideal").solve("GPT2", "DGX_H100", n_gpus=8, microbatch_size=16, seq_len=1024)
    r = sus.solve(d, tokens=1e10, pue=1.0, grid="Norway")
    hours = 1e10 / d.tokens_per_second.magnitude / 3600
    assert r.n_devices == 8 and r.duration.to("hour").magnitude == pytest.approx(hours)
    assert r.energy.to("kWh").magnitude == pytest.approx(8 * 0.7 * hours)
    # a cluster counts all its GPUs
    assert sus.solve("DGX_H100_SU", duration=1, pue=1.0).energy.to("kWh").magnitude == pytest.approx(256 * 0.7)
    # ... unless told how many of them run
    assert sus.solve(ml.Systems.Clusters.DGX_H100_SU, n_devices=64, duration=1, pue=1.0).n_devices == 64
    # a datacenter of one's own: 4 A100 x 0.4 kW x 10 h x PUE 1.2 x 30 g/kWh (Norway)
    mine = ml.Infra.datacenter("Norway", pue=1.2)
    r = sus.solve("A100", n_devices=4, duration=10, datacenter=mine)
    assert r.operational_carbon.to("gCO2e").magnitude == pytest.approx(4 * 0.4 * 10 * 1.2 * 30)


@pytest.mark.parametrize("kwargs, field", [
    (dict(duration=None), "duration"),
    (dict(duration=-1), "duration"),
    (dict(duration=ml.Q_(3, "kg")), "duration"),
    (dict(duration=1, utilization=1.5), "utilization"),
    (dict(duration=1, pue=0.9), "pue"),
    (dict(duration=1, n_devices=0), "n_devices"),
])
def test_sustainability_bad_input(kwargs, field):
    with pytest.raises(ValidationError) as e:
        sus.solve("H100", **kwargs)
    assert e.value.field == field


def test_device_without_tdp_needs_power_and_unknown_grid_suggests():
    with pytest.raises(ValidationError, match="power") as e:
        sus.solve("TPUv5e", duration=1)
    assert e.value.field == "power"
    assert sus.solve("TPUv5e", duration=10, power=ml.Q_(200, "W"), pue=1.0).energy.to("kWh").magnitude == pytest.approx(2.0)
    with pytest.raises(UnknownNameError, match="Did you mean"):
        sus.solve("H100", duration=1, grid="Germny")


def test_serving_cost_per_million_tokens_by_hand():
    # Ideal decode of Llama-3.1-8B on one H100, batch 1 at 2048 tokens of context:
    # ITL = (weights 2 B x P + KV 2 x 32 layers x 8 heads x 128 x 2048 x 2 B) / 3.35 TB/s (memory-bound)
    P = ml.Models.Llama3_8B.n_parameters
    itl = (2 * P + 2 * 32 * 8 * 128 * 2048 * 2) / 3.35e12
    price = 2.99  # Lambda H100 SXM on-demand, $/GPU-hour: the cheapest listed for H100
    r = cost.serving_cost("Llama3_8B", "H100", seq_len=2048, batch_size=1, efficiency="ideal")
    assert r.price_per_gpu_hour.to("USD/hour").magnitude == pytest.approx(price)
    assert r.decode_throughput.magnitude == pytest.approx(1 / itl)
    # $ per 1M tokens = $/h / (tokens/s x 3600 s/h) x 1e6
    assert r.cost_per_million_tokens.to("USD").magnitude == pytest.approx(price / (3600 / itl) * 1e6)
    # batching spreads the same GPU-hour over more tokens; AWS's list price is 98.32 / 8 per GPU-hour
    big = cost.serving_cost("Llama3_8B", "H100", seq_len=2048, batch_size=32, provider="AWS", efficiency="ideal")
    tps = ml.ServingSolver("ideal").solve("Llama3_8B", "H100", seq_len=2048, batch_size=32).decode_throughput.magnitude
    assert big.cost_per_million_tokens.magnitude == pytest.approx(98.32 / 8 / (tps * 3600) * 1e6)
    tp2 = cost.serving_cost("Llama3_70B", "H100", tensor_parallel=4, price_per_gpu_hour=2.0)
    assert tp2.gpus == 4 and tp2.cost_per_hour.magnitude == pytest.approx(8.0)


def test_training_cost_by_hand():
    d = ml.DistributedSolver("ideal").solve("Llama3_8B", "DGX_H100_SU", n_gpus=64, tp=8, microbatches=8, seq_len=4096)
    tokens = 1e12
    c = cost.training_cost(d, tokens, price_per_gpu_hour=2.0)
    hours = tokens / d.tokens_per_second.magnitude / 3600
    assert c.gpu_hours.to("hour").magnitude == pytest.approx(64 * hours)
    assert c.total_cost.to("USD").magnitude == pytest.approx(64 * hours * 2.0)
    assert c.cost_per_million_tokens.magnitude == pytest.approx(64 * hours * 2.0 / 1e6)
    listed = cost.training_cost(d, tokens)
    assert listed.price_per_gpu_hour.magnitude == pytest.approx(2.99)


def test_cost_errors():
    with pytest.raises(ValidationError, match="price_per_gpu_hour") as e:
        cost.price_per_gpu_hour("MI300X")
    assert e.value.field == "hardware"
    with pytest.raises(ValidationError) as e:
        cost.price("H100", provider="Azur")
    assert e.value.field == "provider"
    with pytest.raises(ValidationError) as e:
        cost.training_cost("not a result", 1e9)
    assert e.value.field == "distributed_result"


def test_sustainability_example_runs(repo_root):
    out = subprocess.run([sys.executable, str(repo_root / "examples" / "sustainability.py")],
                         capture_output=True, text=True, timeout=120, cwd=repo_root)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert "147.84 kWh" in out.stdout  # 8 x 700 W x 24 h x 1.1
    assert "Poland" in out.stdout and "Quebec" in out.stdout


def test_every_result_serialises_to_json():
    import json

    d = ml.DistributedSolver().solve("GPT2", "DGX_H100", n_gpus=8)
    for r in (ml.Engine.solve("ResNet50", "A100"), d, sus.solve("H100", duration=1),
              cost.serving_cost("Llama3_8B", "H100"), cost.training_cost(d, 1e9)):
        back = json.loads(json.dumps(r.to_dict()))
        assert back and all(isinstance(k, str) for k in back)
