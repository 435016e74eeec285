"""Build the instructor notebooks autograder/source/<lab>/<lab>.ipynb from scripts/labdefs/.

    .venv/bin/python scripts/build_labs.py            # all labs defined
    .venv/bin/python scripts/build_labs.py lab2_kv_cache

Then ``mlsyslab grade release`` generates the student versions (autograder/release, labs/).
"""

from __future__ import annotations

import importlib
import pathlib
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from labdefs import LABS  # noqa: E402

KERNEL = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}


def notebook(lab: str):
    """The instructor notebook of ``lab`` built from its definition (not written)."""
    module = importlib.import_module(f"labdefs.{lab}")
    nb = nbformat.v4.new_notebook(metadata=dict(KERNEL, title=module.TITLE))
    for cell in module.CELLS:
        make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}[cell["cell_type"]]
        source = cell["source"]
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("predict_"):  # prediction keys are unique across labs: "lab2:cp_oom"
            name = grade_id[len("predict_"):]
            source = source.replace(f"key={name!r}", f"key={lab + ':' + name!r}")
        source = source.replace("open_lab(__LAB__", f"open_lab({lab!r}".replace("'", '"'))
        nb.cells.append(make(source, metadata=cell["metadata"]))
    for i, cell in enumerate(nb.cells):  # stable ids, so rebuilding does not churn the files
        cell["id"] = f"{lab.split('_')[0]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def build(lab: str) -> pathlib.Path:
    nb = notebook(lab)
    path = ROOT / "autograder" / "source" / lab / f"{lab}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def defined() -> list[str]:
    return [lab for lab in LABS if (ROOT / "scripts" / "labdefs" / f"{lab}.py").exists()]


if __name__ == "__main__":
    for lab in sys.argv[1:] or defined():
        print(build(lab).relative_to(ROOT))
