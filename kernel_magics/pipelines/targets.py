"""What a run executes: a target (a notebook's steps, a whole notebook, or a pipeline)
resolved into stages, one papermill execution (one kernel) per stage.

Validation happens here, before anything is queued: the notebook parses, the steps exist,
the kernel is installed and the parameters have the types the ``parameters`` cell declares.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..shared.errors import InvalidInput, NotFound
from . import records
from .slicing import RESERVED_PARAMS, declared_parameters, kernel_and_language
from .steps import Step, notebook_steps, read_notebook, topological


@dataclass
class Stage:
    """One kernel's work: the selected steps of one notebook (``None``: every cell)."""

    notebook: str
    steps: list[Step] | None
    #: step cells (indices) a whole-notebook run leaves out: they are up to date
    skip: tuple[int, ...] = ()

    @property
    def names(self) -> list[str] | None:
        return None if self.steps is None else [s.name for s in self.steps]


def match_step(steps: list[Step], ref: str, notebook: str) -> Step:
    """The step named ``ref`` (``name`` or ``kind:name``) among one notebook's steps."""
    kind, _, name = ref.rpartition(":") if ":" in ref else ("", "", ref)
    found = [s for s in steps if s.name == name and (not kind or s.kind == kind)]
    if not found:
        have = ", ".join(f"{s.kind}:{s.name}" for s in steps) or "none"
        raise NotFound(f"No step {ref!r} in {Path(notebook).name} (its steps: {have}).",
                       "Use the name after %%feature / %%training / %%inference in that notebook.")
    if len(found) > 1:
        raise InvalidInput(f"{ref!r} names {len(found)} steps in {Path(notebook).name}.",
                           f"Say which with kind:name, e.g. {found[0].kind}:{name}.")
    return found[0]


def pipeline_steps(lh: Any, name: str) -> list[Step]:
    row = records.pipeline_row(lh.catalog, name)
    if row is None:
        raise NotFound(f"No pipeline {name!r}.", "Create it with lh.pipelines.create(name, steps=[...]).")
    found: list[Step] = []
    for ref in row["steps"]:
        found.append(match_step(notebook_steps(ref["notebook"]), ref["step"], ref["notebook"]))
    return found


def stages_of(steps: list[Step], lh: Any = None) -> list[Stage]:
    """Steps in dependency order, consecutive steps of one notebook sharing one kernel."""
    return ordered_stages(topological(steps, lh))


def ordered_stages(steps: list[Step]) -> list[Stage]:
    """Steps in the order given (already a dependency order), consecutive steps of one
    notebook sharing a kernel while their cell order agrees."""
    stages: list[Stage] = []
    for step in steps:
        last = stages[-1] if stages else None
        # one kernel runs cells in notebook order: share it only while that order agrees
        # with the dependency order
        if last is not None and last.notebook == step.notebook and last.steps \
                and last.steps[-1].index < step.index:
            last.steps.append(step)
        else:
            stages.append(Stage(step.notebook, [step]))
    return stages


def resolve(lh: Any, target: dict[str, Any]) -> list[Stage]:
    if target.get("pipeline"):
        return stages_of(pipeline_steps(lh, target["pipeline"]), lh)
    if target.get("ordered"):  # steps across notebooks in an order already decided (downstream)
        return ordered_stages([match_step(notebook_steps(r["notebook"]), r["step"], r["notebook"])
                               for r in target["ordered"]])
    notebook = target.get("notebook")
    if not notebook:
        raise InvalidInput("A run needs a notebook, a step or a pipeline.",
                           "Pass a Step, 'notebook.ipynb::step', a notebook path or a pipeline name.")
    if target.get("steps") is None:
        read_notebook(notebook)
        return [Stage(notebook, None)]
    steps = notebook_steps(notebook)
    chosen = [match_step(steps, ref, notebook) for ref in target["steps"]]
    return stages_of(chosen, lh)


def check_kernel(name: str, notebook: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        have = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
        raise NotFound(f"The kernel {name!r} that {Path(notebook).name} uses is not installed "
                       f"(installed: {have}).",
                       "Pick an installed kernel (kernel=...) or install it with "
                       "`python -m ipykernel install --user --name NAME`.") from None


_TYPE_CHECKS = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, (list, tuple)),
    "dict": lambda v: isinstance(v, dict),
}


def check_params(params: dict[str, Any], stages: list[Stage], kernel: str | None) -> None:
    for key, value in params.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidInput(f"Parameter name {key!r} is not a Python identifier.",
                               "Use names like start_date or n_rows.")
        if key in RESERVED_PARAMS:
            raise InvalidInput(f"Parameter {key!r} is set by Lakebook for every run.",
                               "Use window=(start, end) for the window, or another name.")
        if not isinstance(value, (str, int, float, bool, list, dict, type(None))):
            raise InvalidInput(f"Parameter {key!r} is a {type(value).__name__}; parameters must "
                               "be JSON values.", "Pass str, int, float, bool, list or dict.")
    for stage in stages:
        nb = read_notebook(stage.notebook)
        check_kernel(kernel_and_language(nb, kernel)[0], stage.notebook)
        declared = declared_parameters(nb)
        for key, value in params.items():
            p = declared.get(key)
            kind = _declared_type(p) if p is not None else None
            check = _TYPE_CHECKS.get(kind or "")
            if check is not None and value is not None and not check(value):
                raise InvalidInput(
                    f"Parameter {key!r} is a {type(value).__name__} ({value!r}) but the "
                    f"parameters cell of {Path(stage.notebook).name} declares it as "
                    f"{kind} ({key} = {p.default}).", f"Pass a value of type {kind}.")


def _declared_type(p: Any) -> str | None:
    """The annotated type of a parameter, else the type of its literal default."""
    name = getattr(p, "inferred_type_name", None)
    if name and name != "None":
        return name.split("[")[0]
    try:
        default = ast.literal_eval(p.default)
    except (ValueError, SyntaxError, TypeError):
        return None
    return None if default is None else type(default).__name__


def validate(lh: Any, target: dict[str, Any], params: dict[str, Any] | None,
             kernel: str | None = None) -> list[Stage]:
    """Resolve and check a target; raises a LakebookError before anything is queued."""
    stages = resolve(lh, target)
    check_params(params or {}, stages, kernel)
    return stages
