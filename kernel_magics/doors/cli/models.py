"""``lakebook export-model``: a thin door onto ``lh.registry.export_mlflow``."""
from __future__ import annotations

import argparse
from typing import Any


def cmd_export_model(lh: Any, args: argparse.Namespace) -> int:
    mv = lh.registry.get(args.model, version=args.version, alias=args.alias)
    path = lh.registry.export_mlflow(mv.name, args.out, version=mv.version)
    print(f"Model {mv.name!r} version {mv.version} ({mv.flavour}) is an MLflow model in "
          f"{path}: mlflow.pyfunc.load_model({str(path)!r})")
    return 0


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export-model", help="write a model version as an MLflow model directory",
        description="Write a registered model version as an MLflow model directory, with "
                    "MLflow's own flavour for its framework (sklearn, xgboost, lightgbm, onnx, "
                    "pytorch), its input schema and example, and requirements pinning the "
                    "framework at the version recorded with it.")
    p.set_defaults(func=cmd_export_model, needs_existing=True)
    p.add_argument("model", metavar="MODEL", help="the registered model's name")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--version", type=int, default=None,
                       help="the version to export (default: the latest)")
    which.add_argument("--alias", default=None, help="the alias naming the version")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="a new (or empty) directory to write the MLflow model to")
