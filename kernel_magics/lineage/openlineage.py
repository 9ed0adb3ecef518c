"""OpenLineage run events (START, COMPLETE, FAIL) for Lakebook's runs, with the datasets each
run read and wrote, sent with the ``openlineage-python`` client.

By default events are appended as JSON lines to ``<home>/openlineage.jsonl`` (on team storage,
an object store that cannot append: one JSON file per event under the storage's
``lineage/openlineage/``, beside everything else the team shares); ``[lineage]
openlineage = "http"`` with ``openlineage_url`` sends them to a server (Marquez, a catalog);
``"off"`` sends nothing. Only these two transports are accepted (the client would import any
dotted class path). The client is imported at the first event, not before: the CLI's start-up
does not pay for it. ``emit`` raises on a transport error and adds facets to the event it is
given: both are contained here, so lineage never fails a run.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from .._version import __version__
from ..shared.errors import InvalidInput

log = logging.getLogger("kernel_magics.lineage")

PRODUCER = f"https://github.com/lakebook/lakebook/tree/{__version__}"
TRANSPORTS = ("file", "http", "off")
#: event types by a run's final status
FINAL_STATES = {"succeeded": "COMPLETE", "failed": "FAIL", "timed_out": "FAIL",
                "cancelled": "ABORT"}
_clients: dict[tuple, Any] = {}


def check_transport(config: Any) -> str:
    kind = config.openlineage_transport
    if kind not in TRANSPORTS:
        raise InvalidInput(f"[lineage] openlineage = {kind!r} is not a transport Lakebook "
                           "sends OpenLineage events with.",
                           'Use "file" (the default), "http" (with openlineage_url) or "off".')
    if kind == "http" and not config.openlineage_url:
        raise InvalidInput('[lineage] openlineage = "http" needs openlineage_url.',
                           'E.g. openlineage_url = "http://localhost:5000".')
    return kind


def events_file(lh: Any):
    """The JSON-lines file the file transport appends to."""
    from pathlib import Path
    path = Path(lh.config.openlineage_file)
    return path if path.is_absolute() else lh.home / path


def client_for(lh: Any) -> Any | None:
    """The OpenLineage client for ``lh`` (None when events are off)."""
    kind = check_transport(lh.config)
    if kind == "off":
        return None
    key = (str(lh.home), kind, lh.config.openlineage_url, lh.config.openlineage_file)
    if key not in _clients:
        from openlineage.client import OpenLineageClient
        if kind == "file" and not lh.storage.is_local and not _absolute(lh):
            transport = _storage_transport(lh.location("lineage/openlineage"))
        elif kind == "file":
            from openlineage.client.transport.file import FileConfig, FileTransport
            transport = FileTransport(FileConfig(log_file_path=str(events_file(lh)), append=True))
        else:
            from openlineage.client.transport.http import HttpConfig, HttpTransport
            conf: dict[str, Any] = {"url": lh.config.openlineage_url,
                                    "endpoint": lh.config.openlineage_endpoint, "timeout": 5}
            if lh.config.openlineage_api_key:
                conf["auth"] = {"type": "api_key", "apiKey": lh.config.openlineage_api_key}
            transport = HttpTransport(HttpConfig.from_dict(conf))
        _clients[key] = OpenLineageClient(transport=transport)
    return _clients[key]


def _absolute(lh: Any) -> bool:
    from pathlib import Path
    return Path(lh.config.openlineage_file).is_absolute()


def _storage_transport(folder: Any) -> Any:
    """OpenLineage's file transport onto object storage: each event one JSON file (what the
    client's own file transport writes with ``append = false``) in ``folder``."""
    from openlineage.client.serde import Serde
    from openlineage.client.transport import Transport

    class StorageTransport(Transport):
        kind = "file"

        def emit(self, event: Any) -> None:
            import uuid
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
            (folder / f"{stamp}-{uuid.uuid4().hex[:8]}.json").write_text(Serde.to_json(event))

    return StorageTransport()


def _uuid(run_id: str) -> str:
    """A run id as the UUID OpenLineage requires (stable: the same run, the same UUID)."""
    import uuid
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lakebook:run:{run_id}"))


def _dataset(lh: Any, event: dict[str, Any], output: bool) -> Any:
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import dataset_version_dataset
    kind, name, version = event["kind"], event["name"], event.get("version")
    detail = event.get("detail") or {}
    facets: dict[str, Any] = {}
    if kind in ("feature_group", "predictions"):
        # OpenLineage's naming: a file path in "file", an S3 key in "s3://<bucket>"
        table = lh.tables_dir / (f"{name}_v{version}" if kind == "feature_group" else name)
        if lh.storage.is_local:
            namespace, ds_name = "file", table.uri
        else:
            namespace = f"s3://{lh.storage.bucket}"
            ds_name = table.uri[len(namespace) + 1:]
    else:
        namespace = f"{lh.config.openlineage_namespace}"
        ds_name = f"{kind}/{name}" + (f"/{version}" if version is not None else "")
    if detail.get("delta_version") is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(detail["delta_version"]))
    elif version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(version))
    cls = OutputDataset if output else InputDataset
    return cls(namespace=namespace, name=ds_name, facets=facets)


def build_event(lh: Any, run: Any, state: str, reads: list[dict[str, Any]] | None = None,
                writes: list[dict[str, Any]] | None = None,
                error: dict[str, Any] | None = None) -> Any:
    """The OpenLineage ``RunEvent`` of ``run`` in ``state`` (START, COMPLETE, FAIL, ABORT)."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import error_message_run, job_type_job
    job = Job(namespace=lh.config.openlineage_namespace, name=run.label or run.id, facets={
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="LAKEBOOK",
                                                jobType="NOTEBOOK")})
    run_facets: dict[str, Any] = {}
    if error:
        trace = "\n".join(error.get("traceback") or []) or None
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=str(error.get("evalue") or error.get("ename") or "failed"),
            programmingLanguage="python", stackTrace=trace)
    seen: set[tuple] = set()

    def datasets(rows: list[dict[str, Any]], output: bool) -> list[Any]:
        out = []
        for row in rows:
            key = (output, row["kind"], row["name"], row.get("version"),
                   (row.get("detail") or {}).get("delta_version"))
            if key not in seen:
                seen.add(key)
                out.append(_dataset(lh, row, output))
        return out

    return RunEvent(eventType=getattr(RunState, state),
                    eventTime=datetime.now(timezone.utc).isoformat(),
                    run=Run(runId=_uuid(run.id), facets=run_facets), job=job, producer=PRODUCER,
                    inputs=datasets(reads or [], False), outputs=datasets(writes or [], True))


def emit_run_event(lh: Any, run: Any, state: str, reads: list[dict[str, Any]] | None = None,
                   writes: list[dict[str, Any]] | None = None,
                   error: dict[str, Any] | None = None) -> bool:
    """Send one run event; False (logged) when it could not be built or sent."""
    try:
        client = client_for(lh)
        if client is None:
            return False
        client.emit(build_event(lh, run, state, reads, writes, error))
        return True
    except InvalidInput:
        raise
    except Exception:  # a server down or a full disk must not fail the run
        log.exception("OpenLineage %s event of run %s not sent", state, run.id)
        return False
