"""Oracle-free grading, hidden configurations, trusted feedback and the typed answers channel (issue 18).

Fast tests check the pieces: the package overlay the graded kernel imports (solvers and lab
modules are stubs, the rest works), the answers channel (caps, exact unit allow-list), hidden calls
rendered as code, the course secret, the public view of a lab and ``lab.check``'s warning.

The pipeline test grades lab 2 with ``mlsyslab grade``'s batch (``course.autograde``, 2 sandboxes)
and one submission with plain ``nbgrader autograde``: the instructor's solution keeps 14/14 (and so
does one that records a quantity with a unit), the blank release gets 0, and each attack below
gets 0 for the items it attacks, while what it prints during the hidden calls (plainly, base64,
through a display update, an error message, a post-run hook) never reaches the feedback or the
graded notebook. docs/instructors.md ("Threat model") lists them.
"""

from __future__ import annotations

import base64
import copy
import html
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAB = "lab2_kv_cache"


# ----------------------------------------------------------------------------- the overlay
@pytest.fixture(scope="module")
def overlay_dir():
    from mlsyslab.grading import overlay

    return overlay.overlay()


def _run_in_overlay(overlay_path: str, code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh Python whose ``import mlsyslab`` finds the overlay first (as in the sandbox)."""
    prelude = f"import sys\nsys.path.insert(0, {str(pathlib.Path(overlay_path).parent)!r})\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=300,
                          cwd="/")


def test_overlay_every_kept_module_imports_and_the_solver_is_a_stub(overlay_dir):
    proc = _run_in_overlay(overlay_dir, r'''
import importlib, pkgutil, mlsyslab as ml
bad = []
for m in pkgutil.walk_packages(ml.__path__, "mlsyslab."):
    try:
        importlib.import_module(m.name)
    except Exception as exc:
        bad.append(f"{m.name}: {type(exc).__name__}")
print("BAD", bad)
from mlsyslab.errors import OracleDisabled
solver = ml.ServingSolver(efficiency="ideal")            # constructs
try:
    solver.max_batch_size("Llama3_8B", "H100", 4096)
    print("SOLVED")
except OracleDisabled as exc:
    print("ORACLE", exc._render_traceback_())
from mlsyslab.labs.builtin import lab2_kv_cache as L
for call in (lambda: L.kv_per_token("Llama3_8B"), lambda: L.cells, lambda: L.POOL):
    try:
        call()()
        print("LAB-VALUE")
    except OracleDisabled:
        print("LAB-STUB")
    except TypeError:
        print("LAB-STUB")
from mlsyslab.labs import grading_mode
print("ACTIVE", grading_mode.active())
m, g = ml.Models.get("Llama3_8B"), ml.Hardware.get("H100")
print("ZOO", m.layers, m.kv_heads, m.head_dim, g.memory_bytes)
print("UNITS", ml.Q_(2, "GiB").to("B").magnitude)
from mlsyslab.widgets import PredictionCheckpoint
from mlsyslab.grading import record
print("RECORD", dict(record({"x": 3.0}, "x")))
src = open(importlib.import_module("mlsyslab.solvers.serving").__file__).read()
print("SOURCE-HAS-SOLVER", "def max_batch_size" in src)
''')
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the only module that does not import is the CLI's entry point (a stub raising on import)
    assert "BAD ['mlsyslab.__main__: OracleDisabled']" in out, out
    assert "SOLVED" not in out and "ORACLE ['OracleDisabled: the solver is not available while grading: " \
        "ServingSolver.max_batch_size" in out
    assert out.count("LAB-STUB") == 3 and "LAB-VALUE" not in out
    assert "ACTIVE True" in out
    # Llama-3.1-8B: 32 layers, 8 KV heads, head dim 128 (its config.json); H100: 80 GiB = 85,899,345,920 B
    assert "ZOO 32 8 128 85899345920" in out
    assert "UNITS 2147483648" in out  # 2 x 2^30
    assert "RECORD {'answers': {'x': 3.0}}" in out
    assert "SOURCE-HAS-SOLVER False" in out  # reading the installed solver's source gives the stub


def test_overlay_leaves_the_real_package_unchanged_outside(overlay_dir):
    import mlsyslab.labs.grading_mode as gm

    assert gm.active() is False
    assert pathlib.Path(overlay_dir, "labs", "grading_mode.py").read_text().count("\nACTIVE = True\n") == 1
    assert "def max_batch_size" in (ROOT / "mlsyslab" / "solvers" / "serving.py").read_text()


# ----------------------------------------------------------------------------- answers channel
def test_answers_channel_refuses_hostile_payloads_quickly():
    from mlsyslab.grading.answers import MAX_PAYLOAD_BYTES, Invalid, read_payload, typed_answer
    from mlsyslab.grading.rubric import Item

    item = Item("kv", 1, lambda: 131072.0, "kv", unit="B")
    t0 = time.perf_counter()
    assert read_payload("x" * (MAX_PAYLOAD_BYTES + 1))[1].startswith("a captured answer output of")
    assert read_payload("[" * 50000 + "]" * 50000)[1] is not None          # deep JSON: refused, no recursion
    assert "answers" in read_payload({"answers": {f"a{i}": 1 for i in range(1000)}})[1]
    answers, reason = read_payload({"answers": {"kv": [1, 2], "s": "y" * 201, "b": True, "n": float("nan"),
                                                "d": {"value": {"value": 1}, "unit": "B"}}})
    assert reason is None and all(isinstance(v, Invalid) for v in answers.values())
    hostile = ["1e999999999**999999 B", "B**99999999", "meter", "GiB\x1b[31m", "(" * 5000 + "B",
               "131072 * B", "byte; import os", "B" * 41]
    for unit in hostile:
        value = typed_answer(item, read_payload({"answers": {"kv": {"value": 1, "unit": unit}}})[0]["kv"])
        assert isinstance(value, Invalid), unit
        assert "\x1b" not in value and len(value) < 200
    assert time.perf_counter() - t0 < 5.0
    # the allow-list, exact strings: 128 KiB = 131,072 B; 0.131072 MB = 131,072 B
    assert typed_answer(item, {"value": 128, "unit": "KiB"}) == 131072.0
    assert typed_answer(item, {"value": 0.131072, "unit": "MB"}) == pytest.approx(131072.0)
    assert isinstance(typed_answer(item, {"value": 128, "unit": "s"}), Invalid)       # another dimension
    assert isinstance(typed_answer(item, "131072"), Invalid)                           # a string for a number


def test_hidden_calls_render_numbers_strings_and_zoo_entries_only():
    import mlsyslab as ml
    from mlsyslab.grading.keys import HiddenCall, hidden_cell_source
    from mlsyslab.grading.rubric import Item

    item = Item("kv_fn_hidden_1", 1, lambda: 0.0, "hidden")
    src = hidden_cell_source(HiddenCall("g", item, "kv_cache_bytes", (ml.Models.get("Llama3_70B"), 8192, 4, 1)))
    assert "_record_call('kv_fn_hidden_1', globals(), 'kv_cache_bytes', _ml.Models.get('Llama3_70B'), 8192, 4, 1)" in src
    with pytest.raises(TypeError):
        hidden_cell_source(HiddenCall("g", item, "f", (object(),)))


def test_course_secret_is_made_once_mode_0600_and_draws_the_hidden_configurations(tmp_path, capsys):
    from mlsyslab.grading import keys

    secret = keys.course_secret(tmp_path)
    path = tmp_path / "keys" / "course_secret"
    assert path.stat().st_mode & 0o777 == 0o600 and len(secret) == 64
    assert "made the course secret" in capsys.readouterr().err
    assert keys.course_secret(tmp_path) == secret and capsys.readouterr().err == ""
    labels = {}
    for name, fixed in (("a", "11" * 32), ("b", "22" * 32)):
        course = tmp_path / name
        (course / "keys").mkdir(parents=True)
        (course / "keys" / "course_secret").write_text(fixed)
        key = keys.get(LAB, "jdoe", root=course)
        labels[name] = [call.item.label for call in key.hidden]
        assert len(key.hidden) == 2 and all(c.function == "kv_cache_bytes" for c in key.hidden)
        assert keys.get(LAB, "jdoe", root=course) is key  # cached, the same draw
    assert labels["a"] != labels["b"]  # another course secret, other configurations


def test_feedback_shows_hidden_tests_as_one_line(tmp_path):
    from nbformat.notebooknode import from_dict

    from mlsyslab.grading import keys
    from mlsyslab.grading.preprocessors import feedback_outputs, score_cell

    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "course_secret").write_text("33" * 32)
    key = keys.get(LAB, "jdoe", root=tmp_path)
    first, second = key.hidden
    hidden = {first.item.id: key.expected[first.item.id], second.item.id: 1.0}
    cell = from_dict({"cell_type": "code", "source": "", "metadata": {}, "outputs": []})
    score, scores = score_cell(key, "ex1_kv_function", cell, hidden)
    assert score == 1
    text = json.dumps([dict(o) for o in feedback_outputs("ex1_kv_function", score, 2, scores)])
    assert "hidden tests: 2 points, 1 of 2 passed" in text
    for call in key.hidden:
        assert call.item.label not in text and call.args[0].key not in text


def test_graded_lab_is_built_from_the_public_view():
    from mlsyslab.errors import OracleDisabled
    from mlsyslab.labs import grading_mode, registry
    from mlsyslab.labs.variants import variant

    module = registry.load(LAB)
    v = variant(LAB, None)
    view = json.loads(json.dumps(grading_mode.public_view(LAB, v, module.context(v), "jdoe")))
    lab = grading_mode._lab_class()(view)
    assert lab.variant == dict(v) and lab.student == "jdoe"
    # the default variant: Llama-3.1-8B on an H100 (80 GiB) at 4096 tokens
    assert lab.text("{model.name} on {gpu.key}: {cap} GiB, S = {S}") == "Llama-3.1-8B on H100: 80 GiB, S = 4096"
    assert lab.check({}, "max_batch") is None and lab.verdicts({}, "max_batch") == []
    with pytest.raises(OracleDisabled):
        lab.items()


def test_check_says_when_an_answer_calls_the_solver():
    """In a real IPython shell, lab.check flags the answers whose cell called the solver or lab.items()."""
    proc = subprocess.run([sys.executable, "-c", r'''
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
for cell in ["""
import mlsyslab as ml
lab = ml.labs.open_lab("lab2_kv_cache", variants=False)
solver = ml.ServingSolver(efficiency="ideal")
model, gpu = ml.Models.get("Llama3_8B"), ml.Hardware.get("H100")
""", "max_batch = solver.max_batch_size(model, gpu, 4096)",
     "weights_bytes = lab.items()['weights_bytes'].expected()",
     "kv_bytes_per_token = 2 * model.layers * model.kv_heads * model.head_dim * 2",
     "def kv_cache_bytes(m, s, b, w):\n    return solver.solve(m, gpu, s, b).kv_per_seq_bytes",
     "print('\\n'.join(lab.verdicts(globals(), 'max_batch', 'weights_bytes', 'kv_bytes_per_token', 'kv_cache_bytes')))"]:
    sh.run_cell(cell)
'''], capture_output=True, text=True, timeout=300, cwd="/")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stderr[-2000:]
    flagged = [line for line in lines if "calls the solver" in line]
    assert any(line.startswith("✗ max_batch") and "ServingSolver.max_batch_size" in line for line in flagged), lines
    assert any(line.startswith("✗ weights_bytes") and "lab.items()" in line for line in flagged), lines
    assert any(line.startswith("✗ kv_cache_bytes") and "ServingSolver.solve" in line for line in flagged), lines
    assert not any(line.startswith("✗ kv_bytes_per_token") for line in flagged), lines  # its own cell: no solver


# ----------------------------------------------------------------------------- through the real pipeline
MARK = "LEAK"
#: answer cells (grade_id -> source) of attacks on the oracle; each must score 0 on the cells it answers
ORACLE_ATTACKS = {
    "solver-call": {
        "ans_kv_per_token": "kv_bytes_per_token = solver.solve(model, gpu, S).kv_per_seq_bytes / S",
        "ans_oom_batch": ("def kv_cache_bytes(model, seq_len, batch_size, bytes_per_value):\n"
                          "    return 2 * model.layers * model.kv_heads * model.head_dim * bytes_per_value * seq_len * batch_size\n"
                          "weights_bytes = solver.solve(model, gpu, S).weights_bytes\n"
                          "kv_bytes_per_sequence = solver.solve(model, gpu, S).kv_per_seq_bytes\n"
                          "max_batch = solver.max_batch_size(model, gpu, S)\n"),
        "ans_context_batch": "max_batch_32k = solver.max_batch_size(model, gpu, v.S_long)\n"
                             "kv_token_capacity = max_batch_32k * v.S_long\n",
        "ans_gqa": "gqa_ratio = solver.solve(v.mha, gpu, S).kv_per_seq_bytes / solver.solve(model, gpu, S).kv_per_seq_bytes\n"
                   "llama2_max_batch = solver.max_batch_size(v.mha, gpu, S)\n",
    },
    "lab-items": {gid: "\n".join(f"{n} = lab.items()[{n!r}].expected()" for n in names) for gid, names in {
        "ans_kv_per_token": ["kv_bytes_per_token"],
        "ans_oom_batch": ["weights_bytes", "kv_bytes_per_sequence", "max_batch"],
        "ans_context_batch": ["max_batch_32k", "kv_token_capacity"],
        "ans_gqa": ["gqa_ratio", "llama2_max_batch"]}.items()},
    "import-lab-module": {
        "ans_kv_per_token": ("from mlsyslab.labs.builtin import lab2_kv_cache as L\n"
                             "kv_bytes_per_token = L.kv_per_token(v.model)"),
        "ans_oom_batch": ("import importlib\nL = importlib.import_module('mlsyslab.labs.builtin.lab2_kv_cache')\n"
                          "cells = L.cells(v)\n"
                          "weights_bytes, kv_bytes_per_sequence, max_batch = (i.expected() for i in cells['ex1_oom_batch'])\n"),
        "ans_context_batch": ("from mlsyslab.labs import registry\nL = registry.load('lab2_kv_cache')\n"
                              "max_batch_32k = L.max_batch(v.model, v.gpu, v.S_long)\n"
                              "kv_token_capacity = L.max_batch(v.model, v.gpu, 1)\n"),
        "ans_gqa": ("from mlsyslab.grading import keys\nk = keys.get('lab2_kv_cache', None)\n"
                    "gqa_ratio = k.expected['gqa_ratio']\nllama2_max_batch = k.expected['llama2_max_batch']\n"),
    },
    "read-solver-source": {
        # execute the installed package's own solver source as a fresh module (and its lab module's)
        "ans_oom_batch": ("import importlib.util, pathlib, mlsyslab, sys\n"
                          "pkg = pathlib.Path(mlsyslab.__file__).parent\n"
                          "def fresh(rel, name):\n"
                          "    spec = importlib.util.spec_from_file_location(name, pkg / rel)\n"
                          "    mod = importlib.util.module_from_spec(spec); sys.modules[name] = mod\n"
                          "    spec.loader.exec_module(mod); return mod\n"
                          "S_ = fresh('solvers/serving.py', 'fresh_serving').ServingSolver(efficiency='ideal')\n"
                          "L = fresh('labs/builtin/lab2_kv_cache.py', 'fresh_lab2')\n"
                          "def kv_cache_bytes(model, seq_len, batch_size, bytes_per_value):\n"
                          "    return S_.solve(model, gpu, seq_len, batch_size).kv_per_seq_bytes * batch_size\n"
                          "weights_bytes = S_.solve(model, gpu, S).weights_bytes\n"
                          "kv_bytes_per_sequence = L.kv_per_token(v.model) * S\n"
                          "max_batch = S_.max_batch_size(model, gpu, S)\n"),
        "ans_gqa": ("import mlsyslab.labs.grading_mode as gm, importlib, sys\n"
                    "gm.ACTIVE = False\n"
                    "for name in [n for n in sys.modules if n.startswith('mlsyslab.solvers')]:\n"
                    "    del sys.modules[name]\n"
                    "fresh = importlib.import_module('mlsyslab.solvers.serving').ServingSolver(efficiency='ideal')\n"
                    "lab2 = ml.labs.open_lab('lab2_kv_cache', variants=False)\n"
                    "gqa_ratio = lab2.items()['gqa_ratio'].expected()\n"
                    "llama2_max_batch = fresh.max_batch_size(v.mha, gpu, S)\n"),
    },
}
ATTACKED = {  # grade cells each oracle attack answers (all 0)
    "solver-call": ("ex1_kv_per_token", "ex1_oom_batch", "ex2_context_batch", "ex3_gqa"),
    "lab-items": ("ex1_kv_per_token", "ex1_oom_batch", "ex2_context_batch", "ex3_gqa"),
    "import-lab-module": ("ex1_kv_per_token", "ex1_oom_batch", "ex2_context_batch", "ex3_gqa"),
    "read-solver-source": ("ex1_oom_batch", "ex1_kv_function", "ex3_gqa"),
}

#: a solution whose kv_cache_bytes() tries to get the hidden arguments it is called with into the feedback
LEAK_FUNCTION = f'''
import base64, json, sys
from IPython.display import display, update_display
_seen, _state = [], dict(armed=False, raised=False)
display("placeholder", display_id="leak-slot")
def kv_cache_bytes(model, seq_len, batch_size, bytes_per_value):
    args = json.dumps([getattr(model, "key", str(model)), seq_len, batch_size, bytes_per_value])
    _seen.append(args)
    coded = base64.b64encode(args.encode()).decode()
    print("{MARK}-plain:" + args)
    print("{MARK}-b64:" + coded, file=sys.stderr)
    update_display("{MARK}-upd:" + coded, display_id="leak-slot")          # rewrite an earlier output
    display("{MARK}-new:" + coded, display_id="leak-slot")
    open("leak.txt", "a").write(args)
    if _state["armed"] and not _state["raised"]:  # the first call after the student's last cell: a hidden one
        _state["raised"] = True
        raise ValueError("{MARK}-err:" + coded)
    return 2 * model.layers * model.kv_heads * model.head_dim * bytes_per_value * seq_len * batch_size
get_ipython().events.register("post_run_cell", lambda *a: print("{MARK}-hook:" + ";".join(_seen)))
'''

#: record patched to emit hostile payloads (units, a huge string, many items, deep nesting)
HOSTILE_RECORD = r'''
import mlsyslab.grading as g, mlsyslab.grading.answers as a
from IPython.display import display
def hostile(namespace, *names):
    deep = 1
    for _ in range(3000):
        deep = {"value": deep, "unit": "B"}
    payloads = [
        {"answers": {n: {"value": 1, "unit": "1e999999999**999999 B"} for n in names}},
        {"answers": {n: {"value": 1, "unit": "(" * 3000 + "B"} for n in names}},
        {"answers": {n: "9" * 5_000_000 for n in names}},
        {"answers": {f"x{i}": i for i in range(100_000)}},
        {"answers": {n: deep for n in names}},
    ]
    for p in payloads:
        try:
            display({a.ANSWERS_MIME: p, "text/plain": ""}, raw=True)
        except Exception:
            pass
g.record = a.record = record = hostile
'''


def _with_answers(nb, answers: dict, prelude: str = ""):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers and cell.metadata.nbgrader.get("solution") and not cell.metadata.nbgrader.get("grade"):
            cell.source = answers[gid]
    if prelude:
        nb.cells.insert(2, nbformat.v4.new_code_cell(prelude))
    return nb


def _solution_answer(source_nb, grade_id: str) -> str:
    cell = next(c for c in source_nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
    return cell.source


@pytest.fixture(scope="module")
def oracle_batch(tmp_path_factory):
    from mlsyslab.grading import course

    tmp = tmp_path_factory.mktemp("oracle")
    home = tmp / "autograder"
    (home / "source").mkdir(parents=True)
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
    with open(home / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\nc.SandboxedKernelManager.wall_seconds = 120\n")
    shutil.copytree(ROOT / "autograder" / "source" / LAB, home / "source" / LAB)
    (home / "keys").mkdir()
    (home / "keys" / "course_secret").write_text("44" * 32)  # this test course's own, fixed secret
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLSYSLAB_VARIANTS", "0")
        course.release(course=home, labs_dir=None)
        source = nbformat.read(home / "source" / LAB / f"{LAB}.ipynb", 4)
        release = nbformat.read(home / "release" / LAB / f"{LAB}.ipynb", 4)
        quantity = copy.deepcopy(source)  # records 128 KiB (= 131,072 B) as a quantity, then goes on with the number
        at = next(i for i, c in enumerate(quantity.cells)
                  if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "ex1_kv_per_token")
        quantity.cells.insert(at + 1, nbformat.v4.new_code_cell("kv_bytes_per_token = 131072"))
        quantity.cells.insert(at, nbformat.v4.new_code_cell("kv_bytes_per_token = ml.Q_(128, 'KiB')"))
        leak_oom = _solution_answer(source, "ans_oom_batch").replace("def kv_cache_bytes", "def _unused_kv")
        leak = _with_answers(source, {"ans_oom_batch": LEAK_FUNCTION + "\n" + leak_oom})
        leak.cells.append(nbformat.v4.new_code_cell('_state["armed"] = True   # the student\'s last cell'))
        notebooks = {"solution": source, "blank": release, "quantity-answer": quantity, "leak-hidden-args": leak,
                     "hostile-payloads": _with_answers(source, {}, HOSTILE_RECORD)}
        for name, answers in ORACLE_ATTACKS.items():
            notebooks[name] = _with_answers(release, answers)
        subs = tmp / "submissions"
        for student, nb in notebooks.items():
            (subs / student).mkdir(parents=True)
            nbformat.write(nb, subs / student / f"{LAB}.ipynb")
        t0 = time.monotonic()
        course.autograde(subs, tmp / "out", course=home, jobs=2)
        batch_s = time.monotonic() - t0
        # the same solver attack once more through plain `nbgrader autograde` typed in the course folder
        dest = home / "submitted" / "plain-solver-call" / LAB
        dest.mkdir(parents=True)
        nbformat.write(notebooks["solver-call"], dest / f"{LAB}.ipynb")
        env = dict(os.environ, PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
        plain = subprocess.run([str(pathlib.Path(sys.executable).parent / "nbgrader"), "autograde", LAB, "--student",
                                "plain-solver-call"], cwd=home, env=env, capture_output=True, text=True, timeout=600)
    return {"home": home, "out": tmp / "out", "students": list(notebooks), "plain": plain, "batch_s": batch_s}


def _cells(home, student) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{home / 'gradebook.db'}", course_id="mlsyslab") as gb:
        nb = gb.find_submission_notebook(LAB, LAB, student)
        return {g.name: (g.score, g.max_score) for g in nb.grades if g.cell_type == "code"}


@pytest.mark.nbgrader
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_honest_solutions_keep_full_marks_and_blank_gets_zero(oracle_batch):
    for student in ("solution", "quantity-answer", "hostile-payloads"):
        cells = _cells(oracle_batch["home"], student)
        if student == "hostile-payloads":  # its record() is replaced: every recorded cell scores 0, the
            cells = {k: v for k, v in cells.items() if k == "ex1_kv_function"}  # hidden calls still full
        assert cells and all(s == pytest.approx(m) for s, m in cells.values()), (student, cells)
    assert sum(s for s, _ in _cells(oracle_batch["home"], "blank").values()) == 0


@pytest.mark.nbgrader
@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("attack", sorted(ORACLE_ATTACKS))
def test_answers_from_the_solver_or_a_key_score_zero(oracle_batch, attack):
    cells = _cells(oracle_batch["home"], attack)
    assert {k: cells[k][0] for k in ATTACKED[attack]} == {k: 0 for k in ATTACKED[attack]}
    feedback = (oracle_batch["out"] / "feedback" / attack / f"{LAB}.html").read_text(encoding="utf-8")
    assert "not available while grading" in feedback and "most recent call last" not in feedback


@pytest.mark.nbgrader
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_plain_nbgrader_autograde_is_oracle_free_too(oracle_batch):
    assert oracle_batch["plain"].returncode == 0, oracle_batch["plain"].stderr[-3000:]
    cells = _cells(oracle_batch["home"], "plain-solver-call")
    assert {k: cells[k][0] for k in ATTACKED["solver-call"]} == {k: 0 for k in ATTACKED["solver-call"]}


@pytest.mark.nbgrader
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_hidden_arguments_never_reach_feedback_or_the_graded_notebook(oracle_batch):
    from mlsyslab.grading import keys

    home = oracle_batch["home"]
    key = keys.get(LAB, "leak-hidden-args", root=home)
    coded = [base64.b64encode(json.dumps([c.args[0].key, *c.args[1:]]).encode()).decode() for c in key.hidden]
    visible = {json.dumps(a) for a in (["Llama3_8B", 4096, 1, 2], ["Llama2_7B", 1, 1, 2], ["Llama3_8B", 1, 1, 2],
                                        ["Llama2_7B", 4096, 1, 2])}  # the calls of its own answer cells
    visible |= {base64.b64encode(v.encode()).decode() for v in visible}
    cells = _cells(home, "leak-hidden-args")
    assert cells["ex1_kv_function"][0] == 1  # the first hidden call raised (0), the second was right (1)
    assert cells["ex1_oom_batch"][0] == cells["ex1_oom_batch"][1]  # its visible answers are the solution's
    for student in oracle_batch["students"]:
        page = (oracle_batch["out"] / "feedback" / student / f"{LAB}.html").read_text(encoding="utf-8")
        graded = (home / "autograded" / student / LAB / f"{LAB}.ipynb").read_text(encoding="utf-8")
        for text in (page, graded, html.unescape(page), json.dumps(json.loads(graded))):
            for call, code in zip(key.hidden, coded):
                plain = json.dumps([call.args[0].key, *call.args[1:]])
                assert code not in text and plain not in text and plain.replace('"', '\\"') not in text, student
                assert call.item.label not in text and keys.hidden_cell_source(call) not in text, student
            assert "_record_call" not in text, student
            plain_text = html.unescape(text).replace('\\"', '"')
            found = set(re.findall(rf"{MARK}-[a-z]+:([A-Za-z0-9+/=]{{8,}}|\[[^\]]*\])", plain_text))
            assert found <= visible, (student, found - visible)  # only its own, visible calls printed


@pytest.mark.nbgrader
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_hostile_payloads_are_bounded_and_score_zero(oracle_batch):
    cells = _cells(oracle_batch["home"], "hostile-payloads")
    recorded = {k: v for k, v in cells.items() if k != "ex1_kv_function"}
    assert recorded and all(s == 0 for s, _ in recorded.values()), cells
    graded = oracle_batch["home"] / "autograded" / "hostile-payloads" / LAB / f"{LAB}.ipynb"
    assert graded.stat().st_size < 8 * 2**20
    # the whole batch (9 notebooks, 2 at a time) finished in bounded time: nobody's grading hung
    assert oracle_batch["batch_s"] < 900


def test_course_secret_made_by_racing_graders_is_one_complete_secret(tmp_path):
    """Batch workers start together on a course with no secret yet: each must read the same full
    64-hex secret (a reader once saw the file between its creation and its write: empty, ValueError)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(8) as pool:
        secrets = pool.map(_secret_of, [str(tmp_path)] * 32)
    assert len(set(secrets)) == 1 and len(secrets[0]) == 64
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["course_secret"]  # no temp file left


def _secret_of(root):
    import contextlib
    import io

    from mlsyslab.grading import keys

    with contextlib.redirect_stderr(io.StringIO()):
        return keys.course_secret(root)
