"""A step's fingerprint: what its result depends on, hashed.

The parts are the step cell's code and the code of the plain cells a run executes before it,
the run's parameters and window, the Delta versions of every feature group the step read in
its last successful run (and the version of every model it loaded: by alias, the version the
alias points at now), and the versions of the Python distributions its kernel imported. After
a successful run the parts are taken from what the run actually read (its lineage events);
before the next run they are recomputed from the current state of those same inputs, without
a kernel. Equal fingerprints: the step is up to date.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..shared.errors import NotFound
from .steps import Step, cell_magic_line, read_notebook


def step_code(step: Step, nb: Any = None) -> str:
    """The code a run of ``step`` executes: the plain code cells before it, then the step."""
    nb = nb if nb is not None else read_notebook(step.notebook)
    cells = []
    for index, cell in enumerate(nb.cells[: step.index + 1]):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if index != step.index and cell_magic_line(source) is not None:
            continue  # another step: a run of this one leaves it out
        cells.append(source.rstrip())
    return "\n\n".join(cells) + "\n"


def digest(parts: dict[str, Any]) -> str:
    """The fingerprint of ``parts`` (the code by its hash; everything else as JSON)."""
    hashed = {**parts, "code": hashlib.sha256(parts.get("code", "").encode()).hexdigest()}
    text = json.dumps(hashed, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def user_params(params: dict[str, Any] | None) -> dict[str, Any]:
    from .slicing import RESERVED_PARAMS
    return {k: v for k, v in sorted((params or {}).items()) if k not in RESERVED_PARAMS}


def _input_key(item: dict[str, Any]) -> str:
    return f"{item['name']}_v{item['version']}"


def parts_after_run(lh: Any, run: Any, step: Step, code: str) -> dict[str, Any]:
    """The parts of ``step``'s fingerprint from what run ``run`` read, wrote and imported."""
    ref = f"{step.kind}:{step.name}"
    reads, writes = lh.lineage.run_io(run.id, step=ref, notebook=step.notebook)
    inputs: dict[str, dict[str, Any]] = {}
    for e in reads:
        if e["kind"] != "feature_group" or e["version"] is None:
            continue
        delta = e["detail"].get("delta_version")
        item = inputs.setdefault(_input_key(e), {"name": e["name"], "version": int(e["version"]),
                                                 "delta_version": delta})
        if delta is not None and (item["delta_version"] is None or delta > item["delta_version"]):
            item["delta_version"] = delta
    for e in writes:  # a group the step reads and writes itself: its own commit is not news
        key = f"{e['name']}_v{e['version']}"
        if e["kind"] == "feature_group" and key in inputs:
            delta = e["detail"].get("delta_version")
            if delta is not None and delta > (inputs[key]["delta_version"] or -1):
                inputs[key]["delta_version"] = delta
    models: dict[str, dict[str, Any]] = {}
    for e in reads:
        if e["kind"] == "model_version":
            alias = e["detail"].get("alias")
            models[f"{e['name']}@{alias}" if alias else f"{e['name']}"] = {
                "name": e["name"], "alias": alias, "version": int(e["version"])}
    try:
        env = lh.lineage.environments.get("run", run.id, ref)
    except NotFound:  # run outside Lakebook's recording: no packages to compare
        env = {}
    return {"code": code, "params": user_params(run.params),
            "window": [run.window_start, run.window_end],
            "inputs": dict(sorted(inputs.items())), "models": dict(sorted(models.items())),
            "packages": dict(sorted((env.get("imported") or {}).items()))}


def parts_now(lh: Any, step: Step, params: dict[str, Any] | None,
              window: tuple[str | None, str | None], last: dict[str, Any] | None,
              code: str | None = None) -> dict[str, Any]:
    """The parts of ``step``'s fingerprint for a run now (with ``params`` and ``window``),
    its inputs, models and packages being those of its last successful run (``last``'s
    parts) at their current versions."""
    from ..lineage.environment import current_versions
    last = last or {}
    current = lh.features.latest_delta_versions() if last.get("inputs") else {}
    inputs = {}
    for key, item in (last.get("inputs") or {}).items():
        inputs[key] = {**item, "delta_version": current.get((item["name"], int(item["version"])))}
    models = {}
    for key, item in (last.get("models") or {}).items():
        version = item["version"]
        if item.get("alias"):
            version = lh.registry.alias_version(item["name"], item["alias"])
        models[key] = {**item, "version": version}
    packages = current_versions(list(last.get("packages") or {}))
    return {"code": code if code is not None else step_code(step),
            "params": user_params(params), "window": list(window),
            "inputs": dict(sorted(inputs.items())), "models": dict(sorted(models.items())),
            "packages": dict(sorted(packages.items()))}


def notebook_label(path: str) -> str:
    return Path(path).name
