"""``lakebook serve``: the standalone prediction server (a thin door onto ``server_app``).

``add_parsers(subparsers)`` adds ``serve``; ``cmd_serve(lh, args)`` runs it and returns the
exit code (0 after a clean stop, 1 with one sentence on stderr when it cannot start). It
serves an existing lakehouse only: a mistyped ``--home`` must not create an empty one.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parsers(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to the CLI's subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "serve", help="serve deployments over HTTP (Lakebook and MLflow protocols)",
        description="Serve online predictions of deployments: /deployments/<name>/predict, "
                    "MLflow's /invocations, /health and /openapi.json. Stops cleanly on "
                    "SIGTERM, flushing the inference logs.")
    parser.add_argument("--deployment", action="append", default=None, metavar="NAME",
                        help="deployment to serve (repeatable; default: every deployment)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; any other needs --token)")
    parser.add_argument("--port", type=_port, default=8080, help="port (default 8080)")
    parser.add_argument("--token", default=None,
                        help="require 'Authorization: Bearer TOKEN' (default "
                             "$LAKEBOOK_SERVE_TOKEN; required off loopback)")
    parser.set_defaults(func=cmd_serve, needs_existing=True)
    return parser


def _port(text: str) -> int:
    """``--port``: checked while parsing, before the lakehouse is opened."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"port {value} is not a port number (1-65535)")
    return value


def cmd_serve(lh: Any, args: argparse.Namespace) -> int:
    """Run ``lakebook serve`` with parsed ``args`` until SIGTERM; returns the exit code."""
    import logging
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s",
                        stream=sys.stderr)
    # one line per request costs more than the prediction: log only 4xx/5xx answers
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    from ..serve.app import serve
    return serve(lh, deployments=args.deployment, host=args.host, port=args.port,
                 token=args.token)
