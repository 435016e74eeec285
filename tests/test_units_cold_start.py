"""What a fresh user gets: the unit registry is the same on a cold cache, a warm one and no cache.

Every check runs in a new Python process with its own empty ``XDG_CACHE_HOME`` (Pint's disk
cache would live there), the way a Binder launch, a new JupyterHub user's first kernel or a
student laptop starts. The figures are worked out by hand in the checks:

* 1 GB = 1e9 B (SI prefix), 1 GiB = 2**30 B = 1 073 741 824 B (binary prefix), 1 B = 8 bit;
* 1 Gparam = 1e9 param, 1 TFLOPs/s = 1e12 flop/s, 2048 token at 1 ms/token = 2.048 s;
* an H100's 80 GiB = 80 x 2**30 B = 85.899 GB; Llama-3.1-8B's 8.03e9 params x 2 B = 16.06 GB.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys, threading
import mlsyslab as ml
from mlsyslab.units import Q_, get_registry
out = {}
out["GB_in_B"] = Q_(1, "GB").to("B").magnitude
out["GiB_in_B"] = Q_(1, "GiB").to("B").magnitude
out["B_in_bit"] = Q_(1, "B").to("bit").magnitude
out["byte_dim"] = str(Q_(1, "byte").dimensionality)
out["GB_dim"] = str(Q_(1, "GB").dimensionality)
out["Gparam"] = Q_(1, "Gparam").to("param").magnitude
out["TFLOPs"] = Q_(1, "TFLOPs/s").to("flop/s").magnitude
out["tokens_s"] = (Q_(2048, "token") * Q_(1, "ms/token")).to("s").magnitude
out["tok_rate"] = Q_(3000, "token/minute").to("token/s").magnitude
out["h100_GB"] = ml.Hardware.H100.memory.capacity.to("GB").magnitude
out["llama_weights_GB"] = ml.ServingSolver(efficiency="ideal").solve(
    "Llama3_8B", "H100", 4096).model_weights_size.to("GB").magnitude
try:
    Q_(3, "GHz").to("B/s")
    out["freq_to_bandwidth"] = "converted"
except Exception as exc:
    out["freq_to_bandwidth"] = type(exc).__name__
print(json.dumps(out))
"""

THREADS = r"""
import json, threading
import mlsyslab.units as u
regs, values, errors = [], [], []
def work():
    try:
        reg = u.get_registry()
        regs.append(id(reg))
        values.append(u.Q_(1, "GiB").to("B").magnitude)
    except Exception as exc:  # reported, then asserted empty
        errors.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(16)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps({"registries": len(set(regs)), "values": sorted(set(values)), "errors": errors}))
"""

EXPECTED = {
    "GB_in_B": 1e9, "GiB_in_B": 2 ** 30, "B_in_bit": 8, "Gparam": 1e9, "TFLOPs": 1e12, "tokens_s": 2.048,
    "tok_rate": 50.0, "h100_GB": 80 * 2 ** 30 / 1e9, "llama_weights_GB": 16.06,
}


def run_fresh(code: str, env_extra: dict, cwd=None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(env_extra)
    proc = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == "", proc.stderr  # nbgrader zeroes a grade cell that writes to stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_figures(out: dict) -> None:
    for name, value in EXPECTED.items():
        assert out[name] == pytest.approx(value, rel=1e-3), name
    assert out["byte_dim"] == "[information]" and out["GB_dim"] == "[information]"
    assert out["freq_to_bandwidth"] == "DimensionalityError"


def test_cold_then_warm_cache_give_the_same_units(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {"XDG_CACHE_HOME": str(cache), "HOME": str(tmp_path / "home")}
    cold = run_fresh(PROBE, env)
    warm = run_fresh(PROBE, env)  # the second process sees whatever the first left behind
    check_figures(cold)
    assert warm == cold
    # and nothing was cached: the first process cannot change what the second one builds
    assert not any(cache.rglob("*")), sorted(str(p) for p in cache.rglob("*"))


def test_unwritable_or_missing_cache_and_home(tmp_path):
    # /dev/null/x can be neither read nor created, even by root (who ignores chmod)
    env = {"XDG_CACHE_HOME": "/dev/null/cache", "HOME": "/nonexistent-home-of-a-new-user"}
    check_figures(run_fresh(PROBE, env, cwd=tmp_path))


def test_a_read_only_cache_folder(tmp_path):
    cache = tmp_path / "ro-cache"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        check_figures(run_fresh(PROBE, {"XDG_CACHE_HOME": str(cache)}))
    finally:
        cache.chmod(0o700)


def test_a_users_own_pint_registry_first_does_not_change_ours(tmp_path):
    # import order: the user builds Pint's default registry (with its disk cache) before mlsyslab
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    code = ("import pint\nu = pint.UnitRegistry(cache_folder=':auto:')\nassert str(u.Quantity(1, 'byte')"
            ".dimensionality) == 'dimensionless'\n" + PROBE)
    check_figures(run_fresh(code, env))
    check_figures(run_fresh(code, env))  # and again with the user's cache now warm


def test_widgets_imported_first_then_units(tmp_path):
    code = "import mlsyslab.widgets, mlsyslab.grading\n" + PROBE
    check_figures(run_fresh(code, {"XDG_CACHE_HOME": str(tmp_path / "cache")}))


def test_threads_share_one_registry(tmp_path):
    out = run_fresh(THREADS, {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert out == {"registries": 1, "values": [2 ** 30], "errors": []}


def test_import_mlsyslab_builds_no_registry(tmp_path):
    code = ("import json, sys, mlsyslab, mlsyslab.units as u\n"
            "print(json.dumps({'built': u._registry is not None, 'pint': 'pint' in sys.modules}))")
    assert run_fresh(code, {"XDG_CACHE_HOME": str(tmp_path / "cache")}) == {"built": False, "pint": False}


def test_definitions_file_ships_with_the_package():
    from mlsyslab.units import DEFINITIONS_FILE

    text = DEFINITIONS_FILE.read_text(encoding="utf-8")
    assert "\nbit = [information]\n" in text and "\nbit = []\n" not in text
    assert (DEFINITIONS_FILE.parent / "constants_en.txt").exists()  # its @import
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'units_data/*.txt' in pyproject  # package data: wheels carry the file too


def test_ci_starts_cold_like_a_user():
    """`.ci/run` points every HOME-level cache of ours at fresh empty folders before `make test`."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    names = ("XDG_CACHE_HOME", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR")
    for name in names:
        assert f'export {name}="$COLD/' in script, name
    assert script.index("mktemp -d") < script.index("make test")
    if os.environ.get("CI") == "true" and "mlsyslab-ci-cold" in os.environ.get("XDG_CACHE_HOME", ""):
        # inside that CI run: the folders are the fresh ones, and no Pint cache was ever written there
        for name in names:
            assert "mlsyslab-ci-cold" in os.environ[name], name
        assert not (pathlib.Path(os.environ["XDG_CACHE_HOME"]) / "pint").exists()
