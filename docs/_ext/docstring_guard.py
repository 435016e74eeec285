"""Docstrings are written for ``help()`` first: show those that are not valid reST verbatim.

The package's docstrings cite formulas in plain text (``|error|``, ``x*y``, a list straight
after a sentence), which reStructuredText would misread or reject. Rather than failing the
``-W`` build on a docstring, or rendering it garbled, each docstring is parsed on its own
after napoleon has converted it; if docutils reports any problem, the page shows the
original docstring as a literal block - exactly what ``help()`` prints - and its name is
listed in ``_build/docstrings-verbatim.txt`` (and in the build log) for its author to fix.
The documentation's own pages are not covered: there every warning is an error.
"""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path

from docutils.core import publish_doctree
from sphinx.util import logging

logger = logging.getLogger(__name__)
ROLE = re.compile(r":[\w:+.-]+:`")


def problems(lines: list[str]) -> list[str]:
    """docutils' complaints about ``lines`` parsed as a standalone reST document."""
    text = ROLE.sub("`", "\n".join(lines))  # Sphinx roles resolve later; check structure only
    stream = io.StringIO()
    try:
        publish_doctree(text, settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": stream,
                                                  "file_insertion_enabled": False, "raw_enabled": False})
    except Exception:  # noqa: BLE001 - a Sphinx-only directive that needs the build env: not a reST error
        return []
    return [line.replace("<string>:", "line ") for line in stream.getvalue().splitlines()
            if re.match(r"<string>:\d+: \((WARNING|ERROR|SEVERE)", line)]


def guard(app, what, name, obj, options, lines):
    found = problems(lines)
    if not found:
        return
    original = inspect.getdoc(obj) or "\n".join(lines)
    lines[:] = ["::", ""] + ["    " + line if line else "" for line in original.splitlines()] + [""]
    app.env.mlsyslab_verbatim_docstrings = getattr(app.env, "mlsyslab_verbatim_docstrings", {})
    app.env.mlsyslab_verbatim_docstrings[name] = found[0]
    logger.info("docstring of %s shown verbatim (not valid reST: %s)", name, found[0])


def report(app, exc):
    found = getattr(app.env, "mlsyslab_verbatim_docstrings", {})
    out = Path(app.outdir).parent / "docstrings-verbatim.txt"
    out.write_text("".join(f"{name}: {why}\n" for name, why in sorted(found.items())))


def setup(app):
    app.setup_extension("sphinx.ext.napoleon")
    app.connect("autodoc-process-docstring", guard, priority=900)  # after napoleon (500)
    app.connect("build-finished", report)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
