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

import datetime as _dt
import html
import json
import os
import pathlib
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


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class LockedPredictionError(InputError):
    """Raised when a locked prediction is changed (from the UI or by setting the trait)."""


def parse_quantity(value, unit=None, *, default_unit=None, field="prediction"):
    """``120``, ``(120, "ms")``, ``"120 ms"``, ``"1,200 tokens/s"`` or a Quantity -> Quantity.

    ``unit`` applies to a plain number (or a unit-less string); without it ``default_unit`` does.
    """
    ureg = get_registry()
    if is_quantity(value):
        return value
    try:
        if isinstance(value, str):
            text = value.strip().replace(",", "")
            if not text:
                raise ValueError("empty")
            q = ureg.Quantity(text)
            if q.unitless:
                q = ureg.Quantity(float(q.magnitude), unit or default_unit or "dimensionless")
            elif unit is not None:
                raise ValueError("two units")
        elif isinstance(value, bool):
            raise TypeError("bool")
        else:
            q = ureg.Quantity(float(value), unit or default_unit or "dimensionless")
    except Exception:
        raise ValidationError(f"{field}={value!r} is not a number with a unit; write it like '120 ms' or "
                              "call predict(120, 'ms').", field=field, value=value,
                              allowed="a number and a unit, e.g. '120 ms'") from None
    mag = float(q.magnitude)
    if mag != mag or mag in (float("inf"), float("-inf")):
        raise ValidationError(f"{field}={value!r} is not a finite number.", field=field, value=value,
                              allowed="a finite number")
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

    def __init__(self, question, answer, unit=None, explanation="", key=None, path=None, tolerance_pct=None,
                 **kwargs):
        check_kwargs(type(self), kwargs)
        if not isinstance(question, str) or not question.strip():
            raise ValidationError(f"question={question!r} is not allowed; question must be the text shown to the "
                                  "student (a non-empty str).", field="question", value=question, allowed="a non-empty str")
        self._answer = answer
        self._explanation = explanation
        self.tolerance_pct = tolerance_pct
        self._id = uuid.uuid4().hex[:12]
        if unit is None:
            probe = answer() if callable(answer) else answer
            if not is_quantity(probe):
                raise ValidationError("answer is a plain number, so unit= is needed (e.g. unit='ms').",
                                      field="unit", value=None, allowed="a unit string")
            unit = f"{probe.units:~}"
        else:
            try:
                get_registry().Unit(unit)
            except Exception:
                raise ValidationError(f"unit={unit!r} is not a unit Pint knows; e.g. 'ms', 'GB', 'token/s'.",
                                      field="unit", value=unit, allowed="a Pint unit") from None
        if not callable(answer):
            _answer_in_unit(answer, unit)
        if tolerance_pct is not None and (isinstance(tolerance_pct, bool) or not isinstance(tolerance_pct, (int, float))
                                          or not 0 <= tolerance_pct < float("inf")):
            raise ValidationError(f"tolerance_pct={tolerance_pct!r} is not allowed; tolerance_pct must be a "
                                  "finite number of percent >= 0 (or None).", field="tolerance_pct",
                                  value=tolerance_pct, allowed="a number >= 0, or None")
        if key is not None and not (isinstance(key, str) and key.strip()):
            raise ValidationError(f"key={key!r} is not allowed; key must be a non-empty str such as 'lab2:oom_batch' "
                                  "(or None to derive it from the question).", field="key", value=key,
                                  allowed="a non-empty str or None")
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise ValidationError(f"path={path!r} is not allowed (got {type(path).__name__}); path must be a file "
                                  "path (str), '' for no log, or None for the default.", field="path", value=path,
                                  allowed="a str path, '' or None")
        if key is None:
            key = "".join(c if c.isalnum() else "-" for c in question.lower()).strip("-")[:60] or "prediction"
        super().__init__(question=question, unit=unit, key=key,
                         path=default_path() if path is None else (str(pathlib.Path(path).resolve()) if path else ""),
                         **kwargs)
        self.set_trait("record", self._make_record())
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
            target = get_registry().Unit(self.unit)
            raise ValidationError(
                f"prediction={q:~P} cannot be converted to {target:~P}: this question is answered in "
                f"{target:~P} ({target.dimensionality}).", field="prediction", value=value,
                allowed=f"a quantity convertible to {self.unit}") from None
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
        return "" if self.unit in ("", "dimensionless") else " " + html.escape(self.unit)

    # ------------------------------------------------------------------ storage
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
        self.text = w.Text(placeholder=f"e.g. 120{self._suffix}", description="Your prediction",
                           style={"description_width": "initial"}, continuous_update=False)
        self.lock_button = w.Button(description="Lock prediction", icon="lock", button_style="warning")
        self.reveal_button = w.Button(description="Reveal answer", icon="eye", button_style="info")
        self.status = w.HTML().add_class("mlsyslab-status")
        self.answer_html = w.HTML().add_class("mlsyslab-reveal")
        self.lock_button.on_click(lambda _: self._from_ui(self._ui_lock))
        self.reveal_button.on_click(lambda _: self._from_ui(self._ui_reveal))
        box = w.VBox([w.HTML(f"<b>Predict:</b> {self.question}"),
                      w.HBox([self.text, self.lock_button, self.reveal_button]), self.status, self.answer_html])
        box.add_class("mlsyslab-prediction-checkpoint")
        self._show_state()
        return box

    def _from_ui(self, action):
        """Run a button action; errors become a message in the widget, never a traceback."""
        try:
            action()
        except MLSysError as exc:
            self.status.value = f"<span style='color:#d62728'>{html.escape(str(exc))}</span>"

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
        if self.locked:
            self.text.value = self.prediction_text
            self.text.disabled = self.lock_button.disabled = True
            self.status.value = (f"Locked: <b>{html.escape(self.prediction_text)}</b> "
                                 f"(= {_num(self.prediction)}{self._suffix})")
        if self.revealed:
            self.reveal_button.disabled = True
            r = self.record
            verdict = ""
            if "within_tolerance" in r:
                verdict = " &#10003; within tolerance" if r["within_tolerance"] else " &#10007; outside tolerance"
            self.answer_html.value = (
                f"<div style='border-left:4px solid #1f77b4;padding:4px 10px'>"
                f"Answer: <b class='mlsyslab-answer'>{_num(self.answer_value)}{self._suffix}</b>; "
                f"your prediction: {_num(self.prediction)}{self._suffix}; "
                f"error <b class='mlsyslab-error'>{self.error_pct:+.1f} %</b>{verdict}"
                + (f"<p>{r.get('explanation')}</p>" if r.get("explanation") else "") + "</div>")

    def __repr__(self) -> str:
        state = "revealed" if self.revealed else "locked" if self.locked else "open"
        out = f"PredictionCheckpoint({self.key!r}, {state}"
        if self.prediction is not None:
            out += f", prediction {_num(self.prediction)}{self._suffix}"
        if self.revealed:
            out += f", answer {_num(self.answer_value)}{self._suffix}, error {self.error_pct:+.1f} %"
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
