"""``lakebook demo``: create a lakehouse and run the fraud example end to end."""
from __future__ import annotations

import argparse
from typing import Any

from ...demo import DEFAULT_SIZE


def _size(text: str) -> int:
    """``--size``: checked while parsing, so a bad value creates no lakehouse."""
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of transactions") from None
    if not 1_000 <= value <= 10_000_000:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1000 .. 10000000")
    return value


def add_parsers(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``demo`` to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "demo", help="run the credit-card fraud example end to end (features, training, "
                     "inference, monitoring, retraining)",
        description="Create the lakehouse (--home, else $LAKEBOOK_HOME or ./.lakebook) and run "
                    "the fraud example's notebooks headless through Lakebook's pipelines: a "
                    "feature backfill, training, batch and online inference, drift monitoring "
                    "and the retrain. Then open JupyterLab to see it all in the sidebar.")
    parser.add_argument("--size", type=_size, default=DEFAULT_SIZE,
                        help=f"transactions in the simulated world (default {DEFAULT_SIZE:,}; "
                             "10k .. 10M)")
    parser.add_argument("--seed", type=int, default=42, help="the world's random seed")
    parser.add_argument("--notebooks", default=None, metavar="DIR",
                        help="where the example notebooks are (default ./notebooks when it "
                             "holds them, else <home>/notebooks, written for you)")
    parser.set_defaults(func=cmd_demo)
    return parser


def cmd_demo(lh: Any, args: argparse.Namespace) -> int:
    """Run the demo on ``lh``; returns the exit code."""
    from ...demo.run import DemoSettings, run_demo
    run_demo(lh, DemoSettings(size=args.size, seed=args.seed), notebooks=args.notebooks)
    return 0
