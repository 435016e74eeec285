"""The answer key of one student's lab, built in the trusted grading process from the lab module.

A lab module (:mod:`mlsyslab.labs.registry`: built in, or ``<course>/labs/<lab>.py``) gives, for
the student's variant ``v``:

* ``cells(v)``: the visible graded items (grade_id -> [Item]);
* ``hidden(v, rng)`` (optional): grade_id -> [(Item, function name, args)], the configurations on
  which the grader calls the student's function, drawn with ``rng = random.Random(seed)`` where
  ``seed = sha256(course_secret | lab | student)``. The course secret (``<course>/keys/course_secret``,
  :func:`course_secret`) never leaves the grader, so neither a released notebook nor last year's
  feedback tells a student which configurations they will get.

Expected values are computed here, with a fresh solver, before the student's code runs (the
student's kernel has no solver at all: :mod:`mlsyslab.grading.overlay`). :func:`get` caches each
key per (course, lab, student).
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import random
import sys
from dataclasses import dataclass, field
from functools import lru_cache

from .rubric import Item

#: the checkout's course folder: the default when no course root is given
DEFAULT_ROOT = pathlib.Path(__file__).resolve().parents[2] / "autograder"
SECRET_FILE = "course_secret"


def lab_names(root=None) -> list[str]:
    """The labs a course can grade: built-in ones and ``<root>/labs/<name>.py`` (discovered,
    :mod:`mlsyslab.labs.registry`)."""
    from ..labs.registry import names

    return names(root)


@dataclass(frozen=True)
class HiddenCall:
    """One hidden test: the grader calls ``function(*args)`` in the student's kernel, after their last cell."""

    grade_id: str
    item: Item
    function: str
    args: tuple


@dataclass(frozen=True)
class LabKey:
    name: str
    cells: dict  # grade_id -> tuple[Item, ...] (visible and hidden items)
    expected: dict  # item id -> expected value (float or str)
    mistakes: dict  # item id -> {mistake name: value its formula gives}
    hidden: tuple = ()  # HiddenCall, in the order the grader runs them
    view: dict = field(default_factory=dict)  # what the graded kernel may know: variant and text context

    def items(self, grade_id: str) -> tuple:
        return self.cells.get(grade_id, ())

    def points(self, grade_id: str) -> float:
        return float(sum(item.points for item in self.items(grade_id)))

    @property
    def hidden_ids(self) -> frozenset:
        return frozenset(call.item.id for call in self.hidden)

    @property
    def solver_items(self) -> frozenset:
        """Ids of the items an instructor allowed the solver for (``Item(..., solver_allowed=True)``)."""
        return frozenset(i.id for items in self.cells.values() for i in items if getattr(i, "solver_allowed", False))


def keys_dir(root=None) -> pathlib.Path:
    """``<root>/keys`` (root: the course folder; default the checkout's ``autograder/``)."""
    return pathlib.Path(root if root is not None else DEFAULT_ROOT).resolve() / "keys"


def course_secret(root=None) -> str:
    """The course's secret (hex) from ``<root>/keys/course_secret``; made (32 random bytes, mode 0600)
    with one line on stderr when missing. Read only here, in the grading process."""
    path = keys_dir(root) / SECRET_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = os.urandom(32).hex()
        # written whole to a private file, then linked into place: a concurrent grader either sees no
        # file or the complete secret, never an empty one (os.link fails if the name exists)
        tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:  # another grader made it meanwhile: use theirs
            return course_secret(root)
        finally:
            os.unlink(tmp)
        print(f"mlsyslab: made the course secret {path} (mode 0600; keep it, and out of git: hidden test "
              "configurations are drawn from it)", file=sys.stderr)
        return secret
    with os.fdopen(fd, "r", encoding="ascii", errors="replace") as f:
        secret = f.read(4096).strip()
    if not secret:
        raise ValueError(f"{path} is empty; delete it to make a new course secret.")
    return secret


def student_rng(secret: str, lab: str, student: str | None) -> random.Random:
    """``random.Random`` seeded with sha256(secret | lab | student): the student's hidden configurations."""
    digest = hashlib.sha256(f"{secret}|{lab}|{student or ''}".encode()).hexdigest()
    return random.Random(int(digest, 16))


def _render_arg(value) -> str:
    """An argument of a hidden call as kernel code: numbers and strings literally, zoo entries by key."""
    from ..zoo.specs import HardwareSpec, ModelSpec

    if isinstance(value, ModelSpec):
        return f"_ml.Models.get({value.key!r})"
    if isinstance(value, HardwareSpec):
        return f"_ml.Hardware.get({value.key!r})"
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_render_arg(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) else f"[{inner}]"
    raise TypeError(f"a hidden call's argument must be a number, a string or a zoo entry, not {type(value).__name__}")


def hidden_cell_source(call: HiddenCall) -> str:
    """The code the grader runs in the student's kernel for one hidden call (never shown to anyone)."""
    args = "".join(", " + _render_arg(a) for a in call.args)
    return ("import mlsyslab as _ml\nfrom mlsyslab.grading.answers import record_call as _record_call\n"
            f"_record_call({call.item.id!r}, globals(), {call.function!r}{args})")


def _build(name: str, student, root) -> LabKey:
    from ..labs import grading_mode
    from ..labs.registry import load
    from ..labs.variants import variant

    module = load(name, root)
    v = variant(name, student, course=root)
    cells = {gid: tuple(items) for gid, items in module.cells(v).items()}
    hidden = []
    if callable(getattr(module, "hidden", None)):
        rng = student_rng(course_secret(root), name, student)
        for gid, calls in module.hidden(v, rng).items():
            cells[gid] = cells.get(gid, ()) + tuple(item for item, _, _ in calls)
            hidden += [HiddenCall(gid, item, function, tuple(args)) for item, function, args in calls]
    expected, mistakes = {}, {}
    for items in cells.values():
        for item in items:
            if not isinstance(item, Item):
                raise TypeError(f"lab {name}: {item!r} is not a mlsyslab.grading.rubric.Item")
            expected[item.id] = item.expected()
            mistakes[item.id] = {m.name: m.value() if item.kind == "choice" else float(m.value()) for m in item.mistakes}
    for call in hidden:
        hidden_cell_source(call)  # every argument renders, or the lab is refused here, not in the kernel
    view = grading_mode.public_view(name, v, dict(module.context(v)), student)
    return LabKey(name, cells, expected, mistakes, tuple(hidden), view)


@lru_cache(maxsize=None)
def _get(root: str, name: str, student) -> LabKey:
    return _build(name, student, root)


def get(name: str, student: str | None = None, root=None) -> LabKey | None:
    """The key of lab ``name`` for ``student`` (expected values computed), or None if ``name`` is no lab
    of the course ``root`` (default: the checkout's ``autograder/``)."""
    root = str(pathlib.Path(root if root is not None else DEFAULT_ROOT).resolve())
    if name not in lab_names(root):
        return None
    return _get(root, name, student)
