"""Feature groups: a named, versioned Delta table of features with keys and an event time.

The offline data of group ``name`` version ``v`` is the plain Delta table
``<home>/tables/<name>_v<v>`` (any engine can read it). Each insert is one Delta commit,
checked before it is written, described (statistics, lineage) in the commit itself and in the
catalog. Every row carries two hidden columns: ``_lb_commit`` (the insert's sequence number,
increasing with every insert) and ``_lb_row`` (the row's index within its insert).
"""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from ..shared.identity import caller_identity
from ..shared.times import parse_time
from ..catalog import from_json
from ..shared.times import now_utc
from ..shared.errors import InvalidInput, LakebookError, NotFound
from . import checks as checks_mod
from . import records
from . import online_pending
from . import tables
from ..storage import delta as storage
from ..storage.location import Location
from .columns import COMMIT_COLUMN, HIDDEN_COLUMNS, ROW_COLUMN
from .embeddings import Embedding, conform_vectors, parse_embeddings
from .online.base import prepare as prepare_online
from .schema import canonical_schema, cast_to, conform, precast, require_columns, to_arrow
from .statistics import compute_statistics

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow.dataset as pds
    from ..lakehouse import Lakehouse

Output = Literal["pandas", "arrow", "duckdb"]


@dataclass
class CommitInfo:
    """What one insert did: the Delta version it created, rows, checks, statistics, lineage."""

    group: str
    version: int
    delta_version: int | None
    commit_seq: int | None
    mode: str
    rows: int
    checks_passed: list[str] = field(default_factory=list)
    schema: list[dict[str, Any]] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    statistics: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    online_rows: int | None = None
    duration_s: float = 0.0
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _repr_html_(self) -> str:
        from ..render.features import commit_html
        return commit_html(self.to_dict())


class FeatureGroup:
    """One version of a feature group. Get it from ``lh.features.groups.get(name)`` or
    ``lh.create_feature_group(...)``."""

    def __init__(self, lh: "Lakehouse", row: dict[str, Any]) -> None:
        self._lh = lh
        self._row = row
        self.id: int = row["id"]
        self.name: str = row["name"]
        self.version: int = row["version"]
        self.keys: list[str] = from_json(row["keys"], [])
        self.event_time: str = row["event_time"]
        self.online: bool = bool(row["online"])
        self.description: str = row["description"]
        self.checks: list[str] = from_json(row["checks"], [])
        self.created_at: str = row["created_at"]
        #: who created this group version
        self.created_by: str | None = row.get("created_by")
        self.embeddings: dict[str, Embedding] = parse_embeddings(
            from_json(row.get("embeddings"), {}),
            self.name)

    # -- identity and layout ---------------------------------------------------------------
    @property
    def table_path(self) -> "Location":
        """Where the Delta table holding this group version's offline data is (in the
        lakehouse's storage: the home folder or an S3 prefix)."""
        return self._lh.storage.location(self._row["table_path"])

    def definition(self) -> dict[str, Any]:
        """What defines this group version, as its Delta table carries it (the catalog can be
        rebuilt from it: ``lakebook recover``)."""
        return {"name": self.name, "version": self.version, "keys": self.keys,
                "event_time": self.event_time, "online": self.online,
                "description": self.description, "checks": self.checks,
                "embeddings": {c: e.to_dict() for c, e in self.embeddings.items()},
                "created_at": self.created_at}

    @property
    def online_table(self) -> str:
        """The name of this group version in the online store."""
        return f"{self.name}_v{self.version}"

    def _fresh_row(self) -> dict[str, Any]:
        row = records.group_row(self._lh.catalog, self.id)
        if row is None:
            raise NotFound(f"Feature group {self.name!r} version {self.version} was deleted.",
                           f"Create it again, or open another version with "
                           f"lh.features.groups.get({self.name!r}).")
        self._row = row
        return row

    @property
    def schema(self) -> list[dict[str, Any]] | None:
        """Columns as ``{"name", "type", "nullable"}`` (hidden columns left out); None before
        the first insert fixes it."""
        self._reconcile()
        return from_json(self._fresh_row()["schema"])

    @property
    def feature_names(self) -> list[str]:
        """The schema's columns other than the keys and the event time."""
        skip = {*self.keys, self.event_time}
        return [c["name"] for c in (self.schema or []) if c["name"] not in skip]

    def delta_version(self) -> int | None:
        """The Delta table's current version; None while nothing was inserted."""
        table = storage.open_table(self.table_path)
        return None if table is None else table.version()

    def num_rows(self, version: int | None = None) -> int:
        """Rows in the table at Delta ``version`` (default: current), read from the Delta
        log's file statistics, not by scanning the data."""
        table = self._open(version)
        if table is None:
            return 0
        import pyarrow as pa
        actions = pa.table(table.get_add_actions(flatten=True))
        return int(pa.compute.sum(actions.column("num_records")).as_py() or 0)

    def parquet_files(self, version: int | None = None) -> list[str]:
        """Absolute paths of the Parquet files making up the table at Delta ``version``
        (default: current)."""
        table = self._open(version)
        if table is None:
            return []
        return [u[len("file://"):] if u.startswith("file://") else u for u in table.file_uris()]

    def _open(self, as_of: int | str | datetime | None = None):
        if not storage.exists(self.table_path):
            if as_of is not None:
                raise NotFound(f"Feature group {self.name!r} version {self.version} has no data "
                               f"yet, so it has no Delta version {as_of!r}.",
                               "Insert data first (fg.insert(df)).")
            return None
        if as_of is None:
            return storage.load(self.table_path)
        if isinstance(as_of, bool) or not isinstance(as_of, (int, str, datetime)):
            raise InvalidInput(f"as_of={as_of!r} is neither a Delta version (int) nor a time.",
                               "Pass as_of=3 or as_of='2024-05-01T12:00:00Z'.")
        current = storage.load(self.table_path)
        if isinstance(as_of, int):
            if not 0 <= as_of <= current.version():
                raise NotFound(f"Feature group {self.name!r} version {self.version} has no Delta "
                               f"version {as_of} (it has 0 to {current.version()}).",
                               "See fg.commits() for the versions and their times.")
            return storage.load(self.table_path, as_of)
        when = parse_time(as_of, "as_of")
        # by the commit times the Delta log records (deltalake would date commits by their
        # files' modification times: to the second on S3, and all alike after a copy)
        version = tables.version_at(self.table_path, when, upto=current.version())
        if version is None:
            raise NotFound(f"Feature group {self.name!r} version {self.version} has no data as "
                           f"of {when.isoformat()} (its first commit is later).",
                           "See fg.commits() for the commit times.")
        return storage.load(self.table_path, version)

    # -- writing ---------------------------------------------------------------------------
    def insert(self, df: Any, mode: str = "append", evolve: bool = False,
               lineage: dict[str, Any] | None = None, utc: bool = False,
               statistics: bool = True) -> CommitInfo:
        """Insert a pandas DataFrame or Arrow table as one atomic Delta commit.

        ``mode="append"`` adds the rows; ``mode="upsert"`` replaces rows with the same keys and
        event time (the data may hold each key/event-time pair once). The first insert fixes
        the schema; later inserts must match it, except that ``evolve=True`` adds new columns
        as nullable features. The event time must be timezone-aware (stored in UTC) unless
        ``utc=True`` says naive times are UTC. Checks run before the commit: a failure
        raises :class:`~kernel_magics.shared.errors.CheckFailed` and writes nothing.
        """
        started = time.perf_counter()
        if mode not in ("append", "upsert"):
            raise InvalidInput(f"Unknown insert mode {mode!r}.", "Use mode='append' or 'upsert'.")
        raw = to_arrow(df, f"the data for feature group {self.name!r}")
        if self.embeddings:  # wrong length, NaN, not numbers: refused before anything else
            raw = conform_vectors(raw, self.embeddings, self.name)
        target = canonical_schema(raw, self.event_time, utc, self.name)
        require_columns(raw, self.keys, self.name)
        # null keys first: pandas turns an int key with a None into floats
        passed = checks_mod.run_checks(raw, [], self.keys, self.event_time, self.name)
        self._reconcile()
        if self.online:  # an earlier insert's online update that was cut off comes first
            online_pending.finish_quietly(self)
        fixed = from_json(self._fresh_row()["schema"])
        write_schema, schema, added = conform(target, fixed, self.name, evolve, self.keys,
                                              self.event_time)
        table = precast(raw, write_schema, self.name)
        if self.checks or mode == "upsert":
            # checks and MERGE see the canonical data; an append casts batch by batch while
            # writing instead (and the online store casts only the newest row per key)
            table = cast_to(table, write_schema, self.name)
        passed += checks_mod.run_checks(table, self.checks, [], "", self.name)
        if mode == "upsert":
            checks_mod.duplicate_rows(table, self.keys, self.event_time, self.name)
            passed.append("unique (keys, event time)")
        # a plain fg.insert() from a notebook or a run still says where it came from
        lineage = {**caller_identity(), **(lineage or {})}
        if table.num_rows == 0:
            return CommitInfo(self.name, self.version, None, None, mode, 0, passed, schema,
                              [], {}, lineage, None, time.perf_counter() - started, now_utc())
        seq = self._next_seq()
        if self.online:  # before the commit: a crash after it must not leave the store behind
            online_pending.record(self, seq)
        # statistics are computed by DuckDB while deltalake writes (both release the GIL);
        # a commit recovered from the log without them gets them recomputed from its rows.
        # An online group's rows for the online store (newest per key, encoded) are prepared
        # meanwhile too; they are written to the store only once the Delta commit landed.
        # One helper thread does both in turn: a second would only compete with deltalake's
        # writer for the cores (10M rows on 2 cores: 2.46 s in turn vs 2.63 s side by side).
        pool = ThreadPoolExecutor(1) if statistics or self.online else None
        pending = pool.submit(compute_statistics, table, write_schema) if statistics else None
        online_rows = (pool.submit(prepare_online, self.keys, self.event_time, table,
                                   write_schema) if self.online else None)
        n = table.num_rows
        created_at = now_utc()
        meta = {"seq": seq, "mode": mode, "rows": n, "lineage": lineage,
                "checks_passed": passed, "schema": schema, "group": self.name,
                "group_version": self.version, "created_at": created_at,
                "duration_s": time.perf_counter() - started}

        def recheck_schema() -> None:
            # another writer may have fixed or evolved the schema since we looked
            if from_json(self._fresh_row()["schema"]) != fixed:
                self._reconcile()
                now = from_json(self._fresh_row()["schema"])
                if now != fixed:
                    conform(target, now, self.name, evolve, self.keys, self.event_time)

        try:
            delta_version = tables.commit(self.table_path, table, write_schema, mode, self.keys,
                                          self.event_time, meta, evolve=evolve or bool(added),
                                          before_attempt=recheck_schema,
                                          definition=self.definition())
        except tables.SchemaMismatchError as exc:
            _discard(pool)
            self._forget_pending(seq)
            raise InvalidInput(f"Feature group {self.name!r}: the Delta table refused the data "
                               f"({exc}). Nothing was written.",
                               "Another writer changed the schema; read fg.schema and retry.") \
                from None
        except BaseException:
            _discard(pool)
            self._forget_pending(seq)
            raise
        try:
            stats = pending.result() if pending is not None else {}
            meta["statistics"] = stats
            meta["duration_s"] = time.perf_counter() - started
            self._after_delta_commit(delta_version, meta)
            info = CommitInfo(self.name, self.version, delta_version, seq, mode, n, passed,
                              schema, added, stats, lineage, None, 0.0, created_at)
            self._lh.lineage.wrote("feature_group", self.name, self.version,
                                   delta_version=delta_version, rows=n, mode=mode)
            if online_rows is not None:
                info.online_rows = self._online_upsert(online_rows, delta_version)
                online_pending.clear(self, [seq])
                if self.embeddings:  # the vector index follows the online store
                    self._lh.similarity.after_insert(self)
        finally:
            _discard(pool)
            if self.online:
                online_pending.settled(self, seq)
        info.duration_s = time.perf_counter() - started
        return info

    def delete_rows(self, keys: Any = None, where: str | None = None,
                    lineage: dict[str, Any] | None = None) -> CommitInfo:
        """Delete rows as one atomic Delta commit: every row of the given ``keys`` (a value
        or list of values for a one-column key, dicts, or a DataFrame of key columns), the
        rows matching the SQL predicate ``where`` (``"ts < '2024-01-01'"``), or the rows of
        those keys matching it. Recorded like an insert (``fg.commits()``, lineage, who).
        An online group's touched keys fall back to their newest remaining row in the online
        store (or leave it), and the vector index stops returning deleted rows at once.
        Older Delta versions keep the rows (time travel) until the table is vacuumed. Bad
        input writes nothing; a delete matching no row writes no commit."""
        from .deletes import delete_rows
        return delete_rows(self, keys=keys, where=where, lineage=lineage)

    def _after_delta_commit(self, delta_version: int, meta: dict[str, Any]) -> None:
        """Record a landed Delta commit in the catalog (what reconciliation also does)."""
        self._record(delta_version, meta, recovered=False)

    def _online_upsert(self, prepared: Future, delta_version: int) -> int:
        """Write the rows prepared (while Delta wrote) to the online store."""
        try:
            return self._lh.online_store.write(self.online_table, self.keys, self.event_time,
                                               prepared.result())
        except LakebookError:
            raise
        except Exception as exc:
            raise LakebookError(
                f"Feature group {self.name!r}: the insert was committed offline (Delta version "
                f"{delta_version}) but the online store could not be updated ({exc}).",
                "The update is kept in the catalog and finished on the next open, insert or "
                "lookup of the group once the online store is reachable (or run "
                "fg.finish_pending_online()).") from exc

    def _forget_pending(self, seq: int) -> None:
        """The Delta commit of insert ``seq`` failed: if it did not land, nothing is owed."""
        if not self.online:
            return
        online_pending.settled(self, seq)
        try:
            tables.find_commit(self.table_path, seq)
        except Exception:  # not in the log (or no table at all): it never landed
            online_pending.clear(self, [seq])

    def finish_pending_online(self) -> int:
        """Finish online updates of inserts that were cut off after their Delta commit (done
        by itself on the next open, insert or lookup); returns the keys written."""
        return online_pending.finish(self)

    def sync_online(self) -> int:
        """Load the latest row per key of the offline table into the online store."""
        if not self.online:
            raise InvalidInput(f"Feature group {self.name!r} is not online.",
                               "Create a version with online=True (--online).")
        pending = records.pending_landed(self._lh.catalog, self.id)
        table = self._read(output="arrow")
        written = 0 if table.num_rows == 0 else self._lh.online_store.upsert(
            self.online_table, self.keys, self.event_time, table)
        online_pending.clear(self, pending)  # the whole table is in the store now
        return written

    def _next_seq(self) -> int:
        seq = records.next_commit_seq(self._lh.catalog, self.id)
        if seq is None:
            self._fresh_row()  # raises NotFound: deleted meanwhile
        return int(seq)

    def _record(self, delta_version: int, meta: dict[str, Any], recovered: bool) -> None:
        records.record_commit(self._lh.catalog, self.id, delta_version, meta, recovered)

    def _reconcile(self) -> list[int]:
        """Record Delta commits the catalog does not know (a writer died after its commit
        landed, or another engine wrote to the table). Returns the versions recorded."""
        if not storage.exists(self.table_path):
            return []
        present = tables.log_versions(self.table_path)
        recorded = records.recorded_delta_versions(self._lh.catalog, self.id)
        missing = [v for v in present if v not in recorded]
        found = []
        for version in missing:
            entry = tables.commit_info(self.table_path, version)
            if entry is None:
                continue
            meta = tables.commit_metadata(entry)
            if meta is None:  # not written by Lakebook: record what the Delta log says
                metrics = entry.get("operationMetrics") or {}
                rows = metrics.get("num_added_rows", metrics.get("num_output_rows", 0))
                ts = entry.get("timestamp")
                meta = {"mode": str(entry.get("operation", "external")).lower(), "rows": rows,
                        "lineage": {"external": True, "operation": entry.get("operation")},
                        "created_at": datetime.fromtimestamp(ts / 1000, timezone.utc).isoformat()
                        if ts else None}
            elif "statistics" not in meta and meta.get("seq") is not None:
                meta["statistics"] = self._commit_statistics(version, meta["seq"])
            self._record(version, meta, recovered=True)
            found.append(version)
        if found:
            self._lh.catalog.record_event("feature_group.reconciled", self.online_table,
                                          {"delta_versions": found})
        return found

    def _commit_statistics(self, delta_version: int, seq: int) -> dict[str, Any]:
        """Statistics of the rows one commit wrote, recomputed from the table."""
        dataset = storage.dataset(self.table_path, version=delta_version)
        rows = dataset.to_table(filter=pc.field(COMMIT_COLUMN) == seq)
        return compute_statistics(rows.drop_columns(list(HIDDEN_COLUMNS)))

    # -- reading ---------------------------------------------------------------------------
    def dataset(self, version: int | None = None) -> "pds.Dataset":
        """The table at Delta ``version`` (default: current) as a pyarrow dataset, hidden
        columns included: what DuckDB reads an object-store table through."""
        return storage.dataset(self.table_path, version=version)

    def read(self, as_of: int | str | datetime | None = None, start: Any = None,
             end: Any = None, columns: list[str] | None = None, output: Output = "pandas",
             hidden: bool = False) -> Any:
        """The group's rows, in insertion order.

        ``as_of``: a Delta version (int) or a time (the table as it was then). ``start`` /
        ``end``: event-time window ``start <= t < end`` (naive times are taken as UTC).
        ``output``: ``"pandas"``, ``"arrow"`` or ``"duckdb"`` (a DuckDB relation).
        ``hidden=True`` keeps ``_lb_commit`` and ``_lb_row``. The read is recorded as
        lineage (the group version and the Delta version read) against the caller.
        """
        return self._read(as_of, start, end, columns, output, hidden, record=True)

    def _read(self, as_of: int | str | datetime | None = None, start: Any = None,
              end: Any = None, columns: list[str] | None = None, output: Output = "pandas",
              hidden: bool = False, record: bool = False) -> Any:
        if output not in ("pandas", "arrow", "duckdb"):
            raise InvalidInput(f"Unknown output {output!r}.",
                               "Use output='pandas', 'arrow' or 'duckdb'.")
        delta = self._open(as_of)
        schema = from_json(self._fresh_row()["schema"]) or []
        if record:
            self._lh.lineage.read("feature_group", self.name, self.version,
                                  delta_version=None if delta is None else delta.version())
        if delta is None:
            from .schema import arrow_schema
            try:
                result = arrow_schema(schema).empty_table()
            except ValueError:
                result = pa.table({})
        else:
            dataset = storage.as_dataset(delta, self.table_path)
            names = dataset.schema.names
            wanted = list(columns) if columns is not None else [
                n for n in names if hidden or n not in HIDDEN_COLUMNS]
            unknown = [c for c in wanted if c not in names]
            if unknown:
                raise InvalidInput(f"Feature group {self.name!r} has no column(s) "
                                   f"{', '.join(map(repr, unknown))}.",
                                   f"Its columns are: {', '.join(self.feature_names_all(names))}.")
            expr = None
            if start is not None:
                expr = pc.field(self.event_time) >= pa.scalar(parse_time(start, "start"),
                                                              pa.timestamp("us", tz="UTC"))
            if end is not None:
                e = pc.field(self.event_time) < pa.scalar(parse_time(end, "end"),
                                                          pa.timestamp("us", tz="UTC"))
                expr = e if expr is None else expr & e
            scan = list(dict.fromkeys([*wanted, *HIDDEN_COLUMNS]))
            result = dataset.to_table(columns=scan, filter=expr)
            if result.num_rows > 1:
                result = result.take(pc.sort_indices(
                    result, [(COMMIT_COLUMN, "ascending"), (ROW_COLUMN, "ascending")]))
            result = result.select(wanted)
        if output == "arrow":
            return result
        if output == "duckdb":
            import duckdb
            return duckdb.from_arrow(result)
        return result.to_pandas()

    def head(self, n: int = 10, output: Output = "pandas") -> Any:
        """A few rows of the current table (any order; cheap on large tables)."""
        delta = self._open()
        if delta is None:
            return self.read(output=output)
        dataset = storage.as_dataset(delta, self.table_path)
        names = [c for c in dataset.schema.names if c not in HIDDEN_COLUMNS]
        result = dataset.head(max(0, int(n)), columns=names)
        return result.to_pandas() if output == "pandas" else result

    @staticmethod
    def feature_names_all(names: list[str]) -> list[str]:
        return [n for n in names if n not in HIDDEN_COLUMNS]

    # -- history ---------------------------------------------------------------------------
    def commits(self) -> list[dict[str, Any]]:
        """The group's commits, newest first: Delta version, mode, rows, checks, lineage,
        duration and time (statistics via :meth:`statistics`)."""
        self._reconcile()
        return records.commits(self._lh.catalog, self.id)

    def statistics(self, delta_version: int | None = None) -> dict[str, Any]:
        """Statistics of the rows of one commit (default: the latest commit that has them):
        ``{"rows", "columns": {name: {count, nulls, distinct, min, max, mean, stddev,
        histogram}}, "delta_version"}``."""
        self._reconcile()
        row = records.commit_statistics(self._lh.catalog, self.id, delta_version)
        if row is None:
            if delta_version is not None:
                raise NotFound(f"Feature group {self.name!r} has no commit at Delta version "
                               f"{delta_version}.", "See fg.commits() for its versions.")
            return {}
        return {**row["statistics"], "delta_version": row["delta_version"]}

    def versions(self) -> list[dict[str, Any]]:
        """Every version of this group name: version, keys, event time, online, schema,
        commits, rows and creation time."""
        return self._lh.features._versions(self.name)

    # -- lifecycle -------------------------------------------------------------------------
    def delete(self) -> None:
        """Delete this group version: its catalog entry, its commits, its Delta table and its
        online rows. Other versions stay."""
        records.delete_group(self._lh.catalog, self.id)
        self._lh.catalog.record_event("feature_group.deleted", self.online_table,
                                      {"name": self.name, "version": self.version})
        self.table_path.delete()
        if self.embeddings:
            self._lh.similarity.forget(self)
        if self.online:
            try:
                self._lh.online_store.drop(self.online_table)
            except ModuleNotFoundError:
                pass

    # -- similarity ------------------------------------------------------------------------
    def find_neighbors(self, vector: Any, k: int = 10, filter: str | None = None,
                       col: str | None = None, exact: bool = False) -> Any:
        """The ``k`` rows (the latest row per key) nearest to ``vector`` in the embedding
        column ``col`` (default: the group's only one), nearest first, as a DataFrame of the
        group's columns plus ``distance`` (cosine: 1 - cosine similarity; l2: Euclidean
        distance; dot: minus the inner product).

        ``filter``: a SQL predicate over the group's columns (``"category = 'grocery'"``),
        applied before the top k is cut: k rows come back whenever k rows match. By default
        the online index answers (an online group); ``exact=True`` runs an exact search in
        DuckDB over the Delta table (the oracle for recall, and the offline path)."""
        return self._lh.similarity.find_neighbors(self, vector, k=k, filter=filter, col=col,
                                                  exact=exact)

    def neighbors_of(self, key: Any, k: int = 10, col: str | None = None,
                     filter: str | None = None) -> Any:
        """The ``k`` rows nearest to the stored vector of ``key`` (a value, or a dict for a
        composite key), the key itself left out: "merchants most like this one"."""
        return self._lh.similarity.neighbors_of_key(self, key, k=k, col=col, filter=filter)

    def build_index(self, col: str | None = None) -> dict[str, Any]:
        """Merge every pending row into the online index now and save it (inserts do this
        in the background once enough rows are pending); returns the index status."""
        return self._lh.similarity.build_index(self, col)

    def rebuild_index(self, col: str | None = None) -> dict[str, Any]:
        """Discard the saved index of ``col`` and build it again from the Delta table."""
        return self._lh.similarity.rebuild_index(self, col)

    def verify_index(self, col: str | None = None) -> dict[str, int]:
        """Compare the online index with the Delta table's latest rows (a full read): keys
        ``missing``, ``stale`` or ``extra`` in the index; all zero when they match."""
        return self._lh.similarity.verify_index(self, col)

    def index_status(self) -> list[dict[str, Any]]:
        """Per embedding column: dimension, metric, rows indexed and pending, state."""
        return self._lh.similarity.index_status(self)

    # -- views -----------------------------------------------------------------------------
    def select(self, features: list[str]):
        """A selection of this group's features, to build a feature view from."""
        from .view_spec import FeatureSelection
        return FeatureSelection(self, features)

    def select_all(self):
        from .view_spec import FeatureSelection
        return FeatureSelection(self, None)

    # -- display ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (what the REST API lists)."""
        row = self._fresh_row()
        last = records.commit_summary(self._lh.catalog, self.id)
        return {"name": self.name, "version": self.version, "keys": self.keys,
                "event_time": self.event_time, "online": self.online,
                "description": self.description, "checks": self.checks,
                "schema": from_json(row["schema"]), "table_path": self.table_path.uri,
                "created_at": self.created_at, "created_by": self.created_by,
                "updated_at": row["updated_at"],
                "embeddings": {c: e.to_dict() for c, e in self.embeddings.items()},
                "rows": self.num_rows(), **last}

    def _repr_html_(self) -> str:
        from ..render.features import group_html
        return group_html(self.to_dict())

    def __repr__(self) -> str:
        return (f"FeatureGroup({self.name!r}, version={self.version}, keys={self.keys}, "
                f"event_time={self.event_time!r}, online={self.online})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FeatureGroup) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("FeatureGroup", self.id))


def _discard(pool: ThreadPoolExecutor | None) -> None:
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
