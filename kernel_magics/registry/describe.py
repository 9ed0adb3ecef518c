"""What a registered version records about its model, and the checks made before anything
is written: metrics are finite numbers, the estimator is fitted, the input example predicts,
the artifact holds only types the trust policy accepts. Also the JSON forms of estimator
parameters, frames and input examples, and the library versions a version depends on.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..shared.errors import InvalidInput
from ..shared.jsonsafe import plain
from .flavours import Flavour
from .trust import TrustPolicy, describe, trust_hint, type_name

#: rows of the training frame kept as the version's input example
INPUT_EXAMPLE_ROWS = 5


def _describe(value: Any) -> Any:
    """An object that is no JSON data, as a parameter shows it: a class or function by its
    dotted name, anything else (an estimator inside a pipeline) by its repr."""
    if isinstance(value, type):
        return type_name(value)
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data (:func:`~kernel_magics.shared.jsonsafe.plain`, four
    levels deep): estimators, classes and functions become their names or reprs."""
    return plain(value, describe=_describe, depth=4)


def estimator_params(model: Any) -> dict[str, Any]:
    """The estimator's parameters (``get_params()``), as JSON-safe values."""
    get_params = getattr(model, "get_params", None)
    if get_params is None:
        return {}
    try:
        params = get_params(deep=True)
    except Exception:  # some wrappers fail on deep=True
        params = get_params()
    return {k: json_safe(v) for k, v in sorted(params.items())}


def frame_schema(frame: Any) -> list[dict[str, Any]]:
    """Columns and dtypes of a DataFrame (or of a 2-D array, as ``x0, x1, …``)."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if isinstance(frame, pd.DataFrame):
        return [{"name": str(c), "type": str(t)} for c, t in frame.dtypes.items()]
    arr = np.asarray(frame)
    width = arr.shape[1] if arr.ndim == 2 else 1
    return [{"name": f"x{i}", "type": str(arr.dtype)} for i in range(width)]


def library_versions(flavour: Flavour | None = None) -> dict[str, str]:
    """Versions of the libraries a model version depends on."""
    from .._version import __version__
    out = {"python": sys.version.split()[0], "lakebook": __version__}
    for mod in ("sklearn", "numpy", "pandas", "scipy", "skops"):
        module = sys.modules.get(mod)
        if module is None:
            try:
                module = __import__(mod)
            except ImportError:
                continue
        out["scikit-learn" if mod == "sklearn" else mod] = getattr(module, "__version__", "?")
    if flavour is not None:
        # the framework the version needs (read from the module: xgboost-cpu installs
        # `xgboost` under another distribution name)
        out.update(flavour.library_versions())
        out["framework"] = flavour.name
    return out


def example_json(example: Any) -> tuple[str | None, str]:
    """The input example as JSON and its kind (``dataframe`` or ``ndarray``)."""
    if example is None:
        return None, "dataframe"
    if isinstance(example, pd.Series):
        example = example.to_frame().T
    if isinstance(example, pd.DataFrame):
        head = example.head(INPUT_EXAMPLE_ROWS)
        return head.to_json(orient="split", index=False, date_format="iso"), "dataframe"
    arr = np.asarray(example)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    return json.dumps(arr[:INPUT_EXAMPLE_ROWS].tolist()), "ndarray"


def check_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"Metric {key!r} is {value!r}, not a number.",
                               "Pass metrics as {name: number}.") from None
        if not math.isfinite(number):
            raise InvalidInput(f"Metric {key!r} is {value!r}.", "Pass finite numbers.")
        out[str(key)] = number
    return out

def check_fitted(model: Any, name: str) -> None:
    try:
        from sklearn.base import BaseEstimator
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return
    if isinstance(model, BaseEstimator):
        try:
            check_is_fitted(model)
        except NotFittedError:
            raise InvalidInput(
                f"The {type(model).__name__} given for model {name!r} is not fitted.",
                "Call model.fit(X_train, y_train) before registering it.") from None
    elif not callable(getattr(model, "predict", None)):
        raise InvalidInput(f"The object given for model {name!r} "
                           f"({type(model).__name__}) has no predict() method.",
                           "Register a trained model (an estimator with predict()).")

def signature(model: Any, example: Any, name: str) -> dict[str, Any]:
    sig: dict[str, Any] = {"inputs": [], "outputs": []}
    classes = getattr(model, "classes_", None)
    if example is None:
        feats = getattr(model, "feature_names_in_", None)
        if feats is not None:
            sig["inputs"] = [{"name": str(f), "type": "unknown"} for f in feats]
    else:
        if isinstance(example, pd.Series):
            example = example.to_frame().T
        sig["inputs"] = frame_schema(example)
        head = example.head(INPUT_EXAMPLE_ROWS) if isinstance(example, pd.DataFrame) \
            else np.asarray(example)[:INPUT_EXAMPLE_ROWS]
        try:
            pred = np.asarray(model.predict(head))
        except Exception as exc:
            raise InvalidInput(f"Model {name!r} fails to predict on its input example "
                               f"({type(exc).__name__}: {exc}).",
                               "Pass rows shaped like the training data as "
                               "input_example.") from None
        shape = [-1, *pred.shape[1:]]
        sig["outputs"].append({"name": "prediction", "type": str(pred.dtype),
                               "shape": shape})
    if classes is not None:
        sig["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
        if hasattr(model, "predict_proba"):
            sig["outputs"].append({"name": "probabilities", "type": "float64",
                                   "shape": [-1, len(classes)]})
    return sig

def check_loadable(flavour: Flavour, folder: Path, trusted: list[str], name: str) -> None:
    """Refuse at registration what the registry would refuse to load later."""
    refused = TrustPolicy.with_types(trusted).refused(flavour.untrusted_types(folder))
    if refused:
        raise InvalidInput(
            f"Model {name!r} holds {describe(refused)} that the registry does not trust, "
            "so it could not be loaded later; nothing was registered.",
            trust_hint(refused, name))
