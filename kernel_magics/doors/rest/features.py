"""``/lakebook/api/feature-groups``: the feature groups the sidebar lists, and one group's
detail (schema, commits, statistics, a sample of rows)."""
from __future__ import annotations

import tornado.web

from ...shared.jsonsafe import plain
from ...shared.names import NAME_SEGMENT
from .base import LakebookHandler

SAMPLE_ROWS = 20


class FeatureGroupsHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        all_versions = self.get_query_argument("all_versions", "0") in ("1", "true")
        groups = self.lh.features.feature_groups(all_versions=all_versions)
        self.reply({"feature_groups": [plain(g.to_dict()) for g in groups]})


class FeatureGroupHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        version = self.int_argument("version", minimum=1)
        rows = self.int_argument("sample", SAMPLE_ROWS)
        fg = self.lh.feature_group(name, version)
        detail = fg.to_dict()
        detail["commits"] = fg.commits()
        detail["commit_count"] = len(detail["commits"])
        detail["statistics"] = fg.statistics()
        detail["versions"] = [v["version"] for v in fg.versions()]
        detail["sample"] = fg.head(min(max(rows, 0), 1000), output="arrow").to_pylist()
        self.reply(plain(detail))


ROUTES = [
    (r"feature-groups/?", FeatureGroupsHandler),
    (rf"feature-groups/{NAME_SEGMENT}/?", FeatureGroupHandler),
]
