"""The student material shipped with the package, generated from the lab sources (no notebook is package data).

:func:`student_notebook` is the blank lab a student works in: the instructor notebook of
:func:`mlsyslab.labs.authoring.notebook` with every solution region replaced the way nbgrader's
release does (``# YOUR CODE HERE``, ``YOUR ANSWER HERE``; same cell sources as ``mlsyslab grade
release`` writes, without nbgrader installed). :func:`copy_material` writes the built-in labs and
their Voila explorers into a folder (``mlsyslab lab --copy DIR``). A course's students get the
course's own release instead (``mlsyslab grade release``), with its variant settings baked in.
"""

from __future__ import annotations

import pathlib
import re

from . import authoring, registry

CODE_STUB = "# YOUR CODE HERE"
TEXT_STUB = "YOUR ANSWER HERE"
_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*$", re.M | re.S)


def _blank(source: str, cell_type: str) -> str:
    if "### BEGIN SOLUTION" not in source:
        return TEXT_STUB if cell_type == "markdown" else source
    return _REGION.sub(lambda m: m.group(1) + (CODE_STUB if cell_type == "code" else TEXT_STUB), source)


def student_notebook(name: str, module=None):
    """The blank student version of lab ``name`` (solutions cleared; outputs empty)."""
    from ..errors import MLSysError

    nb = authoring.notebook(name, module or registry.load(name))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = _blank(cell.source, cell.cell_type)
        if meta.get("solution") or meta.get("grade"):
            cell.metadata["deletable"] = False
            meta["cell_type"] = cell.cell_type
        if meta.get("locked"):
            cell.metadata["editable"] = False
        if "BEGIN SOLUTION" in cell.source or "END SOLUTION" in cell.source:
            raise MLSysError(f"lab {name!r}: cell {cell.get('id')} keeps a solution marker outside a solution cell; "
                             "mark the cell with answer(...) or remove the marker.")
    return nb


def with_checksums(nb):
    """``nb`` with the checksums nbgrader's release writes into graded, solution and locked cells
    (so the copy is byte for byte what ``grade release`` gives); needs nbgrader (the grading extra)."""
    from nbgrader.utils import compute_checksum

    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("solution") or meta.get("locked"):
            meta["checksum"] = compute_checksum(cell)
    return nb


def copy_material(dest, names=None) -> list[pathlib.Path]:
    """Write the student labs ``<dest>/<lab>.ipynb`` and explorers ``<dest>/explorers/<lab>.ipynb``
    of the built-in labs (``names``: a subset); the paths written."""
    import nbformat

    dest = pathlib.Path(dest)
    (dest / "explorers").mkdir(parents=True, exist_ok=True)
    out = []
    for name in names or list(registry.builtin()):
        module = registry.load(name)
        path = dest / f"{name}.ipynb"
        nbformat.write(student_notebook(name, module), path)
        out.append(path)
        if getattr(module, "EXPLORER", None):
            path = dest / "explorers" / f"{name}.ipynb"
            nbformat.write(authoring.explorer(name, module), path)
            out.append(path)
    return out
