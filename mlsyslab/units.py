"""The one Pint registry of mlsyslab, created lazily from a definitions file shipped in the package.

Creating a ``UnitRegistry`` costs ~0.2-0.5 s, so ``import mlsyslab`` does not do it: the registry
is built on first use of :data:`ureg` (or :func:`Q_`), once per process, under a lock (threads
share it). Physics code never touches Pint; it works on plain floats in SI base units (bytes,
seconds, FLOP, W) and converts at the boundary with :func:`quantity` (float -> Quantity) and
:func:`magnitude` (number or Quantity -> float).

Deterministic by construction: the registry is parsed from ``units_data/mlsyslab_en.txt`` alone
(Pint's default definitions with our changes written into the file), with Pint's disk cache
**off**. An earlier version let Pint cache its defaults under ``~/.cache/pint`` and then called
``define()`` on top; a cold cache then gave ``byte`` dimensionless while ``gigabyte`` was
``[information]``, and only a warm cache hid it. Nothing here reads or writes any cache, so a cold
Binder launch, a new hub user, an unwritable home and a warm laptop build the same registry.

Units that differ from Pint's defaults (see the file's header and its last section):

* ``bit = [information]`` (Pint ships it dimensionless), so bytes never silently convert to or
  from plain numbers or frequencies; ``byte = 8 bit``; ``GB`` = 1e9 B, ``GiB`` = 2**30 B.
* ``param`` (dimension ``[parameter]``): ``Gparam`` = 1e9 parameters.
* ``token`` (dimension ``[token]``).
* ``flop`` (dimension ``[computation]``), aliases ``FLOP``, ``FLOPs``: so
  ``peak.to("TFLOPs/s")`` works.
* ``op`` (integer operations), defined equal to ``flop`` so that INT8 "TOPS" and FP
  "TFLOPS" compare on one roofline.
* ``MAC`` (multiply-accumulate) = 2 ``flop``: ``GMAC`` converts to ``GFLOP`` by doubling.
* ``sample``, ``dollar`` (``USD``), ``gCO2e`` / ``kgCO2e`` / ``tCO2e``.
"""

from __future__ import annotations

import math
import pathlib
import threading

#: The single definitions file every registry of this package is built from.
DEFINITIONS_FILE = pathlib.Path(__file__).resolve().parent / "units_data" / "mlsyslab_en.txt"

_lock = threading.Lock()
_registry = None


def _build_registry():
    import pint

    # cache_folder=None: no disk cache, so the definitions cannot depend on a previous process.
    reg = pint.UnitRegistry(str(DEFINITIONS_FILE), cache_folder=None, on_redefinition="raise")
    reg.formatter.default_format = "~P"  # "16.06 GB", not "16.06 gigabyte"
    pint.set_application_registry(reg)
    return reg


def get_registry():
    """Return the package's single ``UnitRegistry`` (built on first call)."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = _build_registry()
    return _registry


def Q_(value, unit=None):
    """Shorthand for ``ureg.Quantity(value, unit)``."""
    return get_registry().Quantity(value, unit)


def quantity(value, unit: str):
    """Wrap a plain float/array (already in ``unit``) as a Quantity."""
    return get_registry().Quantity(value, unit)


def is_quantity(value) -> bool:
    """True for a Pint Quantity, without importing Pint when none was ever created."""
    return _registry is not None and hasattr(value, "magnitude") and hasattr(value, "units")


def magnitude(value, unit: str, *, field: str = "value"):
    """Return ``value`` as a plain number in ``unit``.

    Plain numbers are taken to be in ``unit`` already. A Quantity is converted; a
    Quantity of the wrong dimension raises :class:`~mlsyslab.errors.ValidationError`
    naming ``field``, the value and the expected dimension.
    """
    if is_quantity(value):
        import pint

        try:
            return value.to(unit).magnitude
        except pint.DimensionalityError:
            from .errors import ValidationError

            target = get_registry().Unit(unit)
            raise ValidationError(
                f"{field}={value!r} has dimension {value.dimensionality}; "
                f"expected a quantity convertible to {target:~} ({target.dimensionality}) or a plain number",
                field=field, value=value, allowed=f"number or quantity in {unit}",
            ) from None
    return value


def __getattr__(name):  # module-level lazy attribute: ``from mlsyslab.units import ureg``
    if name == "ureg":
        return get_registry()
    raise AttributeError(f"module 'mlsyslab.units' has no attribute {name!r}")


def format_bytes(n: float, binary: bool = False) -> str:
    """Human-readable byte count: decimal (GB) by default, binary (GiB) when asked."""
    base, units = (1024.0, ("B", "KiB", "MiB", "GiB", "TiB", "PiB")) if binary else (
        1000.0, ("B", "kB", "MB", "GB", "TB", "PB"))
    if n == 0 or not math.isfinite(n):
        return f"{n} B"
    i = min(int(math.log(abs(n), base)), len(units) - 1) if abs(n) >= 1 else 0
    return f"{n / base ** i:.3g} {units[i]}"
