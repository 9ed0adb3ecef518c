"""The production online store: Redis.

One string value per key, ``lakebook:online:<table>:<key text>`` -> ``"<event micros>|<row
JSON>"``, so many keys are read with one ``MGET``. Writes go through a Lua script that compares
event times inside Redis, so "the newer event time wins" holds atomically under concurrent
writers. Each table's Arrow schema is at ``lakebook:online-schema:<table>`` (read in the same
``MGET`` as the rows) and its key columns at ``lakebook:online-meta:<table>``.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from ...shared.errors import InvalidInput
from .base import Encoded, OnlineStore, batches, encode_key, merge_schema

PREFIX = "lakebook:online:"
META = "lakebook:online-meta:"
SCHEMA = "lakebook:online-schema:"

# KEYS: the row keys; ARGV[1]: "t1|v1\nt2|v2\n…" (one line per key: the event micros and the
# row JSON, which never holds a raw newline). Writes each row unless a newer one is stored.
# One payload argument instead of two per key: redis-py packs every argument in Python.
_UPSERT = """
local changed = 0
local i = 0
for t, v in string.gmatch(ARGV[1], '(%-?%d+)|([^\\n]*)\\n') do
  i = i + 1
  local key = KEYS[i]
  local cur = redis.call('GET', key)
  local write = true
  if cur then
    local sep = string.find(cur, '|', 1, true)
    if sep and tonumber(string.sub(cur, 1, sep - 1)) > tonumber(t) then write = false end
  end
  if write then
    redis.call('SET', key, t .. '|' .. v)
    changed = changed + 1
  end
end
return changed
"""

_SCHEMA_LOCK = "lakebook:online-meta-lock:"


class RedisOnlineStore(OnlineStore):
    """Online tables in a Redis database given by URL (``redis://host:port/db``)."""

    backend = "redis"

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - redis is a dependency
            raise InvalidInput("The Redis online store needs the 'redis' package.",
                               "pip install redis") from exc
        self.url = url
        try:
            self._redis = redis.Redis.from_url(url)
        except ValueError as exc:
            raise InvalidInput(f"redis_url {url!r} in lakebook.toml is not a Redis URL ({exc}).",
                               "Use e.g. redis_url = \"redis://127.0.0.1:6379/0\".") from None
        self._script = self._redis.register_script(_UPSERT)
        self._decoders: dict[tuple[str, bytes], object] = {}

    def _call(self, fn, *args, **kwargs):
        import redis
        try:
            return fn(*args, **kwargs)
        except redis.ConnectionError as exc:
            raise InvalidInput(f"Cannot reach the Redis online store at {self.url} ({exc}).",
                               "Start redis-server, or fix [online] redis_url in "
                               "lakebook.toml.") from None

    # -- interface -------------------------------------------------------------------------
    def write(self, table: str, keys: list[str], event_time: str, rows: Encoded) -> int:
        if not len(rows):
            return 0
        self._store_schema(table, keys, event_time, rows.schema)
        prefix = f"{PREFIX}{table}:"
        pipe = self._redis.pipeline(transaction=False)
        for start in range(0, len(rows), 1_000):
            keys_ = rows.keys[start:start + 1_000]
            payload = "".join([f"{t}|{v}\n" for t, v in zip(rows.times[start:start + 1_000],
                                                            rows.values[start:start + 1_000])])
            if payload.count("\n") != len(keys_):  # the script splits rows on newlines
                raise ValueError("an encoded online row holds a raw newline")
            self._script(keys=[prefix + k for k in keys_], args=[payload], client=pipe)
        return sum(self._call(pipe.execute))

    def get(self, table: str, keys: list[str], key_values: list[tuple]) -> list[dict | None]:
        prefix = f"{PREFIX}{table}:"
        names = [prefix + encode_key(kv) for kv in key_values]
        # the schema and the rows in one round trip (one MGET up to 1000 keys)
        if len(names) <= 1_000:
            raw, *values = self._call(self._redis.mget, [SCHEMA + table, *names])
        else:
            pipe = self._redis.pipeline(transaction=False)
            pipe.get(SCHEMA + table)
            for chunk in batches(names, 1_000):
                pipe.mget(chunk)
            raw, *chunks = self._call(pipe.execute)
            values = [v for chunk in chunks for v in chunk]
        if raw is None:
            return [None] * len(key_values)
        decode = self._decoder(table, raw)
        return [None if v is None else decode(v[v.index(b"|") + 1:]) for v in values]

    def reset_keys(self, table: str, keys: list[str], event_time: str, key_texts: list[str],
                   rows: Encoded | None) -> int:
        if rows is not None and len(rows):
            self._store_schema(table, keys, event_time, rows.schema)
        prefix = f"{PREFIX}{table}:"
        kept = set(rows.keys) if rows is not None else set()
        gone = [prefix + k for k in key_texts if k not in kept]
        # one MULTI/EXEC: a reader sees every key before or after, never half of them
        pipe = self._redis.pipeline(transaction=True)
        chunks = list(batches(gone, 1_000))
        for chunk in chunks:
            pipe.delete(*chunk)
        if rows is not None:
            for k, t, v in rows.rows():
                pipe.set(prefix + k, f"{t}|{v}")
        results = self._call(pipe.execute) if chunks or rows is not None else []
        return int(sum(results[:len(chunks)]))

    def drop(self, table: str) -> None:
        pattern = f"{PREFIX}{table}:*"
        batch: list[bytes] = []
        for name in self._call(self._redis.scan_iter, match=pattern, count=1_000):
            batch.append(name)
            if len(batch) >= 1_000:
                self._call(self._redis.delete, *batch)
                batch = []
        if batch:
            self._call(self._redis.delete, *batch)
        self._call(self._redis.delete, META + table, SCHEMA + table)
        self._forget_decoders(table)

    def schema(self, table: str) -> pa.Schema | None:
        raw = self._call(self._redis.get, SCHEMA + table)
        return None if raw is None else pa.ipc.read_schema(pa.py_buffer(raw))

    def count(self, table: str) -> int:
        return sum(1 for _ in self._call(self._redis.scan_iter, match=f"{PREFIX}{table}:*",
                                         count=1_000))

    def close(self) -> None:
        self._redis.close()

    # -- internals -------------------------------------------------------------------------
    def _store_schema(self, table: str, keys: list[str], event_time: str,
                      schema: pa.Schema) -> None:
        """Merge this write's columns into the stored schema, under a short Redis lock so two
        writers evolving the schema at once both land."""
        with self._call(self._redis.lock, _SCHEMA_LOCK + table, timeout=10,
                        blocking_timeout=30):
            stored = self.schema(table)
            merged = merge_schema(stored, schema)
            if stored is None or merged != stored:
                pipe = self._redis.pipeline(transaction=True)
                pipe.set(SCHEMA + table, merged.serialize().to_pybytes())
                pipe.hset(META + table, mapping={"keys": ",".join(keys),
                                                 "event_time": event_time})
                self._call(pipe.execute)

    def _decoder(self, table: str, raw: bytes):
        return self._decoder_for(table, raw)


def open_store(lh: Any) -> RedisOnlineStore:
    """The Redis backend of ``lh`` (``[online] redis_url``)."""
    return RedisOnlineStore(lh.config.redis_url)
