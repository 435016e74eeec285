"""The Binder spec installs into a fresh virtual environment and a lab runs there, widgets included.

Slow (a fresh venv and pip install of the widgets stack): marked ``slow`` and run by ``make test``.
pip uses its cache and any configured ``--find-links`` wheelhouse; every step has a time bound.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(cmd, cwd, env, timeout):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_binder_spec_installs_and_a_lab_executes(tmp_path):
    repo = tmp_path / "repo"  # repo2docker builds from a clean copy of the repository
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".venv*", ".git", "test-artifacts", "__pycache__",
                                                              "*.egg-info", "_build", "autograder", ".pytest_cache"))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], repo, dict(os.environ), 120)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    py = str(venv / "bin" / "python")
    run([py, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], repo, env, 600)
    run(["bash", "binder/postBuild"], repo, env, 300)
    # the widget front-ends are installed as JupyterLab prebuilt extensions
    ext = run([str(venv / "bin" / "jupyter"), "labextension", "list"], repo, env, 120)
    listing = ext.stdout + ext.stderr
    assert "@jupyter-widgets/jupyterlab-manager" in listing and "bqplot" in listing, listing
    # a lab executes top to bottom with the environment's own kernel
    out = tmp_path / "executed.ipynb"
    env["MLSYSLAB_PREDICTIONS"] = str(tmp_path / "predictions.jsonl")
    run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "labs/lab2_kv_cache.ipynb",
         "--output", str(out), "--ExecutePreprocessor.timeout=120"], repo, env, 300)
    nb = json.loads(out.read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error" or o.get("name") == "stderr"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert run([py, "-c", "import mlsyslab, sys; print(mlsyslab.__file__)"], repo, env, 60).stdout.startswith(str(repo))
