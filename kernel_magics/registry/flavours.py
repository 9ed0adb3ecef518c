"""How a model is written to and read from its artifact folder, one flavour per library.

A flavour is a small class with ``name``, ``matches(model)``, ``prepare(model)`` (the object
it evaluates, saves and serves), ``save(model, folder)`` and ``load(folder, policy,
allow_unsafe)``. scikit-learn estimators and pipelines use skops, whose loader constructs only
the types the registry's :class:`TrustPolicy` accepts; XGBoost, LightGBM and ONNX models use
their library's own data format (``registry.frameworks``). A pickle-based flavour exists for
other libraries, but loading it runs arbitrary code, so it loads only with an explicit
``allow_unsafe=True``. A flavour MLflow also has (``mlflow_flavour``) writes its models as an
MLflow model directory with :meth:`Flavour.to_mlflow` (``lakebook export-model``, see
:mod:`.export`). Add a flavour with :func:`register_flavour`.
"""
from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..shared.errors import InvalidInput, UnsafeArtifact
from ..shared.plugins import Registry
from .trust import TrustPolicy

if TYPE_CHECKING:  # pragma: no cover
    from .export import MlflowTarget


def read_artifact(path: Path, digest: str | None, what: str) -> bytes:
    """The artifact's bytes, read once (what is checked is what is loaded); refused when they
    differ from the ``digest`` (sha256) recorded at registration."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnsafeArtifact(f"{what} cannot be read ({exc}).", "Register the model again.") \
            from None
    if digest and hashlib.sha256(data).hexdigest() != digest:
        raise UnsafeArtifact(
            f"{what}: the artifact {path} is not the file that was registered (its sha256 "
            "changed), so it was not loaded.",
            "Someone or something replaced the file. Register the model again from its code.")
    return data


class Flavour:
    """Base of all flavours."""

    #: stored in the catalog; picks the flavour again at load time
    name: str = ""
    #: loading runs code from the file (pickle and friends)
    unsafe: bool = False
    #: the file inside the version's artifact folder
    filename: str = "model.bin"

    #: the pip extra that installs the flavour's library (``lakebook[<extra>]``)
    extra: str | None = None
    #: MLflow's flavour for these models (``lakebook export-model``); None: MLflow has none
    mlflow_flavour: str | None = None
    #: the distributions an exported MLflow model needs (pinned at the recorded versions)
    mlflow_packages: tuple[str, ...] = ()

    def matches(self, model: Any) -> bool:
        """Whether this flavour is the natural one for ``model`` (used when none is named)."""
        return False

    def prepare(self, model: Any, example: Any = None, what: str = "The model",
                policy: TrustPolicy | None = None) -> Any:
        """What this flavour keeps of the trained ``model``: the object that is evaluated,
        saved and, once loaded again, served (``example``: rows of the training frame;
        ``policy``: what the registration trusts). Default: the model itself."""
        return model

    def library_versions(self) -> dict[str, str]:
        """Versions of the libraries this flavour's models need (recorded per version)."""
        return {}

    def save(self, model: Any, folder: Path) -> Path:
        raise NotImplementedError

    def load(self, folder: Path, policy: TrustPolicy, allow_unsafe: bool = False,
             what: str = "The artifact", digest: str | None = None,
             model: str | None = None) -> Any:
        """The model in ``folder``; ``digest`` is the artifact's sha256 at registration and
        ``model`` its name (for the error's hint)."""
        raise NotImplementedError

    def digest(self, folder: Path) -> str:
        """The sha256 of the artifact file (recorded at registration)."""
        return hashlib.sha256((folder / self.filename).read_bytes()).hexdigest()

    def untrusted_types(self, folder: Path) -> list[str]:
        """Types in the artifact that need the trust policy's consent (empty when the format
        cannot tell)."""
        return []

    def to_mlflow(self, model: Any, target: "MlflowTarget") -> None:
        """Write ``model`` (as :meth:`load` gives it) to ``target.path`` with MLflow's own
        flavour (only flavours whose ``mlflow_flavour`` is set)."""
        raise NotImplementedError


class SklearnFlavour(Flavour):
    """scikit-learn estimators and pipelines, saved with ``skops.io``."""

    name = "sklearn"
    filename = "model.skops"
    mlflow_flavour = "sklearn"
    mlflow_packages = ("scikit-learn", "numpy", "scipy", "skops")

    def matches(self, model: Any) -> bool:
        from sklearn.base import BaseEstimator
        return isinstance(model, BaseEstimator)

    def save(self, model: Any, folder: Path) -> Path:
        import skops.io as sio
        path = folder / self.filename
        try:
            sio.dump(model, path)
        except Exception as exc:  # skops cannot represent some objects (e.g. lambdas)
            raise InvalidInput(
                f"The model cannot be saved with skops ({type(exc).__name__}: {exc}).",
                "Replace lambdas and local functions with named module-level functions, or "
                "register with flavour='pickle' (which then loads only with "
                "allow_unsafe=True).") from None
        return path

    def untrusted_types(self, folder: Path) -> list[str]:
        import skops.io as sio
        return list(sio.get_untrusted_types(file=folder / self.filename))

    def load(self, folder: Path, policy: TrustPolicy, allow_unsafe: bool = False,
             what: str = "The artifact", digest: str | None = None,
             model: str | None = None) -> Any:
        import skops.io as sio
        data = read_artifact(folder / self.filename, digest, what)
        try:
            # reads the schema only: nothing named in the file is imported or built here
            untrusted = sio.get_untrusted_types(data=data)
        except Exception as exc:  # a damaged or hand-made file: refuse rather than guess
            raise UnsafeArtifact(f"{what} is not a readable skops file ({exc}).",
                                 "Register the model again.") from None
        trusted = policy.check(untrusted, what, model)
        # skops audits the same bytes again against exactly these names before building
        return sio.loads(data, trusted=trusted)

    def to_mlflow(self, model: Any, target: "MlflowTarget") -> None:
        import mlflow.sklearn
        # skops, trusting the types this version's trust policy accepted (never a pickle)
        mlflow.sklearn.save_model(
            model, str(target.path), serialization_format="skops",
            skops_trusted_types=target.trusted or None, signature=target.column_signature(),
            input_example=target.example, pip_requirements=target.requirements,
            metadata=target.metadata)


class PickleFlavour(Flavour):
    """Any picklable model. Loading a pickle runs code: only with ``allow_unsafe=True``."""

    name = "pickle"
    unsafe = True
    filename = "model.pkl"

    def save(self, model: Any, folder: Path) -> Path:
        path = folder / self.filename
        try:
            with path.open("wb") as f:
                pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise InvalidInput(f"The model cannot be pickled ({type(exc).__name__}: {exc}).",
                               "Define the model's classes and functions at module level.") from None
        return path

    def load(self, folder: Path, policy: TrustPolicy, allow_unsafe: bool = False,
             what: str = "The artifact", digest: str | None = None,
             model: str | None = None) -> Any:
        if not allow_unsafe:
            raise UnsafeArtifact(
                f"{what} is a pickle, and loading a pickle runs code from the file.",
                "Load it with allow_unsafe=True only if you trust whoever wrote it.")
        data = read_artifact(folder / self.filename, digest, what)
        return pickle.loads(data)  # noqa: S301 - the caller asked for it explicitly


#: how models are saved and loaded, by the name recorded with each version
FLAVOURS: Registry[Flavour] = Registry("model flavour")


def register_flavour(flavour: Flavour) -> None:
    """Make a flavour available under ``flavour.name`` (later ones win when several match)."""
    FLAVOURS.register(flavour.name, flavour)


def get_flavour(name: str) -> Flavour:
    """The flavour recorded as ``name`` (InvalidInput naming the known ones)."""
    return FLAVOURS.get(name)


def flavour_for(model: Any, name: str | None = None) -> Flavour:
    """The flavour named ``name``, or the one that matches ``model``."""
    if name is not None:
        return get_flavour(name)
    for flavour in reversed(FLAVOURS.values()):
        if flavour.matches(model):
            return flavour
    raise InvalidInput(
        f"The registry has no flavour for a {type(model).__module__}.{type(model).__name__}.",
        "Register it with flavour='pickle' (it then loads only with allow_unsafe=True), or add "
        "a flavour with kernel_magics.registry.flavours.register_flavour().")


register_flavour(PickleFlavour())
register_flavour(SklearnFlavour())
# imported when chosen or matched (their modules import the library only when used); later
# entries are tried first, so an XGBClassifier (a scikit-learn estimator too) gets XGBoost's
FLAVOURS.register("xgboost", "kernel_magics.registry.frameworks.xgboost_flavour:FLAVOUR")
FLAVOURS.register("lightgbm",
                  "kernel_magics.registry.frameworks.lightgbm_flavour:FLAVOUR")
FLAVOURS.register("onnx", "kernel_magics.registry.frameworks.onnx_flavour:FLAVOUR")
FLAVOURS.register("torch", "kernel_magics.registry.frameworks.torch_flavour:FLAVOUR")
