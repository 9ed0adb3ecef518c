"""Pipelines: steps found in notebooks, papermill runs, schedules, the scheduler and its
executors. The API is ``lh.pipelines`` (:class:`~kernel_magics.pipelines.api.Pipelines`).

The names below are imported on first use, so that ``lakebook --help`` (which imports this
package for its subcommands) pays for neither nbformat nor croniter.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {"Run": ".runs", "Schedule": ".cron", "Step": ".steps"}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
