"""The oracle-free copy of the installed ``mlsyslab`` that the graded kernel sees (docs/instructors.md).

The sandbox binds this folder read-only over the package's real location, wherever it is installed
(an editable checkout included), so the student's graded code imports it instead of the real one.
In it every module that computes an expected value - the solvers, the calibration, the lab modules,
the lab helpers and the answer keys - is a **stub** generated from the real module's public names:

* a class constructs (``ml.ServingSolver(efficiency="ideal")`` succeeds), but any public attribute or
  method of it raises :class:`mlsyslab.errors.OracleDisabled` (one line);
* a function raises the same when called; small literal constants (``MAX_SEQ_LEN``) are kept;
* names the stub does not know raise it too, from the module's ``__getattr__``.

Everything else (units, zoo, specs, widgets, ``record``/``record_call``) is the real code, and
:mod:`mlsyslab.labs.grading_mode` is hard-wired to ``ACTIVE = True``. With ``solver=True`` (an
instructor allowed the solver for an item: ``Item(..., solver_allowed=True)``) the solvers and the
calibration stay real and only the lab modules, their helpers and the keys are stubs.
"""

from __future__ import annotations

import atexit
import importlib
import inspect
import os
import pathlib
import re
import shutil
import tempfile
from functools import lru_cache

#: modules (and the packages below them) that compute expected values: stubs in every overlay
ALWAYS = ("mlsyslab.labs.builtin", "mlsyslab.labs.ideal", "mlsyslab.grading.keys", "mlsyslab.grading.course",
          "mlsyslab.grading.preprocessors", "mlsyslab.cli")
LAB_MODULE = re.compile(r"^mlsyslab\.labs\.lab\d+_\w+$")
#: stubs too unless the solver is allowed
SOLVERS = ("mlsyslab.solvers", "mlsyslab.calibration")
#: real even so: a result container, and prices per GPU-hour (data; its serving_cost needs the solver)
KEEP = ("mlsyslab.solvers.result", "mlsyslab.solvers.cost")
#: the placeholder file the sandbox binds each notebook's public view of its lab onto
PUBLIC_VIEW = "_grading_public.json"
LITERAL_MAX = 2000

STUB_HEADER = '''"""Not available while grading: a stub of {module} (mlsyslab.grading.overlay)."""
from mlsyslab.errors import OracleDisabled as _OracleDisabled

_WHERE = {module!r}


def _raise(name):
    raise _OracleDisabled("the solver is not available while grading: " + name + " (your graded answers must "
                          "be computed by your own code)")


class _StubMeta(type):
    def __getattr__(cls, name):
        if name.startswith("_"):
            raise AttributeError(name)
        _raise(cls.__qualname__ + "." + name)


class _Stub(metaclass=_StubMeta):
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        _raise(type(self).__qualname__ + "." + name)

    def __call__(self, *args, **kwargs):
        _raise(type(self).__qualname__ + "()")

    def __repr__(self):
        return "<" + type(self).__qualname__ + " (not available while grading)>"


def _function(name):
    def stub(*args, **kwargs):
        _raise(name)
    stub.__name__ = stub.__qualname__ = name.rsplit(".", 1)[-1]
    return stub


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    _raise(_WHERE + "." + name)

'''


def is_stubbed(module: str, solver: bool = False) -> bool:
    """Whether ``module`` is a stub in the overlay (``solver``: the solver-allowed overlay)."""
    if module in KEEP:
        return False
    prefixes = ALWAYS + (() if solver else SOLVERS)
    return bool(LAB_MODULE.match(module)) or any(module == p or module.startswith(p + ".") for p in prefixes)


def _literal(value) -> str | None:
    """``repr(value)`` if it is a small literal made of numbers, strings, tuples, lists, sets and dicts."""
    def plain(v, depth=0):
        if depth > 4:
            return False
        if v is None or isinstance(v, (bool, int, float, str)):
            return True
        if isinstance(v, (tuple, list, frozenset, set)):
            return all(plain(x, depth + 1) for x in v)
        if isinstance(v, dict):
            return all(plain(k, depth + 1) and plain(x, depth + 1) for k, x in v.items())
        return False
    if not plain(value):
        return None
    text = repr(value)
    return text if len(text) <= LITERAL_MAX and "inf" not in text and "nan" not in text else None


def _data(value, depth: int = 0) -> str:
    """Code for a data constant of a stubbed module: a small literal as it is; a dict, list or tuple of
    other objects with the same keys / length, its objects stubs (``tuple(PROFILES)`` still works)."""
    if (text := _literal(value)) is not None:
        return text
    if depth < 3 and isinstance(value, dict) and len(value) <= 200 and all(_literal(k) for k in value):
        return "{" + ", ".join(f"{_literal(k)}: {_data(v, depth + 1)}" for k, v in value.items()) + "}"
    if depth < 3 and isinstance(value, (list, tuple)) and len(value) <= 200:
        inner = ", ".join(_data(v, depth + 1) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    return "_Stub()"


def _named_in(owner: str, value) -> bool:
    """Whether ``value`` is ``owner.<its name>`` itself (not a closure or lambda made there)."""
    name = getattr(value, "__name__", None)
    try:
        return bool(name) and name.isidentifier() and getattr(importlib.import_module(owner), name, None) is value
    except Exception:  # noqa: BLE001
        return False


def stub_source(module_name: str, solver: bool = False) -> str:
    """The source of the stub of ``module_name`` (imported here, in the trusted grader, to list its names)."""
    lines = [STUB_HEADER.format(module=module_name)]
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - a module that does not import here is all __getattr__
        return "".join(lines)
    names = dict.fromkeys(list(getattr(module, "__all__", ())) + [n for n in vars(module) if not n.startswith("_")])
    for name in names:
        value = getattr(module, name, None)
        owner = getattr(value, "__module__", None) or ""
        if inspect.ismodule(value):
            continue
        if (inspect.isclass(value) or callable(value)) and owner.startswith("mlsyslab") and \
                owner != module_name and not is_stubbed(owner, solver) and _named_in(owner, value):
            lines.append(f"from {owner} import {value.__name__} as {name}\n")  # a real, allowed name (an error, a spec)
        elif inspect.isclass(value) and issubclass(value, BaseException) and not owner.startswith("mlsyslab"):
            continue
        elif inspect.isclass(value):
            lines.append(f"{name} = _StubMeta({name!r}, (_Stub,), {{'__qualname__': {name!r}, "
                         f"'__module__': {module_name!r}}})\n")
        elif callable(value):
            lines.append(f"{name} = _function({module_name + '.' + name!r})\n")
        elif not module_name.startswith("mlsyslab.labs"):
            lines.append(f"{name} = {_data(value)}\n")
    return "".join(lines)


def _package_root() -> pathlib.Path:
    import mlsyslab

    return pathlib.Path(mlsyslab.__file__).resolve().parent


def _module_name(root: pathlib.Path, path: pathlib.Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = ("mlsyslab",) + rel.parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def build(dest: pathlib.Path, solver: bool = False) -> pathlib.Path:
    """Write the overlay of the installed package into ``dest`` (created; world-readable) and return it."""
    root = _package_root()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.is_symlink():
            continue
        target = dest / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py" and is_stubbed(_module_name(root, path), solver):
            target.write_text(stub_source(_module_name(root, path), solver), encoding="utf-8")
        elif path.suffix == ".py" or not _is_stubbed_data(root, path, solver):
            shutil.copyfile(path, target)
    mode = dest / "labs" / "grading_mode.py"
    text = mode.read_text(encoding="utf-8")
    if "\nACTIVE = False\n" not in text:
        raise RuntimeError("mlsyslab/labs/grading_mode.py has no 'ACTIVE = False' line to switch on")
    mode.write_text(text.replace("\nACTIVE = False\n", "\nACTIVE = True\n", 1)
                    .replace("\nSOLVER = False\n", f"\nSOLVER = {bool(solver)}\n", 1), encoding="utf-8")
    (dest / "labs" / PUBLIC_VIEW).write_text("{}", encoding="utf-8")  # the mount point of each notebook's view
    for folder, dirs, files in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return dest


def _is_stubbed_data(root: pathlib.Path, path: pathlib.Path, solver: bool) -> bool:
    """Data files of stubbed packages (calibration fits, lab notebooks) are left out too."""
    return is_stubbed(_module_name(root, path.parent / "__init__.py"), solver)


def _fingerprint(solver: bool) -> str:
    """sha256 of the installed package's files (and Python's version): an overlay built from them stays valid."""
    import hashlib
    import sys

    digest = hashlib.sha256(f"{sys.version}|{solver}|{STUB_HEADER}|{ALWAYS}|{SOLVERS}|{KEEP}".encode())
    root = _package_root()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.is_symlink():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def _cache_dir() -> pathlib.Path:
    """The grader's own cache (``$XDG_CACHE_HOME`` or ``~/.cache``)/mlsyslab/grading-overlay: no sandbox sees it."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "mlsyslab" / "grading-overlay"


@lru_cache(maxsize=None)
def overlay(solver: bool = False) -> str:
    """The overlay's folder: built once per version of the installed package (cached in :func:`_cache_dir`;
    where that is not writable, in a temporary folder removed at exit)."""
    try:
        cached = _cache_dir() / _fingerprint(solver)
        if (cached / "mlsyslab" / "labs" / PUBLIC_VIEW).is_file():
            return str(cached / "mlsyslab")
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=".build-", dir=cached.parent))
        build(tmp / "mlsyslab", solver)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, cached)  # atomic: another grader may have finished the same one meanwhile
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
        if (cached / "mlsyslab" / "labs" / PUBLIC_VIEW).is_file():
            return str(cached / "mlsyslab")
    except OSError:
        pass
    base = pathlib.Path(tempfile.mkdtemp(prefix="mlsyslab-overlay-"))
    atexit.register(shutil.rmtree, base, True)
    os.chmod(base, 0o755)
    return str(build(base / "mlsyslab", solver))


def binds(public_view_file: str, solver: bool = False) -> list[tuple[str, str]]:
    """(source, destination) read-only binds that put the overlay over the real package in the sandbox."""
    real = str(_package_root())
    return [(overlay(solver), real), (public_view_file, os.path.join(real, "labs", PUBLIC_VIEW))]
