"""A deployment: a model (by alias or version) and a feature view, answering predictions.

``deployment.predict({"cc_num": 42})`` looks the entity's feature vector up in the online
store, adds request-time features the caller passed, runs the model and returns a JSON-ready
answer; ``deployment.batch(start, end)`` scores the view's rows for a window into Delta
(``predictions_<name>``; monitoring reads both). The
REST handlers, ``lakebook serve`` and ``%%inference`` are thin doors onto these two methods.
"""
from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..shared.errors import InvalidInput, LakebookError
from ..shared.jsonsafe import plain
from .inference_log import InferenceLog, Record
from .inputs import Columns
from .model_cache import ModelCache, Served
from .model_input import ModelInput
from .protocol import PredictRequest, parse_request
from .resolver import check_kind

if TYPE_CHECKING:  # pragma: no cover
    from ..lakehouse import Lakehouse
    from .batch import BatchResult

_log = logging.getLogger(__name__)


class PredictionFailed(LakebookError):
    """The model raised while predicting: the server's side, not the caller's."""

    http_status = 500


@dataclass
class Answer:
    """What one scoring request produced (before a front door formats it)."""

    request_id: str
    model: str
    version: int
    #: one dict per input row: keys, prediction, probabilities, found
    rows: list[dict[str, Any]]
    predictions: list[Any]
    single: bool = False

    def lakebook(self) -> dict[str, Any]:
        """Lakebook's answer: ``{"predictions": [...], "model": {...}, "request_id"}``."""
        return {"predictions": self.rows, "model": {"name": self.model, "version": self.version},
                "request_id": self.request_id}

    def mlflow(self) -> dict[str, Any]:
        """MLflow's answer: ``{"predictions": [value, ...]}``."""
        return {"predictions": self.predictions}


class Deployment:
    """One deployment of a lakehouse (get it with ``lh.deployments.get(name)``)."""

    def __init__(self, lh: "Lakehouse", name: str, resolver: Any | None = None,
                 refresh_s: float | None = None) -> None:
        from .resolver import LakehouseResolver
        self.lh = lh
        self.name = name
        self.resolver = resolver or LakehouseResolver(lh)
        if refresh_s is None:
            refresh_s = lh.config.serve_refresh_ms / 1000
        self.cache = ModelCache(self.resolver, name, refresh_s=refresh_s)
        self._log: InferenceLog | None = None
        self._columns: tuple[Served, Columns] | None = None
        self._flush_s = lh.config.log_flush_ms / 1000
        self._shadow_pool: Any = None

    # -- what it serves --------------------------------------------------------------------
    @property
    def served(self) -> Served:
        return self.cache.current()

    @property
    def target(self):
        return self.served.target

    @property
    def model_name(self) -> str:
        return self.served.model.name

    @property
    def model_version(self) -> int:
        return self.served.model.version

    @property
    def log(self) -> InferenceLog:
        """The deployment's inference log (opened on first use)."""
        if self._log is None:
            self._log = InferenceLog(self.lh, self.name, flush_s=self._flush_s)
        return self._log

    # -- online ----------------------------------------------------------------------------
    def predict(self, entry_or_entries: dict[str, Any] | list[dict[str, Any]],
                features: dict[str, Any] | list[dict[str, Any]] | None = None
                ) -> dict[str, Any] | list[dict[str, Any]]:
        """Predict for one entity (a dict of its keys) or a list of them.

        ``features`` are request-time features (one dict per entity) that the store does not
        hold or that override it. Returns, per entity, its keys, ``prediction``,
        ``probabilities`` (classifiers), ``found`` (False when the key is not in the online
        store; unless the caller passed every feature the prediction is then null), and
        ``model``.
        """
        payload: dict[str, Any] = {"entries": entry_or_entries}
        if features is not None:
            payload["features"] = features
        answer = self.predict_request(parse_request(payload, allow_mlflow=False))
        model = {"name": answer.model, "version": answer.version}
        rows = [{**row, "model": model} for row in answer.rows]
        return rows[0] if answer.single else rows

    def neighbors(self, vector: Any = None, text: str | None = None,
                  embedder: str | None = None, embedder_alias: str | None = None,
                  k: int = 10, filter: str | None = None, col: str | None = None
                  ) -> dict[str, Any]:
        """The ``k`` entities of the deployment's view nearest to ``vector`` (or to ``text``
        embedded by the registered embedding model ``embedder``, at ``embedder_alias`` or its
        latest version), each with the model's prediction over its features:
        ``{"neighbors": [{keys…, "distance", "prediction", "probabilities"?, "features"}],
        "model": {"name", "version"}}``. The predictions are logged like any other."""
        from .neighbors import neighbors
        return neighbors(self, vector=vector, text=text, embedder=embedder,
                         embedder_alias=embedder_alias, k=k, filter=filter, col=col)

    def predict_body(self, payload: Any, allow_lakebook: bool = True) -> Answer:
        """Score a decoded JSON body in any accepted format (see ``protocol``); MLflow's
        ``/invocations`` passes ``allow_lakebook=False``. Both HTTP servers answer with it."""
        return self.predict_request(parse_request(payload, allow_lakebook=allow_lakebook))

    def predict_request(self, req: PredictRequest) -> Answer:
        """Score one parsed request; the answer is logged, a failure is counted, not logged."""
        t0 = time.perf_counter()
        served = self.served
        model = served.model
        try:
            X, columns_of, entries, predictable, found = self._inputs(served, req)
        except LakebookError:
            self.log.count_error()
            raise
        idx = [i for i, ok in enumerate(predictable) if ok]
        request_id = uuid.uuid4().hex
        groups = self._route(served, idx, entries, request_id)
        # per input row: (prediction, probabilities, model, arm)
        results: dict[int, tuple[Any, Any, Any, str | None]] = {}
        scored: list[tuple[str | None, Any, list[int], list[Any], Any]] = []
        for arm, arm_model, rows_idx in groups:
            preds, proba = self._score(req, served, arm_model, X, rows_idx, columns_of)
            scored.append((arm, arm_model, rows_idx, preds, proba))
            for j, i in enumerate(rows_idx):
                results[i] = (preds[j], None if proba is None else proba[j], arm_model, arm)
        rows: list[dict[str, Any]] = []
        out_preds: list[Any] = []
        for i, ok in enumerate(predictable):
            row: dict[str, Any] = dict(entries[i]) if entries is not None else {}
            if ok:
                pred, prob, row_model, arm = results[i]
                row["prediction"] = pred
                if prob is not None:
                    row["probabilities"] = {str(c): float(p)
                                            for c, p in zip(row_model.classes, prob)}
                row["found"] = found[i]
                if served.router is not None:
                    row["arm"] = arm
                    row["version"] = row_model.version
                out_preds.append(pred)
            else:
                row["prediction"] = None
                row["found"] = False
                out_preds.append(None)
            rows.append(row)
        latency_ms = (time.perf_counter() - t0) * 1000
        now = time.time()
        for arm, arm_model, rows_idx, preds, proba in scored:
            self.log.append(Record(ts=now, request_id=request_id, model=arm_model.name,
                                   model_version=arm_model.version, entries=entries,
                                   features=columns_of, rows=rows_idx,
                                   predictions=preds, proba=proba, classes=arm_model.classes,
                                   latency_ms=latency_ms, arm=arm))
        if served.shadow is not None and idx:
            self._shadow_score(served, X, idx, entries, columns_of, request_id, now)
        first = scored[0][1] if scored else model
        return Answer(request_id=request_id, model=first.name, version=first.version,
                      rows=rows, predictions=out_preds, single=req.single)

    def _route(self, served: Served, idx: list[int], entries: list[dict[str, Any]] | None,
               request_id: str) -> list[tuple[str | None, Any, list[int]]]:
        """The rows each model scores: all rows by the served model, or, under a split, each
        row by its arm's (sticky by the entity's keys, see ``routing``)."""
        router = served.router
        if router is None:
            return [(None, served.model, idx)]
        by_arm: dict[str, list[int]] = {}
        for i in idx:
            entry = entries[i] if entries is not None else None
            values = tuple(entry.values()) if entry else (request_id, i)
            by_arm.setdefault(router.arm(values), []).append(i)
        return [(arm, served.arm_models[arm], rows) for arm, rows in by_arm.items()]

    def _score(self, req: PredictRequest, served: Served, model: Any, X: ModelInput,
               idx: list[int], columns_of: dict[str, list[Any]]) -> tuple[list[Any], Any]:
        """``model``'s predictions (and probabilities) for rows ``idx`` of ``X``."""
        if not idx:
            return [], None
        try:
            raw, proba = model.predict(X.take(idx).for_model(model))
        except Exception as exc:
            self.log.count_error()
            sent = _unusable_values_sent(req, self._columns_of(served), columns_of, model)
            if sent:  # the model refused a value the caller sent: the caller's mistake
                raise InvalidInput(
                    f"Model {model.name} v{model.version} of deployment {self.name!r} "
                    f"cannot predict with the value(s) sent: {'; '.join(sent)} "
                    f"({type(exc).__name__}: {_short(exc, 120)})",
                    "Send a value of the type the model was trained with for each of "
                    "these fields (the online store supplies the ones you leave out).") \
                    from None
            raise PredictionFailed(
                f"Model {model.name} v{model.version} of deployment {self.name!r} failed "
                f"to predict: {type(exc).__name__}: {_short(exc)}",
                "Check the values sent against the model's input schema.") from None
        return plain(raw.tolist()), proba

    def _shadow_score(self, served: Served, X: ModelInput, idx: list[int],
                      entries: list[dict[str, Any]] | None, columns_of: dict[str, list[Any]],
                      request_id: str, ts: float) -> None:
        """Score the request with the shadow arm on a background thread (never on the
        answer's path) and log it with ``shadow = true``; a failure is logged, not raised."""
        arm, model = served.shadow  # type: ignore[misc]
        if self._shadow_pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._shadow_pool = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"lakebook-shadow-{self.name}")

        def run() -> None:
            t0 = time.perf_counter()
            try:
                raw, proba = model.predict(X.take(idx).for_model(model))
            except Exception:
                _log.exception("Deployment %s: shadow arm %s (v%s) failed to predict",
                               self.name, arm, model.version)
                return
            self.log.append(Record(ts=ts, request_id=request_id, model=model.name,
                                   model_version=model.version, entries=entries,
                                   features=columns_of, rows=idx,
                                   predictions=plain(raw.tolist()), proba=proba,
                                   classes=model.classes,
                                   latency_ms=(time.perf_counter() - t0) * 1000, arm=arm,
                                   shadow=True), count=False)

        self._shadow_pool.submit(run)

    def _inputs(self, served: Served, req: PredictRequest
                ) -> tuple[ModelInput, dict[str, list[Any]], list[dict[str, Any]] | None,
                           list[bool], list[bool | None]]:
        """The model's inputs (and its columns as lists), the entities' entries, which
        rows can be predicted and which were found in the online store (None: scored as sent,
        not looked up). The rules are in :mod:`~kernel_magics.deployments.inputs`."""
        model = served.model
        cols = self._columns_of(served)
        strict = req.fmt == "lakebook"
        if req.positional is not None:
            rows = [cols.positional(i, values) for i, values in enumerate(req.positional)]
        else:
            rows = [cols.check_names(i, row, strict) for i, row in enumerate(req.rows)]
        self._check_types(model, rows)
        if served.view is None:
            return self._model_only_inputs(model, rows)
        view = served.view
        columns = list(cols.inputs)
        entries: list[dict[str, Any]] = []
        lookup: list[int] = []  # rows looked up online (the others are scored as sent)
        for i, row in enumerate(rows):
            if cols.has_keys(row):
                lookup.append(i)
                entries.append({k: row[k] for k in cols.keys})
                continue
            missing = cols.missing_inputs(row)
            if missing:
                raise InvalidInput(
                    f"Row {i} names no entity ({', '.join(cols.keys)}) and does not give every "
                    f"input of model {model.name} v{model.version} (missing "
                    f"{', '.join(map(repr, missing[:5]))}).",
                    f"Send the keys, e.g. {{{', '.join(repr(k) + ': ...' for k in cols.keys)}}}, "
                    f"to look the features up, or every input ({', '.join(columns)}).")
            entries.append({})
        if not rows:
            return ModelInput({c: [] for c in columns}, columns), {}, entries, [], []
        vectors: dict[int, dict[str, Any]] = {}
        if len(lookup) == 1:  # the common online case: no intermediate DataFrame
            vectors[lookup[0]] = view.feature_vector(entries[lookup[0]])
        elif lookup:
            found_rows = view.feature_vectors([entries[i] for i in lookup])
            vectors = dict(zip(lookup, found_rows.to_dict("records")))
        # a value the row passes overrides the store's (a request-time feature); a null or
        # NaN is "not given" (a DataFrame column with gaps), so the store's value stays
        data: dict[str, list[Any]] = {}
        for c in columns:
            values = []
            for i, row in enumerate(rows):
                vec = vectors.get(i)
                if vec is None:  # scored as sent
                    values.append(row[c])
                elif _given(row.get(c)):  # a passed value overrides the store's
                    values.append(row[c])
                elif c in vec:
                    values.append(vec[c])
                else:
                    raise InvalidInput(
                        f"Model {model.name} v{model.version} needs {c!r}, which feature view "
                        f"{view.name!r} does not provide.",
                        "Pass it with each entry (in 'features', a request-time feature).")
            data[c] = values
        X = ModelInput(data, columns)
        found: list[bool | None] = [None if i not in vectors else
                                    bool(vectors[i].get("_found", True))
                                    for i in range(len(rows))]
        predictable = [f is not False or all(_given(row.get(c)) for c in columns)
                       for f, row in zip(found, rows)]
        return X, data, entries, predictable, found

    def _columns_of(self, served: Served) -> Columns:
        """The accepted names of ``served``, computed once per served snapshot."""
        cached = self._columns
        if cached is None or cached[0] is not served:
            cached = self._columns = (served, Columns.of(served))
        return cached[1]

    def _model_only_inputs(self, model, rows: list[dict[str, Any]]
                           ) -> tuple[ModelInput, dict, None, list[bool], list[bool]]:
        columns = list(model.input_columns or (rows[0].keys() if rows else []))
        for i, row in enumerate(rows):
            missing = [c for c in columns if c not in row]
            if missing:
                raise InvalidInput(
                    f"Row {i} has no value for {', '.join(map(repr, missing[:5]))} (model "
                    f"{model.name} v{model.version} takes {', '.join(columns)}).",
                    "Send every input column of the model.")
            unknown = [c for c in row if c not in columns]
            if unknown:
                raise InvalidInput(f"Row {i} has unknown column(s) "
                                   f"{', '.join(map(repr, unknown[:5]))}.",
                                   f"Model {model.name} takes {', '.join(columns)}.")
        data = {c: [r[c] for r in rows] for c in columns}
        X = ModelInput(data, columns)
        return X, data, None, [True] * len(rows), [True] * len(rows)

    @staticmethod
    def _check_types(model, rows: list[dict[str, Any]]) -> None:
        types = model.input_types
        if not types:
            return
        for i, row in enumerate(rows):
            for name, value in row.items():
                kind = types.get(name)
                if kind and not check_kind(value, kind):
                    raise InvalidInput(
                        f"Row {i}: {name!r} must be a {kind}, not {type(value).__name__} "
                        f"{_short(value)}.",
                        f"Model {model.name} v{model.version} was trained with {name!r} "
                        f"as a {kind}.")

    # -- batch -----------------------------------------------------------------------------
    def batch(self, start: Any = None, end: Any = None, output: str | None = None,
              df: pd.DataFrame | None = None, new_only: bool = False,
              arm: str | None = None) -> "BatchResult":
        """Score the view's rows with event time in ``[start, end)`` (or ``df``) and append
        them to ``predictions_<name>`` (or ``output``) in one Delta commit. The view's rows
        are recorded by reference (pinned group versions in the commit's metadata); the
        inputs of a ``df`` the caller passed are stored in the table. ``new_only`` (without
        ``start``): begin after the newest event time already scored, as ``%%inference``
        does when no window is given. ``arm``: score with that arm's version instead (an
        alias, or ``"v2"``), into the same table: run once per arm to score a window with
        both versions (rows tell them apart by ``model_version`` and ``arm``)."""
        from .batch import after_last_scored, run_batch
        if new_only and start is None and df is None:
            start = after_last_scored(self.lh, output or f"predictions_{self.name}",
                                      self.served.event_time)
        served = self.served_arm(arm) if arm is not None else None
        return run_batch(self, start=start, end=end, output=output, df=df, served=served,
                         arm=arm)

    def served_arm(self, arm: str) -> Served:
        """What the deployment would serve with ``arm``'s model version (an alias of its
        model, or ``v<N>``): the same view, another model."""
        from dataclasses import replace
        served = self.served
        version = self.resolver.arm_version(served.target.model, arm)
        model = next((m for m in (served.model, *served.arm_models.values(),
                                  *([served.shadow[1]] if served.shadow else []))
                      if m.version == version), None) or \
            self.resolver.load_model(served.target.model, version)
        return replace(served, model=model, target=replace(served.target, version=version))

    # -- business results (``kernel_magics.business``) -------------------------------------
    def log_outcome(self, request_id: str | None, outcome: Any, value: Any = None,
                    at: Any = None, keys: dict[str, Any] | None = None) -> None:
        """Log what really happened after the answer ``request_id`` (or, with ``keys`` and
        ``at``, to that entity then): ``outcome`` (e.g. 1 = fraud confirmed) and an optional
        ``value`` (e.g. the amount)."""
        self.lh.outcomes.log(self.name, request_id, outcome, value=value, at=at, keys=keys)

    def joined(self, start: Any = None, end: Any = None, features: bool = False
               ) -> pd.DataFrame:
        """Predictions made in ``[start, end)`` with the outcome each joined (null: none
        yet), as KPIs see them."""
        return self.lh.business.joined(self.name, start=start, end=end, features=features)

    def kpi(self, name: str, sql: str | None = None, **settings: Any):
        """Define (or redefine) KPI ``name`` as SQL over the joined predictions, outcomes and
        features (``kind``, ``better``, ``below``, ``above``, ``on_alert``):
        :meth:`lh.business.kpis.create <kernel_magics.business.api.Kpis.create>` with
        ``replace=True``, so a notebook cell that defines it runs again."""
        settings.setdefault("replace", True)
        return self.lh.business.kpis.create(self.name, name, sql, **settings)

    def kpis(self, every: Any = "1d", start: Any = None, end: Any = None) -> pd.DataFrame:
        """KPIs per window, version and arm: ``window_start, version, arm, shadow, kpi,
        value, coverage, n, ci_low, ci_high`` (``lh.business.kpis.values``); the KPIs
        themselves are ``lh.business.kpis.list(name)``."""
        return self.lh.business.kpis.values(self.name, every=every, start=start, end=end)

    def compare_arms(self, kpi: str | None = None, start: Any = None,
                     end: Any = None) -> dict[str, Any]:
        """Which arm is better on ``kpi``, and whether the difference is significant."""
        return self.lh.business.compare_arms(self.name, kpi=kpi, start=start, end=end)

    def check_kpis(self, every: Any = "1d", now: Any = None) -> list[int]:
        """Raise the alerts of KPI thresholds the latest window crossed; their ids."""
        return self.lh.business.check_alerts(self.name, every=every, now=now)

    def route(self, split: dict[str, float] | None = None,
              shadow: str | None = None) -> "Deployment":
        """Set (None: end) the A/B split and the shadow."""
        return self.lh.deployments.route(self.name, split=split, shadow=shadow)

    def promote(self, arm: str) -> "Deployment":
        """Move the deployment's alias to ``arm``'s version and end the split."""
        return self.lh.deployments.promote(self.name, arm)

    def business(self, every: Any = "1w", start: Any = None, end: Any = None):
        """An ipywidgets view of the business results: KPI lines per version and arm,
        coverage, alert markers, and the arms' comparison."""
        return self.lh.business.widget(self.name, every=every, start=start, end=end)

    def business_chart(self, every: Any = "1w", start: Any = None, end: Any = None):
        """The business view's Vega-Lite chart (renders in JupyterLab; ``.spec`` is the
        spec)."""
        return self.lh.business.chart(self.name, every=every, start=start, end=end)

    def batch_window(self, output: str | None = None, scheduled: tuple[Any, Any] | None = None,
                     asked: tuple[Any, Any] | None = None) -> tuple[Any, Any]:
        """The window a batch scores: a scheduled run's window when it has one, else the
        window asked for, else the newest rows (after the latest event time already scored
        into ``output``, default ``predictions_<name>``: each row is scored once)."""
        for start, end in (scheduled or (None, None), asked or (None, None)):
            if start is not None or end is not None:
                return start, end
        from .batch import after_last_scored
        return after_last_scored(self.lh, output or f"predictions_{self.name}",
                                 self.served.event_time), None

    # -- housekeeping ----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Requests, errors and latency as last flushed to the catalog."""
        from .records import stats
        row = stats(self.lh.catalog, self.name)
        return dict(row) if row else {"name": self.name, "requests": 0, "errors": 0}

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (spec, the version served now, stats)."""
        from .api import deployment_row
        info = deployment_row(self.lh, self.name)
        try:
            served = self.served
            info["serving"] = {"model": served.model.name, "version": served.model.version,
                               "view": served.target.view,
                               "view_version": served.target.view_version}
        except LakebookError as exc:
            info["serving"] = {"error": exc.message}
        info["stats"] = self.stats()
        return info

    def to_dict(self) -> dict[str, Any]:
        """What the deployment is, as the catalog keeps it (``name``, ``model``, ``alias``
        or ``version``, ``view``, ``kind``, ``spec``), JSON-ready, without loading its model:
        like every object of the API; :meth:`describe` adds what it serves now."""
        from .api import deployment_row
        return dict(deployment_row(self.lh, self.name))

    def flush(self) -> None:
        """Write the buffered inference log now."""
        if self._log is not None:
            self._log.flush()

    def close(self) -> None:
        """Stop watching the catalog, finish shadow scoring and flush the inference log."""
        self.cache.close()
        if self._shadow_pool is not None:
            self._shadow_pool.shutdown(wait=True)
            self._shadow_pool = None
        if self._log is not None:
            self._log.close()

    def _repr_html_(self) -> str:
        from ..render.deployments import deployment_html
        from .log_files import dead_letter_folder
        return deployment_html({**self.describe(),
                                "dead_letter_file": str(dead_letter_folder(self.lh, self.name))})

    def __repr__(self) -> str:
        return f"Deployment({self.name!r})"


def _given(value: Any) -> bool:
    """Whether a passed value was given (null and NaN are gaps, not values)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _unusable_values_sent(req: PredictRequest, cols: Columns,
                         columns_of: dict[str, list[Any]], model: Any) -> list[str]:
    """The model inputs the caller sent that a model may refuse: nulls, and values not of
    the type the model was trained with (strings or booleans for numbers). ``[]`` when the
    caller sent only usable values (the model's failure is then the server's side)."""
    rows = req.rows if req.positional is None else [
        cols.positional(i, values) for i, values in enumerate(req.positional)]
    types = model.input_types or {}
    found: list[str] = []
    for i, row in enumerate(rows):
        for name, value in row.items():
            if name not in columns_of:
                continue
            kind = types.get(name)
            if value is None or isinstance(value, float) and math.isnan(value):
                found.append(f"row {i} {name!r} is null")
            elif isinstance(value, str) and kind in (None, "number", "boolean"):
                found.append(f"row {i} {name!r} is the string {_short(value, 40)!r}")
            elif isinstance(value, bool) and kind == "number":
                found.append(f"row {i} {name!r} is a boolean")
            if len(found) >= 5:
                return found
    return found


def _short(value: Any, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"
