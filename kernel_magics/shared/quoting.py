"""Quoting: how a user's words reach SQL and how a magic line is cut into words.

- SQL: a column, table or group name is pasted into SQL only as :func:`quote_ident` makes
  it (a double-quoted identifier for DuckDB, DataFusion and SQLite); values go in as
  parameters, never as text.
- Magic lines: split like a shell line (:func:`split_words`: ``--check "amount > 0"`` is one
  value without its quotes), and written back with :func:`join_words` (quotes only where a
  word needs them). The sidebar's magic builder follows the same rules; its tests read the
  cases :func:`examples` gives.
"""
from __future__ import annotations

import shlex

from .errors import InvalidInput


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (DuckDB, DataFusion, SQLite)."""
    if "\x00" in name:
        raise InvalidInput(f"{name!r} cannot be used as a SQL identifier.", "Rename it.")
    return '"' + name.replace('"', '""') + '"'


def split_words(line: str, what: str = "the magic line") -> list[str]:
    """The words of a magic line, quoted as in a shell (quotes removed, one value each)."""
    try:
        return shlex.split(line or "", posix=True)
    except ValueError as exc:  # "No closing quotation" / "No escaped character"
        raise InvalidInput(f"{what} cannot be read: {exc}: {line!r}.",
                           "Close every quote: --check \"amount > 0\".") from None


def join_words(words: list[str]) -> str:
    """A line that :func:`split_words` reads back as ``words``."""
    return shlex.join(words)


def examples() -> list[dict[str, object]]:
    """Lines and the words they split into (the sidebar's tokenizer is tested on them)."""
    lines = ["transactions --key cc_num --event-time ts --online",
             'tx --key cc --event-time ts --check "amount > 0"',
             "tx --key cc --event-time ts --check 'amount >= 0' --check \"category != 'x'\"",
             'fraud --start "2024-05-02 00:00" --end 2024-05-03',
             "a  b\tc", 'say "it\'s" \'a "b"\'', r'back\ slash "q\"uote"', ""]
    return [{"line": line, "words": split_words(line)} for line in lines]
