"""The notebook front door: ``%%feature``, ``%%training``, ``%%inference`` and ``%lakebook``.

Each magic parses its arguments, runs the cell in the user's namespace as a plain cell would,
and hands the result to the core API; errors the user can fix become ``UsageError`` (one line,
no traceback). Remove the magic line and the cell still runs as plain Python.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import HTML, display

from ...shared import magic_grammar
from ...shared.quoting import split_words
from ...shared.errors import LakebookError
from ...lakehouse import Lakehouse, connect


@magics_class
class LakebookMagics(Magics):
    """Lakebook's magics. The lakehouse is opened on first use (``connect()``)."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._lh: Lakehouse | None = None

    @property
    def lh(self) -> Lakehouse:
        if self._lh is None:
            try:
                self._lh = connect()
            except LakebookError as exc:
                raise UsageError(str(exc)) from None
        return self._lh

    def _parse(self, kind: str, line: str) -> Any:
        """The magic's arguments, read the one way every door reads them."""
        return self._guard(lambda: magic_grammar.parse(kind, line))

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except LakebookError as exc:
            raise UsageError(str(exc)) from None

    # -- steps -----------------------------------------------------------------------------
    @cell_magic
    def feature(self, line: str, cell: str) -> Any:
        """Run the cell and insert its DataFrame into a feature group.

        The DataFrame is the value of the cell's last expression (or ``--df VAR``). The group
        is created on first use with ``--key`` and ``--event-time``; checks run before the
        commit and a failed check writes nothing.
        """
        args = self._parse("feature", line)
        from .feature import feature_cell
        with self._step("feature", args, cell):
            result = self._guard(lambda: feature_cell(self.lh, self.shell, args, cell))
        self._schedule_if_asked("feature", args)
        return result

    @cell_magic
    def training(self, line: str, cell: str) -> Any:
        """Train on a feature view and register the model.

        Before the cell runs, ``X_train, X_test, y_train, y_test, train_df, test_df`` are put in
        the namespace; after it, the estimator in ``model`` (or ``--model VAR``) is evaluated
        on the held-out split and registered as a new version.
        """
        args = self._parse("training", line)
        from .training import training_cell
        with self._step("training", args, cell):
            result = self._guard(lambda: training_cell(self.lh, self.shell, args, cell))
        self._schedule_if_asked("training", args)
        return result

    @cell_magic
    def inference(self, line: str, cell: str) -> Any:
        """Score the feature view's rows for a window and write predictions.

        The cell may prepare or post-process (``batch_df`` and ``predictions`` are in the
        namespace for it); predictions are appended to ``predictions_<name>`` and to the
        inference log monitoring reads.
        """
        args = self._parse("inference", line)
        from .inference import inference_cell
        with self._step("inference", args, cell):
            result = self._guard(lambda: inference_cell(self.lh, self.shell, args, cell))
        self._schedule_if_asked("inference", args)
        return result

    @contextmanager
    def _step(self, kind: str, args: Any, cell: str) -> Iterator[None]:
        """What the cell reads and writes is recorded against this step; at its end the
        kernel's environment too (and declared --reads it never read are a warning)."""
        from ...shared.identity import running_step
        reads = [r.strip() for r in (getattr(args, "reads", None) or "").split(",") if r.strip()]
        with running_step(kind, args.name, cell, reads):
            yield
            self.lh.lineage.step_finished()

    def _schedule_if_asked(self, kind: str, args: Any) -> None:
        if not getattr(args, "schedule", None):
            return
        from ...shared.identity import notebook_path
        ns = self.shell.user_ns
        sched = self._guard(lambda: self.lh.pipelines.schedules.ensure(
            args.name, args.schedule, args.tz, notebook=notebook_path(ns),
            run_id=ns.get("lakebook_run_id")))
        if sched is not None:
            from ...render.pipelines import scheduled_html
            display(HTML(scheduled_html(kind, args.name, sched.to_dict())))

    # -- the line magic --------------------------------------------------------------------
    @line_magic
    def lakebook(self, line: str) -> Any:
        """``%lakebook status | registry [MODEL] | runs | monitor [NAME] | steps [PATH]``"""
        words = self._guard(lambda: split_words(line, "The %lakebook line"))
        if not words:
            words = ["status"]
        command, rest = words[0], words[1:]
        handlers = {
            "status": self._status,
            "registry": self._registry,
            "runs": self._runs,
            "monitor": self._monitor,
            "steps": self._steps,
        }
        if command not in handlers:
            raise UsageError(f"Unknown %lakebook command {command!r}. "
                             f"Use one of: {', '.join(handlers)}.")
        return self._guard(lambda: handlers[command](rest))

    def _status(self, rest: list[str]) -> Any:
        from ...render.html import status_html
        display(HTML(status_html(self.lh.status())))

    def _registry(self, rest: list[str]) -> Any:
        from ..widgets.models import registry_view
        return registry_view(self.lh, rest[0] if rest else None)

    def _runs(self, rest: list[str]) -> Any:
        from ..widgets.runs import runs_view
        return runs_view(self.lh)

    def _monitor(self, rest: list[str]) -> Any:
        from .monitor import monitor_command
        return monitor_command(self.lh, rest)

    def _steps(self, rest: list[str]) -> Any:
        from ...render.pipelines import steps_html
        steps = self.lh.pipelines.steps.list(rest[0] if rest else ".")
        display(HTML(steps_html([s.to_dict() for s in steps])))


for _kind in magic_grammar.STEP_KINDS:  # `%%feature?` shows the arguments
    _method = getattr(LakebookMagics, _kind)
    _method.__doc__ = f"{_method.__doc__.rstrip()}\n\n{magic_grammar.help_text(_kind)}"

_registered: dict[int, LakebookMagics] = {}


def register(ipython: Any) -> None:
    from ...shared.identity import remember_cell_id
    magics = LakebookMagics(ipython)
    ipython.register_magics(magics)
    ipython.events.register("pre_run_cell", remember_cell_id)
    _registered[id(ipython)] = magics


def unregister(ipython: Any) -> None:
    from ...shared.identity import remember_cell_id
    try:
        ipython.events.unregister("pre_run_cell", remember_cell_id)
    except ValueError:
        pass
    _registered.pop(id(ipython), None)
