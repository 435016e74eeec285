"""A small nbgrader course with lab 2 released, for the intake and layout tests."""

from __future__ import annotations

import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAB = "lab2_kv_cache"


def make_course(tmp: pathlib.Path, extra_config: str = "") -> pathlib.Path:
    """A course with lab 2 released (instructor notebook built from the lab's source, or the checkout's)."""
    from mlsyslab.grading import course

    home = tmp / "course"
    (home / "source").mkdir(parents=True)
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
    with open(home / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\n" + extra_config + "\n")
    if (ROOT / "autograder" / "keys").is_dir():
        shutil.copytree(ROOT / "autograder" / "keys", home / "keys")
    if (ROOT / "autograder" / "source" / LAB / f"{LAB}.ipynb").exists():
        shutil.copytree(ROOT / "autograder" / "source" / LAB, home / "source" / LAB)
    else:
        from mlsyslab.labs.build import build

        build(LAB, home)
    course.release(course=home, labs_dir=None)
    return home
