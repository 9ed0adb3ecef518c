"""HTML of a lineage graph (``LineageGraph.to_dict()``): its nodes by kind, stale ones marked."""
from __future__ import annotations

from typing import Any

from .colours import GREY, RUN_STATUS, WARN
from html import escape

from .html import Raw, badge, table


def graph_html(d: dict[str, Any], limit: int = 200) -> str:
    """The nodes of a graph as a table (kind, name, version, who, when, state)."""
    rows = []
    for n in d["nodes"][:limit]:
        if n["stale"]:
            state: Any = Raw(f"{badge('stale', WARN)} {escape(n['reason'] or '')}")
        else:
            state = badge(n["status"], RUN_STATUS.get(n["status"], GREY)) if n["status"] else ""
        rows.append([n["kind"].replace("_", " "), n["name"], n["version"] or "", n["who"] or "",
                     (n["created_at"] or "")[:19], state])
    more = len(d["nodes"]) - limit
    title = (f"<b>Lineage</b>: {len(d['nodes'])} nodes, {len(d['edges'])} edges"
             + (f" ({more} more not shown)" if more > 0 else ""))
    return f"<div>{title}</div>" + table(["kind", "name", "version", "made by", "when", "state"],
                                         rows)
