"""HTML of the registry's objects (from their ``to_dict()``): versions, the model list, the
card a training shows, and the metric chart of the registry widget (an SVG drawn here: no
plotting library is needed in a kernel)."""
from __future__ import annotations

from html import escape
from typing import Any

from .colours import BAD, BLUE, GOOD
from .html import Raw, badge, card, table


def version_html(d: dict[str, Any]) -> str:
    """One model version (``ModelVersion.to_dict()``)."""
    rows: list[tuple[str, Any]] = []
    lineage = d.get("lineage") or {}
    if d["aliases"]:
        rows.append(("aliases", Raw(" ".join(badge(a, GOOD) for a in d["aliases"]))))
    if d["task"]:
        rows.append(("task", d["task"]))
    if d["metrics"]:
        rows.append(("metrics", ", ".join(f"{k} {v:.4g}" for k, v in d["metrics"].items())))
    view = lineage.get("view")
    if view:
        rows.append(("feature view", f"{view['name']} v{view.get('version')}"))
    pins = lineage.get("training_versions") or {}
    if pins:
        rows.append(("training data", ", ".join(f"{t}@{v}" for t, v in sorted(pins.items()))))
    feats = [c["name"] for c in (d.get("signature") or {}).get("inputs", [])]
    if feats:
        rows.append(("inputs", ", ".join(feats[:8]) + (" …" if len(feats) > 8 else "")))
    for key in ("notebook", "run_id"):
        if lineage.get(key):
            rows.append((key.replace("_", " "), lineage[key]))
    rows.append(("flavour", d["flavour"]))
    rows.append(("created", f"{d['created_at'][:19]} by {d['created_by'] or '?'}"))
    return card(f"{d['name']} v{d['version']}", rows,
                subtitle="deleted" if d["deleted"] else (d["description"] or ""))


def models_html(models: list[dict[str, Any]]) -> str:
    """The registry's models (``ModelRegistry.list()``)."""
    return table(["model", "versions", "latest", "aliases", "task"],
                 ([m["name"], m["versions"], m["latest_version"],
                   ", ".join(f"{a}→v{v}" for a, v in m["aliases"].items()), m["task"] or ""]
                  for m in models))


def training_card(result: dict[str, Any]) -> str:
    """The compact card a training shows (``TrainingResult.to_dict()``): the new version's
    metrics against the alias's version, what happened to the alias, what it was trained
    on."""
    mv, base = result["model_version"], result["baseline"]
    lineage = mv.get("lineage") or {}
    directions = result.get("directions") or {}
    rows: list[tuple[str, Any]] = [("task", f"{result['task']} on "
                                    f"{result['evaluation'].get('n_test', '?')} held-out rows")]
    columns = ["metric", f"v{mv['version']}"]
    if base is not None:
        columns += [f"{result['alias'] or result['compared_alias']} (v{base['version']})",
                    "change"]
    metric_rows = []
    for key, value in result["metrics"].items():
        row: list[Any] = [key, f"{value:.4g}"]
        if base is not None:
            old = base["metrics"].get(key)
            if old is None:
                row += ["–", ""]
            else:
                delta = value - old
                good = (delta > 0) == (directions.get(key, "higher") == "higher") and delta != 0
                colour = GOOD if good else (BAD if delta else "inherit")
                row += [f"{old:.4g}", Raw(f"<span style='color:{colour}'>{delta:+.4g}</span>")]
        metric_rows.append(row)
    rows.append(("metrics", Raw(table(columns, metric_rows))))
    if result["alias"]:
        note = result["promotion_note"]
        if result["promoted"]:
            rows.append(("alias", Raw(badge(result["alias"], GOOD) +
                                      (f" moved ({escape(note)})" if note else " set"))))
        else:
            rows.append(("alias", f"{result['alias']} not moved: {note}"))
    view = lineage.get("view")
    if view:
        pins = ", ".join(f"{t}@{v}" for t, v in
                         sorted((lineage.get("training_versions") or {}).items()))
        rows.append(("trained on", f"{view['name']} v{view.get('version')}"
                     + (f" ({pins})" if pins else "")))
    split = lineage.get("split") or {}
    if split:
        rows.append(("split", f"{split.get('train_rows')} train / {split.get('test_rows')} "
                     f"test" + (" by time" if split.get("by_time") else
                                f", seed {split.get('seed')}")))
    if lineage.get("notebook"):
        rows.append(("notebook", lineage["notebook"]))
    rows.append(("time taken", f"{result['duration_s']:.2f} s"))
    return card(f"{mv['name']} v{mv['version']} registered", rows, subtitle=result["estimator"])


def versions_table(versions: list[dict[str, Any]], metrics: list[str]) -> str:
    """Versions newest first with their metrics, aliases and view (the registry widget)."""
    rows = []
    for v in versions:
        view = ((v.get("lineage") or {}).get("view") or {}).get("name", "")
        rows.append([f"v{v['version']}", v["created_at"][:19].replace("T", " "),
                     v["task"] or "", *[f"{v['metrics'][m]:.4g}" if m in v["metrics"] else "–"
                                        for m in metrics],
                     Raw(" ".join(badge(a, GOOD) for a in v["aliases"])), view])
    return table(["version", "created", "task", *metrics, "aliases", "view"], rows)


def alias_moved_html(alias: str, version: int) -> str:
    return f"<span style='color:{GOOD}'>{escape(alias)} → v{version}</span>"


def error_html(message: str) -> str:
    return f"<span style='color:{BAD}'>{escape(message)}</span>"


def metric_chart_svg(points: list[tuple[int, float, list[str]]], metric: str,
                     higher_is_better: bool = True, width: int = 520, height: int = 200) -> str:
    """An SVG bar chart of ``metric`` per version: ``points`` are (version, value, aliases).

    The best version (by the metric's direction) is drawn in green. Bars start from zero, so
    negative values (``neg_…`` scorers) hang below the axis; positive values close together
    start from a labelled axis just below them, so small differences stay visible.
    """
    if not points:
        return (f"<div style='opacity:.7'>No version has metric {escape(metric)}.</div>")
    values = [v for _, v, _ in points]
    lo, hi = min(0.0, *values), max(0.0, *values)
    zoomed = False
    if min(values) > 0 and (max(values) - min(values)) < 0.5 * max(values):
        # close positive values (accuracy 0.90 vs 0.91): start the axis near them, and say so
        spread = max(values) - min(values)
        lo = max(0.0, min(values) - (spread if spread else 0.05 * min(values)))
        zoomed = lo > 0
    span = (hi - lo) or 1.0
    top, bottom, left = 18, 34, 8
    plot_h = height - top - bottom
    slot = (width - left * 2) / len(points)
    bar_w = max(4.0, min(48.0, slot * 0.6))
    best = (max if higher_is_better else min)(values)
    base = lo if zoomed else 0.0  # where bars start
    zero_y = top + plot_h * ((hi - base) / span)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"role='img' aria-label='{escape(metric)} by version' "
             "style='font-family: var(--jp-ui-font-family, sans-serif); font-size: 11px'>",
             f"<title>{escape(metric)} by version</title>",
             f"<line x1='{left}' x2='{width - left}' y1='{zero_y:.1f}' y2='{zero_y:.1f}' "
             "stroke='currentColor' stroke-opacity='.4'/>"]
    if zoomed:
        parts.append(f"<text x='{left}' y='{zero_y - 3:.1f}' fill='currentColor' "
                     f"fill-opacity='.6'>axis from {lo:.4g}</text>")
    for i, (version, value, aliases) in enumerate(points):
        x = left + slot * i + (slot - bar_w) / 2
        y_val = top + plot_h * ((hi - value) / span)
        y, h = min(y_val, zero_y), max(abs(zero_y - y_val), 1.0)
        colour = GOOD if value == best else BLUE
        cx = x + bar_w / 2
        parts.append(f"<rect class='bar' data-version='{version}' x='{x:.1f}' y='{y:.1f}' "
                     f"width='{bar_w:.1f}' height='{h:.1f}' fill='{colour}'>"
                     f"<title>v{version}: {value:.6g}</title></rect>")
        label_y = y - 4 if value >= 0 else y + h + 12
        parts.append(f"<text x='{cx:.1f}' y='{label_y:.1f}' text-anchor='middle' "
                     f"fill='currentColor'>{value:.4g}</text>")
        parts.append(f"<text x='{cx:.1f}' y='{height - bottom + 14}' text-anchor='middle' "
                     f"fill='currentColor'>v{version}</text>")
        if aliases:
            parts.append(f"<text x='{cx:.1f}' y='{height - bottom + 27}' text-anchor='middle' "
                         f"fill='{GOOD}'>{escape(', '.join(aliases))}</text>")
    parts.append("</svg>")
    return "".join(parts)
