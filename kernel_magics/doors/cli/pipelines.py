"""``lakebook steps | run | backfill | scheduler | runs | schedules``: thin doors onto
``lh.pipelines``."""
from __future__ import annotations

import argparse
import json
from typing import Any


def _console() -> Any:
    from rich.console import Console
    return Console()


def _table(title: str, columns: tuple[str, ...]) -> Any:
    from rich.table import Table
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col)
    return table


def _value(text: str) -> Any:
    """A ``-p key value`` value: JSON when it parses (numbers, true, lists), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _params(pairs: list[list[str]] | None) -> dict[str, Any]:
    return {k: _value(v) for k, v in (pairs or [])}


def _status(status: str) -> str:
    from ...render.colours import RUN_STATUS
    return f"[{RUN_STATUS.get(status, 'white')}]{status}[/]"


def _print_run(run: Any) -> None:
    console = _console()
    line = f"run {run.id} {_status(run.status)} attempt {run.attempt}/{run.max_attempts}"
    if run.duration_s is not None:
        line += f" in {run.duration_s:.1f}s"
    console.print(line, highlight=False)
    if run.output_path:
        console.print(f"  output: {run.output_path}", highlight=False)
    if run.error:
        console.print(f"  [red]cell {run.error.get('cell_index')}: {run.error.get('ename')}: "
                      f"{run.error.get('evalue')}[/]", highlight=False)
    if run.status == "up_to_date":
        console.print("  every step up to date, skipped (no kernel started); --force runs "
                      "them anyway, `lakebook why` says what would change that", highlight=False)
    steps = run.steps_status or {}
    if len(steps) > 1 or any(st.get("status") != run.status for st in steps.values()):
        for ref, state in steps.items():
            text = {"up_to_date": "up to date, skipped"}.get(state.get("status"),
                                                             state.get("status"))
            console.print(f"  {ref}: {text}", highlight=False)


def cmd_steps(lh: Any, args: argparse.Namespace) -> int:
    steps = lh.pipelines.steps.list(args.path)
    table = _table(f"Steps in {args.path}", ("kind", "name", "notebook", "cell", "schedule"))
    for s in steps:
        table.add_row(s.kind, s.name, s.notebook, f"{s.index} ({s.cell_id})",
                      f"{s.schedule} {s.args.get('tz') or ''}".strip() if s.schedule else "")
    _console().print(table)
    return 0


def cmd_run(lh: Any, args: argparse.Namespace) -> int:
    from ...shared.errors import InvalidInput
    window = (args.window_start, args.window_end) if args.window_start or args.window_end else None
    what = args.notebook
    if args.downstream or args.resume:
        if args.step:
            if len(args.step) > 1:
                raise InvalidInput("--downstream and --resume take one step.",
                                   "Name it as NOTEBOOK::STEP or with one --step.")
            what = f"{args.notebook}::{args.step[0]}"
    if args.downstream:
        if "::" not in what:
            raise InvalidInput("--downstream needs a step to start from.",
                               "E.g. lakebook run --downstream features.ipynb::transactions.")
        run = lh.pipelines.run_downstream(what, params=_params(args.param), window=window,
                                          force=args.force, wait=not args.no_wait)
    elif args.resume:
        run = lh.pipelines.resume_run(what=what, wait=not args.no_wait)
    else:
        run = lh.pipelines.run(what, step=args.step, params=_params(args.param),
                               window=window, timeout=args.timeout, retries=args.retries,
                               wait=not args.no_wait, kernel=args.kernel, force=args.force)
    _print_run(run)
    return 0 if run.status in ("succeeded", "queued", "up_to_date") else 1


def cmd_why(lh: Any, args: argparse.Namespace) -> int:
    window = (args.window_start, args.window_end) if args.window_start or args.window_end else None
    answer = lh.pipelines.why(args.step, params=_params(args.param), window=window)
    console = _console()
    if answer.up_to_date:
        console.print(f"{answer.step}: up to date (last successful run {answer.last_run})",
                      highlight=False)
        return 0
    console.print(f"{answer.step} would run because:", highlight=False)
    for reason in answer.reasons:
        console.print(f"  - {reason}", highlight=False, markup=False)
    if answer.diff:
        console.print(answer.diff.rstrip(), highlight=False, markup=False)
    return 0


def cmd_stale(lh: Any, args: argparse.Namespace) -> int:
    table = _table("Stale", ("kind", "name", "version", "why"))
    for item in lh.pipelines.stale():
        table.add_row(item["kind"], item["name"], item["version"] or "", item["reason"] or "")
    _console().print(table)
    return 0


def cmd_backfill(lh: Any, args: argparse.Namespace) -> int:
    runs = lh.pipelines.backfill(args.step, args.start, args.end, every=args.every,
                                 notebook=args.notebook, params=_params(args.param))
    console = _console()
    for run in runs:
        console.print(f"{run.window_start} .. {run.window_end}", highlight=False, end=" ")
        _print_run(run)
    return 0 if all(r.status == "succeeded" for r in runs) else 1


def cmd_scheduler(lh: Any, args: argparse.Namespace) -> int:
    sched = lh.pipelines.scheduler(poll=args.poll)
    console = _console()
    console.print(f"{sched.name} on {lh.home} (executor {lh.config.executor}, poll {sched.poll}s)"
                  + (", one tick" if args.once else "; SIGTERM or Ctrl-C stops it"), highlight=False)
    result = sched.serve(once=args.once)
    if result is not None:
        console.print(f"last tick: {result.queued} queued, {result.skipped} skipped, "
                      f"{result.reaped} reaped, {result.dispatched} started", highlight=False)
    return 0


def cmd_runs(lh: Any, args: argparse.Namespace) -> int:
    table = _table("Runs", ("id", "status", "target", "attempt", "window end", "duration",
                            "error"))
    for r in lh.pipelines.runs.list(status=args.status, limit=args.limit):
        err = f"cell {r.error.get('cell_index')}: {r.error.get('ename')}" if r.error else ""
        table.add_row(r.id, _status(r.status), r.label, f"{r.attempt}/{r.max_attempts}",
                      r.window_end or "", f"{r.duration_s:.1f}s" if r.duration_s else "", err)
    _console().print(table)
    return 0


def cmd_schedules(lh: Any, args: argparse.Namespace) -> int:
    table = _table("Schedules", ("id", "name", "cron", "tz", "catch-up", "target", "next run",
                                 "state"))
    for s in lh.pipelines.schedules.list():
        target = s.target.get("pipeline") or f"{s.target.get('notebook')} {s.target.get('steps') or ''}"
        table.add_row(str(s.id), s.name, s.cron, s.timezone, s.catchup, str(target),
                      s.next_run_at or "", "paused" if s.paused else "active")
    _console().print(table)
    return 0


def add_parsers(subparsers: Any) -> None:
    """Declare the pipeline subcommands on the ``lakebook`` parser."""
    def add(name: str, help: str, func: Any, needs_existing: bool = False
            ) -> argparse.ArgumentParser:
        # the command list formats help twice (so %% must be doubled again there)
        p = subparsers.add_parser(name, help=help.replace("%", "%%"), description=help)
        p.set_defaults(func=func, needs_existing=needs_existing)
        return p

    p = add("steps", "list the %%feature/%%training/%%inference steps in notebooks", cmd_steps)
    p.add_argument("path", nargs="?", default=".", help="notebook or folder (default .)")

    p = add("run", "run a notebook's steps (or the whole notebook) with papermill", cmd_run)
    p.add_argument("notebook")
    p.add_argument("--step", action="append", default=None, help="step name (repeatable)")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="parameter (JSON values such as 5 or true are parsed)")
    p.add_argument("--window-start", default=None)
    p.add_argument("--window-end", default=None)
    p.add_argument("--timeout", type=float, default=None, help="seconds")
    p.add_argument("--retries", type=int, default=0)
    p.add_argument("--kernel", default=None, help="kernel name (default: the notebook's own)")
    p.add_argument("--no-wait", action="store_true", help="queue it and return at once")
    p.add_argument("--force", action="store_true",
                   help="run steps even when their fingerprint says they are up to date")
    p.add_argument("--resume", action="store_true",
                   help="re-run the last failed run of this target, skipping the steps that "
                        "succeeded in it")
    p.add_argument("--downstream", action="store_true",
                   help="run NOTEBOOK::STEP and then the steps that read what it writes, in "
                        "dependency order across notebooks (up-to-date ones are skipped)")

    p = add("why", "say why a step would re-run: code diff, inputs moved, parameters, "
            "window, packages", cmd_why)
    p.add_argument("step", help="NOTEBOOK::STEP")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="the parameters of the run to compare (default none)")
    p.add_argument("--window-start", default=None)
    p.add_argument("--window-end", default=None)

    add("stale", "list the steps, views, models and deployments behind their inputs",
        cmd_stale, needs_existing=True)

    p = add("backfill", "run a step over past windows, in order", cmd_backfill)
    p.add_argument("step")
    p.add_argument("--notebook", required=True)
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    p.add_argument("--every", default="1d", help="window length: 30m, 6h, 1d, 1w")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"))

    p = add("scheduler", "run the scheduler in the foreground (SIGTERM stops it cleanly)",
            cmd_scheduler, needs_existing=True)
    p.add_argument("--once", action="store_true", help="one tick, wait for its runs, exit")
    p.add_argument("--poll", type=float, default=None, help="seconds between ticks (default 5)")

    p = add("runs", "list runs", cmd_runs, needs_existing=True)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--status", default=None)

    add("schedules", "list schedules", cmd_schedules, needs_existing=True)
