"""``lh.lineage``: record what every API call reads and writes, and answer with the graph.

The areas call :meth:`Lineage.record` from their own API (a group insert or read, a training
set, a model registration or load, an alias move, a deployment, a batch of predictions, a
monitor result, an alert), so magics, plain API calls in a notebook, scheduled runs and the
REST doors are all recorded the same way, against the identity of the caller
(:func:`~kernel_magics.shared.identity.caller_identity`: run, notebook, cell, step, user).
Recording never fails the call it describes: a catalog that refuses the event is logged.
"""
from __future__ import annotations

import logging
import os
import warnings
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from ..shared import identity
from ..shared.errors import InvalidInput, NotFound
from . import records
from .graph import NODE_KINDS, LineageGraph, node_id

log = logging.getLogger("kernel_magics.lineage")

#: events already written by this process (the same read made again is not an event)
_seen: set[tuple] = set()
_SEEN_LIMIT = 50_000


def ref(kind: str, name: str, version: Any = None, **detail: Any) -> dict[str, Any]:
    """An object an event names as an input: ``{"kind", "name", "version", ...detail}``."""
    return {"kind": kind, "name": str(name), "version": None if version is None else str(version),
            **{k: v for k, v in detail.items() if v is not None}}


def digest(value: Any) -> str:
    """A short stable hash of a JSON-ready value (a training set's Delta versions)."""
    import hashlib
    from ..catalog import to_json
    return hashlib.sha256(to_json(value).encode()).hexdigest()[:8]


def step_node_name(notebook: str | None, step: str) -> str:
    return f"{Path(notebook).name if notebook else '?'}::{step}"


class Environments:
    """``lh.lineage.environments``: the Python environments run steps and model versions
    were made in."""

    def __init__(self, lh: Any) -> None:
        self.lh = lh

    def get(self, kind: str, name: str, version: Any = None) -> dict[str, Any]:
        """The environment recorded for a run step (``"run", run_id, step``) or a model
        version (``"model_version", model, version``); NotFound when none was."""
        found = records.environment_of(self.lh.catalog, kind, str(name),
                                       None if version is None else str(version))
        if found is None:
            what = f"{kind} {name}" + ("" if version is None else f" ({version})")
            raise NotFound(f"No environment was recorded for {what}.",
                           "Environments are recorded when a step runs or a model version is "
                           "registered through Lakebook.")
        return found


class Lineage:
    """The lineage of one lakehouse (``lh.lineage``; calling it gives the graph)."""

    def __init__(self, lh: Any) -> None:
        self.lh = lh

    @cached_property
    def environments(self) -> Environments:
        """The recorded environments: ``environments.get(kind, name, version)``."""
        return Environments(self.lh)

    # -- recording -------------------------------------------------------------------------
    def record(self, op: str, kind: str, name: str, version: Any = None,
               detail: dict[str, Any] | None = None,
               inputs: Iterable[dict[str, Any]] | None = None,
               who: dict[str, Any] | None = None) -> None:
        """Record that the caller read (``op="read"``) or wrote (``"write"``) an object.

        ``inputs``: the objects the written one was made from besides the caller (see
        :func:`ref`). ``who``: the caller's identity (default: this process's, see
        :func:`~kernel_magics.shared.identity.caller_identity`)."""
        try:
            caller = who or identity.caller_identity()
            version = None if version is None else str(version)
            detail = {k: v for k, v in (detail or {}).items() if v is not None}
            if not caller.get("notebook") and not caller.get("run_id"):
                detail["pid"] = os.getpid()  # a script: its process is the actor
            inputs = list(inputs or [])
            key = (str(self.lh.home), op, kind, str(name), version, detail.get("delta_version"),
                   detail.get("alias"), caller.get("run_id"), caller.get("notebook"),
                   caller.get("cell_id"), caller.get("step"),
                   tuple(sorted((i["kind"], i["name"], str(i.get("version"))) for i in inputs)))
            if op == "read" and key in _seen:
                return
            if len(_seen) > _SEEN_LIMIT:
                _seen.clear()
            _seen.add(key)
            step = identity.current_step()
            if op == "read" and step is not None:
                step.setdefault("read_names", set()).add(str(name))
            records.add_event(self.lh.catalog, {
                "op": op, "kind": kind, "name": str(name), "version": version,
                "detail": detail, "inputs": inputs, "run_id": caller.get("run_id"),
                "notebook": caller.get("notebook"), "cell_id": caller.get("cell_id"),
                "step": caller.get("step"), "code_hash": caller.get("code_hash"),
                "who": caller.get("user"), "host": caller.get("host")})
        except Exception:  # lineage describes the call; it must never fail it
            log.exception("lineage event %s %s %s not recorded", op, kind, name)

    def read(self, kind: str, name: str, version: Any = None, **detail: Any) -> None:
        """Record a read by the caller (``detail``: e.g. ``delta_version``, ``alias``)."""
        self.record("read", kind, name, version, detail)

    def wrote(self, kind: str, name: str, version: Any = None,
              inputs: Iterable[dict[str, Any]] | None = None, **detail: Any) -> None:
        """Record a write by the caller, made from ``inputs``."""
        self.record("write", kind, name, version, detail, inputs)

    def step_finished(self) -> list[str]:
        """Called when a step cell ends: records the kernel's environment against the run's
        step and warns about inputs the step declared (``--reads``) but never read.
        Returns the warnings."""
        step = identity.current_step()
        if step is None:
            return []
        caller = identity.caller_identity()
        if caller.get("run_id"):
            self.record_environment("run", caller["run_id"], step["step"])
        read = step.get("read_names", set())
        missing = [r for r in step.get("reads", []) if r not in read]
        out = []
        for name in missing:
            msg = (f"Step {step['step']} declares that it reads {name!r} (--reads) but did not "
                   f"read it through Lakebook in this run.")
            warnings.warn(msg + " Read it with lh.features.groups.get(...).read() or a feature "
                          "view, or drop it from --reads.", stacklevel=2)
            out.append(msg)
        return out

    def served_between(self, deployment: str, start: Any, end: Any
                       ) -> list[tuple[str, int]]:
        """``[(model, version)]`` that answered for ``deployment`` at some time in
        ``[start, end]`` (main model, split arms and shadow), from the serving events its
        model cache records (one per change of what it serves)."""
        from ..shared.times import catalog_time, parse_time
        lo, hi = catalog_time(parse_time(start, "start")), catalog_time(parse_time(end, "end"))
        spans = [(e["detail"]["since"], e) for e in records.events(
            self.lh.catalog, kind="deployment", name=deployment)
            if e["op"] == "write" and e["detail"].get("since")]
        found: dict[tuple[str, int], None] = {}
        for i, (since, e) in enumerate(spans):
            until = spans[i + 1][0] if i + 1 < len(spans) else None
            if (hi is not None and since > hi) or (lo is not None and until is not None
                                                   and until < lo):
                continue
            for inp in e["inputs"]:
                if inp["kind"] == "model_version":
                    found[(inp["name"], int(inp["version"]))] = None
                    for version in (e["detail"].get("arms") or {}).values():
                        found[(inp["name"], int(version))] = None
        return sorted(found)

    def outcomes_logged(self, deployment: str, rows: int, delta_version: int | None,
                        start: Any, end: Any, source: str | None = None) -> None:
        """Record that outcomes of ``deployment`` happening in ``[start, end]`` were logged:
        an ``outcome`` node made from the deployment and the model versions that answered
        then (``source``: the feature group whose rows are the outcomes, if any)."""
        inputs = [ref("deployment", deployment)]
        try:
            inputs += [ref("model_version", model, version) for model, version
                       in self.served_between(deployment, start, end)]
        except Exception:  # lineage describes the call; it must never fail it
            log.exception("model versions of the outcomes of %s not found", deployment)
        self.wrote("outcome", deployment, inputs=inputs, rows=rows,
                   delta_version=delta_version, source=source)

    # -- environments ----------------------------------------------------------------------
    def cells_finished(self, label: str) -> None:
        """Called by the cell a run appends after plain cells it fingerprints (``label``,
        e.g. the notebook's tail): records the kernel's environment against the run."""
        caller = identity.caller_identity()
        if caller.get("run_id"):
            self.record_environment("run", caller["run_id"], label)

    def record_environment(self, kind: str, name: str, version: Any = None) -> dict[str, Any]:
        """Record this process's environment (Python, platform, installed and imported
        distributions) against a run step or a model version; returns it."""
        from . import environment as env
        captured = env.capture()
        imported = env.imported()
        try:
            records.save_environment(self.lh.catalog, captured["hash"], captured["python"],
                                     captured["platform"], captured["packages"])
            records.use_environment(self.lh.catalog, kind, str(name),
                                    None if version is None else str(version),
                                    captured["hash"], imported)
        except Exception:
            log.exception("environment of %s %s not recorded", kind, name)
        return {**captured, "imported": imported}

    # -- reading ---------------------------------------------------------------------------
    def events(self, run_id: str | None = None, step: str | None = None,
               kind: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """The recorded events, oldest first (of one run and step, or one object)."""
        return records.events(self.lh.catalog, run_id=run_id, step=step, kind=kind, name=name)

    def run_io(self, run_id: str, step: str | None = None,
               notebook: str | None = None) -> tuple[list[dict], list[dict]]:
        """``(reads, writes)`` of a run (of one step and the plain cells of its notebook,
        when ``step`` is given)."""
        rows = records.events(self.lh.catalog, run_id=run_id)
        if step is not None:
            rows = [r for r in rows if r["step"] == step or
                    (r["step"] is None and (notebook is None or r["notebook"] == notebook))]
        return [r for r in rows if r["op"] == "read"], [r for r in rows if r["op"] == "write"]

    def __call__(self, obj: Any = None, upstream: bool = True, downstream: bool = True,
                 depth: int | None = None) -> LineageGraph:
        """The lineage graph of ``obj`` (any object or version: a feature group, view, model
        version, deployment, monitor, run or step; a name; or ``(kind, name[, version])``);
        the whole lakehouse's with ``obj=None``. ``depth`` limits the hops either way."""
        if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int)
                                  or depth < 0):
            raise InvalidInput(f"depth={depth!r} is not a number of hops.", "Pass depth=2, or None.")
        graph = self.full_graph()
        if obj is None:
            return graph
        start = self._start(graph, obj)
        return graph.subgraph(start, upstream=upstream, downstream=downstream, depth=depth)

    graph = __call__

    def _start(self, graph: LineageGraph, obj: Any) -> list[str]:
        kind, name, version = self.ref_of(obj)
        found = graph.find(kind, name, version)
        if not found and kind == "model_version" and version is None:
            found = graph.find("model_version", name)
        if not found:
            where = f"{kind} {name!r}" if kind else repr(name)
            if version is not None:
                where += f" version {version}"
            raise NotFound(f"Nothing is recorded in the lineage about {where}.",
                           "Lineage starts with the reads and writes made through Lakebook; "
                           "list the graph's nodes with lh.lineage().to_dict()['nodes'].")
        kinds = {n.kind for n in found}
        if len(kinds) > 1:
            raise InvalidInput(f"{name!r} names several kinds of object: {', '.join(sorted(kinds))}.",
                               f"Say which with (kind, name), e.g. ({sorted(kinds)[0]!r}, {name!r}).")
        return [n.id for n in found]

    @staticmethod
    def ref_of(obj: Any) -> tuple[str | None, str, str | None]:
        """``(kind, name, version)`` of an object, a ``(kind, name[, version])`` tuple, a
        ``"kind:name@version"`` string or a bare name (kind None)."""
        cls = type(obj).__name__
        simple = {"FeatureGroup": "feature_group", "FeatureView": "feature_view",
                  "ModelVersion": "model_version"}
        if cls in simple:
            return simple[cls], obj.name, str(obj.version)
        if cls == "Deployment":
            return "deployment", obj.name, None
        if cls == "Monitor":
            return "monitor", obj.name, None
        if cls == "Run":
            return "run", obj.id, None
        if cls == "Step":
            return "step", step_node_name(obj.notebook, f"{obj.kind}:{obj.name}"), None
        if isinstance(obj, dict) and "kind" in obj and "name" in obj:
            v = obj.get("version")
            return obj["kind"], str(obj["name"]), None if v is None else str(v)
        if isinstance(obj, (tuple, list)) and len(obj) in (2, 3):
            v = obj[2] if len(obj) == 3 else None
            return str(obj[0]), str(obj[1]), None if v is None else str(v)
        if isinstance(obj, str) and obj:
            kind, sep, rest = obj.partition(":")
            if sep and kind in NODE_KINDS:
                name, _, version = rest.rpartition("@") if "@" in rest else (rest, "", "")
                return kind, name, version or None
            return None, obj, None
        raise InvalidInput(f"{obj!r} is not something the lineage knows.",
                           "Pass a feature group, view, model version, deployment, monitor, run, "
                           "step, a name or (kind, name, version).")

    # -- the graph -------------------------------------------------------------------------
    def full_graph(self) -> LineageGraph:
        """The whole lakehouse's lineage, with staleness and run statuses marked."""
        from .build import build_graph
        return build_graph(self.lh, records.events(self.lh.catalog))

    def stale(self) -> list[dict[str, Any]]:
        """What is behind the data it was made from: ``[{"kind", "name", "version", "reason",
        "notebook"}]`` for stale steps, views, training sets, models and deployments."""
        graph = self.full_graph()
        wanted = ("step", "feature_view", "training_set", "model_version", "deployment")
        return [{"kind": n.kind, "name": n.name, "version": n.version, "reason": n.reason,
                 "notebook": n.notebook, "id": n.id}
                for n in graph.ordered_nodes() if n.stale and n.kind in wanted]

    def count(self) -> dict[str, int]:
        return records.counts(self.lh.catalog)


__all__ = ["Lineage", "LineageGraph", "node_id", "ref", "step_node_name"]
