"""A new Binder user: the spec installs into a fresh venv, every student lab runs clean in an empty HOME.

Slow (a fresh venv and pip install of the widgets stack): marked ``slow`` and run by ``make test``.
pip uses its cache and any configured ``--find-links`` wheelhouse; every step has a time bound.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(cmd, cwd, env, timeout):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def fresh_user_env(tmp_path, venv) -> dict:
    """A new Binder/hub user: empty HOME, no cache or Jupyter folders of ours, the venv first on PATH."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "IPYTHONDIR",
            "MLSYSLAB_PREDICTIONS", "MPLCONFIGDIR")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("JUPYTER")}
    env["HOME"] = str(home)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def cell_texts(nb) -> str:
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            texts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(texts)


def problems(nb) -> list:
    """Error outputs and anything written to stderr (nbgrader zeroes a grade cell that writes there)."""
    out = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            if o["output_type"] == "error" or o.get("name") == "stderr":
                out.append(o.get("ename") or "".join(o.get("text", ""))[:500])
    return out


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_binder_spec_installs_and_every_student_lab_runs_clean(tmp_path):
    repo = tmp_path / "repo"  # repo2docker builds from a clean copy of the repository
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".venv*", ".git", "test-artifacts", "__pycache__",
                                                              "*.egg-info", "_build", "autograder", ".pytest_cache",
                                                              "node_modules", ".hub-node", "mlsyslab-predictions.jsonl"))
    # a git checkout of it, to check that running the labs leaves no untracked files
    git_env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "snapshot"]):
        run(cmd, repo, git_env, 120)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], repo, dict(os.environ), 120)
    env = fresh_user_env(tmp_path, venv)
    install_env = {**env, "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR") or str(pathlib.Path.home() / ".cache" / "pip")}
    py = str(venv / "bin" / "python")
    run([py, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], repo, install_env, 900)
    run(["bash", "binder/postBuild"], repo, install_env, 300)
    # the widget front-ends are installed as JupyterLab prebuilt extensions
    ext = run([str(venv / "bin" / "jupyter"), "labextension", "list"], repo, env, 120)
    listing = ext.stdout + ext.stderr
    assert "@jupyter-widgets/jupyterlab-manager" in listing and "bqplot" in listing, listing
    assert run([py, "-c", "import mlsyslab, sys; print(mlsyslab.__file__)"], repo, env, 60).stdout.startswith(str(repo))

    # every student lab, top to bottom, with the environment's own kernel, in a fresh HOME
    labs = sorted(p.relative_to(repo) for p in (repo / "labs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    assert len(labs) >= 7, labs
    executed = tmp_path / "executed"
    for lab in labs:
        out = executed / lab.with_suffix(".out.ipynb")
        out.parent.mkdir(parents=True, exist_ok=True)
        run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute", str(lab),
             "--output", str(out), "--ExecutePreprocessor.timeout=180"], repo, env, 400)
        nb = json.loads(out.read_text(encoding="utf-8"))
        # unanswered, each autograder-test cell says NotRightYet (what Validate reads) and the run goes on
        graded = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")
                  and c["cell_type"] == "code"]
        assert problems(nb) == ["NotRightYet"] * len(graded), (lab, problems(nb))
        assert all(c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"), lab
        if "explorer" not in str(lab):
            outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
            assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), lab

    # a solved lab 2 (the instructor's source version) prints the figures worked out by hand:
    # W = 8.03e9 params x 2 B = 16.06 GB; KV per 4096-token sequence = 2 x 32 x 8 x 128 x 2 B x 4096
    # = 0.5 GiB; floor((80 GiB - 16.06 GB) / 0.5 GiB) = floor(69.84e9 / 536.9e6) = 130
    solved = repo / "labs" / "solved_lab2.ipynb"
    shutil.copyfile(ROOT / "autograder" / "source" / "lab2_kv_cache" / "lab2_kv_cache.ipynb", solved)
    out = executed / "solved_lab2.out.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute", str(solved),
         "--output", str(out), "--ExecutePreprocessor.timeout=180"], repo, env, 400)
    solved.unlink()
    nb = json.loads(out.read_text(encoding="utf-8"))
    assert problems(nb) == []
    text = cell_texts(nb)
    assert re.search(r"16\.06 GB", text), text[-3000:]
    assert re.search(r"max batch[^\n]*\b130\b", text), text[-3000:]

    # nothing the labs wrote (prediction records, checkpoints...) shows up in git status
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], repo, git_env, 60).stdout
    assert status == "", status
    # and the new user's HOME holds no cache of ours
    assert not (tmp_path / "home" / ".cache" / "pint").exists()
