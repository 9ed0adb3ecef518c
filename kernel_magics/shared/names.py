"""The one name rule: what a user may call a feature group, feature view, model, deployment,
monitor or pipeline, and what an alias or a column may be called.

A name is a Python identifier of at most 128 characters (letters, digits, ``_``; not
starting with a digit; not a Python keyword) that does not start with Lakebook's reserved
``_lb_``. It becomes a folder, a Delta table, an online table, a REST path segment and a
magic's first word, so one rule keeps all of them valid. Every REST route takes a name as
:data:`NAME_SEGMENT` and the API validates it; the sidebar's magic builder reads the same rule
(exported with the magic grammar, ``shared.magic_grammar.export``). A name reaches SQL only
through ``shared.quoting.quote_ident``.
"""
from __future__ import annotations

import keyword
import re

from .errors import InvalidInput

#: the prefix of Lakebook's own columns and names; users may not take it
RESERVED_PREFIX = "_lb_"
MAX_LENGTH = 128
#: a name, as a regular expression (without anchors): what routes match
NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]{0,127}"
#: a REST path segment holding a name: anything up to the next slash, so that the handler,
#: not the router, judges it (a bad name is a 400 naming it, an unknown one a 404)
NAME_SEGMENT = r"([^/]+)"
_NAME = re.compile(rf"^{NAME_PATTERN}$")
#: an alias of a model version: a word such as production (not a number, not "latest")
ALIAS_PATTERN = r"[A-Za-z_][A-Za-z0-9_-]{0,63}"
_ALIAS = re.compile(rf"^{ALIAS_PATTERN}$")
NAME_HINT = ("Use letters, digits and underscores, starting with a letter or underscore "
             "(a Python identifier, at most 128 characters), e.g. 'transactions_daily'.")


def is_name(value: object) -> bool:
    """Whether ``value`` is a valid name (see the module docstring)."""
    return (isinstance(value, str) and bool(_NAME.match(value))
            and not keyword.iskeyword(value) and not value.startswith(RESERVED_PREFIX))


def validate_name(name: object, what: str = "feature group") -> str:
    """Return ``name`` if it is a valid name for a ``what`` (feature group, feature view,
    model, deployment, monitor, pipeline); otherwise raise :class:`InvalidInput`."""
    if not isinstance(name, str) or not _NAME.match(name) or keyword.iskeyword(name):
        raise InvalidInput(f"{name!r} is not a valid {what} name.", NAME_HINT)
    if name.startswith(RESERVED_PREFIX):
        raise InvalidInput(f"{what.capitalize()} name {name!r} starts with "
                           f"{RESERVED_PREFIX!r}, which Lakebook reserves.",
                           "Pick a name without that prefix.")
    return name


def validate_alias(alias: object) -> str:
    """Return ``alias`` if it can name a model version (``production``, ``champion-2``);
    otherwise raise :class:`InvalidInput`."""
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias.isdigit() \
            or alias == "latest":
        raise InvalidInput(f"{alias!r} is not a valid alias.",
                           "Use a word such as production, staging or champion "
                           "(letters, digits, '_' or '-'; not 'latest').")
    return alias


def validate_column(name: object, what: str = "column") -> str:
    """A column name used as key, event time or feature: any non-empty string without NUL
    (always quoted in SQL), not starting with the reserved ``_lb_`` prefix."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise InvalidInput(f"{name!r} is not a valid {what} name.",
                           "Column names must be non-empty strings.")
    if name.startswith(RESERVED_PREFIX):
        raise InvalidInput(f"Column {name!r} starts with {RESERVED_PREFIX!r}, which Lakebook "
                           "reserves for its own columns.", "Rename the column.")
    return name


def export() -> dict[str, object]:
    """The name rule as data, for the sidebar (which checks names before it writes a magic
    line): the pattern, the reserved prefix and the keywords a name may not be."""
    return {"pattern": f"^{NAME_PATTERN}$", "reserved_prefix": RESERVED_PREFIX,
            "keywords": sorted(keyword.kwlist), "max_length": MAX_LENGTH,
            "alias_pattern": f"^{ALIAS_PATTERN}$", "hint": NAME_HINT}
