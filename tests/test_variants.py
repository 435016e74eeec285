"""Per-student variants: the draw, the course switch and seed, figures hand-computed per variant
for labs 2-4, the ``mlsyslab grade variant`` command, and grading per student in the real
nbgrader pipeline (a typed-in copy of another student's numbers earns at most half the points).

Hand figures use datasheet / model-card constants written here, not the zoo:
parameter counts are the Hugging Face checkpoints' fp16 ``total_size`` / 2; HBM is in GiB.
"""

from __future__ import annotations

import json
import math
import pathlib
import shutil
import subprocess
import sys

import nbformat
import pytest

from mlsyslab.labs import variants
from mlsyslab.labs.variants import Variant, spec

ROOT = pathlib.Path(__file__).resolve().parent.parent
GIB = 2**30

# model cards (config.json): layers, query heads, KV heads, head_dim, parameters
LLAMA31_8B = dict(L=32, H=32, Hkv=8, d=128, P=8_030_261_248)
LLAMA31_70B = dict(L=80, H=64, Hkv=8, d=128, P=70_553_706_496)
QWEN25_7B = dict(L=28, H=28, Hkv=4, d=128, P=7_615_616_512)
LLAMA32_1B = dict(L=16, H=32, Hkv=8, d=64, P=1_235_814_400)
LLAMA32_3B = dict(L=28, H=24, Hkv=8, d=128, P=3_212_749_824)
LLAMA2_13B = dict(L=40, H=40, Hkv=40, d=128, P=13_015_864_320)
PHI3_MINI = dict(L=32, H=32, Hkv=32, d=96, P=3_821_079_552)
# datasheets: HBM bytes, bandwidth B/s, dense fp16 FLOP/s
H100 = dict(C=80 * GIB, BW=3.35e12, F=989.5e12)
H200 = dict(C=141 * GIB, BW=4.8e12, F=989.5e12)
A100 = dict(C=80 * GIB, BW=2.039e12, F=312e12)
MI300X = dict(C=192 * GIB, BW=5.3e12, F=1307.4e12)
L4 = dict(C=24 * GIB, BW=0.3e12, F=121e12)


def kv_token(m, b=2):
    return 2 * m["L"] * m["Hkv"] * m["d"] * b


def expected(lab: str, i: int) -> dict:
    """The key's expected values for variant ``i`` of ``lab`` (what lab.check() and the grader use)."""
    v = Variant(spec(lab).POOL[i], variant=i)
    return {item.id: item.expected() for items in spec(lab).cells(v).values() for item in items}


def approx(x):
    return pytest.approx(x, rel=1e-6)


# ----------------------------------------------------------------------------- the draw
def test_pools_have_at_least_four_distinct_variants_within_the_models_context():
    import mlsyslab as ml

    solver = ml.ServingSolver(efficiency="ideal")
    for lab in ("lab2_kv_cache", "lab3_quantization", "lab4_context_scaling", "lab5_hardware_sla"):
        pool = spec(lab).POOL
        assert len(pool) >= 4 and len({json.dumps(p, sort_keys=True) for p in pool}) == len(pool)
        assert pool[0]["model"] == "Llama3_8B"  # the default variant is the one the text was written for
        for p in pool:
            longest = max(val for key, val in p.items() if key.startswith("S"))
            assert solver.solve(p["model"], p.get("gpu", "H100"), longest).within_context_window, (lab, p)
            if "mha" in p:  # lab 2's MHA model at the exercise's context
                assert solver.solve(p["mha"], p["gpu"], p["S"]).within_context_window, (lab, p)


def test_draw_is_deterministic_anonymous_gets_the_default(monkeypatch):
    for name in ("MLSYSLAB_STUDENT_ID", "JUPYTERHUB_USER", "MLSYSLAB_VARIANTS", "MLSYSLAB_COURSE_SEED"):
        monkeypatch.delenv(name, raising=False)
    assert variants.student_id() is None
    assert variants.variant("lab2_kv_cache", use_env_student=True)["variant"] == 0
    # sha256("|lab2_kv_cache|alice") mod 6 = 3, the same in every process
    assert variants.variant("lab2_kv_cache", "alice") == variants.variant("lab2_kv_cache", "alice")
    assert variants.variant("lab2_kv_cache", "alice")["variant"] == 3
    drawn = {variants.variant("lab2_kv_cache", f"s{i}")["variant"] for i in range(60)}
    assert drawn == set(range(len(spec("lab2_kv_cache").POOL)))  # every variant is used


def test_who_is_the_student(monkeypatch):
    monkeypatch.delenv("MLSYSLAB_STUDENT_ID", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "hubuser")
    assert variants.student_id() == "hubuser"
    monkeypatch.setenv("MLSYSLAB_STUDENT_ID", "graded-id")  # the grader's id wins
    assert variants.student_id() == "graded-id"
    monkeypatch.delenv("MLSYSLAB_STUDENT_ID")
    monkeypatch.delenv("JUPYTERHUB_USER")
    variants.set_student("alice")
    assert variants.student_id() == "alice"
    with pytest.raises(ValueError, match="student_id"):
        variants.set_student("  ")


def test_course_switch_and_seed(monkeypatch):
    monkeypatch.delenv("MLSYSLAB_VARIANTS", raising=False)
    monkeypatch.delenv("MLSYSLAB_COURSE_SEED", raising=False)
    assert variants.variant("lab2_kv_cache", "alice", variants=False)["variant"] == 0  # baked switch off
    # sha256("fall2026|lab2_kv_cache|bob") mod 6 = 4 vs sha256("|lab2_kv_cache|bob") mod 6 = 3
    assert variants.variant("lab2_kv_cache", "bob")["variant"] == 3
    assert variants.variant("lab2_kv_cache", "bob", seed="fall2026")["variant"] == 4
    monkeypatch.setenv("MLSYSLAB_COURSE_SEED", "fall2026")  # the grader's environment wins over the baked seed
    assert variants.variant("lab2_kv_cache", "bob", seed="")["variant"] == 4
    monkeypatch.setenv("MLSYSLAB_VARIANTS", "0")
    assert variants.variant("lab2_kv_cache", "bob", variants=True)["variant"] == 0


def test_release_bakes_the_course_settings(monkeypatch):
    from mlsyslab.labs.release import BakeCourseSettings

    monkeypatch.setenv("MLSYSLAB_VARIANTS", "0")
    monkeypatch.setenv("MLSYSLAB_COURSE_SEED", 'fall "26"')
    nb = nbformat.read(ROOT / "labs" / "lab2_kv_cache.ipynb", 4)
    nb, _ = BakeCourseSettings().preprocess(nb, {})
    setup = next(c.source for c in nb.cells if "open_lab(" in c.source)
    assert 'open_lab("lab2_kv_cache", variants=False, seed="fall \\"26\\"")' in setup


def test_unknown_lab_or_parameter_is_named():
    with pytest.raises(ValueError, match="lab2_kv_cache"):
        variants.variant("lab2_kv_cach", "x")
    with pytest.raises(AttributeError, match="S_long"):
        variants.variant("lab2_kv_cache", "x").S_lon


# ----------------------------------------------------------------------------- hand figures per variant
def test_lab2_default_variant_figures():
    e = expected("lab2_kv_cache", 0)  # Llama-3.1-8B on an H100, 4096 / 32768 tokens, vs Llama-2-7B
    assert e["kv_bytes_per_token"] == 2 * 32 * 8 * 128 * 2 == 131072
    assert e["max_batch"] == (80 * GIB - 2 * 8_030_261_248) // (131072 * 4096) == 130
    assert e["max_batch_32k"] == 16 and e["llama2_max_batch"] == 33 and e["gqa_ratio"] == approx(4.0)


@pytest.mark.parametrize("i, m, gpu, S, S_long, mha", [
    (1, QWEN25_7B, A100, 4096, 32768, LLAMA2_13B),
    (3, LLAMA31_70B, MI300X, 4096, 32768, LLAMA2_13B),
    (4, LLAMA32_1B, L4, 2048, 65536, PHI3_MINI),
])
def test_lab2_variant_figures_by_hand(i, m, gpu, S, S_long, mha):
    e = expected("lab2_kv_cache", i)
    spare = gpu["C"] - 2 * m["P"]
    assert e["kv_bytes_per_token"] == kv_token(m)
    assert e["weights_bytes"] == approx(2 * m["P"])
    assert e["kv_bytes_per_sequence"] == kv_token(m) * S
    assert e["max_batch"] == spare // (kv_token(m) * S)
    assert e["max_batch_32k"] == spare // (kv_token(m) * S_long)
    assert e["kv_token_capacity"] == approx(spare / kv_token(m))
    assert e["gqa_ratio"] == approx(kv_token(mha) / kv_token(m))
    assert e["llama2_max_batch"] == (gpu["C"] - 2 * mha["P"]) // (kv_token(mha) * S)


def test_lab2_variant3_written_out():
    """Llama-3.1-70B on an MI300X (192 GiB): 2 x 80 x 8 x 128 x 2 = 327,680 B per token;
    (206,158,430,208 - 141,107,412,992) / (327,680 x 4096) = 48.5 -> 48 requests."""
    e = expected("lab2_kv_cache", 3)
    assert (e["kv_bytes_per_token"], e["max_batch"], e["max_batch_32k"], e["llama2_max_batch"]) == (327680, 48, 6, 53)


@pytest.mark.parametrize("i, m, gpu, S1, B1, S2, B2, S3", [
    (2, QWEN25_7B, H100, 4096, 8, 32768, 16, 8192),
    (1, LLAMA32_1B, H200, 8192, 2, 8192, 4, 2048),
])
def test_lab3_variant_figures_by_hand(i, m, gpu, S1, B1, S2, B2, S3):
    e = expected("lab3_quantization", i)
    W, kv1 = 2 * m["P"], kv_token(m) * S1 * B1
    assert e["itl_fp16_ms"] == approx((W + kv1) / gpu["BW"] * 1e3)
    assert e["itl_int8_ms"] == approx((W + kv1) / 2 / gpu["BW"] * 1e3)
    assert e["saved_weights_only_gb"] == approx(m["P"] / 1e9)
    assert e["saved_kv_only_gb"] == approx(kv_token(m, 1) * S2 * B2 / 1e9)
    assert e["bigger_saving"] == ("kv" if kv_token(m, 1) * S2 * B2 > m["P"] else "weights")
    a = m["H"] * m["d"]
    ttft = (2 * m["P"] * S3 + 2 * m["L"] * S3**2 * a) / gpu["F"] * 1e3  # no int4 path: int4 runs at fp16
    assert e["ttft_fp16_ms"] == approx(ttft) and e["ttft_int4_ms"] == approx(ttft)
    kv3 = kv_token(m) * S3
    assert e["itl_speedup_int4"] == approx((2 * m["P"] + kv3) / (0.5 * m["P"] + kv3))
    # A100's 2.039 TB/s is the slowest of the four: int8 saves the most milliseconds there
    assert e["gpu_most_ms_saved"] == "A100"


def test_lab3_variants_disagree_on_which_saving_is_bigger():
    """Qwen2.5-7B at 32768 x 16: KV int8 saves 57,344/2 x 524,288 = 15.0 GB > 7.6 GB of weights;
    Llama-3.2-1B at 8192 x 4: 16,384 x 32,768 = 0.54 GB < 1.24 GB."""
    assert expected("lab3_quantization", 2)["bigger_saving"] == "kv"
    assert expected("lab3_quantization", 1)["bigger_saving"] == "weights"


@pytest.mark.parametrize("i, m, gpu, S, S_long", [
    (1, LLAMA31_70B, MI300X, 8192, 131072),
    (3, LLAMA32_3B, H100, 16384, 131072),
    (0, LLAMA31_8B, H100, 8192, 131072),
])
def test_lab4_variant_figures_by_hand(i, m, gpu, S, S_long):
    e = expected("lab4_context_scaling", i)
    a = m["H"] * m["d"]
    lin, att = 2 * m["P"] * S, 2 * m["L"] * S**2 * a
    assert e["flops_linear_8k"] == approx(lin) and e["flops_attention_8k"] == approx(att)
    assert e["attention_fraction_8k"] == approx(att / (lin + att))
    assert e["crossover_tokens"] == approx(m["P"] / (m["L"] * a))
    assert e["ttft_128k_s"] == approx((2 * m["P"] * S_long + 2 * m["L"] * S_long**2 * a) / gpu["F"])
    assert e["itl_128k_ms"] == approx((2 * m["P"] + kv_token(m) * S_long) / gpu["BW"] * 1e3)


def test_lab4_default_share_is_the_exercise_figure():
    # 2 x 32 x 8192^2 x 4096 / (2 x 8.030e9 x 8192 + that) = 1.759e13 / 1.492e14 = 11.79 %
    assert expected("lab4_context_scaling", 0)["attention_fraction_8k"] == pytest.approx(0.1179, abs=5e-5)


def test_lab5_variant_figures_by_hand():
    """Llama-3.2-3B, 4096 tokens, ITL <= 15 ms: KV per sequence 2 x 28 x 8 x 128 x 2 x 4096 =
    469,762,048 B; H100 floor((3.35e12 x 0.015 - 6,425,499,648) / 469,762,048) = floor(93.3) = 93;
    A100 floor((2.039e12 x 0.015 - W) / ...) = 51; L4: 0.3e12 x 0.015 = 4.5 GB < W -> 0."""
    m, S, T = LLAMA32_3B, 4096, 0.015
    e = expected("lab5_hardware_sla", 3)
    kv_seq, W = kv_token(m) * S, 2 * m["P"]
    assert e["max_batch_h100"] == math.floor((H100["BW"] * T - W) / kv_seq) == 93
    assert e["max_batch_a100"] == math.floor((A100["BW"] * T - W) / kv_seq) == 51
    assert e["max_batch_l4"] == 0
    a = m["H"] * m["d"]
    assert e["ttft_h100_ms"] == approx((2 * m["P"] * S + 2 * m["L"] * S**2 * a) / H100["F"] * 1e3)
    assert e["ttft_l4_ms"] == approx((2 * m["P"] * S + 2 * m["L"] * S**2 * a) / L4["F"] * 1e3)


def test_keys_follow_the_student_id(monkeypatch):
    """The course key for 'alice' (lab 2 variant 3) expects her own numbers, the default key the default's."""
    monkeypatch.delenv("MLSYSLAB_VARIANTS", raising=False)
    monkeypatch.delenv("MLSYSLAB_COURSE_SEED", raising=False)
    from mlsyslab.grading import keys

    assert keys.get("lab2_kv_cache", student="alice", root=ROOT / "autograder").expected["max_batch"] == 48
    assert keys.get("lab2_kv_cache", root=ROOT / "autograder").expected["max_batch"] == 130


# ----------------------------------------------------------------------------- CLI
def test_grade_variant_cli(monkeypatch):
    monkeypatch.delenv("MLSYSLAB_VARIANTS", raising=False)
    monkeypatch.delenv("MLSYSLAB_COURSE_SEED", raising=False)
    run = lambda *a: subprocess.run([sys.executable, "-m", "mlsyslab", "grade", "variant", *a],  # noqa: E731
                                    capture_output=True, text=True, cwd=ROOT)
    out = run("lab2_kv_cache", "--student", "alice", "--json")
    assert out.returncode == 0 and out.stderr == ""
    data = json.loads(out.stdout)
    assert data["variant"] == 3 and data["parameters"] == {"model": "Llama3_70B", "gpu": "MI300X", "S": 4096,
                                                          "S_long": 32768, "mha": "Llama2_13B"}
    text = run("lab2_kv_cache", "--student", "alice")
    assert text.stdout.count("\n") == 1 and "variant 3 of 6" in text.stdout and "model = Llama3_70B" in text.stdout
    bad = run("lab2_kv", "--student", "alice")
    assert bad.returncode != 0 and "lab2_kv_cache" in bad.stderr and "Traceback" not in bad.stderr


# ----------------------------------------------------------------------------- the real nbgrader pipeline
# alice draws lab 2 variant 3 (Llama-3.1-70B, MI300X), ivan variant 1 (Qwen2.5-7B, A100) and erin
# variant 2 (Llama-3.2-3B, L40S). erin types in alice's numbers (hand-computed above) and copies
# her kv_cache_bytes() code: only the function's 2 hidden-test points can be right -> 2 / 14.
STUDENT_VARIANT = {"alice": 3, "ivan": 1, "erin": 2}
KV_FN = ("def kv_cache_bytes(model, seq_len, batch_size, bytes_per_value):\n"
         "    return 2 * model.layers * model.kv_heads * model.head_dim * bytes_per_value * seq_len * batch_size\n")
ALICE_NUMBERS = {
    "ans_kv_per_token": "kv_bytes_per_token = 327680",
    "ans_oom_batch": KV_FN + "weights_bytes = 141107412992\nkv_bytes_per_sequence = 1342177280\nmax_batch = 48\n",
    "ans_context_batch": "max_batch_32k = 6\nkv_token_capacity = 198519.95\n",
    "ans_gqa": "gqa_ratio = 2.5\nllama2_max_batch = 53\n",
}


@pytest.fixture(scope="module")
def graded_variants(tmp_path_factory):
    from support_grading import with_answers

    from mlsyslab.grading import course

    with pytest.MonkeyPatch.context() as mp:
        for name in ("MLSYSLAB_VARIANTS", "MLSYSLAB_COURSE_SEED", "MLSYSLAB_STUDENT_ID", "JUPYTERHUB_USER"):
            mp.delenv(name, raising=False)
        tmp = tmp_path_factory.mktemp("variants")
        home = tmp / "autograder"
        home.mkdir()
        shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
        (home / "source").mkdir()
        shutil.copytree(ROOT / "autograder" / "source" / "lab2_kv_cache", home / "source" / "lab2_kv_cache")
        shutil.copytree(ROOT / "autograder" / "keys", home / "keys")
        course.release(course=home, labs_dir=None)
        source = nbformat.read(home / "source" / "lab2_kv_cache" / "lab2_kv_cache.ipynb", 4)
        release = nbformat.read(home / "release" / "lab2_kv_cache" / "lab2_kv_cache.ipynb", 4)
        subs = tmp / "submissions"
        for student, nb in {"alice": source, "ivan": source, "erin": with_answers(release, ALICE_NUMBERS)}.items():
            (subs / student).mkdir(parents=True)
            nbformat.write(nb, subs / student / "lab2_kv_cache.ipynb")
        csv_path = course.autograde(subs, tmp / "out", course=home)
        return {"home": home, "csv": csv_path}


def _totals(graded) -> dict:
    import csv

    out: dict = {}
    for row in csv.DictReader(open(graded["csv"], encoding="utf-8")):
        got, best = out.get(row["student"], (0.0, 0.0))
        out[row["student"]] = (got + float(row["points"]), best + float(row["max_points"]))
    return out


@pytest.mark.nbgrader
@pytest.mark.timeout(600)
def test_each_student_is_graded_on_their_own_variant(graded_variants):
    totals = _totals(graded_variants)
    assert totals["alice"] == (14.0, 14.0) and totals["ivan"] == (14.0, 14.0)
    for student, i in STUDENT_VARIANT.items():  # the kernel drew the variant the grader graded
        nb = nbformat.read(graded_variants["home"] / "autograded" / student / "lab2_kv_cache" / "lab2_kv_cache.ipynb", 4)
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert f"variant {i} for student {student!r}" in text


@pytest.mark.nbgrader
@pytest.mark.timeout(600)
def test_a_copy_of_another_students_numbers_scores_at_most_half(graded_variants):
    got, best = _totals(graded_variants)["erin"]
    assert best == 14.0 and got <= best / 2
    assert got == 2.0  # only kv_cache_bytes(), code that works for everyone, on the hidden configurations
