"""Jupyter widgets for mlsyslab: components bound to the solvers (ipywidgets + bqplot + traitlets).

Imported only when used (``import mlsyslab`` never loads ipywidgets or bqplot)::

    from mlsyslab.widgets import ServingExplorer, PredictionCheckpoint
    ServingExplorer(model="Llama3_8B", hardware="H100", seq_len=4096, batch_size=8)

Each component is a traits model (inputs such as ``model``, ``hardware``, ``seq_len``; outputs
such as ``result``) with a ``view``; displaying the component displays the view. See
docs/widgets.md.
"""

from __future__ import annotations

import warnings as _warnings

with _warnings.catch_warnings():
    # bqscales (bqplot's scales) passes metadata through a traitlets constructor at import time;
    # the DeprecationWarning it raises is not ours to fix and must not reach notebook stderr.
    _warnings.simplefilter("ignore", DeprecationWarning)
    from ..extras import require as _require

    # without the extra: one line naming it (mlsyslab.extras), not the bare ModuleNotFoundError of bqplot
    _require("widgets", "mlsyslab.widgets")

from .component import Component, InputError  # noqa: E402
from .context_scaling import ContextScaling  # noqa: E402
from .hardware_comparison import HardwareComparison  # noqa: E402
from .load_explorer import LoadExplorer  # noqa: E402
from .memory_wall import MemoryWall  # noqa: E402
from .pickers import HardwarePicker, ModelPicker, PrecisionPicker  # noqa: E402
from .prediction_checkpoint import LockedPredictionError, PredictionCheckpoint, predictions  # noqa: E402
from .roofline_plot import RooflinePlot  # noqa: E402
from .serving_explorer import ServingExplorer  # noqa: E402

__all__ = ["Component", "InputError", "ModelPicker", "HardwarePicker", "PrecisionPicker", "ServingExplorer", "MemoryWall",
           "RooflinePlot", "ContextScaling", "HardwareComparison", "LoadExplorer",
           "PredictionCheckpoint", "LockedPredictionError", "predictions"]
