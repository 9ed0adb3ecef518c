"""The handler every Lakebook REST endpoint derives from.

Client mistakes answer 4xx with ``{"error", "hint", "status"}``; unexpected failures answer
500 with a one-line message and the traceback goes to the server log only.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler

from ..errors import InvalidInput, LakebookError
from ..lakehouse import Lakehouse, connect

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


def inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path``'s real location (symlinks followed) is ``folder`` or below it: the
    one check every handler serving a file or a listing makes."""
    real, top = Path(path).resolve(), Path(folder).resolve()
    return real == top or top in real.parents


class LakebookHandler(APIHandler):
    """Base of all ``/lakebook/api`` handlers: JSON in, JSON out, errors as JSON."""

    @property
    def lh(self) -> Lakehouse:
        return server_lakehouse()

    def json_body(self) -> Any:
        """The request's JSON body; a malformed one is the client's mistake (400)."""
        limit = self.lh.config.max_request_bytes
        if len(self.request.body or b"") > limit:
            raise _HTTPJSONError(413, f"Request body is larger than {limit} bytes.",
                                 "Send fewer entries per request, or raise "
                                 "[server] max_request_bytes in lakebook.toml.")
        if not self.request.body:
            return {}
        try:
            return json.loads(self.request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"The request body is not valid JSON ({exc}).",
                               "Send a JSON object with Content-Type: application/json.") from None

    def reply(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, LakebookError):
            body = exc.to_dict()
            self.set_status(exc.http_status)
        elif isinstance(exc, _HTTPJSONError):
            body = {"error": exc.message, "hint": exc.hint, "status": exc.status_code}
            self.set_status(exc.status_code)
        elif isinstance(exc, tornado.web.HTTPError):
            body = {"error": exc.log_message or self._reason, "status": status_code}
        else:
            body = {"error": "Lakebook failed to answer this request; the server log has the "
                             "details.", "status": status_code}
        body.setdefault("status", self.get_status())
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, default=str))

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        if isinstance(value, (LakebookError, _HTTPJSONError)):
            self.log.info("Lakebook %s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, LakebookError):
            self.send_error(e.http_status, exc_info=(type(e), e, e.__traceback__))
            return
        if isinstance(e, _HTTPJSONError):
            self.send_error(e.status_code, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


class _HTTPJSONError(tornado.web.HTTPError):
    def __init__(self, status: int, message: str, hint: str | None = None) -> None:
        super().__init__(status, message)
        self.message, self.hint = message, hint


class NotFoundHandler(LakebookHandler):
    """Any other path under /lakebook/api: a JSON 404 rather than an HTML page."""

    @tornado.web.authenticated
    def get(self, path: str) -> None:
        raise _HTTPJSONError(404, f"No Lakebook API at /lakebook/api/{path}.",
                             "See /lakebook/api/status for what the server offers.")

    post = put = delete = patch = get
