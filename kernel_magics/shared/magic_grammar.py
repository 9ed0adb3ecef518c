"""The arguments of the step magics, and the one way a magic line is read.

``%%feature``, ``%%training`` and ``%%inference`` lines are split like a shell line
(:func:`shlex.split`: ``--start "2024-05-02 00:00"`` is one value without its quotes,
``--check 'amount > 0'`` too) and then parsed by the kind's argparse parser. The magics and
step discovery (which reads notebooks without a kernel) both call :func:`parse`, so a cell
means the same thing to both; ``%lakebook`` splits its line with :func:`split_line`.
"""
from __future__ import annotations

import argparse
import shlex
from functools import lru_cache
from typing import Any, NoReturn

from .errors import InvalidInput

STEP_KINDS = ("feature", "training", "inference")


def split_line(line: str, what: str = "the magic line") -> list[str]:
    """The words of a magic line, quoted as in a shell (quotes removed, one value each)."""
    try:
        return shlex.split(line or "", posix=True)
    except ValueError as exc:  # "No closing quotation" / "No escaped character"
        raise InvalidInput(f"{what} cannot be read: {exc}: {line!r}.",
                           "Close every quote: --check \"amount > 0\".") from None


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`InvalidInput` instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise InvalidInput(f"%%{self.prog}: {message}.", f"Run `%%{self.prog}?` for its "
                           "arguments.")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise InvalidInput(f"%%{self.prog}: {message or 'cannot parse the line'}".rstrip(),
                           f"Run `%%{self.prog}?` for its arguments.")


def _schedule_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schedule", default=None, metavar="CRON",
                   help='run this step on a schedule, e.g. "0 * * * *" (cron, 5 fields)')
    p.add_argument("--tz", default=None, help="timezone of the schedule (default UTC)")


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


_ARGUMENTS = {"feature": _feature, "training": _training, "inference": _inference}


@lru_cache(maxsize=None)
def parser(kind: str) -> argparse.ArgumentParser:
    """The argparse parser of ``%%<kind>``."""
    if kind not in _ARGUMENTS:
        raise InvalidInput(f"%%{kind} is not a step magic.",
                           f"Use one of: {', '.join('%%' + k for k in STEP_KINDS)}.")
    # argparse %-formats the usage: "%%%%" shows as "%%"
    p = _Parser(prog=kind, add_help=False, allow_abbrev=False,
                usage=f"%%%%{kind} NAME [options]")
    _ARGUMENTS[kind](p)
    _schedule_arguments(p)
    return p


def parse(kind: str, line: str) -> Any:
    """``%%<kind> <line>`` parsed: an ``argparse.Namespace`` (or :class:`InvalidInput`)."""
    return parser(kind).parse_args(split_line(line, f"The %%{kind} line"))


def help_text(kind: str) -> str:
    """The arguments of ``%%<kind>`` as ``%%<kind>?`` shows them."""
    return parser(kind).format_help()
