"""Grading works in every layout, or refuses in one line before any student is graded.

Each case grades one honest submission of lab 2 with `mlsyslab grade autograde SUBS` in a layout:

* root, ``TMPDIR`` below ``/tmp`` (``/tmp/<x>/grader/tmp``): every kernel failed before (bwrap made the
  bound folder's parents 0700) and every student got 0;
* root, a venv under ``/tmp`` (``python -m venv`` on this Python, the project's packages through a
  ``.pth``: what a CI clone or a pod's ``/tmp`` checkout looks like), the package itself copied under
  ``/tmp``, ``TMPDIR`` elsewhere (``/var/tmp``) and ``HOME`` unwritable;
* root, the same venv and checkout under ``/opt``;
* a normal user (a throwaway account, ``useradd``; removed after), the same venv and checkout under
  ``/tmp``, ``TMPDIR`` below ``/tmp``, ``HOME`` unwritable: graded in a user namespace, or, where this
  machine allows none to that user, refused in one line;
* root with a venv the kernel's uid cannot read: one line, exit status 2, and no student graded.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import nbformat
import pytest

from mlsyslab.grading import intake

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAB = "lab2_kv_cache"
pytestmark = [pytest.mark.nbgrader, pytest.mark.slow, pytest.mark.timeout(1800)]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the layout needs root (CI runs as root)")


@pytest.fixture(scope="module")
def base():
    """A world-readable folder under /tmp for this module (removed after)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="mlsyslab-layouts-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    intake.rmtree(path)


@pytest.fixture(scope="module")
def course(base):
    from support_intake import make_course

    home = make_course(base / "c")
    source = nbformat.read(home / "source" / LAB / f"{LAB}.ipynb", 4)
    return home, source


@pytest.fixture(scope="module")
def tmp_venv(base):
    """A venv under /tmp on this Python (``python -m venv``), this checkout's packages through a .pth, its
    Jupyter data copied, and the mlsyslab package copied under /tmp too (a CI clone or a pod's /tmp checkout)."""
    return _venv_in(base)


@pytest.fixture(scope="module")
def opt_venv():
    """The same venv and checkout under /opt (an image's system-wide install)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="mlsyslab-layouts-", dir="/opt"))
    path.chmod(0o755)
    yield _venv_in(path)
    intake.rmtree(path)


def _venv_in(base: pathlib.Path) -> pathlib.Path:
    venv, checkout = base / "venv", base / "checkout"
    python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    shutil.copytree(ROOT / "mlsyslab", checkout / "mlsyslab", ignore=shutil.ignore_patterns("__pycache__"))
    site = next(p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix))
    minor = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (venv / "lib" / minor / "site-packages" / "zz_mlsyslab.pth").write_text(f"{checkout}\n{site}\n")
    shutil.copytree(pathlib.Path(sys.prefix) / "share" / "jupyter", venv / "share" / "jupyter")  # nbconvert templates
    for path in [base, *base.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o044 | (0o011 if path.is_dir() else 0))
    return venv / "bin" / "python"


def _grade(python, home, base, student: str, nb, env_extra: dict, user: str | None = None):
    subs = base / f"subs-{student}"
    (subs / student).mkdir(parents=True)
    nbformat.write(nb, subs / student / f"{LAB}.ipynb")
    out = base / f"out-{student}"
    env = {"PATH": f"{pathlib.Path(python).parent}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "MLSYSLAB_VARIANTS": "0", **env_extra}
    cmd = [str(python), "-m", "mlsyslab", "grade", "autograde", str(subs), "--course", str(home), "--out", str(out)]
    if user is not None:
        subprocess.run(["chown", "-R", f"{user}:{user}", str(home), str(subs)], check=True)
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(base), timeout=900)


def _score(home, student):
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{home / 'gradebook.db'}", course_id="mlsyslab") as gb:
        try:
            nb = gb.find_submission_notebook(LAB, LAB, student)
        except MissingEntry:
            return None
        auto = [g for g in nb.grades if g.cell_type == "code"]
        return sum(g.score for g in auto), sum(g.max_score for g in auto)


@root_only
def test_root_with_tmpdir_below_tmp(course, base):
    home, source = course
    tmpdir = base / "grader" / "tmp"
    tmpdir.mkdir(parents=True)
    proc = _grade(sys.executable, home, base, "root-tmpdir", source, {"TMPDIR": str(tmpdir), "HOME": "/root"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    score, top = _score(home, "root-tmpdir")
    assert top > 0 and score == pytest.approx(top)
    assert list(tmpdir.iterdir()) == []


@root_only
def test_root_with_venv_and_checkout_under_tmp_and_unwritable_home(course, base, tmp_venv):
    home, source = course
    tmpdir = pathlib.Path(tempfile.mkdtemp(prefix="mlsyslab-layouts-", dir="/var/tmp"))
    try:
        proc = _grade(tmp_venv, home, base, "root-tmp-venv", source, {"TMPDIR": str(tmpdir), "HOME": "/nonexistent"})
    finally:
        left = list(tmpdir.glob("mlsg-*"))  # sandboxes (IPython itself leaves a folder when HOME is unwritable)
        intake.rmtree(tmpdir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    score, top = _score(home, "root-tmp-venv")
    assert top > 0 and score == pytest.approx(top)
    assert left == []


@root_only
def test_root_with_venv_and_checkout_under_opt(course, base, opt_venv):
    home, source = course
    proc = _grade(opt_venv, home, base, "root-opt-venv", source, {"TMPDIR": "/tmp", "HOME": "/root"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    score, top = _score(home, "root-opt-venv")
    assert top > 0 and score == pytest.approx(top)


def _userns_for(user: str) -> bool:
    probe = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--",
                            "bwrap", "--unshare-all", "--unshare-user", "--ro-bind", "/", "/", "true"],
                           capture_output=True, timeout=60)
    return probe.returncode == 0


@root_only
def test_normal_user_with_everything_under_tmp(course, base, tmp_venv):
    from support_hub import UnixUsers

    home, source = course
    users = UnixUsers()
    user = users.add("grader")
    runs = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", str(tmp_venv),
                           "-c", "import mlsyslab"], capture_output=True, timeout=120).returncode == 0
    if not runs:
        users.remove()
        pytest.skip(f"{os.path.realpath(sys.executable)}'s Python cannot be run by other users here (under a 0700 "
                    "folder): the normal-user layout needs an interpreter outside it")
    try:
        tmpdir = base / "user-tmp" / "tmp"
        tmpdir.mkdir(parents=True)
        subprocess.run(["chown", "-R", f"{user}:{user}", str(base / "user-tmp")], check=True)
        proc = _grade(tmp_venv, home, base, "user-graded", source, {"TMPDIR": str(tmpdir), "HOME": "/nonexistent"},
                      user=user)
        userns = _userns_for(user)
        left = list(tmpdir.glob("mlsg-*")) + list(pathlib.Path("/dev/shm").glob("mlsg-*"))
    finally:
        subprocess.run(["chown", "-R", "root:root", str(home)], check=False)
        problems = users.remove()
    assert problems == []
    # graded in full, or (no user namespace for that user, or a Python the sandbox cannot start, as where the
    # venv's interpreter is reached through a folder that user cannot search) refused in one line before
    # anyone is graded: never a class of zeros
    if proc.returncode == 0:
        assert userns
        score, top = _score(home, "user-graded")
        assert top > 0 and score == pytest.approx(top)
    else:
        line = proc.stderr.strip()
        assert proc.returncode == 2 and line.count("\n") == 0, proc.stderr[-3000:]
        assert "autograde refused" in line and ("cannot sandbox" in line or "cannot start Python" in line), line
        assert _score(home, "user-graded") is None
    assert left == []


@root_only
def test_no_sandbox_possible_is_one_line_before_any_student(course, base, tmp_venv):
    home, source = course
    hidden = base / "private-venv"
    shutil.copytree(tmp_venv.parent.parent, hidden, symlinks=True)
    hidden.chmod(0o700)  # the kernel's uid cannot read the venv: no kernel could start
    try:
        proc = _grade(hidden / "bin" / "python", home, base, "never-graded", source,
                      {"TMPDIR": "/tmp", "HOME": "/nonexistent"})
    finally:
        intake.rmtree(hidden)
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and "autograde refused" in line and "cannot start Python in the sandbox" in line
    assert _score(home, "never-graded") is None
