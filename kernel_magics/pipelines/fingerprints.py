"""A step's fingerprint: what its result depends on, hashed.

The parts are the step cell's code and the code of the plain cells a run executes before it
(the cells after a notebook's last step are one more unit, ``cells:tail``, of whole-notebook
runs),
the run's parameters and window, the Delta versions of every feature group the step read in
its last successful run (and the version of every model it loaded: by alias, the version the
alias points at now), and the versions of the Python distributions its kernel imported (the
kernel records them itself; before a run they are read where that kernel's interpreter finds
its packages, not in the deciding process). After a successful run the parts are taken from what the run actually read (its lineage events);
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
    """The fingerprint of ``parts`` (the code by its hash; everything else as JSON but the
    kernel's name: where the packages were read, not what they are)."""
    hashed = {**parts, "code": hashlib.sha256(parts.get("code", "").encode()).hexdigest()}
    hashed.pop("kernel", None)
    text = json.dumps(hashed, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def user_params(params: dict[str, Any] | None) -> dict[str, Any]:
    from .slicing import RESERVED_PARAMS
    return {k: v for k, v in sorted((params or {}).items()) if k not in RESERVED_PARAMS}


def _input_key(item: dict[str, Any]) -> str:
    return f"{item['name']}_v{item['version']}"


def step_kernel(step: Step, kernel: str | None = None, nb: Any = None) -> str:
    """The kernel a run of ``step`` uses: ``kernel``, else its notebook's (else python3)."""
    from .slicing import kernel_and_language
    nb = nb if nb is not None else read_notebook(step.notebook)
    return kernel_and_language(nb, kernel)[0]


def parts_after_run(lh: Any, run: Any, step: Step, code: str,
                    kernel: str | None = None) -> dict[str, Any]:
    """The parts of ``step``'s fingerprint from what run ``run`` read, wrote and imported
    (the packages: as the run's kernel, ``kernel``, recorded them)."""
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
    try:  # recorded by the kernel itself when the step (or the notebook's tail) ended
        env = lh.lineage.environments.get("run", run.id, ref)
    except NotFound:  # run outside Lakebook's recording: no packages to compare
        env = {}
    return {"code": code, "kernel": kernel, "params": user_params(run.params),
            "window": [run.window_start, run.window_end],
            "inputs": dict(sorted(inputs.items())), "models": dict(sorted(models.items())),
            "packages": dict(sorted((env.get("imported") or {}).items()))}


def parts_now(lh: Any, step: Step, params: dict[str, Any] | None,
              window: tuple[str | None, str | None], last: dict[str, Any] | None,
              code: str | None = None, kernel: str | None = None) -> dict[str, Any]:
    """The parts of ``step``'s fingerprint for a run now (with ``params`` and ``window``, in
    ``kernel``: by default the one its last run used, else its notebook's), its inputs,
    models and packages being those of its last successful run (``last``'s parts) at their
    current versions. The packages are read where that kernel runs (its interpreter's
    ``sys.path``), never in this process, and no kernel is started."""
    last = last or {}
    kernel = kernel or last.get("kernel") or step_kernel(step)
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
    packages = kernel_packages(kernel, list(last.get("packages") or {}))
    return {"code": code if code is not None else step_code(step), "kernel": kernel,
            "params": user_params(params), "window": list(window),
            "inputs": dict(sorted(inputs.items())), "models": dict(sorted(models.items())),
            "packages": dict(sorted(packages.items()))}


def kernel_packages(kernel: str, names: list[str]) -> dict[str, str | None]:
    """The versions of ``names`` where ``kernel`` runs; each None (changed: the step runs and
    its kernel's check names the problem) when that kernel is gone or cannot be asked."""
    from ..lineage.environment import kernel_versions
    if not names:
        return {}
    try:
        return kernel_versions(kernel, names)
    except NotFound:
        return {n: None for n in names}


def notebook_label(path: str) -> str:
    return Path(path).name
