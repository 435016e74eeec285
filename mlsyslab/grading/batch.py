"""Autograde many submissions in N worker processes, one submission at a time per worker.

Each worker (``python -m mlsyslab.grading.batch COURSE SLOT``) loads the course's
``nbgrader_config.py`` once and then, for every ``{"lab", "student"}`` line it reads, runs
nbgrader's own ``autograde`` and ``generate_feedback`` for that one submission (nbgrader's
``NbGraderAPI``, as formgrader does) and answers one JSON line ``{"ok", "error"}``. So

* a submission that fails (unreadable, a kernel that dies, a limit hit) fails alone: the worker
  reports it and takes the next one; a worker that dies or hangs is replaced;
* N workers grade N submissions at once, each kernel in its own sandbox;
* the gradebook (SQLite) is written safely: every nbgrader gradebook session in a worker holds an
  exclusive lock on ``<course>/.gradebook.lock`` (sessions are short; kernels run outside them).
"""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import queue
import subprocess
import sys
import threading

#: seconds a worker may spend on one submission beyond the course's whole-notebook deadline (``wall_seconds``):
#: starting the sandbox, then post-processing (re-scoring, sanitizing, feedback); past it the worker is replaced
START_S = 60
POST_S = 120


class _GradebookLock:
    """A process-wide, re-entrant exclusive lock on ``<course>/.gradebook.lock``."""

    def __init__(self, path: pathlib.Path):
        self.path, self.depth, self.fd = path, 0, None
        self.mutex = threading.RLock()

    def acquire(self) -> None:
        self.mutex.acquire()
        if self.depth == 0:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        self.mutex.release()


def lock_path(course: pathlib.Path) -> pathlib.Path:
    """``<course>/.gradebook.lock``, or one in the temp folder named after the course when that is read-only."""
    if os.access(course, os.W_OK):
        return course / ".gradebook.lock"
    import hashlib
    import tempfile

    return pathlib.Path(tempfile.gettempdir()) / f"mlsyslab-gradebook-{hashlib.sha256(str(course).encode()).hexdigest()[:16]}.lock"


def _lock_gradebook_sessions(lock: _GradebookLock) -> None:
    """Make every ``nbgrader.api.Gradebook`` opened in this process hold ``lock`` until closed."""
    import nbgrader.api

    base = nbgrader.api.Gradebook

    class LockedGradebook(base):
        def __init__(self, *args, **kwargs):
            lock.acquire()
            self._mlsyslab_locked = True
            try:
                super().__init__(*args, **kwargs)
            except BaseException:
                self._mlsyslab_locked = False
                lock.release()
                raise

        def close(self):
            try:
                super().close()
            finally:
                if getattr(self, "_mlsyslab_locked", False):
                    self._mlsyslab_locked = False
                    lock.release()

    for name, module in list(sys.modules.items()):
        if name.startswith("nbgrader") and getattr(module, "Gradebook", None) is base:
            module.Gradebook = LockedGradebook


def worker(course: str, slot: int) -> int:
    """Grade submissions named on stdin, one JSON line in, one JSON line out."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to the log, not into the protocol
    os.chdir(course)
    import nbgrader.apps  # noqa: F401 - imports every module that names Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=course).load_config()
    _lock_gradebook_sessions(_GradebookLock(lock_path(pathlib.Path(course))))
    api = NbGraderAPI(config=config)
    for line in sys.stdin:
        job = json.loads(line)
        result = api.autograde(job["lab"], job["student"], force=True, create=True)
        if result["success"]:
            feedback = api.generate_feedback(job["lab"], job["student"], force=True)
            if not feedback["success"]:
                result = {"success": False, "error": "generate_feedback: " + feedback.get("error", ""),
                          "log": feedback.get("log", "")}
        error = (result.get("error") or "") + (result.get("log") or "") if not result["success"] else ""
        answers.write(json.dumps({"ok": bool(result["success"]), "error": error[-4000:]}) + "\n")
    return 0


def _start(course: pathlib.Path, slot: int, log) -> subprocess.Popen:
    env = dict(os.environ)
    env["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.Popen([sys.executable, "-m", "mlsyslab.grading.batch", str(course), str(slot)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env,
                            cwd=course, start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, 9)
    except OSError:
        pass
    proc.wait()


def course_wall_seconds(course: pathlib.Path) -> float:
    """The course's whole-notebook deadline (``c.SandboxedKernelManager.wall_seconds`` in its nbgrader_config.py)."""
    from traitlets.config.loader import PyFileConfigLoader

    from .config import LIMITS

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return float(config.SandboxedKernelManager.get("wall_seconds", LIMITS["wall_seconds"]) or LIMITS["wall_seconds"])


def run(course: pathlib.Path, tasks: list, jobs: int, log_dir: pathlib.Path, wall_seconds: float | None = None) -> dict:
    """Grade ``tasks`` [(lab, student)] with ``jobs`` workers; {(lab, student): error message or ''}.
    A worker gets ``wall_seconds`` (default: the course's) + :data:`START_S` + :data:`POST_S` per submission."""
    if wall_seconds is None:
        wall_seconds = course_wall_seconds(course)
    deadline = wall_seconds + START_S + POST_S
    todo: queue.Queue = queue.Queue()
    for task in tasks:
        todo.put(task)
    results: dict = {}
    log_dir.mkdir(parents=True, exist_ok=True)

    def slot_loop(slot: int) -> None:
        log = open(log_dir / f"worker-{slot}.log", "a", encoding="utf-8")
        proc = None
        try:
            while True:
                try:
                    lab, student = todo.get_nowait()
                except queue.Empty:
                    return
                if proc is None or proc.poll() is not None:
                    proc = _start(course, slot, log)
                reply: list = []
                reader = threading.Thread(target=lambda: reply.append(proc.stdout.readline()), daemon=True)
                try:
                    proc.stdin.write(json.dumps({"lab": lab, "student": student}) + "\n")
                    proc.stdin.flush()
                except OSError:
                    pass
                reader.start()
                reader.join(deadline)
                line = reply[0] if reply else ""
                if not line:  # the worker died or hung on this submission: replace it
                    _kill(proc)
                    proc = None
                    results[(lab, student)] = (f"the grading process for this submission died or took longer than "
                                               f"{deadline:g} s (the course's wall_seconds + {START_S + POST_S} s)")
                    continue
                answer = json.loads(line)
                results[(lab, student)] = "" if answer["ok"] else (answer["error"] or "nbgrader failed")
        finally:
            if proc is not None:
                try:
                    proc.stdin.close()
                    proc.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    _kill(proc)
            log.close()

    threads = [threading.Thread(target=slot_loop, args=(slot,)) for slot in range(max(1, int(jobs)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


if __name__ == "__main__":
    raise SystemExit(worker(sys.argv[1], int(sys.argv[2])))
