"""HTML for feature groups and commits in notebooks (theme-aware, compact)."""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .html import Raw, badge, card, table

if TYPE_CHECKING:  # pragma: no cover
    from ..features.groups import CommitInfo, FeatureGroup

_OK, _WARN = "#2e7d32", "#f57c00"


def _schema_html(schema: list[dict] | None, keys: list[str], event_time: str) -> Raw:
    if not schema:
        return Raw("<i>fixed by the first insert</i>")
    parts = []
    for col in schema:
        role = " 🔑" if col["name"] in keys else (" ⏱" if col["name"] == event_time else "")
        parts.append(f"<code>{escape(col['name'])}</code>{role} "
                     f"<span style='opacity:.7'>{escape(col['type'])}</span>")
    return Raw(", ".join(parts))


def commit_html(info: "CommitInfo") -> str:
    if info.delta_version is None:
        return card(f"Feature group {info.group} v{info.version}",
                    [("rows", "0: nothing to insert, no commit")], subtitle=info.mode)
    checks = Raw(" ".join(badge("✓ " + c, _OK) for c in info.checks_passed) or "none")
    rows = [("rows", f"{info.rows:,} ({info.mode})"),
            ("commit", f"Delta version {info.delta_version} (#{info.commit_seq})"),
            ("schema", _schema_html(info.schema, [], "")),
            ("checks passed", checks),
            ("time", f"{info.duration_s * 1000:,.0f} ms")]
    if info.added_columns:
        rows.append(("new columns", ", ".join(info.added_columns)))
    if info.online_rows is not None:
        rows.append(("online", f"{info.online_rows:,} keys updated"))
    return card(f"Feature group {info.group} v{info.version}", rows,
                subtitle=f"inserted {info.created_at[:19].replace('T', ' ')} UTC")


def group_html(fg: "FeatureGroup") -> str:
    d = fg.to_dict()
    rows = [("keys", ", ".join(fg.keys)), ("event time", fg.event_time),
            ("schema", _schema_html(d["schema"], fg.keys, fg.event_time)),
            ("online", badge("online", _OK) if fg.online else "offline only"),
            ("commits", f"{d['commits']} (Delta version {d['delta_version']})"
             if d["commits"] else "none yet"),
            ("table", Raw(f"<code>{escape(d['table_path'])}</code>"))]
    if fg.checks:
        rows.append(("checks", Raw("<br>".join(f"<code>{escape(c)}</code>" for c in fg.checks))))
    if fg.description:
        rows.insert(0, ("description", fg.description))
    return card(f"Feature group {fg.name}", rows, subtitle=f"v{fg.version}")


def groups_html(groups: list["FeatureGroup"]) -> str:
    return table(["name", "version", "keys", "event time", "online"],
                 ([g.name, g.version, ", ".join(g.keys), g.event_time,
                   "yes" if g.online else "no"] for g in groups))
