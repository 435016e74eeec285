"""One line when an optional extra is missing: ``mlsyslab.widgets needs the 'widgets' extra: pip install ...``.

The parts of mlsyslab that need more than the core dependencies call :func:`require` before importing them,
so a user who installed ``pip install mlsyslab`` alone reads which extra to add, not ``No module named 'bqplot'``.
"""

from __future__ import annotations

import importlib

from .errors import MLSysError

#: extra -> the top-level modules it provides
EXTRAS = {"widgets": ("ipywidgets", "bqplot"), "lab": ("jupyterlab",), "grading": ("nbgrader",)}


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


__all__ = ["EXTRAS", "MissingExtraError", "require"]
