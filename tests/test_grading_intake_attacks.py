"""Intake attacks through the real pipeline: `mlsyslab grade autograde SUBS --jobs 2`, `nbgrader collect` from
an exchange whose inbound is mode 733 then `mlsyslab grade autograde LAB --jobs 2`, and plain
`nbgrader autograde` on a submitted/ folder filled by hand (a zip, `cp -a`).

Classes (docs/instructors.md, "Threat model"): the trusted side follows links and opens special files
(notebook or folder linked to source/ or another student, side files linked to keys/, FIFOs, hard links);
unbounded work on student data (3 x 100 MB of output, 100 000 files, a 3000-deep folder); limits per
process instead of per submission (memory of five processes, tasks, files in the working copy);
operations (escape sequences in ids). For each: the attacker scores no more than the blank lab (0),
honest students in the same batch keep full marks, the batch finishes, no process or sandbox folder is
left, the course's files are unchanged, and nothing printed carries an escape character.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import os
import pathlib
import secrets
import subprocess
import sys

import nbformat
import pytest
from support_intake import LAB, make_course

TOKEN = "itk" + secrets.token_hex(4)
ESC_ID = "\x1b]0;owned\x07evil"
pytestmark = [pytest.mark.nbgrader, pytest.mark.slow, pytest.mark.timeout(1800)]


def _env(tmpdir: pathlib.Path) -> dict:
    """The graders' environment; their sandboxes go in ``tmpdir`` (so that other graders on the machine
    are not counted as this run's leftovers)."""
    tmpdir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "MLSYSLAB_UNSAFE_NO_SANDBOX"}
    env["TMPDIR"] = str(tmpdir)
    env["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MLSYSLAB_VARIANTS"] = "0"  # the instructor solution is the default variant's
    return env


def _with_cell(nb, source: str):
    """A copy of ``nb`` with a code cell ``source`` after the setup cells."""
    nb = copy.deepcopy(nb)
    nb.cells.insert(2, nbformat.v4.new_code_cell(source))
    return nb


def _score(home, student) -> tuple:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{home / 'gradebook.db'}", course_id="mlsyslab") as gb:
        nb = gb.find_submission_notebook(LAB, LAB, student)
        auto = [g for g in nb.grades if g.cell_type == "code"]
        return sum(g.score for g in auto), sum(g.max_score for g in auto)


def _digest(home: pathlib.Path) -> dict:
    out = {}
    for part in ("source", "release", "keys", "nbgrader_config.py"):
        for path in sorted([home / part] if (home / part).is_file() else (home / part).rglob("*")):
            if path.is_file() and not path.is_symlink():
                out[str(path.relative_to(home))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _leftovers(tmpdir: pathlib.Path) -> list:
    """Sandbox folders, tmpfs mounts and processes of this run still there."""
    left = [str(p) for p in tmpdir.glob("mlsg-*")]
    with open("/proc/self/mounts", encoding="utf-8") as f:
        left += [line.split()[1] for line in f if line.startswith("mlsyslab-sandbox " + str(tmpdir))]
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if TOKEN.encode() in f.read():
                        left.append(f"pid {entry.name}")
            except OSError:
                continue
    return left


def _key_lines(home: pathlib.Path) -> list:
    """Distinctive lines of the course's key for the lab (what a side file linked to keys/ would leak)."""
    key = home / "keys" / f"{LAB}.py"
    if not key.exists():
        return []
    return [line.strip() for line in key.read_text().splitlines() if len(line.strip()) > 30][:20]


HOG = f'''
import os, time  # {TOKEN}
kids = []
for i in range(5):
    pid = os.fork()
    if pid == 0:
        block = bytearray(300 * 2**20)
        for j in range(0, len(block), 4096):
            block[j] = 1
        time.sleep(3)
        os._exit(0)
    kids.append(pid)
ok = sum(1 for p in kids if os.waitpid(p, 0)[1] == 0)
print("HOG-SURVIVED", ok)
'''

TASKS = f'''
import threading, time  # {TOKEN}
n = 0
for i in range(1000):
    try:
        threading.Thread(target=time.sleep, args=(20,), daemon=True).start()
        n += 1
    except RuntimeError:
        break
print("TASKS-STARTED", n)
'''

FILES = f'''
import os  # {TOKEN}
made = 0
for where in (".", "/tmp"):
    try:
        os.makedirs(where + "/many", exist_ok=True)
        for i in range(100000):
            open(f"{{where}}/many/{{i}}", "w").close()
            made += 1
    except OSError:
        pass
path = "deep"
try:
    fd = os.open(".", os.O_RDONLY)
    for i in range(3000):
        os.mkdir("d", dir_fd=fd); nfd = os.open("d", os.O_RDONLY, dir_fd=fd); os.close(fd); fd = nfd
except OSError:
    pass
print("FILES-MADE", made)
'''

BIG = "import sys\nsys.stdout.write('x' * 100_000_000)\nsys.stdout.flush()\n"


@pytest.fixture(scope="module")
def cli_batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("intake")
    home = make_course(tmp, "c.SandboxedKernelManager.wall_seconds = 90\n"
                            "c.SandboxedKernelManager.sandbox_memory_mb = 1024\n"
                            "c.SandboxedKernelManager.processes = 128\n")
    source = nbformat.read(home / "source" / LAB / f"{LAB}.ipynb", 4)
    release = nbformat.read(home / "release" / LAB / f"{LAB}.ipynb", 4)
    subs = tmp / "subs"
    course_nb = home / "source" / LAB / f"{LAB}.ipynb"
    plain = {"honest-a": source, "honest-b": source, "blank": release,
             "big-output": _with_cell(_with_cell(_with_cell(release, BIG), BIG), BIG),
             "memory-five-processes": _with_cell(release, HOG), "tasks": _with_cell(release, TASKS),
             "files-and-depth": _with_cell(release, FILES), ESC_ID: release}
    for student, nb in plain.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{LAB}.ipynb")
    (subs / "nb-symlink").mkdir()
    (subs / "nb-symlink" / f"{LAB}.ipynb").symlink_to(course_nb)
    (subs / "nb-hardlink").mkdir()
    os.link(course_nb, subs / "nb-hardlink" / f"{LAB}.ipynb")
    (subs / "nb-fifo").mkdir()
    os.mkfifo(subs / "nb-fifo" / f"{LAB}.ipynb")
    (subs / "folder-symlink").symlink_to(subs / "honest-a")
    before = _digest(home)
    proc = subprocess.run([sys.executable, "-m", "mlsyslab", "grade", "autograde", str(subs), "--course", str(home),
                           "--jobs", "2", "--out", str(tmp / "out")], capture_output=True, text=True,
                          env=_env(tmp / "t"), timeout=1500)
    return {"home": home, "proc": proc, "out": tmp / "out", "before": before, "after": _digest(home),
            "left": _leftovers(tmp / "t")}


def test_cli_batch_finishes_and_honest_students_keep_full_marks(cli_batch):
    assert cli_batch["proc"].returncode == 0, cli_batch["proc"].stderr[-3000:]
    for honest in ("honest-a", "honest-b"):
        score, top = _score(cli_batch["home"], honest)
        assert top > 0 and score == pytest.approx(top), (honest, score, top)


@pytest.mark.parametrize("student, why", [
    ("nb-symlink", "symbolic link"), ("nb-hardlink", "hard link"), ("nb-fifo", "FIFO"),
    ("folder-symlink", "symbolic link")])
def test_cli_links_and_special_files_are_refused_with_one_line(cli_batch, student, why):
    assert _score(cli_batch["home"], student)[0] == 0
    rows = list(csv.DictReader(open(cli_batch["out"] / "grades.csv", encoding="utf-8")))
    notes = [r["feedback"] for r in rows if r["student"] == student and r["item"] == "(submission)"]
    assert len(notes) == 1 and why in notes[0] and "refused" in notes[0]
    submitted = cli_batch["home"] / "submitted" / student / LAB / f"{LAB}.ipynb"
    assert not submitted.is_symlink() and os.stat(submitted).st_nlink == 1
    assert "### BEGIN SOLUTION" not in submitted.read_text()


@pytest.mark.parametrize("student", ["big-output", "memory-five-processes", "tasks", "files-and-depth"])
def test_cli_resource_attackers_gain_nothing(cli_batch, student):
    assert _score(cli_batch["home"], student)[0] == 0


def _outputs_text(home, student) -> str:
    nb = nbformat.read(home / "autograded" / student / LAB / f"{LAB}.ipynb", 4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_outputs_are_capped_in_the_graded_notebook(cli_batch):
    graded = cli_batch["home"] / "autograded" / "big-output" / LAB / f"{LAB}.ipynb"
    assert graded.stat().st_size < 20 * 2**20  # was 300 MB: 3 x 100 MB kept whole
    assert "truncated by the grader" in _outputs_text(cli_batch["home"], "big-output")


def test_memory_and_tasks_are_capped_per_sandbox(cli_batch):
    from mlsyslab.grading import intake_limits

    if intake_limits.cgroup_kind() == "":
        pytest.skip("no cgroup on this machine: per-process limits only (docs/instructors.md)")
    hog = _outputs_text(cli_batch["home"], "memory-five-processes")
    survived = int(hog.split("HOG-SURVIVED")[1].split()[0]) if "HOG-SURVIVED" in hog else 0
    assert survived <= 3  # 5 x 300 MiB touched in a sandbox of 1024 MiB
    tasks = _outputs_text(cli_batch["home"], "tasks")
    started = int(tasks.split("TASKS-STARTED")[1].split()[0]) if "TASKS-STARTED" in tasks else 0
    assert started < 128


def test_working_copy_is_bounded_and_cleaned(cli_batch):
    text = _outputs_text(cli_batch["home"], "files-and-depth")
    if os.geteuid() == 0 and "FILES-MADE" in text:  # a tmpfs of 20000 inodes for the working folder
        assert int(text.split("FILES-MADE")[1].split()[0]) < 100000 + 20000
    assert cli_batch["left"] == []


def test_course_files_unchanged_and_no_escape_sequences_printed(cli_batch):
    assert cli_batch["after"] == cli_batch["before"]
    proc = cli_batch["proc"]
    for text in (proc.stdout, proc.stderr, (cli_batch["out"] / "grades.csv").read_text(encoding="utf-8")):
        assert "\x1b" not in text and "\x07" not in text
    rows = list(csv.DictReader(open(cli_batch["out"] / "grades.csv", encoding="utf-8")))
    assert any("not a valid student id" in r["feedback"] for r in rows)


# ------------------------------------------------------------------ nbgrader collect from an exchange


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exchange")
    exchange = tmp / "exchange"
    home = make_course(tmp, f"c.Exchange.root = {str(exchange)!r}\nc.SandboxedKernelManager.wall_seconds = 90\n")
    source = nbformat.read(home / "source" / LAB / f"{LAB}.ipynb", 4)
    release = nbformat.read(home / "release" / LAB / f"{LAB}.ipynb", 4)
    inbound = exchange / "mlsyslab" / "inbound"
    inbound.mkdir(parents=True)
    stamp = "2026-12-01 10:00:00.000000 UTC"

    def entry(student: str) -> pathlib.Path:
        folder = inbound / f"{student}+{LAB}+{stamp}"
        folder.mkdir()
        (folder / "timestamp.txt").write_text(stamp)
        return folder

    nbformat.write(source, entry("honest-c") / f"{LAB}.ipynb")
    side = entry("side-links")
    nbformat.write(_with_cell(release, f"# {TOKEN}\nimport os\nfor name in ('key.py', 'other.txt', 'data.csv'):\n"
                                       "    try:\n        print('LEAK', name, open(name).read()[:5000])\n"
                                       "    except OSError as e:\n        print('NO', name, e)\n"), side / f"{LAB}.ipynb")
    (side / "key.py").symlink_to(home / "keys" / f"{LAB}.py")
    (side / "other.txt").symlink_to(inbound / f"honest-c+{LAB}+{stamp}" / f"{LAB}.ipynb")
    os.mkfifo(side / "data.csv")
    deep = side
    fd = os.open(side, os.O_RDONLY)
    for _ in range(3000):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    (side / "many").mkdir()
    for i in range(100000):
        (side / "many" / str(i)).touch()
    (inbound / f"linked+{LAB}+{stamp}").symlink_to(home / "source" / LAB)
    os.link(home / "source" / LAB / f"{LAB}.ipynb", entry("hardlinked") / f"{LAB}.ipynb")
    nbformat.write(release, entry("\x1b[2Jbad") / f"{LAB}.ipynb")
    inbound.chmod(0o733)
    before = _digest(home)
    collect = subprocess.run([sys.executable, "-m", "nbgrader", "collect", LAB], cwd=home, capture_output=True,
                             text=True, env=_env(tmp / "t"), timeout=600)
    grade = subprocess.run([sys.executable, "-m", "mlsyslab", "grade", "autograde", LAB, "--course", str(home),
                            "--jobs", "2", "--out", str(tmp / "out")], capture_output=True, text=True,
                           env=_env(tmp / "t"), timeout=1200)
    del deep
    from mlsyslab.grading import intake

    yield {"home": home, "collect": collect, "grade": grade, "before": before, "after": _digest(home),
           "left": _leftovers(tmp / "t")}
    intake.rmtree(side)  # 3000 levels: pytest's own clean-up of old temp folders would hit Python's recursion limit


def test_collect_takes_regular_files_only(collected):
    home = collected["home"]
    assert collected["collect"].returncode == 0, collected["collect"].stderr[-3000:]
    side = home / "submitted" / "side-links" / LAB
    assert side.is_dir()
    found = list(side.rglob("*"))
    assert not any(p.is_symlink() or (p.exists() and not (p.is_file() or p.is_dir())) for p in found)
    assert not (side / "key.py").exists() and not (side / "other.txt").exists() and not (side / "data.csv").exists()
    assert sum(1 for p in found if p.is_file()) <= 1000
    assert max(len(p.relative_to(side).parts) for p in found) <= 16
    assert not (home / "submitted" / "linked").exists()
    log = collected["collect"].stdout + collected["collect"].stderr
    assert "\x1b" not in log and "not collected" in log


def test_collected_attackers_gain_nothing_and_honest_keeps_full_marks(collected):
    home = collected["home"]
    assert collected["grade"].returncode == 0, collected["grade"].stdout[-2000:] + collected["grade"].stderr[-2000:]
    score, top = _score(home, "honest-c")
    assert top > 0 and score == pytest.approx(top)
    assert _score(home, "side-links")[0] == 0 and _score(home, "hardlinked")[0] == 0
    leaked = _outputs_text(home, "side-links")
    assert not [k for k in _key_lines(home) if k in leaked]
    assert "### BEGIN SOLUTION" not in leaked
    page = (home / "feedback" / "side-links" / LAB / f"{LAB}.html").read_text(encoding="utf-8")
    assert not [k for k in _key_lines(home) if k in page]
    assert collected["after"] == collected["before"] and collected["left"] == []


# ------------------------------------------------------------------ plain nbgrader autograde


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plain")
    home = make_course(tmp, "c.SandboxedKernelManager.wall_seconds = 90\n")
    source = nbformat.read(home / "source" / LAB / f"{LAB}.ipynb", 4)
    release = nbformat.read(home / "release" / LAB / f"{LAB}.ipynb", 4)
    sub = home / "submitted"

    def folder(student: str) -> pathlib.Path:
        path = sub / student / LAB
        path.mkdir(parents=True)
        return path

    nbformat.write(source, folder("honest-d") / f"{LAB}.ipynb")
    (folder("plain-link") / f"{LAB}.ipynb").symlink_to(home / "source" / LAB / f"{LAB}.ipynb")
    side = folder("plain-side")
    nbformat.write(_with_cell(release, "for n in ('key.py', 'peer.txt'):\n    try:\n        print('LEAK', open(n).read())\n"
                                       "    except OSError as e:\n        print('NO', e)\n"), side / f"{LAB}.ipynb")
    (side / "key.py").symlink_to(home / "keys" / f"{LAB}.py")
    (side / "peer.txt").symlink_to(sub / "honest-d" / LAB / f"{LAB}.ipynb")
    fifo = folder("plain-fifo")
    nbformat.write(release, fifo / f"{LAB}.ipynb")
    os.mkfifo(fifo / "timestamp.txt")
    before = _digest(home)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", LAB], cwd=home, capture_output=True,
                          text=True, env=_env(tmp / "t"), timeout=1200)
    return {"home": home, "proc": proc, "before": before, "after": _digest(home), "left": _leftovers(tmp / "t")}


def test_plain_nbgrader_autograde_takes_regular_files_only(plain):
    home = plain["home"]
    assert plain["proc"].returncode == 0, plain["proc"].stderr[-3000:]
    score, top = _score(home, "honest-d")
    assert top > 0 and score == pytest.approx(top)
    for student in ("plain-link", "plain-side", "plain-fifo"):
        assert _score(home, student)[0] == 0, student
    leaked = _outputs_text(home, "plain-side")
    assert not [k for k in _key_lines(home) if k in leaked] and "### BEGIN SOLUTION" not in leaked
    graded = nbformat.read(home / "autograded" / "plain-link" / LAB / f"{LAB}.ipynb", 4)
    notes = [c.source for c in graded.cells if c.cell_type == "markdown" and "Grader's note" in c.source]
    assert any("refused" in n and "symbolic link" in n for n in notes)
    assert not (home / "autograded" / "plain-side" / LAB / "key.py").exists()
    assert plain["after"] == plain["before"] and plain["left"] == []
