"""The Evidently HTML report a monitor run keeps, written so its data cannot run as script.

Evidently 0.7 embeds the report's data (column names, category values…) as raw JSON in a
``<script>`` block, where a value such as ``</script><script>…`` ends the block and runs.
:func:`seal` escapes that block's JSON with :func:`~kernel_magics.shared.script_json.script_safe`.
Reports are also only ever shown sandboxed (served with ``Content-Security-Policy: sandbox
allow-scripts``, framed without same-origin), which contains reports written before this.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from ..shared.script_json import script_safe

log = logging.getLogger(__name__)

#: Evidently's data block: ``<script>\n    var metric_<id> = {...};\n    var
#: additional_graphs_metric_<id> = {...};\n</script>``. JSON strings cannot hold a raw
#: newline, so the first ``;\n</script>`` after the start is the block's real end.
_START = re.compile(r"<script>\s*var (metric_[0-9a-f]+) = ")
_END = ";\n</script>"


def seal(html: str) -> str:
    """``html`` with the JSON of Evidently's data block escaped (unchanged when the block is
    not found, e.g. another Evidently layout: the sandbox still contains it)."""
    start = _START.search(html)
    if start is None:
        log.warning("Evidently report layout not recognised; its data was not escaped")
        return html
    body_from = start.end()
    end = html.find(_END, body_from)
    if end < 0:
        log.warning("Evidently report data block has no end; its data was not escaped")
        return html
    return html[:body_from] + script_safe(html[body_from:end]) + html[end:]


def write_report(snapshot: Any, path: Path) -> Path:
    """Render an Evidently snapshot to ``path`` as sealed HTML."""
    path.write_text(seal(snapshot.get_html_str(as_iframe=False)), encoding="utf-8")
    return path
