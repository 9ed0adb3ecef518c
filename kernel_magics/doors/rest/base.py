"""The handler every Lakebook REST endpoint derives from.

Errors, the body limit and replies come from ``doors/http.py``, shared with ``lakebook serve``:
client mistakes answer 4xx with ``{"error", "hint", "status"}``; unexpected failures answer
500 with a one-line message and the traceback goes to the server log only.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler

from ...shared import json_input
from ...shared.errors import InvalidInput
from ..http import JSONError, JSONErrors, reply, too_large
from ...lakehouse import Lakehouse, connect

_lakehouse: Lakehouse | None = None
_lock = threading.Lock()


def server_lakehouse() -> Lakehouse:
    """The lakehouse this server works on (``LAKEBOOK_HOME`` / ``lakebook.toml`` / ./.lakebook
    relative to the server's working directory), opened once."""
    global _lakehouse
    with _lock:
        if _lakehouse is None:
            _lakehouse = connect()
        return _lakehouse


#: the largest integer the catalog (SQLite) stores
MAX_INT = 2**63 - 1


def whole_number(value: Any, what: str, minimum: int = 0) -> int:
    """``value`` (a path segment, query argument or JSON value) as an integer in
    ``[minimum, 2**63-1]``, or InvalidInput naming ``what``."""
    number: int | None = None
    if not isinstance(value, bool) and not (isinstance(value, float)
                                            and not value.is_integer()):
        try:
            number = int(value) if not isinstance(value, str) or len(value) <= 20 else None
        except (TypeError, ValueError, OverflowError):
            number = None
    if number is None or not minimum <= number <= MAX_INT:
        raise InvalidInput(f"{what} must be a whole number from {minimum} to {MAX_INT}, not "
                           f"{_shown(value)}.", f"Send {what} as a number such as {max(1, minimum)}.")
    return number


def text_field(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    """Field ``name`` of a JSON body, which must be a string (or absent/null)."""
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"The request body needs {name!r} (a string).")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name!r} must be a string, not {_shown(value)}.")
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path``'s real location (symlinks followed) is ``folder`` or below it: the
    one check every handler serving a file or a listing makes."""
    real, top = Path(path).resolve(), Path(folder).resolve()
    return real == top or top in real.parents


class LakebookHandler(JSONErrors, APIHandler):
    """Base of all ``/lakebook/api`` handlers: JSON in, JSON out, errors as JSON."""

    @property
    def lh(self) -> Lakehouse:
        """The server's lakehouse, writing as the signed-in Jupyter user."""
        return server_lakehouse().as_user(self.who())

    def who(self) -> str | None:
        """The signed-in Jupyter user's name; None before authentication, and for the
        anonymous user a token-only server makes up per browser (then the server's own
        LAKEBOOK_USER or OS user is recorded)."""
        user = self.current_user
        if user is None or str(getattr(user, "name", "")).startswith("Anonymous "):
            return None
        return getattr(user, "username", None) or getattr(user, "name", None) or str(user)

    def json_body(self) -> Any:
        """The request's JSON body; a malformed one is the client's mistake (400)."""
        limit = self.lh.config.max_request_bytes
        if len(self.request.body or b"") > limit:
            raise too_large(limit)
        if not self.request.body or not self.request.body.strip():
            return {}
        return json_input.loads(self.request.body)

    def json_object(self) -> dict[str, Any]:
        """The request's JSON body, which must be an object (an empty body is ``{}``)."""
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInput(f"The request body must be a JSON object, not "
                               f"{type(body).__name__ if body is not None else 'null'}.",
                               "Send {...} with the fields this endpoint takes.")
        return body

    def int_argument(self, name: str, default: int | None = None, minimum: int = 0) -> int | None:
        """An integer query argument (``?limit=20``), range-checked."""
        value = self.get_query_argument(name, None)
        return default if value is None else whole_number(value, name, minimum)

    def reply(self, payload: Any, status: int = 200) -> None:
        reply(self, payload, status)


class NotFoundHandler(LakebookHandler):
    """Any other path under /lakebook/api: a JSON 404 rather than an HTML page."""

    @tornado.web.authenticated
    def get(self, path: str) -> None:
        raise JSONError(404, f"No Lakebook API at /lakebook/api/{path}.",
                             "See /lakebook/api/status for what the server offers.")

    post = put = delete = patch = get
