"""``lakebook serve``: the standalone prediction server (a tornado app, not the Jupyter server).

Endpoints: ``GET /health`` (also ``/ping``), ``GET /openapi.json``, ``GET /deployments``,
``POST /deployments/<name>/predict`` (Lakebook's ``{"entries", "features"}``),
``POST /deployments/<name>/neighbors`` (a vector or a text in, nearest entities with
predictions out), ``POST /deployments/<name>/outcomes`` (what really happened after
predictions: ``{"outcomes": [{"request_id" | keys + "at", "outcome", "value"}]}``, answered
``201 {"deployment", "written"}`` as inside Jupyter), and MLflow's
scoring protocol on ``POST /invocations`` and ``POST /deployments/<name>/invocations``
(``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``, or ``text/csv``),
answering ``{"predictions": [...]}`` so MLflow clients work unchanged.

Every error is a JSON body ``{"error", "hint", "status"}`` — never a traceback — and a failed
request is counted but never logged as a prediction. A token is required when binding to
anything but loopback (``Authorization: Bearer <token>`` or ``token <token>``). SIGTERM or
SIGINT stops the server cleanly: it stops accepting, finishes, and flushes every inference log.

Errors, the body limit and prediction answers come from ``doors/http.py`` (shared with the
Jupyter server's REST doors). Run it with ``lakebook serve`` (``doors/cli/serve.py``).
"""
from __future__ import annotations

import asyncio
import errno
import hmac
import io
import ipaddress
import logging
import os
import signal
import sys
import time
from typing import Any

import tornado.httpserver
import tornado.web

from ...shared.errors import InvalidInput, LakebookError, NotFound
from ...shared.names import NAME_SEGMENT
from .openapi import openapi_document
from ...deployments.protocol import parse_json
from ..http import JSONError, JSONErrors, answer_outcomes, answer_prediction, reply, too_large

log = logging.getLogger("lakebook.serve")

#: paths that answer without a token (load balancers probe them)
OPEN_PATHS = ("/health", "/ping")
#: bodies past this are cut by tornado itself (a JSON 413 is answered below it)
HARD_BODY_CAP = 256 * 1024 * 1024


class ServeState:
    """What one server process serves: a lakehouse, optionally a fixed list of deployments."""

    def __init__(self, lh: Any, deployments: list[str] | None = None,
                 token: str | None = None) -> None:
        self.lh = lh
        self.names = list(deployments) if deployments else None
        self.token = token or None
        self.max_bytes = int(lh.config.max_request_bytes)
        self.started = time.time()

    def deployment(self, name: str):
        if self.names is not None and name not in self.names:
            raise NotFound(f"This server does not serve a deployment {name!r}.",
                           f"It serves: {', '.join(self.names)}.")
        return self.lh.deployments.get(name)

    def served_names(self) -> list[str]:
        if self.names is not None:
            return list(self.names)
        return [d.name for d in self.lh.deployments.list()]

    def only_deployment(self):
        names = self.served_names()
        if len(names) != 1:
            raise InvalidInput(
                f"This server serves {len(names)} deployments, so /invocations cannot tell "
                "which one to use.", "POST to /deployments/<name>/invocations instead"
                + (f" (one of: {', '.join(names)})." if names else "."))
        return self.deployment(names[0])

    def close(self) -> None:
        self.lh.deployments.close()


@tornado.web.stream_request_body
class BaseHandler(JSONErrors, tornado.web.RequestHandler):
    """JSON in and out; auth, a body limit and JSON errors for every endpoint."""

    state: ServeState

    def initialize(self, state: ServeState) -> None:
        self.state = state
        self._chunks: list[bytes] = []
        self._size = 0

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.clear_header("Server")

    def prepare(self) -> None:
        if self.state.token and self.request.path not in OPEN_PATHS:
            self._check_token()
        length = self.request.headers.get("Content-Length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                raise JSONError(400, "The Content-Length header is not a number.") from None
            if size > HARD_BODY_CAP:
                self._too_large()

    def _check_token(self) -> None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        given = value.strip() if scheme.lower() in ("bearer", "token") else ""
        if not given:
            given = self.get_query_argument("token", "")
        if not given or not hmac.compare_digest(given.encode(), self.state.token.encode()):
            self.set_header("WWW-Authenticate", 'Bearer realm="lakebook"')
            raise JSONError(401, "A valid token is required." if given
                            else "This server needs a token.",
                            "Send the header 'Authorization: Bearer <token>' with the token "
                            "given to lakebook serve --token.")

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self.state.max_bytes:
            self._chunks.append(chunk)  # past the limit: keep reading, stop keeping

    def body(self) -> bytes:
        if self._size > self.state.max_bytes:
            self._too_large()
        return b"".join(self._chunks)

    def _too_large(self) -> None:
        raise too_large(self.state.max_bytes)

    def json_payload(self, csv: bool = True) -> Any:
        """The decoded body: JSON, or (``csv``) a CSV table as MLflow's ``dataframe_split``."""
        ctype = self.request.headers.get("Content-Type", "application/json").split(";")[0]
        ctype = ctype.strip().lower()
        body = self.body()
        if csv and ctype in ("text/csv", "application/csv"):
            return _csv_payload(body)
        # curl -d sends form encoding by default: its body is the JSON all the same
        if ctype not in ("application/json", "", "text/json", "text/plain",
                         "application/x-www-form-urlencoded") and not ctype.endswith("+json"):
            raise JSONError(415, f"Content type {ctype!r} is not supported.",
                            "Send application/json" + (" (or text/csv to /invocations)."
                                                       if csv else "."))
        return parse_json(body)

    def reply(self, payload: Any, status: int = 200) -> None:
        reply(self, payload, status)


class HealthHandler(BaseHandler):
    def get(self) -> None:
        self.reply({"status": "ok", "deployments": self.state.served_names(),
                    "uptime_s": round(time.time() - self.state.started, 3)})


class OpenAPIHandler(BaseHandler):
    def get(self) -> None:
        self.reply(openapi_document(self.state.served_names() or None,
                                    secured=bool(self.state.token)))


class ListHandler(BaseHandler):
    def get(self) -> None:
        out = []
        for name in self.state.served_names():
            item: dict[str, Any] = {"name": name,
                                    "endpoint": f"/deployments/{name}/predict"}
            try:
                served = self.state.deployment(name).served
                item["model"] = {"name": served.model.name, "version": served.model.version}
            except LakebookError as exc:
                item["error"] = exc.message
            out.append(item)
        self.reply({"deployments": out})


class PredictHandler(BaseHandler):
    def post(self, name: str) -> None:
        answer_prediction(self, self.state.deployment(name), self.json_payload())


class NeighborsHandler(BaseHandler):
    def post(self, name: str) -> None:
        from ...deployments.neighbors import parse_body
        deployment = self.state.deployment(name)
        self.reply(deployment.neighbors(**parse_body(self.json_payload())))


class OutcomesHandler(BaseHandler):
    """What really happened after predictions: the same body and answer as the Jupyter
    server's ``POST /lakebook/api/deployments/<name>/outcomes``."""

    def post(self, name: str) -> None:
        self.state.deployment(name)  # 404 for one this server does not serve
        answer_outcomes(self, self.state.lh, name, self.json_payload(csv=False))


class InvocationsHandler(BaseHandler):
    def post(self, name: str | None = None) -> None:
        deployment = self.state.deployment(name) if name else self.state.only_deployment()
        answer_prediction(self, deployment, self.json_payload(), mlflow=True,
                          allow_lakebook=False)


class FallbackHandler(BaseHandler):
    def prepare(self) -> None:
        super().prepare()
        raise JSONError(404, f"Nothing is served at {self.request.path}.",
                        "See /openapi.json for the endpoints.")


def _csv_payload(body: bytes) -> dict[str, Any]:
    import pandas as pd
    try:
        df = pd.read_csv(io.BytesIO(body))
    except Exception as exc:
        raise InvalidInput(f"The CSV body cannot be read ({type(exc).__name__}: {exc}).",
                           "Send a header row and one row per entity.") from None
    df = df.astype(object).where(df.notna(), None)
    return {"dataframe_split": {"columns": [str(c) for c in df.columns],
                                "data": df.values.tolist()}}


def make_app(state: ServeState) -> tornado.web.Application:
    """The tornado application serving ``state``."""
    args = {"state": state}
    name = NAME_SEGMENT
    return tornado.web.Application([
        (r"/health/?", HealthHandler, args),
        (r"/ping/?", HealthHandler, args),
        (r"/openapi.json", OpenAPIHandler, args),
        (r"/deployments/?", ListHandler, args),
        (rf"/deployments/{name}/predict/?", PredictHandler, args),
        (rf"/deployments/{name}/neighbors/?", NeighborsHandler, args),
        (rf"/deployments/{name}/outcomes/?", OutcomesHandler, args),
        (rf"/deployments/{name}/invocations/?", InvocationsHandler, args),
        (r"/invocations/?", InvocationsHandler, args),
        (r"/.*", FallbackHandler, args),
    ], default_handler_class=FallbackHandler, default_handler_args=args,
        compress_response=False)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServeError(Exception):
    """A reason the server cannot start, said in one sentence."""


def check_start(lh: Any, deployments: list[str] | None, host: str,
                token: str | None) -> ServeState:
    """Validate the serve options and preload the deployments' models."""
    if not is_loopback(host) and not token:
        raise ServeError(f"Binding to {host} exposes predictions beyond this machine, so a "
                         "token is required: pass --token T (or set LAKEBOOK_SERVE_TOKEN).")
    state = ServeState(lh, deployments, token)
    for name in state.served_names():
        try:
            deployment = state.deployment(name)
            deployment.served  # load the model now: fail at start, not on the first request
        except LakebookError as exc:
            if deployments:
                raise ServeError(f"Deployment {name!r} cannot be served: {exc}") from None
            log.warning("Deployment %s cannot be served yet: %s", name, exc)
    return state


async def _serve(state: ServeState, host: str, port: int, ready=None) -> None:
    app = make_app(state)
    server = tornado.httpserver.HTTPServer(app, max_body_size=HARD_BODY_CAP,
                                           idle_connection_timeout=60)
    try:
        server.listen(port, address=host)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            reason = {errno.EADDRINUSE: "is already in use",
                      errno.EACCES: "needs privileges this user does not have",
                      errno.EADDRNOTAVAIL: "is not an address of this machine"}[exc.errno]
            raise ServeError(f"Port {port} on {host} {reason}; pick another with --port "
                             "(or --host).") from None
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    if ready is not None:
        ready(server)
    print(f"Lakebook serving {', '.join(state.served_names()) or 'no deployments yet'} on "
          f"http://{host}:{port} (OpenAPI at /openapi.json)", file=sys.stderr, flush=True)
    await stop.wait()
    server.stop()
    try:
        await asyncio.wait_for(server.close_all_connections(), timeout=10)
    except asyncio.TimeoutError:
        pass


def serve(lh: Any, deployments: list[str] | None = None, host: str = "127.0.0.1",
          port: int = 8080, token: str | None = None) -> int:
    """Run the server until SIGTERM/SIGINT; returns the process exit code."""
    token = token or os.environ.get("LAKEBOOK_SERVE_TOKEN") or None
    try:
        state = check_start(lh, deployments, host, token)
        try:
            asyncio.run(_serve(state, host, port))
        finally:
            try:
                state.close()  # flush every inference log
            except Exception as exc:  # the rows stay buffered; atexit tries once more
                log.error("Flushing the inference logs failed: %s", exc)
    except ServeError as exc:
        print(f"lakebook serve: {exc}", file=sys.stderr)
        return 1
    except LakebookError as exc:
        print(f"lakebook serve: {exc}", file=sys.stderr)
        return 1
    # each inference log said what it wrote, spilled or dead-lettered as it closed
    print("Lakebook server stopped.", file=sys.stderr, flush=True)
    return 0
