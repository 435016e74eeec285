"""The request overhead by front end: vLLM's and SGLang's Python servers pay it, TensorRT-LLM's native
executor and offline (in-process) runs do not; ``request_overhead=`` overrides it.

Hand figures: a lone request's TTFT and E2E grow by exactly the overhead d; nothing else changes.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from mlsyslab import LoadSolver
from mlsyslab.calibration import calibrated
from mlsyslab.errors import ValidationError
from mlsyslab.solvers import load_engines
from mlsyslab.units import quantity

D = 0.012  # s, a request overhead chosen for the test (not the fitted value)
CAL = dataclasses.replace(calibrated(), load_request_overhead_s=D)
KW = dict(input_tokens=256, output_tokens=32, n_requests=4, arrival_rate=0.01, seed=1)


def _ttft(r):
    return r.requests["ttft"]


@pytest.mark.parametrize("engine", ["vllm", "vllm-v0", "sglang"])
def test_python_front_ends_pay_the_calibrated_overhead(engine):
    solver = LoadSolver(CAL, engine=engine)
    paid = solver.solve("Llama3_8B", "H100", **KW)
    offline = solver.solve("Llama3_8B", "H100", request_overhead=0, **KW)
    assert _ttft(paid) == pytest.approx(_ttft(offline) + D, abs=1e-9)
    assert paid.requests["e2e"] == pytest.approx(offline.requests["e2e"] + D, abs=1e-9)
    assert paid.request_overhead.to("ms").magnitude == pytest.approx(D * 1e3)
    assert offline.raw["request_overhead"] == 0.0
    assert load_engines.PROFILES[engine].frontend == "python"


def test_tensorrt_llm_native_front_end_pays_none_unless_told():
    solver = LoadSolver(CAL, engine="trtllm")
    native = solver.solve("Llama3_8B", "H100", **KW)
    explicit = solver.solve("Llama3_8B", "H100", request_overhead=0.0, **KW)
    served = solver.solve("Llama3_8B", "H100", request_overhead=quantity(20, "ms"), **KW)  # trtllm-serve, say
    assert _ttft(native) == pytest.approx(_ttft(explicit), abs=1e-12)
    assert _ttft(served) == pytest.approx(_ttft(native) + 0.020, abs=1e-9)
    assert native.raw["request_overhead"] == 0.0
    # the fast path follows the same rule
    a_native = solver.analytic("Llama3_8B", "H100", 0.5, 256, 32)
    a_served = solver.analytic("Llama3_8B", "H100", 0.5, 256, 32, request_overhead=0.020)
    assert float(a_served["ttft_p50"][0]) == pytest.approx(float(a_native["ttft_p50"][0]) + 0.020, rel=1e-9)


def test_every_profile_cites_its_front_end():
    for prof in load_engines.PROFILES.values():
        assert prof.frontend in ("python", "native")
        assert len(prof.sources["front end"]) > 40


@pytest.mark.parametrize("bad", [-0.001, float("nan"), float("inf"), "12 ms", True, quantity(1, "GB")])
def test_bad_overheads_name_the_field(bad):
    with pytest.raises(ValidationError) as e:
        LoadSolver().solve("Llama3_8B", "H100", request_overhead=bad, **KW)
    assert e.value.field == "request_overhead"


def test_cli_takes_ms_and_reports_the_overhead(capsys):
    from mlsyslab.cli import main

    base = ["load", "--model", "Llama3_8B", "--hardware", "H100", "--rate", "1", "--requests", "10"]
    assert main(base + ["--request-overhead", "7.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["request_overhead_ms"] == pytest.approx(7.5)
    assert main(base + ["--engine", "trtllm", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["request_overhead_ms"] == 0.0
    assert main(base + ["--request-overhead", "7.5"]) == 0
    assert "7.5 ms request overhead" in capsys.readouterr().out
    assert main(base + ["--request-overhead", "-1"]) == 2
    assert "--request-overhead -1 is not allowed" in capsys.readouterr().err
