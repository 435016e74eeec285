"""The scripts of ``examples/`` as executed tutorial pages.

Each ``examples/<name>.py`` becomes ``examples/<name>.md``: its docstring is the page's text
(first line the title), the rest of the script one code cell that MyST-NB executes at build
time, so the page shows exactly what ``python examples/<name>.py`` prints today. A hidden
first cell sets ``__file__`` so that scripts which read files beside themselves still work.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from generated_pages import sync_pages

FRONT = "---\nfile_format: mystnb\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n\n"


def page_text(script: Path, repo: Path) -> str:
    source = script.read_text()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree) or script.stem.replace("_", " ")
    body = source
    if ast.get_docstring(tree) is not None:
        body = "\n".join(source.splitlines()[tree.body[0].end_lineno:]).strip("\n")
    title, _, rest = doc.partition("\n")
    rel = script.relative_to(repo).as_posix()
    return (FRONT + f"# {title.strip()}\n\n{rest.strip()}\n\n"
            f"*This page runs* `{rel}` *at build time; the output below is what the script prints today.*\n\n"
            f"```{{code-cell}} ipython3\n:tags: [remove-cell]\n__file__ = {json.dumps(str(script))}\n```\n\n"
            f"```{{code-cell}} ipython3\n{body}\n```\n")


def example_scripts(repo: Path) -> list[Path]:
    folder = repo / "examples"
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_")) if folder.is_dir() else []


def write_pages(app):
    repo = Path(app.srcdir).parent
    out = Path(app.srcdir) / "examples"
    out.mkdir(exist_ok=True)
    wanted = {out / f"{s.stem}.md": page_text(s, repo) for s in example_scripts(repo)}
    sync_pages(out, wanted)


def fill_toctree(app, docname, source):
    if docname == "tutorials":
        pages = sorted(p.stem for p in (Path(app.srcdir) / "examples").glob("*.md"))
        source[0] = source[0].replace("EXAMPLE_PAGES", "\n".join(f"examples/{p}" for p in pages))


def setup(app):
    app.connect("builder-inited", write_pages)
    app.connect("source-read", fill_toctree)
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: ["tutorials"])
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
