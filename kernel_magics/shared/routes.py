"""Where the REST door serves things, for the doors and the notebook views that link to them.

Paths are relative to the Jupyter server's ``base_url`` (a notebook link prefixes it; the
sidebar's requests go through JupyterLab's own ``ServerConnection``). The handlers' route
patterns (``doors.rest``) and these paths are one scheme: ``API`` then the resource.
"""
from __future__ import annotations

#: where the REST door is mounted, below the server's base_url
API = "lakebook/api"


def predict_path(deployment: str) -> str:
    """Online predictions of ``deployment``."""
    return f"/{API}/deployments/{deployment}/predict"


def report_path(monitor: str, result_id: int) -> str:
    """The Evidently HTML of one monitor result (relative to base_url, no leading slash)."""
    return f"{API}/monitors/{monitor}/reports/{result_id}.html"


def run_output_path(run_id: str) -> str:
    """The executed notebook of a run, as a download (relative to base_url)."""
    return f"{API}/runs/{run_id}/output?download=1"
