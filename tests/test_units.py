"""The one Pint registry: the seed's unit spellings, formatting, and rejection of wrong dimensions."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mlsyslab
from mlsyslab import Hardware, Models, ValidationError
from mlsyslab.units import Q_, get_registry, magnitude, quantity


def test_seed_spellings_convert():
    # the seed tutorial's four conversions, checked against datasheet / model-card figures
    assert Models.Llama3_8B.parameters.to("Gparam").magnitude == pytest.approx(8.03, abs=0.005)
    h100 = Hardware.Cloud.H100
    assert h100.compute.peak_flops.to("TFLOPs/s").magnitude == pytest.approx(989.5)
    assert h100.memory.bandwidth.to("TB/s").magnitude == pytest.approx(3.35)
    assert h100.memory.capacity.to("GB").magnitude == pytest.approx(80 * 2 ** 30 / 1e9)  # 85.899


def test_seed_format_prints_gigabytes():
    # Llama-3-8B fp16 weights: 8.03e9 params x 2 B = 16.06e9 B
    weights = quantity(16.06e9, "B").to("GB")
    assert f"{weights:~.2f}" == "16.06 GB"
    assert f"{quantity(16.06, 'GB'):~.2f}" == "16.06 GB"
    assert f"{quantity(0.268, 'GB'):~.3f}" == "0.268 GB"


def test_custom_units():
    ureg = get_registry()
    assert Q_(1, "Gparam").to("param").magnitude == 1e9
    assert Q_(1, "TFLOPs/s").to("flop/s").magnitude == pytest.approx(1e12)
    # int "TOPS" and float "TFLOPS" sit on one roofline: 1 op = 1 flop
    assert Q_(394, "Tops/s").to("TFLOPs/s").magnitude == pytest.approx(394)
    assert (Q_(2048, "token") * Q_(1, "ms/token")).to("s").magnitude == pytest.approx(2.048)
    assert Q_(1, "kgCO2e").to("gCO2e").magnitude == 1000
    assert ureg.Quantity(1, "GiB").to("B").magnitude == 2 ** 30


def test_one_registry_everywhere():
    ureg = get_registry()
    assert get_registry() is ureg
    assert mlsyslab.ureg is ureg
    assert mlsyslab.units.ureg is ureg
    assert Q_(1, "GB")._REGISTRY is ureg
    # quantities made by different entry points mix freely
    a = quantity(1.5, "GB")
    b = mlsyslab.ureg.Quantity(500, "MB")
    c = mlsyslab.Q_(2, "GB")
    assert (a + b).to("GB").magnitude == pytest.approx(2.0)
    assert a + b == c
    assert b < a < c
    # and so do the zoo's figures
    assert Hardware.Cloud.H200.memory.bandwidth > mlsyslab.ureg.Quantity(4, "TB/s")
    total = Models.Llama3_8B.parameters + mlsyslab.ureg.Quantity(1, "Gparam")
    assert total.to("Gparam").magnitude == pytest.approx(9.03, abs=0.005)
    import pint

    assert pint.get_application_registry().get() is ureg  # pickling / third-party code sees ours


def test_magnitude_accepts_numbers_and_convertible_quantities():
    assert magnitude(3.0, "B", field="capacity") == 3.0
    assert magnitude(quantity(2, "GB"), "B", field="capacity") == pytest.approx(2e9)
    assert magnitude(quantity(80, "GiB"), "GB", field="capacity") == pytest.approx(85.899, abs=1e-3)
    assert magnitude(quantity(100, "ms"), "s", field="latency") == pytest.approx(0.1)


def test_magnitude_rejects_wrong_dimension_naming_the_field():
    with pytest.raises(ValidationError) as info:
        magnitude(quantity(3, "s"), "B", field="capacity")
    err = info.value
    assert err.field == "capacity"
    message = str(err)
    assert message.startswith("capacity=") and "Quantity(3, 'second')" in message  # the field and the value given
    assert "[time]" in message and "[information]" in message  # what it was, what is allowed
    # a token count is not a length of time either
    with pytest.raises(ValidationError, match="seq_len"):
        magnitude(quantity(2048, "token"), "s", field="seq_len")


@pytest.mark.parametrize("value, unit", [
    (quantity(3, "GHz"), "B/s"),  # a frequency is not a bandwidth
    (quantity(0.5, ""), "B"),  # a bare ratio is not a number of bytes
    (quantity(8, "Gparam"), "B"),  # parameters need a precision before they are bytes
    (quantity(1, "TFLOPs/s"), "B/s"),
])
def test_bytes_have_their_own_dimension(value, unit):
    with pytest.raises(ValidationError, match="field_x"):
        magnitude(value, unit, field="field_x")


def test_registry_and_formatting_write_nothing_to_stderr():
    # nbgrader zeroes a grade cell that writes to stderr (Pint warnings, redefinition notices)
    code = ("import mlsyslab as ml\n"
            "q = ml.Models.Llama3_8B.parameters.to('Gparam')\n"
            "print(f\"{q:~.2f}\", f\"{ml.Hardware.Cloud.H100.memory.capacity.to('GB'):~.1f}\")\n"
            "print(f\"{ml.units.quantity(16.06e9, 'B').to('GB'):~.2f}\")\n")
    done = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.split("\n")[:2] == ["8.03 Gparam 85.9 GB", "16.06 GB"]
