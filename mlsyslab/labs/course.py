"""``mlsyslab course``: start an nbgrader course, scaffold a lab in it, build its notebooks.

A course folder (``mlsyslab course init DIR``)::

    nbgrader_config.py          two lines calling mlsyslab.grading.config.configure
    source/<lab>/<lab>.ipynb    instructor notebooks (solutions), one per lab: `mlsyslab course build`
    labs/<lab>.py               the course's own labs, one module each (`mlsyslab course new-lab NAME`)
    keys/course_secret          hex, mode 0600: seeds the hidden configurations the grader draws
    student/                    student copies: released labs, explorers/ (`mlsyslab grade release`)
    .gitignore                  keys/ and nbgrader's working folders

Nothing here imports nbgrader: a course is set up with the ``lab`` extra; releasing and grading
need the ``grading`` extra.
"""

from __future__ import annotations

import os
import pathlib
import re
import secrets

from ..errors import ValidationError
from . import registry
from .build import build, student_dir

CONFIG = """from mlsyslab.grading.config import configure
configure(get_config(), course_id={course_id!r})  # noqa: F821 - nbgrader provides get_config
"""

GITIGNORE = """# the course secret seeds the hidden configurations: never commit it
keys/
# nbgrader's working folders and database
release/
submitted/
autograded/
feedback/
gradebook.db
.nbgrader.log
"""

LABS_README = """# Your course's own labs

One Python module per lab, `<name>.py` (letters, digits and _): `mlsyslab course new-lab NAME` writes a
working example; `mlsyslab course build NAME` turns it into `source/NAME/NAME.ipynb`. See docs/labs.md.
"""


def _course_id(folder: pathlib.Path) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", folder.resolve().name).strip("-") or "course"


def write_secret(path: pathlib.Path) -> None:
    """A fresh course secret (64 hex digits) at ``path``, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")
    os.chmod(path, 0o600)


def init(folder, force: bool = False) -> list[pathlib.Path]:
    """Create a complete course in ``folder`` (refused for a non-empty folder unless ``force``)."""
    folder = pathlib.Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValidationError(f"course folder {str(folder)!r} is a file; give a new or empty folder.",
                              field="dir", value=str(folder), allowed="a new or empty folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise ValidationError(f"course folder {str(folder)!r} is not empty; give a new folder, or --force to write "
                              "the course files into it (existing labs/ and keys/ are kept).", field="dir",
                              value=str(folder), allowed="a new or empty folder, or --force")
    folder.mkdir(parents=True, exist_ok=True)
    out = [folder / "nbgrader_config.py", folder / ".gitignore", folder / "labs" / "README.md"]
    out[0].write_text(CONFIG.format(course_id=_course_id(folder)), encoding="utf-8")
    out[1].write_text(GITIGNORE, encoding="utf-8")
    out[2].parent.mkdir(exist_ok=True)
    if not out[2].exists():
        out[2].write_text(LABS_README, encoding="utf-8")
    secret = folder / "keys" / "course_secret"
    if not secret.exists():
        write_secret(secret)
        out.append(secret)
    for name in registry.names(folder):
        out.extend(build(name, folder))
    return out


EXAMPLE = pathlib.Path(__file__).with_name("example_lab.py")


def new_lab(name: str, course, force: bool = False) -> list[pathlib.Path]:
    """Write the example lab as ``<course>/labs/<name>.py`` and build it; the paths written."""
    course = pathlib.Path(course)
    if not registry.NAME.fullmatch(str(name)):
        raise ValidationError(f"lab name {name!r} is not allowed: letters, digits and _, starting with a letter "
                              "(it names the notebook and the nbgrader assignment).", field="name", value=name,
                              allowed="e.g. lab10_decode")
    if name in registry.builtin():
        raise ValidationError(f"lab name {name!r} is a built-in lab; pick another name (built-in: "
                              f"{', '.join(registry.builtin())}).", field="name", value=name,
                              allowed="a name that is not a built-in lab")
    path = registry.course_dir(course) / f"{name}.py"
    if path.exists() and not force:
        raise ValidationError(f"{path} exists; edit it, or pass --force to overwrite it with the example.",
                              field="name", value=name, allowed="a new lab name, or --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = EXAMPLE.read_text(encoding="utf-8").replace('TITLE = "Decoding at batch 1"',
                                                        f'TITLE = "{name} - Decoding at batch 1"', 1)
    path.write_text(text, encoding="utf-8")
    return [path, *build(name, course)]


def build_all(course, names=None) -> list[pathlib.Path]:
    """Build ``names`` (default: every lab the course has a source folder or a labs/ module for)."""
    course = pathlib.Path(course)
    if not names:
        present = {p.name for p in (course / "source").glob("*") if p.is_dir()}
        names = sorted(present | set(registry.course_labs(course)))
    out = []
    for name in names:
        out.extend(build(name, course))
    return out


__all__ = ["init", "new_lab", "build_all", "student_dir", "write_secret"]
