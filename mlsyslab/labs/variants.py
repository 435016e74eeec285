"""Per-student variants of a lab: its parameters drawn from a pool the lab defines.

Every lab module (:mod:`mlsyslab.labs.builtin.lab2_kv_cache`, ...) has ``POOL``, a tuple of dicts of
parameters (model, GPU, context, batch...); ``POOL[0]`` is the **default variant**, the one the
lab's text was written for. A student gets one entry, deterministically::

    index = int(sha256(f"{seed}|{lab}|{student}"), 16) % len(POOL)

Who the student is (first found):

1. ``MLSYSLAB_STUDENT_ID``: the trusted grader sets it, in the kernel it starts, to the nbgrader
   student id; on your own machine export it before starting Jupyter, or call
   ``ml.labs.set_student("your-id")`` in the lab's first cell;
2. ``JUPYTERHUB_USER``: set by JupyterHub in every student server;
3. nobody (Binder, a local run without an id): the default variant ``POOL[0]``.

Course settings (``autograder/nbgrader_config.py``: ``configure_course(variants=..., seed=...)``):
``MLSYSLAB_VARIANTS`` (``0`` gives every student ``POOL[0]``) and ``MLSYSLAB_COURSE_SEED``
(any string; a new seed, a new draw). ``mlsyslab grade release`` writes both into each released
notebook's setup cell (``open_lab("lab2_kv_cache", variants=True, seed="")``) so a student's
kernel on a hub draws what the grader draws; the environment variables, when set, take
precedence (the grader sets them from the same configuration).
"""

from __future__ import annotations

import hashlib
import os

ENV_STUDENT = "MLSYSLAB_STUDENT_ID"
ENV_HUB_USER = "JUPYTERHUB_USER"
ENV_VARIANTS = "MLSYSLAB_VARIANTS"
ENV_SEED = "MLSYSLAB_COURSE_SEED"

_OFF = ("0", "false", "no", "off", "")


def set_student(student_id: str) -> None:
    """Use ``student_id``'s variants in this Python process (sets ``MLSYSLAB_STUDENT_ID``).

    For a local Jupyter without a hub; the grader always uses the id of the submission.
    """
    from ..errors import ValidationError

    if not isinstance(student_id, str) or not student_id.strip():
        raise ValidationError(f"student_id={student_id!r} is not allowed; give your course id as a non-empty str, "
                              "e.g. set_student('jdoe').", field="student_id", value=student_id,
                              allowed="a non-empty str")
    os.environ[ENV_STUDENT] = student_id.strip()


def student_id() -> str | None:
    """``$MLSYSLAB_STUDENT_ID``, else ``$JUPYTERHUB_USER``, else None (anonymous)."""
    for name in (ENV_STUDENT, ENV_HUB_USER):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def settings(variants: bool = True, seed: str = "") -> tuple[bool, str]:
    """(variants on?, course seed): the environment's values when set, else the arguments
    (which a released notebook bakes in from the course configuration)."""
    env_on = os.environ.get(ENV_VARIANTS)
    on = variants if env_on is None else env_on.strip().lower() not in _OFF
    env_seed = os.environ.get(ENV_SEED)
    return bool(on), (seed if env_seed is None else env_seed)


def configure_course(variants: bool = True, seed: str = "") -> None:
    """Called by ``autograder/nbgrader_config.py``: the course's switch and seed, exported as
    ``MLSYSLAB_VARIANTS`` / ``MLSYSLAB_COURSE_SEED`` to the grading process, the kernels it starts
    and the release (variables already set in the environment win, e.g. for a one-off run)."""
    os.environ.setdefault(ENV_VARIANTS, "1" if variants else "0")
    os.environ.setdefault(ENV_SEED, str(seed))


def load_course_settings(course=None) -> None:
    """Apply the ``configure(c, variants=..., seed=...)`` (or ``configure_course``) call of the course's
    ``nbgrader_config.py`` to this process, as the grader does (read, not executed: literal
    arguments only); variables already set in the environment win, as for the grader."""
    import ast
    import pathlib

    from ..grading.course import find_course

    config = pathlib.Path(find_course(course)) / "nbgrader_config.py"
    for node in ast.walk(ast.parse(config.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("configure_course", "configure"):
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg in ("variants", "seed")}
            configure_course(**kwargs)
            return


def index(lab: str, pool_size: int, student: str | None, *, variants: bool = True, seed: str = "") -> int:
    """Position in the pool of ``student``'s variant of ``lab`` (0 when anonymous or variants are off)."""
    on, seed = settings(variants, seed)
    if not on or not student or pool_size <= 1:
        return 0
    digest = hashlib.sha256(f"{seed}|{lab}|{student}".encode()).hexdigest()
    return int(digest, 16) % pool_size


def _unknown(kind: str, name, choices, extra=None):
    from ..errors import UnknownAttributeError, UnknownNameError
    from ..inputs import did_you_mean

    cls = UnknownAttributeError if extra is AttributeError else UnknownNameError
    return cls(f"{kind}={name!r} is not known.{did_you_mean(name, choices)} Known: {', '.join(choices)}.",
               field=kind, value=name, allowed=", ".join(choices))


def one_variant(items: dict) -> tuple:
    """``POOL, context, cells`` of a lab whose numbers are the same for every student (labs 1, 6, 7).

    Used as ``POOL, context, cells = one_variant(ITEMS)``, with ``ITEMS`` mapping grade_id -> [Item]."""
    return (dict(),), (lambda v: {}), (lambda v: items)


class Variant(dict):
    """One variant's parameters; also readable as attributes (``v.seq_len``)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise _unknown("variant parameter", name, list(self), AttributeError) from None


def spec(lab: str, course=None):
    """The lab module (POOL, cells(), checks): :func:`mlsyslab.labs.registry.load`; one clear line for an
    unknown or broken lab."""
    from .registry import load

    return load(lab, course)


def variant(lab: str, student: str | None = None, *, variants: bool = True, seed: str = "",
            use_env_student: bool = False, course=None) -> Variant:
    """``student``'s parameters for ``lab`` (``use_env_student``: None means :func:`student_id`;
    ``course``: a course folder whose ``labs/`` may define the lab)."""
    if student is None and use_env_student:
        student = student_id()
    pool = spec(lab, course).POOL
    i = index(lab, len(pool), student, variants=variants, seed=seed)
    return Variant(pool[i], variant=i)
