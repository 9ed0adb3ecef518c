"""Running a marked cell's code as a plain cell would: in the user's namespace, IPython syntax
first turned into Python, the value of its last expression returned."""
from __future__ import annotations

import ast
from typing import Any


def run_cell_code(shell: Any, code: str) -> Any:
    """Run ``code`` in the user's namespace like a plain cell; return its last expression's value.

    Exceptions propagate with the user's own traceback, exactly as without the magic.
    """
    # IPython syntax (%magics, !shell) becomes plain Python first, as in an unmarked cell
    code = shell.transform_cell(code)
    filename = _cached(shell, code)
    tree = ast.parse(code, filename=filename)
    last_expr = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last_expr = ast.Expression(tree.body.pop().value)
    ns = shell.user_ns
    if tree.body:
        exec(compile(tree, filename, "exec"), ns)  # noqa: S102 - this is the user's own cell
    if last_expr is not None:
        return eval(compile(last_expr, filename, "eval"), ns)  # noqa: S307
    return None


def _cached(shell: Any, code: str) -> str:
    """A filename under which ``code`` sits in ``linecache``, as IPython keeps a plain cell's
    (tracebacks show the lines, and ``inspect`` finds the source of what the cell defines,
    e.g. a PyTorch module's class kept with its model)."""
    cache = getattr(getattr(shell, "compile", None), "cache", None)
    if callable(cache):
        try:
            return cache(code)
        except Exception:  # an IPython without the caching compiler: plain name
            pass
    return "<cell>"
