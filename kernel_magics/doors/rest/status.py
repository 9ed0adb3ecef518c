"""``GET /lakebook/api/status``: the summary the sidebar header shows."""
from __future__ import annotations

import tornado.web

from .base import LakebookHandler


class StatusHandler(LakebookHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply(self.lh.status())


ROUTES = [(r"status/?", StatusHandler)]
