"""The ``lakebook`` command: a thin door onto the Python API.

Each area adds its subcommands from its own ``commands`` module: ``add_parsers(subparsers)``
declares them and sets ``func`` (called as ``func(lh, args)``) and, for a command that must
not create a lakehouse, ``needs_existing=True`` (``no_lakehouse=True``: ``func(None, args)``).
Errors a user can fix print one sentence and exit 1.

Building the parser must stay cheap: ``lakebook --version`` and ``--help`` import neither
pandas nor nbformat, so a ``commands`` module imports only ``argparse`` at its top and the
rest inside its ``cmd_*`` functions (``tests/test_cli_startup.py`` holds every door to that).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from ...shared.optional import optional_module
from ..._version import __version__

COMMAND_MODULES = [
    "kernel_magics.doors.cli.pipelines",
    "kernel_magics.doors.cli.serve",
    "kernel_magics.doors.cli.monitor",
    "kernel_magics.doors.cli.demo",
    "kernel_magics.doors.cli.recover",
    "kernel_magics.doors.cli.migrate",
    "kernel_magics.doors.cli.lineage",
    "kernel_magics.doors.cli.models",
]

HOME_HELP = "lakehouse folder (default: $LAKEBOOK_HOME, lakebook.toml, ./.lakebook)"


def cmd_status(lh: Any, args: argparse.Namespace) -> int:
    """Print the lakehouse summary as a table."""
    from rich.console import Console
    from rich.table import Table
    status = lh.status()
    table = Table(title="Lakebook", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("home", status["home"])
    table.add_row("catalog version", str(status["catalog_version"]))
    table.add_row("lakebook version", status["lakebook_version"])
    for name, value in status["counts"].items():
        table.add_row(name.replace("_", " "), str(value))
    Console().print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``lakebook`` parser with every area's subcommands."""
    parser = argparse.ArgumentParser(
        prog="lakebook", description="Lakebook: an AI Lakehouse inside Jupyter.")
    parser.add_argument("--version", action="version", version=f"lakebook {__version__}")
    parser.add_argument("--home", default=None, help=HOME_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    status = sub.add_parser("status", help="show what the lakehouse holds",
                            description="Show the lakehouse's home, catalog version and what "
                                        "it holds (an existing lakehouse only).")
    status.set_defaults(func=cmd_status, needs_existing=True)
    for name in COMMAND_MODULES:
        module = optional_module(name)
        if module is not None:
            module.add_parsers(sub)
    for command in sub.choices.values():  # `lakebook CMD --home P` as well as `--home P CMD`
        command.add_argument("--home", default=argparse.SUPPRESS, help=HOME_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lakebook`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from ...shared.errors import LakebookError
    try:
        if getattr(args, "no_lakehouse", False):
            return int(args.func(None, args) or 0)
        from ...lakehouse import connect
        lh = connect(args.home, create=not getattr(args, "needs_existing", False))
        return int(args.func(lh, args) or 0)
    except LakebookError as exc:
        from rich.console import Console
        from rich.markup import escape
        # escaped: "[catalog] url" in a message is text, not rich markup
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
