"""Sphinx configuration for the mlsyslab documentation (see docs/README.md for why Sphinx + MyST-NB).

Build: ``make docs`` (= ``python -m sphinx -W --keep-going -b html docs docs/_build/html``).
Everything here works offline: no intersphinx, theme assets and MathJax are served locally.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))

import mlsyslab  # noqa: E402

project = "mlsyslab"
author = "the mlsyslab authors"
copyright = "mlsyslab authors, Apache-2.0"
release = version = mlsyslab.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "docstring_guard",
    "offline_math",
    "zoo_catalog",
    "api_pages",
    "solver_pages",
    "lab_pages",
    "validation_page",
    "example_pages",
    "widget_screenshots",
]

#: GitHub ``owner/name`` and branch that the Binder buttons launch (override for a fork).
mlsyslab_repository = os.environ.get("MLSYSLAB_REPOSITORY", "mlsyslab/mlsyslab")
mlsyslab_branch = os.environ.get("MLSYSLAB_BRANCH", "HEAD")  # the default branch, as in README.md

exclude_patterns = ["_build", "README.md", "jupyter_execute", "**.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}

# MyST: $...$ maths, ::: fences, definition lists; headings get anchors for in-page links.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
_BINDER = f"https://mybinder.org/v2/gh/{mlsyslab_repository}/{mlsyslab_branch}?urlpath=lab/tree/labs"
myst_substitutions = {"binder_link": f"[launch the labs on Binder]({_BINDER})"}

# MyST-NB: every page with code cells is executed at every build (its numbers come from the code),
# the labs too, in their student version (what a student sees after "Run all" before answering;
# _ext/lab_pages.py). Each runs in a temporary folder. A failing cell fails the build.
nb_execution_mode = os.environ.get("MLSYSLAB_DOCS_EXECUTE", "force")
nb_execution_in_temp = True
nb_execution_raise_on_error = True
nb_execution_timeout = 180
nb_merge_streams = True

# autodoc + napoleon: numpydoc-style docstrings; each module documents what it defines.
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True,
                           "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
napoleon_numpy_docstring = True
napoleon_google_docstring = True
napoleon_use_rtype = False

html_theme = "sphinx_book_theme"
html_title = f"mlsyslab {release}"
html_static_path = ["_static"]
html_css_files = ["mlsyslab.css"]
html_js_files = ["sortable.js"]
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": f"https://github.com/{mlsyslab_repository}",
    "repository_branch": mlsyslab_branch,
    "path_to_docs": "docs",
    "use_repository_button": True,
    "use_download_button": True,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}

suppress_warnings = [
    "myst.header",  # notebooks may skip heading levels; not an error in a rendered lab
    # The labs' answer records carry a private mime type (application/vnd.mlsyslab.answers+json)
    # next to text/plain; MyST-NB renders every mime type at parse time and warns about ours,
    # then shows the text/plain one. Nothing else is hidden.
    "mystnb.unknown_mime_type",
]

#: Pages other people own: listed in the toctree when their file exists (none is required).
OPTIONAL_PAGES = {
    "OPTIONAL_REFERENCE_PAGES": ("validation", "widgets"),
    "OPTIONAL_TEACHING_PAGES": ("instructors",),
}


def _optional_pages(app, docname, source):
    if docname != "index":
        return
    for marker, pages in OPTIONAL_PAGES.items():
        present = [p for p in pages if any((DOCS / f"{p}{ext}").exists() for ext in (".md", ".ipynb", ".rst"))]
        source[0] = source[0].replace(marker, "\n".join(present))


def setup(app):
    app.connect("source-read", _optional_pages)
    # index.md changes with the files present, so it is re-read on every build.
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: ["index"])
