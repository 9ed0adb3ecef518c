"""HTML of deployments (``Deployment.describe()``) and batch results."""
from __future__ import annotations

from typing import Any

from ..shared.routes import predict_path
from .html import Raw, card


def deployment_html(info: dict[str, Any]) -> str:
    """One deployment: what it serves now, where, and its serving statistics."""
    serving = info.get("serving", {})
    stats = info.get("stats", {})
    rows = [("model", f"{info['model']} "
             + (f"@{info['alias']}" if info.get("alias") else f"v{info.get('version')}")),
            ("serving", f"v{serving['version']}" if "version" in serving
             else serving.get("error", "")),
            ("view", f"{serving.get('view')} v{serving.get('view_version')}"
             if serving.get("view") else "(none: rows are the model's input)"),
            ("kind", info.get("kind")),
            ("endpoint", predict_path(info["name"])),
            ("requests", stats.get("requests", 0)),
            ("errors", stats.get("errors", 0))]
    if stats.get("dead_letter_rows"):
        rows.append(("not logged", f"{stats['dead_letter_rows']} row(s) kept in "
                                   f"{info.get('dead_letter_file', 'the dead-letter file')}"))
    if stats.get("latency_p50_ms") is not None:
        rows.append(("latency p50 / p99",
                     f"{stats['latency_p50_ms']:.2f} / {stats['latency_p99_ms']:.2f} ms"))
    return card(f"Deployment {info['name']}", rows)


def batch_html(d: dict[str, Any], preview: str = "") -> str:
    """One batch run (``BatchResult.to_dict()``) and a preview table of its first rows."""
    window = f"{d['start'] or '…'} → {d['end'] or '…'}"
    rows = [("model", f"{d['model']} v{d['version']}"), ("rows scored", f"{d['rows']:,}"),
            ("window", window), ("time", f"{d['seconds']:.2f} s"),
            ("written to", f"{d['output']} ({d['path']})")]
    return card(f"Inference {d['deployment']}", rows) + (Raw(preview) if preview else "")
