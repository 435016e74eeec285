"""Predictions that stay made: a locked prediction survives a re-run cell and a restarted kernel
(read back from the record file) and the reveal shows the first locked value; input parsing as a
student types it; every message names the unit; the open/locked status and the placeholder."""

from __future__ import annotations

import json

import pytest

import mlsyslab as ml
from mlsyslab.widgets.prediction_checkpoint import PredictionCheckpoint, parse_quantity


def checkpoint(path, question="Largest batch?", unit="dimensionless", answer=130.0, key="lab2:cp_oom"):
    return PredictionCheckpoint(question, answer=answer, unit=unit, key=key, path=str(path))


def test_lock_survives_a_rerun_and_a_restart(tmp_path):
    path = tmp_path / "mlsyslab-predictions.jsonl"
    first = checkpoint(path)
    first.predict("100").lock()
    again = checkpoint(path)  # the cell re-run, or a new kernel: a new object, same question
    assert again.locked and again.prediction == 100.0
    with pytest.raises(ml.ValidationError, match="locked"):
        again.predict(150)
    assert again.text.disabled and "Locked" in again.status.value and "No prediction yet" not in again.status.value
    again.reveal()
    assert again.record["prediction"] == 100.0 and again.error_pct == pytest.approx((100 - 130) / 130 * 100)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["event"] for e in events] == ["lock", "reveal"] and events[0]["id"] == events[1]["id"]
    other = checkpoint(path, question="Largest batch at 32k?", key="lab2:cp_32k")  # another question is open
    assert not other.locked


def test_commit_keeps_the_first_locked_value(tmp_path, capsys):
    from mlsyslab.grading.notebook import commit, reveal

    path = tmp_path / "p.jsonl"
    commit(120, checkpoint(path))
    cp = checkpoint(path)
    commit(200, cp)  # the student edits my_guess and re-runs the cell
    assert "locked earlier" in capsys.readouterr().out
    assert cp.prediction == 120.0
    reveal(cp)
    assert "Your prediction 120 vs the answer 130" in capsys.readouterr().out


def test_no_stale_message_and_no_number_in_the_placeholder(tmp_path):
    cp = checkpoint(tmp_path / "p.jsonl", unit="ms", answer=ml.Q_(12.0, "ms"))
    assert "No prediction yet" in cp.status.value
    assert not any(ch.isdigit() for ch in cp.text.placeholder) and "ms" in cp.text.placeholder
    cp.text.value = "12 ms"
    cp.lock_button.click()
    assert cp.locked and "No prediction yet" not in cp.status.value and "Locked" in cp.status.value


@pytest.mark.parametrize("text, unit, value", [
    ("12 ms", "ms", 12.0),
    ("0.012 s", "ms", 12.0),
    ("60k", "dimensionless", 60_000.0),
    ("1.5e3", "ms", 1500.0),
    ("1.5M tokens", "token", 1_500_000.0),
    ("2x", "dimensionless", 2.0),
    ("30 %", "dimensionless", 0.3),   # a fraction asked: 30 % and 0.3 both read as 0.3
    ("0.3", "dimensionless", 0.3),
    ("30 %", "percent", 30.0),        # a percentage asked: 30 % and 30 both read as 30 %
    ("30", "percent", 30.0),
    ("1,200", "dimensionless", 1200.0),
])
def test_parsing_as_a_student_types(text, unit, value):
    assert parse_quantity(text, default_unit=unit).to(unit).magnitude == pytest.approx(value)


@pytest.mark.parametrize("text, unit, words", [
    ("1,5", "ms", "decimal comma"),
    ("2x", "ms", "ratio"),
    ("abc", "token", "not a number"),
    ("3 GB", "ms", "cannot be converted to ms"),
    ("-5", "dimensionless", "negative"),
])
def test_refusals_name_the_expected_unit(tmp_path, text, unit, words):
    cp = checkpoint(tmp_path / "p.jsonl", unit=unit, answer=1.0)
    with pytest.raises(ml.ValidationError) as err:
        cp.predict(text)
    msg = str(err.value)
    assert words in msg and "(dimensionless)" not in msg
    named = {"ms": "milliseconds (ms)", "token": "token", "dimensionless": "none, a plain number"}[unit]
    assert f"Unit of this question: {named}" in msg
    assert not cp.locked and cp.prediction is None


def test_negative_allowed_when_asked(tmp_path):
    cp = PredictionCheckpoint("Change in %?", answer=-3.0, unit="percent", path="", allow_negative=True)
    assert cp.predict("-5 %").prediction == -5.0
