"""Formative checks: every graded item can be checked before submission, the verdict is right /
close / wrong (+ the usual mistake's hint), the expected value and the hidden configurations are
never shown; a lab run for a non-default student checks right on that student's own numbers; the
widgets inside a lab show the lab's numbers (same efficiency, same definitions)."""

from __future__ import annotations

import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

from mlsyslab.grading.rubric import Item, Mistake
from mlsyslab.labs import checks, open_lab

ROOT = pathlib.Path(__file__).resolve().parent.parent
LABS = sorted(p.stem for p in (ROOT / "labs").glob("lab*.ipynb"))
CHECK = re.compile(r"lab\.check\(globals\(\), ([^)]*)\)")


def test_verdicts_right_close_wrong_hint_missing():
    # a 2 % item expecting 131,072 B; forgetting K and V gives 65,536
    item = Item("kv", 2, lambda: 131072.0, "kv", unit="B",
                mistakes=(Mistake("forgot_kv_x2", lambda: 65536.0, "the cache holds K and V."),))
    assert checks.verdict(item, 131072 * 1.019, 131072.0)[0] == "right"
    kind, msg = checks.verdict(item, 131072 * 1.05, 131072.0)  # 5 %: within 3 x the 2 % tolerance (the grader's half credit)
    assert kind == "close" and "too high" in msg
    kind, msg = checks.verdict(item, 65536, 131072.0)
    assert kind == "wrong" and "K and V" in msg
    assert checks.verdict(item, 131072 * 1.07, 131072.0)[0] == "wrong"  # 7 % > 3 x 2 %
    assert checks.verdict(item, None, 131072.0)[0] == "missing"
    assert checks.verdict(item, "lots", 131072.0)[0] == "wrong"
    for answer in (131072 * 1.05, 65536, 9.9e9, None):  # the expected value never appears
        assert "131" not in checks.verdict(item, answer, 131072.0)[1]
    choice = Item("gpu", 1, lambda: "A100", "gpu", kind="choice")
    assert checks.verdict(choice, " a-100", "A100")[0] == "right"
    assert "A100" not in checks.verdict(choice, "H100", "A100")[1]


@pytest.mark.parametrize("lab", LABS)
def test_every_graded_item_has_a_check(lab):
    """Each grade cell checks what it records; a hidden-test cell checks the graded function on
    the visible configuration (lab 2's kv_cache_bytes), never on the hidden ones."""
    from mlsyslab.grading import keys

    key = keys.get(lab, root=ROOT / "autograder")
    student = nbformat.read(ROOT / "labs" / f"{lab}.ipynb", 4)
    checked = set()
    for cell in student.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        names = {n.strip().strip('"') for m in CHECK.findall(cell.source) for n in m.split(",")}
        assert names, (lab, meta["grade_id"])
        checked |= names
    graded = {item.id for items in key.cells.values() for item in items}
    hidden = {i for i in graded if i.startswith("kv_fn_")}
    assert graded - hidden <= checked
    assert (hidden == set()) or "kv_cache_bytes" in checked
    functions = open_lab(lab).spec.__dict__.get("functions")
    for cases in (functions(open_lab(lab).variant).values() if functions else []):
        for item, args in cases:  # the visible configuration: the variant's own model, context, batch 1
            assert "Llama3_70B" not in item.label and "1000" not in item.label


def test_check_never_shows_the_expected_value(capsys):
    lab = open_lab("lab2_kv_cache", student="")  # default variant: 131,072 B per token, wall 130
    with pytest.raises(checks.NotRightYet, match="kv_bytes_per_token, max_batch"):
        lab.check({"kv_bytes_per_token": 2 * 32 * 32 * 128 * 2, "max_batch": 119}, "kv_bytes_per_token", "max_batch")
    out = capsys.readouterr().out
    assert "query heads" in out and "GiB vs GB" in out  # the keys' misconception hints
    assert "131072" not in out and "131,072" not in out and "130" not in out
    lab.check({"kv_cache_bytes": lambda m, s, b, v: m.layers * m.kv_heads * m.head_dim * v * s * b}, "kv_cache_bytes",
              strict=False)
    out = capsys.readouterr().out
    assert "K and V" in out and "Llama3_70B" not in out and "8192" not in out


def _run(lab, tmp_path, env):
    nb = nbformat.read(ROOT / "autograder" / "source" / lab / f"{lab}.ipynb", 4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.MonkeyPatch.context() as mp:
        for k, val in env.items():
            mp.setenv(k, val)
        client.execute()
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) + str(o.get("data", {}).get("text/markdown", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.slow
def test_solution_checks_right_on_a_students_own_variant(tmp_path):
    """'heidi' draws lab 2 variant 4 (Llama-3.2-1B on an L4, 2048 tokens): the solution, computed
    in code, checks right on every item, and the text, the reveal and the widget use her numbers."""
    text = _run("lab2_kv_cache", tmp_path, {"MLSYSLAB_STUDENT_ID": "heidi", "MLSYSLAB_PREDICTIONS": str(tmp_path / "p.jsonl")})
    assert "variant 4 for student 'heidi'" in text
    assert "Llama-3.2-1B in fp16" in text and "NVIDIA L4" in text and "S = 2048 tokens" in text
    marks = re.findall(r"^([\u2713~\u2717\u00b7]) ", text, flags=re.M)
    assert marks and set(marks) == {"\u2713"}, text[-3000:]
    # (24 GiB - 2 x 1,235,814,400 B) / (2 x 16 x 8 x 64 x 2 B x 2048) = 23,298,174,976 / 67,108,864 = 347.2
    assert "max batch: yours 347 requests | solver 347 requests" in text
    assert "MemoryWall(model='Llama3_2_1B', hardware='L4', seq_len=2048" in text


@pytest.mark.slow
@pytest.mark.parametrize("lab, student, i", [("lab3_quantization", "heidi", 3), ("lab4_context_scaling", "heidi", 2),
                                             ("lab5_hardware_sla", "heidi", 3)])
def test_solutions_check_right_on_other_variants(lab, student, i, tmp_path):
    text = _run(lab, tmp_path, {"MLSYSLAB_STUDENT_ID": student, "MLSYSLAB_PREDICTIONS": str(tmp_path / "p.jsonl")})
    assert f"variant {i} for student {student!r}" in text
    marks = re.findall(r"^([\u2713~\u2717\u00b7]) ", text, flags=re.M)
    assert marks and set(marks) == {"\u2713"}, text[-3000:]


def test_widgets_in_labs_use_the_labs_numbers():
    """Lab 3 (default variant): the widget's int8 ITL on the H100 is the reveal's (W + KV) / BW =
    (8.030e9 + 2 x 32 x 8 x 128 x 4096 x 4) / 3.35e12 = 2.72 ms, in ideal mode; lab 4: the widget's
    attention share at 8192 tokens is the exercise's 11.79 %."""
    import mlsyslab.widgets as mw

    src3 = (ROOT / "mlsyslab" / "labs" / "builtin" / "lab3_quantization.py").read_text(encoding="utf-8")
    assert 'efficiency="ideal"' in src3.split("HardwareComparison(")[1]
    h = mw.HardwareComparison(hardware=["A100", "H100", "H200", "MI300X"], precisions=["fp16", "int8"],
                              model="Llama3_8B", seq_len=4096, batch_size=4, efficiency="ideal")
    assert "2.72 ms" in h.readout.value and "data-mode='ideal'" in h.readout.value
    src4 = (ROOT / "mlsyslab" / "labs" / "builtin" / "lab4_context_scaling.py").read_text(encoding="utf-8")
    assert 'seq_len=v.S, efficiency="ideal"' in src4
    c = mw.ContextScaling(model="Llama3_8B", hardware="H100", seq_len=8192, efficiency="ideal")
    assert c.attention_share == pytest.approx(1.759219e13 / (1.315678e14 + 1.759219e13), rel=1e-4)
    assert "11.8% of the prefill FLOPs" in c.readout.value and "13.4%" not in c.readout.value
    assert "data-mode='ideal'" in c.readout.value


def test_lab3_exercise_text_and_checkpoint_ask_the_same_question():
    nb = nbformat.read(ROOT / "labs" / "lab3_quantization.ipynb", 4)
    text = "\n".join(c.source for c in nb.cells)
    intro = text.split("## Exercise 1")[1].split("## Exercise 2")[0]
    assert "**Predict** the ITL on the {gpu.key} with int8 weights *and* KV-cache" in intro
    assert "PredictionCheckpoint(lab.text('ITL of {model.name} on an {gpu.key} with int8 weights and KV" in intro


def test_check_validate_and_grader_share_one_verdict():
    """The grader's rubric scores with the same verdict as lab.check: for answers right, inside
    3 x the tolerance, a mistake, far off, missing, not a number, the rubric's verdict and points
    follow checks.judge (right 1, close 0.5, mistake its credit, else 0)."""
    from mlsyslab.grading.rubric import score_item

    item = Item("kv", 2, lambda: 131072.0, "kv", unit="B",
                mistakes=(Mistake("forgot_kv_x2", lambda: 65536.0, "the cache holds K and V."),
                          Mistake("gb", lambda: 160000.0, "GB vs GiB.", credit=0.5)))
    expect = {131072 * 1.01: ("right", "correct", 2), 131072 * 1.05: ("close", "close", 1),
              65536: ("wrong", "mistake", 0), 160000: ("wrong", "mistake", 1), 131072 * 1.1: ("wrong", "wrong", 0),
              None: ("missing", "missing", 0), "lots": ("wrong", "invalid", 0)}
    for answer, (kind, grade, points) in expect.items():
        v = checks.judge(item, answer, 131072.0)
        s = score_item(item, answer, 131072.0)
        assert (v.kind, v.grade, s.verdict, s.points) == (kind, grade, grade, points), answer


def test_integer_items_accept_only_whole_numbers():
    """An item the text calls an integer (a batch of requests) refuses 300.87 though it is within
    the ±1 tolerance of 301, and accepts 301 and 301.0 (numpy's floor returns a float)."""
    from mlsyslab.grading.rubric import score_item

    item = Item("max_batch", 2, lambda: 301, "largest batch", rtol=0.0, atol=1.0, kind="integer")
    kind, msg = checks.verdict(item, 300.87, 301)
    assert kind == "wrong" and "whole number" in msg and "301" not in msg
    assert score_item(item, 300.87, 301).points == 0
    assert checks.verdict(item, 301, 301)[0] == checks.verdict(item, 301.0, 301)[0] == "right"


def test_numbers_are_written_as_the_widgets_write_them():
    assert checks.number_text(29200) == "29,200" and checks.number_text(104.12345) == "104.1"
    assert checks.number_text(-0.0) == "0" and checks.number_text(0.0123) == "0.0123"
    assert checks.pct_text(-0.04) == "0 %" and checks.pct_text(12.3) == "+12 %" and checks.pct_text(-3.44) == "-3.4 %"


def test_check_output_is_styled_with_a_text_fallback_and_validate_fails_in_one_line():
    """lab.check shows mark, word and colour (never colour alone) with a text/plain twin; after a
    wrong or missing item it raises NotRightYet, whose IPython rendering is one line naming the
    items (what nbgrader's Validate reports); all right: no error."""
    lab = open_lab("lab2_kv_cache", student="")
    ns = {"kv_bytes_per_token": 2 * 32 * 8 * 128 * 2, "max_batch": 119}  # right; GiB read as GB
    report = lab.report(ns, "kv_bytes_per_token", "max_batch", "weights_bytes")
    bundle = report._repr_mimebundle_()
    assert bundle["text/plain"].splitlines()[0].startswith("\u2713 kv_bytes_per_token: right")
    assert "\u00b7 weights_bytes: not answered yet (run your answer cell above first)" in bundle["text/plain"]
    html = bundle["text/html"]
    assert "mlsyslab-check-right" in html and "mlsyslab-check-wrong" in html and ">not right yet<" in html
    assert "#1b6e3a" in html and "[data-jp-theme-light='false']" in html
    with pytest.raises(checks.NotRightYet) as err:
        lab.check(ns, "kv_bytes_per_token", "max_batch", "weights_bytes")
    assert err.value._render_traceback_() == [
        "NotRightYet: not right yet: max_batch, weights_bytes (see the lines above); Validate passes once every "
        "item here is right."]
    lab.check({"kv_bytes_per_token": 131072}, "kv_bytes_per_token")  # right: no error


def _contrast(a: str, b: str) -> float:
    def lum(hex_):
        c = [int(hex_[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_verdict_colours_meet_wcag_aa_in_light_and_dark():
    """Each verdict's text colour has >= 4.5:1 contrast on JupyterLab's light (#ffffff) and dark
    (#111111) backgrounds."""
    for kind, (light, dark) in checks.COLOR.items():
        assert _contrast(light, "#ffffff") >= 4.5, kind
        assert _contrast(dark, "#111111") >= 4.5, kind
