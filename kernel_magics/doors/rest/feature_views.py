"""``/lakebook/api/feature-views``: the views the sidebar lists, and one view's detail."""
from __future__ import annotations

import tornado.web

from ...shared.names import NAME_SEGMENT
from .base import LakebookHandler, whole_number


class FeatureViewsHandler(LakebookHandler):
    """``GET feature-views``: the latest version of every view."""

    @tornado.web.authenticated
    def get(self) -> None:
        views = self.lh.features.views.list()
        self.reply({"feature_views": [
            {**{k: v for k, v in fv.to_dict().items() if k != "spec"},
             "versions": len(fv.versions())} for fv in views]})


class FeatureViewHandler(LakebookHandler):
    """``GET feature-views/<name>[/<version>]`` (or ``?version=N``): spec, features,
    labels and every version of the view."""

    @tornado.web.authenticated
    def get(self, name: str, version: str | None = None) -> None:
        version = version or self.get_query_argument("version", None)
        if version is not None:
            version = whole_number(version, f"the version of feature view {name!r}", 1)
        fv = self.lh.features.views.get(name, version)
        self.reply({**fv.to_dict(), "versions": [
            {"version": v["version"], "description": v["description"],
             "created_at": v["created_at"]} for v in fv.versions()]})


ROUTES = [
    (r"feature-views/?", FeatureViewsHandler),
    (rf"feature-views/{NAME_SEGMENT}/?", FeatureViewHandler),
    (rf"feature-views/{NAME_SEGMENT}/([^/]+)/?", FeatureViewHandler),
]
