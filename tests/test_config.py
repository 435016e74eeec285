"""SimulationConfig: YAML and JSON load, every error is reported at once with its field path."""

from __future__ import annotations

import json

import pytest

import mlsyslab as ml
from mlsyslab.config import ConfigError, SimulationConfig
from mlsyslab.errors import ValidationError

H100_BW, H100_FP16 = 3.35e12, 989.5e12
P8 = 8_030_261_248  # Llama-3.1-8B, derived by hand in tests/test_scenarios.py


@pytest.fixture(scope="module")
def configs(repo_root):
    return repo_root / "mlsyslab" / "examples"


def paths(exc: ConfigError) -> list[str]:
    return [e.path for e in exc.errors]


def test_broken_example_reports_all_eight_errors_with_paths(configs):
    with pytest.raises(ConfigError) as info:
        SimulationConfig.from_file(configs / "broken.yaml")
    exc = info.value
    assert isinstance(exc, ValidationError)
    assert paths(exc) == ["scenarioz", "scenarios[0].model", "scenarios[0].sla.ttft", "scenarios[0].sla.thruput",
                          "scenarios[1].hardware", "scenarios[1].seq_len", "scenarios[1].utilization",
                          "scenarios[2].grid"]
    text = {e.path: e.message for e in exc.errors}
    assert "Did you mean 'scenarios'" in text["scenarioz"]
    assert "Did you mean 'Llama3_8B'" in text["scenarios[0].model"]
    assert "[time]" in text["scenarios[0].sla.ttft"] and "5 GB" in text["scenarios[0].sla.ttft"]
    assert "Did you mean 'throughput'" in text["scenarios[0].sla.thruput"]
    assert "Did you mean 'H100'" in text["scenarios[1].hardware"]
    assert ">= 1" in text["scenarios[1].seq_len"]
    assert "between 0 and 1" in text["scenarios[1].utilization"]
    assert "Did you mean 'Quebec'" in text["scenarios[2].grid"]
    assert str(exc).startswith("8 errors in") and exc.one_line().count(" | ") == 7 and "\n" not in exc.one_line()


def test_n_distinct_errors_in_a_dict_are_all_reported():
    d = {
        "defaults": {"precison": "fp16"},                                       # 1 unknown key in defaults
        "scenarios": [
            {"model": "Llama3_8B", "hardware": "H100", "tensor_parallel": 3},   # 2 cross-field: 3 does not divide 32
            {"model": "Llama3_8B", "hardware": "H100", "batch_size": -4,        # 3 range
             "sla": {"itl": "20 tokens/s", "max_memory_utilization": 1.2}},     # 4 dimension, 5 range
            {"model": "Llama3_8B", "hardware": "H100", "zero_stage": 5,         # 6 choice
             "efficiency": "perfect", "recompute": "yes"},                      # 7 choice, 8 type
            {"hardware": "A100"},                                               # 9 missing model
            "not a mapping",                                                    # 10 wrong type
        ],
    }
    with pytest.raises(ConfigError) as info:
        SimulationConfig.from_dict(d)
    assert sorted(paths(info.value)) == sorted([
        "defaults.precison", "scenarios[0].tensor_parallel", "scenarios[1].batch_size", "scenarios[1].sla.itl",
        "scenarios[1].sla.max_memory_utilization", "scenarios[2].zero_stage", "scenarios[2].efficiency",
        "scenarios[2].recompute", "scenarios[3].model", "scenarios[4]"])
    assert len(info.value.errors) == 10
    assert "Did you mean 'precision'" in str(info.value)


def test_sweep_errors_point_at_the_list_element():
    d = {"scenarios": [{"model": "Llama3_8B", "hardware": "H100", "sweep": {"grid": ["Quebec", "Polnd"],
                                                                          "colour": [1]}}]}
    with pytest.raises(ConfigError) as info:
        SimulationConfig.from_dict(d)
    assert paths(info.value) == ["scenarios[0].sweep.grid[1]", "scenarios[0].sweep.colour"]
    assert "Did you mean 'Poland'" in str(info.value)


def test_syntax_errors_are_config_errors(tmp_path):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("scenarios:\n  - model: Llama3_8B\n    hardware: [H100\n")
    with pytest.raises(ConfigError) as info:
        SimulationConfig.from_file(bad_yaml)
    assert "invalid YAML" in str(info.value) and info.value.errors[0].path.startswith("line ")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"scenarios": [}')
    with pytest.raises(ConfigError) as info:
        SimulationConfig.from_file(bad_json)
    assert info.value.errors[0].path == "line 1 column 16" and "invalid JSON" in str(info.value)
    with pytest.raises(ValidationError):
        SimulationConfig.from_file(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError):
        SimulationConfig.from_dict(["not", "a", "mapping"])


YAML_TEXT = """
defaults:
  efficiency: ideal
scenarios:
  - name: chat
    model: Llama3_8B
    hardware: H100
    seq_len: 2048 tokens
    sla: {ttft: 0.05 s, itl: 4, throughput: 200 tokens/s}
"""


def test_yaml_and_json_load_the_same_config(tmp_path):
    as_dict = {"defaults": {"efficiency": "ideal"},
               "scenarios": [{"name": "chat", "model": "Llama3_8B", "hardware": "H100", "seq_len": "2048 tokens",
                              "sla": {"ttft": "0.05 s", "itl": 4, "throughput": "200 tokens/s"}}]}
    (tmp_path / "c.yaml").write_text(YAML_TEXT)
    (tmp_path / "c.json").write_text(json.dumps(as_dict))
    cards = [SimulationConfig.from_file(tmp_path / f).run()[0].to_dict() for f in ("c.yaml", "c.json")]
    assert cards[0] == cards[1]
    # figures by hand: ideal roofline of Llama-3.1-8B fp16 at S=2048, B=1 on an H100
    W, KV = 2 * P8, 2 * 32 * 8 * 128 * 2048 * 2
    ttft = (2 * P8 * 2048 + 2 * 32 * 2048 ** 2 * 4096) / H100_FP16
    itl = (W + KV) / H100_BW
    checks = {c["metric"]: c for c in cards[0]["performance"]["checks"]}
    assert checks["ttft"]["predicted"] == pytest.approx(ttft * 1e3, rel=1e-9)
    assert checks["ttft"]["limit"] == pytest.approx(50)
    assert checks["ttft"]["margin"] == pytest.approx((50 - ttft * 1e3) / 50, rel=1e-9)
    assert checks["itl"]["margin"] == pytest.approx((4 - itl * 1e3) / 4, rel=1e-9)
    assert checks["throughput"]["predicted"] == pytest.approx(1 / itl, rel=1e-9)
    assert cards[0]["violations"] == ["itl"]


def test_example_configs_load_and_run(configs):
    serving = SimulationConfig.from_file(configs / "serving_sla.yaml")
    assert [s.name for s in serving] == ["llama8b-h100", "llama8b-a100", "llama70b-h100-tp4", "llama70b-h100-int4"]
    assert all(s.seq_len == 4096 and s.batch_size == 16 for s in serving)          # from defaults
    assert serving.scenarios[3].precision == "int4" and serving.scenarios[3].kv_precision == "fp16"
    cards = serving.run()
    assert all({"ttft", "itl", "throughput", "max_memory_utilization"} <= {c.metric for c in card.checks}
               for card in cards)
    grids = SimulationConfig.from_file(configs / "sustainability_grids.json")
    assert [s.grid.key for s in grids] == ["Quebec", "France", "US_Average", "Poland"]
    g = grids.run()
    energies = {c.inputs["grid"]: c.macro.value("energy") for c in g}
    carbons = {c.inputs["grid"]: c.macro.value("carbon") for c in g}
    assert len(set(round(e, 6) for e in energies.values())) == 1   # same job, same energy
    for grid, carbon in carbons.items():                           # carbon = energy x grid intensity
        assert carbon == pytest.approx(energies[grid] * ml.Infra.Grids.get(grid).carbon_g_per_kWh / 1e3, rel=1e-9)
    assert carbons["Poland"] / carbons["France"] == pytest.approx(662 / 56, rel=1e-9)
    training = SimulationConfig.from_file(configs / "training_job.yaml")
    (card,) = training.run()
    assert card.kind == "training" and card.inputs["n_gpus"] == 256 and card.inputs["data_parallel"] == 8
    assert card.check("time_to_train").limit == pytest.approx(60 * 24)                   # 60 days in hours


def test_validation_happens_before_any_solving(monkeypatch):
    from mlsyslab.solvers import serving

    def boom(*args, **kwargs):
        raise AssertionError("solved before validating")

    monkeypatch.setattr(serving.ServingSolver, "solve", boom)
    with pytest.raises(ConfigError):
        SimulationConfig.from_dict({"scenarios": [{"model": "Llama3_8B", "hardware": "H100", "seq_len": 0},
                                                  {"model": "Llama3_8B", "hardware": "H100"}]})
    cfg = SimulationConfig.from_dict({"scenarios": [{"model": "Llama3_8B", "hardware": "H100"}]})
    assert len(cfg) == 1  # building checked everything, solved nothing


def test_wrong_units_and_dimensions_are_reported_per_field():
    d = {"version": 2, "scenarios": [{
        "model": "Llama3_8B", "hardware": "H100", "seq_len": "5 GB", "pue": "1.2 kW", "tokens": "1e9 s",
        "price_per_device_hour": "3 USD", "batch_size": 2.5, "precision": "fp12"}]}
    with pytest.raises(ConfigError) as info:
        SimulationConfig.from_dict(d)
    msg = {e.path: e.message for e in info.value.errors}
    assert set(msg) == {"version", "scenarios[0].seq_len", "scenarios[0].pue", "scenarios[0].tokens",
                        "scenarios[0].price_per_device_hour", "scenarios[0].batch_size", "scenarios[0].precision"}
    assert "'5 GB'" in msg["scenarios[0].seq_len"] and "[token]" in msg["scenarios[0].seq_len"]
    assert "dimensionless" in msg["scenarios[0].pue"]
    assert "[currency] / [time]" in msg["scenarios[0].price_per_device_hour"]
    assert "whole number" in msg["scenarios[0].batch_size"]
    # the right units load: strings with units, and plain numbers in the documented default unit
    sc = SimulationConfig.from_dict({"scenarios": [{"model": "Llama3_8B", "hardware": "H100", "seq_len": "4096 tokens",
                                                    "price_per_device_hour": "3 USD/hour", "pue": 1.2}]}).scenarios[0]
    assert sc.seq_len == 4096 and sc.price_per_device_hour == 3.0 and sc.pue == 1.2


JUNK = [None, [], {}, "x", -1, 0, 1e308, True, "1e999 ms", "nan", float("nan"), float("inf"), [1, 2], {"a": 1},
        "1/0", "5 GB", "$", "-5 ms", "__import__('os')"]


@pytest.mark.parametrize("key", sorted(set(__import__("mlsyslab.config", fromlist=["x"]).SCENARIO_FIELDS)
                                       | {"sla", "sweep"}))
def test_junk_in_any_field_is_a_config_error_naming_that_field(key):
    """Every junk value either loads or raises ConfigError whose errors name the field (never another exception)."""
    for value in JUNK:
        item = {"model": "Llama3_8B", "hardware": "H100"}
        if key in ("workload", "system", "node", "cluster"):
            item.pop("model" if key == "workload" else "hardware")
        item[key] = value
        try:
            SimulationConfig.from_dict({"scenarios": [item]})
        except ConfigError as exc:
            assert all(e.path.startswith(f"scenarios[0].") for e in exc.errors), exc
            assert any(key in e.path or e.path.endswith((".model", ".hardware")) for e in exc.errors), exc


@pytest.mark.parametrize("limit", ["ttft", "itl", "throughput", "max_memory_utilization", "cost_per_million_tokens"])
def test_junk_sla_limit_is_one_error_at_its_path(limit):
    for value in JUNK:
        try:
            SimulationConfig.from_dict({"scenarios": [{"model": "Llama3_8B", "hardware": "H100", "sla": {limit: value}}]})
        except ConfigError as exc:
            assert [e.path for e in exc.errors] == [f"scenarios[0].sla.{limit}"], exc
