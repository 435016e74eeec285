"""A solver-guide page for every solver module that has no hand-written page yet.

Hand-written pages ``solvers/<module>.md`` (maths, assumptions, worked example) take
precedence; for any other module of :mod:`mlsyslab.solvers` (not ``result`` and not a
``*_physics`` module, whose docstring is shown with its solver) a page ``solvers/auto_<module>.md``
shows the module's docstring, its ``<module>_physics`` equations when they exist, and its API.
So a solver appears in the guide the moment its module lands.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from sphinx.util import logging

from generated_pages import sync_pages

logger = logging.getLogger(__name__)

NOT_SOLVERS = {"result", "load_sim", "load_analytic"}  # the load solver's engines: shown on solvers/load.md


def solver_modules() -> list[str]:
    import mlsyslab.solvers

    return sorted(i.name for i in pkgutil.iter_modules(mlsyslab.solvers.__path__)
                  if not i.name.startswith("_") and not i.name.endswith("_physics") and i.name not in NOT_SOLVERS)


def page_text(name: str) -> str:
    module = importlib.import_module(f"mlsyslab.solvers.{name}")
    doc = (module.__doc__ or "").strip().splitlines()
    title = doc[0].rstrip(".") if doc else name
    text = (f"# {title}\n\n"
            f"*This page is generated from the docstrings of* ``mlsyslab.solvers.{name}``.\n\n"
            f"```{{eval-rst}}\n.. automodule:: mlsyslab.solvers.{name}\n   :no-members:\n   :no-index:\n```\n")
    try:
        importlib.import_module(f"mlsyslab.solvers.{name}_physics")
    except ImportError:
        pass
    else:
        text += (f"\n## Equations\n\n```{{eval-rst}}\n.. automodule:: mlsyslab.solvers.{name}_physics\n"
                 f"   :no-members:\n   :no-index:\n```\n")
    text += f"\n## API\n\nSee {{doc}}`../api/mlsyslab.solvers.{name}`.\n"
    return text


def write_pages(app):
    out = Path(app.srcdir) / "solvers"
    out.mkdir(exist_ok=True)
    wanted = {}
    for name in solver_modules():
        if (out / f"{name}.md").exists():
            continue
        try:
            wanted[out / f"auto_{name}.md"] = page_text(name)
        except Exception as exc:  # noqa: BLE001
            logger.warning("solver guide: cannot import mlsyslab.solvers.%s: %s: %s", name, type(exc).__name__, exc)
    sync_pages(out, wanted, "auto_*.md")


#: reading order of the guide; any other solver page follows, alphabetically
ORDER = ("roofline", "serving", "load", "distributed", "sustainability", "cost")


def toctree_entries(srcdir: Path) -> list[str]:
    pages = sorted(p.stem for p in (srcdir / "solvers").glob("*.md"))
    key = lambda stem: (ORDER.index(stem.removeprefix("auto_")) if stem.removeprefix("auto_") in ORDER  # noqa: E731
                        else len(ORDER), stem)
    return [f"solvers/{stem}" for stem in sorted(pages, key=key)]


def fill_toctree(app, docname, source):
    if docname == "solvers":
        source[0] = source[0].replace("SOLVER_PAGES", "\n".join(toctree_entries(Path(app.srcdir))))


def setup(app):
    app.connect("builder-inited", write_pages)
    app.connect("source-read", fill_toctree)
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: ["solvers"])
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
