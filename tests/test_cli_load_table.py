"""``mlsyslab load --analytic`` prints a table a person reads: past capacity the endless run's TTFT and
E2E say 'unbounded' (not 'inf'), KV use is a percentage, and the table is plain ASCII so a terminal
without UTF-8 prints it too."""

from __future__ import annotations

import os
import subprocess
import sys

from mlsyslab import LoadSolver


def test_past_capacity_reads_unbounded_and_kv_in_per_cent():
    cap = LoadSolver().analytic("Llama3_8B", "H100", 1.0, 512, 128)["capacity"]
    rates = f"{0.4 * cap:.3f},{2 * cap:.3f}"
    env = dict(os.environ, PYTHONIOENCODING="ascii", LC_ALL="C", LANG="C")
    proc = subprocess.run([sys.executable, "-m", "mlsyslab", "load", "--model", "Llama3_8B", "--hardware", "H100",
                           "--input", "512", "--output", "128", "--rate", rates, "--analytic"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    below, past = [line.split() for line in proc.stdout.splitlines()[-2:]]
    assert "unbounded" not in below and past.count("unbounded") == 3  # TTFT p50, p99, E2E p50
    assert "inf" not in proc.stdout
    assert below[-1] == "%" and past[-1] == "%"
    assert 0 < float(below[-2]) < float(past[-2]) <= 100


def test_json_gives_the_means_beside_the_medians(capsys):
    """The mean TTFT and E2E (Little's law and capacity planning use means) are in the JSON of a simulated run,
    equal to the mean over its requests, and of the fast path, equal to ``analytic()``'s."""
    import json

    import numpy as np

    from mlsyslab.cli import main

    args = ["load", "--model", "Llama3_8B", "--hardware", "H100", "--input", "512", "--output", "64", "--json"]
    assert main(args + ["--rate", "20", "--requests", "300"]) == 0
    d = json.loads(capsys.readouterr().out)
    r = LoadSolver().solve("Llama3_8B", "H100", arrival_rate=20, input_tokens=512, output_tokens=64, n_requests=300,
                           seed=0)
    assert d["ttft_mean_ms"] == 1e3 * float(np.mean(r.requests["ttft"]))
    assert d["e2e_mean_s"] == float(np.mean(r.requests["e2e"]))
    assert main(args + ["--rate", "20", "--analytic"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    a = LoadSolver().analytic("Llama3_8B", "H100", 20.0, 512, 64)
    assert row["ttft_mean_ms"] == 1e3 * float(a["ttft_mean"][0]) and row["e2e_mean_s"] == float(a["e2e_mean"][0])
    assert row["ttft_mean_ms"] >= 0.5 * row["ttft_p50_ms"] and row["e2e_mean_s"] > row["ttft_mean_ms"] / 1e3
