"""Whether this kernel is the grader's oracle-free run, and the lab it sees there.

In the copy of the package the graded kernel imports (:mod:`mlsyslab.grading.overlay`) the line
``ACTIVE = False`` below reads ``ACTIVE = True``: not an environment variable, nothing a student
can unset to get the solver back (the solvers there are stubs whatever this says). Then
:func:`mlsyslab.labs.open_lab` returns :class:`GradedLab`, built from the **public view** the
grader wrote for this notebook (the student's variant and the lab's text context, zoo entries by
key), whose ``check`` prints nothing and whose expected values are not there.

Outside grading (a student's Jupyter, Binder, the docs) nothing here changes anything.
"""

from __future__ import annotations

import json
import pathlib

ACTIVE = False
#: True in the overlay of a lab where an instructor allowed the solver for an item
SOLVER = False
#: the file the sandbox binds each notebook's view onto (beside this module, in the overlay)
VIEW_FILE = pathlib.Path(__file__).with_name("_grading_public.json")


def active() -> bool:
    """True in the grader's sandboxed run (solvers and expected values unavailable)."""
    return ACTIVE


# ---------------------------------------------------------------- public view (grader -> kernel)
def to_public(value, depth: int = 0):
    """A JSON-safe copy of a context value: zoo entries as references, quantities as [value, unit]."""
    from ..zoo.specs import HardwareSpec, ModelSpec

    if depth > 6:
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, ModelSpec):
        return {"$zoo": "Models", "key": value.key}
    if isinstance(value, HardwareSpec):
        return {"$zoo": "Hardware", "key": value.key}
    if hasattr(value, "magnitude") and hasattr(value, "units"):
        return {"$q": [to_public(value.magnitude, depth + 1), str(value.units)]}
    if isinstance(value, (list, tuple)):
        return {"$list": [to_public(v, depth + 1) for v in value], "tuple": isinstance(value, tuple)}
    if isinstance(value, dict):
        return {"$dict": [[str(k), to_public(v, depth + 1)] for k, v in value.items()]}
    return str(value)


def from_public(value):
    """The inverse of :func:`to_public`, in the kernel."""
    if not isinstance(value, dict):
        return value
    if "$zoo" in value:
        from .. import zoo

        return getattr(zoo, value["$zoo"]).get(value["key"])
    if "$q" in value:
        from ..units import quantity

        return quantity(*value["$q"])
    if "$list" in value:
        items = [from_public(v) for v in value["$list"]]
        return tuple(items) if value.get("tuple") else items
    if "$dict" in value:
        return {k: from_public(v) for k, v in value["$dict"]}
    return value


def public_view(lab: str, variant: dict, context: dict, student: str | None) -> dict:
    """What the grader writes for one notebook: no expected value, nothing the student's own notebook
    would not show them."""
    ctx = {k: to_public(v) for k, v in context.items() if k != "v"}
    return {"lab": lab, "student": student or "", "variant": to_public(dict(variant)), "context": ctx}


def read_view() -> dict:
    """The view the grader bound into this sandbox ({} if none)."""
    try:
        return json.loads(VIEW_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------- the lab object in grading
def graded_lab(name: str):
    """The :class:`GradedLab` of ``name`` from the grader's view (an empty variant if the view is
    another lab's, e.g. a notebook opening a second lab)."""
    view = read_view()
    if view.get("lab") != name:
        view = {"lab": name, "variant": {"$dict": [["variant", 0]]}, "context": {}, "student": ""}
    return _lab_class()(view)


_CLASS: list = []


def _lab_class():
    if _CLASS:
        return _CLASS[0]
    from .lab import Lab

    class GradedLab(Lab):
        """A lab in the grader's oracle-free run: text and variant, no checks, no expected values."""

        def __init__(self, view: dict):  # noqa: D107 - no spec module: it is a stub here
            from ..errors import OracleDisabled  # noqa: F401 - imported for items()
            from .variants import Variant

            self.name = view["lab"]
            self.spec = None
            self.student = view.get("student") or None
            self.variant = Variant(from_public(view.get("variant")) or {"variant": 0})
            self.context = dict({k: from_public(v) for k, v in (view.get("context") or {}).items()}, v=self.variant)
            self._cells = None

        def items(self) -> dict:
            from ..errors import OracleDisabled

            raise OracleDisabled("the solver is not available while grading: lab.items() (expected values)")

        def check(self, namespace: dict, *names: str) -> None:
            return None

        def verdicts(self, namespace: dict, *names: str) -> list:
            return []

    _CLASS.append(GradedLab)
    return GradedLab


def __getattr__(name):
    if name == "GradedLab":
        return _lab_class()
    raise AttributeError(f"module 'mlsyslab.labs.grading_mode' has no attribute {name!r}")
