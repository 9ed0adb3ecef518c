"""Step discovery: read notebooks with nbformat (no kernel) and find the marked cells.

A step is a code cell whose first line is ``%%feature``, ``%%training`` or ``%%inference``.
Its arguments are parsed by ``step_arguments.parse``, as the magic parses them, so discovery
and the magic always agree on what a cell means. Dependencies come from data: an inference step
reads the model a training step registers, which reads a view whose groups feature steps
write. A pipeline's order is the topological order of those edges.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..shared.errors import InvalidInput, LakebookError, NotFound
from ..shared.magic_grammar import STEP_KINDS, parse

if TYPE_CHECKING:  # pragma: no cover
    import nbformat

#: folders never searched for notebooks
SKIP_DIRS = {".ipynb_checkpoints", ".git", "node_modules", ".venv", "__pycache__", ".lakebook"}


@dataclass
class Step:
    """One marked cell of one notebook."""

    kind: str                  # feature | training | inference
    name: str                  # group / model / deployment name (the magic's first argument)
    notebook: str              # absolute path of the notebook
    cell_id: str | None
    index: int                 # the cell's index in the notebook
    args: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def ref(self) -> str:
        """``<notebook>::<name>``: how a pipeline or schedule names this step
        (``<notebook>::cells:tail`` for the cells after the notebook's last step)."""
        name = f"{TAIL_KIND}:{TAIL_NAME}" if self.kind == TAIL_KIND else self.name
        return f"{self.notebook}::{name}"

    @property
    def schedule(self) -> str | None:
        return self.args.get("schedule")

    @property
    def writes(self) -> set[str]:
        """Catalog objects this step produces (``group:x``, ``model:y``, ``deployment:z``)."""
        if self.kind == "feature":
            return {f"group:{self.name}"}
        if self.kind == "training":
            return {f"model:{self.name}"}
        return {f"deployment:{self.name}", f"table:{self.args.get('output') or 'predictions_' + self.name}"}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "notebook": self.notebook,
                "cell_id": self.cell_id, "index": self.index, "args": self.args,
                "schedule": self.schedule, "tz": self.args.get("tz"), "ref": self.ref}

    def _repr_html_(self) -> str:
        from ..render.pipelines import step_html
        return step_html(self.to_dict())


def cell_magic_line(source: str) -> tuple[str, str] | None:
    """``(kind, argument line)`` when the cell starts with one of the step magics."""
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("%%"):
            return None
        word, _, rest = stripped[2:].partition(" ")
        return (word, rest.strip()) if word in STEP_KINDS else None
    return None


def read_notebook(path: str | Path) -> "nbformat.NotebookNode":
    """Read a notebook as nbformat v4, with a clear error when it does not parse."""
    import nbformat  # here, not at the top: its schema costs most of a second to load
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"Notebook {p} does not exist.", "Check the path (relative paths are "
                       "resolved from the current folder).")
    try:
        nb = nbformat.read(p, as_version=4)
    except Exception as exc:  # nbformat raises several kinds (JSON, validation, reader)
        raise InvalidInput(f"Notebook {p} cannot be read as a notebook ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else exc}).",
                           "Open it in JupyterLab and save it again, or fix the JSON.") from None
    return nb


def notebook_steps(path: str | Path, nb: "nbformat.NotebookNode | None" = None) -> list[Step]:
    """The steps of one notebook, in cell order."""
    p = Path(path).resolve()
    nb = nb if nb is not None else read_notebook(p)
    steps: list[Step] = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        found = cell_magic_line(cell.get("source", ""))
        if found is None:
            continue
        kind, line = found
        try:
            args = vars(parse(kind, line))
        except InvalidInput as exc:
            raise InvalidInput(f"Cell {index} of {p.name} (%%{kind} {line}) has invalid "
                               f"arguments: {exc.message}", exc.hint) from None
        steps.append(Step(kind=kind, name=str(args["name"]), notebook=str(p),
                          cell_id=cell.get("id"), index=index, args=args,
                          source=cell.get("source", "")))
    return steps


#: the plain cells after a notebook's last step: a run of the whole notebook executes them,
#: so they are fingerprinted as one more unit, ``cells:tail`` (a run of chosen steps stops
#: at its last step and never runs them)
TAIL_KIND, TAIL_NAME = "cells", "tail"


def notebook_tail(path: str | Path, nb: "nbformat.NotebookNode | None" = None,
                  steps: list[Step] | None = None) -> Step | None:
    """The code cells after the notebook's last step, as a :class:`Step` of kind ``cells``
    (``index``: the last of them; ``args["first"]``: the first); None when the notebook has
    no step or no code after its last one."""
    p = Path(path).resolve()
    nb = nb if nb is not None else read_notebook(p)
    steps = steps if steps is not None else notebook_steps(p, nb)
    if not steps:
        return None
    after = [i for i in range(max(s.index for s in steps) + 1, len(nb.cells))
             if nb.cells[i].get("cell_type") == "code" and nb.cells[i].get("source", "").strip()]
    if not after:
        return None
    return Step(kind=TAIL_KIND, name=TAIL_NAME, notebook=str(p),
                cell_id=nb.cells[after[-1]].get("id"), index=after[-1],
                args={"first": after[0]},
                source="\n\n".join(nb.cells[i].get("source", "") for i in after))


def iter_notebooks(path: str | Path, within: Path | None = None) -> Iterable[Path]:
    """The notebooks at ``path`` (a notebook, or a folder searched recursively), resolved.
    ``within``: only those whose real path is inside that folder (a symlink pointing out of
    it is skipped, so a server never lists what lies outside its root)."""
    p = Path(path)
    root = None if within is None else Path(within).resolve()

    def inside(real: Path) -> bool:
        return root is None or real == root or root in real.parents

    if p.is_file():
        real = p.resolve()
        if not inside(real):
            raise InvalidInput(f"{p} points outside {root}.",
                               "Give a notebook inside that folder.")
        yield real
        return
    if not p.is_dir():
        raise NotFound(f"{p} is neither a notebook nor a folder.", "Check the path.")
    for child in sorted(p.rglob("*.ipynb")):
        if not any(part in SKIP_DIRS or part.startswith(".") for part in child.relative_to(p).parts[:-1]):
            real = child.resolve()
            if inside(real):
                yield real


def discover(path: str | Path = ".", strict: bool = False,
             within: Path | None = None) -> list[Step]:
    """Every step in a notebook or under a folder (recursively).

    In a folder, a notebook that does not parse is skipped unless ``strict``; a single
    notebook that does not parse is always an error. ``within``: see
    :func:`iter_notebooks`.
    """
    p = Path(path)
    steps: list[Step] = []
    single = p.is_file()
    for nb_path in iter_notebooks(p, within):
        try:
            steps.extend(notebook_steps(nb_path))
        except InvalidInput:
            if single or strict:
                raise
    return steps


# -- dependencies ------------------------------------------------------------------------------
def view_groups(lh: Any, view: str) -> set[str] | None:
    """Feature groups a view reads (``None`` when the view is unknown, or without a
    lakehouse)."""
    if lh is None:
        return None
    try:
        return lh.features.view_groups(view)
    except LakebookError:  # e.g. a catalog that cannot be read: order by notebook instead
        return None


def dependencies(steps: list[Step], lh: Any = None) -> dict[int, set[int]]:
    """For each step (by position in ``steps``), the positions of the steps it depends on."""
    deps: dict[int, set[int]] = {i: set() for i in range(len(steps))}
    for i, step in enumerate(steps):
        if step.kind == "inference":
            model = step.args.get("model")
            deps[i] |= {j for j, s in enumerate(steps) if s.kind == "training" and s.name == model}
        elif step.kind == "training":
            groups = view_groups(lh, str(step.args.get("view")))
            if groups is not None:
                deps[i] |= {j for j, s in enumerate(steps)
                            if s.kind == "feature" and s.name in groups}
            else:  # view not created yet: the feature steps written before it in its notebook
                deps[i] |= {j for j, s in enumerate(steps) if s.kind == "feature"
                            and s.notebook == step.notebook and s.index < step.index}
    return deps


def topological(steps: list[Step], lh: Any = None) -> list[Step]:
    """``steps`` ordered so each comes after what it depends on (ties: notebook, cell order)."""
    deps = dependencies(steps, lh)
    order: list[int] = []
    done: set[int] = set()
    remaining = set(range(len(steps)))
    key = lambda i: (steps[i].notebook, steps[i].index)  # noqa: E731
    while remaining:
        ready = sorted((i for i in remaining if deps[i] <= done), key=key)
        if not ready:
            names = ", ".join(steps[i].name for i in sorted(remaining, key=key))
            raise InvalidInput(f"The steps {names} depend on each other in a cycle.",
                               "Split the pipeline so no model or group feeds itself.")
        # take one at a time so a dependency-free step of another notebook does not jump ahead
        first = ready[0]
        order.append(first)
        done.add(first)
        remaining.discard(first)
    return [steps[i] for i in order]
