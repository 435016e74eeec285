"""The base of every widget component: a traits model, a view, and typed input traits.

A component is a :class:`traitlets.HasTraits` *model* (inputs such as ``model``, ``hardware``,
``seq_len``; outputs such as ``result``) plus a *view* (``component.view``: ipywidgets controls
and bqplot figures). One observer re-solves when an input changes and assigns the marks' data
(plain floats / numpy arrays). Displaying a component in a notebook displays its view, and two
components agree through :func:`traitlets.link`, e.g.::

    a, b = ServingExplorer(hardware="H100"), ServingExplorer(hardware="MI300X")
    traitlets.link((a, "batch_size"), (b, "batch_size"))
"""

from __future__ import annotations

import contextlib
import html

import traitlets
from traitlets import HasTraits, TraitError, TraitType

from .. import inputs
from ..errors import MLSysError, ValidationError
from ..precision import PRECISIONS, normalize
from ..solvers.serving import MAX_BATCH, MAX_SEQ_LEN, ServingSolver
from ..units import get_registry
from ..zoo import Hardware, Models


class InputError(ValidationError, TraitError):
    """A widget input was rejected: a :class:`~mlsyslab.errors.ValidationError` that traitlets
    also recognises as a :class:`traitlets.TraitError` (so ``link`` and ``hold_trait_notifications``
    roll back cleanly).

    In IPython / Jupyter the error shows as its one-line message, not as a traceback through
    traitlets' internals (``_render_traceback_``); ``%tb`` still prints the full traceback.
    """

    def _render_traceback_(self):
        red, reset = "\x1b[0;31m", "\x1b[0m"
        return [f"{red}{type(self).__name__}{reset}: {self}",
                "(a widget input was rejected; %tb shows the full traceback)"]


class NameList(traitlets.List):
    """A list of checked names: an element's :class:`InputError` keeps its own message (a plain
    ``List`` rewrites it into "The 'hardware' trait ... contains ... which expected <List object>")."""

    def class_init(self, cls, name):
        super().class_init(cls, name)
        if self._trait is not None:  # the element's messages name the list: precisions='fp17', not None='fp17'
            self._trait.name = name

    def error(self, obj, value, error=None, info=None):
        if isinstance(error, InputError):
            raise error
        super().error(obj, value, error, info)


def check_kwargs(cls, kwargs, extra=()):
    """Reject keyword arguments that are not traits of ``cls`` (traitlets would only warn)."""
    traits = cls.class_traits()
    known = set(traits) | set(extra)
    for key in kwargs:
        if key in traits and traits[key].read_only and not key.startswith("_"):
            raise InputError(f"{key} is an output of {cls.__name__} (read-only); it cannot be passed in.",
                             field=key, value=kwargs[key], allowed="an input, not an output")
        if key not in known or key.startswith("_"):
            public = sorted(k for k in known if not k.startswith("_") and not (k in traits and traits[k].read_only))
            raise InputError(f"{cls.__name__} has no input {key!r}.{inputs.did_you_mean(key, public)} "
                             f"Inputs: {', '.join(public)}.", field=key, value=kwargs[key], allowed=", ".join(public))


def _checked(fn, *args, **kwargs):
    """Run a core input check, re-raising its ValidationError as an :class:`InputError`."""
    try:
        return fn(*args, **kwargs)
    except InputError:
        raise
    except ValidationError as exc:
        raise InputError(str(exc), field=exc.field, value=exc.value, allowed=exc.allowed) from None


# --------------------------------------------------------------------------- input traits
class ModelName(TraitType):
    """A zoo model, stored as its registry key (``"llama-3-8b"`` -> ``"Llama3_8B"``)."""

    default_value = "Llama3_8B"
    info_text = "a model name from mlsyslab.Models"

    def __init__(self, default_value="Llama3_8B", llm_only=True, **kwargs):
        self.llm_only = llm_only
        super().__init__(default_value=default_value, **kwargs)

    def validate(self, obj, value):
        spec = _checked(Models.get, value, field=self.name)
        if self.llm_only and not spec.is_llm:
            llms = ", ".join(m.key for m in Models if m.is_llm)
            raise InputError(f"{self.name}={spec.key!r} is a {spec.family} model; this widget needs a decoder "
                             f"LLM: one of {llms}.", field=self.name, value=value, allowed=llms)
        return spec.key


class HardwareName(TraitType):
    """A zoo device, stored as its registry key (``"h100"`` -> ``"H100"``)."""

    default_value = "H100"
    info_text = "a device name from mlsyslab.Hardware"

    def validate(self, obj, value):
        return _checked(Hardware.get, value, field=self.name).key


class PrecisionName(TraitType):
    """A numeric precision: fp32, tf32, bf16, fp16, fp8, int8, fp4, int4 (aliases accepted)."""

    default_value = "fp16"
    info_text = "one of " + ", ".join(PRECISIONS)

    def validate(self, obj, value):
        return _checked(normalize, value, self.name)


class PositiveInt(TraitType):
    """A positive integer; a Pint quantity in ``unit`` (e.g. ``4096 * ureg.token``) is accepted."""

    default_value = 1
    info_text = "a positive integer"

    def __init__(self, default_value=1, unit=None, maximum=None, **kwargs):
        self.unit, self.maximum = unit, maximum
        super().__init__(default_value=default_value, **kwargs)

    def validate(self, obj, value):
        return _checked(inputs.positive_int, value, self.name, self.unit, maximum=self.maximum)


class Choice(TraitType):
    """One of a few strings (``efficiency``: ``"calibrated"`` or ``"ideal"``)."""

    info_text = "one of a few names"

    def __init__(self, options, default_value, **kwargs):
        self.options = tuple(options)
        super().__init__(default_value=default_value, **kwargs)

    def validate(self, obj, value):
        return _checked(inputs.choice, value, self.name, self.options)


def seq_len_trait(default=4096):
    return PositiveInt(default, unit="token", maximum=MAX_SEQ_LEN, help="context length S (tokens)")


def batch_trait(default=1):
    return PositiveInt(default, maximum=MAX_BATCH, help="requests served together B")


def tp_trait(default=1):
    return PositiveInt(default, maximum=1024, help="tensor-parallel degree t")


# --------------------------------------------------------------------------- units for labels
def unit_label(name: str, unit: str) -> str:
    """Axis label with a unit written by Pint: ``unit_label("Memory", "GB")`` -> ``"Memory (GB)"``."""
    return f"{name} ({get_registry().Unit(unit):~P})"


def fmt(q, unit, spec: str = ".3g") -> str:
    """A quantity converted to ``unit`` and written with its unit symbol (``"12.3 ms"``).

    ``unit`` may be a list, smallest first (``["us", "ms", "s"]``): the largest unit in which
    the value is still >= 1 is used, so a readout never shows ``2.18x10^4 ms``.
    """
    if not isinstance(unit, str):
        choice = unit[0]
        for u in unit:
            if abs(q.to(u).magnitude) >= 1:
                choice = u
        unit = choice
    value = q.to(unit)
    if abs(value.magnitude) >= 1000:
        return f"{value.magnitude:,.0f} {value.units:~P}"
    return format(value, spec + "~P")


TIME_UNITS = ("us", "ms", "s")


@contextlib.contextmanager
def hold_sync(*widgets):
    """Send the changes of several widgets (marks, scales) as one message each, at the end."""
    with contextlib.ExitStack() as stack:
        for w in widgets:
            stack.enter_context(w.hold_sync())
        yield


# --------------------------------------------------------------------------- controls
def w_html(value=""):
    import ipywidgets

    return ipywidgets.HTML(value)


def bind(model: HasTraits, name: str, control, *, to_control=None, from_control=None, widen=True):
    """Two-way link ``model.name`` <-> ``control.value``, widening a bounded control's range when
    the model is set (from code) beyond it, so the control never clamps the model's value."""
    to_c = to_control or (lambda v: v)
    from_c = from_control or (lambda v: v)
    busy = []

    def push(change=None):
        if busy:
            return
        busy.append(1)
        try:
            v = to_c(getattr(model, name))
            with (control.hold_sync() if hasattr(control, "hold_sync") else contextlib.nullcontext()):
                if widen and hasattr(control, "max"):
                    if v > control.max:
                        control.max = v
                    if v < control.min:
                        control.min = v
                control.value = v
        finally:
            busy.clear()

    def pull(change):
        if busy:
            return
        busy.append(1)
        try:
            setattr(model, name, from_c(change["new"]))
        except TraitError:  # rejected: show the model's value again
            busy.clear()
            push()
        finally:
            busy.clear()

    push()
    model.observe(push, names=name)
    control.observe(pull, names="value")
    return control


#: The context lengths offered by the seq_len control (powers of two, 128 ... 128k); a value set
#: from code that is not among them is added to the list.
SEQ_LEN_CHOICES = tuple(2 ** k for k in range(7, 18))


def _option_adder(dropdown):
    """``to_control`` for :func:`bind` with a dropdown of (label, int) options: a value that is
    not offered yet is added, in order, before it is selected."""
    def to_control(v):
        values = [o[1] for o in dropdown.options]
        if v not in values:
            dropdown.options = [(f"{s:,}", s) for s in sorted({*values, v})]
        return v
    return to_control


# --------------------------------------------------------------------------- base class
class Component(HasTraits):
    """A traits model with a view. Subclasses define input traits, ``_build_view`` and ``_refresh``.

    ``_inputs`` names the traits whose change triggers ``_refresh`` (the one observer).
    """

    _inputs: tuple = ()
    efficiency = Choice(("calibrated", "ideal"), "calibrated",
                        help="'calibrated' (fitted to measurements) or 'ideal' (datasheet roofline)")

    def __init__(self, controls=None, **kwargs):
        """``controls``: names of the input controls to show (default: all the component has),
        e.g. ``ServingExplorer(controls=("seq_len", "batch_size"))`` for a focused exercise."""
        self._ready = False
        self._shown = None if controls is None else tuple(controls)
        check_kwargs(type(self), kwargs)
        try:
            super().__init__(**kwargs)
        except InputError:
            raise
        except TraitError as exc:  # a wrong type caught by traitlets itself (efficiency=True, hardware=5)
            name = next((k for k in kwargs if f"'{k}' trait" in str(exc)), None)
            raise InputError(str(exc), field=name, value=kwargs.get(name)) from None
        self.view = self._build_view()
        self.message = w_html().add_class("mlsyslab-message")
        self.view.children = (*self.view.children, self.message)
        self._ready = True
        self.observe(self._on_input, names=list(self._inputs) + ["efficiency"])
        self._refresh()

    def _on_input(self, change):
        """The one observer: re-solve and redraw. If the solver rejects the new combination of
        inputs (e.g. ``tensor_parallel`` not dividing the model's heads), the input goes back to
        its old value, the view says why, and the setter raises :class:`InputError`."""
        if not self._ready:
            return
        try:
            self._refresh()
        except MLSysError as exc:
            self._ready = False
            try:
                self.set_trait(change["name"], change["old"])
            finally:
                self._ready = True
            self._refresh()
            self.message.value = f"<span style='color:#d62728'>{html.escape(str(exc))}</span>"
            raise InputError(str(exc), field=change["name"], value=change["new"],
                             allowed=getattr(exc, "allowed", None)) from None
        if self.message.value:
            self.message.value = ""

    @property
    def solver(self) -> ServingSolver:
        cache = self.__dict__.setdefault("_solvers", {})
        if self.efficiency not in cache:
            cache[self.efficiency] = ServingSolver(self.efficiency)
        return cache[self.efficiency]

    def _controls(self, *names):
        """Standard controls bound to the named input traits, in order: ``model`` (ModelPicker),
        ``hardware`` (HardwarePicker by tier), ``precision``, ``seq_len`` (dropdown of powers of two),
        ``batch_size`` (number box, ``continuous_update=False``: it applies on Enter or leaving the box),
        ``tensor_parallel`` (dropdown). Every control is a labelled form element (WCAG 2.1 AA: a
        name for screen readers, operable from the keyboard); noUiSlider handles have no name."""
        import ipywidgets as w

        from .pickers import HardwarePicker, ModelPicker, PrecisionPicker

        style = {"description_width": "initial"}
        out = []
        if self._shown is not None:
            unknown = sorted(set(self._shown) - set(names))
            if unknown:
                raise InputError(f"controls={list(self._shown)!r}: {', '.join(unknown)} not among this component's "
                                 f"controls ({', '.join(names)}).", field="controls", value=self._shown,
                                 allowed=", ".join(names))
            names = [n for n in names if n in self._shown]
        for name in names:
            if name == "model":
                self.model_picker = ModelPicker(self.model)
                bind(self, "model", self.model_picker, widen=False)
                out.append(self.model_picker.view)
            elif name == "hardware":
                self.hardware_picker = HardwarePicker(self.hardware)
                bind(self, "hardware", self.hardware_picker, widen=False)
                out.append(self.hardware_picker.view)
            elif name == "precision":
                self.precision_picker = PrecisionPicker(self.precision)
                bind(self, "precision", self.precision_picker, widen=False)
                out.append(self.precision_picker.view)
            elif name == "seq_len":  # a labelled <select>: keyboard-operable, named for screen readers
                self.seq_len_control = w.Dropdown(options=[(f"{s:,}", s) for s in SEQ_LEN_CHOICES],
                                                  description="seq_len (tokens)", style=style,
                                                  layout=w.Layout(width="260px"))
                bind(self, "seq_len", self.seq_len_control, to_control=_option_adder(self.seq_len_control),
                     widen=False)
                out.append(self.seq_len_control)
            elif name == "batch_size":  # a labelled number box: type a value, or step it with the arrow keys
                self.batch_control = w.BoundedIntText(min=1, max=MAX_BATCH, step=1, description="batch_size",
                                                      continuous_update=False, style=style,
                                                      layout=w.Layout(width="260px"))
                bind(self, "batch_size", self.batch_control, widen=False)
                out.append(self.batch_control)
            elif name == "tensor_parallel":
                self.tp_dropdown = w.Dropdown(options=[1, 2, 4, 8, 16], description="tensor_parallel", style=style,
                                              layout=w.Layout(width="260px"))

                def tp_option(v, dd=self.tp_dropdown):
                    if v not in dd.options:
                        dd.options = sorted({*dd.options, v})
                    return v

                bind(self, "tensor_parallel", self.tp_dropdown, to_control=tp_option, widen=False)
                out.append(self.tp_dropdown)
            else:  # pragma: no cover - programming error
                raise ValueError(f"no standard control for {name!r}")
        return w.VBox(out)

    @property
    def seq_len_slider(self):
        """Old name of :attr:`seq_len_control` (a labelled dropdown since the controls were made accessible)."""
        return self.seq_len_control

    @property
    def batch_slider(self):
        """Old name of :attr:`batch_control` (a labelled number box)."""
        return self.batch_control

    def _build_view(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _refresh(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _summary(self) -> str:
        """One line of outputs for the text fallback (subclasses say more)."""
        return ""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._inputs)
        summary = self._summary() if getattr(self, "_ready", False) else ""
        return f"{type(self).__name__}({args})" + (f": {summary}" if summary else "")

    def _repr_mimebundle_(self, **kwargs):
        """Displaying the component displays its view (JupyterLab, Notebook 7, Voila); where
        widgets cannot be drawn (an HTML export, a terminal) the text says what it shows."""
        bundle = self.view._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict) and "text/plain" in bundle:
            bundle["text/plain"] = repr(self)
        return bundle
