"""Pipelines: steps found in notebooks, papermill runs, schedules, the scheduler and its
executors. The API is ``lh.pipelines`` (:class:`~kernel_magics.pipelines.service.Pipelines`)."""
from .runs import Run
from .schedules import Schedule
from .steps import Step

__all__ = ["Run", "Schedule", "Step"]
