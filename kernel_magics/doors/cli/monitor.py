"""``lakebook monitor list | run NAME | alerts`` (wired into the CLI by its owner)."""
from __future__ import annotations

import argparse
from typing import Any


def add_parsers(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("monitor", help="list and run drift monitors, show alerts")
    sub = parser.add_subparsers(dest="monitor_command", metavar="ACTION")
    sub.add_parser("list", help="monitors with their latest verdict")
    run = sub.add_parser("run", help="run a monitor now")
    run.add_argument("name")
    run.add_argument("--now", default=None, help="window end (ISO time; default now)")
    alerts = sub.add_parser("alerts", help="alerts, newest first")
    alerts.add_argument("--monitor", default=None)
    alerts.add_argument("--open", action="store_true", help="only unacknowledged alerts")
    parser.set_defaults(func=cmd_monitor, needs_existing=True, monitor_command="list")
    return parser


def cmd_monitor(lh: Any, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    console = Console()
    if args.monitor_command == "run":
        result = lh.monitoring.run(args.name, now=args.now)
        console.print(f"monitor {args.name}: [bold]{result.status}[/]"
                      + (f", drift share {result.drift_share:.0%}" if result.drift_share
                         is not None else "")
                      + (f" ({result.reason})" if result.reason else ""), highlight=False)
        for name in result.drifted_columns:
            col = result.columns[name]
            console.print(f"  drifted: {name} ({col['method']} {col['score']:.4g})",
                          highlight=False)
        if result.report_html:
            console.print(f"  report: {result.report_html}", highlight=False)
        return 1 if result.status == "failed" else 0
    if args.monitor_command == "alerts":
        tbl = Table(title="Alerts", title_justify="left")
        for col in ("id", "monitor", "kind", "message", "acknowledged"):
            tbl.add_column(col)
        for a in lh.monitoring.alerts.list(args.monitor, acknowledged=False if args.open else None):
            tbl.add_row(str(a["id"]), a["monitor"], a["kind"], a["message"],
                        "yes" if a["acknowledged"] else "no")
        console.print(tbl)
        return 0
    tbl = Table(title="Monitors", title_justify="left")
    for col in ("name", "watches", "status", "drift share", "open alerts"):
        tbl.add_column(col)
    for m in lh.monitoring.summary():
        latest = m["latest"] or {}
        share = latest.get("drift_share")
        tbl.add_row(m["name"], m["spec"].get("deployment") or m["spec"].get("feature_group"),
                    m["status"], "-" if share is None else f"{share:.0%}", str(m["open_alerts"]))
    console.print(tbl)
    return 0
