"""The ``mlsyslab`` command, run as a subprocess: exit codes, --json figures by hand, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GiB = 2 ** 30
P8 = 8_030_261_248  # Llama-3.1-8B parameters, derived by hand in tests/test_scenarios.py
H100_BW, H100_FP16 = 3.35e12, 989.5e12


def mlsyslab(*args, cwd=None, timeout=120):
    """Run ``python -m mlsyslab ARGS`` with this interpreter (the venv's)."""
    env = dict(os.environ, PYTHONWARNINGS="default")
    return subprocess.run([sys.executable, "-m", "mlsyslab", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def assert_one_line_error(proc, *words):
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "error" in lines[0]
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_console_script_and_help(repo_root):
    script = Path(sys.executable).parent / "mlsyslab"
    assert script.exists()
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    for cmd in ("zoo", "serve", "roofline", "train", "sustain", "run", "lab"):
        assert cmd in proc.stdout


def test_zoo_hardware_json_is_truthful_about_gib_and_gb():
    proc = mlsyslab("zoo", "hardware", "--tier", "cloud", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["key"]: r for r in json.loads(proc.stdout)}
    h100 = rows["H100"]
    assert h100["memory"] == "80 GiB"
    assert h100["memory_bytes"] == 80 * GiB
    assert h100["memory_GB"] == pytest.approx(80 * GiB / 1e9)            # 85.9 GB
    assert h100["bandwidth_TB_per_s"] == pytest.approx(3.35)
    assert h100["peak_TFLOP_per_s"]["fp16"] == pytest.approx(989.5)
    assert all(r["tier"] == "Cloud" for r in rows.values())
    table = mlsyslab("zoo", "hardware").stdout
    assert "80 GiB" in table and "85.9" in table and "memory [GB]" in table and "Mobile" in table


def test_zoo_models_json_and_family_filter():
    proc = mlsyslab("zoo", "models", "--json")
    assert proc.returncode == 0
    rows = {r["key"]: r for r in json.loads(proc.stdout)}
    assert rows["Llama3_8B"]["parameters"] == P8
    assert rows["ResNet50"]["gflops_per_inference"] == pytest.approx(8.18)
    cnn = json.loads(mlsyslab("zoo", "models", "--family", "cnn", "--json").stdout)
    assert cnn and all(r["family"] == "cnn" for r in cnn)


def test_serve_json_matches_hand_calculation():
    proc = mlsyslab("serve", "--model", "Llama3_8B", "--hardware", "H100", "--seq-len", 4096, "--batch", 8,
                    "--precision", "fp16", "--ideal", "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    S, B, L, a = 4096, 8, 32, 4096
    W = 2 * P8
    KV = 2 * L * 8 * 128 * S * B * 2
    ttft = max((2 * P8 * S * B + 2 * L * S * S * a * B) / H100_FP16, (W + KV) / H100_BW)
    itl = max((2 * P8 * B + 4 * L * S * a * B) / H100_FP16, (W + KV) / H100_BW)
    assert d["ttft_ms"] == pytest.approx(ttft * 1e3, rel=1e-9)
    assert d["itl_ms"] == pytest.approx(itl * 1e3, rel=1e-9)
    assert d["weights_GB"] == pytest.approx(W / 1e9, rel=1e-12)
    assert d["kv_cache_GB"] == pytest.approx(KV / 1e9, rel=1e-12)                 # 4.295 GB
    assert d["capacity_GiB"] == pytest.approx(80) and d["capacity_GB"] == pytest.approx(80 * GiB / 1e9)
    assert d["memory_utilization"] == pytest.approx((W + KV) / (80 * GiB), rel=1e-12)
    assert d["decode_throughput_tokens_per_s"] == pytest.approx(B / itl, rel=1e-9)
    assert d["max_batch_size"] == (80 * GiB - W) // (KV / B)
    assert d["feasible"] is True and d["efficiency"] == "ideal"


def test_serve_human_table_shows_units():
    proc = mlsyslab("serve", "--model", "Llama3_8B", "--hardware", "H100", "--tp", 2)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "TTFT" in out and " ms" in out and "tokens/s" in out
    assert "85.90 GB = 80 GiB" in out and "tp=2" in out


def test_roofline_json_by_hand():
    proc = mlsyslab("roofline", "--model", "ResNet50", "--hardware", "A100", "--batch", 1, "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    flops, moved = 2 * 4.09e9, 25.557e6 * 2 + 11.2e6 * 2     # fp16 weights + activations
    assert d["gflop"] == pytest.approx(flops / 1e9)
    assert d["arithmetic_intensity_flop_per_byte"] == pytest.approx(flops / moved, rel=1e-9)
    assert d["ridge_point_flop_per_byte"] == pytest.approx(312e12 / 2.039e12, rel=1e-9)
    assert d["bound"] == "memory"
    assert d["latency_ms"] == pytest.approx(moved / 2.039e12 * 1e3, rel=1e-9)


def test_sustain_json_by_hand():
    proc = mlsyslab("sustain", "--hardware", "H100", "--gpus", 8, "--hours", 10, "--pue", 1.2,
                    "--grid", "France,Poland", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["grid"] for r in rows] == ["France", "Poland"]
    energy = 8 * 0.700 * 10 * 1.2                       # kW x h x PUE = 67.2 kWh
    for r, g in zip(rows, (56, 662)):
        assert r["energy [kWh]"] == pytest.approx(energy, rel=1e-9)
        assert r["operational_carbon [kgCO2e]"] == pytest.approx(energy * g / 1e3, rel=1e-9)
    human = mlsyslab("sustain", "--hardware", "H100", "--hours", 1, "--grid", "Quebec").stdout
    assert "Quebec" in human and "energy [kWh]" in human


def test_train_json_and_time_to_train():
    proc = mlsyslab("train", "--model", "Llama3_8B", "--cluster", "DGX_H100", "--zero", 3, "--recompute",
                    "--global-batch", 64, "--seq-len", 4096, "--tokens", 1e10, "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["n_gpus"] == 8 and d["dp"] == 8 and d["zero_stage"] == 3
    tokens_per_step = 64 * 4096
    assert d["tokens_per_second [token/s]"] == pytest.approx(tokens_per_step / d["step_time [s]"], rel=1e-9)
    assert d["time_to_train_hours"] == pytest.approx(1e10 / (tokens_per_step / d["step_time [s]"]) / 3600, rel=1e-9)
    human = mlsyslab("train", "--model", "Llama3_8B", "--hardware", "H100", "--gpus", 8, "--zero", 3)
    assert human.returncode == 0 and "step_time [s]" in human.stdout and "memory_per_gpu [GB]" in human.stdout


def test_run_config_json_and_text(repo_root):
    cfg = repo_root / "mlsyslab" / "examples" / "serving_sla.yaml"
    proc = mlsyslab("run", cfg, "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert [c["scenario"] for c in d["scorecards"]] == ["llama8b-h100", "llama8b-a100", "llama70b-h100-tp4",
                                                       "llama70b-h100-int4"]
    for card in d["scorecards"]:
        for check in card["performance"]["checks"]:
            if check["predicted"] is not None and check["direction"] == "at most":
                assert check["margin"] == pytest.approx((check["limit"] - check["predicted"]) / check["limit"])
    text = mlsyslab("run", cfg)
    assert text.returncode == 0 and "1. Feasibility" in text.stdout and "verdict" in text.stdout
    failing = mlsyslab("run", cfg, "--summary", "--fail-on-violation")
    assert failing.returncode == 1 and "SLA violated" in failing.stdout


def test_run_broken_config_reports_all_errors_on_one_line(repo_root):
    broken = repo_root / "mlsyslab" / "examples" / "broken.yaml"
    proc = mlsyslab("run", broken)
    line = assert_one_line_error(proc, "8 errors", "scenarios[0].sla.ttft", "scenarios[1].seq_len",
                                 "scenarios[2].grid", "scenarioz")
    assert proc.returncode == 2 and proc.stdout == ""
    assert line.startswith("mlsyslab run: error:")
    as_json = mlsyslab("run", broken, "--json")
    assert as_json.returncode == 2
    errors = json.loads(as_json.stdout)["errors"]
    assert len(errors) == 8 and errors[2]["path"] == "scenarios[0].sla.ttft"


def test_run_example_by_name_and_a_missing_config_names_the_packaged_examples(tmp_path):
    """A pip user has no examples/ folder: ``--example NAME`` runs the config shipped in the package, and a
    config path that does not exist is answered by one line naming the packaged examples."""
    by_name = mlsyslab("run", "--example", "serving_sla", "--json", cwd=tmp_path)
    assert by_name.returncode == 0, by_name.stderr
    assert json.loads(by_name.stdout)["name"] == "chat-serving-sla"
    missing = mlsyslab("run", "examples/configs/serving_sla.yaml", cwd=tmp_path)
    assert_one_line_error(missing, "'examples/configs/serving_sla.yaml' does not exist", "serving_sla.yaml",
                          "training_job.yaml", "--example NAME", "mlsyslab.examples.path(")
    assert missing.returncode == 2
    unknown = mlsyslab("run", "--example", "servin_sla", cwd=tmp_path)
    assert_one_line_error(unknown, "example='servin_sla'", "Did you mean 'serving_sla'")


@pytest.mark.parametrize("args, words", [
    (("serve", "--model", "Llama3_9B", "--hardware", "H100"), ("Did you mean 'Llama3_8B'",)),
    (("serve", "--model", "Llama3_8B", "--hardware", "H1000"), ("H100",)),
    (("serve", "--model", "Llama3_8B", "--hardware", "H100", "--batch", "x"), ("--batch", "invalid int")),
    (("serve", "--model", "Llama3_8B", "--hardware", "H100", "--batch", "0"), ("batch_size",)),
    (("serve", "--model", "Llama3_8B", "--hardware", "H100", "--precision", "fp12"), ("precision",)),
    (("serve", "--model", "Llama3_8B"), ("--hardware",)),
    (("serve", "--model", "ResNet50", "--hardware", "H100"), ("decoder LLM",)),
    (("roofline", "--model", "Llama3_8B", "--hardware", "A100", "--seq-len", "-3"), ("seq_len",)),
    (("zoo", "gpus"), ("invalid choice",)),
    (("zoo", "hardware", "--tier", "Clod"), ("Did you mean 'Cloud'",)),
    (("zoo", "models", "--tier", "Cloud"), ("--tier",)),
    (("train", "--model", "Llama3_8B", "--hardware", "H100", "--gpus", "8", "--tp", "3"), ("tp",)),
    (("sustain", "--hardware", "H100", "--hours", "2", "--grid", "Quebek"), ("Did you mean 'Quebec'",)),
    (("sustain", "--hardware", "H100", "--hours", "2", "--utilization", "2"), ("utilization",)),
    (("run", "no/such/config.yaml"), ("does not exist",)),
    (("lab", "no-such-lab", "--print-command"), ("no-such-lab",)),
    (("frobnicate",), ("invalid choice",)),
    (("serve", "--model", "Llama3_8B", "--hardware", "H100", "--bogus"), ("unrecognized arguments",)),
])
def test_bad_input_gives_one_line_and_nonzero_exit(args, words):
    proc = mlsyslab(*args)
    assert_one_line_error(proc, *words)
    assert proc.returncode == 2


def test_lab_print_command(tmp_path):
    (tmp_path / "lab1_roofline.ipynb").write_text("{}")
    (tmp_path / "lab2_kv_cache.ipynb").write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "lab2_kv_cache-checkpoint.ipynb").write_text("{}")
    proc = mlsyslab("lab", "kv", "--dir", tmp_path, "--print-command")
    assert proc.returncode == 0, proc.stderr
    cmd = proc.stdout.strip().split()
    assert Path(cmd[0]).name == "jupyter" and cmd[1] == "lab"
    assert cmd[2] == f"--notebook-dir={tmp_path.resolve()}" and cmd[3] == str((tmp_path / "lab2_kv_cache.ipynb").resolve())
    assert "--ServerApp.tornado_settings=mathjax_url=null" in cmd  # Voila typesets with the bundled MathJax 3
    # no news feed, no update check: JupyterLab itself asks no outside host (parsed by JupyterLab's own app)
    from jupyterlab.labapp import LabApp

    app = LabApp()
    app.parse_command_line([a for a in cmd if a.startswith("--LabApp.")])
    assert app.news_url is None and app.check_for_updates_class.__name__ == "NeverCheckForUpdate"
    listing = mlsyslab("lab", "--dir", tmp_path, "--list")
    assert listing.stdout.split() == ["lab1_roofline.ipynb", "lab2_kv_cache.ipynb"]
    ambiguous = mlsyslab("lab", "lab", "--dir", tmp_path, "--dry-run")
    assert_one_line_error(ambiguous, "2 notebooks")
    whole = mlsyslab("lab", "--dir", tmp_path, "--print-command")
    assert whole.returncode == 0 and f"--notebook-dir={tmp_path.resolve()}" in whole.stdout.split()
    assert not any(a.endswith(".ipynb") for a in whole.stdout.split())


def test_lab_really_starts_jupyterlab_on_the_folder(tmp_path):
    """`mlsyslab lab LAB` starts a JupyterLab server whose root is the labs folder (then we stop it)."""
    import re
    import signal
    import time
    import urllib.request

    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "lab2_kv_cache.ipynb").write_text(json.dumps(nb))
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / ".runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / ".cfg"))
    proc = subprocess.Popen([sys.executable, "-m", "mlsyslab", "lab", "kv", "--dir", str(tmp_path), "--no-browser",
                             "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        url, deadline = None, time.monotonic() + 120
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stderr.readline()
            m = re.search(r"(http://127\.0\.0\.1:\d+)/lab\?token=(\w+)", line)
            if m:
                url = m.groups()
        assert url is not None, f"no server URL (exit {proc.poll()})"
        base, token = url
        listing = None
        while listing is None:  # the URL is logged just before the server's loop starts accepting
            try:
                with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=30) as resp:
                    listing = json.load(resp)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert [c["name"] for c in listing["content"]] == ["lab2_kv_cache.ipynb"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        proc.stderr.close()
