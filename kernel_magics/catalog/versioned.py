"""Looking up a versioned catalog entry (feature group, feature view) by name and version,
with a not-found message that lists what does exist."""
from __future__ import annotations

from typing import Any

from ..shared.errors import NotFound
from .db import Catalog

# the tables that hold (name, version) rows; names are never taken from users
_TABLES = {"feature_groups", "feature_views"}


def versioned_row(catalog: Catalog, table: str, name: str, version: int | None, *,
                  noun: str, latest_call: str, create_hint: str) -> dict[str, Any]:
    """The row of ``name`` at ``version`` (the latest when None) in ``table``.

    A missing entry raises :class:`NotFound` naming the versions the name has, or the
    names that exist, e.g. ``There is no feature view 'fraud'. Known views: a, b.``
    """
    assert table in _TABLES, table
    if version is None:
        row = catalog.query_one(f"SELECT * FROM {table} WHERE name = ?"
                                " ORDER BY version DESC LIMIT 1", (name,))
    else:
        row = catalog.query_one(f"SELECT * FROM {table} WHERE name = ? AND version = ?",
                                (name, version))
    if row is not None:
        return row
    known = [r["version"] for r in catalog.query(
        f"SELECT version FROM {table} WHERE name = ? ORDER BY version", (name,))]
    if known:
        raise NotFound(f"{noun.capitalize()} {name!r} has no version {version} (it has "
                       f"{', '.join(map(str, known))}).",
                       f"Use {latest_call} for the latest version.")
    names = [r["name"] for r in catalog.query(f"SELECT DISTINCT name FROM {table} ORDER BY name")]
    plural = noun.split()[-1] + "s"
    raise NotFound(f"There is no {noun} {name!r}.",
                   (f"Known {plural}: " + ", ".join(names) + "." if names else
                    f"No {noun}s exist yet.") + f" {create_hint}")
