"""The model a deployment serves, swapped atomically when its alias (or the deployment) moves.

A request reads one immutable :class:`Served` snapshot (model, view, target) through
:meth:`ModelCache.current` — an attribute read. Every ``refresh_s`` seconds a background
thread re-reads the deployment's target in the catalog (its row and its alias) while the
deployment is in use: after :data:`IDLE_AFTER_S` without a request it stops, and the next
request re-checks the catalog itself before it is answered (so no deployment object left
behind polls the catalog forever, and none answers from a stale snapshot). When the target
changed, the new model version is loaded completely *before* the snapshot reference is
replaced, so a request sees either the old model or the new one, never a half-loaded one, and
requests keep being answered by the old one while the new one loads.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from .resolver import LoadedModel, Target

log = logging.getLogger(__name__)

DEFAULT_REFRESH_S = 0.25
#: seconds without a request after which a deployment's catalog re-checks stop
IDLE_AFTER_S = 30.0


@dataclass(frozen=True)
class Served:
    """One consistent view of what a deployment serves."""

    target: Target
    model: LoadedModel
    view: Any | None
    #: the view's key columns (empty without a view)
    keys: tuple[str, ...]
    event_time: str | None
    #: the columns an online entry names (the keys its feature lookups use)
    entry_columns: tuple[str, ...] = ()
    #: the model of every arm of an A/B split (empty: no split)
    arm_models: dict[str, LoadedModel] = field(default_factory=dict)
    #: the split's router (None: no split)
    router: Any = None
    #: (arm, model) scored in the shadow of every request (None: no shadow)
    shadow: tuple[str, LoadedModel] | None = None


def _answering(served: Served) -> tuple:
    """The model versions a snapshot answers with (main, split arms, shadow)."""
    arms = tuple(sorted((a, m.version) for a, m in served.arm_models.items()))
    shadow = (served.shadow[0], served.shadow[1].version) if served.shadow else None
    return (served.model.name, served.model.version, arms, shadow)


class ModelCache:
    """Holds the :class:`Served` snapshot of one deployment and keeps it current."""

    def __init__(self, resolver: Any, deployment: str,
                 refresh_s: float = DEFAULT_REFRESH_S) -> None:
        self.resolver = resolver
        self.deployment = deployment
        self.refresh_s = refresh_s
        self._served: Served | None = None
        #: a snapshot whose serving is not yet in the lineage (the catalog refused the write)
        self._unrecorded: Served | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._used_at = time.monotonic()
        #: the watcher stopped for want of requests: the next one re-checks first
        self._idle = False
        self.swaps = 0

    def current(self) -> Served:
        """The snapshot to use for one request: a plain attribute read. A background thread
        re-checks the catalog every ``refresh_s`` seconds (off the request path) while requests
        come; the first request after :data:`IDLE_AFTER_S` without any re-checks it itself."""
        served = self._served
        self._used_at = time.monotonic()
        if served is not None and not self._idle:
            return served
        with self._lock:
            if self._served is None:  # the first load: everyone waits for it
                self._reload(raise_errors=True)
                self._start_watcher()
            elif self._idle:  # the first request after idling: the catalog may have moved
                self._reload(raise_errors=False)
                self._start_watcher()
            return self._served  # type: ignore[return-value]

    def _start_watcher(self) -> None:
        if (self._watcher is None or self._idle) and self.refresh_s > 0 \
                and not self._stop.is_set():
            self._idle = False
            # the thread holds the cache weakly: a cache nobody holds any more is not kept
            self._watcher = threading.Thread(target=_watch, args=(weakref.ref(self),),
                                             daemon=True,
                                             name=f"lakebook-model-cache-{self.deployment}")
            self._watcher.start()

    def _check(self) -> bool:
        """One background re-check; False once idle (the watcher then ends)."""
        with self._lock:
            if time.monotonic() - self._used_at > IDLE_AFTER_S:
                self._idle = True  # the next request re-checks and starts a new watcher
                return False
            try:
                self._reload(raise_errors=False)
            except Exception:  # never let the watcher die: try again next time
                log.exception("Deployment %s: model refresh failed", self.deployment)
            return True

    def close(self) -> None:
        """Stop the background re-check."""
        self._stop.set()

    def refresh(self) -> Served:
        """Re-check the catalog now (and load a new model if the target moved)."""
        with self._lock:
            self._reload(raise_errors=True)
            return self._served  # type: ignore[return-value]

    def _reload(self, raise_errors: bool) -> None:
        old = self._served
        try:
            target = self.resolver.target(self.deployment)
            if old is not None and target == old.target:
                self._record_pending()
                return
            model = old.model if old is not None and (old.target.model, old.target.version) \
                == (target.model, target.version) else \
                self.resolver.load_model(target.model, target.version)
            view = old.view if old is not None and (old.target.view, old.target.view_version) \
                == (target.view, target.view_version) else \
                (self.resolver.view(target.view, target.view_version) if target.view else None)
            arm_models, shadow = self._arm_models(target, model, old)
        except Exception as exc:
            if raise_errors or old is None:
                raise
            # keep serving what we have; the next check tries again
            log.warning("Deployment %s: could not refresh its model (%s); still serving %s v%s",
                        self.deployment, exc, old.model.name, old.model.version)
            return
        router = None
        if target.arms:
            from .routing import Router
            router = Router(self.deployment, tuple((a, share) for a, _, share in target.arms))
        keys = tuple(getattr(view, "keys", ()) or ()) if view is not None else ()
        event_time = getattr(view, "event_time", None) if view is not None else None
        entry_columns = self.resolver.entry_columns(view) if view is not None else ()
        self._served = Served(target=target, model=model, view=view, keys=keys,
                              event_time=event_time, entry_columns=entry_columns,
                              arm_models=arm_models, router=router, shadow=shadow)
        # (the line above is one reference swap: atomic for every reader)
        if old is not None:
            self.swaps += 1
            log.info("Deployment %s now serves %s v%s (was v%s)", self.deployment,
                     model.name, model.version, old.model.version)
        if old is None or _answering(old) != _answering(self._served):
            self._unrecorded = self._served
        self._record_pending()

    def _record_pending(self) -> None:
        """Record a change of what this deployment answers with in the lineage. The swap has
        happened already: a catalog that refuses the write (busy, unreachable) must not stop
        serving the new model, so the record is tried again at the next check."""
        served = self._unrecorded
        if served is None:
            return
        try:
            self._record_served(served)
        except Exception as exc:
            log.warning("Deployment %s: could not record in the lineage that it serves %s v%s "
                        "(%s); trying again at the next check", self.deployment,
                        served.model.name, served.model.version, exc)
            return
        if self._unrecorded is served:
            self._unrecorded = None

    def _record_served(self, served: Served) -> None:
        """Lineage: from now on this deployment answers with ``served``'s model (and its
        split's arms and shadow: ``arms``): one event per change, never one per prediction."""
        lh = getattr(self.resolver, "lh", None)
        if lh is None:
            return
        from ..lineage.api import ref
        from ..shared.times import now_utc
        model = served.model
        arms = {arm: m.version for arm, m in served.arm_models.items()}
        if served.shadow is not None:
            arms[served.shadow[0]] = served.shadow[1].version
        lh.lineage.wrote("deployment", self.deployment, since=now_utc(), arms=arms or None,
                         inputs=[ref("model_version", model.name, model.version)])

    def _arm_models(self, target: Target, model: LoadedModel, old: Served | None
                    ) -> tuple[dict[str, LoadedModel], tuple[str, LoadedModel] | None]:
        """The models of the split's arms and of the shadow, each loaded once per version
        (the main model and the previous snapshot's models are reused)."""
        known = {model.version: model}
        if old is not None and old.target.model == target.model:
            known.setdefault(old.model.version, old.model)
            for m in old.arm_models.values():
                known.setdefault(m.version, m)
            if old.shadow is not None:
                known.setdefault(old.shadow[1].version, old.shadow[1])

        def load(version: int) -> LoadedModel:
            if version not in known:
                known[version] = self.resolver.load_model(target.model, version)
            return known[version]

        arms = {arm: load(version) for arm, version, _ in target.arms}
        shadow = (target.shadow[0], load(target.shadow[1])) if target.shadow else None
        return arms, shadow

    def invalidate(self) -> None:
        """Re-check the catalog now (after this process changed the deployment)."""
        if self._served is not None:
            self.refresh()


def _watch(ref: "weakref.ref[ModelCache]") -> None:
    """Re-check a cache's deployment every ``refresh_s`` seconds until it is closed, idle or
    gone."""
    while True:
        cache = ref()
        if cache is None:
            return
        stop, every = cache._stop, cache.refresh_s
        del cache  # no strong reference while waiting
        if stop.wait(every):
            return
        cache = ref()
        if cache is None or not cache._check():
            return
        del cache
