"""Intake of student files by the trusted side: regular files only, no links, bounded, under a deadline.

Every read the grader makes of a path a student (or a sandboxed kernel) could have shaped goes
through here:

* :func:`read_file` opens with ``O_NOFOLLOW | O_NONBLOCK`` (every component below a trusted
  ``root`` too), accepts a regular file with one link only (a hard link to a course file is
  refused: copying it by content would hand over the course file), reads at most ``max_bytes``
  and gives up at a deadline;
* :func:`copy_tree` copies a submission's folder the same way: links, FIFOs, devices, sockets and
  hard links are skipped, and the depth, the number of files and the bytes are capped; each skip
  is one line;
* :func:`screen_submission` applies that to ``submitted/<student>/<lab>/`` in place, before
  nbgrader reads it (a notebook that is not a plain file is replaced by the blank lab with the
  reason, so the student is graded 0 and the batch goes on);
* :func:`rmtree` removes a folder whatever the student left there (3000 levels deep, folders made
  unreadable, special files): iterative, one open folder at a time, never raises;
* :func:`valid_student_id` is the one check of a student id (:data:`STUDENT_ID_RULE`) on every path
  that takes one; :func:`printable` strips control characters and escape sequences from anything
  printed or logged (ids, file names, metadata).
"""

from __future__ import annotations

import collections
import errno
import os
import re
import stat
import time
import unicodedata

#: the student ids accepted everywhere (collect, ``grade autograde SUBS`` folder names, nbgrader's inbound)
STUDENT_ID_RULE = "1 to 64 of letters, digits, . _ @ + -, not starting with . or -"
_STUDENT_ID = re.compile(r"[A-Za-z0-9_@+][A-Za-z0-9._@+-]{0,63}")

#: caps on one submission's folder (the notebook plus files beside it)
MAX_FILES = 1000
MAX_DEPTH = 16
MAX_BYTES = 64 * 2**20
#: largest notebook read from a submission
MAX_NOTEBOOK_BYTES = 32 * 2**20

_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_OPEN_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


class Refused(ValueError):
    """A student-supplied path the grader will not read (the message is one line saying why)."""


def valid_student_id(student) -> bool:
    """True if ``student`` is an id of :data:`STUDENT_ID_RULE` (and not ``.``/``..``)."""
    return isinstance(student, str) and bool(_STUDENT_ID.fullmatch(student))


_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")


def printable(text, limit: int = 200) -> str:
    """``text`` with escape sequences and control/format characters removed, at most ``limit`` characters."""
    text = _ESCAPES.sub("", str(text))
    text = "".join(ch if unicodedata.category(ch)[0] != "C" and ch not in "\u2028\u2029" else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def _open_below(path, root=None, flags: int = _OPEN_FILE) -> int:
    """fd of ``path`` opened with ``flags``; below ``root`` (trusted, followed) no component may be a link."""
    path = os.fspath(path)
    if root is None:
        return _open_or_refuse(path, flags, None, path)
    root = os.fspath(root)
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    if rel.startswith("..") or os.path.isabs(rel) or ".." in parts:
        raise Refused(f"{printable(path)}: outside {printable(root)}")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in parts[:-1]:
            if part in ("", "."):
                continue
            nxt = _open_or_refuse(part, _OPEN_DIR, fd, path)
            os.close(fd)
            fd = nxt
        return _open_or_refuse(parts[-1], flags, fd, path)
    finally:
        os.close(fd)


def _open_or_refuse(name: str, flags: int, dir_fd, shown: str) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            try:
                mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
            except OSError:
                mode = stat.S_IFLNK
            raise Refused(f"{printable(shown)} is {_kind(mode)}; only regular files are accepted") from None
        if exc.errno in (errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP):
            raise Refused(f"{printable(shown)} is a special file; only regular files are accepted") from None
        raise Refused(f"{printable(shown)}: {exc.strerror}") from None


def check_regular(fd: int, shown: str) -> os.stat_result:
    """fstat of ``fd``; :class:`Refused` unless a regular file with a single link."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"{printable(shown)} is {_kind(st.st_mode)}; only regular files are accepted")
    if st.st_nlink > 1:
        raise Refused(f"{printable(shown)} is a hard link ({st.st_nlink} names); only plain files are accepted")
    return st


def read_file(path, *, root=None, max_bytes: int = MAX_NOTEBOOK_BYTES, deadline_s: float = 30.0,
              tail: bool = False, allow_links: bool = False) -> bytes:
    """The bytes of ``path`` (a regular file, not a link, below ``root`` without links), at most ``max_bytes``:
    a bigger file is :class:`Refused` (or, ``tail=True``, its last ``max_bytes`` are read)."""
    fd = _open_below(path, root)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{printable(path)} is {_kind(st.st_mode)}; only regular files are accepted")
        if st.st_nlink > 1 and not allow_links:
            raise Refused(f"{printable(path)} is a hard link ({st.st_nlink} names); only plain files are accepted")
        if st.st_size > max_bytes:
            if not tail:
                raise Refused(f"{printable(path)} is {st.st_size} bytes; at most {max_bytes} are accepted")
            os.lseek(fd, st.st_size - max_bytes, os.SEEK_SET)
        return _read_bounded(fd, max_bytes, time.monotonic() + deadline_s, path)
    finally:
        os.close(fd)


def _read_bounded(fd: int, max_bytes: int, deadline: float, shown) -> bytes:
    chunks, total = [], 0
    while total < max_bytes:
        if time.monotonic() > deadline:
            raise Refused(f"{printable(shown)}: reading it took too long")
        try:
            chunk = os.read(fd, min(1 << 20, max_bytes - total))
        except BlockingIOError:
            raise Refused(f"{printable(shown)} would block; only regular files are accepted") from None
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def copy_file(src_fd: int, dest: str, max_bytes: int, deadline: float, shown: str) -> int:
    """Copy the open regular file ``src_fd`` to a new file ``dest`` (not following a link there); bytes copied."""
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    total = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise Refused(f"{printable(shown)}: copying took too long")
            chunk = os.read(src_fd, 1 << 20)
            if not chunk:
                return total
            total += len(chunk)
            if total > max_bytes:
                raise Refused(f"{printable(shown)}: more than {max_bytes} bytes")
            os.write(out, chunk)
    finally:
        os.close(out)


def copy_tree(src, dest, *, skip=None, max_files: int = MAX_FILES, max_depth: int = MAX_DEPTH,
              max_bytes: int = MAX_BYTES, deadline_s: float = 60.0) -> list[str]:
    """Copy the regular files and folders of ``src`` into ``dest`` (made), never following a link or opening
    a special file; ``skip(relpath, is_dir)`` -> True leaves an entry out. Returns one line per entry skipped."""
    notes: list[str] = []
    deadline = time.monotonic() + deadline_s
    os.makedirs(dest, exist_ok=True)
    try:
        top = os.open(os.fspath(src), _OPEN_DIR)
    except OSError as exc:
        return [f"{printable(src)}: not copied ({exc.strerror})"]
    stack = collections.deque([(top, os.fspath(dest), "", 0)])  # breadth first: the files nearest the top are kept
    files = total = 0
    while stack:
        fd, out, rel, depth = stack.popleft()
        try:
            with os.scandir(fd) as entries:
                names = sorted(e.name for e in entries)
            for name in names:
                relpath = os.path.join(rel, name)
                shown = printable(relpath)
                if time.monotonic() > deadline:
                    notes.append(f"{shown} and the rest: not copied (time limit)")
                    return _close_all(stack, notes)
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    continue
                is_dir = stat.S_ISDIR(st.st_mode)
                if skip is not None and skip(relpath, is_dir):
                    continue
                if is_dir:
                    if depth + 1 >= max_depth:
                        notes.append(f"{shown}: not copied (folders nested deeper than {max_depth})")
                        continue
                    try:
                        child = os.open(name, _OPEN_DIR, dir_fd=fd)
                    except OSError as exc:
                        notes.append(f"{shown}: not copied ({exc.strerror})")
                        continue
                    os.mkdir(os.path.join(out, name), 0o755)
                    stack.append((child, os.path.join(out, name), relpath, depth + 1))
                    continue
                if not stat.S_ISREG(st.st_mode):
                    notes.append(f"{shown}: not copied ({_kind(st.st_mode)}; only regular files are accepted)")
                    continue
                if files >= max_files:
                    notes.append(f"{shown} and the rest: not copied (more than {max_files} files)")
                    return _close_all(stack, notes)
                try:
                    src_fd = os.open(name, _OPEN_FILE, dir_fd=fd)
                except OSError as exc:
                    notes.append(f"{shown}: not copied ({exc.strerror})")
                    continue
                try:
                    check_regular(src_fd, relpath)
                    total += copy_file(src_fd, os.path.join(out, name), max_bytes - total, deadline, relpath)
                    files += 1
                except Refused as exc:
                    notes.append(f"{exc}: not copied")
                    try:
                        os.unlink(os.path.join(out, name))
                    except OSError:
                        pass
                finally:
                    os.close(src_fd)
        finally:
            os.close(fd)
    return notes


def _close_all(stack, notes: list) -> list:
    for entry in stack:
        os.close(entry[0])
    stack.clear()
    return notes


def rmtree(path, deadline_s: float = 120.0) -> bool:
    """Remove ``path`` and everything under it, never following a link; True if nothing is left.

    Iterative with one open folder at a time (going back up through ``..``), so depth, path length
    and the number of open files do not matter; folders made unreadable are made readable (ours) first."""
    path = os.fspath(path)
    deadline = time.monotonic() + deadline_s
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(path)
            return True
        fd = _open_dir_fixing(path, None)
        if fd is None:
            return False
        pending, stack = _empty_files(fd), []
        while time.monotonic() < deadline:
            if pending:
                name = pending.pop()
                child = _open_dir_fixing(name, fd)
                if child is None:
                    continue
                stack.append((name, pending))
                os.close(fd)
                fd, pending = child, _empty_files(child)
                continue
            if not stack:
                break
            name, pending = stack.pop()
            parent = os.open("..", _OPEN_DIR, dir_fd=fd)
            os.close(fd)
            fd = parent
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                pass
        os.close(fd)
        os.rmdir(path)
        return True
    except OSError:
        return not os.path.lexists(path)


def _open_dir_fixing(name: str, dir_fd):
    for attempt in (0, 1):
        try:
            return os.open(name, _OPEN_DIR, dir_fd=dir_fd)
        except PermissionError:
            if attempt:
                return None
            try:
                os.chmod(name, 0o700, dir_fd=dir_fd, follow_symlinks=False) if dir_fd is not None else os.chmod(name, 0o700)
            except (OSError, NotImplementedError):
                return None
        except OSError:
            return None
    return None


def _empty_files(fd: int) -> list[str]:
    """Unlink everything in the open folder ``fd`` but its sub-folders; their names."""
    folders = []
    if os.geteuid() != 0:  # a folder the student made read-only (ours): its entries could not be removed
        try:
            os.fchmod(fd, 0o700)
        except OSError:
            pass
    try:
        with os.scandir(fd) as entries:
            items = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    except OSError:
        return folders
    for name, is_dir in items:
        if is_dir:
            folders.append(name)
            continue
        try:
            os.unlink(name, dir_fd=fd)
        except OSError:
            pass
    return folders
