"""The ``lakebook serve`` subcommand (wired into ``kernel_magics.cli`` by the CLI's owner).

``add_parsers(subparsers)`` adds ``serve``; ``cmd_serve(lh, args)`` runs it and returns the
exit code (0 after a clean stop, 1 with one sentence on stderr when it cannot start).
"""
from __future__ import annotations

import argparse
from typing import Any


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deployment", action="append", default=None, metavar="NAME",
                        help="deployment to serve (repeatable; default: every deployment)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; any other needs --token)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--token", default=None,
                        help="require 'Authorization: Bearer TOKEN' (default "
                             "$LAKEBOOK_SERVE_TOKEN; required off loopback)")


def add_parsers(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to the CLI's subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "serve", help="serve deployments over HTTP (Lakebook and MLflow protocols)",
        description="Serve online predictions of deployments: /deployments/<name>/predict, "
                    "MLflow's /invocations, /health and /openapi.json. Stops cleanly on "
                    "SIGTERM, flushing the inference logs.")
    add_serve_arguments(parser)
    parser.set_defaults(command="serve")
    return parser


def cmd_serve(lh: Any, args: argparse.Namespace) -> int:
    """Run ``lakebook serve`` with parsed ``args``; returns the exit code."""
    from .server_app import serve
    if not 0 < args.port < 65536:
        import sys
        print(f"lakebook serve: port {args.port} is not a port number (1-65535).",
              file=sys.stderr)
        return 1
    return serve(lh, deployments=args.deployment, host=args.host, port=args.port,
                 token=args.token)
