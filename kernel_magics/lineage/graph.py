"""The lineage graph: nodes (steps, runs, group versions, views, training sets, model versions
and aliases, deployments, monitors, alerts) and the edges data flowed along, built from the
recorded lineage events. Plain data: ``to_dict()`` is ready for JSON."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

#: the kinds of node, in the order a layered drawing puts them (left to right)
NODE_KINDS = ("notebook", "cell", "step", "session", "run", "feature_group", "feature_view",
              "training_set", "model_version", "model_alias", "deployment", "predictions",
              "monitor", "monitor_result", "alert", "outcome")


def node_id(kind: str, name: str, version: Any = None) -> str:
    """The id of a node: ``kind:name`` or ``kind:name@version``."""
    return f"{kind}:{name}" if version in (None, "") else f"{kind}:{name}@{version}"


@dataclass
class Node:
    id: str
    kind: str
    name: str
    version: str | None = None
    who: str | None = None
    created_at: str | None = None
    status: str | None = None
    stale: bool = False
    reason: str | None = None
    notebook: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "version": self.version,
                "who": self.who, "created_at": self.created_at, "status": self.status,
                "stale": self.stale, "reason": self.reason, "notebook": self.notebook,
                "detail": self.detail}


@dataclass
class Edge:
    source: str
    target: str
    relation: str                      # read | wrote | made_from | ran | triggered
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "relation": self.relation,
                "detail": self.detail}


class LineageGraph:
    """A directed graph whose edges point the way data flowed (input -> consumer)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self._edge_keys: dict[tuple[str, str, str], Edge] = {}
        self._out: dict[str, set[str]] = {}
        self._in: dict[str, set[str]] = {}

    # -- building --------------------------------------------------------------------------
    def add_node(self, kind: str, name: str, version: Any = None, **attrs: Any) -> Node:
        """Add (or complete) a node; attributes already set are kept (the first is oldest)."""
        version = None if version in (None, "") else str(version)
        nid = node_id(kind, name, version)
        node = self.nodes.get(nid)
        if node is None:
            node = self.nodes[nid] = Node(nid, kind, name, version)
        for key, value in attrs.items():
            if value is None:
                continue
            if key == "detail":
                node.detail = {**value, **node.detail}
            elif getattr(node, key) in (None, False):
                setattr(node, key, value)
        return node

    def add_edge(self, source: str, target: str, relation: str,
                 detail: dict[str, Any] | None = None) -> None:
        if source == target:
            return
        key = (source, target, relation)
        edge = self._edge_keys.get(key)
        if edge is None:
            edge = self._edge_keys[key] = Edge(source, target, relation, dict(detail or {}))
            self.edges.append(edge)
            self._out.setdefault(source, set()).add(target)
            self._in.setdefault(target, set()).add(source)
        elif detail:
            edge.detail.update(detail)

    # -- questions -------------------------------------------------------------------------
    def find(self, kind: str | None = None, name: str | None = None,
             version: Any = None) -> list[Node]:
        """Nodes of ``kind`` called ``name`` (every version unless ``version`` is given)."""
        v = None if version is None else str(version)
        return [n for n in self.nodes.values() if (kind is None or n.kind == kind)
                and (name is None or n.name == name) and (v is None or n.version == v)]

    def _walk(self, start: Iterable[str], upstream: bool, downstream: bool,
              depth: int | None) -> set[str]:
        seen = set(start)
        for direction, wanted in ((self._in, upstream), (self._out, downstream)):
            if not wanted:
                continue
            queue = deque((s, 0) for s in start)
            reached = set(start)
            while queue:
                current, d = queue.popleft()
                if depth is not None and d >= depth:
                    continue
                for nxt in direction.get(current, ()):
                    if nxt not in reached:
                        reached.add(nxt)
                        queue.append((nxt, d + 1))
            seen |= reached
        return seen

    def subgraph(self, start: Iterable[str], upstream: bool = True, downstream: bool = True,
                 depth: int | None = None) -> "LineageGraph":
        """The nodes reachable from ``start`` (against and along the edges), with the edges
        between them."""
        keep = self._walk(list(start), upstream, downstream, depth)
        out = LineageGraph()
        out.nodes = {k: v for k, v in self.nodes.items() if k in keep}
        for e in self.edges:
            if e.source in keep and e.target in keep:
                out.add_edge(e.source, e.target, e.relation, e.detail)
        return out

    def upstream_of(self, kind: str, name: str, version: Any = None) -> list[Node]:
        """Every node the ``kind`` ``name`` (all its versions unless one is given) was made
        from, nearest first."""
        return self._neighbours(kind, name, version, upstream=True)

    def downstream_of(self, kind: str, name: str, version: Any = None) -> list[Node]:
        """Every node made from ``kind`` ``name``, nearest first."""
        return self._neighbours(kind, name, version, upstream=False)

    def _neighbours(self, kind: str, name: str, version: Any, upstream: bool) -> list[Node]:
        start = [n.id for n in self.find(kind, name, version)]
        if not start:
            from ..shared.errors import NotFound
            kinds = sorted({n.kind for n in self.nodes.values() if n.name == name})
            raise NotFound(f"The lineage graph has no {kind} {name!r}"
                           + (f" (it has {name!r} as {', '.join(kinds)})" if kinds else "") + ".",
                           "Pass the kind and name of a node of graph.to_dict()['nodes'].")
        direction = self._in if upstream else self._out
        order: list[str] = []
        seen = set(start)
        queue = deque(start)
        while queue:
            for nxt in sorted(direction.get(queue.popleft(), ())):
                if nxt not in seen:
                    seen.add(nxt)
                    order.append(nxt)
                    queue.append(nxt)
        return [self.nodes[i] for i in order]

    def cycle(self) -> list[str] | None:
        """One cycle of the graph (node ids, the first repeated at the end), or None."""
        color: dict[str, int] = {}
        stack_path: list[str] = []

        def visit(n: str) -> list[str] | None:
            color[n] = 1
            stack_path.append(n)
            for m in sorted(self._out.get(n, ())):
                if color.get(m) == 1:
                    return stack_path[stack_path.index(m):] + [m]
                if m not in color:
                    found = visit(m)
                    if found:
                        return found
            stack_path.pop()
            color[n] = 2
            return None

        for n in sorted(self.nodes):
            if n not in color:
                found = visit(n)
                if found:
                    return found
        return None

    # -- output ----------------------------------------------------------------------------
    def ordered_nodes(self) -> list[Node]:
        """The nodes in layer order (kind), then by name and version."""
        order = {k: i for i, k in enumerate(NODE_KINDS)}
        return sorted(self.nodes.values(),
                      key=lambda n: (order.get(n.kind, 99), n.name, _vkey(n.version)))

    def to_dict(self) -> dict[str, Any]:
        """``{"nodes": [...], "edges": [...]}``, nodes in layer order, ready for JSON."""
        return {"nodes": [n.to_dict() for n in self.ordered_nodes()],
                "edges": [e.to_dict() for e in self.edges]}

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"LineageGraph({len(self.nodes)} nodes, {len(self.edges)} edges)"

    def _repr_html_(self) -> str:
        from ..render.lineage import graph_html
        return graph_html(self.to_dict())


def _vkey(version: str | None) -> tuple[int, Any]:
    if version is None:
        return (0, 0)
    return (1, int(version)) if version.isdigit() else (2, version)
