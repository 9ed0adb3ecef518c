"""Incremental runs: skip a step whose fingerprint equals its last successful run's, say why
one is not up to date, resume a failed run, and find what is stale downstream of a step.

A run decides stage by stage, just before the stage's kernel would start, so a step that
reads what an earlier stage of the same run just wrote sees the new versions. Within one
stage, a step that depends on a step that runs runs too.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from ..shared.errors import InvalidInput
from . import records
from .fingerprints import digest, parts_after_run, parts_now, step_code, step_kernel
from .steps import TAIL_KIND, Step, dependencies, notebook_steps, notebook_tail, read_notebook
from .targets import Stage


def step_ref(step: Step) -> str:
    return f"{step.kind}:{step.name}"


@dataclass
class Decision:
    """Whether one step is up to date, with the fingerprint and parts it was decided on."""

    step: Step
    up_to_date: bool
    fingerprint: str
    parts: dict[str, Any]
    last: dict[str, Any] | None


def decide(lh: Any, step: Step, params: dict[str, Any] | None,
           window: tuple[str | None, str | None], nb: Any = None,
           against: dict[str, Any] | None = None, kernel: str | None = None) -> Decision:
    """Is ``step`` up to date for a run with ``params`` and ``window`` (in ``kernel``: by
    default its last run's)? Compared with its last successful run (or with ``against``, a
    step run of the run being resumed)."""
    last = against or records.last_step_run(lh.catalog, step.notebook, step_ref(step))
    parts = parts_now(lh, step, params, window, last and last["parts"], step_code(step, nb),
                      kernel)
    fp = digest(parts)
    return Decision(step, last is not None and last.get("fingerprint") == fp, fp, parts, last)


@dataclass
class Planner:
    """The incremental side of one run: which steps of each stage to execute, and what each
    step's outcome was (``steps``: ``{ref: {"status", "notebook", ...}}``)."""

    lh: Any
    run: Any
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def skipping(self) -> bool:
        return not self.run.force or bool(self.run.resume_of)

    def _against(self, notebook: str, ref: str) -> dict[str, Any] | None:
        if not self.run.resume_of:
            return None
        for row in records.step_runs_of(self.lh.catalog, self.run.resume_of):
            if row["notebook"] == notebook and row["step"] == ref and row["status"] == "succeeded":
                return row
        return {"fingerprint": None, "parts": {}}  # it did not succeed there: run it

    def choose(self, stage: Stage) -> Stage | None:
        """The part of ``stage`` to execute (None: every step of it is up to date)."""
        nb = read_notebook(stage.notebook)
        steps = stage.steps if stage.steps is not None else _whole(stage.notebook, nb)
        if not steps:
            return stage
        window = (self.run.window_start, self.run.window_end)
        kernel = step_kernel(steps[0], self.run.kernel, nb)
        decisions = [decide(self.lh, s, self.run.params, window, nb,
                            self._against(s.notebook, step_ref(s)), kernel) for s in steps]
        if not self.skipping:
            for d in decisions:
                d.up_to_date = False
        deps = dependencies(steps, self.lh)
        for i, s in enumerate(steps):  # the tail runs after every step, seeing what they did
            if s.kind == TAIL_KIND:
                deps[i] = set(range(i))
        running: set[int] = set()
        for i, d in enumerate(decisions):  # a step after one that runs, depending on it, runs
            if not d.up_to_date or deps[i] & running:
                d.up_to_date = False
                running.add(i)
        for d in decisions:
            self.steps[step_ref(d.step)] = {"notebook": d.step.notebook,
                                            "status": "up_to_date" if d.up_to_date else "queued",
                                            "fingerprint": d.fingerprint}
            if d.up_to_date:
                records.save_step_run(self.lh.catalog, self.run.id, d.step.notebook,
                                      step_ref(d.step), "up_to_date", d.fingerprint, d.parts)
        self._save()
        if all(d.up_to_date for d in decisions):
            return None
        if stage.steps is None:  # every cell but the step cells that are up to date
            return Stage(stage.notebook, None, tuple(
                d.step.index for d in decisions if d.up_to_date and d.step.kind != TAIL_KIND))
        return Stage(stage.notebook, [d.step for d in decisions if not d.up_to_date])

    def succeeded(self, stage: Stage) -> None:
        """Record the fingerprint of every step ``stage`` executed, from what it read."""
        self._finish(stage, failed_at=None)

    def failed(self, stage: Stage, failed_cell: int | None) -> None:
        """A stage failed at the user's cell ``failed_cell``: the steps before it succeeded."""
        self._finish(stage, failed_at=-1 if failed_cell is None else failed_cell)

    def _finish(self, stage: Stage, failed_at: int | None) -> None:
        nb = read_notebook(stage.notebook)
        steps = stage.steps if stage.steps is not None else [
            s for s in _whole(stage.notebook, nb)
            if s.kind == TAIL_KIND or s.index not in stage.skip]
        run = self.run
        kernel = step_kernel(steps[0], run.kernel, nb) if steps else None
        for step in steps:
            ref = step_ref(step)
            first = step.args.get("first", step.index) if step.kind == TAIL_KIND else step.index
            ok = failed_at is None or (failed_at >= 0 and step.index < failed_at)
            status = "succeeded" if ok else ("failed" if failed_at is not None and
                                            first <= failed_at <= step.index else "not_run")
            if status == "not_run":
                self.steps[ref] = {**self.steps.get(ref, {}), "notebook": step.notebook,
                                   "status": "not_run"}
                continue
            parts = parts_after_run(self.lh, run, step, step_code(step, nb), kernel)
            fp = digest(parts) if ok else None
            records.save_step_run(self.lh.catalog, run.id, step.notebook, ref, status, fp, parts)
            self.steps[ref] = {"notebook": step.notebook, "status": status, "fingerprint": fp}
        self._save()

    def _save(self) -> None:
        records.set_steps_status(self.lh.catalog, self.run.id, self.steps)


def _whole(notebook: str, nb: Any) -> list[Step]:
    """What a run of the whole notebook fingerprints: its steps, then the cells after the
    last one (``cells:tail``) when there are any."""
    steps = notebook_steps(notebook, nb)
    tail = notebook_tail(notebook, nb, steps)
    return steps + ([tail] if tail is not None else [])


# -- why ---------------------------------------------------------------------------------------
@dataclass
class Why:
    """Why ``step`` would (or would not) re-run now: ``lh.pipelines.why(step)``."""

    step: str
    notebook: str
    up_to_date: bool
    reasons: list[str]
    diff: str = ""
    last_run: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "notebook": self.notebook, "up_to_date": self.up_to_date,
                "reasons": self.reasons, "diff": self.diff, "last_run": self.last_run,
                "changes": self.changes}

    def __str__(self) -> str:
        head = (f"{self.step} is up to date (last successful run {self.last_run})."
                if self.up_to_date else f"{self.step} would run:")
        lines = [head, *(f"  - {r}" for r in self.reasons)]
        if self.diff:
            lines += ["", self.diff.rstrip()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from ..render.pipelines import why_html
        return why_html(self.to_dict())


def why(lh: Any, step: Step, params: dict[str, Any] | None = None,
        window: tuple[str | None, str | None] = (None, None)) -> Why:
    """What changed since ``step``'s last successful run: code lines (a unified diff),
    inputs that moved, models, parameters, window and packages."""
    d = decide(lh, step, params, window)
    label = f"{step.kind}:{step.name}"
    if d.last is None:
        return Why(label, step.notebook, False, ["it has never run successfully"],
                   changes=[{"what": "never_run"}])
    then, now = d.last["parts"], d.parts
    reasons: list[str] = []
    changes: list[dict[str, Any]] = []
    diff = ""
    if then.get("code") != now.get("code"):
        diff = "".join(difflib.unified_diff(
            (then.get("code") or "").splitlines(keepends=True), now["code"].splitlines(keepends=True),
            fromfile="last successful run", tofile="now"))
        changed = sum(1 for line in diff.splitlines()
                      if line[:1] in "+-" and not line.startswith(("+++", "---")))
        reasons.append(f"the code changed ({changed} line{'s' if changed != 1 else ''})")
        changes.append({"what": "code", "diff": diff})
    for key in sorted(set(then.get("inputs") or {}) | set(now.get("inputs") or {})):
        a = (then.get("inputs") or {}).get(key, {})
        b = (now.get("inputs") or {}).get(key, {})
        if a.get("delta_version") != b.get("delta_version"):
            name, version = a.get("name") or b.get("name"), a.get("version") or b.get("version")
            rows = None
            if b.get("delta_version") is not None:
                rows = lh.features.rows_added(name, int(version), a.get("delta_version"),
                                              int(b["delta_version"]))
            label_in = name if int(version) == 1 else f"{name} (version {version})"
            text = f"{label_in} v{a.get('delta_version')} -> v{b.get('delta_version')}"
            if rows is not None:
                text += f", {rows:,} rows added"
            reasons.append(f"an input moved: {text}")
            changes.append({"what": "input", "group": name, "version": version,
                            "from": a.get("delta_version"), "to": b.get("delta_version"),
                            "rows_added": rows})
    for key in sorted(set(then.get("models") or {}) | set(now.get("models") or {})):
        a = (then.get("models") or {}).get(key, {})
        b = (now.get("models") or {}).get(key, {})
        if a.get("version") != b.get("version"):
            reasons.append(f"the model {key} moved: v{a.get('version')} -> v{b.get('version')}")
            changes.append({"what": "model", "model": key, "from": a.get("version"),
                            "to": b.get("version")})
    p_then, p_now = then.get("params") or {}, now.get("params") or {}
    for key in sorted(set(p_then) | set(p_now)):
        if p_then.get(key, _UNSET) != p_now.get(key, _UNSET):
            reasons.append(f"the parameter {key} changed: {_show(p_then, key)} -> "
                           f"{_show(p_now, key)}")
            changes.append({"what": "parameter", "name": key, "from": p_then.get(key),
                            "to": p_now.get(key)})
    if list(then.get("window") or [None, None]) != list(now.get("window") or [None, None]):
        a, b = then.get("window") or [None, None], now.get("window") or [None, None]
        reasons.append(f"the window changed: {_window(a)} -> {_window(b)}")
        changes.append({"what": "window", "from": a, "to": b})
    pk_then, pk_now = then.get("packages") or {}, now.get("packages") or {}
    for key in sorted(set(pk_then) | set(pk_now)):
        if pk_then.get(key) != pk_now.get(key):
            reasons.append(f"{key} {pk_then.get(key) or 'not installed'} -> "
                           f"{pk_now.get(key) or 'not installed'}")
            changes.append({"what": "package", "name": key, "from": pk_then.get(key),
                            "to": pk_now.get(key)})
    up = d.up_to_date
    if not up and not reasons:
        reasons.append("its fingerprint differs from the last successful run's")
    return Why(label, step.notebook, up, reasons, diff, d.last.get("run_id"), changes)


_UNSET = object()


def _show(params: dict[str, Any], key: str) -> str:
    return repr(params[key]) if key in params else "(not set)"


def _window(w: list[Any]) -> str:
    return "none" if not any(w) else f"{w[0]} .. {w[1]}"


# -- downstream --------------------------------------------------------------------------------
def downstream_steps(lh: Any, step: Step) -> list[dict[str, str]]:
    """``step`` and the steps whose runs read what it (transitively) writes, in dependency
    order, from the lineage graph: ``[{"notebook", "step"}]``. A cycle is refused, naming it."""
    from ..lineage.api import step_node_name
    from ..lineage.graph import LineageGraph
    graph = lh.lineage.full_graph()
    start_name = step_node_name(step.notebook, step_ref(step))
    steps = {n.id: n for n in graph.nodes.values() if n.kind == "step" and n.notebook}
    runs_of: dict[str, set[str]] = {sid: {sid} for sid in steps}
    for e in graph.edges:
        if e.relation == "ran" and e.source in runs_of:
            runs_of[e.source].add(e.target)
    start = next((sid for sid, n in steps.items() if n.name == start_name
                  and n.notebook == step.notebook), None)
    if start is None:
        return [{"notebook": step.notebook, "step": step_ref(step)}]
    reach = {sid: {n.id for n in graph.downstream_of(steps[sid].kind, steps[sid].name)}
             for sid in steps}
    order_graph = LineageGraph()
    for a in steps:
        order_graph.add_node("step", steps[a].name)
        for b in steps:
            if a != b and runs_of[b] & reach[a]:
                order_graph.add_edge(f"step:{steps[a].name}", f"step:{steps[b].name}", "feeds")
    chosen = {f"step:{start_name}"} | {n.id for n in order_graph.downstream_of("step", start_name)}
    sub = order_graph.subgraph(chosen, upstream=False, downstream=False)
    cycle = sub.cycle()
    if cycle:
        names = " -> ".join(c.split(":", 1)[1] for c in cycle)
        raise InvalidInput(f"The steps downstream of {start_name} form a cycle: {names}.",
                           "A step must not read what a step it feeds writes; split one of "
                           "them (e.g. write to another feature group).")
    by_name = {f"step:{n.name}": n for n in steps.values()}
    order: list[str] = []
    remaining = set(chosen)
    while remaining:
        ready = sorted(n for n in remaining
                       if not any(e.target == n and e.source in remaining for e in sub.edges))
        order.append(ready[0])
        remaining.discard(ready[0])
    return [{"notebook": by_name[n].notebook, "step": n.split("::", 1)[1]} for n in order]
