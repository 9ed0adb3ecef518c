"""The magic-line grammar: the arguments of every Lakebook magic, and the one way a magic line
is read.

``%%feature``, ``%%training`` and ``%%inference`` lines (and the ``%lakebook monitor create``
/ ``run`` words) are split like a shell line (:func:`~kernel_magics.shared.quoting.split_words`:
``--start "2024-05-02 00:00"`` is one value without its quotes, ``--check 'amount > 0'`` too)
and then parsed by the kind's argparse parser. The magics and step discovery (which reads
notebooks without a kernel) both call :func:`parse`, so a cell means the same thing to both;
:func:`export` gives the same grammar as data for the sidebar's magic builder.
"""
from __future__ import annotations

import argparse
from functools import lru_cache
from typing import Any, Callable, NoReturn

from . import names, quoting
from .errors import InvalidInput
from .quoting import split_words

STEP_KINDS = ("feature", "training", "inference")
#: the ``%lakebook`` commands that take arguments, by their words
LINE_KINDS = ("monitor create", "monitor run")


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`InvalidInput` instead of printing and exiting."""

    def __init__(self, *args: Any, step: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step = step

    def _fail(self, message: str) -> NoReturn:
        if self.step:
            raise InvalidInput(f"%%{self.prog}: {message}", f"Run `%%{self.prog}?` for its "
                               "arguments.")
        raise InvalidInput(f"%lakebook monitor: {message}", self.format_usage().strip())

    def error(self, message: str) -> NoReturn:
        self._fail(f"{message}.")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        self._fail((message or "cannot parse the line").rstrip())


def _schedule_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schedule", default=None, metavar="CRON",
                   help='run this step on a schedule, e.g. "0 * * * *" (cron, 5 fields)')
    p.add_argument("--tz", default=None, help="timezone of the schedule (default UTC)")
    p.add_argument("--reads", default=None, metavar="A,B",
                   help="inputs the step reads, comma-separated (recorded anyway; a declared "
                        "input the run never reads is a warning)")


def _feature(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="feature group name (a Python identifier)")
    p.add_argument("--key", action="append", required=True,
                   help="primary key column (repeatable)")
    p.add_argument("--event-time", required=True, help="event-time column (timezone-aware)")
    p.add_argument("--version", type=int, default=None,
                   help="feature group version (default: latest, or 1)")
    p.add_argument("--online", action="store_true",
                   help="also keep the latest row per key online")
    p.add_argument("--mode", choices=["append", "upsert"], default="append", help="insert mode")
    p.add_argument("--check", action="append", default=[], metavar="SQL",
                   help='SQL predicate every row must satisfy, e.g. "amount >= 0" (repeatable)')
    p.add_argument("--description", default=None, help="what the group holds")
    p.add_argument("--embedding", action="append", default=[], metavar="COL:DIM[:METRIC]",
                   help="an embedding column, e.g. desc_vec:128:cosine (metric cosine, l2 or "
                        "dot; repeatable): vectors checked on insert and indexed online")
    p.add_argument("--df", default=None, metavar="VAR",
                   help="insert this variable instead of the last expression")
    p.add_argument("--evolve", action="store_true",
                   help="allow adding nullable columns to the schema")
    p.add_argument("--utc", action="store_true",
                   help="treat naive timestamps as UTC instead of refusing them")


def _training(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="model name in the registry")
    p.add_argument("--view", required=True, help="feature view to train from")
    p.add_argument("--view-version", type=int, default=None,
                   help="feature view version (default latest)")
    p.add_argument("--test-size", type=float, default=0.2, help="held-out share (default 0.2)")
    p.add_argument("--split-by-time", action="store_true",
                   help="hold out the newest rows instead of a random split")
    p.add_argument("--model", default="model", metavar="VAR",
                   help="variable holding the trained estimator")
    p.add_argument("--metric", action="append", default=[],
                   help="extra metric to compute (repeatable)")
    p.add_argument("--alias", default=None,
                   help="alias to give the new version (e.g. production)")
    p.add_argument("--promote-if-better", default=None, metavar="METRIC",
                   help="move --alias (default production) only if METRIC beats its current "
                        "version")
    p.add_argument("--seed", type=int, default=42, help="random seed of the split")
    p.add_argument("--label", default=None,
                   help="label to train on (required when the view has several)")
    p.add_argument("--task", choices=["classification", "regression"], default=None,
                   help="override the task read from the label")
    p.add_argument("--flavour", default=None,
                   help="how to keep the model: sklearn, xgboost, lightgbm, onnx, torch, pickle "
                        "(default: detected from the trained model)")


def _inference(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="deployment name")
    p.add_argument("--model", required=True, help="registered model name")
    p.add_argument("--alias", default=None, help="model alias to use (default production)")
    p.add_argument("--version", type=int, default=None,
                   help="model version to use instead of an alias")
    p.add_argument("--view", default=None, help="feature view to read (default: the model's own)")
    p.add_argument("--start", default=None, help="window start (default: the run's window_start)")
    p.add_argument("--end", default=None, help="window end (default: the run's window_end)")
    p.add_argument("--output", default=None,
                   help="predictions table (default predictions_<name>)")


def _monitor_create(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="monitor name")
    p.add_argument("--deployment", help="deployment whose inference log to watch")
    p.add_argument("--feature-group", help="feature group to watch")
    p.add_argument("--reference", help='reference window or "training"')
    p.add_argument("--current", default="last 1d", help='current window (default "last 1d")')
    p.add_argument("--schedule", default="@daily", help='cron or @daily ("none": no schedule)')
    p.add_argument("--tz", default="UTC", help="timezone of the schedule (default UTC)")
    p.add_argument("--drift-share", type=float, default=None,
                   help="share of drifted columns that makes the data drift (default 0.5)")
    p.add_argument("--columns", default=None, help="columns to test, comma-separated")
    p.add_argument("--on-drift", choices=["retrain"], default=None, help="what a drift does")
    p.add_argument("--labels", default=None, metavar="GROUP:LABEL",
                   help="feature group and column of the labels (adds performance)")
    p.add_argument("--performance-margin", type=float, default=None,
                   help="performance drop that raises an alert")
    p.add_argument("--replace", action="store_true", help="replace a monitor of that name")


def _monitor_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="monitor name")
    p.add_argument("--now", default=None, help="window end (ISO time; default now)")


_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "feature": _feature, "training": _training, "inference": _inference,
    "monitor create": _monitor_create, "monitor run": _monitor_run}


@lru_cache(maxsize=None)
def parser(kind: str) -> argparse.ArgumentParser:
    """The argparse parser of ``%%<kind>`` (or of ``%lakebook <kind>``)."""
    if kind not in _ARGUMENTS:
        raise InvalidInput(f"%%{kind} is not a step magic.",
                           f"Use one of: {', '.join('%%' + k for k in STEP_KINDS)}.")
    if kind in LINE_KINDS:
        p = _Parser(prog=f"%lakebook {kind}", add_help=False, step=False)
        _ARGUMENTS[kind](p)
        return p
    # argparse %-formats the usage: "%%%%" shows as "%%"
    p = _Parser(prog=kind, add_help=False, allow_abbrev=False,
                usage=f"%%%%{kind} NAME [options]")
    _ARGUMENTS[kind](p)
    _schedule_arguments(p)
    return p


def parse(kind: str, line: str) -> Any:
    """``%%<kind> <line>`` parsed: an ``argparse.Namespace`` (or :class:`InvalidInput`)."""
    return parser(kind).parse_args(split_words(line, f"The %%{kind} line"))


def parse_words(kind: str, words: list[str]) -> Any:
    """The words after ``%lakebook <kind>`` (already split) parsed."""
    return parser(kind).parse_args(words)


def help_text(kind: str) -> str:
    """The arguments of ``%%<kind>`` as ``%%<kind>?`` shows them."""
    return parser(kind).format_help()


def _option(action: argparse.Action) -> dict[str, Any]:
    takes_value = action.nargs != 0
    kind = "flag" if not takes_value else {int: "int", float: "float"}.get(action.type, "str")
    return {"flags": list(action.option_strings), "dest": action.dest, "type": kind,
            "repeatable": isinstance(action, argparse._AppendAction),
            "required": bool(action.required),
            "choices": list(action.choices) if action.choices else None,
            "default": action.default if action.default not in ([], argparse.SUPPRESS) else None,
            "metavar": action.metavar, "help": action.help or ""}


def export() -> dict[str, Any]:
    """The grammar as JSON-ready data: per magic its positional name and its options (flags,
    type, repeatable, required, choices, default, help), the name rule, and how lines split
    (examples the sidebar's tokenizer is tested on)."""
    kinds = {}
    for kind in (*STEP_KINDS, *LINE_KINDS):
        actions = parser(kind)._actions
        kinds[kind] = {
            "name": next(a.help for a in actions if not a.option_strings),
            "options": [_option(a) for a in actions if a.option_strings]}
    return {"steps": list(STEP_KINDS), "kinds": kinds, "names": names.export(),
            "splitting": quoting.examples()}


#: where the sidebar reads the grammar (committed; tests/test_magic_grammar_export.py keeps it
#: current: regenerate with ``python -m kernel_magics.shared.magic_grammar``)
EXPORT_PATH = ("extension", "src", "magic-grammar.json")


def export_json() -> str:
    """:func:`export` as the text of ``extension/src/magic-grammar.json``."""
    import json
    return json.dumps(export(), indent=1, sort_keys=True, default=str) + "\n"


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    from pathlib import Path
    Path(*EXPORT_PATH).write_text(export_json())
