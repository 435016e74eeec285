"""Build the instructor notebooks autograder/source/<lab>/<lab>.ipynb from scripts/labdefs/.

    .venv/bin/python scripts/build_labs.py            # all labs defined
    .venv/bin/python scripts/build_labs.py lab2_kv_cache

Then ``mlsyslab grade release`` generates the student versions (autograder/release, labs/).
The Voila explorers ``labs/explorers/<lab>.ipynb`` (widgets only) are written here directly.
"""

from __future__ import annotations

import importlib
import pathlib
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from labdefs import LABS  # noqa: E402

KERNEL = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}


def notebook(lab: str):
    """The instructor notebook of ``lab`` built from its definition (not written)."""
    module = importlib.import_module(f"labdefs.{lab}")
    nb = nbformat.v4.new_notebook(metadata=dict(KERNEL, title=module.TITLE))
    for cell in module.CELLS:
        make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}[cell["cell_type"]]
        source = cell["source"]
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("predict_"):  # prediction keys are unique across labs: "lab2:cp_oom"
            name = grade_id[len("predict_"):]
            source = source.replace(f"key={name!r}", f"key={lab + ':' + name!r}")
        source = source.replace("open_lab(__LAB__", f"open_lab({lab!r}".replace("'", '"'))
        nb.cells.append(make(source, metadata=cell["metadata"]))
    if lab in EXPLORERS:  # the Voila explorer of the same topic, linked from the lab's first cell
        nb.cells[0].source += (f"\n\n*Explore without code:* [{EXPLORERS[lab][0]}](explorers/{lab}.ipynb), widgets "
                               f"only, meant for Voila (`voila labs/explorers/{lab}.ipynb`); this lab itself is a "
                               "notebook to run and edit in JupyterLab, not a Voila page.")
    for i, cell in enumerate(nb.cells):  # stable ids, so rebuilding does not churn the files
        cell["id"] = f"{lab.split('_')[0]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def build(lab: str) -> pathlib.Path:
    nb = notebook(lab)
    path = ROOT / "autograder" / "source" / lab / f"{lab}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


#: labs/explorers/<name>.ipynb: widgets only, short text, for Voila (one per lab topic with a widget)
EXPLORERS = {
    "lab1_roofline": ("Roofline explorer", """
        Where does a model sit on a GPU's roofline? Pick devices and workloads: a point left of
        the ridge is memory-bound (bytes limit it), right of it compute-bound (FLOPs limit it).
        """, 'RooflinePlot(hardware=["H100", "A100", "L4"], workloads=["ResNet50", "Llama3_8B", "BERT_Base"])'),
    "lab2_kv_cache": ("KV-cache memory wall explorer", """
        Weights are paid once; the KV-cache grows with batch x context. Move the batch and the
        context: the first out-of-memory point is the memory wall (ideal roofline, as in lab 2).
        """, 'MemoryWall(model="Llama3_8B", hardware="H100", seq_len=4096, batch_size=8, efficiency="ideal")'),
    "lab3_quantization": ("Quantization explorer", """
        Fewer bytes per value speed up what is memory-bound. Compare devices and precisions:
        decode (ITL) gains from int8, prefill (TTFT) only where the silicon has a faster path.
        """, 'HardwareComparison(hardware=["A100", "H100", "H200", "MI300X"], precisions=["fp16", "int8"], '
             'model="Llama3_8B", seq_len=4096, batch_size=4, efficiency="ideal")'),
    "lab4_context_scaling": ("Context scaling explorer", """
        "2 FLOPs per parameter per token" ignores attention, which grows with the square of the
        context. Change the context: the readout gives attention's share of prefill FLOPs.
        """, 'ContextScaling(model="Llama3_8B", hardware="H100", seq_len=8192, efficiency="ideal")'),
    "lab5_hardware_sla": ("Serving explorer", """
        Time to first token, time per output token and memory of one model on one device: change
        the model, the device, the context and the batch, and watch which limit binds first.
        """, 'ServingExplorer(model="Llama3_8B", hardware="H100", seq_len=2048, batch_size=16)'),
    "lab8_batching": ("Serving under load explorer", """
        A server with continuous batching under a stream of requests: raise the arrival rate and
        watch p99 TTFT explode at the capacity line, goodput fall under the SLA, the KV-cache fill.
        """, 'LoadExplorer(model="Llama3_8B", hardware="H100", input_tokens=1024, output_tokens=256, max_num_seqs=64, '
             'arrival_rate=15, ttft_sla=500, itl_sla=30, efficiency="ideal")'),
}


def explorer(lab: str):
    """The Voila explorer of ``lab``: a title, two sentences and one widget (its code hidden)."""
    title, text, widget = EXPLORERS[lab]
    nb = nbformat.v4.new_notebook(metadata=dict(KERNEL, title=title))
    name = widget.split("(")[0]
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"# {title}\n\n" + " ".join(text.split()) + f"\n\nNo code to edit: this page is meant for Voila. The "
        f"graded lab is [{lab}](../{lab}.ipynb); every readout says its solver mode (ideal or calibrated)."))
    nb.cells.append(nbformat.v4.new_code_cell(f"from mlsyslab.widgets import {name}\n\n{widget}",
                                              metadata={"jupyter": {"source_hidden": True}}))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"explore-{lab.split('_')[0]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def build_explorer(lab: str) -> pathlib.Path:
    path = ROOT / "labs" / "explorers" / f"{lab}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(explorer(lab), path)
    return path


def defined() -> list[str]:
    return [lab for lab in LABS if (ROOT / "scripts" / "labdefs" / f"{lab}.py").exists()]


if __name__ == "__main__":
    for lab in sys.argv[1:] or defined():
        print(build(lab).relative_to(ROOT))
        if lab in EXPLORERS:
            print(build_explorer(lab).relative_to(ROOT))
