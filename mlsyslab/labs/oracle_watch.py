"""Student side: notice an answer that calls the solver, so ``lab.check()`` can say so before submitting.

The grader re-runs the notebook without solvers (:mod:`mlsyslab.grading.overlay`): an answer
computed by ``ServingSolver``, ``LoadSolver``..., by ``lab.items()`` or by the lab module's own
formulas scores 0 there. In a student's IPython kernel, :func:`install` (called by ``open_lab``)
wraps those entry points with a counter and registers two cell hooks; after each cell, every
variable the cell (re)bound is marked with the oracle calls the cell made. :func:`tainted` then
tells ``lab.check`` which answer came from the solver; :func:`calls` counts them while a graded
function runs. ``lab.check``'s own reference values are computed inside :func:`suspended`.
Nothing here runs outside IPython, and in the grader's run there is nothing to watch.
"""

from __future__ import annotations

import contextlib
import functools
import inspect

#: modules whose public classes' methods and functions count as "the solver" (not mlsyslab.solvers.cost: the
#: grader's overlay keeps it real, its GPU-hour prices are data; its serving_cost calls ServingSolver, watched)
SOLVER_MODULES = ("mlsyslab.solvers.serving", "mlsyslab.solvers.load", "mlsyslab.solvers.distributed",
                  "mlsyslab.solvers.sustainability", "mlsyslab.solvers.roofline")


class _State:
    used: list = []       # oracle calls since the current cell started (first few)
    depth = 0             # > 0 inside a watched call (inner calls are not counted again)
    suspended = 0         # > 0 while lab.check computes its own reference values
    taint: dict = {}      # variable -> tuple of the oracle calls of the cell that last bound it
    snapshot: dict = {}
    wrapped: set = set()
    shells: set = set()


def _note(label: str) -> None:
    if _State.suspended == 0 and len(_State.used) < 8:
        _State.used.append(label)


def _wrap(fn, label: str):
    if getattr(fn, "__mlsyslab_watched__", False):
        return fn

    @functools.wraps(fn)
    def watched(*args, **kwargs):
        if _State.depth == 0:
            _note(label)
        _State.depth += 1
        try:
            return fn(*args, **kwargs)
        finally:
            _State.depth -= 1

    watched.__mlsyslab_watched__ = True
    return watched


def _watch_module(module, only_own: bool = True) -> None:
    """Wrap the public functions of ``module`` and the public methods of its public classes."""
    for name, value in list(vars(module).items()):
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(value) and id(value) not in _State.wrapped:
            _State.wrapped.add(id(value))
            for attr, member in list(vars(value).items()):
                if not attr.startswith("_") and inspect.isfunction(member):
                    setattr(value, attr, _wrap(member, f"{name}.{attr}"))
        elif inspect.isfunction(value):
            setattr(module, name, _wrap(value, f"{module.__name__.rsplit('.', 1)[-1]}.{name}"))


def install(lab) -> None:
    """Watch the solvers, ``lab.items()`` and the lab module of ``lab`` in this IPython kernel (once)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    import importlib

    for name in SOLVER_MODULES:
        try:
            _watch_module(importlib.import_module(name))
        except Exception:  # noqa: BLE001 - a solver that does not import here is not watched
            continue
    if getattr(lab, "spec", None) is not None and id(lab.spec) not in _State.wrapped:
        _State.wrapped.add(id(lab.spec))
        _watch_module(lab.spec)
    from .lab import Lab

    if not getattr(Lab.items, "__mlsyslab_watched__", False):
        Lab.items = _wrap(Lab.items, "lab.items()")
    if id(shell) not in _State.shells:
        _State.shells.add(id(shell))
        shell.events.register("pre_run_cell", _pre_run_cell)
        shell.events.register("post_run_cell", _post_run_cell)
        _pre_run_cell(None)  # the cell running open_lab: from here on


def _namespace():
    from IPython import get_ipython

    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def _pre_run_cell(info=None) -> None:
    _State.used = []
    _State.snapshot = {k: id(v) for k, v in _namespace().items() if not k.startswith("_")}


def _post_run_cell(result=None) -> None:
    used = tuple(dict.fromkeys(_State.used))
    for name, value in _namespace().items():
        if not name.startswith("_") and _State.snapshot.get(name) != id(value):
            if used:
                _State.taint[name] = used
            else:
                _State.taint.pop(name, None)


def tainted(name: str) -> tuple:
    """The oracle calls of the cell that last set ``name`` (empty: none seen)."""
    return _State.taint.get(name, ())


@contextlib.contextmanager
def suspended():
    """Oracle calls in this block are ``lab.check``'s own, not the student's."""
    _State.suspended += 1
    try:
        yield
    finally:
        _State.suspended -= 1


@contextlib.contextmanager
def calls():
    """Collect the oracle calls made in this block (a graded function called by ``lab.check``)."""
    saved, _State.used = _State.used, []
    found: list = []
    outer, _State.suspended = _State.suspended, 0
    try:
        yield found
    finally:
        found.extend(dict.fromkeys(_State.used))
        _State.used, _State.suspended = saved, outer


def message(calls_seen) -> str:
    """The one line ``lab.check`` shows for an answer that calls the solver."""
    return (f"the cell that sets it calls the solver ({', '.join(calls_seen[:2])}); the grader re-runs your "
            "code without the solver, so an answer computed with it scores 0: compute it with your own code.")
