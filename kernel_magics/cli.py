"""The ``lakebook`` command: a thin door onto the Python API.

Each area adds its subcommands from its own ``commands`` module (``add_parsers`` declares
them and sets ``func``); errors a user can fix print one sentence and exit 1.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from rich.console import Console
from rich.table import Table

from ._optional import optional_module
from ._version import __version__
from .errors import LakebookError

COMMAND_MODULES = [
    "kernel_magics.pipelines.commands",
    "kernel_magics.deployments.commands",
    "kernel_magics.monitoring.commands",
    "kernel_magics.demo.commands",
    "kernel_magics.catalog.commands",
]

console = Console()
err_console = Console(stderr=True)


def cmd_status(lh, args: argparse.Namespace) -> int:
    """Print the lakehouse summary as a table."""
    status = lh.status()
    table = Table(title="Lakebook", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("home", status["home"])
    table.add_row("catalog version", str(status["catalog_version"]))
    table.add_row("lakebook version", status["lakebook_version"])
    for name, value in status["counts"].items():
        table.add_row(name.replace("_", " "), str(value))
    console.print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakebook", description="Lakebook: an AI Lakehouse inside Jupyter.")
    parser.add_argument("--version", action="version", version=f"lakebook {__version__}")
    parser.add_argument("--home", default=None,
                        help="lakehouse folder (default: $LAKEBOOK_HOME, lakebook.toml, ./.lakebook)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    status = sub.add_parser("status", help="show what the lakehouse holds")
    status.add_argument("--home", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    status.set_defaults(func=cmd_status, needs_existing=True)
    for name in COMMAND_MODULES:
        module = optional_module(name)
        if module is not None:
            module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .lakehouse import connect
    try:
        if getattr(args, "no_lakehouse", False):
            return int(args.func(None, args) or 0)
        lh = connect(args.home, create=not getattr(args, "needs_existing", False))
        return int(args.func(lh, args) or 0)
    except LakebookError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
