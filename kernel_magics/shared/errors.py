"""Errors that Lakebook shows to users.

Every error says what was wrong in the user's own terms (group, column, step, model) and,
in ``hint``, what to do next. Front doors turn them into a ``UsageError`` (magics), a 4xx
JSON answer (REST) or one line on stderr with a non-zero exit (CLI).
"""
from __future__ import annotations


class LakebookError(Exception):
    """Base class of every error Lakebook raises on purpose."""

    #: HTTP status a REST handler answers with when this error reaches it.
    http_status = 400

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}" if hint else message)

    def to_dict(self) -> dict:
        return {"error": self.message, "hint": self.hint, "type": type(self).__name__,
                "status": self.http_status}


class InvalidInput(LakebookError, ValueError):
    """The user gave something that cannot be used as it is."""


class NotFound(LakebookError, LookupError):
    """A named thing (group, view, model, step, deployment…) does not exist."""

    http_status = 404


class AlreadyExists(LakebookError):
    """A create call names something that exists already."""

    http_status = 409


class Conflict(LakebookError):
    """The state changed under the call (e.g. an alias moved to a deleted version)."""

    http_status = 409


class SchemaMismatch(InvalidInput):
    """Inserted data does not match the schema fixed by the first insert."""


class CheckFailed(InvalidInput):
    """A data check (SQL predicate, null key, null event time) failed before a commit."""


class CatalogError(LakebookError):
    """The catalog cannot be opened: unreadable, or written by a newer Lakebook."""

    http_status = 500


class UnsafeArtifact(LakebookError):
    """A model artifact holds types the registry's trust policy does not allow."""

    http_status = 422
