"""Jupyter server extension: REST handlers under ``/lakebook/api/…`` and the in-server
scheduler. Every handler is a thin door onto the ``Lakehouse`` API."""
from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from ...shared.optional import optional_module

# Each module lists its routes in ``ROUTES``: [(pattern relative to /lakebook/api, handler)].
ROUTE_MODULES = [
    "kernel_magics.doors.rest.status",
    "kernel_magics.doors.rest.features",
    "kernel_magics.doors.rest.feature_views",
    "kernel_magics.doors.rest.models",
    "kernel_magics.doors.rest.deployments",
    "kernel_magics.doors.rest.business",
    "kernel_magics.doors.rest.pipelines",
    "kernel_magics.doors.rest.monitoring",
    "kernel_magics.doors.rest.lineage",
    "kernel_magics.doors.rest.openapi",
]


def collect_routes() -> list[tuple[str, Any]]:
    routes: list[tuple[str, Any]] = []
    for name in ROUTE_MODULES:
        module = optional_module(name)
        if module is not None:
            routes.extend(module.ROUTES)
    return routes


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .base import NotFoundHandler
    web_app = server_app.web_app
    base = url_path_join(web_app.settings["base_url"], "lakebook", "api")
    handlers = [(url_path_join(base, pattern), handler) for pattern, handler in collect_routes()]
    handlers.append((url_path_join(base, r"(.*)"), NotFoundHandler))
    web_app.add_handlers(".*$", handlers)
    starter = _background_services()
    if starter is not None:
        starter(server_app)
    server_app.log.info("Lakebook: REST API at %s", base)


def _background_services():
    """The in-server scheduler, when the pipelines part provides one."""
    module = optional_module("kernel_magics.doors.rest.background")
    return None if module is None else module.start


# the module itself is the extension point (see _jupyter_server_extension_points)
load_jupyter_server_extension = _load_jupyter_server_extension
