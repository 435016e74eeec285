"""Pickers: choose a model, a device (by tier) or a precision. Each has a ``value`` trait.

Link a picker to any component input::

    picker = HardwarePicker(value="H100")
    traitlets.link((picker, "value"), (explorer, "hardware"))
"""

from __future__ import annotations

import ipywidgets as w
import traitlets

from ..precision import PRECISIONS
from ..zoo import Hardware, Models
from .component import HardwareName, InputError, ModelName, PrecisionName, bind, check_kwargs

_DESC = {"description_width": "initial"}


class _Picker(traitlets.HasTraits):
    def _repr_mimebundle_(self, **kwargs):
        return self.view._repr_mimebundle_(**kwargs)


class ModelPicker(_Picker):
    """Dropdown of zoo models (decoder LLMs only unless ``llm_only=False``); ``value`` is the key."""

    value = ModelName("Llama3_8B", llm_only=False)

    def __init__(self, value="Llama3_8B", llm_only=True, description="Model", **kwargs):
        self.llm_only = llm_only
        check_kwargs(type(self), kwargs)
        super().__init__(value=value, **kwargs)
        if llm_only and not Models.get(self.value).is_llm:
            raise InputError(f"value={self.value!r} is not a decoder LLM; pass llm_only=False to pick it.",
                             field="value", value=value, allowed="a decoder LLM")
        options = [(f"{m.key} ({m.n_parameters / 1e9:.3g} B params)", m.key)
                   for m in Models if m.is_llm or not llm_only]
        self.dropdown = w.Dropdown(options=options, description=description, style=_DESC)
        bind(self, "value", self.dropdown)
        self.view = self.dropdown


class HardwarePicker(_Picker):
    """Tier buttons (Cloud, Workstation, Edge, Mobile, Tiny) and a device dropdown.

    ``value`` is the device key; ``tier`` follows the device (setting ``value`` to a device of
    another tier switches the tier).
    """

    value = HardwareName("H100")
    tier = traitlets.Unicode("Cloud")
    _syncing = False

    def __init__(self, value="H100", tiers=None, description="Device", **kwargs):
        check_kwargs(type(self), kwargs)
        super().__init__(value=value, **kwargs)
        self.tiers = list(tiers or Hardware.tiers)
        for t in self.tiers:
            Hardware.tier(t)  # unknown tier -> UnknownNameError with suggestions
        self.tier = Hardware.get(self.value).tier
        if self.tier not in self.tiers:
            self.tiers.append(self.tier)
        tooltips = [f"{t}: {len(list(Hardware.tier(t)))} devices" for t in self.tiers]
        self.tier_buttons = w.ToggleButtons(options=self.tiers, value=self.tier, tooltips=tooltips,
                                            style={"button_width": "auto"})  # each button names its tier
        self.dropdown = w.Dropdown(options=self._devices(self.tier), value=self.value, description=description,
                                   style=_DESC)
        self.tier_buttons.observe(self._on_tier_button, names="value")
        self.dropdown.observe(self._on_device, names="value")
        self.observe(self._on_value, names="value")
        self.view = w.VBox([self.tier_buttons, self.dropdown])

    @staticmethod
    def _devices(tier):
        return [(f"{h.key}: {h.name}", h.key) for h in Hardware.tier(tier)]

    def _on_tier_button(self, change):
        if Hardware.get(self.value).tier != change["new"]:
            first = next(iter(Hardware.tier(change["new"])))
            self.value = first.key
        self.tier = change["new"]

    def _on_device(self, change):
        if change["new"] is not None and not self._syncing:
            self.value = change["new"]

    def _on_value(self, change):
        tier = Hardware.get(change["new"]).tier
        self.tier = tier
        self._syncing = True
        try:
            self._show(tier, change["new"])
        finally:
            self._syncing = False

    def _show(self, tier, key):
        with self.dropdown.hold_sync():
            if self.tier_buttons.value != tier:
                if tier not in self.tier_buttons.options:
                    self.tier_buttons.options = [*self.tier_buttons.options, tier]
                self.tier_buttons.value = tier
            keys = [k for _, k in self.dropdown.options]
            if key not in keys:
                self.dropdown.options = self._devices(tier)
            self.dropdown.value = key


class PrecisionPicker(_Picker):
    """Dropdown of precisions (fp32 ... int4); ``value`` is the canonical name."""

    value = PrecisionName("fp16")

    def __init__(self, value="fp16", options=PRECISIONS, description="Precision", **kwargs):
        check_kwargs(type(self), kwargs)
        super().__init__(value=value, **kwargs)
        self.dropdown = w.Dropdown(options=list(options), description=description, style=_DESC)
        bind(self, "value", self.dropdown)
        self.view = self.dropdown
