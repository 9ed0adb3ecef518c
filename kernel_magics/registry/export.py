"""A model version as an MLflow model directory (``lakebook export-model``).

The directory is written by MLflow itself (``mlflow.<flavour>.save_model``), with MLflow's
flavour for the framework (sklearn, xgboost, lightgbm, onnx, pytorch), so any MLflow tool
loads it: ``mlflow.pyfunc.load_model(dir).predict(df)``, ``mlflow models serve``. It carries
the version's input schema and input example, ``requirements.txt`` pinning the framework at
the version recorded at registration, and the version's Lakebook provenance in the
``MLmodel`` metadata. Each flavour says how MLflow saves its models
(:meth:`~.flavours.Flavour.to_mlflow`); a flavour MLflow has no flavour for is refused.

Safe formats stay safe: scikit-learn goes out as skops (trusting the types Lakebook accepted
for the version), boosters as their own JSON/text, ONNX as ONNX, PyTorch as a
``torch.export`` program (``pt2``), never as a pickle.
"""
from __future__ import annotations

import os
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..shared.errors import InvalidInput
from .flavours import FLAVOURS, get_flavour
from .frameworks.artifacts import require

if TYPE_CHECKING:  # pragma: no cover
    from .api import ModelRegistry
    from .versions import ModelVersion

#: the pip extra that installs MLflow for exports
EXTRA = "mlflow"


@dataclass
class MlflowTarget:
    """What a flavour needs to write a version with MLflow (:meth:`Flavour.to_mlflow`)."""

    #: the directory MLflow creates (it must not exist yet)
    path: Path
    #: the version's input example (a typed DataFrame, an array, or None)
    example: Any
    #: the version's input columns and their pandas dtypes, in training order
    columns: list[tuple[str, str]]
    #: ``requirements.txt`` lines, the framework pinned at its recorded version
    requirements: list[str]
    #: provenance written to the ``MLmodel`` file's metadata
    metadata: dict[str, Any]
    #: type names the registry's trust policy accepted for this version (skops)
    trusted: list[str] = field(default_factory=list)
    #: how errors name the version
    what: str = "The model"

    def column_signature(self) -> Any:
        """MLflow's signature of the input columns (MLflow's own type inference over the
        example, or over empty columns of the recorded dtypes)."""
        from mlflow.models import infer_signature
        frame = self.example if isinstance(self.example, (pd.DataFrame, np.ndarray)) else \
            pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in self.columns})
        with warnings.catch_warnings():  # its hint about integer columns and missing values
            warnings.simplefilter("ignore", UserWarning)
            return infer_signature(frame)

    def refuse_categories(self, columns: list[str], library: str) -> None:
        """Refuse a booster trained on text columns as pandas categories: MLflow's schema
        hands those columns over as text, which the library's own ``predict`` refuses."""
        if columns:
            raise InvalidInput(
                f"{self.what} was trained on text column(s) {', '.join(columns)} as pandas "
                f"categories, and MLflow's {library} flavour passes them on as text, which "
                f"{library} cannot score.",
                "Serve it with `lakebook serve` (it speaks MLflow's scoring protocol), or "
                "encode those columns as numbers in the view and train again.")

    def matrix_example(self, rows: int = 2) -> np.ndarray:
        """The example as a float32 matrix of at least ``rows`` rows (a traced program
        keeps a batch dimension of one as a constant)."""
        if isinstance(self.example, pd.DataFrame):
            names = [n for n, _ in self.columns] or list(self.example.columns)
            arr = self.example[names].to_numpy(dtype=np.float32)
        elif self.example is not None:
            arr = np.asarray(self.example, dtype=np.float32)
        else:
            arr = np.zeros((1, len(self.columns)), dtype=np.float32)
        arr = arr.reshape(1, -1) if arr.ndim == 1 else arr
        return np.concatenate([arr] * -(-rows // len(arr)))[:max(rows, len(arr))]


def mlflow_flavours() -> list[str]:
    """The Lakebook flavours MLflow has a flavour for."""
    return [f.name for f in FLAVOURS.values() if f.mlflow_flavour]


def requirements(mv: "ModelVersion", packages: tuple[str, ...]) -> list[str]:
    """``package==version`` for each of ``packages``, at the version recorded with ``mv``
    (its libraries, else its recorded environment; unpinned when neither has it)."""
    env = {}
    try:
        env = mv.environment.get("packages") or {}
    except Exception:  # an environment this catalog cannot read: the libraries suffice
        pass
    out = []
    for package in packages:
        version = mv.libraries.get(package) or env.get(package)
        out.append(f"{package}=={version}" if version else package)
    return out


def export_model(registry: "ModelRegistry", name: str, out: str | Path,
                 version: int | None = None, alias: str | None = None) -> Path:
    """Write version ``version`` (or the one ``alias`` names, or the latest) of model
    ``name`` to the new directory ``out`` as an MLflow model; returns its path. Nothing is
    left at ``out`` when it fails."""
    mv = registry.get(name, version=version, alias=alias)
    what = f"Model {name!r} version {mv.version}"
    flavour = get_flavour(mv.flavour)
    if not flavour.mlflow_flavour:
        raise InvalidInput(
            f"{what} is a {mv.flavour!r} model, and MLflow has no flavour for it, so it "
            "cannot be written as an MLflow model.",
            "Register the model with one of the flavours MLflow has "
            f"({', '.join(mlflow_flavours())}), then export that version.")
    target = Path(out).expanduser().absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(f"{target} already exists and is not an empty directory.",
                           "Choose a new directory: export-model writes a whole MLflow "
                           "model directory there.")
    if not target.parent.is_dir():
        raise InvalidInput(f"The folder {target.parent} does not exist.",
                           f"Create it first, or export to another path than {target}.")
    require("mlflow", EXTRA, "Exporting an MLflow model")
    model = mv.load()
    trusted = list(flavour.untrusted_types(mv.artifact_path))
    staging = target.parent / f".{target.name}.export-{uuid.uuid4().hex[:8]}"
    spec = MlflowTarget(
        path=staging, example=mv.input_example,
        columns=[(c["name"], c["type"]) for c in mv.input_schema],
        requirements=requirements(mv, flavour.mlflow_packages),
        metadata={"lakebook": {"model": mv.name, "version": mv.version,
                               "flavour": mv.flavour, "task": mv.task,
                               "artifact_sha256": mv.artifact_sha256, "view": mv.view,
                               "training_versions": mv.training_versions,
                               "metrics": mv.metrics}},
        trusted=trusted, what=what)
    from mlflow.exceptions import MlflowException
    try:
        flavour.to_mlflow(model, spec)
        if target.exists():
            target.rmdir()  # empty (checked above): the export takes its place
        os.replace(staging, target)
    except MlflowException as exc:
        raise InvalidInput(f"{what}: MLflow could not save it ({str(exc.message)[:300]}).",
                           "Register the model again with this environment's libraries.") \
            from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    registry.catalog.record_event("model.exported", f"{name}/{mv.version}",
                                  {"path": str(target), "mlflow_flavour":
                                   flavour.mlflow_flavour})
    return target
