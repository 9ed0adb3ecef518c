"""``lakebook recover``: rebuild a lost or damaged catalog from the lakehouse's tables.

Kept light to import (the CLI loads every area's ``commands`` module to build its parser): the
recovery code is imported only when the command runs.
"""
from __future__ import annotations

import argparse
from typing import Any


def add_parsers(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``recover`` to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "recover", help="rebuild a lost or damaged catalog from the tables",
        description="Rebuild catalog.db from what the lakehouse describes itself: the feature "
                    "groups' Delta tables (definition and commits) and the files of feature "
                    "views, model versions and deployments. A missing, empty or damaged "
                    "catalog is moved aside, never deleted; schedules, runs, monitors and "
                    "alerts are not rebuilt.")
    parser.add_argument("--force", action="store_true",
                        help="rebuild even a readable catalog (it is kept aside)")
    parser.set_defaults(func=cmd_recover, no_lakehouse=True)
    return parser


def cmd_recover(lh: Any, args: argparse.Namespace) -> int:
    from ..recovery import describe_report, recover
    report = recover(getattr(args, "home", None), force=args.force)
    print(describe_report(report))
    return 0
