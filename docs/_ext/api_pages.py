"""API reference pages generated from the package itself: one page per public module.

At ``builder-inited`` every module under :mod:`mlsyslab` whose dotted name has no part
starting with ``_`` gets ``api/<module>.md`` with an ``automodule`` directive (autodoc +
napoleon read the docstrings). New modules appear by themselves; a module that fails to
import is a build warning (an error under ``-W``), never a silent gap.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from sphinx.util import logging

from generated_pages import sync_pages

logger = logging.getLogger(__name__)


def public_modules() -> list[str]:
    import mlsyslab

    names = ["mlsyslab"]
    for info in pkgutil.walk_packages(mlsyslab.__path__, "mlsyslab."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        names.append(info.name)
    return sorted(names)


def top_level_table() -> str:
    """The names ``import mlsyslab as ml`` offers, each linked to where it is defined."""
    import mlsyslab

    rows = []
    for name, module in sorted(mlsyslab._LAZY.items()):
        try:
            value = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue  # reserved for a module not written yet
        kind = type(value).__name__
        target = f"{{py:obj}}`{module}.{name}`" if callable(value) else f"``{module}.{name}``"
        rows.append(f"| ``ml.{name}`` | {target} | {kind} |")
    return ("| Name | Defined as | Kind |\n|---|---|---|\n" + "\n".join(rows) + "\n")


def page_text(module: str) -> str:
    title = f"``{module}``"
    if module == "mlsyslab":
        return (f"# {title}\n\n```{{eval-rst}}\n.. automodule:: mlsyslab\n   :no-members:\n```\n\n"
                "## Public names\n\nEverything below is imported lazily on first use "
                "(``import mlsyslab`` stays fast).\n\n" + top_level_table())
    return f"# {title}\n\n```{{eval-rst}}\n.. automodule:: {module}\n```\n"


def write_pages(app):
    out = Path(app.srcdir) / "api"
    out.mkdir(exist_ok=True)
    wanted = {}
    for module in public_modules():
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - report whatever broke the import
            logger.warning("API reference: cannot import %s: %s: %s", module, type(exc).__name__, exc)
            continue
        wanted[out / f"{module}.md"] = page_text(module)
    sync_pages(out, wanted)


def setup(app):
    app.connect("builder-inited", write_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
