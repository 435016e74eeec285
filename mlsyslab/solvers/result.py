"""A small base for solver results: floats inside, quantities outside.

Subclasses keep their numbers in ``self.raw`` (a dict of floats or arrays in the units
named) and declare ``_QUANTITIES = {public_name: (raw_key, unit[, scale])}``: the quantity is
``raw[raw_key] * scale`` in ``unit`` (raw values stay in base units: bytes, seconds). Each public name is
then available as an attribute and as an item (``result["ttft"]``), built as a Pint
quantity only when read. ``to_dict()`` gives plain numbers for JSON and tables.
"""

from __future__ import annotations

from ..errors import UnknownAttributeError, UnknownNameError
from ..inputs import did_you_mean
from ..units import quantity


class Result:
    _QUANTITIES: dict = {}
    _PLAIN: tuple = ()

    def __init__(self, raw, **plain):
        """``raw``: the numbers behind ``_QUANTITIES``; ``plain``: the ``_PLAIN`` fields as attributes."""
        self.raw = raw
        for k, v in plain.items():
            setattr(self, k, v)

    def __getattr__(self, name):
        spec = type(self)._QUANTITIES.get(name)
        if spec is None:
            if name.startswith("_"):  # copy/pickle/IPython probes: stay cheap
                raise AttributeError(name)
            raise UnknownAttributeError(self._unknown(name), field="field", value=name, allowed=", ".join(self.keys()))
        raw, unit, *scale = spec
        value = self.__dict__["raw"][raw]
        return quantity(value * scale[0] if scale else value, unit)

    def __getitem__(self, key):
        if key in type(self)._QUANTITIES or key in self._PLAIN:
            return getattr(self, key)
        raise UnknownNameError(self._unknown(key), field="field", value=key, allowed=", ".join(self.keys()))

    def _unknown(self, name) -> str:
        return (f"{name!r} is not a field of {type(self).__name__}.{did_you_mean(str(name), self.keys())} "
                f"Fields: {', '.join(self.keys())}.")

    def __contains__(self, key) -> bool:
        return key in type(self)._QUANTITIES or key in self._PLAIN

    def keys(self) -> list[str]:
        return list(self._PLAIN) + list(type(self)._QUANTITIES)

    def to_dict(self) -> dict:
        """Plain-number view: ``{name: value}`` with units in the key (``ttft_ms``...)."""
        out = {}
        for k in self._PLAIN:
            v = getattr(self, k)
            if hasattr(v, "key") and not isinstance(v, (str, dict)):
                v = v.key  # a zoo spec: its name, so the dict stays JSON-serialisable
            out[k] = v.item() if hasattr(v, "item") else v
        for k, (raw, unit, *scale) in type(self)._QUANTITIES.items():
            v = self.raw[raw] * (scale[0] if scale else 1)
            out[f"{k} [{unit}]"] = v.item() if hasattr(v, "item") else v
        return out
