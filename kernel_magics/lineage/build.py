"""The lineage graph built from the recorded events, with staleness and statuses marked.

Edges point the way data flowed: a read is ``object -> reader``, a write ``writer -> object``,
and an object's inputs ``input -> object`` (``made_from``). The reader or writer is the run
when there is one (its step points at it: ``ran``), else the step cell, the plain cell, the
notebook or, for a script, ``user@host``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .graph import LineageGraph, Node

# what a consumer of a stale object is called, by its kind
_MADE = {"model_version": "trained on", "deployment": "serves", "training_set": "read",
         "model_alias": "points at"}


def _basename(path: str | None) -> str:
    return Path(path).name if path else "?"


def _actor(g: LineageGraph, e: dict[str, Any]) -> str:
    step = None
    if e.get("step"):
        step = g.add_node("step", f"{_basename(e['notebook'])}::{e['step']}",
                          notebook=e.get("notebook"), who=e.get("who"),
                          created_at=e.get("created_at"))
    if e.get("run_id"):
        run = g.add_node("run", e["run_id"], who=e.get("who"), created_at=e.get("created_at"),
                         notebook=e.get("notebook"))
        if step is not None:
            g.add_edge(step.id, run.id, "ran")
        elif e.get("notebook"):
            nb = g.add_node("notebook", _basename(e["notebook"]), notebook=e["notebook"])
            g.add_edge(nb.id, run.id, "ran")
        return run.id
    if step is not None:
        return step.id
    if e.get("notebook") and e.get("cell_id"):
        return g.add_node("cell", f"{_basename(e['notebook'])}#{str(e['cell_id'])[:8]}",
                          notebook=e["notebook"], who=e.get("who"),
                          created_at=e.get("created_at")).id
    if e.get("notebook"):
        return g.add_node("notebook", _basename(e["notebook"]), notebook=e["notebook"]).id
    pid = (e.get("detail") or {}).get("pid")
    return g.add_node("session", f"{e.get('who') or '?'}@{e.get('host') or '?'}"
                      + (f":{pid}" if pid else ""), created_at=e.get("created_at")).id


def _edge_detail(detail: dict[str, Any], created_at: str | None) -> dict[str, Any]:
    out = {k: detail[k] for k in ("delta_version", "rows", "alias", "since") if k in detail}
    if created_at:
        out["at"] = created_at
    return out


def build_graph(lh: Any, events: list[dict[str, Any]]) -> LineageGraph:
    """The graph of ``events`` (oldest first), marked against the lakehouse's current state."""
    g = LineageGraph()
    alias_to: dict[str, str] = {}          # alias node -> the model version node it points at
    served: dict[str, str] = {}            # deployment node -> the model version it answers with
    defined: dict[str, str] = {}           # deployment node -> the alias or version it names
    for e in events:
        actor = _actor(g, e)
        write = e["op"] == "write"
        node = g.add_node(e["kind"], e["name"], e["version"],
                          who=e.get("who") if write else None,
                          created_at=e.get("created_at") if write else None,
                          detail={k: v for k, v in e["detail"].items()
                                  if k not in ("delta_version", "rows", "since", "pid", "arms")} or None)
        if write:
            g.add_edge(actor, node.id, "wrote", _edge_detail(e["detail"], e.get("created_at")))
        else:
            g.add_edge(node.id, actor, "read", _edge_detail(e["detail"], e.get("created_at")))
        for inp in e["inputs"]:
            source = g.add_node(inp["kind"], inp["name"], inp.get("version"))
            relation = "made_from"
            if node.kind == "model_alias" and source.kind == "model_version":
                alias_to[node.id] = source.id
                relation = "alias"
            elif node.kind == "deployment" and source.kind == "model_alias":
                defined[node.id] = source.id
                relation = "serves"
            elif node.kind == "deployment" and source.kind == "model_version":
                if "since" in e["detail"]:   # the model it loaded and answers with now
                    served[node.id] = source.id
                    relation = "serving"
                else:                        # deployed pinned to this version
                    defined[node.id] = source.id
                    relation = "serves"
            g.add_edge(source.id, node.id, relation, _edge_detail(inp, e.get("created_at")))
    for edge in g.edges:  # an alias that moved on: its old versions are history
        if edge.relation == "alias" and alias_to.get(edge.target) != edge.source:
            edge.relation = "was_alias"
        if edge.relation == "serves" and defined.get(edge.target) != edge.source:
            edge.relation = "served"
        if edge.relation == "serving" and served.get(edge.target) != edge.source:
            edge.relation = "served"
    _mark_status(lh, g, alias_to)
    _mark_stale(lh, g, alias_to, served)
    return g


def _mark_status(lh: Any, g: LineageGraph, alias_to: dict[str, str]) -> None:
    runs = [n.name for n in g.nodes.values() if n.kind == "run"]
    if runs:
        for run_id, row in lh.pipelines.runs.statuses(runs).items():
            node = g.nodes.get(f"run:{run_id}")
            if node is not None:
                node.status = row["status"]
                node.detail.setdefault("label", _run_label(row["target"]))
    live = set(alias_to.values())
    for node in g.nodes.values():
        if node.kind == "model_version":
            node.status = "aliased" if node.id in live else "registered"
        elif node.kind == "model_alias":
            target = g.nodes.get(alias_to.get(node.id, ""))
            node.detail["version"] = target.version if target else None


def _run_label(target: dict[str, Any]) -> str:
    if target.get("pipeline"):
        return f"pipeline {target['pipeline']}"
    steps = target.get("steps")
    return f"{_basename(target.get('notebook'))}" + (f"::{','.join(steps)}" if steps else "")


def _mark(node: Node, reason: str) -> None:
    if not node.stale:
        node.stale, node.reason = True, reason


def _mark_stale(lh: Any, g: LineageGraph, alias_to: dict[str, str],
                served: dict[str, str]) -> None:
    current = lh.features.latest_delta_versions()
    newest_group: dict[str, int] = {}
    for name, version in current:
        newest_group[name] = max(version, newest_group.get(name, 0))
    # 1. whoever read (or was made from) an older Delta version of a group is behind
    behind: dict[str, str] = {}
    for edge in g.edges:
        src = g.nodes[edge.source]
        if src.kind != "feature_group" or edge.relation not in ("read", "made_from"):
            continue
        read_at = edge.detail.get("delta_version")
        now = current.get((src.name, int(src.version))) if src.version and \
            src.version.isdigit() else None
        if read_at is not None and now is not None and now > int(read_at):
            behind.setdefault(edge.target, f"read {src.name} v{src.version} at Delta version "
                                           f"{read_at}; it is at {now} now")
        target = g.nodes[edge.target]
        if target.kind == "feature_view" and src.version and src.version.isdigit() \
                and newest_group.get(src.name, 0) > int(src.version):
            _mark(target, f"reads {src.name} v{src.version}; version "
                          f"{newest_group[src.name]} exists")
    # 2. a step is behind when its newest run (or, run by hand, itself) read old data
    newest_run: dict[str, Node] = {}
    for edge in g.edges:
        if edge.relation == "ran":
            run = g.nodes[edge.target]
            best = newest_run.get(edge.source)
            if best is None or (run.created_at or "") > (best.created_at or ""):
                newest_run[edge.source] = run
    for nid, reason in behind.items():
        node = g.nodes[nid]
        if node.kind in ("training_set", "model_version", "feature_view", "step"):
            _mark(node, reason)
    for step_id, run in newest_run.items():
        if run.id in behind:
            _mark(run, behind[run.id])
            _mark(g.nodes[step_id], behind[run.id])
    # 3. what was made from a stale object is stale: training set -> model -> deployment
    for _ in range(4):
        for edge in g.edges:
            src, dst = g.nodes[edge.source], g.nodes[edge.target]
            if not src.stale or dst.stale:
                continue
            if edge.relation == "made_from" and dst.kind == "model_version":
                _mark(dst, f"trained on {src.name} ({src.reason})")
            elif edge.relation == "wrote" and src.kind == "run" and dst.kind == "model_version":
                _mark(dst, f"trained by a run that {src.reason}")
            elif edge.relation == "alias" and dst.kind == "model_alias":
                _mark(dst, f"points at {src.name} v{src.version}, which is stale")
            elif edge.relation in ("serves", "serving") and dst.kind == "deployment":
                what = f"{src.name} v{src.version}" if src.kind == "model_version" else src.name
                _mark(dst, f"serves {what}, which is stale ({src.reason})")
