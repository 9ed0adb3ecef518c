"""The REST contract: every JSON answer of ``/lakebook/api/...``, as typed models.

This is the one description of the answers. ``tests/test_rest_contract.py`` checks real
answers of a real Jupyter server against it (an unknown or missing field fails), the OpenAPI
document (``openapi.py``) takes each route's response schema from it, and the sidebar's
TypeScript types (``extension/src/contract.ts``) are generated from its JSON Schema:

    python -m kernel_magics.doors.rest.contract   # writes extension/src/contract.schema.json
    npm run contract                              # the same, then json2ts -> contract.ts

Free-form parts (a model's params, a monitor's spec, a step's arguments, a notebook) are
``JSONObject``: the server passes them through as the user wrote them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

JSONObject = dict[str, Any]
Scalar = Union[str, int, float, bool, None]

#: where the exported JSON Schema lives (relative to the repository root)
EXPORT_PATH = ("extension", "src", "contract.schema.json")


class Answer(BaseModel):
    """Base of every answer: the fields are exactly these (an unknown one breaks the
    contract, so a field the server adds is added here first), with their JSON types."""
    model_config = ConfigDict(extra="forbid", strict=True)


# -- status ---------------------------------------------------------------------------------

class StatusCounts(Answer):
    feature_groups: int
    feature_views: int
    models: int
    deployments: int
    schedules: int
    runs: int
    monitors: int
    lineage_events: int
    kpis: int


class Status(Answer):
    """``GET status``: the summary the sidebar header shows."""
    home: str
    catalog_version: int
    lakebook_version: str
    counts: StatusCounts


# -- feature groups -------------------------------------------------------------------------

class Column(Answer):
    name: str
    type: str
    nullable: bool


class EmbeddingSpec(Answer):
    """An embedding column (vector feature): its dimension and distance metric."""
    dim: int
    metric: str


class IndexStatus(Answer):
    """The nearest-neighbour index of one embedding column."""
    model_config = ConfigDict(extra="allow", strict=True)  # the index library's own figures
    column: str
    dim: int
    metric: str
    #: ready | tail | merging | saved | not built | offline
    state: str
    indexed: Optional[int] = None
    pending: Optional[int] = None


class FeatureGroup(Answer):
    """One entry of ``GET feature-groups``."""
    name: str
    version: int
    keys: list[str]
    event_time: Optional[str]
    online: bool
    description: str
    checks: list[str]
    #: null until the first insert gives the group its columns
    schema_: Optional[list[Column]] = Field(alias="schema")
    table_path: str
    created_at: Optional[str]
    #: who created it (the Jupyter user, LAKEBOOK_USER or the OS user)
    created_by: Optional[str]
    updated_at: Optional[str]
    embeddings: dict[str, EmbeddingSpec]
    #: rows in the table (null when the table cannot be read)
    rows: Optional[int]
    #: how many commits (inserts) the group has
    commits: int
    delta_version: Optional[int]
    last_commit_at: Optional[str]
    last_commit_by: Optional[str]


class FeatureGroupList(Answer):
    """``GET feature-groups``."""
    feature_groups: list[FeatureGroup]


class Commit(Answer):
    delta_version: int
    commit_seq: int
    mode: str
    rows: Optional[int]
    recovered: bool
    checks_passed: list[str]
    lineage: JSONObject
    duration_s: Optional[float]
    created_at: Optional[str]
    who: Optional[str]


class Histogram(Answer):
    """``len(edges) == len(counts) + 1``."""
    edges: list[float]
    counts: list[int]


class ColumnStatistics(Answer):
    type: str
    count: Optional[int] = None
    nulls: Optional[int] = None
    distinct: Optional[int] = None
    min: Scalar = None
    max: Scalar = None
    mean: Optional[float] = None
    stddev: Optional[float] = None
    #: numeric columns only
    histogram: Optional[Histogram] = None


class Statistics(Answer):
    """The statistics of the latest commit (``{}`` before the first one)."""
    columns: Optional[dict[str, ColumnStatistics]] = None
    rows: Optional[int] = None
    delta_version: Optional[int] = None


class FeatureGroupDetail(FeatureGroup):
    """``GET feature-groups/<name>``: the group with its commits (newest first), the
    statistics, its versions and a sample of rows."""
    commits: list[Commit]  # type: ignore[assignment]  # the list here, the count in the list
    commit_count: int
    statistics: Statistics
    versions: list[int]
    sample: list[JSONObject]
    embedding_index: list[IndexStatus]


# -- feature views --------------------------------------------------------------------------

class ViewSource(Answer):
    group: str
    version: int


class ViewJoin(Answer):
    group: str
    version: int
    #: [spine column, group column] pairs
    on: list[list[str]]
    ttl_s: Optional[float]
    features: list[str]


class FeatureView(Answer):
    """One entry of ``GET feature-views`` (``versions`` counts them)."""
    name: str
    version: int
    description: str
    created_at: Optional[str]
    created_by: Optional[str]
    keys: list[str]
    event_time: Optional[str]
    spine: ViewSource
    joins: list[ViewJoin]
    features: list[str]
    labels: list[str]
    versions: int


class FeatureViewList(Answer):
    """``GET feature-views``."""
    feature_views: list[FeatureView]


class ViewVersion(Answer):
    version: int
    description: str
    created_at: Optional[str]


class FeatureViewDetail(FeatureView):
    """``GET feature-views/<name>``: the view with its spec and every version."""
    spec: JSONObject
    versions: list[ViewVersion]  # type: ignore[assignment]


# -- models ---------------------------------------------------------------------------------

class ModelSummary(Answer):
    """One entry of ``GET models``."""
    name: str
    description: str
    created_at: Optional[str]
    updated_at: Optional[str]
    versions: int
    latest_version: Optional[int]
    task: Optional[str]
    latest_metrics: dict[str, Optional[float]]
    #: alias -> version
    aliases: dict[str, int]


class ModelList(Answer):
    """``GET models``."""
    models: list[ModelSummary]


class ModelVersion(Answer):
    """``GET models/<name>/versions/<v>``, and each version of ``GET models/<name>``."""
    name: str
    version: int
    flavour: str
    aliases: list[str]
    task: Optional[str]
    metrics: dict[str, Optional[float]]
    params: JSONObject
    signature: JSONObject
    input_example: Optional[JSONObject]
    lineage: JSONObject
    libraries: dict[str, str]
    trusted_types: list[str]
    evaluation: JSONObject
    description: str
    created_by: Optional[str]
    created_at: Optional[str]
    deleted: bool
    artifact_path: str
    artifact_sha256: Optional[str]


class AliasChange(Answer):
    id: int
    name: str
    alias: str
    from_version: Optional[int]
    to_version: Optional[int]
    who: Optional[str]
    reason: Optional[str]
    at: str


class ModelDetail(Answer):
    """``GET models/<name>``: versions, aliases, alias history, and which way each metric
    is better (the registry's rule: the sidebar keeps none of its own)."""
    name: str
    aliases: dict[str, int]
    versions: list[ModelVersion]
    metric_directions: dict[str, Literal["higher", "lower"]]
    alias_history: list[AliasChange]


# -- deployments ----------------------------------------------------------------------------

class DeploymentStats(Answer):
    """Serving figures: request and error counts, latency, the version last served and the
    predictions the inference log could not write (kept in a dead-letter file)."""
    requests: int
    errors: int
    latency_p50_ms: Optional[float]
    latency_p99_ms: Optional[float]
    last_request_at: Optional[str]
    dead_letter_rows: int
    last_dead_letter_at: Optional[str]
    last_dead_letter_error: Optional[str]


class DeploymentBase(Answer):
    name: str
    model: str
    #: the alias the deployment follows, or null when pinned to ``version``
    alias: Optional[str]
    version: Optional[int]
    view: Optional[str]
    view_version: Optional[int]
    kind: str
    spec: JSONObject
    created_at: Optional[str]
    updated_at: Optional[str]
    #: who created it and who last changed it (the Jupyter user, LAKEBOOK_USER or the OS user)
    created_by: Optional[str]
    updated_by: Optional[str]


class Headline(Answer):
    """A deployment's headline business KPI: its value in the latest window (of the series
    that carried most traffic) and the trend against the window before."""
    kpi: Optional[str]
    value: Optional[float]
    trend: Optional[Literal["up", "down", "flat"]]
    previous: Optional[float] = None
    window_start: Optional[str] = None
    version: Optional[int] = None
    arm: Optional[str] = None
    #: why the KPI could not be computed
    error: Optional[str] = None


class Deployment(DeploymentBase, DeploymentStats):
    """One entry of ``GET deployments``: the deployment with its serving figures."""
    #: the model version the last request was answered with
    served_version: Optional[int]
    #: the predict URL path (below the server's base URL)
    endpoint: str
    #: package -> [the version the model was trained with, the version here]
    environment_mismatch: dict[str, list[Optional[str]]]
    #: null when the deployment defines no KPI
    headline: Optional[Headline]


class DeploymentList(Answer):
    """``GET deployments``."""
    deployments: list[Deployment]


class Serving(Answer):
    model: str
    version: Optional[int]
    view: Optional[str]
    view_version: Optional[int]


class ServingStats(DeploymentStats):
    name: str
    model_version: Optional[int]


class DeploymentDetail(DeploymentBase):
    """``GET deployments/<name>``."""
    deleted: bool
    serving: Optional[Serving]
    stats: Optional[ServingStats]


# -- steps, pipelines, schedules, runs ------------------------------------------------------

StepKind = Literal["feature", "training", "inference"]
RunStatus = Literal["queued", "running", "succeeded", "failed", "timed_out", "cancelled",
                    "skipped", "up_to_date"]


class Step(Answer):
    """A magic cell of a notebook (``%%feature``, ``%%training``, ``%%inference``)."""
    kind: StepKind
    name: str
    #: absolute path of the notebook, as the server sees it
    notebook: str
    cell_id: Optional[str]
    index: int
    args: JSONObject
    #: the cron of the magic's own ``--schedule``
    schedule: Optional[str]
    tz: Optional[str]
    ref: str
    #: with ``?why=1``: whether a run now would skip it, and why it would not
    up_to_date: Optional[bool] = None
    reasons: Optional[list[str]] = None


class StepTail(Answer):
    """The code cells after a notebook's last step (``NOTEBOOK::cells:tail``): a run of the
    whole notebook executes them and skips them when up to date; a run of chosen steps never
    runs them."""
    notebook: str
    #: the first and the last of those cells (0-based)
    first_index: int
    index: int
    ref: str
    up_to_date: bool
    reasons: list[str]


class StepList(Answer):
    """``GET steps?path=``."""
    steps: list[Step]
    #: with ``?why=1``: the cells after each notebook's last step, where there are any
    tails: list[StepTail]


class PipelineStep(Answer):
    notebook: str
    step: str


class Pipeline(Answer):
    """One entry of ``GET pipelines``."""
    name: str
    steps: list[PipelineStep]
    updated_at: Optional[str]


class PipelineList(Answer):
    """``GET pipelines``."""
    pipelines: list[Pipeline]


class Stage(Answer):
    notebook: str
    steps: list[str]


class PipelineDetail(Answer):
    """``GET pipelines/<name>``: the steps in run order, grouped in stages (one notebook
    run each)."""
    name: str
    created_at: Optional[str]
    updated_at: Optional[str]
    steps: list[Step]
    stages: list[Stage]


class Target(Answer):
    """What a run or a schedule executes: steps of a notebook (all of it when ``steps`` is
    absent), a named pipeline, or a monitor."""
    notebook: Optional[str] = None
    steps: Optional[list[str]] = None
    pipeline: Optional[str] = None
    monitor: Optional[str] = None


class Schedule(Answer):
    """``GET schedules/<id>`` and each entry of ``GET schedules``."""
    id: int
    name: str
    target: Target
    cron: str
    timezone: str
    catchup: Literal["latest", "all", "skip"]
    params: JSONObject
    timeout_s: Optional[float]
    retries: int
    backoff_s: float
    kernel: Optional[str]
    #: whether a run skips steps whose inputs did not change
    skip_up_to_date: bool
    paused: bool
    next_run_at: Optional[str]
    last_scheduled_for: Optional[str]
    created_at: Optional[str]
    created_by: Optional[str]
    updated_at: Optional[str]
    updated_by: Optional[str]


class ScheduleList(Answer):
    """``GET schedules``."""
    schedules: list[Schedule]


class RunProgress(Answer):
    """Where a run is: cells ``done`` of ``cells`` in stage ``stage`` of ``stages``."""
    model_config = ConfigDict(extra="allow", strict=True)  # the executor adds its own keys
    done: int
    cells: Optional[int]
    stage: int
    stages: int


class RunError(Answer):
    model_config = ConfigDict(extra="allow", strict=True)
    cell_index: Optional[int] = None
    ename: str
    evalue: str


class Run(Answer):
    """``GET runs/<id>`` and each entry of ``GET runs``."""
    id: str
    status: RunStatus
    target: Target
    attempt: int
    max_attempts: int
    retry_of: Optional[str]
    schedule_id: Optional[int]
    scheduled_for: Optional[str]
    params: JSONObject
    window_start: Optional[str]
    window_end: Optional[str]
    timeout_s: Optional[float]
    backoff_s: float
    kernel: Optional[str]
    queued_at: Optional[str]
    started_at: Optional[str]
    finished_at: Optional[str]
    not_before: Optional[str]
    output_path: Optional[str]
    error: Optional[RunError]
    progress: Optional[RunProgress]
    worker: Optional[str]
    heartbeat_at: Optional[str]
    lease_until: Optional[str]
    cancel_requested: bool
    created_by: Optional[str]
    #: run even the steps that are up to date
    force: bool
    #: the failed run whose succeeded steps this one skips
    resume_of: Optional[str]
    #: per step (``kind:name``): its status and the fingerprint of its inputs
    steps_status: dict[str, JSONObject]
    duration_s: Optional[float]
    #: ``fti.ipynb::clicks``, ``pipeline nightly``: the server's label of the target
    label: str


class RunList(Answer):
    """``GET runs``."""
    runs: list[Run]


class RunOutput(Answer):
    """``GET runs/<id>/output``: the executed notebook (nbformat JSON)."""
    run_id: str
    path: str
    notebook: JSONObject


class SchedulerTick(Answer):
    queued: int
    skipped: int
    reaped: int
    dispatched: int
    duration_ms: float


class SchedulerState(Answer):
    """``GET scheduler``: the in-server scheduler."""
    name: Optional[str] = None
    running: bool
    enabled: bool
    last_tick_at: Optional[str] = None
    errors: int = 0
    last_tick: Optional[SchedulerTick] = None
    last_error: Optional[str] = None


# -- monitoring -----------------------------------------------------------------------------

MonitorStatus = Literal["ok", "drift", "failed", "skipped"]


class LatestResult(Answer):
    """The latest result of a monitor, as ``GET monitors`` lists it."""
    id: int
    status: MonitorStatus
    reason: Optional[str]
    drift_share: Optional[float]
    drifted_columns: list[str]
    created_at: Optional[str]
    report_html: Optional[str]
    #: the report's URL path (below the server's base URL), null when it compared nothing
    report_url: Optional[str]


class MonitorBase(Answer):
    name: str
    kind: Literal["feature", "deployment"]
    #: what the monitor watches and how (``feature_group`` or ``deployment``, windows ...)
    spec: JSONObject
    created_at: Optional[str]
    updated_at: Optional[str]


class Monitor(MonitorBase):
    """``POST monitors``: the monitor created."""


class MonitorSummary(MonitorBase):
    """One entry of ``GET monitors``."""
    latest: Optional[LatestResult]
    status: Union[MonitorStatus, Literal["never run"]]
    open_alerts: int
    #: its traffic light (render.colours.monitor_colour)
    colour: Literal["red", "amber", "green", "grey"]


class MonitorList(Answer):
    """``GET monitors``."""
    monitors: list[MonitorSummary]


class ColumnDrift(Answer):
    model_config = ConfigDict(extra="allow", strict=True)  # the drift method's own figures
    drifted: bool
    score: Optional[float] = None
    threshold: Optional[float] = None
    method: Optional[str] = None


class Alert(Answer):
    """Each entry of ``GET alerts``."""
    id: int
    monitor: str
    result_id: Optional[int]
    kind: str
    message: str
    details: JSONObject
    action: Optional[str]
    acknowledged: bool
    acknowledged_at: Optional[str]
    acknowledged_by: Optional[str]
    created_at: Optional[str]


class AlertList(Answer):
    """``GET alerts``."""
    alerts: list[Alert]


class MonitorResult(Answer):
    """One result of a monitor (``GET monitors/<name>``'s ``results``)."""
    id: int
    monitor: str
    status: MonitorStatus
    run_id: Optional[str]
    reason: Optional[str]
    drift_share: Optional[float]
    dataset_drift: Optional[bool]
    columns: dict[str, ColumnDrift]
    performance: JSONObject
    details: JSONObject
    reference_rows: Optional[int]
    current_rows: Optional[int]
    report_json: Optional[str]
    report_html: Optional[str]
    window_start: Optional[str]
    window_end: Optional[str]
    duration_s: Optional[float]
    created_at: Optional[str]
    finished_at: Optional[str]
    alerts: list[JSONObject]
    drifted_columns: list[str]
    report_url: Optional[str]


class MonitorDetail(MonitorBase):
    """``GET monitors/<name>``: the monitor, its results (newest first) and its alerts."""
    results: list[MonitorResult]
    alerts: list[Alert]


# -- answers of writes ----------------------------------------------------------------------

class Deleted(Answer):
    """``DELETE deployments|pipelines|schedules|monitors/<name>``."""
    deleted: str


class AliasMove(Answer):
    """``POST models/<name>/aliases/<alias>`` (and ``DELETE``: ``version`` null, no
    ``previous``)."""
    name: str
    alias: str
    version: Optional[int]
    #: the version the alias pointed at before
    previous: Optional[int] = None


class ModelRef(Answer):
    name: str
    version: int


class Prediction(Answer):
    """One prediction; an A/B split adds the ``arm`` and ``version`` that answered."""
    model_config = ConfigDict(extra="allow", strict=True)  # the entry's own keys, if any
    prediction: Scalar
    found: bool
    probabilities: Optional[dict[str, float]] = None
    arm: Optional[str] = None
    version: Optional[int] = None


class PredictAnswer(Answer):
    """``POST deployments/<name>/predict``."""
    predictions: list[Prediction]
    model: ModelRef
    request_id: str


class ErrorAnswer(Answer):
    """Every 4xx and 5xx: what went wrong, in the user's terms, and what to do."""
    error: str
    status: int
    hint: Optional[str] = None
    #: the Lakebook error class (NotFound, InvalidInput, ...)
    type: Optional[str] = None


class OpenAPIDocument(Answer):
    """``GET openapi.json``: this API's OpenAPI 3.1 document."""
    openapi: str
    info: JSONObject
    paths: JSONObject
    components: JSONObject


# -- similarity (issue 19) ------------------------------------------------------------------

class GroupNeighbors(Answer):
    """``POST feature-groups/<name>/neighbors``: the nearest rows (embedding columns left
    out), ``distance`` last."""
    group: str
    version: int
    columns: list[str]
    neighbors: list[JSONObject]


class RowsDeleted(Answer):
    """``POST feature-groups/<name>/delete-rows``: the delete commit (``mode`` "delete",
    ``rows`` deleted; no Delta version when nothing matched)."""
    group: str
    version: int
    delta_version: Optional[int]
    commit_seq: Optional[int]
    mode: str
    rows: int
    checks_passed: list[str]
    schema_: list[JSONObject] = Field(alias="schema")
    added_columns: list[str]
    statistics: JSONObject
    lineage: JSONObject
    online_rows: Optional[int]
    duration_s: float
    created_at: str


class DeploymentNeighbor(Answer):
    """One entity near the query: its keys, its distance, the model's answer over its
    features."""
    model_config = ConfigDict(extra="allow", strict=True)  # the view's key columns
    distance: float
    prediction: Scalar
    probabilities: Optional[dict[str, float]] = None
    features: JSONObject


class DeploymentNeighbors(Answer):
    """``POST deployments/<name>/neighbors``."""
    neighbors: list[DeploymentNeighbor]
    model: ModelRef


# -- business results (issue 18) ------------------------------------------------------------

class KpiRow(Answer):
    """A KPI's value in one window for one version (and arm, or shadow) of a deployment."""
    window_start: str
    version: Optional[int]
    arm: Optional[str]
    shadow: bool
    kpi: str
    value: Optional[float]
    #: predictions with an outcome, of ``n``
    coverage: int
    n: int
    ci_low: Optional[float]
    ci_high: Optional[float]


class KpiList(Answer):
    """``GET deployments/<name>/kpis``."""
    deployment: str
    kpis: list[KpiRow]


class ArmResult(Answer):
    arm: str
    version: int
    n: int
    coverage: int
    value: Optional[float]
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None


class TimeWindow(Answer):
    start: Optional[str]
    end: Optional[str]


class ArmComparison(Answer):
    """``GET deployments/<name>/arms``: which arm is better on a KPI, and whether the
    difference is significant."""
    deployment: str
    kpi: str
    kind: Literal["total", "rate"]
    better: Literal["higher", "lower"]
    method: str
    per: Literal["prediction", "window"]
    arms: list[ArmResult]
    best: Optional[str]
    significant: bool
    verdict: str
    window: TimeWindow
    runner_up: Optional[str] = None
    difference: Optional[float] = None
    difference_ci: Optional[list[float]] = None


class ComparisonFailed(Answer):
    """Why the business view could not compare the arms (it still shows the KPIs)."""
    error: str


class BusinessView(Answer):
    """``GET deployments/<name>/business``: KPI rows, KPI alerts, the arms' comparison (null
    with a single series), the headline KPI and the Vega-Lite spec the sidebar draws."""
    deployment: str
    every: str
    kpis: list[KpiRow]
    alerts: list[Alert]
    comparison: Optional[Union[ArmComparison, ComparisonFailed]]
    headline: Optional[Headline]
    #: a Vega-Lite v5 spec
    spec: JSONObject


class OutcomesWritten(Answer):
    """``POST deployments/<name>/outcomes``."""
    deployment: str
    written: int


# -- lineage (issue 17) ---------------------------------------------------------------------

class LineageNode(Answer):
    """``kind:name@version``: a step, session, run, feature group or view, training set,
    model version or alias, deployment, monitor, monitor result or alert."""
    id: str
    kind: str
    name: str
    version: Optional[str]
    who: Optional[str]
    created_at: Optional[str]
    status: Optional[str]
    #: behind the data it was made from
    stale: bool
    reason: Optional[str]
    notebook: Optional[str]
    detail: JSONObject


class LineageEdge(Answer):
    """Data flowed from ``source`` to ``target``."""
    source: str
    target: str
    #: read | wrote | made_from | ran | triggered | alias | serves | serving ...
    relation: str
    detail: JSONObject


class LineageGraph(Answer):
    """``GET lineage``: nodes in layer order and the edges between them."""
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class StaleObject(Answer):
    id: str
    kind: str
    name: str
    version: Optional[str]
    reason: Optional[str]
    notebook: Optional[str]


class StaleList(Answer):
    """``GET stale``: steps, views, training sets, models and deployments behind their
    inputs."""
    stale: list[StaleObject]


class StepWhy(Answer):
    """``GET why?notebook=&step=``: whether a run now would skip the step, and what changed
    since its last successful run."""
    step: str
    notebook: str
    up_to_date: bool
    reasons: list[str]
    #: a unified diff of the step's code
    diff: str
    last_run: Optional[str]
    changes: list[JSONObject]


# -- the contract ---------------------------------------------------------------------------

#: every answer, by the name the TypeScript side, the OpenAPI document and the recorded
#: fixtures use
ANSWERS: dict[str, type[Answer]] = {
    "Status": Status,
    "FeatureGroupList": FeatureGroupList,
    "FeatureGroupDetail": FeatureGroupDetail,
    "FeatureViewList": FeatureViewList,
    "FeatureViewDetail": FeatureViewDetail,
    "ModelList": ModelList,
    "ModelDetail": ModelDetail,
    "ModelVersion": ModelVersion,
    "DeploymentList": DeploymentList,
    "DeploymentDetail": DeploymentDetail,
    "StepList": StepList,
    "PipelineList": PipelineList,
    "PipelineDetail": PipelineDetail,
    "ScheduleList": ScheduleList,
    "Schedule": Schedule,
    "RunList": RunList,
    "Run": Run,
    "RunOutput": RunOutput,
    "SchedulerState": SchedulerState,
    "MonitorList": MonitorList,
    "MonitorDetail": MonitorDetail,
    "AlertList": AlertList,
    "LineageGraph": LineageGraph,
    "StaleList": StaleList,
    "StepWhy": StepWhy,
    "KpiList": KpiList,
    "BusinessView": BusinessView,
    "ArmComparison": ArmComparison,
    "OutcomesWritten": OutcomesWritten,
    "GroupNeighbors": GroupNeighbors,
    "RowsDeleted": RowsDeleted,
    "DeploymentNeighbors": DeploymentNeighbors,
    "PredictAnswer": PredictAnswer,
    "AliasMove": AliasMove,
    "Deleted": Deleted,
    "Monitor": Monitor,
    "MonitorResult": MonitorResult,
    "Alert": Alert,
    "OpenAPIDocument": OpenAPIDocument,
    "ErrorAnswer": ErrorAnswer,
}


def check(answer: str, data: Any) -> Answer:
    """``data`` (a decoded JSON answer) as the model ``answer`` names; pydantic's
    ValidationError lists every field that breaks the contract."""
    return ANSWERS[answer].model_validate(data)


def _untitled(node: Any) -> Any:
    """``node`` without the ``title`` pydantic gives every property: json2ts would make each
    titled sub-schema a named type of its own."""
    if isinstance(node, dict):
        return {k: _untitled(v) for k, v in node.items()
                if not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_untitled(v) for v in node]
    return node


def definitions(ref_template: str = "#/$defs/{model}") -> dict[str, dict[str, Any]]:
    """The JSON Schema of every model the answers use, by its name, each referring to the
    others with ``ref_template`` (``#/components/schemas/{model}`` for OpenAPI)."""
    _, defs = models_json_schema([(model, "validation") for model in ANSWERS.values()],
                                 ref_template=ref_template)
    return {name: {**_untitled(d), "title": name} for name, d in defs.get("$defs", {}).items()}


def json_schema() -> dict[str, Any]:
    """One JSON Schema: a ``RestContract`` object naming each answer, every model in
    ``$defs`` under its own title (what json2ts turns into ``extension/src/contract.ts``)."""
    return {"title": "RestContract", "type": "object",
            "description": "Every JSON answer of /lakebook/api/... (generated from "
                           "kernel_magics/doors/rest/contract.py).",
            "properties": {name: {"$ref": f"#/$defs/{name}"} for name in ANSWERS},
            "required": list(ANSWERS), "additionalProperties": False,
            "$defs": definitions()}


def export_json() -> str:
    """The JSON Schema as committed in ``extension/src/contract.schema.json``."""
    return json.dumps(json_schema(), indent=2) + "\n"


if __name__ == "__main__":  # python -m kernel_magics.doors.rest.contract [repository root]
    import sys
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    target = root.joinpath(*EXPORT_PATH)
    target.write_text(export_json())
    print(f"wrote {target}")
