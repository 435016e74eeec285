"""Labs are discovered, not registered; a course is started, extended and graded with package commands.

* the registry: built-in labs through the entry-point group ``mlsyslab.labs`` (pyproject lists
  exactly mlsyslab/labs/builtin/), a course's ``labs/<name>.py`` imported by file path, an unknown or
  broken lab refused in one line naming it, the file and line, and the known labs;
* ``mlsyslab course init``: the course's files (secret mode 0600, the two-line config);
* ``mlsyslab course new-lab``: the example lab's numbers, worked out by hand, and its public module
  (no NOTEBOOK, no hidden part);
* the student material from the package (``mlsyslab lab --copy``) has the cell sources nbgrader's
  release gives (labs/), no solution, and never overwrites a student's notebook;
* (nbgrader) init -> new-lab -> release -> autograde in the sandbox: a solved copy gets full marks,
  a blank one 0, and no released file holds a solution line, a hidden configuration or its value.
"""

from __future__ import annotations

import pathlib
import random
import re
import stat
import sys
import tomllib

import nbformat
import pytest

from mlsyslab.errors import ValidationError
from mlsyslab.labs import registry

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILTIN = sorted(p.stem for p in (ROOT / "mlsyslab" / "labs" / "builtin").glob("lab*.py"))


# ---------------------------------------------------------------- registry

def test_pyproject_declares_every_builtin_lab_as_an_entry_point():
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["mlsyslab.labs"]
    assert table == {name: f"mlsyslab.labs.builtin.{name}" for name in BUILTIN}
    assert len(BUILTIN) == 9
    assert registry.names() == BUILTIN


def test_the_installed_metadata_lists_the_builtin_labs():
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="mlsyslab.labs")}
    assert found == {name: f"mlsyslab.labs.builtin.{name}" for name in BUILTIN}, \
        "reinstall the package (pip install -e .): its entry points are older than pyproject.toml"


def test_an_installed_package_adds_a_lab_through_the_entry_point_group(tmp_path, monkeypatch):
    (tmp_path / "other_pkg_lab.py").write_text("TITLE = 'x'\nPOOL = (dict(a=1),)\n"
                                               "def context(v):\n    return {}\n"
                                               "def cells(v):\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_entry_points", lambda: {"plugin_lab": "other_pkg_lab"})
    assert "plugin_lab" in registry.names() and "lab2_kv_cache" in registry.names()
    assert registry.load("plugin_lab").POOL == (dict(a=1),)


def test_a_course_lab_is_imported_by_file_path_and_reloaded_when_edited(tmp_path):
    labs = tmp_path / "labs"
    labs.mkdir()
    path = labs / "mylab.py"
    path.write_text("POOL = (dict(n=1),)\ndef context(v):\n    return {}\ndef cells(v):\n    return {}\n")
    module = registry.load("mylab", tmp_path)
    assert pathlib.Path(module.__file__) == path.resolve()
    assert module.__name__.startswith("_mlsyslab_lab_mylab_") and "mylab" not in sys.modules
    assert str(labs) not in sys.path
    assert registry.names(tmp_path) == sorted(BUILTIN + ["mylab"])
    path.write_text("POOL = (dict(n=2), dict(n=3))\ndef context(v):\n    return {}\ndef cells(v):\n    return {}\n")
    assert registry.load("mylab", tmp_path).POOL == (dict(n=2), dict(n=3))
    with pytest.raises(ValidationError):  # outside the course the lab does not exist
        registry.load("mylab")


def test_unknown_lab_is_one_line_naming_it_and_the_known_labs(tmp_path):
    with pytest.raises(ValidationError) as err:
        registry.load("lab2_kv_cahce")
    msg = str(err.value)
    assert "\n" not in msg and "'lab2_kv_cahce' is not known" in msg and all(name in msg for name in BUILTIN)
    with pytest.raises(ValidationError) as err:
        registry.load("../etc/passwd", tmp_path)
    assert "not a lab name" in str(err.value)


@pytest.mark.parametrize("source, expect", [
    ("POOL = (dict(),)\n\nx = 1 / 0\n", ":3: ZeroDivisionError: division by zero"),
    ("POOL = ((\n", ":1: SyntaxError: '(' was never closed"),
    ("TITLE = 'no pool'\n", "defines no POOL, context, cells"),
    ("POOL = ()\ndef context(v):\n    return {}\ndef cells(v):\n    return {}\n", "POOL must be a non-empty tuple"),
])
def test_broken_course_lab_is_one_line_with_file_line_and_exception(tmp_path, source, expect):
    (tmp_path / "labs").mkdir()
    path = tmp_path / "labs" / "broken.py"
    path.write_text(source)
    with pytest.raises(ValidationError) as err:
        registry.load("broken", tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("lab 'broken' is broken: ") and expect in msg
    assert str(path.resolve()) in msg and "lab2_kv_cache" in msg


# ---------------------------------------------------------------- course init / new-lab

def test_course_init_writes_a_complete_course(tmp_path):
    from mlsyslab.cli import main

    home = tmp_path / "c"
    assert main(["course", "init", str(home)]) == 0
    config = (home / "nbgrader_config.py").read_text().splitlines()
    assert config[0] == "from mlsyslab.grading.config import configure" and len(config) == 2
    assert config[1].startswith("configure(get_config(), course_id='c')")
    for name in BUILTIN:
        nb = nbformat.read(home / "source" / name / f"{name}.ipynb", 4)
        assert any("### BEGIN SOLUTION" in c.source for c in nb.cells)  # the instructor's copy
    secret = home / "keys" / "course_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}\n", secret.read_text())
    assert (home / "labs" / "README.md").exists() and not list((home / "labs").glob("*.py"))
    ignored = (home / ".gitignore").read_text().split()
    assert {"keys/", "submitted/", "autograded/", "feedback/", "gradebook.db"} <= set(ignored)
    assert sorted(p.stem for p in (home / "student" / "explorers").glob("*.ipynb")) == \
        sorted(p.stem for p in (ROOT / "labs" / "explorers").glob("*.ipynb"))


def test_course_init_refuses_a_non_empty_folder_in_one_line(tmp_path, capsys):
    from mlsyslab.cli import main

    (tmp_path / "notes.txt").write_text("mine")
    assert main(["course", "init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not empty" in err and "--force" in err
    assert not (tmp_path / "nbgrader_config.py").exists()


def test_new_lab_example_numbers_worked_by_hand(tmp_path):
    from mlsyslab.labs import course
    from mlsyslab.labs.variants import Variant

    course.init(tmp_path / "c")
    paths = course.new_lab("lab10_decode", tmp_path / "c")
    assert [p.name for p in paths] == ["lab10_decode.py", "lab10_decode.ipynb", "lab10_decode_public.py"]
    lab = registry.load("lab10_decode", tmp_path / "c")
    assert len(lab.POOL) == 2
    v = Variant(lab.POOL[0], variant=0)  # Llama-3.1-8B (8 030 261 248 parameters) on an H100 (3.35 TB/s)
    item = lab.cells(v)["ex1_itl"][0]
    # weights 2 x 8 030 261 248 B + KV of 512 tokens (2 x 32 layers x 8 kv heads x 128 x 2 B = 131 072 B/token)
    assert item.expected() == pytest.approx((16_060_522_496 + 131_072 * 512) / 3.35e12 * 1e3, rel=1e-9)  # 4.8142 ms
    hand = 16_060_522_496 / 3.35e12 * 1e3  # 4.7942 ms: the hand formula is inside the 2 % tolerance
    assert abs(hand / item.expected() - 1) < item.rtol
    mistakes = {m.name: m.value() for m in item.mistakes}
    assert mistakes["bits_not_bytes"] == pytest.approx(8 * hand) and mistakes["seconds"] == pytest.approx(hand / 1e3)
    assert mistakes["compute_bound"] == pytest.approx(2 * 8_030_261_248 / 989.5e12 * 1e3)  # 0.0162 ms
    drawn = [lab.hidden(v, random.Random(seed))["ex2_step_function"] for seed in range(20)]
    assert all(len(calls) == 2 and {c[1] for c in calls} == {"step_ms"} for calls in drawn)
    assert len({tuple(c[0].label for c in calls) for calls in drawn}) >= 15  # 90 candidates: draws differ
    (item, _, (model, gpu, b)), = [c for c in drawn[0] if c[0].id == "step_ms_hidden_1"]
    assert item.expected() == pytest.approx(model.n_parameters * b / gpu.memory_bandwidth_Bps * 1e3)
    text = "\n".join(c.source for c in nbformat.read(paths[1], 4).cells)
    assert 'efficiency="ideal"' in text and "lab's solver mode, **ideal**" in text
    assert "PredictionCheckpoint(" in text and "reveal(cp_itl" in text and "ServingExplorer(" in text


def test_new_lab_public_module_holds_no_solution_or_hidden_part(tmp_path):
    from mlsyslab.labs import course

    course.init(tmp_path / "c")
    course.new_lab("lab10_decode", tmp_path / "c")
    public = (tmp_path / "c" / "source" / "lab10_decode" / "lab10_decode_public.py").read_text()
    for word in ("NOTEBOOK", "def hidden", "HIDDEN", "BEGIN SOLUTION", "Llama3_70B"):
        assert word not in public, word
    module = registry.load_file(tmp_path / "c" / "source" / "lab10_decode" / "lab10_decode_public.py", "lab10_decode")
    full = registry.load("lab10_decode", tmp_path / "c")
    from mlsyslab.labs.variants import Variant

    v = Variant(full.POOL[1], variant=1)
    assert module.cells(v)["ex1_itl"][0].expected() == full.cells(v)["ex1_itl"][0].expected()


def test_new_lab_refuses_builtin_and_bad_names(tmp_path):
    from mlsyslab.labs import course

    course.init(tmp_path / "c")
    for name, words in (("lab2_kv_cache", "is a built-in lab"), ("2lab", "is not allowed"), ("a-b", "is not allowed")):
        with pytest.raises(ValidationError) as err:
            course.new_lab(name, tmp_path / "c")
        assert words in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------- student material

@pytest.mark.parametrize("lab", BUILTIN)
def test_packaged_student_notebook_has_the_sources_of_the_release(lab):
    from mlsyslab.labs.student import student_notebook

    ours = student_notebook(lab)
    released = nbformat.read(ROOT / "labs" / f"{lab}.ipynb", 4)
    assert [(c.cell_type, c.source) for c in ours.cells] == [(c.cell_type, c.source) for c in released.cells]


@pytest.mark.nbgrader
def test_course_build_writes_the_checkout_labs_byte_for_byte_as_the_release():
    """labs/<lab>.ipynb is nbgrader's release (checksums included); the build's copy is the same bytes."""
    from mlsyslab.labs.student import student_notebook, with_checksums

    for lab in BUILTIN:
        assert nbformat.writes(with_checksums(student_notebook(lab))) == \
            (ROOT / "labs" / f"{lab}.ipynb").read_text(encoding="utf-8").rstrip("\n"), lab


def test_lab_copy_writes_labs_and_explorers_and_keeps_a_students_work(tmp_path, capsys):
    from mlsyslab.cli import main

    dest = tmp_path / "my labs"
    assert main(["lab", "--copy", str(dest)]) == 0
    assert sorted(p.stem for p in dest.glob("*.ipynb")) == BUILTIN
    assert sorted(p.name for p in (dest / "explorers").glob("*.ipynb")) == \
        sorted(p.name for p in (ROOT / "labs" / "explorers").glob("*.ipynb"))
    for path in dest.rglob("*.ipynb"):
        assert "BEGIN SOLUTION" not in path.read_text()
    work = dest / "lab2_kv_cache.ipynb"
    work.write_text(work.read_text().replace("kv_bytes_per_token = None", "kv_bytes_per_token = 131072"))
    capsys.readouterr()
    assert main(["lab", "--copy", str(dest)]) == 0
    assert "kv_bytes_per_token = 131072" in work.read_text()
    assert "wrote 0 notebooks" in capsys.readouterr().out


def test_plain_lab_without_checkout_copies_once_to_the_user_folder(tmp_path, monkeypatch, capsys):
    from mlsyslab.cli import lab

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    first = lab.user_copy()
    assert first == tmp_path / "xdg" / "mlsyslab" / "labs" and len(list(first.glob("*.ipynb"))) == 9
    assert "copied 15 lab notebooks" in capsys.readouterr().out
    assert lab.user_copy() == first and capsys.readouterr().out == ""  # once
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", "/dev/null/nohome")
    with pytest.raises(ValidationError) as err:
        lab.user_copy()
    assert "\n" not in str(err.value) and "cannot write the labs to '/dev/null/nohome/mlsyslab-labs'" in str(err.value)


# ---------------------------------------------------------------- the instructor's walk, through nbgrader

@pytest.mark.nbgrader
@pytest.mark.slow
def test_init_new_lab_release_autograde_full_marks_and_zero(tmp_path, monkeypatch, capsys):
    import csv

    from mlsyslab.cli import main
    from mlsyslab.grading import keys

    home = tmp_path / "course"
    assert main(["course", "init", str(home)]) == 0
    monkeypatch.chdir(home)  # every command below finds the course in the current folder
    assert main(["course", "new-lab", "lab10_decode"]) == 0
    (home / "source" / "bogus").mkdir()  # a source folder for a lab the course does not define
    capsys.readouterr()
    assert main(["grade", "release", "lab10_decode"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bogus is not a known lab" in err and "lab10_decode" in err
    (home / "source" / "bogus").rmdir()
    assert main(["grade", "release"]) == 0
    released = [p for p in (home / "release").rglob("*") if p.is_file()] + \
        [p for p in (home / "student").rglob("*") if p.is_file()]
    assert (home / "student" / "lab10_decode_public.py").is_file() and len(released) > 20
    text = "\n".join(p.read_text(encoding="utf-8") for p in released)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    for name in ("lab10_decode", "lab2_kv_cache"):
        lab = registry.load(name, home)
        for cell in lab.NOTEBOOK:  # no solution line of either lab was released
            for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell["source"], re.S):
                for line in block.splitlines():
                    if len(line.strip()) > 12:
                        assert line.strip() not in text, line
        from mlsyslab.labs.variants import variant

        for student in ("alice", "bob", "carol"):  # each student's hidden configurations and their values
            rng = keys.student_rng(keys.course_secret(home), name, student)
            for calls in lab.hidden(variant(name, student, course=home), rng).values():
                for item, _, _ in calls:
                    value = re.compile(r"(?<![\d.])" + re.escape(f"{item.expected():.6g}") + r"(?![\d])")
                    assert item.label not in text and not value.search(text), item.label
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "bob").mkdir()
    (subs / "alice" / "lab10_decode.ipynb").write_bytes((home / "source" / "lab10_decode" / "lab10_decode.ipynb")
                                                        .read_bytes())  # solved
    (subs / "bob" / "lab10_decode.ipynb").write_bytes((home / "student" / "lab10_decode.ipynb").read_bytes())  # blank
    (subs / "bob" / "scratch.ipynb").write_bytes((home / "student" / "lab10_decode.ipynb").read_bytes())  # no lab
    assert main(["grade", "autograde", str(subs), "--out", str(tmp_path / "out")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8")))
    notes = [r for r in rows if r["verdict"] == "note"]
    assert [(r["student"], r["lab"]) for r in notes] == [("bob", "scratch")]
    assert "scratch.ipynb is not a lab of this course" in notes[0]["feedback"]
    rows = [r for r in rows if r["verdict"] != "note"]
    points = {s: sum(float(r["points"]) for r in rows if r["student"] == s) for s in ("alice", "bob")}
    maxima = {s: sum(float(r["max_points"]) for r in rows if r["student"] == s) for s in ("alice", "bob")}
    # 3 (itl_ms) + 2 x 1 (step_ms on the two hidden configurations) autograded points
    assert maxima == {"alice": 5.0, "bob": 5.0}
    assert points == {"alice": 5.0, "bob": 0.0}
    assert {r["item"] for r in rows} == {"itl_ms", "step_ms_hidden_1", "step_ms_hidden_2"}


def test_grade_variant_of_a_builtin_lab_outside_any_course(tmp_path, monkeypatch, capsys):
    import json

    from mlsyslab.cli import main
    from mlsyslab.grading import course

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(course, "COURSE", tmp_path / "no-checkout")  # as in a wheel install: no autograder/
    monkeypatch.delenv("MLSYSLAB_VARIANTS", raising=False)
    monkeypatch.delenv("MLSYSLAB_COURSE_SEED", raising=False)
    assert main(["grade", "variant", "lab2_kv_cache", "--student", "alice", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # sha256("|lab2_kv_cache|alice") mod 6 = 3 (the course seed is empty): the fourth entry of POOL
    assert out["variant"] == 3 and out["parameters"]["model"] == "Llama3_70B" and out["pool_size"] == 6
    assert main(["grade", "variant", "lab99", "--student", "alice"]) == 2
    assert "'lab99' is not known" in capsys.readouterr().err
