"""The copy of a notebook a run executes: the plain cells before the selected steps and the
steps themselves (never the user's file).

Other step cells are left out, so running step S does not also write the groups or models of
steps the user did not select. The parameters cell is injected by papermill itself (after a
cell tagged ``parameters``, else at the top), so papermill's convention is honoured exactly.
"""
from __future__ import annotations

import copy
from typing import Any

import nbformat

from .steps import TAIL_KIND, TAIL_NAME, Step, cell_magic_line, notebook_tail

#: names every run injects; user parameters may not take them
RESERVED_PARAMS = ("lakebook_run_id", "lakebook_notebook", "window_start", "window_end")
LOAD_EXT = "%load_ext kernel_magics"


def slice_notebook(nb: nbformat.NotebookNode, steps: list[Step] | None,
                   skip: tuple[int, ...] = ()) -> nbformat.NotebookNode:
    """A new notebook holding what a run of ``steps`` executes.

    ``steps=None`` keeps every cell (a run of the whole notebook) but the step cells whose
    indices are in ``skip`` (up to date). Each kept cell records its
    index in the user's notebook in ``metadata.lakebook.source_index`` so an error can name
    the user's cell.
    """
    out = copy.deepcopy(nb)
    selected = None if steps is None else {s.index for s in steps}
    last = len(nb.cells) - 1 if selected is None else max(selected)
    cells = []
    needs_magics = False
    has_load_ext = False
    for index, cell in enumerate(nb.cells[: last + 1]):
        if cell.get("cell_type") == "code":
            is_step = cell_magic_line(cell.get("source", "")) is not None
            if is_step and (selected is not None and index not in selected or index in skip):
                continue
            if "load_ext kernel_magics" in cell.get("source", ""):
                has_load_ext = True
            if is_step and not has_load_ext:
                needs_magics = True
        kept = copy.deepcopy(cell)
        kept.setdefault("metadata", {}).setdefault("lakebook", {})["source_index"] = index
        if kept.get("cell_type") == "code":
            kept["outputs"], kept["execution_count"] = [], None
        cells.append(kept)
    if needs_magics:  # a step cell needs the magics loaded; the user's kernel had them loaded
        cells.insert(0, _injected(LOAD_EXT))
    if selected is None and notebook_tail("", nb) is not None:
        # the cells after the last step are fingerprinted too: their kernel records its
        # environment (what they imported) once they ran, as a step cell's does
        cells.append(_injected(TAIL_ENVIRONMENT))
    out.cells = cells
    return out


#: the last cell of a whole-notebook run whose notebook has cells after its last step
TAIL_ENVIRONMENT = ("import kernel_magics as _lakebook\n"
                    f"_lakebook.connect().lineage.cells_finished({TAIL_KIND + ':' + TAIL_NAME!r})\n"
                    "del _lakebook")


def _injected(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={
        "lakebook": {"source_index": None, "injected": True}, "tags": ["lakebook-injected"]})


def kernel_and_language(nb: nbformat.NotebookNode, kernel: str | None = None) -> tuple[str, str]:
    """The kernel a run uses (``kernel`` or the notebook's own, else ``python3``) and its
    language (papermill needs both when a generated notebook carries no kernelspec)."""
    spec = nb.get("metadata", {}).get("kernelspec", {}) or {}
    name = kernel or spec.get("name") or "python3"
    language = (spec.get("language") or nb.get("metadata", {}).get("language_info", {}).get("name")
                or "python")
    return name, language


def declared_parameters(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """Names and defaults of the notebook's ``parameters`` cell (papermill's own inspection)."""
    from papermill.inspection import _infer_parameters
    kernel, language = kernel_and_language(nb)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # papermill expects every cell to carry a tags list
        cell.setdefault("metadata", {}).setdefault("tags", [])
    try:
        return {p.name: p for p in _infer_parameters(nb, name=kernel, language=language)}
    except Exception:  # a parameters cell papermill cannot read: no declared types
        return {}
