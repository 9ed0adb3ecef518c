"""A deployment's neighbour answers: a query vector (or a text and a registered embedding
function) in, the nearest entities of the deployment's view out, each with the model's
prediction over its features ("which known merchants look like this one, and would the
model call them fraud").

The embedding function is an ordinary registered model version whose ``transform`` turns
texts into vectors (e.g. a scikit-learn ``TfidfVectorizer`` + ``TruncatedSVD`` pipeline fitted
in a training step): nothing downloads weights at run time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..shared.errors import InvalidInput
from ..shared.jsonsafe import plain

if TYPE_CHECKING:  # pragma: no cover
    from .deployment import Deployment

#: the fields a neighbours request may carry
FIELDS = {"vector", "text", "embedder", "embedder_alias", "k", "filter", "col"}


def embed(lh: Any, text: str, embedder: str, alias: str | None = None) -> np.ndarray:
    """The vector the registered embedding function ``embedder`` (its ``alias``, else its
    latest version) gives ``text``."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("text must be a non-empty string.", 'Send e.g. {"text": "..."}.')
    mv = lh.registry.get(embedder, alias=alias) if alias else lh.registry.get(embedder)
    model = mv.load()
    if not hasattr(model, "transform"):
        raise InvalidInput(f"Model {embedder!r} version {mv.version} has no transform(), so "
                           "it cannot embed text.",
                           "Register a transformer (e.g. TfidfVectorizer + TruncatedSVD) as "
                           "the embedding function.")
    out = model.transform([text])
    if hasattr(out, "toarray"):
        out = out.toarray()
    return np.asarray(out, dtype=np.float32)[0]


def neighbors(dep: "Deployment", vector: Any = None, text: str | None = None,
              embedder: str | None = None, embedder_alias: str | None = None, k: int = 10,
              filter: str | None = None, col: str | None = None) -> dict[str, Any]:
    """See :meth:`Deployment.neighbors`."""
    if (vector is None) == (text is None):
        raise InvalidInput(f"Deployment {dep.name!r}: send either a vector or a text.",
                           'Send {"vector": [...]} or {"text": "...", "embedder": "NAME"}.')
    if text is not None:
        if not embedder:
            raise InvalidInput(f"Deployment {dep.name!r}: a text needs an embedding function.",
                               'Name the registered embedding model: {"text": "...", '
                               '"embedder": "NAME"}.')
        vector = embed(dep.lh, text, embedder, embedder_alias)
    served = dep.served
    if served.view is None:
        raise InvalidInput(f"Deployment {dep.name!r} has no feature view, so it has no "
                           "entities to search.", "Deploy the model with view=... .")
    found = served.view.find_neighbors(vector, k=k, filter=filter, col=col)
    dist = found.columns[-1]
    entry_cols = list(served.entry_columns or served.keys)
    entries = [{c: row[c] for c in entry_cols if c in row}
               for row in found.to_dict("records")]
    rows: list[dict[str, Any]] = []
    if entries:
        predictions = dep.predict(plain(entries))
        skip = {"_found", dist}
        for record, answer in zip(found.to_dict("records"), predictions):
            features = {c: v for c, v in record.items() if c not in skip and c not in answer}
            rows.append({**{c: answer[c] for c in entry_cols if c in answer},
                         "distance": record[dist], "prediction": answer.get("prediction"),
                         **({"probabilities": answer["probabilities"]}
                            if "probabilities" in answer else {}),
                         "features": features})
    return plain({"neighbors": rows, "model": {"name": served.model.name,
                                               "version": served.model.version}})


def parse_body(payload: Any) -> dict[str, Any]:
    """A REST body as :func:`neighbors` keyword arguments (unknown fields are refused)."""
    if not isinstance(payload, dict):
        raise InvalidInput("The body must be a JSON object.",
                           'Send {"vector": [...], "k": 10} or {"text": "...", '
                           '"embedder": "NAME"}.')
    unknown = sorted(set(payload) - FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field(s) {unknown} in the neighbours request.",
                           f"Fields: {', '.join(sorted(FIELDS))}.")
    if "vector" in payload and not isinstance(payload["vector"], list):
        raise InvalidInput("vector must be a list of numbers.", 'Send {"vector": [0.1, ...]}.')
    return dict(payload)
