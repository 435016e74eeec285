"""Render the lab notebooks of ``labs/`` as pages, with their outputs and a Binder button.

At ``builder-inited`` each ``labs/**/*.ipynb`` is copied to ``docs/labs/<name>.ipynb`` as the
**student** sees it: nbgrader solution regions (``### BEGIN SOLUTION`` ... ``### END SOLUTION``)
become ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` and hidden tests are removed, the
same rewriting as nbgrader's ``ClearSolutions`` and ``ClearHiddenTests``; the outputs of such
cells are dropped (they would give the answer away). A "Launch on Binder" link to the
original notebook is inserted under the title. MyST-NB then executes each page at build time
(errors allowed: a student version may raise where an answer is missing), so the page shows its
outputs and the widget state the run saved.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
TEXT_STUB = ["YOUR ANSWER HERE"]


def lab_notebooks(root: Path) -> list[Path]:
    labs = root / "labs"
    if not labs.is_dir():
        return []
    return sorted(p for p in labs.rglob("*.ipynb")
                  if not any(part.startswith(".") or part.startswith("_") for part in p.relative_to(labs).parts))


def _source_lines(cell) -> list[str]:
    src = cell.get("source", "")
    return ("".join(src) if isinstance(src, list) else src).split("\n")


def _strip_region(lines, begin, end, stub):
    """Replace each begin..end region by ``stub`` (indented like the begin marker)."""
    out, inside, changed = [], False, False
    for line in lines:
        if line.strip().startswith(begin):
            inside, changed = True, True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in stub)
        elif line.strip().startswith(end) and inside:
            inside = False
        elif not inside:
            out.append(line)
    return out, changed


def student_version(nb: dict) -> dict:
    """The notebook with solutions and hidden tests removed (and the outputs they produced)."""
    for cell in nb.get("cells", []):
        lines = _source_lines(cell)
        stub = CODE_STUB if cell.get("cell_type") == "code" else TEXT_STUB
        lines, solved = _strip_region(lines, BEGIN_SOLUTION, END_SOLUTION, stub)
        lines, hidden = _strip_region(lines, BEGIN_HIDDEN, END_HIDDEN, [])
        if solved or hidden:
            cell["source"] = "\n".join(lines)
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
    return nb


def binder_url(repository: str, branch: str, path: str) -> str:
    """``repository`` is ``owner/name`` on GitHub; opens JupyterLab on ``path``."""
    return f"https://mybinder.org/v2/gh/{repository}/{branch}?urlpath={quote('lab/tree/' + path, safe='')}"


def launch_cell(url: str, path: str) -> dict:
    text = (f'<p class="launch-buttons"><a class="launch-binder" href="{url}">Launch on Binder</a> '
            f"<span>or run it locally: <code>make lab</code>, then open <code>{path}</code></span></p>")
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _title_index(nb) -> int:
    """Index of the first markdown cell holding a heading (the page title)."""
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "markdown" and re.search(r"^#\s", "\n".join(_source_lines(cell)), re.M):
            return i
    return -1


def page_name(rel: Path) -> str:
    return "-".join(rel.with_suffix("").parts)


NOTEBOOK_LINK = re.compile(r"\]\(([^()\s]+\.ipynb)(#[^()\s]*)?\)")


def rewrite_links(text: str, rel_dir: Path, labs: Path) -> str:
    """Markdown links between lab notebooks (``explorers/x.ipynb``, ``../x.ipynb``) -> their page names.

    In ``labs/`` the explorers sit in a sub-folder; in the site every lab page is ``docs/labs/<page>``."""
    def to_page(match):
        target = (labs / rel_dir / match.group(1)).resolve()
        try:
            rel = target.relative_to(labs.resolve())
        except ValueError:
            return match.group(0)
        if not target.exists():
            return match.group(0)
        return f"]({page_name(rel)}.ipynb{match.group(2) or ''})"
    return NOTEBOOK_LINK.sub(to_page, text)


def write_pages(app):
    root = Path(app.srcdir).parent
    out = Path(app.srcdir) / "labs"
    out.mkdir(exist_ok=True)
    repo, branch = app.config.mlsyslab_repository, app.config.mlsyslab_branch
    wanted = {}
    for src in lab_notebooks(root):
        rel = src.relative_to(root)
        nb = student_version(json.loads(src.read_text()))
        cells = nb.setdefault("cells", [])
        rel_dir = src.parent.relative_to(root / "labs")
        for cell in cells:
            if cell.get("cell_type") == "markdown":
                cell["source"] = rewrite_links("\n".join(_source_lines(cell)), rel_dir, root / "labs")
        # A student version may legitimately raise where an answer is still missing: show it, as
        # Jupyter would, instead of failing the site (the labs' own tests run every version).
        nb.setdefault("metadata", {}).setdefault("mystnb", {})["execution_allow_errors"] = True
        i = _title_index(nb)
        if i < 0:
            cells.insert(0, {"cell_type": "markdown", "metadata": {}, "source": f"# {src.stem.replace('_', ' ')}"})
            i = 0
        cells.insert(i + 1, launch_cell(binder_url(repo, branch, rel.as_posix()), rel.as_posix()))
        if (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5):  # cell ids are required from 4.5
            for n, cell in enumerate(cells):
                cell.setdefault("id", f"mlsyslab-docs-{n}")
        wanted[out / f"{page_name(src.relative_to(root / 'labs'))}.ipynb"] = json.dumps(nb, indent=1) + "\n"
    if not wanted:
        wanted[out / "none.md"] = ("# No labs in this build\n\nThe lab notebooks live in ``labs/``; "
                                   "none were found when these pages were built.\n")
    for stale in (set(out.glob("*.ipynb")) | set(out.glob("*.md"))) - set(wanted):
        stale.unlink()
    for file, text in wanted.items():
        if not file.exists() or file.read_text() != text:
            file.write_text(text)


def setup(app):
    app.add_config_value("mlsyslab_repository", "mlsyslab/mlsyslab", "env")
    app.add_config_value("mlsyslab_branch", "HEAD", "env")
    app.connect("builder-inited", write_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
