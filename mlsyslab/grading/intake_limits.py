"""Limits per submission, not per process: a cgroup, a uid of its own and a bounded filesystem per sandbox.

* :func:`cgroup_kind` says which per-sandbox memory + task cap this machine allows:

  - ``"v2"``: a cgroup v2 whose ``cgroup.subtree_control`` already delegates ``memory pids`` to us
    (a container's own cgroup namespace, or a delegated subtree): a child ``memory.max``/``pids.max``;
  - ``"v1"``: cgroup v1 ``memory`` and ``pids`` hierarchies writable (root): a child of each;
  - ``"systemd"``: ``systemd-run --user --scope -p MemoryMax= -p TasksMax=`` works (a normal user
    with a systemd session);
  - ``""``: none; then only the per-process limits (``prlimit``) hold and the pod's or VM's own
    memory limit is what bounds a submission (docs/instructors.md, "Sandbox").

* :class:`Box` makes one sandbox's folder (on a ``tmpfs`` of ``size`` and ``nr_inodes`` when the
  grader is root, on ``/dev/shm`` otherwise), its cgroup and, when root, a uid allocated uniquely
  among live sandboxes of every grader on the machine (a ``flock`` per uid under a root-owned folder,
  held while the sandbox lives and released by the kernel if the grader dies); :meth:`Box.wrap`
  puts a command into the cgroup; :meth:`Box.close` kills whatever is left in it, unmounts and removes
  everything, and never raises.

* :func:`reap_stale` removes what a grader killed before its clean-up (SIGKILL, OOM killer, a pod
  evicted mid-batch) left behind: its sandboxes' tmpfs mounts, folders and cgroups. Their names carry
  the grader's pid (``mlsg-<pid>-...``, ``mlsyslab-<pid>-...``); only those of a pid no longer alive are
  touched. The first :class:`Box` of each process runs it.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time

from . import intake

#: uids of sandboxed kernels when the grader is root: BASE_UID .. BASE_UID + UIDS - 1
BASE_UID = 61000
UIDS = 1000
LOCK_DIR = "/run/mlsyslab-sandbox-uids"
V1 = "/sys/fs/cgroup"

_cache: dict = {}


def _own_cgroup(controller: str) -> str | None:
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                if controller in names.split(","):
                    return path
    except OSError:
        pass
    return None


def _v2_base() -> str | None:
    path = _own_cgroup("")
    for mount in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if path is None or not os.path.exists(f"{mount}/cgroup.controllers"):
            continue
        base = os.path.normpath(mount + path)
        try:
            with open(f"{base}/cgroup.subtree_control", encoding="utf-8") as f:
                enabled = f.read().split()
        except OSError:
            continue
        if {"memory", "pids"} <= set(enabled) and os.access(base, os.W_OK):
            return base
    return None


def _v1_bases() -> dict | None:
    bases = {}
    for controller in ("memory", "pids"):
        own = _own_cgroup(controller)
        base = os.path.normpath(f"{V1}/{controller}{own or '/'}")
        if own is None or not os.path.exists(f"{base}/cgroup.procs") or not os.access(base, os.W_OK):
            return None
        bases[controller] = base
    return bases


def cgroup_kind() -> str:
    """'v2', 'v1', 'systemd' or '' (see the module docstring); probed once per process."""
    if "kind" not in _cache:
        kind = ""
        if _v2_base():
            kind = "v2"
        elif os.geteuid() == 0 and _v1_bases():
            kind = "v1"
        elif shutil.which("systemd-run"):
            try:
                ok = subprocess.run(["systemd-run", "--user", "--scope", "--quiet", "-p", "MemoryMax=64M",
                                     "-p", "TasksMax=8", "true"], capture_output=True, timeout=20).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
            kind = "systemd" if ok else ""
        _cache["kind"] = kind
    return _cache["kind"]


def describe() -> str:
    """One line: which per-submission cap is used here."""
    return {"v2": "a cgroup v2 per sandbox (memory.max, pids.max)",
            "v1": "a cgroup v1 per sandbox (memory.limit_in_bytes, pids.max)",
            "systemd": "a systemd --user scope per sandbox (MemoryMax, TasksMax)",
            "": "no cgroup here: per-process limits only (prlimit); set a memory limit on the pod or VM"}[cgroup_kind()]


def _lock_dir() -> str:
    """A root-owned folder no one else can write, for the uid locks."""
    for path in (LOCK_DIR, os.path.join(tempfile.gettempdir(), "mlsyslab-sandbox-uids-0")):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022:
            return path
    raise OSError("no root-owned folder for the sandbox uid locks (tried /run and the temp folder)")


def _pids_of_uid(uid: int) -> list[int]:
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.stat(entry.path).st_uid == uid:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def allocate_uid() -> tuple[int, int]:
    """(uid, lock fd): a uid no other live sandbox on this machine holds and no process runs as."""
    folder = _lock_dir()
    start = (os.getpid() * 7) % UIDS
    for i in range(UIDS):
        uid = BASE_UID + (start + i) % UIDS
        fd = os.open(os.path.join(folder, f"{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if _pids_of_uid(uid):  # a process left from a grader that died: not this one
            os.close(fd)
            continue
        return uid, fd
    raise OSError(f"all {UIDS} sandbox uids from {BASE_UID} are in use")


def _mount_tmpfs(path: str, size_mb: int, inodes: int) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    opts = f"size={size_mb}m,nr_inodes={inodes},mode=0755".encode()
    return libc.mount(b"mlsyslab-sandbox", path.encode(), b"tmpfs", ctypes.c_ulong(2 | 4 | 8), opts) == 0  # nosuid nodev noexec


def _umount(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.umount2(path.encode(), 2)  # MNT_DETACH


def _dead_owner(name: str, prefix: str) -> bool:
    """Whether ``name`` is ``<prefix><pid>-...`` of a pid that no longer runs (a live or unknown one: False)."""
    if not name.startswith(prefix):
        return False
    pid = name[len(prefix):].split("-", 1)[0]
    if not pid.isdigit() or int(pid) <= 0:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive under another user, or not ours to ask
        return False
    return False


def _unescape_mount(path: str) -> str:
    """A mount point as /proc/self/mountinfo writes it (space, tab, newline, backslash as octal escapes)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def reap_stale() -> list[str]:
    """Unmount and remove the sandbox folders and cgroups of graders that died without closing them
    (module docstring); returns the paths removed. Never raises."""
    removed: list[str] = []
    try:
        _reap(removed)
    except Exception:  # noqa: BLE001 - a failed clean-up of others' leftovers must not stop this grader
        pass
    return removed


def _dead_dirs(folder: str, prefix: str):
    """The folders ``<prefix><pid>-...`` directly in ``folder`` whose pid no longer runs (no link followed)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False) and _dead_owner(entry.name, prefix):
                yield entry
        except OSError:
            continue


def _reap(removed: list) -> None:
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            mounts = [line.split() for line in f]
    except OSError:
        mounts = []
    for fields in mounts:  # mount point is field 5; after the "-" separator: fs type, source
        try:
            sep = fields.index("-")
            point, kind, source = _unescape_mount(fields[4]), fields[sep + 1], fields[sep + 2]
        except (ValueError, IndexError):
            continue
        if kind == "tmpfs" and source == "mlsyslab-sandbox" and _dead_owner(os.path.basename(point), "mlsg-"):
            _umount(point)
    for folder in {tempfile.gettempdir(), "/dev/shm"}:
        for entry in _dead_dirs(folder, "mlsg-"):
            try:
                ours = entry.stat(follow_symlinks=False).st_uid == os.geteuid()
            except OSError:
                continue
            if ours and intake.rmtree(entry.path, deadline_s=30.0):
                removed.append(entry.path)
    v1, v2 = (_v1_bases() if os.geteuid() == 0 else None), _v2_base()
    for base in (list(v1.values()) if v1 else []) + ([v2] if v2 else []):
        for entry in _dead_dirs(base, "mlsyslab-"):
            try:
                os.rmdir(entry.path)  # refused (EBUSY) while a process is still in it: left alone
                removed.append(entry.path)
            except OSError:
                continue


class Box:
    """One sandbox's folder, cgroup and uid (see the module docstring)."""

    def __init__(self, *, memory_mb: int, tasks: int, disk_mb: int, files: int):
        self.uid = self.lock_fd = None
        self.cgroups: list[str] = []
        self.mounted = False
        self.memory_mb, self.tasks = memory_mb, tasks
        root = os.geteuid() == 0
        shm = "/dev/shm" if not root and os.access("/dev/shm", os.W_OK | os.X_OK) else None
        if "reaped" not in _cache:
            _cache["reaped"] = reap_stale()
        # short: unix socket paths are <= 107 bytes; the pid lets reap_stale tell a dead grader's boxes
        self.path = tempfile.mkdtemp(prefix=f"mlsg-{os.getpid()}-", dir=shm)
        try:
            if root:
                self.mounted = _mount_tmpfs(self.path, disk_mb, files)
                self.uid, self.lock_fd = allocate_uid()
            kind = cgroup_kind()
            name = f"mlsyslab-{os.getpid()}-{os.path.basename(self.path)}"
            if kind == "v2":
                self._make(os.path.join(_v2_base(), name), {"memory.max": memory_mb * 2**20, "pids.max": tasks,
                                                            "memory.swap.max": 0})
            elif kind == "v1":
                bases = _v1_bases()
                self._make(os.path.join(bases["memory"], name), {"memory.limit_in_bytes": memory_mb * 2**20})
                self._make(os.path.join(bases["pids"], name), {"pids.max": tasks})
        except BaseException:
            self.close()
            raise

    def _make(self, path: str, settings: dict) -> None:
        os.mkdir(path)
        self.cgroups.append(path)
        for key, value in settings.items():
            try:
                with open(os.path.join(path, key), "w") as f:
                    f.write(str(value))
            except OSError as exc:
                if key != "memory.swap.max":  # absent without swap accounting
                    raise OSError(f"cannot set {key} in {path}: {exc.strerror}") from None

    def wrap(self, cmd: list) -> list:
        """``cmd`` run inside this box's cgroup."""
        if self.cgroups:
            enter = " && ".join(f"echo $$ > {shlex.quote(os.path.join(c, 'cgroup.procs'))}" for c in self.cgroups)
            return ["/bin/sh", "-c", f'{enter} && exec "$@"', "mlsyslab-sandbox"] + list(cmd)
        if cgroup_kind() == "systemd":
            return ["systemd-run", "--user", "--scope", "--quiet", "--collect", "-p", f"MemoryMax={self.memory_mb}M",
                    "-p", "MemorySwapMax=0", "-p", f"TasksMax={self.tasks}", "--"] + list(cmd)
        return list(cmd)

    def kill_all(self) -> None:
        """SIGKILL every process in this box's cgroups or of its uid (until none is left, at most ~5 s)."""
        for _ in range(50):
            pids = set(_pids_of_uid(self.uid)) if self.uid is not None else set()
            for group in self.cgroups:
                try:
                    with open(os.path.join(group, "cgroup.procs"), encoding="utf-8") as f:
                        pids |= {int(p) for p in f.read().split()}
                except OSError:
                    continue
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)

    def close(self) -> None:
        """Kill what is left, remove the cgroups, unmount and remove the folder, free the uid; never raises."""
        try:
            self.kill_all()
            for group in reversed(self.cgroups):
                for _ in range(20):
                    try:
                        os.rmdir(group)
                        break
                    except OSError as exc:
                        if exc.errno != errno.EBUSY:
                            break
                        time.sleep(0.05)
            self.cgroups = []
            if self.mounted:
                _umount(self.path)
                self.mounted = False
            intake.rmtree(self.path)
        except Exception:  # noqa: BLE001 - clean-up must not fail the grading
            pass
        finally:
            if self.lock_fd is not None:
                os.close(self.lock_fd)
                self.lock_fd = None
