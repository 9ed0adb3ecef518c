"""``/lakebook/api/models``: the registry for the sidebar.

- ``GET  models``                              every model with its aliases and latest metrics
- ``GET  models/<name>``                       versions, aliases, alias history and each
                                               metric's direction (``higher``/``lower``)
- ``GET  models/<name>/versions/<v>``          one version in full
- ``POST models/<name>/aliases/<alias>``       ``{"version": N}``: move the alias
- ``DELETE models/<name>/aliases/<alias>``     remove the alias
"""
from __future__ import annotations

from typing import Any

import tornado.web

from ...shared.errors import InvalidInput
from ...shared.names import NAME_SEGMENT
from .base import LakebookHandler, text_field, whole_number


def _version_number(value: Any) -> int:
    try:
        return whole_number(value, "version", 1)
    except InvalidInput:
        raise InvalidInput(f"{value!r:.40} is not a version number (the version must be a "
                           "whole number from 1 to 2**63-1).",
                           'Send {"version": N} with N a registered version.') from None


class _ModelsBase(LakebookHandler):
    pass


class ModelsHandler(_ModelsBase):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply({"models": [m.to_dict() for m in self.lh.registry.list()]})


class ModelHandler(_ModelsBase):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        registry = self.lh.registry
        versions = registry.versions(name)
        self.reply({
            "name": name,
            "aliases": registry.aliases(name),
            "versions": [v.to_dict() for v in versions],
            # which way each metric is better: the sidebar marks the best version by it
            "metric_directions": registry.metric_directions(name),
            "alias_history": registry.alias_history(name),
        })


class ModelVersionHandler(_ModelsBase):
    @tornado.web.authenticated
    def get(self, name: str, version: str) -> None:
        self.reply(self.lh.registry.get(name, _version_number(version)).to_dict())


class AliasHandler(_ModelsBase):
    @tornado.web.authenticated
    def post(self, name: str, alias: str) -> None:
        body = self.json_object()
        if "version" not in body:
            raise InvalidInput(f"Moving alias {alias!r} needs the version to point it at.",
                               'Send {"version": N}.')
        moved = self.lh.registry.move_alias(
            name, alias, _version_number(body["version"]), who=self.who(),
            reason=text_field(body, "reason") or "moved from the sidebar")
        self.reply({k: moved[k] for k in ("name", "alias", "version", "previous")})

    @tornado.web.authenticated
    def delete(self, name: str, alias: str) -> None:
        self.lh.registry.delete_alias(name, alias, who=self.who(), reason="removed via REST")
        self.reply({"name": name, "alias": alias, "version": None})


ROUTES = [
    (r"models/?", ModelsHandler),
    (rf"models/{NAME_SEGMENT}/?", ModelHandler),
    (rf"models/{NAME_SEGMENT}/versions/([^/]+)/?", ModelVersionHandler),
    (rf"models/{NAME_SEGMENT}/aliases/([^/]+)/?", AliasHandler),
]
