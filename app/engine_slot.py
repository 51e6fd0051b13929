"""The engine slot: the answer engine loaded in a background thread, hot-swapped when a new index goes live.

`serve` listens before the knowledge is loaded, so turns and GET /healthz read the slot: "loading" (503)
until the first engine is ready, then "ok" with the record counts, or "degraded" with the reason when
loading failed or the index failed at runtime. A reload that fails keeps the engine that works.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from knowledge.display import one_line

if TYPE_CHECKING:
    from retrieval.engine import AnswerEngine

log = logging.getLogger(__name__)


class EngineSlot:
    """The engine, loaded in a background thread and swapped when a new index generation goes live.

    Its state is what GET /healthz reports: loading, ok, or degraded (loading failed, or the index
    failed at runtime: the engine's `problem`). A degraded engine still answers what it can (the
    records are in memory); a failed reload keeps the engine that works.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: AnswerEngine | None = None
        self.state = "loading"            # loading | ok | degraded
        self.reason = ""
        self.counts: dict[str, int] = {}
        self.seconds = 0.0
        self.generation: str | None = None

    def current(self) -> AnswerEngine | None:
        with self._lock:
            return self._engine if self.state == "ok" else None

    def set_ready(self, engine: AnswerEngine, seconds: float = 0.0) -> None:
        counts = engine_counts(engine)
        with self._lock:
            old = self._engine
            self._engine, self.state, self.counts, self.seconds = engine, "ok", counts, seconds
            self.reason, self.generation = "", getattr(engine, "generation", None)
        close = getattr(old, "close", None)
        if old is not None and old is not engine and callable(close):
            # turns already running on the old engine finish first
            timer = threading.Timer(30.0, close)
            timer.daemon = True
            timer.start()

    def set_failed(self, reason: str) -> None:
        with self._lock:
            self._engine, self.state, self.reason = None, "degraded", reason

    def _load(self, loader: Callable[[], AnswerEngine], *, reload: bool = False) -> None:
        started = time.perf_counter()
        try:
            engine = loader()
        except Exception as exc:  # any failure leaves the server up and says why on /healthz
            if reload and self.current() is not None:
                log.exception("loading the new index generation failed; still serving %s", self.generation)
                return
            log.exception("loading the knowledge failed")
            self.set_failed(one_line(exc))
            return
        self.set_ready(engine, time.perf_counter() - started)
        log.info("knowledge loaded in %.1fs (index generation %s): %s", self.seconds, self.generation, self.counts)

    def load_in_background(self, loader: Callable[[], AnswerEngine]) -> threading.Thread:
        thread = threading.Thread(target=self._load, args=(loader,), name="engine-loader", daemon=True)
        thread.start()
        return thread

    def watch(self, version: Callable[[], str | None], loader: Callable[[], AnswerEngine], interval: float,
              stop: threading.Event) -> threading.Thread:
        """Every `interval` s, reload when the live index generation is no longer the one served."""
        def run() -> None:
            attempted: str | None = None
            while not stop.wait(interval):
                try:
                    live = version()
                except Exception as exc:  # noqa: BLE001 - a damaged pointer: keep serving, say it once
                    if attempted != f"error:{exc}":
                        log.warning("cannot read the live index generation: %s", one_line(exc))
                        attempted = f"error:{exc}"
                    continue
                with self._lock:
                    loading, served = self.state == "loading", self.generation
                if loading or live is None or live in (served, attempted):
                    continue
                attempted = live
                log.info("index generation %s is live (serving %s): reloading", live, served)
                self._load(loader, reload=True)

        thread = threading.Thread(target=run, name="index-watcher", daemon=True)
        thread.start()
        return thread

    def health(self) -> tuple[int, dict[str, Any]]:
        with self._lock:
            problem = str(getattr(self._engine, "problem", "") or "") if self._engine is not None else ""
            if self.state == "ok" and problem:
                return 503, {"status": "degraded", "reason": problem, **self.counts}
            if self.state == "ok":
                return 200, {"status": "ok", **self.counts, "load_seconds": round(self.seconds, 2),
                             **({"generation": self.generation} if self.generation else {})}
            if self.state == "degraded":
                return 503, {"status": "degraded", "reason": self.reason}
            return 503, {"status": "loading"}


def engine_counts(engine: Any) -> dict[str, int]:
    """Record counts for /healthz: the engine's own `counts()` if it has one, else what its catalog holds."""
    counts = getattr(engine, "counts", None)
    if callable(counts):
        return {str(k): int(v) for k, v in counts().items()}
    out: dict[str, int] = {}
    catalog = getattr(engine, "catalog", None)
    for name in ("partners", "map_rows", "incentives", "opportunities"):
        with contextlib.suppress(TypeError):
            if catalog is not None and hasattr(catalog, name):
                out[name] = len(getattr(catalog, name))
    search = getattr(engine, "search", None)
    with contextlib.suppress(TypeError):
        if search is not None and hasattr(search, "chunks"):
            out["chunks"] = len(search.chunks)
    return out
