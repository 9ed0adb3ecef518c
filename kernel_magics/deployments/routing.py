"""Traffic routing of a deployment: an A/B split between model versions, and a shadow.

``lh.deploy("fraud_online", model="fraud_model", split={"production": 0.9, "challenger":
0.1})`` sends each request to an *arm* (an alias of the model, or ``v<N>`` for a fixed
version) with the given shares. The choice is sticky: it is a hash (CRC-32) of the deployment's
name and the entity's key values, so a card always meets the same arm (and different
deployments split independently). Rows that name no entity (full input rows, no view) are
assigned by the request id: not sticky, since there is nothing to stick to.

``shadow="challenger"`` scores every request with that version as well, off the answer's path
(a background thread), and logs it with ``shadow = true``; its answer is never returned.

The arm of every prediction goes into the inference log (``arm``, ``shadow``), so KPIs can be
computed per arm (``business``).
"""
from __future__ import annotations

import bisect
import math
import re
import zlib
from typing import Any

from ..shared.errors import InvalidInput

_VERSION = re.compile(r"^v(\d+)$")
#: how close to 1 the shares must add up
_TOLERANCE = 1e-6


def arm_version(arm: str) -> int | None:
    """The fixed version an arm names (``v3`` -> 3), None for an alias."""
    match = _VERSION.match(arm)
    return int(match.group(1)) if match else None


def check_split(deployment: str, split: Any) -> dict[str, float] | None:
    """``split`` as ``{arm: share}`` (shares in (0, 1], adding up to 1), or None."""
    if split is None:
        return None
    if not isinstance(split, dict) or len(split) < 2:
        raise InvalidInput(f"Deployment {deployment!r}: split must map two or more arms to "
                           f"their shares, not {split!r:.80}.",
                           'E.g. split={"production": 0.9, "challenger": 0.1} (model aliases, '
                           'or "v3" for a fixed version).')
    out: dict[str, float] = {}
    for arm, share in split.items():
        if not isinstance(arm, str) or not arm:
            raise InvalidInput(f"Deployment {deployment!r}: arm {arm!r} must be a model alias "
                               "or a version like 'v3'.")
        try:
            share = float(share)
        except (TypeError, ValueError):
            raise InvalidInput(f"Deployment {deployment!r}: the share of arm {arm!r} must be a "
                               f"number, not {share!r}.") from None
        if not (0 < share <= 1) or math.isnan(share):
            raise InvalidInput(f"Deployment {deployment!r}: the share of arm {arm!r} must be in "
                               f"(0, 1], not {share}.")
        out[arm] = share
    total = sum(out.values())
    if abs(total - 1) > _TOLERANCE:
        raise InvalidInput(f"Deployment {deployment!r}: the split's shares add up to {total:g}, "
                           "not 1.", "E.g. 0.9 and 0.1.")
    return out


class Router:
    """Picks the arm of an entity: cumulative shares and a stable hash."""

    def __init__(self, deployment: str, arms: tuple[tuple[str, float], ...]) -> None:
        self.arms = [a for a, _ in arms]
        self._bounds: list[float] = []
        acc = 0.0
        for _, share in arms:
            acc += share
            self._bounds.append(acc)
        self._bounds[-1] = 1.0  # no gap from rounding at the top
        self._salt = f"{deployment}\x1f"

    def bucket(self, values: Any) -> float:
        """Where the entity falls in [0, 1): the same for the same key values, always."""
        text = self._salt + "\x1f".join(str(v) for v in values)
        return zlib.crc32(text.encode()) / 4294967296.0

    def arm(self, values: Any) -> str:
        return self.arms[bisect.bisect_right(self._bounds, self.bucket(values))]
