"""The Python versions the package claims besides the one of .venv: a fresh venv per version with the wheel
and the core dependencies only, then the core tests (the README's figures among them).

3.10 is not supported (pyproject.toml says why); the interpreters come from pyenv, which this project's
machines carry (``/root/.pyenv/versions/<x.y.z>``), or from PATH.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from support_packaging import build_dist

#: tested here; this interpreter's version is tested by the whole suite
OTHER_VERSIONS = ("3.12",)
CORE_TESTS = ["test_readme_journey.py", "test_serving.py", "test_units.py", "test_config.py", "test_scenarios.py",
              "test_zoo.py", "test_roofline.py", "test_distributed.py", "test_sustainability_cost.py",
              "test_extras.py"]


def find_python(version: str) -> str | None:
    """An interpreter that really runs as ``version`` (a pyenv shim of a version not selected does not)."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [shutil.which(f"python{version}"), *sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}")),
                  f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-c", "import sys, venv, ssl; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            continue
        if out == version:
            return exe
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, repo_root):
    return build_dist(repo_root, tmp_path_factory.mktemp("dist"))["wheel"]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("version", OTHER_VERSIONS)
def test_core_tests_pass_on(version, wheel, tmp_path, repo_root):
    exe = find_python(version)
    assert exe, (f"no working python{version} (pyenv: /root/.pyenv/versions/{version}.*, or on PATH); "
                 "this project's machines have it - install it to run make test elsewhere")
    venv = tmp_path / f"venv{version}"
    subprocess.run([exe, "-m", "venv", str(venv)], check=True, timeout=120)
    test_extra = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    runners = [r for r in test_extra if re.match(r"(pytest|pytest-timeout|hypothesis)\b", r)]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          str(wheel), *runners], capture_output=True, text=True, timeout=600, env=env)
    assert pip.returncode == 0, pip.stderr[-3000:]
    # the venv's pytest script, not `python -m pytest`: the checkout must not shadow the installed wheel
    proc = subprocess.run([str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider", "-x",
                           "-m", "not slow and not nbgrader and not browser and not hub",
                           *(f"tests/{t}" for t in CORE_TESTS)],
                          cwd=repo_root, capture_output=True, text=True, timeout=800, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert re.search(r"\b\d{3,} passed\b", proc.stdout), proc.stdout[-500:]
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import mlsyslab, sys; print(mlsyslab.__file__, "
                            "'%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, cwd=tmp_path, env=env)
    path, got = where.stdout.split()
    assert got == version and Path(path).is_relative_to(venv)
