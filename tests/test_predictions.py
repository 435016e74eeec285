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
    ("3 GB", "ms", "is in GB, which does not convert"),
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


@pytest.mark.parametrize("guess, unit, words", [
    (-5, "dimensionless", "negative"),
    ("", "dimensionless", "empty"),
    ("12ms", "dimensionless", "does not convert"),
    ("20 req/s", "ms", "does not convert"),
    ("abc", "1/s", "not a number"),
])
def test_a_bad_guess_in_code_prints_one_line_and_leaves_the_widget_open(tmp_path, capsys, guess, unit, words):
    """commit() goes through the box's parser: a refused my_guess prints one line naming the
    question's unit, shows the same line in the widget and leaves it open (no traceback)."""
    from mlsyslab.grading.notebook import commit

    cp = checkpoint(tmp_path / "p.jsonl", unit=unit, answer=1.0)
    commit(guess, cp)
    out = [x for x in capsys.readouterr().out.strip().splitlines() if not x.startswith("PredictionCheckpoint(")]
    assert len(out) == 1 and out[0].startswith(f"Not locked: my_guess = {guess!r}") and words in out[0], out
    named = {"dimensionless": "none, a plain number", "ms": "milliseconds (ms)", "1/s": "requests per second (req/s)"}
    assert f"Unit of this question: {named[unit]}" in out[0] and "converted to ." not in out[0]
    assert not cp.locked and not cp.text.disabled and "role='alert'" in cp.status.value and words in cp.status.value
    commit("3", cp) if unit != "1/s" else commit("3 req/s", cp)  # then a good guess locks
    assert cp.locked


@pytest.mark.parametrize("text, unit, value", [
    ("20 req/s", "1/s", 20.0), ("20 requests/s", "1/s", 20.0), ("20 request/s", "1/s", 20.0), ("20/s", "1/s", 20.0),
    ("1,200 tok/s", "token/s", 1200.0), ("1.2k tokens/s", "token/s", 1200.0), ("130 requests", "dimensionless", 130.0),
    ("12ms", "ms", 12.0), ("0.5 s", "s", 0.5), ("5 GiB", "GB", 5 * 2**30 / 1e9), ("30 %", "percent", 30.0),
    ("2.5x", "dimensionless", 2.5), ("20 µs", "us", 20.0), ("20 us", "us", 20.0),
])
def test_every_unit_the_labs_write_is_accepted(text, unit, value):
    assert parse_quantity(text, default_unit=unit).to(unit).magnitude == pytest.approx(value)


def test_reveal_waits_for_the_graded_answer_and_prints_the_units_name(tmp_path, capsys):
    """A reveal that would give away a graded value waits until that value is assigned; the
    answer is written req/s, not 1/s, and a 0 % error is never '-0 %'."""
    from mlsyslab.grading.notebook import commit, compare, reveal

    cp = checkpoint(tmp_path / "p.jsonl", unit="1/s", answer=20.0, question="Best rate?", key="lab8:rate")
    commit("20 req/s", cp)
    capsys.readouterr()
    assert reveal(cp, {"best_rate": None}, "best_rate") is False
    assert "Answer best_rate above first" in capsys.readouterr().out and not cp.revealed
    assert reveal(cp, {"best_rate": 20}, "best_rate") is True
    assert "Your prediction 20 req/s vs the answer 20 req/s (0 %)" in capsys.readouterr().out
    compare("blocks", None, 29200, "blocks")
    assert "29" not in capsys.readouterr().out  # no reference while unanswered
    compare("blocks", 29000, 29200, "blocks")
    assert "yours 29,000 blocks | solver 29,200 blocks | difference -0.7 %" in capsys.readouterr().out


def test_an_exact_prediction_shows_0_percent_not_minus_0(tmp_path):
    cp = checkpoint(tmp_path / "p.jsonl", answer=130.0)
    cp.predict("129.99").lock()
    cp.reveal()  # (129.99 - 130) / 130 = -0.008 %: rounds to 0.0, shown without a sign
    assert "0.0 %" in cp.answer_html.value and "-0.0" not in cp.answer_html.value and "-0.0" not in repr(cp)
