"""mlsyslab.widgets without a browser: traits -> solver -> marks, the memory wall, the locked prediction.

Reference figures are worked out here by hand from datasheets and architectures:

* H100 SXM: 80 GiB = 80 x 2^30 = 85,899,345,920 B; 3.35 TB/s; 989.5 TFLOP/s dense fp16.
* Llama-3-8B: L=32, d=4096, 32 heads, 8 KV heads, head_dim 128, ffn 14336, vocab 128256, untied.
  Parameters: per layer 2*d*d (Q,O) + 2*d*1024 (K,V) + 3*d*14336 (gated FFN) + 2*d (norms)
  = 218,112,000; x32 + 2 x 128256 x 4096 (embeddings) + 4096 (final norm) = 8,030,261,248.
  fp16 KV per token: 2 (K,V) x 32 layers x 8 heads x 128 x 2 B = 131,072 B.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import traitlets

import mlsyslab as ml
import mlsyslab.widgets as mw

# Every warning raised while a widget is used is an error (a notebook must stay quiet on stderr).
pytestmark = pytest.mark.filterwarnings("error")

H100_BYTES = 80 * 2**30
assert H100_BYTES == 85_899_345_920
H100_FP16_FLOPS = 989.5e12
H100_BW = 3.35e12
LLAMA3_8B_PARAMS = 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096) + 2 * 128256 * 4096 + 4096
assert LLAMA3_8B_PARAMS == 8_030_261_248
KV_PER_TOKEN_FP16 = 2 * 32 * 8 * 128 * 2
assert KV_PER_TOKEN_FP16 == 131_072
WEIGHTS_FP16 = 2 * LLAMA3_8B_PARAMS


def hand_first_oom_batch(seq_len: int) -> int:
    """Smallest batch that overflows an H100: floor((C - W) / (KV_tok x S)) + 1."""
    return math.floor((H100_BYTES - WEIGHTS_FP16) / (KV_PER_TOKEN_FP16 * seq_len)) + 1


# ----------------------------------------------------------------------------- packaging
def test_import_mlsyslab_does_not_load_widget_libraries():
    code = ("import sys, mlsyslab, mlsyslab.solvers.serving; "
            "print(sorted(m for m in ('ipywidgets', 'bqplot', 'mlsyslab.widgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""


def test_widgets_reachable_lazily_from_package():
    assert ml.widgets.ServingExplorer is mw.ServingExplorer


def test_component_displays_its_view_with_a_text_fallback():
    e = mw.ServingExplorer(batch_size=200)
    bundle = e._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == e.view.model_id
    assert bundle["text/plain"].startswith("ServingExplorer(model='Llama3_8B', hardware='H100'")
    assert bundle["text/plain"].endswith("(OOM)")
    cp = mw.PredictionCheckpoint("q", answer=ml.Q_(8.0, "ms"), key="k", path="")
    cp.predict(10, "ms").reveal()
    assert cp._repr_mimebundle_()["text/plain"] == "PredictionCheckpoint('k', revealed, prediction 10 ms, answer 8 ms, error +25.0 %)"


# ----------------------------------------------------------------------------- ServingExplorer
def test_explorer_marks_equal_solver_and_hand_weights():
    e = mw.ServingExplorer(model="Llama3_8B", hardware="H100", seq_len=4096, batch_size=8, precision="fp16")
    r = ml.ServingSolver().solve("Llama3_8B", "H100", 4096, 8, "fp16")
    weights_gb, kv_gb, free_gb = e.bars.y[:, 0]
    assert weights_gb == pytest.approx(r.weights_bytes / 1e9, rel=1e-12)
    assert kv_gb == pytest.approx(r.kv_bytes / 1e9, rel=1e-12)
    # by hand: 16.06 GB of weights, 8 x 4096 x 131072 B of KV-cache, the rest of 80 GiB free
    assert weights_gb == pytest.approx(WEIGHTS_FP16 / 1e9, rel=1e-9)
    assert kv_gb == pytest.approx(8 * 4096 * KV_PER_TOKEN_FP16 / 1e9, rel=1e-12)
    assert free_gb == pytest.approx((H100_BYTES - WEIGHTS_FP16 - 8 * 4096 * KV_PER_TOKEN_FP16) / 1e9, rel=1e-9)
    assert list(e.capacity_line.y) == pytest.approx([H100_BYTES / 1e9] * 2)
    assert e.result.ttft_s == pytest.approx(r.ttft_s) and e.result.itl_s == pytest.approx(r.itl_s)


def test_setting_a_trait_resolves_and_redraws():
    e = mw.ServingExplorer(seq_len=4096, batch_size=1)
    before_kv, before_readout = e.bars.y[1, 0], e.readout.value
    e.seq_len = 16384
    r = ml.ServingSolver().solve("Llama3_8B", "H100", 16384, 1)
    assert e.bars.y[1, 0] == pytest.approx(4 * before_kv)  # KV grows linearly in S
    assert e.bars.y[1, 0] == pytest.approx(r.kv_bytes / 1e9)
    assert e.readout.value != before_readout
    assert f"{r.ttft_s * 1e3:.3g} ms" in e.readout.value
    e.precision = "fp8"
    assert e.bars.y[0, 0] == pytest.approx(LLAMA3_8B_PARAMS * 1 / 1e9, rel=1e-9)  # 1 byte per weight


def test_oom_flips_at_the_hand_computed_batch():
    first = hand_first_oom_batch(4096)
    assert first == 131  # 69,838,823,424 B spare / 536,870,912 B per sequence = 130.08
    e = mw.ServingExplorer(model="Llama3_8B", hardware="H100", seq_len=4096, precision="fp16", batch_size=first - 1)
    assert e.oom is False and e.result.feasible
    assert e.banner.layout.display == "none"
    assert e.bars.colors[1] == "#E69F00"  # Okabe-Ito orange: the KV-cache
    e.batch_size = first
    assert e.oom is True and not e.result.feasible
    assert e.banner.layout.display != "none" and "OOM" in e.banner.value
    assert f"largest batch that fits: {first - 1}" in e.banner.value
    assert e.bars.colors[1] == "#D55E00"  # Okabe-Ito vermillion: over capacity
    assert sum(e.bars.y[:2, 0]) > e.capacity_line.y[0]  # the bar goes past the capacity line
    assert e.bars.y[2, 0] == 0.0


def test_tensor_parallel_halves_weights_per_gpu():
    e = mw.ServingExplorer(tensor_parallel=2)
    assert e.bars.y[0, 0] == pytest.approx(WEIGHTS_FP16 / 2 / 1e9, rel=1e-9)


def test_sliders_drive_the_model_and_never_clamp_it():
    e = mw.ServingExplorer()
    assert e.batch_control.continuous_update is False and e.batch_slider is e.batch_control
    assert [v for _, v in e.seq_len_control.options][:3] == [128, 256, 512]
    e.seq_len_slider.value = 1024
    assert e.seq_len == 1024
    e.batch_slider.value = 3
    assert e.batch_size == 3
    e.batch_size = 1000
    assert e.batch_size == 1000 and e.batch_slider.value == 1000
    e.seq_len = 300_000  # beyond 2^17, not offered: added to the choices
    assert e.seq_len == 300_000 and e.seq_len_slider.value == 300_000
    assert e.seq_len_control.options[-1] == ("300,000", 300_000)
    e.hardware_picker.dropdown.value = "A100"
    assert e.hardware == "A100" and e.result.hardware.key == "A100"
    e.hardware = "JetsonOrinNano"
    assert e.hardware_picker.tier_buttons.value == "Edge"


def test_inputs_are_validated_with_named_errors():
    e = mw.ServingExplorer()
    with pytest.raises(ml.ValidationError, match="Did you mean 'H100'") as info:
        e.hardware = "H10O"
    assert isinstance(info.value, traitlets.TraitError)
    with pytest.raises(ml.ValidationError, match="decoder LLM"):
        e.model = "ResNet50"
    with pytest.raises(ml.ValidationError, match="batch_size"):
        e.batch_size = 0
    assert e.hardware == "H100" and e.batch_size == 1  # unchanged
    e.seq_len = ml.Q_(2, "ktoken")
    assert e.seq_len == 2000
    e.model = "llama-3-8b"
    assert e.model == "Llama3_8B"


def test_link_two_explorers_share_batch_size():
    a = mw.ServingExplorer(hardware="H100")
    b = mw.ServingExplorer(hardware="MI300X")
    traitlets.link((a, "batch_size"), (b, "batch_size"))
    a.batch_size = 64
    assert b.batch_size == 64
    rb = ml.ServingSolver().solve("Llama3_8B", "MI300X", 4096, 64)
    assert b.result.batch_size == 64
    assert b.bars.y[1, 0] == pytest.approx(rb.kv_bytes / 1e9)
    b.batch_slider.value = 5
    assert a.batch_size == 5 and a.result.batch_size == 5


# ----------------------------------------------------------------------------- MemoryWall
def test_memory_wall_marks_first_oom_point_from_hand_formula():
    m = mw.MemoryWall(model="Llama3_8B", hardware="H100", seq_len=4096, batch_size=8, precision="fp16")
    assert m.first_oom_batch == hand_first_oom_batch(4096) == 131
    assert list(m.batch_oom.x) == [131.0]
    assert m.batch_oom.y[0] == pytest.approx((WEIGHTS_FP16 + 131 * 4096 * KV_PER_TOKEN_FP16) / 1e9)
    first_s = math.floor((H100_BYTES - WEIGHTS_FP16) / (KV_PER_TOKEN_FP16 * 8)) + 1
    assert m.first_oom_seq_len == first_s == 66604
    assert list(m.context_oom.x) == [float(first_s)]
    assert m.batch_capacity.y[0] == pytest.approx(H100_BYTES / 1e9)
    # the curve is the solver's: memory at every batch on the x axis
    B = m.batch_total.x
    assert m.batch_total.y == pytest.approx((WEIGHTS_FP16 + B * 4096 * KV_PER_TOKEN_FP16) / 1e9)
    m.seq_len = 8192
    assert m.first_oom_batch == hand_first_oom_batch(8192) == 66
    assert "66" in m.readout.value


# ----------------------------------------------------------------------------- ContextScaling
def test_context_scaling_linear_and_full_models():
    c = mw.ContextScaling(model="Llama3_8B", hardware="H100", seq_len=8192, efficiency="ideal", max_seq_len=32768)
    S = c.linear_line.x
    assert c.y_unit == "ms" and c.y_factor == 1e-3  # 32k tokens take under a second: the axis is in ms
    lin_s, full_s = c.linear_line.y * c.y_factor, c.full_line.y * c.y_factor
    # linear 2PS model at 100 % of the fp16 datasheet peak
    assert lin_s == pytest.approx(2 * LLAMA3_8B_PARAMS * S / H100_FP16_FLOPS, rel=1e-9)
    solver = ml.ServingSolver("ideal")
    for i in (0, len(S) // 2, len(S) - 1):
        assert full_s[i] == pytest.approx(solver.solve("Llama3_8B", "H100", int(S[i])).ttft_s, rel=1e-9)
    # at long context the full model is above the line by the attention FLOPs: 2 L S^2 a
    s = 32768
    attn = 2 * 32 * s * s * 4096
    assert full_s[-1] == pytest.approx((2 * LLAMA3_8B_PARAMS * s + attn) / H100_FP16_FLOPS, rel=1e-6)
    assert c.attention_share == pytest.approx(1 - c.ttft_linear_s / c.result.ttft_s)
    assert 0 < c.attention_share < 1


# ----------------------------------------------------------------------------- RooflinePlot
def test_roofline_plot_ridges_and_points():
    r = mw.RooflinePlot(hardware=["H100", "A100"], workloads=["Llama3_8B", "ResNet50"], precision="fp16",
                        batch_size=1, seq_len=2048)
    assert r.ridges["H100"] == pytest.approx(H100_FP16_FLOPS / H100_BW)  # 295 FLOP/B
    assert r.ridges["A100"] == pytest.approx(312e12 / 2.039e12, rel=1e-3)  # A100 80GB SXM: 312 TFLOP/s, 2.039 TB/s
    assert list(r.ridge_marks.x) == pytest.approx([r.ridges["H100"], r.ridges["A100"]])
    assert len(r.roof_marks) == 2 and r.roofs is r.roof_marks[0]  # one line (colour + dash) per device
    assert r.roof_marks[0].y.max() == pytest.approx(989.5e12)  # FLOP/s plateau
    assert r.roof_marks[1].y.max() == pytest.approx(312e12)
    names = list(r.workload_marks.names)
    assert names == ["Llama3_8B prefill", "Llama3_8B decode", "ResNet50"]
    # decode at B=1, S=2048: F = 2P + 4 L S a, bytes = 2P + KV(S) -> intensity ~ 1 FLOP/B
    F = 2 * LLAMA3_8B_PARAMS + 4 * 32 * 2048 * 4096
    M = WEIGHTS_FP16 + 2048 * KV_PER_TOKEN_FP16
    assert r.workload_marks.x[1] == pytest.approx(F / M, rel=1e-9)
    assert r.workload_marks.y[1] == pytest.approx(H100_BW * F / M, rel=1e-9)  # memory-bound roof
    r.batch_size = 64
    assert r.workload_marks.x[1] > 30  # batching raises decode intensity
    assert r.workload_marks.tooltip is not None


# ----------------------------------------------------------------------------- HardwareComparison
def test_hardware_comparison_bars_equal_solver():
    h = mw.HardwareComparison(hardware=["A100", "H100"], precisions=["fp16", "fp8"], seq_len=4096, batch_size=4)
    s = ml.ServingSolver()
    assert h.ttft_bars.y.shape == (2, 2)
    for i, p in enumerate(["fp16", "fp8"]):
        for j, dev in enumerate(["A100", "H100"]):
            r = s.solve("Llama3_8B", dev, 4096, 4, p)
            assert h.ttft_bars.y[i, j] * h.y_units["ttft"][1] == pytest.approx(r.ttft_s)
            assert h.itl_bars.y[i, j] * h.y_units["itl"][1] == pytest.approx(r.itl_s)
            assert h.capacity_bars.y[i, j] == r.max_batch_size
    assert h.capacity_bars.y[0, 1] == hand_first_oom_batch(4096) - 1
    with pytest.raises(ml.ValidationError, match="one or two precisions"):
        h.precisions = ["fp16", "fp8", "int4"]


# ----------------------------------------------------------------------------- PredictionCheckpoint
def _ttft_answer():
    return ml.ServingSolver().solve("Llama3_8B", "H100", 4096).ttft


def test_checkpoint_headless_predict_lock_reveal(tmp_path):
    path = tmp_path / "preds.jsonl"
    cp = mw.PredictionCheckpoint("TTFT of Llama3_8B on H100 at 4096 tokens?", answer=_ttft_answer, unit="ms",
                                 key="ttft-q", path=str(path), explanation="Prefill is compute-bound: 2PS/peak.",
                                 tolerance_pct=50)
    cp.predict(0.12, "s")
    assert cp.prediction == pytest.approx(120.0)  # converted to the question's unit
    cp.lock()
    cp.reveal()
    truth = _ttft_answer().to("ms").magnitude
    assert cp.answer_value == pytest.approx(truth)
    assert cp.error_pct == pytest.approx((120.0 - truth) / truth * 100)
    rec = cp.record
    assert rec["key"] == "ttft-q" and rec["prediction"] == pytest.approx(120.0) and rec["unit"] == "ms"
    assert rec["within_tolerance"] == (abs(cp.error_pct) <= 50)
    assert rec["explanation"].startswith("Prefill")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["event"] for x in lines] == ["lock", "reveal"]
    back = mw.predictions(path)
    assert len(back) == 1 and back[0]["answer"] == pytest.approx(truth) and back[0]["locked_at"]
    assert f"{cp.error_pct:+.1f} %" in cp.answer_html.value


def test_locked_prediction_cannot_change(tmp_path):
    cp = mw.PredictionCheckpoint("How many tokens?", answer=ml.Q_(500, "token"), path=str(tmp_path / "p.jsonl"))
    cp.predict(120, "token").lock()
    with pytest.raises(mw.LockedPredictionError, match="locked at 120 tok"):
        cp.prediction = 500.0
    with pytest.raises(mw.LockedPredictionError):
        cp.predict(500, "token")
    with pytest.raises(ml.ValidationError, match="cannot be undone"):
        cp.set_trait("locked", False)
    with pytest.raises(traitlets.TraitError, match="read-only"):
        cp.locked = False
    cp.text.value = "500"
    cp.lock_button.click()  # the UI is frozen too; nothing changes, no traceback
    assert cp.prediction == 120.0 and cp.locked and cp.text.disabled
    cp.reveal()
    assert cp.error_pct == pytest.approx((120 - 500) / 500 * 100)
    assert mw.predictions(tmp_path / "p.jsonl")[0]["prediction"] == 120.0


def test_checkpoint_ui_and_unit_errors(tmp_path):
    cp = mw.PredictionCheckpoint("ITL?", answer=ml.Q_(8.0, "ms"), path="")
    cp.reveal_button.click()  # nothing typed: message in the widget, state unchanged
    assert "is empty" in cp.status.value and not cp.locked
    cp.text.value = "3 GB"
    cp.lock_button.click()
    assert "is in GB, which does not convert" in cp.status.value and "milliseconds (ms)" in cp.status.value and not cp.locked
    with pytest.raises(ml.ValidationError, match="no prediction to lock"):
        cp.lock()
    cp.text.value = "0.01 s"
    cp.lock_button.click()
    assert cp.locked and cp.prediction == pytest.approx(10.0)
    cp.reveal_button.click()
    assert cp.revealed and cp.error_pct == pytest.approx(25.0)
    assert "+25.0 %" in cp.answer_html.value


def test_checkpoint_default_path_is_next_to_the_notebook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLSYSLAB_PREDICTIONS", raising=False)
    cp = mw.PredictionCheckpoint("q?", answer=ml.Q_(2.0, "GB"), key="mem")
    cp.predict("1.5 GB").reveal()  # reveal locks first
    assert (tmp_path / "mlsyslab-predictions.jsonl").exists()
    assert [r["key"] for r in mw.predictions()] == ["mem"]
    assert mw.predictions(key="other") == []


# ----------------------------------------------------------------------------- headless, as nbgrader runs it
def test_notebook_executed_headless_is_quiet_and_saves_widget_state(tmp_path):
    """A real kernel runs a notebook with the widgets (as nbgrader/nbconvert do): no stderr, no
    error, the checkpoint behaves as in the UI, and the widget state is saved in the notebook."""
    import nbclient
    import nbformat

    cells = [
        "import warnings\nwarnings.simplefilter('error')\nimport mlsyslab as ml\nimport mlsyslab.widgets as mw",
        "e = mw.ServingExplorer(seq_len=4096, batch_size=131)\ne",
        "cp = mw.PredictionCheckpoint('TTFT?', answer=lambda: e.result.ttft, unit='ms', key='hq', path='p.jsonl')\n"
        "cp.predict(120, 'ms'); cp.lock(); cp.reveal()\ncp",
        "try:\n    cp.prediction = 1.0\nexcept mw.LockedPredictionError as exc:\n    print('refused:', exc)",
        "print(e.oom, len(mw.predictions('p.jsonl')))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "refused: prediction is locked at 120 ms" in text
    assert "True 1" in text  # batch 131 is past the hand-computed wall; one prediction on disk
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    names = {m["model_name"] for m in state.values()}
    assert {"BarsModel", "FigureModel", "HTMLModel", "BoundedIntTextModel", "DropdownModel"} <= names
    assert (tmp_path / "p.jsonl").exists()


def test_controls_can_be_restricted():
    e = mw.ServingExplorer(controls=("seq_len", "batch_size"))
    controls = e.view.children[0].children[0].children
    assert controls == (e.seq_len_slider, e.batch_slider)
    e.batch_size = 200
    assert e.oom  # the model still solves every input
    with pytest.raises(ml.ValidationError, match="not among this component's controls"):
        mw.ContextScaling(controls=("workloads",))


def test_checkpoint_for_a_count_takes_plain_numbers():
    """Counts (a batch size) are dimensionless: a bare number is the prediction, no unit shown."""
    cp = mw.PredictionCheckpoint("Largest batch of 4096-token requests on one H100?", unit="dimensionless",
                                 answer=lambda: ml.ServingSolver().max_batch_size("Llama3_8B", "H100", 4096),
                                 path="")
    cp.text.value = "100"
    cp.reveal_button.click()
    assert cp.answer_value == hand_first_oom_batch(4096) - 1 == 130
    assert cp.error_pct == pytest.approx((100 - 130) / 130 * 100)
    assert "Answer: <b class='mlsyslab-answer'>130</b>" in cp.answer_html.value


def test_unknown_keyword_is_an_error_not_a_silent_warning():
    with pytest.raises(ml.ValidationError, match="no input 'batch'.*Did you mean 'batch_size'"):
        mw.ServingExplorer(batch=8)
    with pytest.raises(ml.ValidationError, match="no input 'hardwares'"):
        mw.HardwarePicker(hardwares="H100")


def test_rejected_combination_reverts_and_says_why():
    """GPT-2 has 12 heads: tensor_parallel=8 does not divide them. The input goes back, the view
    says why, the setter raises, and a pick in the UI snaps back instead of leaving stale state."""
    e = mw.ServingExplorer(model="GPT2", tensor_parallel=4)
    with pytest.raises(ml.ValidationError, match="does not divide GPT2's 12 attention heads"):
        e.tensor_parallel = 8
    assert e.tensor_parallel == 4 and e.result.tensor_parallel == 4
    assert "does not divide" in e.message.value
    e.tp_dropdown.value = 8  # the same from the control
    assert e.tensor_parallel == 4 and e.tp_dropdown.value == 4
    e.tp_dropdown.value = 2
    assert e.result.tensor_parallel == 2 and e.message.value == ""
    e.model_picker.dropdown.value = "Llama3_8B"
    assert e.model == "Llama3_8B" and e.result.model.key == "Llama3_8B"


def test_empty_predictions_env_var_falls_back_to_default_file(monkeypatch, tmp_path):
    """An empty $MLSYSLAB_PREDICTIONS means 'unset', not 'the current directory'."""
    from mlsyslab.widgets import prediction_checkpoint as pc

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLSYSLAB_PREDICTIONS", "")
    assert pc.default_path() == str(tmp_path / "mlsyslab-predictions.jsonl")


# ----------------------------------------------------------------------------- style (issue 13)
def test_numbers_for_humans_by_hand():
    from mlsyslab.widgets import style

    # 2.195e4 ms is 21.95 s: 3 significant figures in the unit chosen for the magnitude
    assert style.time_text(21.95) == "22.0 s"
    assert style.time_text(0.00981) == "9.81 ms" and style.time_text(4.2e-6) == "4.20 µs"
    assert style.time_text(3000.0) == "50.0 min"
    assert style.num(21950) == "22,000" and style.num(0.012345) == "0.0123" and style.num(999.6) == "1,000"
    assert style.bytes_text(2 * LLAMA3_8B_PARAMS) == "16.1 GB" and style.bytes_text(H100_BYTES) == "85.9 GB"
    # ticks: decades over a wide log range, 1-2-5 over a narrow one, at most max_ticks
    assert style.log_ticks(0.1, 1e4) == [0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0]
    assert style.log_ticks(3, 300) == [5, 10, 20, 50, 100, 200]
    assert style.log_ticks(1e-7, 1e4, 6) == [1e-7, 1e-5, 1e-3, 1e-1, 10.0, 1000.0]
    assert style.linear_ticks(22.0) == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert style.si_text(1e12) == "1T" and style.si_text(2e-3) == "2m"


def test_device_colours_are_okabe_ito_and_the_same_in_every_widget():
    from mlsyslab.widgets import style

    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#0072B2", "#CC79A7", "#D55E00"}
    assert {style.device_color(h.key) for h in ml.Hardware} <= okabe_ito - {"#D55E00"}  # vermillion means OOM
    h = mw.HardwareComparison(hardware=["A100", "H100", "H200", "B200", "MI300X"])
    r = mw.RooflinePlot(hardware=["H100", "B200"])
    assert list(h.ttft_bars.colors) == ["#56B4E9", "#0072B2", "#009E73", "#CC79A7", "#E69F00"]
    assert r.roof_marks[0].colors == [h.ttft_bars.colors[1]] and r.roof_marks[1].colors == [h.ttft_bars.colors[3]]
    # two devices of one colour in one figure: another free colour while there is one, then a second dash
    same = [k for k in (x.key for x in ml.Hardware) if style.device_color(k) == style.device_color("H100")][1]
    assert len(set(style.distinct_colors([same, "H100"]))) == 2
    assert style.distinct_colors([same, "H100"])[1] == "#0072B2"  # a fixed colour is kept
    six = style.distinct_styles(["A100", "H100", "H200", "B200", "MI300X", same])
    assert len({(s["color"], s["dash"]) for s in six}) == 6 and six[-1]["dash"] == "dashed"


def test_readouts_name_the_solver_mode():
    for cls in (mw.ServingExplorer, mw.MemoryWall, mw.ContextScaling, mw.RooflinePlot, mw.HardwareComparison):
        assert "data-mode='calibrated'" in cls().readout.value
        assert "data-mode='ideal'" in cls(efficiency="ideal").readout.value and "ideal roofline" in \
            cls(efficiency="ideal").readout.value


def test_infeasible_is_said_in_every_widget():
    # Llama-3-70B in fp16: 2 x 70.6e9 B = 141 GB of weights > the 85.9 GB of one H100
    c = mw.ContextScaling(model="Llama3_70B", hardware="H100", precision="fp16")
    assert "Does not fit" in c.readout.value and len(c.oom_line.x) == len(c.linear_line.x)
    assert "OOM at any seq_len" in c.figure.marks[-1].text[0]
    m = mw.MemoryWall(model="Llama3_70B", hardware="H100")
    assert "Does not fit" in m.readout.value and "tensor_parallel=2" in m.readout.value
    h = mw.HardwareComparison(hardware=["H100", "MI300X"], model="Llama3_70B")
    assert list(h.ttft_bars.x) == ["H100 (OOM)", "MI300X"] and h.ttft_bars.y[0] == 0.0
    e = mw.ServingExplorer(model="Llama3_70B")
    assert e.oom and e.oom_label.text[0].startswith("OOM: +")


def test_enter_in_the_prediction_box_locks():
    cp = mw.PredictionCheckpoint("ITL?", answer=ml.Q_(8.0, "ms"), path="")
    cp.text.value = "12 ms"
    cp.text._handle_string_msg(None, {"event": "submit"}, None)  # what the browser sends on Enter
    assert cp.locked and cp.prediction == 12.0 and cp.text.disabled


def test_bad_argument_renders_as_one_line_in_ipython():
    with pytest.raises(mw.InputError) as info:
        mw.ServingExplorer(hardware="H10O")
    lines = info.value._render_traceback_()  # what IPython / Jupyter print instead of a traceback
    assert "InputError" in lines[0] and "Did you mean 'H100'" in lines[0] and len(lines) == 2
    with pytest.raises(mw.InputError, match="efficiency=True is not allowed"):
        mw.ServingExplorer().efficiency = True
    for bad in (lambda: mw.PredictionCheckpoint(None, answer=1.0, unit="ms"),
                lambda: mw.PredictionCheckpoint("q?", answer=1.0),  # a plain number needs unit=
                lambda: mw.ContextScaling(max_seq_len="x"), lambda: mw.RooflinePlot(hardware=[])):
        with pytest.raises(mw.InputError) as info:
            bad()
        assert len(info.value._render_traceback_()) == 2


def test_docs_show_every_widget_in_light_and_dark(repo_root):
    """docs/widgets.md shows a screenshot of every widget class, light and dark, taken by the docs
    build (docs/_ext/widget_screenshots.py)."""
    sys.path.insert(0, str(repo_root / "docs" / "_ext"))
    import widget_screenshots

    page = (repo_root / "docs" / "widgets.md").read_text(encoding="utf-8")
    cells = " ".join(code for _, code in widget_screenshots.WIDGETS)
    shown = {n for n in mw.__all__ if isinstance(getattr(mw, n), type) and f"mw.{n}(" in cells}
    widget_classes = {n for n in mw.__all__ if isinstance(getattr(mw, n), type) and n not in
                      ("Component", "InputError", "LockedPredictionError")}
    assert shown == widget_classes
    for name, _ in widget_screenshots.WIDGETS:
        for theme in ("light", "dark"):
            assert f"(_static/widgets/{name}-{theme}.png)" in page, (name, theme)
