"""Intake of student files by the trusted side (mlsyslab/grading/intake*.py), without nbgrader.

Reads are no-follow, regular-file only, non-blocking and bounded; copies skip links, special files
and hard links and cap depth, count and bytes; clean-up survives any tree; ids and printed text are
checked/stripped; outputs are capped as they arrive; a sandbox's cgroup caps the whole sandbox and
its uid is its own. The same attacks through the real pipeline are in test_grading_intake_attacks.py.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from mlsyslab.grading import intake


@pytest.mark.parametrize("student, ok", [
    ("alice", True), ("a.b_c@d+e-f", True), ("A1", True), ("x" * 64, True), ("_x", True),
    ("", False), (".", False), ("..", False), (".hidden", False), ("-rf", False), ("x" * 65, False),
    ("a/b", False), ("a b", False), ("a\x1b[31m", False), ("é", False), ("a\nb", False), (None, False),
])
def test_student_id_rule(student, ok):
    assert intake.valid_student_id(student) is ok


def test_printable_strips_escape_sequences_and_controls():
    text = "\x1b]0;owned\x07ali\x1b[2J\x1b[31mce\x1b[0m\r\n\u202egnp\x00" + "x" * 300
    shown = intake.printable(text, limit=40)
    assert shown.startswith("alice??")  # \r \n made visible as ?, the sequences gone
    assert not any(ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0 or ch == "\u202e" for ch in shown)
    assert len(shown) == 40 and shown.endswith("...")


@pytest.fixture
def course_file(tmp_path):
    secret = tmp_path / "course" / "keys" / "lab.py"
    secret.parent.mkdir(parents=True)
    secret.write_text("EXPECTED = 131072\n")
    return secret


def test_read_file_refuses_links_special_files_and_hard_links(tmp_path, course_file):
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "ok.ipynb").write_text("{}")
    (subs / "bob").mkdir()
    (subs / "bob" / "nb.ipynb").symlink_to(course_file)
    (subs / "carol").symlink_to(subs / "alice")             # the student folder is a link to another's
    (subs / "dave").mkdir()
    os.link(course_file, subs / "dave" / "nb.ipynb")          # a hard link to a course file
    (subs / "erin").mkdir()
    os.mkfifo(subs / "erin" / "nb.ipynb")
    (subs / "frank").mkdir()
    (subs / "frank" / "nb.ipynb").write_bytes(b"x" * 2000)

    assert intake.read_file(subs / "alice" / "ok.ipynb", root=subs) == b"{}"
    cases = {subs / "bob" / "nb.ipynb": "symbolic link", subs / "carol" / "ok.ipynb": "symbolic link",
             subs / "dave" / "nb.ipynb": "hard link", subs / "erin" / "nb.ipynb": "FIFO",
             subs / "frank" / "nb.ipynb": "2000 bytes", subs / ".." / "course" / "keys" / "lab.py": "outside"}
    for path, why in cases.items():
        start = time.monotonic()
        with pytest.raises(intake.Refused) as exc:
            intake.read_file(path, root=subs, max_bytes=1000)
        assert why in str(exc.value) and "\n" not in str(exc.value), (path, str(exc.value))
        assert time.monotonic() - start < 2  # a FIFO with no writer does not block
    assert intake.read_file(subs / "frank" / "nb.ipynb", max_bytes=10, tail=True) == b"x" * 10


def test_copy_tree_takes_regular_files_only_within_caps(tmp_path, course_file):
    src = tmp_path / "submission"
    (src / "data").mkdir(parents=True)
    (src / "data" / "ok.csv").write_text("1,2\n")
    (src / "notes.txt").write_text("mine")
    (src / "key.py").symlink_to(course_file)
    (src / "keys").symlink_to(course_file.parent)
    os.link(course_file, src / "hard.py")
    os.mkfifo(src / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(src / "sock"))
    deep = src
    for _ in range(40):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (src / "many").mkdir()
    for i in range(50):
        (src / "many" / f"{i}.txt").write_text("x")
    notes = intake.copy_tree(src, tmp_path / "copy", max_depth=16)
    capped = intake.copy_tree(src, tmp_path / "capped", max_files=30)
    sock.close()
    assert sum(1 for p in (tmp_path / "capped").rglob("*") if p.is_file()) == 30
    assert "more than 30 files" in capped[-1]
    copied = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*") if p.is_file())
    assert "data/ok.csv" in copied and "notes.txt" in copied
    assert not any(p.is_symlink() for p in (tmp_path / "copy").rglob("*"))
    assert not {"key.py", "hard.py", "pipe", "sock"} & set(copied) and "keys" not in os.listdir(tmp_path / "copy")
    assert len(copied) == 52
    depth = max(len(p.relative_to(tmp_path / "copy").parts) for p in (tmp_path / "copy").rglob("*"))
    assert depth <= 16
    text = "\n".join(notes)
    for word in ("symbolic link", "hard link", "FIFO", "socket", "deeper than 16"):
        assert word in text, word
    assert all("\n" not in n for n in notes)


def _deep_tree(base: pathlib.Path, depth: int) -> None:
    base.mkdir()
    fd = os.open(base, os.O_RDONLY)
    for i in range(depth):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
        if i % 1000 == 999:
            os.mkfifo("p", dir_fd=fd)
    os.close(fd)


def test_rmtree_removes_a_deep_tree_unreadable_folders_and_special_files(tmp_path):
    tree = tmp_path / "left"
    _deep_tree(tree, 1500)  # deeper than Python's recursion limit (the 3000-deep case runs in the pipeline test)
    (tree / "locked").mkdir()
    (tree / "locked" / "f").write_text("x")
    (tree / "link").symlink_to(tmp_path)  # removed, not followed
    (tree / "locked").chmod(0)
    sentinel = tmp_path / "keep.txt"
    sentinel.write_text("kept")
    try:
        with pytest.raises(RecursionError):  # what the old clean-up met, and hid with ignore_errors
            import shutil

            shutil.rmtree(tree, ignore_errors=True)
        assert intake.rmtree(tree) is True
    finally:
        intake.rmtree(tree)  # never left for pytest's own clean-up (recursive) to meet
    assert not tree.exists() and sentinel.read_text() == "kept"
    assert intake.rmtree(tmp_path / "never-there") is True


def test_outputs_are_capped_as_they_arrive():
    from nbformat.v4 import new_code_cell

    from mlsyslab.grading.answers import ANSWERS_MIME
    from mlsyslab.grading.preprocessors import TrustedExecute

    ex = TrustedExecute(max_output_bytes=1_000_000, max_message_bytes=400_000)
    ex.reset_execution_trackers()
    ex.clear_before_next_output = False
    ex._used, ex._answers_used, ex._noted = 0, 0, set()
    cell = new_code_cell("print(...)")
    cell.outputs = []

    def msg(msg_type, content):
        return {"msg_type": msg_type, "header": {"msg_type": msg_type}, "parent_header": {}, "content": content}

    for _ in range(3):  # 3 x 10 MB of text, as one message each
        ex.process_message(msg("stream", {"name": "stdout", "text": "x" * 10_000_000}), cell, 0)
    big_html = {"data": {"text/html": "<b>" * 3_000_000, "text/plain": "y" * 100,
                         ANSWERS_MIME: {"answers": {"max_batch": 130}}}, "metadata": {"width": "z" * 10**6}}
    ex.process_message(msg("display_data", big_html), cell, 0)
    kept = sum(len(o.get("text", "")) + sum(len(str(v)) for v in o.get("data", {}).values()) for o in cell.outputs)
    assert kept <= 1_000_000 + 1000
    assert any(o.get("data", {}).get(ANSWERS_MIME) == {"answers": {"max_batch": 130}} for o in cell.outputs)
    assert all(o.get("metadata", {}) in ({},) for o in cell.outputs if o.output_type == "display_data")
    notes = [o for o in cell.outputs if o.output_type == "stream" and "truncated by the grader" in o.text]
    assert len(notes) == 1


def _root_with_cgroup_v1() -> bool:
    from mlsyslab.grading import intake_limits

    return os.geteuid() == 0 and intake_limits.cgroup_kind() == "v1"


@pytest.mark.skipif(not _root_with_cgroup_v1(), reason="needs root and cgroup v1 memory+pids (this CI's layout)")
def test_box_caps_the_whole_sandbox_and_owns_its_uid():
    """Five processes of 100 MiB in a box of 256 MiB: the box is killed, not the machine; two live boxes
    never share a uid; closing leaves no cgroup, mount or folder."""
    from mlsyslab.grading import intake_limits

    a = intake_limits.Box(memory_mb=256, tasks=32, disk_mb=8, files=100)
    b = intake_limits.Box(memory_mb=256, tasks=32, disk_mb=8, files=100)
    try:
        assert a.uid != b.uid and a.uid is not None
        hog = ("import os, time\nfor i in range(5):\n    if os.fork() == 0:\n        x = bytearray(100 * 2**20)\n"
               "        time.sleep(2); os._exit(0)\nfor i in range(5):\n    print(os.wait()[1], flush=True)\n")
        proc = subprocess.run(a.wrap([sys.executable, "-c", hog]), capture_output=True, text=True, timeout=60)
        statuses = [int(s) for s in proc.stdout.split()]
        assert proc.returncode != 0 or any(s != 0 for s in statuses), (proc.returncode, statuses)
        forks = ("import os, time\nn = 0\nfor i in range(200):\n    try:\n        pid = os.fork()\n"
                 "    except OSError:\n        break\n    if pid == 0:\n        os.close(1); time.sleep(2); os._exit(0)\n"
                 "    n += 1\nprint(n)\n")
        proc = subprocess.run(b.wrap([sys.executable, "-c", forks]), capture_output=True, text=True, timeout=60)
        assert int(proc.stdout.split()[0]) < 32
        with open(os.path.join(a.path, "f"), "wb") as f:  # the working folder is a tmpfs of 8 MiB
            with pytest.raises(OSError):
                f.write(b"x" * 9 * 2**20)
                f.flush()
                os.fsync(f.fileno())
    finally:
        groups = a.cgroups + b.cgroups
        paths = [a.path, b.path]
        a.close()
        b.close()
    assert not any(os.path.exists(g) for g in groups) and not any(os.path.exists(p) for p in paths)
    with open("/proc/self/mounts", encoding="utf-8") as f:
        assert not any(p in f.read() for p in paths)


def test_cgroup_kind_is_said_in_one_line():
    from mlsyslab.grading import intake_limits

    line = intake_limits.describe()
    assert "\n" not in line and ("cgroup" in line or "systemd" in line)
    if intake_limits.cgroup_kind() == "":
        assert "pod" in line


def test_uids_are_unique_across_concurrent_graders():
    """Two processes allocating at once never hold the same uid (the lock is machine-wide)."""
    if os.geteuid() != 0:
        pytest.skip("uids are allocated only when the grader is root")
    code = ("import time, sys\nfrom mlsyslab.grading import intake_limits\nuids = [intake_limits.allocate_uid()[0]"
            " for _ in range(20)]\nprint(' '.join(map(str, uids)), flush=True)\ntime.sleep(3)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    held = [set(map(int, p.stdout.readline().split())) for p in procs]
    for p in procs:
        p.wait(timeout=30)
    assert all(len(h) == 20 for h in held)
    assert not (held[0] & held[1] or held[0] & held[2] or held[1] & held[2])


def test_batch_deadline_follows_the_course_wall_seconds(tmp_path):
    """The worker's deadline is the course's wall_seconds + start-up + post-processing (was a fixed 300 + 240 s)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    (tmp_path / "nbgrader_config.py").write_text((root / "autograder" / "nbgrader_config.py").read_text()
                                                 + "\nc.SandboxedKernelManager.wall_seconds = 42\n")
    code = ("import sys\nfrom mlsyslab.grading import batch\n"
            "print(batch.course_wall_seconds(sys.argv[1]), batch.START_S + batch.POST_S)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "MLSYSLAB_UNSAFE_NO_SANDBOX": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    wall, margin = proc.stdout.split()
    assert float(wall) == 42.0 and float(margin) == 180


_DIE = ("import os, signal, sys\nfrom mlsyslab.grading import intake_limits\n"
        "box = intake_limits.Box(memory_mb=64, tasks=8, disk_mb=4, files=50)\n"
        "open(os.path.join(box.path, 'left'), 'w').write('x')\n"
        "print(box.path, *box.cgroups, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")


def _mounted(path):
    with open("/proc/self/mounts", encoding="utf-8") as f:
        return any(line.split()[1] == path for line in f)


def test_a_killed_graders_boxes_are_reaped_by_the_next_one():
    """A grader SIGKILLed before its clean-up leaves its box (as root: a tmpfs mount and cgroups); the next
    grader's first box removes them, and never touches a live grader's box."""
    from mlsyslab.grading import intake_limits

    proc = subprocess.run([sys.executable, "-c", _DIE], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    path, *groups = proc.stdout.split()
    assert os.path.basename(path).startswith("mlsg-") and os.path.exists(os.path.join(path, "left"))
    if os.geteuid() == 0:
        assert _mounted(path)
    if intake_limits.cgroup_kind() in ("v1", "v2"):
        assert groups and all(os.path.isdir(g) for g in groups)
    live = intake_limits.Box(memory_mb=64, tasks=8, disk_mb=4, files=50)  # (a process's first Box reaps too)
    try:
        intake_limits.reap_stale()  # (or the reaping of this process's first Box, or of another grader here)
        assert not os.path.exists(path) and not _mounted(path)
        assert not any(os.path.exists(g) for g in groups)
        assert os.path.isdir(live.path) and all(os.path.isdir(g) for g in live.cgroups)  # ours: alive
        if os.geteuid() == 0:
            assert _mounted(live.path)
    finally:
        live.close()
    assert not os.path.exists(live.path)


def test_reaping_leaves_what_is_not_a_dead_graders(tmp_path, monkeypatch):
    """Only ``mlsg-<pid>-...`` folders of the grader's own uid whose pid is gone go; a live pid, a
    malformed name or a link are left alone."""
    from mlsyslab.grading import intake_limits

    monkeypatch.setattr(intake_limits.tempfile, "gettempdir", lambda: str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)
    keep = [tmp_path / f"mlsg-{os.getpid()}-live", tmp_path / "mlsg-x-odd", tmp_path / "mlsg--1-odd",
            tmp_path / "other"]
    for k in keep:
        k.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (target / "precious").write_text("x")
    (tmp_path / f"mlsg-{dead}-link").symlink_to(target)
    stale = tmp_path / f"mlsg-{dead}-gone"
    (stale / "deep").mkdir(parents=True)
    (stale / "deep" / "f").write_text("x")
    removed = intake_limits.reap_stale()
    assert str(stale) in removed and not stale.exists()
    assert all(k.is_dir() for k in keep) and (target / "precious").read_text() == "x"
    assert (tmp_path / f"mlsg-{dead}-link").is_symlink()
