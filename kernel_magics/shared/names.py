"""Names users give to groups, views and columns: validated as identifiers, always quoted in SQL.

Shared by feature groups and feature views. A name is pasted into SQL only through
:func:`quote_ident`, never as it was typed.
"""
from __future__ import annotations

import keyword
import re

from .errors import InvalidInput

#: Columns Lakebook adds to every feature-group row (hidden from ``fg.read()``).
HIDDEN_PREFIX = "_lb_"
COMMIT_COLUMN = "_lb_commit"
ROW_COLUMN = "_lb_row"
HIDDEN_COLUMNS = (COMMIT_COLUMN, ROW_COLUMN)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def validate_name(name: object, what: str = "feature group") -> str:
    """Return ``name`` if it is a valid name for a group/view (a Python identifier of at most
    128 characters, not a keyword); otherwise raise :class:`InvalidInput`."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise InvalidInput(
            f"{name!r} is not a valid {what} name.",
            "Use letters, digits and underscores, starting with a letter or underscore "
            "(a Python identifier, at most 128 characters), e.g. 'transactions_daily'.")
    if name.startswith(HIDDEN_PREFIX):
        raise InvalidInput(f"{what.capitalize()} name {name!r} starts with {HIDDEN_PREFIX!r}, "
                           "which Lakebook reserves.", "Pick a name without that prefix.")
    return name


def validate_column(name: object, what: str = "column") -> str:
    """A column name used as key, event time or feature: any non-empty string without NUL
    (quoted in SQL), not starting with the reserved ``_lb_`` prefix."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise InvalidInput(f"{name!r} is not a valid {what} name.",
                           "Column names must be non-empty strings.")
    if name.startswith(HIDDEN_PREFIX):
        raise InvalidInput(f"Column {name!r} starts with {HIDDEN_PREFIX!r}, which Lakebook "
                           "reserves for its own columns.", "Rename the column.")
    return name


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (DuckDB, DataFusion, SQLite)."""
    if "\x00" in name:
        raise InvalidInput(f"{name!r} cannot be used as a SQL identifier.", "Rename it.")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
