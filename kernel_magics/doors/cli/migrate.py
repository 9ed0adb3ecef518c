"""``lakebook migrate``: copy a laptop lakehouse into a team one (PostgreSQL + S3).

Kept light to import: the copying code is imported only when the command runs.
"""
from __future__ import annotations

import argparse
from typing import Any


def add_parsers(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``migrate`` to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "migrate", help="copy this lakehouse into a team catalog and object storage",
        description="Copy the lakehouse (its catalog and Delta tables) into an empty "
                    "PostgreSQL database and an empty S3 prefix: every Delta version, time "
                    "travel, model version, alias and run record is kept, and the copy is "
                    "checked row by row. S3 credentials come from AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY. A target that is not empty is refused.")
    parser.add_argument("--to-catalog", required=True, metavar="URL",
                        help="the target database, postgresql://user:password@host:5432/db")
    parser.add_argument("--to-storage", required=True, metavar="URL",
                        help="the target object store, s3://bucket/prefix")
    parser.add_argument("--storage-endpoint", default=None, metavar="URL",
                        help="the S3 API endpoint (MinIO, R2...; default: AWS_ENDPOINT_URL "
                             "or AWS)")
    parser.add_argument("--storage-region", default=None,
                        help="the S3 region (default: AWS_REGION, else us-east-1)")
    parser.set_defaults(func=cmd_migrate, needs_existing=True)
    return parser


def cmd_migrate(lh: Any, args: argparse.Namespace) -> int:
    from ...migrate import migrate
    report = migrate(lh, args.to_catalog, args.to_storage, args.storage_endpoint,
                     args.storage_region)
    print(report.describe())
    return 0
