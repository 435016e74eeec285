"""Name look-up for zoo entries: attribute access, ``get`` by fuzzy name, iteration.

Names are matched case- and punctuation-insensitively: ``"llama-3-8b"``, ``"Llama3_8B"``
and ``"LLAMA 3 8B"`` all normalise to ``"llama38b"``. A miss raises
:class:`~mlsyslab.errors.UnknownNameError` with "did you mean" suggestions.
"""

from __future__ import annotations

import re

from ..errors import UnknownAttributeError, UnknownNameError
from ..inputs import did_you_mean


def normalize_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


class Registry:
    """An ordered, read-only collection of specs addressable by key, name or alias."""

    def __init__(self, kind: str, entries):
        self._kind = kind
        self._entries = {}
        self._index = {}
        for e in entries:
            self._add(e)

    def _add(self, entry):
        if entry.key in self._entries:
            raise ValueError(f"duplicate {self._kind} key {entry.key!r}")
        self._entries[entry.key] = entry
        for n in (entry.key, entry.name, *getattr(entry, "aliases", ())):
            self._index.setdefault(normalize_name(n), entry)

    def get(self, name, field: str | None = None):
        """Return the entry called ``name`` (a spec passes through unchanged)."""
        if not isinstance(name, str):
            if hasattr(name, "key") and name.key in self._entries:
                return name
            field = field or self._kind.lower()
            raise UnknownNameError(
                f"{field}={name!r} is not a {self._kind} name or spec; "
                f"use a name such as {next(iter(self._entries))!r}.", field=field, value=name)
        hit = self._index.get(normalize_name(name))
        if hit is None:
            field = field or self._kind.lower()
            keys = list(self._entries)
            hint = did_you_mean(name, list(dict.fromkeys(keys + [e.name for e in self._entries.values()])))
            if not hint:
                norm = {normalize_name(k): k for k in keys}
                close = did_you_mean(normalize_name(name), list(norm))
                hint = close and " Did you mean " + " or ".join(
                    repr(norm[c.strip("'")]) for c in re.findall(r"'[^']+'", close)) + "?"
            raise UnknownNameError(
                f"{field}={name!r} is not a known {self._kind}.{hint} "
                f"See mlsyslab.{self._kind}.names() for all {len(keys)}.",
                field=field, value=name, allowed=", ".join(keys))
        return hit

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._entries[key]
        except KeyError:
            raise UnknownAttributeError(
                f"{self._kind} has no entry {key!r}.{did_you_mean(key, list(self._entries))}",
                field=self._kind, value=key, allowed=", ".join(self._entries)) from None

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name) -> bool:
        return normalize_name(name) in self._index if isinstance(name, str) else name in self._entries.values()

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def all(self) -> list:
        return list(self._entries.values())

    def filter(self, **criteria) -> list:
        """Entries whose attributes equal every ``criteria`` value (e.g. ``family="decoder"``)."""
        return [e for e in self if all(getattr(e, k) == v for k, v in criteria.items())]

    def __dir__(self):
        return list(self._entries) + ["get", "names", "all", "filter"]

    def __repr__(self) -> str:
        return f"<{self._kind}: {len(self)} entries: {', '.join(self._entries)}>"


class TieredRegistry(Registry):
    """A registry whose entries are also grouped into tiers: ``Hardware.Cloud.H100``."""

    def __init__(self, kind: str, entries, tier_attr: str = "tier"):
        super().__init__(kind, entries)
        self._tiers = {}
        for e in self:
            t = getattr(e, tier_attr)
            if t not in self._tiers:
                self._tiers[t] = Registry(f"{kind}.{t}", [])
            self._tiers[t]._add(e)

    @property
    def tiers(self) -> list[str]:
        return list(self._tiers)

    def tier(self, name: str) -> Registry:
        for t, reg in self._tiers.items():
            if normalize_name(t) == normalize_name(name):
                return reg
        raise UnknownNameError(f"tier={name!r} is not a {self._kind} tier; tiers are "
                               f"{', '.join(self._tiers)}.{did_you_mean(name, list(self._tiers))}",
                               field="tier", value=name, allowed=", ".join(self._tiers))

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        if key in self._tiers:
            return self._tiers[key]
        return super().__getattr__(key)

    def __dir__(self):
        return super().__dir__() + list(self._tiers) + ["tiers", "tier"]
