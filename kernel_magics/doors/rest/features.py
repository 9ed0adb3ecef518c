"""``/lakebook/api/feature-groups``: the feature groups the sidebar lists, one group's
detail (schema, commits, statistics, a sample of rows, embedding columns and their index),
``POST feature-groups/<name>/neighbors``: the nearest rows to a key's vector or to a vector,
and ``POST feature-groups/<name>/delete-rows``: delete rows by keys and/or a predicate."""
from __future__ import annotations

import tornado.web

from ...shared.errors import InvalidInput
from ...shared.jsonsafe import plain
from ...shared.names import NAME_SEGMENT
from .base import LakebookHandler

SAMPLE_ROWS = 20


class FeatureGroupsHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        all_versions = self.get_query_argument("all_versions", "0") in ("1", "true")
        groups = self.lh.features.groups.list(all_versions=all_versions)
        self.reply({"feature_groups": [plain(g.to_dict()) for g in groups]})


class FeatureGroupHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        version = self.int_argument("version", minimum=1)
        rows = self.int_argument("sample", SAMPLE_ROWS)
        fg = self.lh.features.groups.get(name, version)
        detail = fg.to_dict()
        detail["commits"] = fg.commits()
        detail["commit_count"] = len(detail["commits"])
        detail["statistics"] = fg.statistics()
        detail["versions"] = [v["version"] for v in fg.versions()]
        detail["sample"] = fg.head(min(max(rows, 0), 1000), output="arrow").to_pylist()
        detail["embedding_index"] = fg.index_status()
        self.reply(plain(detail))


NEIGHBOR_FIELDS = {"key", "vector", "k", "filter", "col", "version", "exact"}


class NeighborsHandler(LakebookHandler):
    """``{"key": 42 | {...}}`` (its stored vector; the key itself left out) or
    ``{"vector": [...]}``, with ``k``, ``filter``, ``col``, ``version``, ``exact``."""

    @tornado.web.authenticated
    def post(self, name: str) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInput("The body must be a JSON object.", 'Send {"key": 42, "k": 10}.')
        unknown = sorted(set(body) - NEIGHBOR_FIELDS)
        if unknown:
            raise InvalidInput(f"Unknown field(s) {unknown}.",
                               f"Fields: {', '.join(sorted(NEIGHBOR_FIELDS))}.")
        if ("key" in body) == ("vector" in body):
            raise InvalidInput("Send either a key or a vector.",
                               'Send {"key": 42} or {"vector": [0.1, ...]}.')
        version = body.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise InvalidInput("version must be a whole number.", 'Send e.g. "version": 1.')
        for field, kind in (("filter", str), ("col", str)):
            if body.get(field) is not None and not isinstance(body[field], kind):
                raise InvalidInput(f"{field} must be a string.", f'Send e.g. "{field}": "...".')
        if "vector" in body and not isinstance(body["vector"], list):
            raise InvalidInput("vector must be a list of numbers.", 'Send {"vector": [...]}.')
        fg = self.lh.features.groups.get(name, version)
        k = body.get("k", 10)
        if "key" in body:
            found = fg.neighbors_of(body["key"], k=k, col=body.get("col"),
                                    filter=body.get("filter"))
        else:
            found = fg.find_neighbors(body["vector"], k=k, filter=body.get("filter"),
                                      col=body.get("col"), exact=bool(body.get("exact")))
        shown = found.drop(columns=[c for c in fg.embeddings if c in found.columns])
        self.reply(plain({"group": fg.name, "version": fg.version,
                          "columns": list(shown.columns),
                          "neighbors": shown.to_dict("records")}))


DELETE_FIELDS = {"keys", "where", "version"}


class DeleteRowsHandler(LakebookHandler):
    """``{"keys": [42, ...] | [{...}, ...], "where": "...", "version": n}``: one delete commit
    (``fg.delete_rows``); answers what it did."""

    @tornado.web.authenticated
    def post(self, name: str) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInput("The body must be a JSON object.",
                               'Send {"keys": [42]} or {"where": "..."}.')
        unknown = sorted(set(body) - DELETE_FIELDS)
        if unknown:
            raise InvalidInput(f"Unknown field(s) {unknown}.",
                               f"Fields: {', '.join(sorted(DELETE_FIELDS))}.")
        if body.get("keys") is not None and not isinstance(body["keys"], list):
            raise InvalidInput("keys must be a list (of values, or of objects for a key of "
                               "several columns).", 'Send e.g. {"keys": [42, 43]}.')
        if body.get("where") is not None and not isinstance(body["where"], str):
            raise InvalidInput("where must be a string (a SQL predicate).",
                               'Send e.g. {"where": "category = \'closed\'"}.')
        version = body.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise InvalidInput("version must be a whole number.", 'Send e.g. "version": 1.')
        fg = self.lh.features.groups.get(name, version)
        info = fg.delete_rows(keys=body.get("keys"), where=body.get("where"))
        self.reply(plain(info.to_dict()))


ROUTES = [
    (r"feature-groups/?", FeatureGroupsHandler),
    (rf"feature-groups/{NAME_SEGMENT}/?", FeatureGroupHandler),
    (rf"feature-groups/{NAME_SEGMENT}/neighbors/?", NeighborsHandler),
    (rf"feature-groups/{NAME_SEGMENT}/delete-rows/?", DeleteRowsHandler),
]
