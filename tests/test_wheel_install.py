"""The pip user's path, from the wheel alone: no checkout, an empty HOME, a folder outside the repository.

One venv serves every step (its install is most of the time): the sdist and the wheel are built as a
release would (``python -m build``, ``twine check --strict``); the wheel is installed with the core
dependencies only (the README's Python runs there, and the parts that need an extra say which one), then
with ``[lab,grading]``: ``mlsyslab lab --copy``, ``mlsyslab course init``, ``course new-lab``,
``grade release`` and ``grade autograde`` of a solved and a blank copy of a built-in lab and of the new
lab. Finally no installed file has changed. pip's cache is the machine's (``PIP_CACHE_DIR``), so that the
empty HOME does not mean downloading everything again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from support_packaging import build_dist
from test_readme_journey import _cli_lines, _python_blocks

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.timeout(1800)]

BUILT_IN = "lab1_roofline"  # the built-in lab autograded (the quickest to run)
NEW_LAB = "my_lab"


class PipUser:
    """A fresh venv and an environment with nothing of this checkout in it."""

    def __init__(self, root: Path, repo_root: Path):
        self.root, self.venv = root, root / "venv"
        self.home, self.work = root / "home", root / "work"
        self.home.mkdir()
        self.work.mkdir()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "VIRTUAL_ENV", "MLSYSLAB_", "JUPYTER", "IPYTHON", "XDG_", "CONDA"))}
        keep = [p for p in env.get("PATH", "").split(os.pathsep)
                if p and not Path(p).resolve().is_relative_to(repo_root) and ".pyenv" not in p]
        cache = Path(os.path.expanduser("~/.cache/pip"))  # the machine's pip cache, found before HOME changes
        env.update(HOME=str(self.home), PATH=os.pathsep.join([str(self.venv / "bin"), *keep]))
        if cache.is_dir() and "PIP_CACHE_DIR" not in env:  # (.ci/run sets it)
            env["PIP_CACHE_DIR"] = str(cache)
        self.env = env
        base = getattr(sys, "_base_executable", sys.executable)  # this Python, outside the .venv
        subprocess.run([base, "-m", "venv", str(self.venv)], check=True, timeout=300, env=env)
        self.python = str(self.venv / "bin" / "python")

    def run(self, *args, cwd=None, timeout=600, check=True):
        proc = subprocess.run([str(a) for a in args], cwd=cwd or self.work, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"{' '.join(map(str, args))}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc

    def mlsyslab(self, *args, **kw):
        return self.run(self.venv / "bin" / "mlsyslab", *args, **kw)

    def pip_install(self, *reqs):
        self.run(self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *reqs, timeout=900)

    def package_dir(self) -> Path:
        out = self.run(self.python, "-c", "import mlsyslab, os; print(os.path.dirname(mlsyslab.__file__))")
        return Path(out.stdout.strip())

    def snapshot(self) -> dict:
        """sha256 of every installed file of the package (its folder and its dist-info), bytecode caches aside."""
        pkg = self.package_dir()
        roots = [pkg, *pkg.parent.glob("mlsyslab-*.dist-info")]
        return {str(p.relative_to(pkg.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
                for r in roots for p in sorted(r.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def entry_point_labs(user) -> list[str]:
    out = user.run(user.python, "-c", "import importlib.metadata as m, json; "
                   "print(json.dumps(sorted(e.name for e in m.entry_points(group='mlsyslab.labs'))))")
    return json.loads(out.stdout)


# --------------------------------------------------------------------------- build
@pytest.fixture(scope="module")
def dist(tmp_path_factory, repo_root):
    built = build_dist(repo_root, tmp_path_factory.mktemp("dist"))
    sdist, wheel = built["sdist"], built["wheel"]
    twine = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)],
                           capture_output=True, text=True, timeout=120)
    assert twine.returncode == 0, twine.stdout + twine.stderr
    return {"sdist": sdist, "wheel": wheel}


def test_sdist_and_wheel_carry_the_metadata_a_reviewer_checks(dist, repo_root):
    import mlsyslab

    with tarfile.open(dist["sdist"]) as tar:
        names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    assert "LICENSE" in names and "pyproject.toml" in names and "README.md" in names
    assert not [n for n in names if n.startswith("tests/")], "the sdist leaves the test suite out (MANIFEST.in)"
    with zipfile.ZipFile(dist["wheel"]) as whl:
        files = whl.namelist()
        info = next(n.split("/")[0] for n in files if n.endswith(".dist-info/METADATA"))
        meta = whl.read(f"{info}/METADATA").decode()
        entry_points = whl.read(f"{info}/entry_points.txt").decode()
    head, description = meta.split("\n\n", 1)
    fields = [line.split(": ", 1) for line in head.splitlines()]
    one = {k: v for k, v in fields}
    assert one["Version"] == mlsyslab.__version__
    assert one["License-Expression"] == "Apache-2.0" and one["License-File"] == "LICENSE"
    assert f"{info}/licenses/LICENSE" in files
    assert one["Requires-Python"] == ">=3.11" and one["Author"] == "mlsyslab contributors"
    urls = [v for k, v in fields if k == "Project-URL"]
    assert urls and all(u.split(", ", 1)[1].startswith("https://github.com/mlsyslab/mlsyslab") for u in urls)
    assert "Programming Language :: Python :: 3.12" in [v for k, v in fields if k == "Classifier"]
    # the package index page shows the README as it is in the repository
    assert description.strip() == (repo_root / "README.md").read_text(encoding="utf-8").strip()
    for name in ("serving_sla.yaml", "training_job.yaml", "sustainability_grids.json", "broken.yaml"):
        assert f"mlsyslab/examples/{name}" in files
    assert "[mlsyslab.labs]" in entry_points
    # exactly the package's files (modules and data): nothing stale from a build/ folder, nothing left out
    shipped = sorted(n for n in files if n.startswith("mlsyslab/"))
    ours = sorted(str(p.relative_to(repo_root)) for p in (repo_root / "mlsyslab").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    assert shipped == ours


# --------------------------------------------------------------------------- core install
@pytest.fixture(scope="module")
def user(dist, tmp_path_factory, repo_root):
    u = PipUser(tmp_path_factory.mktemp("pipuser"), repo_root)
    u.pip_install(str(dist["wheel"]))
    assert u.package_dir().is_relative_to(u.venv)
    return u


def test_readme_python_runs_from_the_core_install_in_an_empty_folder(user, repo_root):
    blocks = _python_blocks((repo_root / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    empty = user.root / "readme"
    empty.mkdir()
    proc = user.run(user.python, "-c", "\n".join(blocks), cwd=empty)
    assert proc.stderr == ""
    shown = re.search(r"round\(r\.decode_throughput\)\)\s*#\s*(.+)", blocks[0]).group(1).strip()
    assert proc.stdout.splitlines()[0] == shown
    assert list(empty.iterdir()) == []


def test_readme_command_lines_run_from_the_core_install(user, repo_root):
    lines = _cli_lines((repo_root / "README.md").read_text(encoding="utf-8"))
    assert any("--example" in line for line in lines)
    for line in lines:
        args = shlex.split(line)
        proc = user.run(user.venv / "bin" / args[0], *args[1:])
        assert proc.stdout.strip() and proc.stderr == "", line


def test_without_the_extras_each_part_names_the_one_to_install(user):
    proc = user.run(user.python, "-c", "import mlsyslab.widgets", check=False)
    assert proc.returncode == 1 and "No module named" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == ("mlsyslab.extras.MissingExtraError: mlsyslab.widgets needs "
                                                    "the 'widgets' extra: pip install 'mlsyslab[widgets]'")
    folder = user.root / "no-extras"
    folder.mkdir()
    lab = one_line_error(user.mlsyslab("lab", "--copy", "labs", cwd=folder, check=False))
    assert "needs the 'lab' extra" in lab and "pip install 'mlsyslab[lab]'" in lab
    course = one_line_error(user.mlsyslab("course", "init", "course", cwd=folder, check=False))
    assert "needs the 'grading' extra" in course and "pip install 'mlsyslab[grading]'" in course
    assert list(folder.iterdir()) == []


# --------------------------------------------------------------------------- with [lab,grading]
@pytest.fixture(scope="module")
def full(user, dist):
    user.pip_install(f"{dist['wheel']}[lab,grading]")
    user.before = user.snapshot()
    return user


@pytest.fixture(scope="module")
def copied(full):
    out = full.root / "my-labs"
    full.mlsyslab("lab", "--copy", out)
    return out


def test_lab_copy_writes_the_nine_labs_and_the_explorers(full, copied):
    labs = entry_point_labs(full)
    assert len(labs) == 9
    assert sorted(p.stem for p in copied.glob("*.ipynb")) == labs
    explorers = sorted(p.stem for p in (copied / "explorers").glob("*.ipynb"))
    assert explorers and set(explorers) <= set(labs)
    for nb in [*copied.glob("*.ipynb"), *(copied / "explorers").glob("*.ipynb")]:
        text = nb.read_text(encoding="utf-8")
        assert json.loads(text)["nbformat"] == 4
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, nb.name


@pytest.fixture(scope="module")
def opened(full):
    """Plain ``mlsyslab lab`` without a checkout: the labs are copied once into a folder of the user's."""
    return full.mlsyslab("lab", "--print-command").stdout


def test_plain_lab_opens_a_copy_in_the_users_folder(full, opened):
    labs = entry_point_labs(full)
    where = [Path(w) for w in re.findall(r"--notebook-dir=(\S+)", opened)]
    assert len(where) == 1 and where[0].is_relative_to(full.home), opened
    assert sorted(p.stem for p in where[0].glob("*.ipynb")) == labs


@pytest.fixture(scope="module")
def course(full):
    home = full.root / "course"
    full.mlsyslab("course", "init", home)
    full.mlsyslab("course", "new-lab", NEW_LAB, cwd=home)
    full.mlsyslab("course", "build", NEW_LAB, cwd=home)
    full.mlsyslab("grade", "release", cwd=home, timeout=900)
    return home


def test_course_init_new_lab_and_release(full, course):
    labs = [*entry_point_labs(full), NEW_LAB]
    assert (course / "nbgrader_config.py").is_file() and (course / "labs" / f"{NEW_LAB}.py").is_file()
    secret = course / "keys" / "course_secret"
    assert secret.is_file() and secret.stat().st_mode & 0o777 == 0o600
    for lab in labs:
        assert (course / "source" / lab / f"{lab}.ipynb").is_file(), lab
        released = course / "release" / lab / f"{lab}.ipynb"
        assert released.is_file(), lab
        assert "BEGIN SOLUTION" not in released.read_text(encoding="utf-8"), lab


@pytest.fixture(scope="module")
def graded(full, course):
    subs = full.root / "submissions"
    for lab in (BUILT_IN, NEW_LAB):
        for student, nb in (("solved", course / "source" / lab / f"{lab}.ipynb"),
                            ("blank", course / "release" / lab / f"{lab}.ipynb")):
            (subs / student).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(nb, subs / student / f"{lab}.ipynb")
    full.mlsyslab("grade", "autograde", subs, "--out", full.root / "out", cwd=course, timeout=1200)
    with open(full.root / "out" / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    logs = "".join(p.read_text(errors="replace")[-3000:] for p in sorted((full.root / "out" / "logs").glob("*")))
    return rows, logs


@pytest.mark.parametrize("lab", [BUILT_IN, NEW_LAB])
def test_autograde_gives_the_solved_copy_full_marks_and_the_blank_zero(graded, lab):
    graded, logs = graded
    notes = [r["feedback"] for r in graded if r["lab"] == lab and r["verdict"] == "note"]
    assert notes == [], logs
    solved = [r for r in graded if r["lab"] == lab and r["student"] == "solved"]
    blank = [r for r in graded if r["lab"] == lab and r["student"] == "blank"]
    assert solved and len(solved) == len(blank)
    assert sum(float(r["max_points"]) for r in solved) > 0
    assert [(r["item"], float(r["points"])) for r in solved] == [(r["item"], float(r["max_points"])) for r in solved]
    assert [float(r["points"]) for r in blank] == [0.0] * len(blank)


def test_no_installed_file_changed(full, copied, opened, course, graded):
    after = full.snapshot()
    assert after.keys() == full.before.keys(), sorted(set(after) ^ set(full.before))
    assert [name for name in after if after[name] != full.before[name]] == []
