"""The ``%%training`` cell: a thin door onto ``lh.registry.plan_training``.

Everything the user can get wrong (view, label, metric, alias) is checked by the plan before
the cell runs; the cell's code then trains with ``X_train, X_test, y_train, y_test, train_df,
test_df`` in its namespace, and the estimator it leaves in ``model`` (or ``--model VAR``) is
registered by the plan. A failed training cell leaves the registry as it was.
"""
from __future__ import annotations

import ast
from typing import Any

from ...registry.training import TrainingResult
from ...shared.errors import InvalidInput
from ...shared.identity import step_identity
from .cells import run_cell_code


def _names_in(shell: Any, code: str) -> set[str]:
    """Every name the cell's code mentions (after IPython's own transformations)."""
    tree = ast.parse(shell.transform_cell(code))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def training_cell(lh: Any, shell: Any, args: Any, cell_code: str) -> TrainingResult:
    """Run a ``%%training`` cell (``args`` as ``shared.magic_grammar`` reads them)."""
    plan = lh.registry.plan_training(
        args.name, view=args.view, view_version=args.view_version, label=args.label,
        test_size=args.test_size, by_time=args.split_by_time, seed=args.seed,
        metrics=args.metric, alias=args.alias, promote_if_better=args.promote_if_better,
        task=args.task, flavour=args.flavour)
    ns = shell.user_ns
    ns.update(plan.data)
    before = ns.get(args.model)
    run_cell_code(shell, cell_code)  # the user's errors surface with their own traceback
    if (before is not None and ns.get(args.model) is before
            and args.model not in _names_in(shell, cell_code)):
        # the cell never touched `model`: what is there was trained by an earlier cell
        raise InvalidInput(f"The training cell for model {plan.name!r} never uses "
                           f"{args.model!r}; the {args.model} in the namespace comes from an "
                           "earlier cell, so nothing was registered.",
                           f"Train and assign the estimator in this cell ({args.model} = ...), "
                           "or name the variable with --model VAR.")
    if args.model not in ns:
        raise InvalidInput(f"The training cell for model {plan.name!r} did not leave a variable "
                           f"{args.model!r}, so nothing was registered.",
                           f"Assign the trained estimator to {args.model} "
                           "(or name the variable with --model VAR).")
    return plan.register(ns[args.model], identity=step_identity(cell_code, ns, step=plan.name),
                         what=args.model)
