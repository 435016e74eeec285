"""Everything a lab page needs is served locally: MathJax in Voila.

Voila 0.5 asks a CDN for MathJax 2 unless its page configuration says ``"null"`` for both the
MathJax URL and configuration; then it typesets with the MathJax 3 that JupyterLab bundles (no
network). :data:`SERVER_ARGS` sets that on a Jupyter server (JupyterLab with Voila's extension,
``/voila/render/...``; ``mlsyslab lab`` passes them), :data:`VOILA_ARGS` on the standalone
``voila`` command (``voila $(python -m mlsyslab.labs.offline) labs/explorers/lab2_kv_cache.ipynb``).
The docs build copies MathJax 3 from the ``sphinx-mathjax-offline`` wheel (docs/_ext/offline_math.py).
"""

from __future__ import annotations

#: Voila's page-config values that select the bundled MathJax 3 instead of the CDN's MathJax 2
SETTINGS = {"mathjax_url": "null", "mathjax_config": "null"}

#: for ``jupyter lab`` / ``jupyter server`` (the Voila server extension reads the web app's settings)
SERVER_ARGS = tuple(f"--ServerApp.tornado_settings={k}={v}" for k, v in SETTINGS.items())

#: for the standalone ``voila`` command
VOILA_ARGS = tuple(f"--Voila.{k}={v}" for k, v in SETTINGS.items())

if __name__ == "__main__":
    print(" ".join(VOILA_ARGS))
