"""A 500-node lineage answer for the browser test of the lineage tab's readability (issue 17:
"stays readable at 500 nodes, with grouping by notebook and by collapsing old versions").

Building a lakehouse with 500 lineage nodes takes minutes of kernels and model versions; what
the test checks is the tab's layout of such an answer, so the answer is made here in the
shape ``GET lineage`` sends and validated against the REST contract's ``LineageGraph`` (the
same model every real answer is checked against in tests/test_rest_contract.py). The browser
test serves it for the lineage of ``feature_group:wide_events``.

The shape is a team lakehouse after a season of daily runs: three notebooks of two steps
each, 40 runs per step, four feature groups of 25 versions, two views of 10 versions,
40 training sets, 60 model versions with three aliases, two deployments, three monitors with
their results and alerts, and an outcome.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
NOTEBOOKS = ["/srv/team/ingest.ipynb", "/srv/team/aggregate.ipynb", "/srv/team/train.ipynb"]


def wide_lineage() -> dict[str, Any]:
    """The answer, ``{"nodes": [...], "edges": [...]}``, with exactly 500 nodes."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def node(kind: str, name: str, version: str | None = None, *, day: int = 0,
             status: str | None = None, stale: bool = False, notebook: str | None = None,
             who: str = "ann") -> str:
        nid = f"{kind}:{name}" + (f"@{version}" if version is not None else "")
        nodes.append({"id": nid, "kind": kind, "name": name, "version": version, "who": who,
                      "created_at": (START + timedelta(days=day)).isoformat(),
                      "status": status, "stale": stale,
                      "reason": "read an older version of its inputs" if stale else None,
                      "notebook": notebook, "detail": {}})
        return nid

    def edge(source: str, target: str, relation: str) -> None:
        edges.append({"source": source, "target": target, "relation": relation, "detail": {}})

    groups = ["wide_events", "wide_sessions", "wide_users", "wide_merchants"]
    group_versions = {g: [node("feature_group", g, str(v), day=v * 4, who="bo" if i % 2 else "ann")
                          for v in range(1, 26)] for i, g in enumerate(groups)}
    # two steps per notebook, 40 runs each; a feature step's runs write its group's versions
    step_groups = {0: ["wide_events", "wide_sessions"], 1: ["wide_users", "wide_merchants"]}
    for n, nb in enumerate(NOTEBOOKS):
        short = nb.rsplit("/", 1)[1]
        for s in range(2):
            kind = "training" if n == 2 else "feature"
            step_name = f"model_{s}" if n == 2 else f"step_{n}_{s}"
            step = node("step", f"{short}::{kind}:{step_name}", notebook=nb)
            for r in range(40):
                status = "failed" if r % 13 == 5 else ("up_to_date" if r % 4 == 3 else "succeeded")
                run = node("run", f"r{n}{s}{r:02d}", day=r * 2, status=status, notebook=nb)
                edge(step, run, "ran")
                if n < 2 and status == "succeeded":
                    group = step_groups[n][s]
                    edge(run, group_versions[group][min(r * 25 // 40, 24)], "wrote")
    views = {}
    for view in ("wide_view", "wide_view_small"):
        views[view] = [node("feature_view", view, str(v), day=v * 10) for v in range(1, 11)]
        for v, vid in enumerate(views[view]):
            for g in groups[:3] if view == "wide_view" else groups[:2]:
                edge(group_versions[g][min(v * 25 // 10 + 2, 24)], vid, "made_from")
    training_sets = []
    for t in range(40):
        view = "wide_view" if t % 4 else "wide_view_small"
        ts = node("training_set", view, f"{t // 4 + 1}-{t:08x}", day=t * 2)
        edge(views[view][t // 4], ts, "made_from")
        training_sets.append(ts)
    models = []
    for v in range(1, 61):
        mv = node("model_version", "wide_model", str(v), day=v, status="registered",
                  stale=v in (58, 59))
        edge(training_sets[(v - 1) * 40 // 60], mv, "made_from")
        models.append(mv)
    aliases = {}
    for alias, version in (("production", 57), ("challenger", 60), ("staging", 59)):
        aliases[alias] = node("model_alias", "wide_model", alias, day=version)
        edge(models[version - 1], aliases[alias], "alias")
    deployments = [node("deployment", "wide_online", day=40), node("deployment", "wide_batch", day=41)]
    edge(aliases["production"], deployments[0], "serves")
    edge(aliases["challenger"], deployments[0], "serves")
    edge(aliases["production"], deployments[1], "serves")
    outcome = node("outcome", "wide_online", day=55)
    edge(deployments[0], outcome, "serving")
    alerts = 0
    for m, name in enumerate(("wide_drift", "wide_quality", "wide_batch_drift")):
        monitor = node("monitor", name, day=42 + m)
        edge(deployments[0 if m < 2 else 1], monitor, "read")
        for k in range(7 if m < 2 else 6):
            status = "drift" if k % 3 == 2 else "ok"
            result = node("monitor_result", name, str(k + 1), day=43 + k * 2, status=status)
            edge(monitor, result, "wrote")
            if status == "drift" and alerts < 5:
                alerts += 1
                alert = node("alert", name, str(alerts), day=43 + k * 2, status="open")
                edge(result, alert, "wrote")
                # an alert retrained the model: the training notebook's next run
                edge(alert, f"run:r2{k % 2}{(k * 5) % 40:02d}", "triggered")
    assert len(nodes) == 500, len(nodes)
    ids = {n["id"] for n in nodes}
    assert len(ids) == 500 and all(e["source"] in ids and e["target"] in ids for e in edges)
    return {"nodes": nodes, "edges": edges}


def validated() -> dict[str, Any]:
    """The answer, checked against the REST contract's ``LineageGraph``."""
    from kernel_magics.doors.rest.contract import LineageGraph
    graph = wide_lineage()
    LineageGraph.model_validate(graph)
    return graph
