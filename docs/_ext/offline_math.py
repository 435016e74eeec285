"""MathJax 3 served from the site itself, so equations render with no network.

The MathJax files come from the ``sphinx-mathjax-offline`` wheel (the ``docs`` extra); only
what ``tex-chtml.js`` needs at run time is copied: the combined component and its fonts.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

MATHJAX_PATH = "mathjax/tex-chtml.js"


def mathjax_source() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("sphinx-mathjax-offline is not installed: pip install -e '.[docs]'")
    return Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"


def copy_mathjax(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    src = mathjax_source()
    dest = Path(app.outdir) / "_static" / "mathjax"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "tex-chtml.js", dest / "tex-chtml.js")
    shutil.copytree(src / "output" / "chtml" / "fonts", dest / "output" / "chtml" / "fonts", dirs_exist_ok=True)


def setup(app):
    mathjax_source()  # fail early, with the fix, when the wheel is missing
    app.config.mathjax_path = MATHJAX_PATH
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
