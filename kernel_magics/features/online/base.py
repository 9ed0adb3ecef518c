"""The online store interface and the row codec its backends share.

An online table (``<group>_v<version>``) holds one row per primary key: the row with the newest
event time (on a tie, the one written last). Backends store, per key, the event time in
microseconds since the epoch (to compare writes) and the row as a JSON object; the table's
Arrow schema is kept beside the rows so values come back with the types they went in with
(timestamps as timezone-aware datetimes, decimals as ``Decimal``, bytes as bytes).
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ..names import HIDDEN_PREFIX

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_EPOCH_DATE = dt.date(1970, 1, 1)
#: upserts are encoded and written in batches of this many keys
BATCH = 5_000


class OnlineStore(ABC):
    """Latest row per key of online feature groups.

    ``table`` is ``f"{group}_v{version}"``. Writers may run concurrently (kernels, scheduled
    runs); every backend applies "the newer event time wins" atomically per key.
    """

    #: ``sqlite`` or ``redis``
    backend: str = ""

    @abstractmethod
    def upsert(self, table: str, keys: list[str], event_time: str, data: pa.Table) -> int:
        """Write the newest row per key of ``data``; a stored row with a newer event time is
        kept. Returns the number of keys whose stored row changed."""

    @abstractmethod
    def get(self, table: str, keys: list[str], key_values: list[tuple]) -> list[dict | None]:
        """The stored rows (all columns, typed as inserted) for each key tuple, ``None`` for
        a key that is not there (or a table that does not exist)."""

    @abstractmethod
    def drop(self, table: str) -> None:
        """Forget every row of ``table`` (no error if it does not exist)."""

    @abstractmethod
    def schema(self, table: str) -> pa.Schema | None:
        """The Arrow schema of ``table``'s rows, or None if nothing was written yet."""

    @abstractmethod
    def count(self, table: str) -> int:
        """Number of keys held for ``table``."""

    def close(self) -> None:  # pragma: no cover - trivial default
        """Release connections."""

    # -- helpers shared by backends ----------------------------------------------------------
    def get_one(self, table: str, keys: list[str], key_value: tuple) -> dict | None:
        return self.get(table, keys, [key_value])[0]


# -- keys ---------------------------------------------------------------------------------------
def encode_key(values: Iterable[Any]) -> str:
    """The canonical text of a key tuple (JSON array): ``42`` and ``numpy.int64(42)`` are one
    key; ``"42"`` is another."""
    out = []
    for v in values:
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalar
            v = v.item()
        if isinstance(v, float) and v.is_integer():
            v = int(v)  # a float key read back from pandas (int with nulls) is still the key
        elif isinstance(v, dt.datetime):
            v = _to_micros(v)
        elif isinstance(v, dt.date):
            v = (v - _EPOCH_DATE).days
        out.append(v)
    return json.dumps(out, separators=(",", ":"), default=str)


def _to_micros(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# -- rows ---------------------------------------------------------------------------------------
def prepare(keys: list[str], event_time: str, data: pa.Table) -> pa.Table:
    """The newest row per key of ``data`` (ties: the later row), hidden columns dropped, and a
    ``__t`` column of event-time microseconds. Done in DuckDB so a 10M-row insert with 100k
    keys only encodes 100k rows in Python."""
    import duckdb

    from ..names import quote_ident as q

    missing = [c for c in [*keys, event_time] if c not in data.column_names]
    if missing:
        from ...errors import InvalidInput
        raise InvalidInput(f"The rows for the online store lack the column(s) {missing}.",
                           "Insert rows that carry the group's key and event-time columns.")
    visible = [c for c in data.column_names if not c.startswith(HIDDEN_PREFIX)]
    data = data.select(visible)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.register("__lb_rows", data)
        cols = ", ".join(q(c) for c in visible)
        part = ", ".join(q(k) for k in keys)
        sql = (f"SELECT {cols}, epoch_us({q(event_time)}) AS __t FROM "
               f"(SELECT *, row_number() OVER () AS __n FROM __lb_rows) "
               f"QUALIFY row_number() OVER (PARTITION BY {part} "
               f"ORDER BY {q(event_time)} DESC, __n DESC) = 1")
        out = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    # keep the inserted column types, not DuckDB's (e.g. string vs large_string)
    return pa.Table.from_arrays(
        [out.column(c).cast(data.schema.field(c).type) for c in visible] + [out.column("__t")],
        names=[*visible, "__t"])


def encode_rows(keys: list[str], rows: pa.Table) -> Iterator[tuple[str, int, str]]:
    """``(key text, event-time micros, row JSON)`` for each row of a :func:`prepare` d table."""
    names = [c for c in rows.column_names if c != "__t"]
    plain = pa.Table.from_arrays([_plain(rows.column(c)) for c in names], names=names)
    micros = rows.column("__t").to_pylist()
    for i, record in enumerate(plain.to_pylist()):
        yield (encode_key([record[k] for k in keys]), micros[i],
               json.dumps(record, separators=(",", ":"), default=_json_default))


def _plain(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Columns as JSON-friendly values: timestamps/dates/durations as integers."""
    t = col.type
    if pa.types.is_timestamp(t):
        return pc.cast(col.cast(pa.timestamp("us", t.tz), safe=False), pa.int64())
    if pa.types.is_date(t):
        return pc.cast(col.cast(pa.date32()), pa.int32())
    if pa.types.is_duration(t):
        return pc.cast(col.cast(pa.duration("us"), safe=False), pa.int64())
    if pa.types.is_time(t):
        return pc.cast(col.cast(pa.time64("us")), pa.int64())
    if pa.types.is_dictionary(t):
        return col.cast(t.value_type)
    return col


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):  # nested inside lists/structs
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def decoder(schema: pa.Schema) -> Callable[[str], dict]:
    """A function turning a stored row JSON back into a dict typed as ``schema``."""
    convert: dict[str, Callable[[Any], Any]] = {}
    for field in schema:
        t = field.type
        if pa.types.is_timestamp(t):
            if t.tz:
                convert[field.name] = lambda v: _EPOCH + dt.timedelta(microseconds=v)
            else:
                convert[field.name] = (lambda v: (_EPOCH + dt.timedelta(microseconds=v))
                                       .replace(tzinfo=None))
        elif pa.types.is_date(t):
            convert[field.name] = lambda v: _EPOCH_DATE + dt.timedelta(days=v)
        elif pa.types.is_duration(t):
            convert[field.name] = lambda v: dt.timedelta(microseconds=v)
        elif pa.types.is_time(t):
            convert[field.name] = lambda v: (dt.datetime.min + dt.timedelta(microseconds=v)).time()
        elif pa.types.is_decimal(t):
            convert[field.name] = decimal.Decimal
        elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
            convert[field.name] = base64.b64decode
    names = schema.names
    loads = json.loads

    if not convert:
        def decode(text: str) -> dict:
            row = loads(text)
            return {n: row.get(n) for n in names}
        return decode

    items = list(convert.items())

    def decode(text: str) -> dict:  # noqa: F811 - the typed variant
        row = loads(text)
        out = {n: row.get(n) for n in names}
        for name, fn in items:
            v = out[name]
            if v is not None:
                out[name] = fn(v)
        return out
    return decode


def merge_schema(old: pa.Schema | None, new: pa.Schema) -> pa.Schema:
    """The stored schema after an upsert: the new columns added (schema evolution)."""
    if old is None:
        return new
    fields = list(old)
    have = set(old.names)
    fields += [f for f in new if f.name not in have]
    return pa.schema(fields)


def schema_without_helpers(rows: pa.Table) -> pa.Schema:
    return pa.schema([f for f in rows.schema if f.name != "__t"])


def batches(items: list, size: int = BATCH) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
