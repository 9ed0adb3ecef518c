"""Turning what users insert into one canonical Arrow table, and comparing it with the schema
the group's first insert fixed.

Canonical means: Arrow types Delta Lake stores (``string`` not ``large_string``, microsecond
timestamps, signed integers, decoded categoricals), the event time timezone-aware in UTC, and
no pandas metadata. The schema kept in the catalog is a list of ``{"name", "type",
"nullable"}`` with Arrow type names (``int64``, ``double``, ``string``,
``timestamp[us, tz=UTC]`` …).
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..shared.errors import InvalidInput, SchemaMismatch
from ..shared.names import validate_column
from .columns import HIDDEN_PREFIX

UTC = "UTC"


def to_arrow(data: Any, what: str = "the data") -> pa.Table:
    """A pyarrow Table from a pandas DataFrame, an Arrow table/batch or any Arrow stream
    (polars, DuckDB relation). A pandas index with names becomes columns (keys are often the
    index after a ``groupby``); an unnamed index is dropped."""
    import pandas as pd

    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
    elif isinstance(data, pd.DataFrame):
        if any(n is not None for n in data.index.names):
            data = data.reset_index()
        try:
            table = pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInput(f"Cannot convert {what} to a table: {exc}.",
                               "Give every column one type (e.g. df[col].astype(str)); "
                               "object columns must not mix numbers and strings.") from None
    elif hasattr(data, "__arrow_c_stream__"):
        table = pa.table(data)
    elif hasattr(data, "to_arrow"):  # DuckDB relations, polars frames
        table = data.to_arrow() if not hasattr(data, "arrow") else data.arrow()
        if isinstance(table, pa.RecordBatchReader):
            table = table.read_all()
    else:
        raise InvalidInput(f"Cannot insert {type(data).__name__}: {what} must be a pandas "
                           "DataFrame or a pyarrow Table.",
                           "Make the cell's last expression a DataFrame (or pass --df VAR).")
    names = table.column_names
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"{what.capitalize()} has duplicate column names: {', '.join(dupes)}.",
                           "Rename the columns so each name appears once.")
    for name in names:
        if not isinstance(name, str):
            raise InvalidInput(f"Column name {name!r} is not a string.", "Rename the column.")
        validate_column(name)
    return table.replace_schema_metadata(None)


def _canonical_type(col: str, typ: pa.DataType) -> pa.DataType:
    """The Arrow type Delta Lake stores for ``typ`` (timestamps handled separately)."""
    if pa.types.is_dictionary(typ):
        return _canonical_type(col, typ.value_type)
    if pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return pa.string()
    if pa.types.is_large_binary(typ) or pa.types.is_binary_view(typ):
        return pa.binary()
    if pa.types.is_unsigned_integer(typ):
        return {8: pa.int16(), 16: pa.int32()}.get(typ.bit_width, pa.int64())
    if pa.types.is_float16(typ):
        return pa.float32()
    if pa.types.is_date64(typ):
        return pa.date32()
    if pa.types.is_timestamp(typ):
        return pa.timestamp("us", tz=UTC if typ.tz is not None else None)
    if pa.types.is_large_list(typ):
        return pa.list_(_canonical_type(col, typ.value_type))
    return typ


def canonical_schema(table: pa.Table, event_time: str, utc: bool, group: str) -> pa.Schema:
    """The canonical schema of ``table`` (no data is cast here): refuses an event time that
    is missing, not a timestamp, or naive without ``utc=True``."""
    if event_time not in table.column_names:
        raise SchemaMismatch(
            f"The event-time column {event_time!r} of feature group {group!r} is not in the "
            f"data (columns: {', '.join(table.column_names)}).",
            "Add the column, or check the spelling of --event-time / event_time=.")
    fields = []
    for field in table.schema:
        typ = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if field.name == event_time:
            if not pa.types.is_timestamp(typ):
                raise InvalidInput(
                    f"The event-time column {event_time!r} of feature group {group!r} has type "
                    f"{typ}, not a timestamp.",
                    f"Convert it first, e.g. df[{event_time!r}] = "
                    f"pd.to_datetime(df[{event_time!r}], utc=True).")
            if typ.tz is None and not utc:
                raise InvalidInput(
                    f"The event-time column {event_time!r} of feature group {group!r} holds "
                    "naive timestamps (no timezone), which would be ambiguous.",
                    f"Localize them (df[{event_time!r}].dt.tz_localize('Europe/Paris')), or "
                    "pass utc=True (--utc) if they are already UTC.")
        target = _canonical_type(field.name, typ)
        if pa.types.is_timestamp(target) and target.tz is None and utc:
            target = pa.timestamp("us", tz=UTC)  # utc=True: naive times are UTC
        fields.append(pa.field(field.name, target, nullable=True))
    return pa.schema(fields)


def _cheap_cast(src: pa.DataType, dst: pa.DataType) -> bool:
    """Casts that cannot fail (so they may run lazily, batch by batch, while writing)."""
    if src == dst or pa.types.is_dictionary(src):
        return True
    if pa.types.is_timestamp(src) and pa.types.is_timestamp(dst):
        return True  # unit/zone changes; finer than microseconds is truncated
    return {str(src), str(dst)} <= {"string", "large_string", "string_view"} or \
        {str(src), str(dst)} <= {"binary", "large_binary", "binary_view"}


def cast_to(data: pa.Table | pa.RecordBatch, schema: pa.Schema,
            group: str = "") -> pa.Table | pa.RecordBatch:
    """``data``'s columns in ``schema``'s order, cast to its types (timestamps truncated to
    microseconds, as Delta stores them)."""
    columns = []
    for field in schema:
        column = data.column(field.name)
        if column.type != field.type:
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            if column.type != field.type:
                column = _cast(column, field.type, field.name, group)
        columns.append(column)
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(columns, schema=schema)
    return pa.Table.from_arrays(columns, schema=schema)


def precast(table: pa.Table, schema: pa.Schema, group: str) -> pa.Table:
    """``table`` with its columns in ``schema``'s order, the casts that could fail (integer
    narrowing, unsigned integers, int to float…) done now so they fail before any write."""
    table = table.select(schema.names)
    for i, field in enumerate(schema):
        column = table.column(i)
        if not _cheap_cast(column.type, field.type):
            table = table.set_column(i, field, _cast(column, field.type, field.name, group))
    return table


def _cast(column: Any, target: pa.DataType, name: str, group: str) -> Any:
    # Delta keeps microseconds: finer timestamps are truncated, not refused
    safe = not (pa.types.is_timestamp(target) and pa.types.is_timestamp(column.type))
    try:
        return column.cast(target, safe=safe)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(f"Column {name!r} of feature group {group!r} cannot be stored as "
                           f"{target}: {exc}.", f"Cast {name!r} to {target} first.") from None


def schema_of(table: pa.Table, keys: list[str], event_time: str) -> list[dict[str, Any]]:
    """The catalog form of ``table``'s schema (keys and event time are not nullable)."""
    required = set(keys) | {event_time}
    return [{"name": f.name, "type": str(f.type), "nullable": f.name not in required}
            for f in table.schema if not f.name.startswith(HIDDEN_PREFIX)]


def arrow_schema(schema: list[dict[str, Any]]) -> pa.Schema:
    """The Arrow schema of a catalog schema (all fields nullable as Delta stores them)."""
    return pa.schema([pa.field(c["name"], type_from_name(c["type"])) for c in schema])


def type_from_name(name: str) -> pa.DataType:
    """The Arrow type named ``name`` (``str(type)`` of a canonical type)."""
    simple = {"int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
              "float": pa.float32(), "double": pa.float64(), "bool": pa.bool_(),
              "string": pa.string(), "binary": pa.binary(), "date32[day]": pa.date32(),
              "timestamp[us, tz=UTC]": pa.timestamp("us", tz=UTC),
              "timestamp[us]": pa.timestamp("us")}
    if name in simple:
        return simple[name]
    if name.startswith("decimal"):
        precision, scale = name[name.index("(") + 1:name.index(")")].split(",")
        return pa.decimal128(int(precision), int(scale))
    raise ValueError(f"unknown type {name}")


def _widens(src: pa.DataType, dst: pa.DataType) -> bool:
    """True when values of ``src`` can be stored as ``dst`` without loss of meaning
    (integer widening, integers to floats, float to double, nulls to anything)."""
    if pa.types.is_null(src):
        return True
    if pa.types.is_integer(src) and pa.types.is_integer(dst):
        return src.bit_width <= dst.bit_width
    if pa.types.is_integer(src) and pa.types.is_floating(dst):
        return True
    if pa.types.is_floating(src) and pa.types.is_floating(dst):
        return src.bit_width <= dst.bit_width
    return False


def require_columns(table: pa.Table, keys: list[str], group: str) -> None:
    """Refuse data without the group's key columns."""
    missing_keys = [k for k in keys if k not in table.column_names]
    if missing_keys:
        raise SchemaMismatch(
            f"Key column(s) {', '.join(map(repr, missing_keys))} of feature group {group!r} "
            f"are not in the data (columns: {', '.join(table.column_names)}).",
            "Add the key columns, or check the spelling of --key / key=.")


def conform(incoming_schema: pa.Schema, fixed: list[dict[str, Any]] | None, group: str,
            evolve: bool, keys: list[str], event_time: str
            ) -> tuple[pa.Schema, list[dict[str, Any]], list[str]]:
    """Match the canonical ``incoming_schema`` to the fixed schema: same columns, in the fixed
    order, with types that are equal or only widen. Returns the schema to write, the
    (possibly evolved) catalog schema and the added columns.

    Refuses, naming the columns, anything else: missing columns, extra columns (unless
    ``evolve``), changed types. The first insert (``fixed is None``) fixes the schema.
    """
    names = incoming_schema.names
    missing_keys = [k for k in keys if k not in names]
    if missing_keys:
        raise SchemaMismatch(
            f"Key column(s) {', '.join(map(repr, missing_keys))} of feature group {group!r} "
            f"are not in the data (columns: {', '.join(names)}).",
            "Add the key columns, or check the spelling of --key / key=.")
    incoming = {f.name: f.type for f in incoming_schema}
    if fixed is None:
        for name, typ in incoming.items():
            if pa.types.is_null(typ):
                raise InvalidInput(
                    f"Column {name!r} of feature group {group!r} holds only nulls, so its "
                    "type cannot be known from this first insert.",
                    f"Give it a type first, e.g. df[{name!r}] = df[{name!r}].astype('float64').")
        return (incoming_schema,
                [{"name": f.name, "type": str(f.type),
                  "nullable": f.name not in {*keys, event_time}} for f in incoming_schema], [])
    by_name = {c["name"]: c for c in fixed}
    missing = [c["name"] for c in fixed if c["name"] not in incoming]
    extra = [n for n in names if n not in by_name]
    changed = []
    for name, typ in incoming.items():
        if name in by_name and str(typ) != by_name[name]["type"]:
            try:
                widens = _widens(typ, type_from_name(by_name[name]["type"]))
            except ValueError:  # a nested type: only an exact match is accepted
                widens = False
            if not widens:
                changed.append(f"{name} ({typ}; the schema has {by_name[name]['type']})")
    if extra and evolve:
        for name in extra:
            if pa.types.is_null(incoming[name]):
                changed.append(f"{name} (only nulls: its type cannot be known)")
    if missing or (extra and not evolve) or changed:
        parts = []
        if missing:
            parts.append("missing: " + ", ".join(missing))
        if extra and not evolve:
            parts.append("extra: " + ", ".join(f"{n} ({incoming[n]})" for n in extra))
        if changed:
            parts.append("type changed: " + "; ".join(changed))
        hint = "Make the data match the schema"
        if extra and not missing and not changed:
            hint += ", pass evolve=True (--evolve) to add the new columns as nullable features"
        hint += (", or start a new version of the group (a new version starts clean: "
                 "lh.create_feature_group(..., version=N) or %%feature ... --version N).")
        raise SchemaMismatch(
            f"The data does not match the schema of feature group {group!r} "
            f"(fixed by its first insert): {'; '.join(parts)}.", hint)
    fields = []
    for spec in fixed:
        typ = incoming[spec["name"]]
        if str(typ) != spec["type"]:  # a widening cast (checked above)
            typ = type_from_name(spec["type"])
        fields.append(pa.field(spec["name"], typ))
    new_schema = list(fixed)
    for name in extra:  # only reached with evolve=True
        fields.append(pa.field(name, incoming[name]))
        new_schema.append({"name": name, "type": str(incoming[name]), "nullable": True})
    return pa.schema(fields), new_schema, extra
