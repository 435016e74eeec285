"""The whole course loop on a real JupyterHub (docs/instructors.md, "Running the course on JupyterHub").

A real ``jupyterhub`` (from the test venv, as root) with ``configurable-http-proxy`` on
127.0.0.1, configured by the documented ``docs/hub/jupyterhub_config.py``; an instructor and
three students as Unix users made for this test (PAM logins); each single-user server runs as
its Unix user from the hub user environment ``.hub/venv``; nbgrader's exchange is a 1777 folder
of the test's; the course is ``autograder/`` copied into the instructor's home.

Everything goes through the hub's REST API, the users' servers (nbgrader's Assignments and
formgrader REST handlers, the contents API, commands run in a kernel of the user's own server)
and chromium for the manual grading in formgrader:

release lab 2 -> three students fetch it and work it (ada: right, computed in her own session
for her variant; bob: partly wrong; eve: hostile - the tampered notebook of
tests/support_grading.py, two rows of tests/test_grading_attacks.py and a snooping cell, plus
prying into the exchange, other homes and the course from her own server) -> submit -> collect ->
autograde (``mlsyslab grade autograde LAB --jobs 2``, sandboxed) -> grade the reflections in
formgrader -> generate and release feedback -> each student fetches their own, and cannot read
anyone else's -> export (``nbgrader export`` and the Canvas CSV) -> a submission forged in
another student's name is caught by the guide's owner check.

The fixtures remove every user, process and folder they made, also when a step fails.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import os
import pathlib
import re
import shlex
import secrets
import shutil
import string
import tempfile
import time
import urllib.parse

import nbformat
import pytest

import support_grading
from test_grading_attacks import ATTACKS
from support_browser import CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT_MS
from support_hub import (COURSE_ID, UnixUsers, check_prerequisites, copy_course, guide_block, start_hub, stop_hub)

pytestmark = [pytest.mark.hub, pytest.mark.nbgrader, pytest.mark.browser, pytest.mark.timeout(600)]

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAB = "lab2_kv_cache"
LAB1 = "lab1_roofline"
SOURCE_NB = ROOT / "autograder" / "source" / LAB / f"{LAB}.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
POOL_SIZE = 6  # lab 2's pool of variants (mlsyslab/labs/lab2_kv_cache.py: POOL)
TOKEN = "hubatk" + secrets.token_hex(4)  # marks what eve's attacks would write
REFLECTIONS = ("reflect_ex1", "reflect_ex2", "reflect_ex3")  # 1 point each, graded by a person

# Autograded points of lab 2 (its test cells' points): ex1_kv_per_token 2, ex1_oom_batch 4
# (weights 1, KV per sequence 1, max batch 2), ex1_kv_function 2, ex2_context_batch 3, ex3_gqa 3
# (ratio 1, wall 2) = 14; reflections 3 x 1 -> 17 in all.
AUTO_MAX, MANUAL_MAX = 14.0, 3.0
# bob: KV per token right (2), the KV function right (2), weights and KV per sequence right but no
# max batch (1 + 1 + 0), the context exercise left blank (0), the GQA ratio inverted (0) with the
# MHA model's wall right (2): 2 + 2 + 2 + 0 + 2 = 8.
BOB_AUTO = 8.0
# what the instructor types into formgrader for the three reflections
MANUAL = {"ada": (1, 1, 1), "bob": (0.5, 1, 0), "eve": (0, 0, 0)}
COMMENT = {"ada": "Clear: weights once, KV per token per request.", "bob": "Say why the batch falls with context.",
           "eve": "No reflection written."}


def variant_index(student: str, seed: str = "") -> int:
    """Lab 2 variant of a student, by the documented rule (docs/labs.md):
    sha256("seed|lab|student") mod pool size."""
    return int(hashlib.sha256(f"{seed}|{LAB}|{student}".encode()).hexdigest(), 16) % POOL_SIZE


def pick_names(prefix: str) -> dict:
    """Student names (prefix + role + digit) whose variants differ from each other: a variant
    mix-up between students would cost points."""
    names, used = {}, set()
    for role in ("ada", "bob", "eve"):
        for k in range(100):
            name = f"{prefix}{role}{k}"
            if variant_index(name) not in used:
                names[role] = name
                used.add(variant_index(name))
                break
    return names


def strip_markers(src: str) -> str:
    return "\n".join(line for line in src.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line)


def source_cells() -> dict:
    nb = nbformat.read(SOURCE_NB, as_version=4)
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")}


def gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


TIMINGS: dict = {}
_T0 = [0.0]


def mark(step: str) -> None:
    """Seconds since the fixture began, per step (test-artifacts/hub-loop-timings.json)."""
    TIMINGS[step] = round(time.monotonic() - _T0[0], 1)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hub-loop-timings.json").write_text(json.dumps(TIMINGS))


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def hub_course():
    """Users, course folder, hub and four running servers; everything removed afterwards."""
    _T0[0] = time.monotonic()
    check_prerequisites()
    mark("prerequisites")
    users = UnixUsers()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mlsyslab-hub-"))
    os.chmod(tmp, 0o755)  # the exchange and the users' nbgrader config live here
    hub = None
    try:
        prof = users.add("prof")
        names = pick_names(users.prefix)
        for role, name in names.items():
            assert users.add(name[len(users.prefix):]) == name
        course = users.home(prof) / "mlsyslab"
        copy_course(ROOT / "autograder", course, prof)
        jupyter_dir = users.home(prof) / ".jupyter"
        jupyter_dir.mkdir()
        (jupyter_dir / "nbgrader_config.py").write_text(
            guide_block("# /home/instructor/.jupyter/nbgrader_config.py", {"/home/instructor/mlsyslab": str(course)}))
        shutil.chown(jupyter_dir, prof, prof)
        shutil.chown(jupyter_dir / "nbgrader_config.py", prof, prof)
        mark("users and course")
        hub = start_hub(tmp, users, [prof], list(names.values()))
        mark("hub up")
        everyone = [prof, *names.values()]
        for user in everyone:  # the hub starts them concurrently
            hub.start_server(user)
        for user in everyone:
            hub.wait_ready(user)
        servers = {user: hub.server(user) for user in everyone}
        mark("four servers up")
        yield {"hub": hub, "users": users, "tmp": tmp, "prof": prof, "names": names, "course": course,
               "servers": servers, "exchange": tmp / "exchange" / COURSE_ID}
    finally:
        if hub is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "jupyterhub.log").write_text(hub.log_tail(2000))
            stop_hub(hub)
            mark("hub stopped")
        problems = users.remove()
        shutil.rmtree(tmp, ignore_errors=True)
        mark("cleaned up")
        assert not problems, problems


# ---------------------------------------------------------------------------------- the loop
def test_course_loop_on_jupyterhub(hub_course):
    hub, users, names = hub_course["hub"], hub_course["users"], hub_course["names"]
    prof, exchange, course = hub_course["prof"], hub_course["exchange"], hub_course["course"]
    s = hub_course["servers"]
    mark("test begins")
    ada, bob, eve = names["ada"], names["bob"], names["eve"]
    students = (ada, bob, eve)

    # ---- 1. instructor: generate the student version and release it to the exchange (formgrader API)
    generated = s[prof].formgrader("POST", f"assignment/{LAB}/assign")
    assert generated["success"], generated
    # lab 1 is generated too but not released: a second gradebook column nobody has submitted to
    generated = s[prof].formgrader("POST", f"assignment/{LAB1}/assign")
    assert generated["success"], generated
    released = s[prof].formgrader("POST", f"assignment/{LAB}/release")
    assert released["success"], released
    assert (exchange / "outbound" / LAB / f"{LAB}.ipynb").is_file()
    mark("released")

    # ---- 2. students fetch it (the Assignments panel's REST handler)
    for student in students:
        listing = s[student].assignments("fetch", LAB)
        assert listing["success"], listing
        fetched = [a for a in listing["value"] if a["assignment_id"] == LAB and a["status"] == "fetched"]
        assert fetched, listing
    release_nb = nbformat.from_dict(s[ada].read_notebook(f"{LAB}/{LAB}.ipynb"))
    assert not any("BEGIN SOLUTION" in c.source or "BEGIN HIDDEN TESTS" in c.source for c in release_nb.cells)

    # ---- variants follow the hub username: each student's own kernel draws their variant
    setup_src = next(c.source for c in release_nb.cells if c.cell_type == "code")
    for student in students:
        out = s[student].run("import json\n" + setup_src + "\nprint('@@' + json.dumps(lab.variant))")
        assert out["status"] == "ok", out
        shown = json.loads(out["stdout"].split("@@", 1)[1])
        assert shown["variant"] == variant_index(student), (student, shown)
    assert len({variant_index(x) for x in students}) == 3
    for student in students:  # the instructor looks a student's variant up by the same name
        told = json.loads(s[prof].sh(f"cd {course} && mlsyslab grade variant {LAB} --student {student} --json")["out"])
        assert told["variant"] == variant_index(student), told

    mark("fetched, variants checked")

    # ---- 3. they work it
    src = source_cells()
    # ada computes her answers in her own session (her variant) and types the numbers in
    answer_code = "\n".join(strip_markers(src[g].source) for g in ("ans_kv_per_token", "ans_oom_batch",
                                                                     "ans_context_batch", "ans_gqa"))
    out = s[ada].run(answer_code + "\nprint('@@' + json.dumps({k: globals()[k] for k in ('kv_bytes_per_token',"
                     " 'weights_bytes', 'kv_bytes_per_sequence', 'max_batch', 'max_batch_32k', 'kv_token_capacity',"
                     " 'gqa_ratio', 'llama2_max_batch')}))")
    assert out["status"] == "ok", out
    mine = json.loads(out["stdout"].split("@@", 1)[1])
    kv_fn = strip_markers(src["ans_oom_batch"].source).split("def kv_cache_bytes", 1)[1].split("\n\n", 1)[0]
    ada_answers = {
        "ans_kv_per_token": f"kv_bytes_per_token = {mine['kv_bytes_per_token']!r}",
        "ans_oom_batch": (f"def kv_cache_bytes{kv_fn}\n\nweights_bytes = {mine['weights_bytes']!r}\n"
                          f"kv_bytes_per_sequence = {mine['kv_bytes_per_sequence']!r}\nmax_batch = {mine['max_batch']!r}"),
        "ans_context_batch": (f"max_batch_32k = {mine['max_batch_32k']!r}\n"
                              f"kv_token_capacity = {mine['kv_token_capacity']!r}"),
        "ans_gqa": (f"mha = ml.Models.get(v.mha)\ngqa_ratio = {mine['gqa_ratio']!r}\n"
                    f"llama2_max_batch = {mine['llama2_max_batch']!r}"),
    }
    for g in ("predict_cp_oom", "predict_cp_32k", "predict_cp_gqa"):
        ada_answers[g] = strip_markers(src[g].source)
    ada_nb = fill(release_nb, ada_answers, {r: strip_markers(src[r].source) for r in REFLECTIONS})

    bob_answers = {
        "ans_kv_per_token": strip_markers(src["ans_kv_per_token"].source),
        "ans_oom_batch": (f"def kv_cache_bytes{kv_fn}\n\nweights_bytes = model.n_parameters * 2\n"
                          "kv_bytes_per_sequence = kv_cache_bytes(model, S, 1, 2)\nmax_batch = None\n"),
        "ans_gqa": ("mha = ml.Models.get(v.mha)\n"
                    "gqa_ratio = kv_cache_bytes(model, 1, 1, 2) / kv_cache_bytes(mha, 1, 1, 2)   # inverted\n"
                    "llama2_max_batch = math.floor((gpu.memory_bytes - mha.n_parameters * 2)"
                    " / kv_cache_bytes(mha, S, 1, 2))\n"),
    }
    bob_nb = fill(release_nb, bob_answers, {"reflect_ex1": "The weights take most of the memory.",
                                            "reflect_ex2": "Longer context, smaller batch."})
    eve_nb = support_grading.tampered(release_nb, support_grading.LABS[LAB]["tamper"])
    # ... and two rows of the attack suite (tests/test_grading_attacks.py): a detached process that
    # rewrites the gradebook after 8 s, and exec'ing the solutions read from the course's source/
    subs = {"COURSE": str(course), "TOKEN": TOKEN, "ROOT": str(ROOT), "HOME": str(users.home(prof))}
    for i, name in enumerate(("detached-gradebook", "exec-source-solutions")):
        eve_nb.cells.insert(1 + i, nbformat.v4.new_code_cell(
            string.Template(ATTACKS[name][1]).safe_substitute(subs)))
    eve_nb.cells.insert(1, nbformat.v4.new_code_cell(SNOOP))
    for student, nb in ((ada, ada_nb), (bob, bob_nb), (eve, eve_nb)):
        s[student].write_notebook(f"{LAB}/{LAB}.ipynb", json.loads(nbformat.writes(nb)))

    # eve pries, from her own server, into what she must not see
    pry = s[eve].sh(
        f"ls {exchange}/inbound; cat /home/{ada}/{LAB}/{LAB}.ipynb; ls /home/{prof}; "
        f"ls {course}/source; touch {exchange}/outbound/{LAB}/x.ipynb; "
        f"grep -rl kv_fn_llama70b_int8 {exchange}/outbound $(python -c 'import mlsyslab, os; "
        f"print(os.path.dirname(mlsyslab.__file__))') && echo HIDDEN-TESTS-FOUND; echo done")
    assert pry["out"].strip().endswith("done"), pry
    for denied in (f"{exchange}/inbound", f"/home/{ada}/{LAB}/{LAB}.ipynb", f"/home/{prof}",
                   f"{course}/source", f"{exchange}/outbound/{LAB}/x.ipynb"):
        assert re.search(re.escape(denied) + r".*Permission denied", pry["err"]), (denied, pry)
    assert "HIDDEN-TESTS-FOUND" not in pry["out"], pry

    # ---- 4. submit
    for student in students:
        sub = s[student].assignments("submit", LAB)
        assert sub["success"], sub
    mark("submitted")
    inbound = sorted(p.name for p in (exchange / "inbound").iterdir())
    assert len(inbound) == 3
    for student in students:  # student+lab+timestamp+random: a name nobody else can guess
        assert any(re.fullmatch(re.escape(f"{student}+{LAB}+") + r"[^+]+\+[A-Za-z0-9_=-]{12}", n) for n in inbound), inbound
    sub_dir = exchange / "inbound" / inbound[0]  # nbgrader's modes (the guide's "Limits of nbgrader's exchange")
    assert (sub_dir.stat().st_mode & 0o777, (sub_dir / f"{LAB}.ipynb").stat().st_mode & 0o777) == (0o777, 0o644)
    for student in students:  # the exchange's inbound cannot be listed by students
        r = users.as_user(student, f"ls {exchange}/inbound")
        assert r.returncode != 0 and "Permission denied" in r.stderr, r

    # ---- 5. collect, autograde (as the instructor, in their server)
    collected = s[prof].formgrader("POST", f"assignment/{LAB}/collect")
    assert collected["success"], collected
    for student in students:
        assert (course / "submitted" / student / LAB / f"{LAB}.ipynb").is_file()
    graded = s[prof].sh(f"cd {course} && mlsyslab grade autograde {LAB} --jobs 2", timeout_s=400)  # sandboxed
    graded_at = time.monotonic()
    assert graded["rc"] == 0 and "3 of 3 collected submissions graded (2 at once)" in graded["out"], graded
    mark("autograded")
    auto = {row["student"]: row for row in s[prof].formgrader("GET", f"submissions/{LAB}")}
    expect_auto = {ada: AUTO_MAX, bob: BOB_AUTO, eve: 0.0}
    for student in students:
        # a reflection left as released is scored 0 by nbgrader itself: eve's need no person
        assert auto[student]["autograded"] and auto[student]["needs_manual_grade"] == (student != eve), auto[student]
        assert auto[student]["code_score"] == pytest.approx(expect_auto[student]), auto[student]
        assert auto[student]["max_code_score"] == pytest.approx(AUTO_MAX), auto[student]
        assert auto[student]["max_written_score"] == pytest.approx(MANUAL_MAX), auto[student]
    time.sleep(max(0.0, 9 - (time.monotonic() - graded_at)))  # the detached process would have struck by now
    marked = s[prof].sh(f"grep -rl {TOKEN} ~ 2>/dev/null; echo end")["out"].splitlines()
    leftovers = [path for path in marked if f"/{eve}/" not in path]  # her own notebook holds the attack
    assert leftovers == ["end"], leftovers
    # eve's code ran in the grading sandbox: no course folder, no other submission, no gradebook
    snooped = check_snoop(s[prof].sh(f"cat {course}/autograded/{eve}/{LAB}/{LAB}.ipynb")["out"])
    assert snooped["course"] is None and snooped["read"] == [] and snooped["wrote"] == [], snooped
    assert not str(snooped["cwd"]).startswith(str(course)), snooped

    # ---- 6. the instructor grades the reflections in formgrader, in chromium
    grade_in_formgrader(hub, prof, users.passwords[prof], names)
    mark("manual grading")
    totals = {row["student"]: row for row in s[prof].formgrader("GET", f"submissions/{LAB}")}
    expect_total = {ada: AUTO_MAX + sum(MANUAL["ada"]), bob: BOB_AUTO + sum(MANUAL["bob"]), eve: 0.0}
    for student in students:
        assert totals[student]["score"] == pytest.approx(expect_total[student]), totals[student]
        assert not totals[student]["needs_manual_grade"], totals[student]

    # ---- 7. feedback: generate, release; each student fetches their own
    fb = s[prof].formgrader("POST", f"assignment/{LAB}/generate_feedback")
    assert fb["success"], fb
    fb = s[prof].formgrader("POST", f"assignment/{LAB}/release_feedback")
    assert fb["success"], fb
    feedback_paths = {}
    for role, student in names.items():
        listing = s[student].assignments("fetch_feedback", LAB)
        assert listing["success"], listing
        entry = next(a for a in listing["value"] if a["assignment_id"] == LAB and a["status"] == "submitted")
        sub = entry["submissions"][0]
        assert sub["has_local_feedback"] and not sub["feedback_updated"], sub
        html_path = users.home(student) / sub["local_feedback_path"] / f"{LAB}.html"  # relative to the home
        shown = s[student].sh(f"cat {shlex.quote(str(html_path))}")
        assert shown["rc"] == 0, (sub, shown)
        html = shown["out"]
        (ARTIFACTS / f"hub-feedback-{role}.html").write_text(html)
        score = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)", html)  # the notebook's total, at the top
        assert score and float(score.group(1)) == pytest.approx(expect_total[student]), html[:3000]
        assert float(score.group(2)) == pytest.approx(AUTO_MAX + MANUAL_MAX)
        assert COMMENT[role] in html, role
        for other_role, other in names.items():
            if other != student:
                assert COMMENT[other_role] not in html
        feedback_paths[student] = html_path
    mark("feedback")

    # ---- nobody reads anyone else's work or feedback (from the other students' own accounts)
    modes = {p: (exchange / p).stat().st_mode & 0o777 for p in (f"outbound/{LAB}", "inbound", "feedback")}
    assert modes == {f"outbound/{LAB}": 0o755, "inbound": 0o733, "feedback": 0o711}, modes  # as in the guide
    assert all(users.home(x).stat().st_mode & 0o777 == 0o700 for x in (prof, *students))
    for student in students:
        for other in students:
            if other == student:
                continue
            for path in (f"/home/{other}/{LAB}/{LAB}.ipynb", str(feedback_paths[other]), f"/home/{other}"):
                r = users.as_user(student, f"cat {shlex.quote(path)} || ls {shlex.quote(path)}")
                assert r.returncode != 0 and "Permission denied" in r.stderr, (student, path, r)
        for path in (f"{exchange}/inbound", f"{exchange}/feedback", f"{course}/submitted", f"{course}/gradebook.db",
                     f"{course}/feedback"):
            r = users.as_user(student, f"ls {path} && cat {path}")
            assert r.returncode != 0 and "Permission denied" in r.stderr, (student, path, r)

    # ---- 8. grades: nbgrader export and the Canvas CSV
    exported = s[prof].sh(f"cd {course} && nbgrader export --to grades.csv && mlsyslab grade export --to canvas.csv")
    assert exported["rc"] == 0, exported
    nb_csv = s[prof].sh(f"cat {course}/grades.csv")["out"]
    canvas_csv = s[prof].sh(f"cat {course}/canvas.csv")["out"]
    (ARTIFACTS / "hub-canvas.csv").write_text(canvas_csv)
    all_rows = list(csv.DictReader(io.StringIO(nb_csv)))
    assert {(r["assignment"], r["student_id"]) for r in all_rows} == {(lab, x) for lab in (LAB1, LAB) for x in students}
    assert all(float(r["score"]) == 0 for r in all_rows if r["assignment"] == LAB1)
    rows = {r["student_id"]: r for r in all_rows if r["assignment"] == LAB}
    assert set(rows) == set(students)
    for student in students:
        assert float(rows[student]["score"]) == pytest.approx(expect_total[student])
        assert float(rows[student]["max_score"]) == pytest.approx(AUTO_MAX + MANUAL_MAX)
    canvas = list(csv.reader(io.StringIO(canvas_csv)))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LAB1, LAB]  # a column per lab
    assert canvas[1] == ["Points Possible", "", "", "", "", "9", "17"]  # lab 1: 8 automatic + 1 reflection
    by_login = {row[3]: row for row in canvas[2:]}
    assert set(by_login) == set(students) and len(canvas) == 2 + len(students)  # one row per student
    for student in students:
        assert by_login[student][5] == "0"  # no submission of lab 1: 0, as in nbgrader export
        assert float(by_login[student][6]) == pytest.approx(expect_total[student])
    mark("exported")

    # ---- the guide's limit: nbgrader's submit takes a student id from its command line, so eve can
    # submit in ada's name; the owner check the guide gives shows it
    forged = s[eve].sh(f"cd ~ && nbgrader submit {LAB} --CourseDirectory.student_id={ada}")
    assert forged["rc"] == 0, forged
    owners = s[prof].sh(f"stat -c '%U %n' {exchange}/inbound/*")["out"].splitlines()
    mismatched = [line for line in owners if not line.split(" ", 1)[1].rsplit("/", 1)[1].startswith(
        line.split(" ", 1)[0] + "+")]
    assert len(mismatched) == 1 and mismatched[0].startswith(f"{eve} ") and f"/{ada}+{LAB}+" in mismatched[0], owners


# ------------------------------------------------------------------------------------ helpers
def fill(release_nb, code: dict, markdown: dict):
    """The release with answer cells (by grade_id) replaced: code cells and reflection cells."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        g = gid(cell)
        if cell.cell_type == "code" and g in code:
            cell.source = code[g]
        elif cell.cell_type == "markdown" and g in markdown:
            cell.source = markdown[g]
    return nb


# Run by the autograder (as the instructor, in eve's kernel): what can a submission read or change?
SNOOP = r'''
import glob, json, os
_found = {"cwd": os.getcwd(), "course": None, "read": [], "wrote": []}
_course = next((p for p in [os.getcwd()] + [os.path.abspath(os.path.join(os.getcwd(), *[".."] * k)) for k in range(1, 6)]
                if os.path.exists(os.path.join(p, "gradebook.db"))), None)
if _course is None:  # not below the course: look for it in the homes
    _course = next((os.path.dirname(p) for p in glob.glob(os.path.expanduser("~/*/gradebook.db"))
                    + glob.glob("/home/*/*/gradebook.db")), None)
for _path in glob.glob("/tmp/*/exchange/*/inbound/*/*.ipynb") + glob.glob("/home/*/*/*.ipynb"):
    try:
        with open(_path, "rb") as _f:
            _f.read(64)
        _found["read"].append(_path)
    except OSError:
        pass
if _course is not None:
    _found["course"] = _course
    for _pattern in ("submitted/*/*/*.ipynb", "gradebook.db", "source/*/*.ipynb", "keys/*.py"):
        for _path in glob.glob(os.path.join(_course, _pattern)):
            try:
                with open(_path, "rb") as _f:
                    _f.read(64)
                _found["read"].append(os.path.relpath(_path, _course))
            except OSError:
                pass
    try:  # opening for writing without creating or changing anything
        os.close(os.open(os.path.join(_course, "gradebook.db"), os.O_WRONLY | os.O_APPEND))
        _found["wrote"].append("gradebook.db")
    except OSError:
        pass
print("SNOOP " + json.dumps(_found))
'''


def check_snoop(autograded_nb_text: str) -> dict:
    """What eve's code saw while it was graded."""
    nb = nbformat.reads(autograded_nb_text, as_version=4)
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    m = re.search(r"SNOOP (\{.*\})", outputs)
    assert m, "eve's snooping cell did not run under the autograder"
    found = json.loads(m.group(1))
    (ARTIFACTS / "hub-snoop.json").write_text(json.dumps(found))
    return found


def grade_in_formgrader(hub, prof: str, password: str, names: dict) -> None:
    """Log in to the hub as the instructor, open each submission in formgrader and type the
    reflection scores and comments."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                     timeout=UI_TIMEOUT_MS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            base = f"{hub.url}/user/{prof}/formgrader"
            gradebook_page = f"/user/{prof}/formgrader/gradebook/{LAB}/{LAB}"
            page.goto(f"{hub.url}/hub/login?next={urllib.parse.quote(gradebook_page)}")
            page.fill("#username_input", prof)
            page.fill("#password_input", password)
            page.click("#login_submit")
            page.wait_for_url(re.compile(".*" + re.escape(gradebook_page) + ".*"))
            page.wait_for_selector("table tbody tr a")  # Manual Grading: one row per submission
            assert page.locator("table tbody tr").count() == len(names)
            rows = page.context.request.get(f"{base}/api/submitted_notebooks/{LAB}/{LAB}").json()
            ids = {r["student"]: r["id"] for r in rows}
            for role, student in names.items():
                page.goto(f"{base}/submissions/{ids[student]}/")
                page.wait_for_load_state("networkidle")  # its grade and comment models are loaded
                for grade_id, points in zip(REFLECTIONS, MANUAL[role]):
                    box = page.locator(f"input.score#{grade_id}")
                    box.fill(str(points))
                    box.press("Tab")  # formgrader saves on change
                page.locator(f"textarea#{REFLECTIONS[0]}-comment").fill(COMMENT[role])
                page.locator(f"textarea#{REFLECTIONS[0]}-comment").press("Tab")
                deadline = time.monotonic() + 30  # formgrader saves in the background: wait for the gradebook
                while True:
                    grades = page.context.request.get(f"{base}/api/grades?submission_id={ids[student]}").json()
                    comments = page.context.request.get(f"{base}/api/comments?submission_id={ids[student]}").json()
                    manual = {g["name"]: g["manual_score"] for g in grades if g["name"] in REFLECTIONS}
                    saved = manual == {r: p for r, p in zip(REFLECTIONS, MANUAL[role])} and any(
                        c["manual_comment"] == COMMENT[role] for c in comments)
                    if saved:
                        break
                    assert time.monotonic() < deadline, (role, manual, comments)
                    time.sleep(0.3)
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"hub-formgrader-{role}.png"), full_page=False)
        finally:
            browser.close()
