"""Activity ids answered recently, shared by every instance: a redelivery is answered once, wherever it lands.

`first_delivery` is one create-only insert (an expired row is taken over in the same statement), so of two
instances that get the same activity at once exactly one goes on. Rows older than the TTL are purged now
and then; `forget` lets the channel's retry of a failed turn through.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Hashable

from storage.table import Table

PURGE_EVERY_SECONDS = 60.0


class ReplayLog(Table):
    """The replay guard's interface (`first_delivery`, `forget`, `len`) over the `delivered_activities` table."""

    def __init__(self, target: object, *, ttl_seconds: float = 600.0,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(target)  # type: ignore[arg-type]
        self._ttl, self._clock = ttl_seconds, clock
        self._purged_at = float("-inf")
        self._purge_lock = threading.Lock()

    @staticmethod
    def _key(key: Hashable) -> str:
        return json.dumps(list(key) if isinstance(key, tuple) else key, ensure_ascii=False, default=str)

    def first_delivery(self, key: Hashable) -> bool:
        now = self._clock()
        self._purge(now)
        return self.db.write(lambda tx: tx.count(
            "insert into delivered_activities (key, seen_at) values (?, ?) on conflict (key) do update "
            "set seen_at = excluded.seen_at where delivered_activities.seen_at <= ?",
            (self._key(key), now, now - self._ttl))) == 1

    def forget(self, key: Hashable) -> None:
        self.db.write(lambda tx: tx.execute("delete from delivered_activities where key = ?", (self._key(key),)))

    def __len__(self) -> int:
        row = self.db.read(lambda tx: tx.one("select count(*) from delivered_activities where seen_at > ?",
                                             (self._clock() - self._ttl,)))
        return int(row[0]) if row else 0

    def _purge(self, now: float) -> None:
        with self._purge_lock:
            if now - self._purged_at < PURGE_EVERY_SECONDS:
                return
            self._purged_at = now
        self.db.write(lambda tx: tx.execute("delete from delivered_activities where seen_at <= ?", (now - self._ttl,)))
