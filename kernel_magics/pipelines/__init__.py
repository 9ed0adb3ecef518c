"""Pipelines: steps found in notebooks, papermill runs, schedules, the scheduler and its
executors. The API is ``lh.pipelines`` (:class:`~kernel_magics.pipelines.api.Pipelines`).

The names below are imported on first use, so that ``lakebook --help`` (which imports this
package for its subcommands) pays for neither nbformat nor croniter.
"""
from __future__ import annotations

from ..shared.lazy import lazy_exports

_LAZY = {"Run": ".runs", "Schedule": ".cron", "Step": ".steps"}

__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
