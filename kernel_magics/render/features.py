"""HTML of the feature store's objects (from their ``to_dict()``): groups, commits, views."""
from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Any

from .colours import GOOD
from .html import Raw, badge, card, table


def _schema_html(schema: list[dict] | None, keys: list[str], event_time: str) -> Raw:
    if not schema:
        return Raw("<i>fixed by the first insert</i>")
    parts = []
    for col in schema:
        role = " 🔑" if col["name"] in keys else (" ⏱" if col["name"] == event_time else "")
        parts.append(f"<code>{escape(col['name'])}</code>{role} "
                     f"<span style='opacity:.7'>{escape(col['type'])}</span>")
    return Raw(", ".join(parts))


def commit_html(info: dict[str, Any]) -> str:
    """One insert (``CommitInfo.to_dict()``)."""
    title = f"Feature group {info['group']} v{info['version']}"
    if info["delta_version"] is None:
        return card(title, [("rows", "0: nothing to insert, no commit")], subtitle=info["mode"])
    checks = Raw(" ".join(badge("✓ " + c, GOOD) for c in info["checks_passed"]) or "none")
    rows = [("rows", f"{info['rows']:,} ({info['mode']})"),
            ("commit", f"Delta version {info['delta_version']} (#{info['commit_seq']})"),
            ("schema", _schema_html(info["schema"], [], "")),
            ("checks passed", checks),
            ("time", f"{info['duration_s'] * 1000:,.0f} ms")]
    if info["added_columns"]:
        rows.append(("new columns", ", ".join(info["added_columns"])))
    if info["online_rows"] is not None:
        rows.append(("online", f"{info['online_rows']:,} keys updated"))
    return card(title, rows,
                subtitle=f"inserted {info['created_at'][:19].replace('T', ' ')} UTC")


def group_html(d: dict[str, Any]) -> str:
    """One group version (``FeatureGroup.to_dict()``)."""
    rows = [("keys", ", ".join(d["keys"])), ("event time", d["event_time"]),
            ("schema", _schema_html(d["schema"], d["keys"], d["event_time"])),
            ("online", badge("online", GOOD) if d["online"] else "offline only"),
            ("commits", f"{d['commits']} (Delta version {d['delta_version']})"
             if d["commits"] else "none yet"),
            ("table", Raw(f"<code>{escape(d['table_path'])}</code>"))]
    if d["checks"]:
        rows.append(("checks", Raw("<br>".join(f"<code>{escape(c)}</code>"
                                               for c in d["checks"]))))
    if d["description"]:
        rows.insert(0, ("description", d["description"]))
    return card(f"Feature group {d['name']}", rows, subtitle=f"v{d['version']}")


def groups_html(groups: list[dict[str, Any]]) -> str:
    """The feature store's groups (``name, version, keys, event_time, online`` each)."""
    return table(["name", "version", "keys", "event time", "online"],
                 ([g["name"], g["version"], ", ".join(g["keys"]), g["event_time"],
                   "yes" if g["online"] else "no"] for g in groups))


def view_html(d: dict[str, Any]) -> str:
    """One view version (``FeatureView.to_dict()``)."""
    joins = ", ".join(
        f"{j['group']} v{j['version']} on {', '.join(p[0] for p in j['on'])}"
        + (f" (ttl {timedelta(seconds=j['ttl_s'])})" if j["ttl_s"] is not None else "")
        for j in d["joins"]) or "(spine only)"
    rows = [("spine", f"{d['spine']['group']} v{d['spine']['version']}"),
            ("keys", ", ".join(d["keys"])), ("event time", d["event_time"]),
            ("joins", joins), ("features", ", ".join(d["features"]) or "(none)"),
            ("labels", ", ".join(d["labels"]) or "(none)")]
    if d["description"]:
        rows.append(("description", d["description"]))
    return card(f"Feature view {d['name']}", rows, subtitle=f"v{d['version']}")
