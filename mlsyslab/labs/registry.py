"""Where labs come from: discovered, never registered.

* **built-in labs**: the entry-point group ``mlsyslab.labs`` (``lab2_kv_cache =
  "mlsyslab.labs.builtin.lab2_kv_cache"`` in pyproject.toml; another installed package may add
  its own), plus the modules of ``mlsyslab/labs/builtin/`` (so a checkout whose installed
  metadata is older than its sources still finds them);
* **a course's labs**: ``<course>/labs/<name>.py``, imported by file path under a private module
  name (never through ``sys.path``); a course lab of a built-in lab's name replaces it for that course;
* **in a student's kernel**, a course lab's public copy ``<name>_public.py`` that the release put
  beside the notebook (:func:`use_public`, called by ``open_lab``; never on the grader's side).

:func:`load` returns the lab module (``TITLE``, ``POOL``, ``context``, ``cells``, ``NOTEBOOK``...,
see :mod:`mlsyslab.labs.authoring`); an unknown or broken lab raises
:class:`~mlsyslab.errors.ValidationError` with one line naming it (for a broken one, the file,
line and exception) and the known labs.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import pathlib
import re
import sys
import traceback

from ..errors import ValidationError

GROUP = "mlsyslab.labs"
BUILTIN = pathlib.Path(__file__).resolve().parent / "builtin"
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
#: what every lab module defines (NOTEBOOK only where the instructor notebook is built from it)
REQUIRED = ("POOL", "context", "cells")

PUBLIC_SUFFIX = "_public.py"

_loaded: dict = {}
_public: dict = {}


def _entry_points() -> dict:
    """name -> module path of the entry-point group ``mlsyslab.labs``."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def builtin() -> dict:
    """name -> module path of the built-in labs (entry points, then ``mlsyslab/labs/builtin/``)."""
    found = {p.stem: f"mlsyslab.labs.builtin.{p.stem}" for p in sorted(BUILTIN.glob("*.py"))
             if not p.stem.startswith("_")}
    found.update(_entry_points())
    return dict(sorted(found.items()))


def course_dir(course) -> pathlib.Path | None:
    """``<course>/labs`` (None without a course)."""
    return None if course is None else pathlib.Path(course) / "labs"


def course_labs(course) -> list[str]:
    """Names of the labs ``<course>/labs/<name>.py`` defines."""
    folder = course_dir(course)
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py") if NAME.fullmatch(p.stem))


def names(course=None) -> list[str]:
    """Every lab known: the built-in ones and, with ``course``, the course's own (sorted)."""
    return sorted(set(builtin()) | set(course_labs(course)))


def _known(course) -> str:
    return ", ".join(names(course)) or "none"


def _broken(name, where, exc, course) -> ValidationError:
    """One line: the lab, the file and line where it failed, the exception, the known labs."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if pathlib.Path(f.filename).name == f"{name}.py"]
        line = frames[-1].lineno if frames else None
    text = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    message = text.splitlines()[0][:200] if text else ""
    at = f"{where}:{line}" if line else str(where)
    return ValidationError(f"lab {name!r} is broken: {at}: {type(exc).__name__}: {message}. Known labs: "
                           f"{_known(course)}.", field="lab", value=name, allowed=_known(course))


def _check(name, module, where, course):
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise ValidationError(f"lab {name!r} is broken: {where} defines no {', '.join(missing)} (a lab module "
                              f"needs {', '.join(REQUIRED)}; see docs/labs.md). Known labs: {_known(course)}.",
                              field="lab", value=name, allowed=_known(course))
    if not isinstance(module.POOL, (tuple, list)) or not module.POOL:
        raise ValidationError(f"lab {name!r} is broken: {where}: POOL must be a non-empty tuple of dicts (POOL[0] is "
                              f"the default variant). Known labs: {_known(course)}.", field="lab", value=name,
                              allowed=_known(course))
    return module


def load_file(path, name: str | None = None, course=None):
    """The lab module in the file ``path``, imported under a private name (reloaded when the file changes)."""
    path = pathlib.Path(path).resolve()
    name = name or path.stem
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key in _loaded:
        return _loaded[key]
    private = f"_mlsyslab_lab_{name}_{hashlib.sha256(str(key).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(private, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[private] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the instructor's lab raised or has a syntax error: one line, not a traceback
        sys.modules.pop(private, None)
        raise _broken(name, path, exc, course) from None
    _loaded[key] = _check(name, module, path, course)
    return module


def use_public(name: str, folder) -> bool:
    """Student side: use ``<folder>/<name>_public.py`` for lab ``name`` if it is there (True if so)."""
    path = pathlib.Path(folder) / f"{name}{PUBLIC_SUFFIX}"
    if NAME.fullmatch(str(name)) and path.is_file():
        _public[name] = path.resolve()
        return True
    return False


def load(name: str, course=None):
    """The lab module ``name``: ``<course>/labs/<name>.py`` if the course has it, else the built-in lab."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValidationError(f"lab={name!r} is not a lab name (letters, digits and _, starting with a letter). "
                              f"Known labs: {_known(course)}.", field="lab", value=name, allowed=_known(course))
    folder = course_dir(course)
    if folder is not None and (folder / f"{name}.py").is_file():
        return load_file(folder / f"{name}.py", name, course)
    if course is None and name in _public and _public[name].is_file():
        return load_file(_public[name], name)
    target = builtin().get(name)
    if target is None:
        where = f" (course {course}: no labs/{name}.py)" if course is not None else ""
        raise ValidationError(f"lab={name!r} is not known{where}. Known labs: {_known(course)}.", field="lab",
                              value=name, allowed=_known(course))
    try:
        module = importlib.import_module(target.split(":")[0])
    except Exception as exc:
        raise _broken(name, target, exc, course) from None
    return _check(name, module, getattr(module, "__file__", target), course)
