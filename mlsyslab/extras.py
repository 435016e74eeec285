"""One line when an optional extra is missing: ``mlsyslab.widgets needs the 'widgets' extra: pip install ...``.

The parts of mlsyslab that need more than the core dependencies call :func:`require` before importing them,
so a user who installed ``pip install mlsyslab`` alone reads which extra to add, not ``No module named 'bqplot'``.
"""

from __future__ import annotations

import importlib

from .errors import MLSysError

#: extra -> the top-level modules it provides
EXTRAS = {"widgets": ("ipywidgets", "bqplot"), "lab": ("jupyterlab",), "grading": ("nbgrader",)}


#: optional module (top level) -> the extra that brings it (the extras' own modules and what they pull in)
PROVIDED_BY = {"ipywidgets": "widgets", "bqplot": "widgets", "jupyterlab": "lab", "notebook": "lab", "voila": "lab",
               "ipykernel": "lab", "IPython": "lab", "jupyter_client": "lab", "jupyter_core": "lab",
               "jupyter_server": "lab", "nbformat": "lab", "nbconvert": "lab", "nbclient": "lab",
               "nbgrader": "grading", "nh3": "grading"}
#: command line -> the extra it needs (course and grade: nbgrader, which brings nbformat and the kernel too)
COMMAND_EXTRA = {"lab": "lab", "course": "grading", "grade": "grading"}


def command_hint(command: str, missing: str | None) -> str | None:
    """One line for ``mlsyslab COMMAND`` that hit ``ModuleNotFoundError`` for ``missing``; None when that
    module is no optional dependency (a broken install: the original error is the right one)."""
    top = (missing or "").split(".")[0]
    if top not in PROVIDED_BY:
        return None
    extra = COMMAND_EXTRA.get(command, PROVIDED_BY[top])
    return f"mlsyslab {command} needs the {extra!r} extra ({top} is not installed): pip install 'mlsyslab[{extra}]'"


#: command line -> a module it needs before it writes anything (checked first: no half-written folder)
COMMAND_NEEDS = {"lab": "nbformat", "course": "nbformat"}


def command_precheck(command: str) -> str | None:
    """:func:`command_hint`'s line when ``command`` cannot run in this environment, else None (cheap: no import)."""
    import importlib.util

    module = COMMAND_NEEDS.get(command)
    try:
        present = module is None or importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # blocked (sys.modules[name] = None) or a broken install
        present = False
    return None if present else command_hint(command, module)


class MissingExtraError(MLSysError, ImportError):
    """A part of mlsyslab was used without the optional dependencies (the extra) it needs."""

    def __init__(self, what: str, extra: str, module: str):
        super().__init__(f"{what} needs the {extra!r} extra: pip install 'mlsyslab[{extra}]'", name=module)
        self.extra = extra

    def _render_traceback_(self):  # IPython/Jupyter: the one line, not the import chain
        return [f"MissingExtraError: {self}"]


def require(extra: str, what: str) -> None:
    """Import the modules of ``extra``; raise :class:`MissingExtraError` naming ``what`` when one is missing."""
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] != module:
                raise  # a broken install of something else: its own message is the right one
            raise MissingExtraError(what, extra, module) from None


__all__ = ["COMMAND_EXTRA", "COMMAND_NEEDS", "EXTRAS", "PROVIDED_BY", "MissingExtraError", "command_hint",
           "command_precheck", "require"]
