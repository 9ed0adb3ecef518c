"""``lakebook lineage [OBJECT]``: a thin door onto ``lh.lineage``."""
from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_lineage(lh: Any, args: argparse.Namespace) -> int:
    obj = None
    if args.object:
        obj = (args.kind, args.object, args.version) if args.kind else args.object
    graph = lh.lineage(obj, upstream=not args.downstream_only,
                       downstream=not args.upstream_only, depth=args.depth)
    data = graph.to_dict()
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table
    table = Table(title=f"Lineage of {args.object or 'the lakehouse'}", title_justify="left")
    for col in ("kind", "name", "version", "who", "when", "status"):
        table.add_column(col)
    for n in data["nodes"]:
        status = n["status"] or ""
        if n["stale"]:
            status = f"[yellow]stale[/] ({n['reason']})"
        table.add_row(n["kind"], n["name"], n["version"] or "", n["who"] or "",
                      (n["created_at"] or "")[:19], status)
    console = Console()
    console.print(table)
    console.print(f"{len(data['nodes'])} nodes, {len(data['edges'])} edges", highlight=False)
    return 0


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser("lineage", help="show the lineage graph of an object",
                              description="The lineage of an object (a name, or "
                                          "kind:name@version) or of the whole lakehouse.")
    p.set_defaults(func=cmd_lineage, needs_existing=True)
    p.add_argument("object", nargs="?", default=None,
                   help="e.g. fraud, model_version:fraud@2, feature_group:transactions@1")
    p.add_argument("--kind", default=None, help="the object's kind (model_version, ...)")
    p.add_argument("--version", default=None)
    p.add_argument("--upstream-only", action="store_true")
    p.add_argument("--downstream-only", action="store_true")
    p.add_argument("--depth", type=int, default=None, help="hops from the object")
    p.add_argument("--json", action="store_true", help="print graph.to_dict() as JSON")
