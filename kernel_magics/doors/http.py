"""What both HTTP servers share: the Jupyter server extension (``doors/rest``) and the
standalone ``lakebook serve`` app (``doors/serve``).

Every error is a JSON body ``{"error", "hint", "status"}``: a client's mistake (a
:class:`LakebookError` or :class:`JSONError`) answers its 4xx and is logged in one line; an
unexpected failure answers 500 with a one-line message while the traceback goes to the log
only. Bodies past ``[server] max_request_bytes`` answer 413, and a prediction and a batch of
outcomes are answered the same way by both servers.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import tornado.web

from ..shared import jsonsafe
from ..shared.errors import LakebookError

log = logging.getLogger("lakebook.http")


class JSONError(tornado.web.HTTPError):
    """An HTTP error answered as ``{"error", "hint", "status"}`` (the client's mistake)."""

    def __init__(self, status: int, message: str, hint: str | None = None) -> None:
        super().__init__(status, message)
        self.status, self.message, self.hint = status, message, hint


def too_large(limit: int) -> JSONError:
    """The 413 for a body past ``limit`` bytes."""
    return JSONError(413, f"The request body is larger than {limit} bytes.",
                     "Send fewer entries per request, or raise [server] max_request_bytes in "
                     "lakebook.toml.")


def error_body(exc: BaseException | None, status: int, reason: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body answering ``exc`` (None: tornado's own ``status``)."""
    if isinstance(exc, LakebookError):
        status, body = exc.http_status, exc.to_dict()
    elif isinstance(exc, JSONError):
        status, body = exc.status, {"error": exc.message, "hint": exc.hint}
    elif isinstance(exc, tornado.web.HTTPError):
        status, body = exc.status_code, {"error": exc.log_message or reason}
    elif exc is not None or status >= 500:
        status, body = 500, {"error": "Lakebook failed to answer this request; the server "
                                      "log has the details."}
    else:
        body = {"error": reason}
    body["status"] = status
    return status, body


class JSONErrors:
    """Mixin for a tornado ``RequestHandler``: errors as JSON, client mistakes never logged
    with a traceback."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        status, body = error_body(exc, status_code, self._reason)  # type: ignore[attr-defined]
        self.set_status(status)  # type: ignore[attr-defined]
        self.set_header("Content-Type", "application/json")  # type: ignore[attr-defined]
        self.finish(json.dumps(body, default=str))  # type: ignore[attr-defined]

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[no-untyped-def]
        if isinstance(value, (LakebookError, JSONError)):
            request = self.request  # type: ignore[attr-defined]
            log.info("%s %s: %s", request.method, request.path, value)
            return
        super().log_exception(typ, value, tb)  # type: ignore[misc]

    def _handle_request_exception(self, e: BaseException) -> None:
        if self._finished:  # type: ignore[attr-defined]
            return
        if isinstance(e, LakebookError):
            self.send_error(e.http_status, exc_info=(type(e), e, e.__traceback__))  # type: ignore[attr-defined]
        elif isinstance(e, JSONError):
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))  # type: ignore[attr-defined]
        else:
            super()._handle_request_exception(e)  # type: ignore[misc]


def reply(handler: tornado.web.RequestHandler, payload: Any, status: int = 200) -> None:
    """Answer ``payload`` as JSON (numpy, pandas and datetimes made JSON-safe)."""
    handler.set_status(status)
    handler.set_header("Content-Type", "application/json")
    handler.finish(jsonsafe.dumps(payload))


def answer_prediction(handler: tornado.web.RequestHandler, deployment: Any, payload: Any,
                      mlflow: bool = False, allow_lakebook: bool = True) -> None:
    """Score a decoded JSON body with ``deployment`` and answer it: Lakebook's
    ``{"predictions", "model"}`` or MLflow's ``{"predictions"}``, with ``X-Request-Id``."""
    answer = deployment.predict_body(payload, allow_lakebook=allow_lakebook)
    handler.set_header("X-Request-Id", answer.request_id)
    reply(handler, answer.mlflow() if mlflow else answer.lakebook())


def answer_outcomes(handler: tornado.web.RequestHandler, lh: Any, deployment: str,
                    payload: Any) -> None:
    """Log the outcomes of a decoded ``POST deployments/<name>/outcomes`` body and answer
    ``{"deployment", "written"}`` (201, the contract's ``OutcomesWritten``)."""
    written = lh.outcomes.insert_body(deployment, payload)
    reply(handler, {"deployment": deployment, "written": written}, status=201)
