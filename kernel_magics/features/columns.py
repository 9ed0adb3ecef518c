"""The columns Lakebook adds to every feature-group row (hidden from ``fg.read()``):
``_lb_commit``, the insert's sequence number, and ``_lb_row``, the row's index within its
insert. Together they order rows by when they were written (ties in point-in-time joins go to
the latest)."""
from __future__ import annotations

from ..shared.names import RESERVED_PREFIX

HIDDEN_PREFIX = RESERVED_PREFIX
COMMIT_COLUMN = f"{RESERVED_PREFIX}commit"
ROW_COLUMN = f"{RESERVED_PREFIX}row"
HIDDEN_COLUMNS = (COMMIT_COLUMN, ROW_COLUMN)
