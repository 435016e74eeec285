"""``mlsyslab course build``: a course's instructor notebooks from the lab sources.

``build(name, course)`` writes ``<course>/source/<name>/<name>.ipynb`` (solutions included: the
instructor's copy, which ``mlsyslab grade release`` turns into the student version) from the lab
module :func:`mlsyslab.labs.registry.load` finds (the course's ``labs/<name>.py``, else the
built-in lab), and, when the lab has an ``EXPLORER``, the Voila explorer
``<student copies>/explorers/<name>.ipynb`` (widgets only, nothing to hide: written straight into
the folder of the student copies, :func:`student_dir`). For the checkout's own course it also
writes the student copy ``labs/<name>.ipynb`` byte for byte as ``mlsyslab grade release`` would
(with nbgrader installed), so ``make lab`` and Binder follow a rebuilt lab at once.

A course's own lab also gets ``source/<name>/<name>_public.py``, :func:`public_source` of its
module: what the student's kernel needs for ``open_lab`` and ``lab.check`` (``POOL``, ``context``,
``cells``, ``functions`` and their helpers) without ``NOTEBOOK`` (the solutions), ``hidden`` or any
``HIDDEN*``/``_hidden*`` name, nor a comment. nbgrader's release copies it beside the released
notebook; ``open_lab`` finds it there. The grader never reads it: it loads ``<course>/labs/<name>.py``.
"""

from __future__ import annotations

import importlib.util
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
    source = registry.course_dir(course) / f"{name}.py"
    public = path.parent / f"{name}{PUBLIC_SUFFIX}"
    if source.is_file():  # a course's own lab: its public part travels with the notebook
        public.write_text(public_source(source.read_text(encoding="utf-8"), name), encoding="utf-8")
        out.append(public)
    elif public.exists():  # the course lab was removed: a built-in lab of that name needs no side file
        public.unlink()
    if student_dir(course) == CHECKOUT / "labs" and importlib.util.find_spec("nbgrader") is not None:
        from .student import student_notebook, with_checksums  # the checkout's labs/: as `grade release` writes it

        path = CHECKOUT / "labs" / f"{name}.ipynb"
        nbformat.write(with_checksums(student_notebook(name, module)), path)
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


PUBLIC_SUFFIX = registry.PUBLIC_SUFFIX
#: top-level names a public copy leaves out (and any name starting with HIDDEN or _hidden)
PRIVATE = ("NOTEBOOK", "hidden")


def _private(name: str) -> bool:
    return name in PRIVATE or name.upper().startswith("HIDDEN") or name.startswith("_hidden")


def public_source(text: str, name: str) -> str:
    """The source of a lab module without its private parts (see the module docstring), comments dropped."""
    import ast

    tree = ast.parse(text)
    body = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _private(node.name):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            if any(_private(n) for n in names):
                continue
        body.append(node)
    tree.body = body
    header = (f'"""Public part of the lab {name!r}, generated by `mlsyslab course build` for the students\' kernels '
              "(open_lab, lab.check).\n\nNo solutions and no hidden configurations: the grader never reads this file; "
              'it uses the course\'s labs/{name}.py."""\n\n')
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body.pop(0)  # the lab's own docstring: replaced by the header above
    return header.replace("{name}", name) + ast.unparse(tree) + "\n"
