"""PredictionCheckpoint: predict, lock, then reveal the solver's answer.

The student types a number with its unit (``"120 ms"``), locks it - after which it can no
longer change, neither from the text box nor from code - then reveals the answer, the signed
error ``(prediction - answer) / answer x 100 %`` and a short explanation.

The same steps work without the UI, so a notebook executed headless (nbgrader) behaves the
same::

    cp = PredictionCheckpoint("TTFT of Llama3_8B on an H100 at 4096 tokens?",
                              answer=lambda: ServingSolver().solve("Llama3_8B", "H100", 4096).ttft,
                              unit="ms", key="lab1-ttft")
    cp.predict(120, "ms"); cp.lock(); cp.reveal()
    cp.record            # a plain dict: prediction, answer, error_pct, times ...

Each lock and reveal is appended as one JSON line to ``path`` (default
``mlsyslab-predictions.jsonl`` in the working directory, i.e. next to the notebook; set the
``MLSYSLAB_PREDICTIONS`` environment variable or pass ``path=`` to change it, ``path=""``
to keep nothing on disk). :func:`predictions` reads them back.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import html
import json
import os
import pathlib
import re
import uuid

import ipywidgets as w
import traitlets

from ..errors import MLSysError, ValidationError
from ..units import get_registry, is_quantity
from .component import InputError, check_kwargs

DEFAULT_FILENAME = "mlsyslab-predictions.jsonl"


def default_path() -> str:
    """``$MLSYSLAB_PREDICTIONS`` or ``./mlsyslab-predictions.jsonl`` (absolute)."""
    return str(pathlib.Path(os.environ.get("MLSYSLAB_PREDICTIONS") or DEFAULT_FILENAME).resolve())


def _num(v: float) -> str:
    """4 significant digits without exponent for everyday magnitudes: 25,300 / 104.1 / 0.0123."""
    if v != 0 and (abs(v) >= 1e7 or abs(v) < 1e-3):
        return f"{v:.4g}"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _pct(x: float) -> str:
    """A signed error in % with one decimal, never ``-0.0 %``."""
    r = round(float(x), 1)
    return "0.0 %" if r == 0 else f"{r:+.1f} %"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class LockedPredictionError(InputError):
    """Raised when a locked prediction is changed (from the UI or by setting the trait)."""


#: how messages and the widget name the units the labs' questions use: (words, symbol shown)
UNIT_NAMES = {
    "1/s": ("requests per second (req/s)", "req/s"), "request/s": ("requests per second (req/s)", "req/s"),
    "token/s": ("tokens per second (tok/s)", "tok/s"), "tok/s": ("tokens per second (tok/s)", "tok/s"),
    "token": ("tokens", "tokens"), "ms": ("milliseconds (ms)", "ms"), "s": ("seconds (s)", "s"),
    "us": ("microseconds (µs)", "µs"), "µs": ("microseconds (µs)", "µs"), "GB": ("gigabytes (GB)", "GB"),
    "GiB": ("gibibytes (GiB)", "GiB"), "B": ("bytes (B)", "B"), "kWh": ("kilowatt-hours (kWh)", "kWh"),
    "kg": ("kilograms (kg)", "kg"), "USD": ("US dollars (USD)", "USD"), "FLOP/B": ("FLOP per byte (FLOP/B)", "FLOP/B"),
}


def unit_words(unit) -> str:
    """How a message names the unit a question is answered in: "milliseconds (ms)", "none, a plain number"."""
    if unit in (None, "", "dimensionless"):
        return "none, a plain number (a ratio may be written 2x)"
    if unit in ("percent", "%"):
        return "percent (30 % and 30 both mean 30 %)"
    if unit in UNIT_NAMES:
        return UNIT_NAMES[unit][0]
    u = get_registry().Unit(unit)
    return f"{u:~P}"


def unit_symbol(unit) -> str:
    """The unit as numbers are shown with it: ``req/s`` for ``1/s``, ``%``, nothing for a plain number."""
    if unit in (None, "", "dimensionless"):
        return ""
    if unit in ("percent", "%"):
        return "%"
    if unit in UNIT_NAMES:
        return UNIT_NAMES[unit][1]
    return f"{get_registry().Unit(unit):~P}"


#: words a student writes for what is counted (20 requests, 30 req/s, 4 images): a count, no unit
_COUNT_WORDS = re.compile(r"\b(?:requests?|reqs?|sequences?|seqs?|images?|users?)\b", re.I)


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SUFFIX = re.compile(rf"^(?P<num>{_NUMBER})(?P<suffix>[kKMGxX\u00d7])(?:\s+(?P<unit>\S.*))?$")
_GROUPED = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?=$|[^\d,])")
_SCALE = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


def _refuse(field, value, why, unit):
    expected = unit_words(unit)
    raise ValidationError(f"{field}={value!r} {why}. Unit of this question: {expected}.", field=field,
                          value=value, allowed=f"a number in {expected}") from None


def parse_quantity(value, unit=None, *, default_unit=None, field="prediction"):
    """``120``, ``(120, "ms")``, ``"120 ms"``, ``"60k"``, ``"1.5e3"``, ``"2x"``, ``"30 %"``,
    ``"1,200 tokens/s"`` or a Quantity -> Quantity.

    ``unit`` applies to a plain number (or a string without a unit); without it ``default_unit``
    does. ``k``/``M``/``G`` right after the number scale it (60k = 60,000); ``x`` marks a ratio
    (dimensionless). Commas are only thousands separators (``1,200``); ``1,5`` is refused (a
    decimal comma would otherwise read as 15). Every message names the unit expected.
    """
    ureg = get_registry()
    target = unit or default_unit
    if is_quantity(value):
        return value
    if isinstance(value, str):
        text = value.strip().replace("\u2009", " ")
        if not text:
            _refuse(field, value, "is empty, not a number", target)
        grouped = _GROUPED.match(text)
        if grouped:
            text = grouped.group(0).replace(",", "") + text[grouped.end():]
        elif "," in text:
            _refuse(field, value, "has a comma that is not a thousands separator (a decimal comma? write 1.5 "
                    "with a point, or 1500 without separators)", target)
        if _COUNT_WORDS.search(text):
            text = _COUNT_WORDS.sub("", text).replace("  ", " ").strip()
            text = re.sub(r"^(\S+)\s*/", r"\1 1/", text)  # "20 /s" -> "20 1/s"
        m = _SUFFIX.match(text)
        try:
            if m:
                number, suffix = float(m["num"]), m["suffix"]
                if suffix in "xX\u00d7":
                    if m["unit"] or (target not in (None, "", "dimensionless")):
                        _refuse(field, value, "is a ratio (x)", target)
                    q = ureg.Quantity(number, "dimensionless")
                else:
                    q = ureg.Quantity(number * _SCALE[suffix], m["unit"] or target or "dimensionless")
            else:
                q = ureg.Quantity(text)
                if q.units == ureg.dimensionless:  # no unit written: the question's unit
                    q = ureg.Quantity(float(q.magnitude), target or "dimensionless")
                elif unit is not None:
                    raise ValueError("two units")
        except ValidationError:
            raise
        except Exception:
            _refuse(field, value, "is not a number with a unit (write it like '12 ms', '60k', '1.5e3' or '2x')",
                    target)
    elif isinstance(value, bool):
        _refuse(field, value, "is a bool, not a number", target)
    else:
        try:
            q = ureg.Quantity(float(value), target or "dimensionless")
        except Exception:
            _refuse(field, value, f"is not a number (got {type(value).__name__})", target)
    mag = float(q.magnitude)
    if mag != mag or mag in (float("inf"), float("-inf")):
        _refuse(field, value, "is not a finite number", target)
    return q


def _answer_in_unit(answer, unit) -> float:
    """The answer as a float in ``unit``; a ValidationError if it is not a number or has another dimension."""
    if is_quantity(answer):
        try:
            return float(answer.to(unit).magnitude)
        except Exception:
            raise ValidationError(f"answer={answer!r} is in {answer.units:~} ({answer.dimensionality}); it must "
                                  f"convert to unit={unit!r}.", field="answer", value=answer,
                                  allowed=f"a number or a quantity in {unit}") from None
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) and not hasattr(answer, "__float__"):
        raise ValidationError(f"answer={answer!r} is not allowed (got {type(answer).__name__}); answer must be a "
                              f"number in {unit}, a quantity, or a callable returning one.", field="answer",
                              value=answer, allowed=f"a number or a quantity in {unit}")
    return float(answer)


class PredictionCheckpoint(traitlets.HasTraits):
    """A predict-then-reveal exercise bound to a solver answer.

    Parameters
    ----------
    question : str
        What the student predicts (HTML allowed).
    answer : Quantity, number or callable
        The solver's answer, or a function returning it (called at reveal time, so it can read
        the current state of a widget). A plain number needs ``unit``.
    unit : str, optional
        The unit answers are compared in (default: the answer's own unit).
    explanation : str or callable, optional
        Shown on reveal; a callable gets the checkpoint and returns the text.
    key : str, optional
        Stable name of the question (what a grader looks up); default: a slug of the question.
    path : str, optional
        The JSON-lines file the checkpoint appends to (``""``: none).
    tolerance_pct : float, optional
        ``record["within_tolerance"]`` is ``abs(error_pct) <= tolerance_pct``.

    Attributes
    ----------
    prediction : float or None
        The prediction in ``unit``; read-only once ``locked``.
    locked, revealed : bool
        Read-only; changed only by :meth:`lock` and :meth:`reveal`.
    answer_value, error_pct : float or None
        Filled by :meth:`reveal`.
    record : dict
        Everything above as plain JSON-ready values.
    """

    key = traitlets.Unicode()
    question = traitlets.Unicode()
    unit = traitlets.Unicode()
    prediction = traitlets.Float(None, allow_none=True)
    prediction_text = traitlets.Unicode("")
    locked = traitlets.Bool(False, read_only=True)
    revealed = traitlets.Bool(False, read_only=True)
    answer_value = traitlets.Float(None, allow_none=True, read_only=True)
    error_pct = traitlets.Float(None, allow_none=True, read_only=True)
    record = traitlets.Dict(read_only=True)
    path = traitlets.Unicode()
    allow_negative = traitlets.Bool(False, help="accept a negative prediction (the labs' questions are >= 0)")

    def __init__(self, question, answer, unit=None, explanation="", key=None, path=None, tolerance_pct=None,
                 **kwargs):
        check_kwargs(type(self), kwargs)
        if not isinstance(question, str) or not question.strip():
            raise InputError(f"question={question!r} is not allowed; question must be the text shown to the "
                                  "student (a non-empty str).", field="question", value=question, allowed="a non-empty str")
        self._answer = answer
        self._explanation = explanation
        self.tolerance_pct = tolerance_pct
        self._id = uuid.uuid4().hex[:12]
        if unit is None:
            probe = answer() if callable(answer) else answer
            if not is_quantity(probe):
                raise InputError("answer is a plain number, so unit= is needed (e.g. unit='ms').",
                                      field="unit", value=None, allowed="a unit string")
            unit = f"{probe.units:~}"
        else:
            try:
                get_registry().Unit(unit)
            except Exception:
                raise InputError(f"unit={unit!r} is not a unit Pint knows; e.g. 'ms', 'GB', 'token/s'.",
                                      field="unit", value=unit, allowed="a Pint unit") from None
        if not callable(answer):
            try:
                _answer_in_unit(answer, unit)
            except InputError:
                raise
            except ValidationError as exc:  # shown as its one line in a notebook, like every widget input
                raise InputError(str(exc), field=exc.field, value=exc.value, allowed=exc.allowed) from None
        if tolerance_pct is not None and (isinstance(tolerance_pct, bool) or not isinstance(tolerance_pct, (int, float))
                                          or not 0 <= tolerance_pct < float("inf")):
            raise InputError(f"tolerance_pct={tolerance_pct!r} is not allowed; tolerance_pct must be a "
                                  "finite number of percent >= 0 (or None).", field="tolerance_pct",
                                  value=tolerance_pct, allowed="a number >= 0, or None")
        if key is not None and not (isinstance(key, str) and key.strip()):
            raise InputError(f"key={key!r} is not allowed; key must be a non-empty str such as 'lab2:oom_batch' "
                                  "(or None to derive it from the question).", field="key", value=key,
                                  allowed="a non-empty str or None")
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise InputError(f"path={path!r} is not allowed (got {type(path).__name__}); path must be a file "
                                  "path (str), '' for no log, or None for the default.", field="path", value=path,
                                  allowed="a str path, '' or None")
        if key is None:
            key = "".join(c if c.isalnum() else "-" for c in question.lower()).strip("-")[:60] or "prediction"
        super().__init__(question=question, unit=unit, key=key,
                         path=default_path() if path is None else (str(pathlib.Path(path).resolve()) if path else ""),
                         **kwargs)
        self.set_trait("record", self._make_record())
        self._restore()
        self.view = self._build_view()

    # ------------------------------------------------------------------ the lock
    def _locked_error(self, name, value) -> LockedPredictionError:
        return LockedPredictionError(
            f"{name} is locked at {self.prediction:g} {self.unit} (locked {self.record.get('locked_at')}); "
            "a locked prediction cannot be changed. Make a new PredictionCheckpoint to predict again.",
            field=name, value=value, allowed="no change after lock()")

    @traitlets.validate("prediction", "prediction_text")
    def _refuse_when_locked(self, proposal):
        name = proposal["trait"].name
        if self.locked and proposal["value"] != getattr(self, name):
            raise self._locked_error(name, proposal["value"])
        return proposal["value"]

    @traitlets.validate("locked", "revealed")
    def _no_going_back(self, proposal):
        name = proposal["trait"].name
        if getattr(self, name) and not proposal["value"]:
            raise LockedPredictionError(f"{name} cannot be undone: a checkpoint that was {name} stays {name}.",
                                        field=name, value=proposal["value"], allowed="True")
        return proposal["value"]

    # ------------------------------------------------------------------ API
    def predict(self, value, unit=None):
        """Set the prediction: ``predict(120, "ms")``, ``predict("120 ms")`` or a Quantity.

        Converted to the checkpoint's ``unit``; a value of another dimension is rejected.
        """
        if self.locked:
            raise self._locked_error("prediction", value)
        q = parse_quantity(value, unit, default_unit=self.unit)
        try:
            converted = float(q.to(self.unit).magnitude)
        except Exception:
            _refuse("prediction", value, f"is in {q.units:~P}, which does not convert to the question's unit",
                    self.unit)
        if converted < 0 and not self.allow_negative:
            _refuse("prediction", value, "is negative; a count, size, time or share here is >= 0", self.unit)
        with self.hold_trait_notifications():
            self.prediction_text = (value.strip() if isinstance(value, str) and unit is None
                                    else f"{_num(float(q.magnitude))} {q.units:~P}".strip())
            self.prediction = converted
        self.set_trait("record", self._make_record())
        return self

    def lock(self):
        """Freeze the prediction (it can no longer change) and append it to ``path``."""
        if self.locked:
            return self
        if self.prediction is None:
            raise ValidationError("there is no prediction to lock; call predict(value, unit) first "
                                  "(or type it in the box).", field="prediction", value=None,
                                  allowed="a number with a unit")
        self.set_trait("locked", True)
        rec = self._make_record(locked_at=_now())
        self.set_trait("record", rec)
        self._append("lock", rec)
        self._show_state()
        return self

    def reveal(self):
        """Compute the answer, the error in % and the explanation; locks first if needed."""
        if not self.locked:
            self.lock()
        if self.revealed:
            return self
        from ..labs import grading_mode

        if grading_mode.active():  # the grader's oracle-free run has no solver to reveal with
            print("Reveal not available while grading.")
            return self
        ans = _answer_in_unit(self._answer() if callable(self._answer) else self._answer, self.unit)
        err = (self.prediction - ans) / ans * 100.0 if ans else float("inf")
        self.set_trait("answer_value", ans)
        self.set_trait("error_pct", err)
        self.set_trait("revealed", True)
        text = self._explanation(self) if callable(self._explanation) else self._explanation
        rec = self._make_record(revealed_at=_now(), explanation=text)
        self.set_trait("record", rec)
        self._append("reveal", rec)
        self._show_state()
        return self

    @property
    def _suffix(self) -> str:
        """`` ms`` for display; nothing for a dimensionless answer (a count, a ratio)."""
        symbol = unit_symbol(self.unit)
        return " " + html.escape(symbol) if symbol else ""

    # ------------------------------------------------------------------ storage
    def _restore(self):
        """Lock again at the first prediction locked for this key and question in ``path``: a
        re-run cell or a restarted kernel cannot undo a prediction (the reveal shows that value)."""
        if not self.path or not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if (ev.get("event") == "lock" and ev.get("key") == self.key and ev.get("question") == self.question
                        and ev.get("unit") == self.unit and isinstance(ev.get("prediction"), (int, float))):
                    self._id = ev.get("id", self._id)
                    with self.hold_trait_notifications():
                        self.prediction_text = str(ev.get("prediction_text") or "")
                        self.prediction = float(ev["prediction"])
                    self.set_trait("locked", True)
                    self.set_trait("record", self._make_record(locked_at=ev.get("locked_at"), restored=True))
                    return

    def _make_record(self, **extra) -> dict:
        old = dict(self.record) if self.record else {}
        old.update({"id": self._id, "key": self.key, "question": self.question, "unit": self.unit,
                    "prediction": self.prediction, "prediction_text": self.prediction_text,
                    "locked": self.locked, "revealed": self.revealed,
                    "answer": self.answer_value, "error_pct": self.error_pct})
        if self.error_pct is not None and self.tolerance_pct is not None:
            old["within_tolerance"] = abs(self.error_pct) <= self.tolerance_pct
        old.update(extra)
        return old

    def _append(self, event, rec):
        if not self.path:
            return
        line = json.dumps({"event": event, **rec}, default=str)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    # ------------------------------------------------------------------ view
    def _build_view(self):
        self.text = w.Text(placeholder=f"unit: {unit_words(self.unit)}", description="Your prediction",
                           style={"description_width": "initial"}, continuous_update=False,
                           tooltip="Type a number and its unit, then press Enter (or Lock prediction) to lock it")
        self.text._submission_callbacks.register_callback(self._on_enter)  # Enter locks
        self.text.observe(self._on_text, names="value")
        self.text.add_class("mlsyslab-prediction-input")
        self.lock_button = w.Button(description="Lock prediction", icon="lock", tooltip="Lock the prediction")
        self.reveal_button = w.Button(description="Reveal answer", icon="eye", tooltip="Lock, then reveal the answer")
        self.status = w.HTML().add_class("mlsyslab-status")
        self.answer_html = w.HTML().add_class("mlsyslab-reveal")
        self.lock_button.on_click(lambda _: self._from_ui(self._ui_lock))
        self.reveal_button.on_click(lambda _: self._from_ui(self._ui_reveal))
        box = w.VBox([w.HTML(f"<b>Predict:</b> {self.question}"),
                      w.HBox([self.text, self.lock_button, self.reveal_button]), self.status, self.answer_html])
        box.add_class("mlsyslab-prediction-checkpoint")
        self._show_state()
        return box

    def commit(self, value) -> str | None:
        """Predict ``value`` (what the box or ``my_guess`` holds, one parser for both) and lock it.

        A value the parser refuses leaves the checkpoint open and shows the one-line reason in its
        status (returned, None when locked)."""
        if self.locked:
            return None
        try:
            self.predict(value)
            self.lock()
        except MLSysError as exc:
            self._alert(str(exc))
            return str(exc)
        return None

    def _alert(self, message: str) -> None:
        if hasattr(self, "status"):
            self.status.value = (f"<div role='alert' style='border-left:4px solid #D55E00;padding:2px 8px'>"
                                 f"&#9888; {html.escape(message)}</div>")

    def _on_enter(self, _=None):
        """Enter in the box locks. The browser sends the Enter before the box's new text (ipywidgets
        sends an event ahead of the state), so the lock waits for that text: it happens on the next
        change of the box's value, or 0.3 s later when the text did not change."""
        if self.locked:
            return
        self._enter_pending = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a script): the value is already current
            self._lock_from_enter()
            return
        self._enter_timer = loop.call_later(0.3, self._lock_from_enter)

    def _on_text(self, change):
        if getattr(self, "_enter_pending", False):
            timer = getattr(self, "_enter_timer", None)
            if timer is not None:
                timer.cancel()
            self._lock_from_enter()

    def _lock_from_enter(self):
        if getattr(self, "_enter_pending", False):
            self._enter_pending = False
            self._from_ui(self._ui_lock)

    def _from_ui(self, action):
        """Run a button action; errors become a message in the widget, never a traceback."""
        try:
            action()
        except MLSysError as exc:
            self._alert(str(exc))

    def _ui_lock(self):
        if not self.locked:
            self.predict(self.text.value)
        self.lock()

    def _ui_reveal(self):
        if not self.locked:
            self._ui_lock()
        self.reveal()

    def _show_state(self):
        if not hasattr(self, "text"):
            return
        if not self.locked:
            self.status.value = (f"No prediction yet: type it in the box ({html.escape(unit_words(self.unit))}) and "
                                 "lock it, or set my_guess in the cell and run it.")
        if self.locked:
            self.text.value = self.prediction_text
            self.text.disabled = self.lock_button.disabled = True
            self.status.value = (f"Locked: <b>{html.escape(self.prediction_text)}</b> "
                                 f"(= {_num(self.prediction)}{self._suffix})"
                                 + (f", locked {html.escape(str(self.record.get('locked_at')))}; it stays locked when "
                                    "the cell is re-run" if self.record.get("restored") else ""))
        if self.revealed:
            self.reveal_button.disabled = True
            r = self.record
            verdict = ""
            if "within_tolerance" in r:
                verdict = " &#10003; within tolerance" if r["within_tolerance"] else " &#10007; outside tolerance"
            self.answer_html.value = (
                f"<div style='border-left:4px solid #0072B2;padding:4px 10px'>"
                f"Answer: <b class='mlsyslab-answer'>{_num(self.answer_value)}{self._suffix}</b>; "
                f"your prediction: {_num(self.prediction)}{self._suffix}; "
                f"error <b class='mlsyslab-error'>{_pct(self.error_pct)}</b>{verdict}"
                + (f"<p>{r.get('explanation')}</p>" if r.get("explanation") else "") + "</div>")

    def __repr__(self) -> str:
        state = "revealed" if self.revealed else "locked" if self.locked else "open"
        out = f"PredictionCheckpoint({self.key!r}, {state}"
        if self.prediction is not None:
            out += f", prediction {_num(self.prediction)}{self._suffix}"
        if self.revealed:
            out += f", answer {_num(self.answer_value)}{self._suffix}, error {_pct(self.error_pct)}"
        return out + ")"

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.view._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict) and "text/plain" in bundle:
            bundle["text/plain"] = repr(self)  # what an HTML export or a grader's log shows
        return bundle


def predictions(path=None, key=None) -> list[dict]:
    """Read back the predictions of ``path`` (default: :func:`default_path`), oldest first.

    One dict per locked prediction, with its reveal merged in when there was one
    (fields: key, question, prediction, unit, locked_at, answer, error_pct, revealed_at, ...).
    ``key=`` keeps one question only.
    """
    p = pathlib.Path(path) if path else pathlib.Path(default_path())
    if not p.exists():
        return []
    out: dict[str, dict] = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        ev = json.loads(line)
        if key is not None and ev.get("key") != key:
            continue
        ev.pop("event", None)
        out.setdefault(ev["id"], {}).update(ev)
    return list(out.values())
