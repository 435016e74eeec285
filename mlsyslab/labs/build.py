"""``mlsyslab course build``: a course's instructor notebooks from the lab sources.

``build(name, course)`` writes ``<course>/source/<name>/<name>.ipynb`` (solutions included: the
instructor's copy, which ``mlsyslab grade release`` turns into the student version) from the lab
module :func:`mlsyslab.labs.registry.load` finds (the course's ``labs/<name>.py``, else the
built-in lab), and, when the lab has an ``EXPLORER``, the Voila explorer
``<student copies>/explorers/<name>.ipynb`` (widgets only, nothing to hide: written straight into
the folder of the student copies, :func:`student_dir`).
"""

from __future__ import annotations

import pathlib

from . import authoring, registry


def build(name: str, course) -> list[pathlib.Path]:
    """Write lab ``name``'s instructor notebook (and explorer) into ``course``; the paths written."""
    import nbformat

    module = registry.load(name, course)
    _require_notebook(name, module, course)
    course = pathlib.Path(course)
    out = []
    path = course / "source" / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(authoring.notebook(name, module), path)
    out.append(path)
    if getattr(module, "EXPLORER", None):
        path = student_dir(course) / "explorers" / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(authoring.explorer(name, module), path)
        out.append(path)
    return out


#: the checkout's own course and its student copies (``make lab``, Binder)
CHECKOUT = pathlib.Path(__file__).resolve().parents[2]


def student_dir(course) -> pathlib.Path:
    """The student copies of ``course``: the checkout's ``labs/`` for its ``autograder/``, else
    ``<course>/student`` (released labs, explorers, public modules of the course's own labs)."""
    course = pathlib.Path(course).resolve()
    if course == CHECKOUT / "autograder":
        return CHECKOUT / "labs"
    return course / "student"


def _require_notebook(name, module, course):
    from ..errors import ValidationError

    if not isinstance(getattr(module, "NOTEBOOK", None), (list, tuple)) or not hasattr(module, "TITLE"):
        raise ValidationError(f"lab {name!r} has no TITLE and NOTEBOOK list, so no notebook can be built from it "
                              f"(see docs/labs.md). Known labs: {', '.join(registry.names(course))}.",
                              field="lab", value=name, allowed="a lab module with TITLE and NOTEBOOK")
