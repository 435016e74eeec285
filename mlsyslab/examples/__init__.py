"""The example simulation configs that ship with the package (no checkout needed).

::

    import mlsyslab as ml
    from mlsyslab import examples
    cards = ml.SimulationConfig.from_file(examples.path("serving_sla.yaml")).run()

On the command line: ``mlsyslab run --example serving_sla``. ``broken.yaml`` is wrong on purpose:
loading it shows every config error reported at once.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_SUFFIXES = (".yaml", ".yml", ".json")


def names() -> list[str]:
    """File names of the packaged example configs, e.g. ``['broken.yaml', 'serving_sla.yaml', ...]``."""
    return sorted(p.name for p in _HERE.iterdir() if p.suffix in _SUFFIXES)


def path(name: str) -> Path:
    """Path of the packaged example config ``name`` (with or without its suffix: ``"serving_sla"``)."""
    from ..errors import ValidationError
    from ..inputs import did_you_mean

    known = names()
    if isinstance(name, str):
        for candidate in (name, *(name + s for s in _SUFFIXES)):
            if candidate in known:
                return _HERE / candidate
    stems = [Path(n).stem for n in known]
    hint = did_you_mean(str(name), known + stems) if isinstance(name, str) else ""
    raise ValidationError(f"example={name!r} is not a packaged example config.{hint} "
                          f"Examples: {', '.join(known)}.", field="example", value=name, allowed=", ".join(known))


__all__ = ["names", "path"]
